package broker

import (
	"cmp"
	"fmt"
	"maps"
	"slices"

	"github.com/sessionlab/sessionlab/broker/packet"
)

// Image is the durable state, rebuilt by applying Changes in order: what a
// store holds. The simulator's disk keeps one per broker; serve --data keeps
// the same content in a key-value store. Recover turns it into a broker.
type Image struct {
	Sessions map[string]*ImageSession
	Messages map[MsgID]*ImageMessage
	Retained map[string]MsgID // topic → message
	MsgIDs   MsgID            // ids up to here may have been used
	sends    uint64           // ChSent counter: the order of copies in flight
}

// ImageSession is one persistent session in an Image.
type ImageSession struct {
	Seq       uint64
	User      string
	Online    bool // online when last written: it went offline with the crash
	OfflineAt Time // when it went offline (Online false)
	NextPID   uint16
	Subs      map[string]packet.QoS
	Copies    map[MsgID]*ImageCopy
	Inbound   map[uint16]bool // inbound QoS 2 ids awaiting PUBREL
}

// ImageCopy is one copy a session owes.
type ImageCopy struct {
	QoS      packet.QoS
	At       Time   // queued at (or sent at, when sent directly)
	Sent     bool   // in flight: PUBLISH sent with PacketID
	PacketID uint16 // Sent
	SentAt   Time   // Sent: the first PUBLISH
	Pubrec   bool   // Sent at QoS 2: PUBREC arrived, waiting for PUBCOMP
	SendSeq  uint64 // Sent: order among the session's copies in flight
}

// ImageMessage is a message body in an Image.
type ImageMessage struct {
	Publisher string
	Topic     string
	Payload   []byte
	QoS       packet.QoS
	Retain    bool
}

// NewImage returns an empty image: the durable state of a new broker.
func NewImage() *Image {
	return &Image{
		Sessions: make(map[string]*ImageSession),
		Messages: make(map[MsgID]*ImageMessage),
		Retained: make(map[string]MsgID),
	}
}

// Apply applies one change. A change that does not fit the image (a copy of
// a session it does not hold, say) is an error: the changes are corrupt or
// out of order.
func (im *Image) Apply(c *Change) error {
	if c.Kind == ChSession {
		s := im.Sessions[c.ClientID]
		if s == nil {
			s = &ImageSession{Subs: map[string]packet.QoS{}, Copies: map[MsgID]*ImageCopy{}, Inbound: map[uint16]bool{}}
			im.Sessions[c.ClientID] = s
		}
		s.Seq, s.User, s.Online = c.Seq, c.User, c.Online
		if !c.Online {
			s.OfflineAt = c.At
		}
		return nil
	}
	switch c.Kind {
	case ChMessage:
		im.Messages[c.Msg] = &ImageMessage{Publisher: c.Publisher, Topic: c.Topic, Payload: c.Payload, QoS: c.QoS, Retain: c.Retain}
		return nil
	case ChMessageGone:
		delete(im.Messages, c.Msg)
		return nil
	case ChRetained:
		if c.Msg == 0 {
			delete(im.Retained, c.Topic)
		} else if im.Messages[c.Msg] == nil {
			return fmt.Errorf("%v: no such message", c)
		} else {
			im.Retained[c.Topic] = c.Msg
		}
		return nil
	case ChMsgIDs:
		im.MsgIDs = max(im.MsgIDs, c.Msg)
		return nil
	}
	s := im.Sessions[c.ClientID]
	if s == nil {
		return fmt.Errorf("%v: no such session", c)
	}
	switch c.Kind {
	case ChSessionEnded:
		delete(im.Sessions, c.ClientID)
	case ChSubscribed:
		s.Subs[c.Topic] = c.QoS
	case ChUnsubscribed:
		delete(s.Subs, c.Topic)
	case ChQueued:
		if im.Messages[c.Msg] == nil {
			return fmt.Errorf("%v: no such message", c)
		}
		s.Copies[c.Msg] = &ImageCopy{QoS: c.QoS, At: c.At}
	case ChSent:
		cp := s.Copies[c.Msg]
		if cp == nil {
			if im.Messages[c.Msg] == nil {
				return fmt.Errorf("%v: no such message", c)
			}
			cp = &ImageCopy{QoS: c.QoS, At: c.At}
			s.Copies[c.Msg] = cp
		}
		im.sends++
		cp.Sent, cp.PacketID, cp.SentAt, cp.SendSeq = true, c.PacketID, c.At, im.sends
		s.NextPID = c.PacketID
	case ChPubrec:
		cp := s.Copies[c.Msg]
		if cp == nil || !cp.Sent {
			return fmt.Errorf("%v: no such copy in flight", c)
		}
		cp.Pubrec = true
	case ChCopyGone:
		if s.Copies[c.Msg] == nil {
			return fmt.Errorf("%v: no such copy", c)
		}
		delete(s.Copies, c.Msg)
	case ChInbound:
		s.Inbound[c.PacketID] = true
	case ChReleased:
		delete(s.Inbound, c.PacketID)
	default:
		return fmt.Errorf("change kind %d: unknown", c.Kind)
	}
	return nil
}

