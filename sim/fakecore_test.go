package sim

import (
	"strings"

	"github.com/sessionlab/sessionlab/broker"
	"github.com/sessionlab/sessionlab/broker/packet"
)

// fakeCore is a deliberately small broker for the simulator's own tests:
// persistent sessions with subscriptions and an unbounded offline queue,
// QoS 0 and 1, "+" as the only wildcard, no keepalive, no windows. It lets
// the engine, the ledger and determinism be tested independently of the
// real core (which the scenario tests run as well).
type fakeCore struct {
	out      []broker.Output
	conns    map[broker.ConnID]string // conn -> client id, once connected
	sessions map[string]*fakeSession
	order    []string // session ids in creation order, for routing
	nextMsg  broker.MsgID
}

type fakeSession struct {
	conn    broker.ConnID // 0 when offline
	clean   bool
	subs    []packet.Subscription
	queue   []fakeCopy
	unacked map[uint16]fakeCopy
	nextID  uint16
}

type fakeCopy struct {
	msg       broker.MsgID
	pub       packet.Publish
	publisher string
	stored    bool
}

func newFakeCore(broker.Config) (Core, error) {
	return &fakeCore{conns: map[broker.ConnID]string{}, sessions: map[string]*fakeSession{}}, nil
}

func (f *fakeCore) NextDeadline() (broker.Time, bool) { return 0, false }

func (f *fakeCore) emit(now broker.Time, ev broker.Event) {
	ev.At = now
	f.out = append(f.out, broker.Output{Kind: broker.OutEvent, Event: ev})
}

func (f *fakeCore) send(c broker.ConnID, p packet.Packet) {
	f.out = append(f.out, broker.Output{Kind: broker.OutSend, Conn: c, Packet: p})
}

func (f *fakeCore) Step(now broker.Time, in broker.Input) broker.Record {
	f.out = f.out[:0]
	switch in.Kind {
	case broker.InLost, broker.InMalformed:
		f.lost(now, in.Conn)
	case broker.InPacket:
		f.packet(now, in.Conn, in.Packet)
	}
	return broker.Record{At: now, Input: in, Outputs: f.out}
}

func (f *fakeCore) lost(now broker.Time, c broker.ConnID) {
	id, ok := f.conns[c]
	if !ok {
		return
	}
	delete(f.conns, c)
	s := f.sessions[id]
	s.conn = 0
	f.emit(now, broker.Event{Kind: broker.EvDisconnected, Conn: c, ClientID: id, Reason: broker.ReasonConnLost})
	if s.clean {
		f.discard(now, id)
	}
}

func (f *fakeCore) discard(now broker.Time, id string) {
	s := f.sessions[id]
	for _, cp := range s.queue {
		f.emit(now, broker.Event{Kind: broker.EvDropped, ClientID: id, Msg: cp.msg, Reason: broker.ReasonSessionDiscarded})
	}
	for id2 := uint16(1); len(s.unacked) > 0; id2++ {
		if cp, ok := s.unacked[id2]; ok {
			delete(s.unacked, id2)
			f.emit(now, broker.Event{Kind: broker.EvDropped, ClientID: id, Msg: cp.msg, Reason: broker.ReasonSessionDiscarded})
		}
	}
	delete(f.sessions, id)
	for i, x := range f.order {
		if x == id {
			f.order = append(f.order[:i], f.order[i+1:]...)
			break
		}
	}
}

func (f *fakeCore) packet(now broker.Time, c broker.ConnID, p packet.Packet) {
	if cp, ok := p.(*packet.Connect); ok {
		f.connect(now, c, cp)
		return
	}
	id, ok := f.conns[c]
	if !ok {
		return
	}
	s := f.sessions[id]
	switch p := p.(type) {
	case *packet.Subscribe:
		codes := make([]byte, len(p.Subscriptions))
		for i, sub := range p.Subscriptions {
			s.subs = append(s.subs, sub)
			codes[i] = byte(min(sub.QoS, 1))
		}
		f.send(c, &packet.Suback{PacketID: p.PacketID, ReturnCodes: codes})
	case *packet.Publish:
		f.route(now, id, p)
		if p.QoS > 0 {
			f.send(c, &packet.Puback{PacketID: p.PacketID})
		}
	case *packet.Puback:
		if cp, ok := s.unacked[p.PacketID]; ok {
			delete(s.unacked, p.PacketID)
			f.emit(now, broker.Event{Kind: broker.EvDelivered, ClientID: id, Msg: cp.msg})
		}
	case *packet.Pingreq:
		f.send(c, &packet.Pingresp{})
	case *packet.Disconnect:
		f.lost(now, c)
	}
}