// Copies returns the number of copies the image's sessions owe.
func (im *Image) Copies() int {
	n := 0
	for _, s := range im.Sessions {
		n += len(s.Copies)
	}
	return n
}

// Recover rebuilds a broker from the durable state img at time now, the
// moment it boots. It is pure: the same image and now give the same broker.
//
// After recovery every session is offline (a crash ends every connection).
// A session that was offline keeps the time it went offline, so downtime
// counts toward its expiry and its copies' TTL: one whose expiry passed
// while the broker was down is expired by the first deadline input (which
// NextDeadline asks for at once) or by a CONNECT for it, whichever comes
// first, and never resumed. A session that was online when the broker
// went down went offline when the broker detected it, at now. Copies in
// flight keep their packet ids and, on resume, are re-sent with DUP=1 in
// the order they were first sent, before the queue [MQTT-4.4.0-1]; copies
// whose PUBREC arrived get their PUBREL again. No Will is published (see
// the package's notes on durable state).
//
// The Record returned is the recovery's step (Input InRecover): with
// Config.ReportRestored, an EvSessionRestored per session and an
// EvCopyRestored per copy, in session order, for observers that follow the
// broker across a crash; and the
// changes recovery itself makes (with Config.Durable): each session that
// was online is offline from now. The driver makes those durable before
// its first Step, or a second crash would restart those sessions' expiry
// clocks at the second boot.
//
// img is not modified; payloads are shared with it.
func Recover(cfg Config, img *Image, now Time) (*Broker, Record, error) {
	b, err := New(cfg)
	if err != nil {
		return nil, Record{}, err
	}
	b.now = now
	b.nextMsg, b.reservedMsg = img.MsgIDs, img.MsgIDs
	msgs := make(map[MsgID]*message, len(img.Messages))
	msgOf := func(id MsgID) (*message, error) {
		if m := msgs[id]; m != nil {
			return m, nil
		}
		im := img.Messages[id]
		if im == nil {
			return nil, fmt.Errorf("recover: message %d is referred to but not stored", id)
		}
		if id > b.nextMsg {
			return nil, fmt.Errorf("recover: message %d above the reserved ids (%d)", id, img.MsgIDs)
		}
		m := &message{id: id, publisher: im.Publisher, topic: im.Topic, payload: im.Payload, qos: im.QoS, retain: im.Retain, durable: cfg.Durable}
		msgs[id] = m
		return m, nil
	}
	for _, topic := range slices.Sorted(maps.Keys(img.Retained)) {
		m, err := msgOf(img.Retained[topic])
		if err != nil {
			return nil, Record{}, err
		}
		m.hold()
		b.retained[topic] = m
	}
	ids := slices.SortedFunc(maps.Keys(img.Sessions), func(x, y string) int {
		return cmp.Compare(img.Sessions[x].Seq, img.Sessions[y].Seq)
	})
	for _, id := range ids {
		is := img.Sessions[id]
		s := &session{clientID: id, seq: is.Seq, user: is.User, nextPID: is.NextPID, offlineAt: is.OfflineAt}
		if is.NextPID == 0 { // nothing sent yet
			s.nextPID = cfg.PacketIDBase
		}
		if is.Online {
			s.offlineAt = now
			b.keepSession(s)
		}
		if b.pol.SessionExpiry > 0 {
			s.expires, s.expireAt = true, b.expiryTime(s.offlineAt)
		}
		b.sessSeq = max(b.sessSeq, is.Seq)
		if cfg.ReportRestored {
			b.emit(Event{Kind: EvSessionRestored, ClientID: id})
		}
		for _, f := range slices.Sorted(maps.Keys(is.Subs)) {
			s.subs = append(s.subs, subscription{filter: f, qos: is.Subs[f]})
			b.subs.add(f, s, is.Subs[f], true)
		}
		s.inbound2 = slices.Sorted(maps.Keys(is.Inbound))
		copies := slices.Sorted(maps.Keys(is.Copies))
		queued := 0
		for _, ic := range is.Copies {
			if !ic.Sent {
				queued++
			}
		}
		s.queue.reserve(queued) // one allocation, not a doubling per power of two
		var inflight []MsgID
		for _, mid := range copies {
			ic := is.Copies[mid]
			m, err := msgOf(mid)
			if err != nil {
				return nil, Record{}, fmt.Errorf("%w (session %q)", err, id)
			}
			m.hold()
			d := delivery{msg: m, qos: ic.QoS, at: ic.At, kept: cfg.Durable}
			if !ic.Sent {
				d.state = copyQueued
				s.queue.push(d, b.pol.QueueCap)
				b.restored(s, &d)
				continue
			}
			inflight = append(inflight, mid)
		}
		slices.SortFunc(inflight, func(x, y MsgID) int { return cmp.Compare(is.Copies[x].SendSeq, is.Copies[y].SendSeq) })
		for _, mid := range inflight {
			ic := is.Copies[mid]
			d := delivery{msg: msgs[mid], qos: ic.QoS, at: ic.At, pid: ic.PacketID, firstSent: ic.SentAt, lastSent: ic.SentAt,
				state: copyWaitAck, kept: cfg.Durable}
			if ic.Pubrec {
				d.state = copyWaitComp
			}
			s.inflight = append(s.inflight, d)
			b.restored(s, &d)
		}
		b.sessions[id] = s
		b.armSession(s) // what fell due in the downtime is done by the first deadline input, not here
	}
	rec := Record{At: now, Input: Input{Kind: InRecover}, Outputs: b.out, Changes: b.changes}
	b.out, b.changes = nil, nil
	return b, rec, nil
}

// restored reports a copy Recover rebuilt.
func (b *Broker) restored(s *session, d *delivery) {
	if !b.cfg.ReportRestored {
		return
	}
	b.emit(Event{Kind: EvCopyRestored, ClientID: s.clientID, Msg: d.msg.id, Topic: d.msg.topic, QoS: d.qos,
		PacketID: d.pid, Dup: d.state == copyWaitComp, Publisher: d.msg.publisher, Retain: d.msg.retain})
}

// Clone returns a deep copy of im (payloads are shared: never written).
func (im *Image) Clone() *Image {
	c := &Image{Sessions: make(map[string]*ImageSession, len(im.Sessions)), Messages: maps.Clone(im.Messages),
		Retained: maps.Clone(im.Retained), MsgIDs: im.MsgIDs, sends: im.sends}
	for id, s := range im.Sessions {
		ns := *s
		ns.Subs, ns.Inbound = maps.Clone(s.Subs), maps.Clone(s.Inbound)
		ns.Copies = make(map[MsgID]*ImageCopy, len(s.Copies))
		for m, cp := range s.Copies {
			ncp := *cp
			ns.Copies[m] = &ncp
		}
		c.Sessions[id] = &ns
	}
	return c
}