func (f *fakeCore) connect(now broker.Time, c broker.ConnID, p *packet.Connect) {
	s, present := f.sessions[p.ClientID]
	if present && s.conn != 0 {
		delete(f.conns, s.conn)
		f.out = append(f.out, broker.Output{Kind: broker.OutClose, Conn: s.conn})
		s.conn = 0
	}
	if present && p.CleanSession {
		f.discard(now, p.ClientID)
		present = false
	}
	if !present {
		s = &fakeSession{unacked: map[uint16]fakeCopy{}}
		f.sessions[p.ClientID] = s
		f.order = append(f.order, p.ClientID)
	}
	s.conn, s.clean = c, p.CleanSession
	f.conns[c] = p.ClientID
	f.send(c, &packet.Connack{SessionPresent: present})
	f.emit(now, broker.Event{Kind: broker.EvConnected, Conn: c, ClientID: p.ClientID, SessionPresent: present})
	for id := uint16(1); id <= s.nextID; id++ { // resend in id order
		if cp, ok := s.unacked[id]; ok {
			pub := cp.pub
			pub.Dup = true
			f.send(c, &pub)
			f.emit(now, broker.Event{Kind: broker.EvSent, ClientID: p.ClientID, Msg: cp.msg, Dup: true})
		}
	}
	q := s.queue
	s.queue = nil
	for _, cp := range q {
		f.deliver(now, p.ClientID, s, cp)
	}
}

func (f *fakeCore) route(now broker.Time, from string, p *packet.Publish) {
	f.nextMsg++
	msg := f.nextMsg
	var targets []string
	qos := []packet.QoS{}
	for _, id := range f.order {
		for _, sub := range f.sessions[id].subs {
			if match(sub.Filter, p.Topic) {
				targets = append(targets, id)
				qos = append(qos, min(sub.QoS, p.QoS, 1))
				break
			}
		}
	}
	f.emit(now, broker.Event{Kind: broker.EvPublished, ClientID: from, Msg: msg, Topic: p.Topic, Copies: len(targets),
		Cause: broker.Cause{Kind: broker.CausePublish, PacketID: p.PacketID}})
	for i, id := range targets {
		cp := fakeCopy{msg: msg, pub: packet.Publish{QoS: qos[i], Topic: p.Topic, Payload: p.Payload}, publisher: from}
		s := f.sessions[id]
		if s.conn != 0 {
			f.deliver(now, id, s, cp)
		} else if cp.pub.QoS == 0 {
			f.emit(now, broker.Event{Kind: broker.EvDropped, ClientID: id, Msg: msg, Reason: broker.ReasonQoS0Offline})
		} else {
			s.queue = append(s.queue, cp)
			f.emit(now, broker.Event{Kind: broker.EvEnqueued, ClientID: id, Msg: msg})
		}
	}
}

func (f *fakeCore) deliver(now broker.Time, id string, s *fakeSession, cp fakeCopy) {
	pub := cp.pub
	if pub.QoS > 0 {
		s.nextID++
		pub.PacketID = s.nextID
		cp.pub.PacketID = s.nextID
		s.unacked[pub.PacketID] = cp
	}
	f.send(s.conn, &pub)
	f.emit(now, broker.Event{Kind: broker.EvSent, ClientID: id, Msg: cp.msg, Stored: cp.stored})
	if pub.QoS == 0 {
		f.emit(now, broker.Event{Kind: broker.EvDelivered, ClientID: id, Msg: cp.msg})
	}
}

// match implements MQTT topic matching with "+" only.
func match(filter, topic string) bool {
	fs, ts := strings.Split(filter, "/"), strings.Split(topic, "/")
	if len(fs) != len(ts) {
		return false
	}
	for i := range fs {
		if fs[i] != "+" && fs[i] != ts[i] {
			return false
		}
	}
	return true
}
