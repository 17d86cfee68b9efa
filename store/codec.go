package store

import (
	"encoding/binary"
	"errors"
	"io"

	"github.com/cockroachdb/pebble/v2"

	"github.com/sessionlab/sessionlab/broker"
	"github.com/sessionlab/sessionlab/broker/packet"
)

// Keys. Every key starts with a byte naming its table:
//
//	0x00 name                      meta: format marker, epoch, clock, message ids
//	'm' msg(8, big endian)         message body: publisher, topic, QoS, retain, payload
//	'r' topic                      retained message of topic: msg(8)
//	's' cid 0x00                   session (merged patch): seq, user, online, offline at, next packet id
//	's' cid 0x01 filter            subscription: QoS
//	's' cid 0x02 msg(8)            copy (merged patch): QoS, at; sent: packet id, sent at, send sequence; PUBREC
//	's' cid 0x03 packet id(2)      inbound QoS 2 packet id awaiting PUBREL
//
// where cid is the ClientId with its length as a uvarint in front, so that
// one session's keys are contiguous and no ClientId's keys fall inside
// another's range: a session ends with one range deletion. Copies sort by
// message id, the queue's order; the order of copies in flight is their
// stored send sequence.
const (
	tableMeta     = 0x00
	tableMessage  = 'm'
	tableRetained = 'r'
	tableSession  = 's'

	subSession = 0x00
	subSub     = 0x01
	subCopy    = 0x02
	subInbound = 0x03
	subEnd     = 0xff // above every sub-key: the end of a session's range
)

// Meta keys.
var (
	keyFormat = []byte("\x00format") // magic, then the format version (uvarint)
	keyEpoch  = []byte("\x00epoch")  // the store's creation, Unix nanoseconds (varint)
	keyClock  = []byte("\x00clock")  // the latest broker time any stored change carries (varint)
	keyMsgIDs = []byte("\x00msgids") // ChMsgIDs: message ids up to here may be in use (uvarint)
)

// magic starts the format marker's value.
const magic = "sessionlab store"

// appendSession appends the key prefix of clientID's session.
func appendSession(dst []byte, clientID string) []byte {
	dst = append(dst, tableSession)
	dst = binary.AppendUvarint(dst, uint64(len(clientID)))
	return append(dst, clientID...)
}

func appendMsg(dst []byte, id broker.MsgID) []byte {
	return binary.BigEndian.AppendUint64(dst, uint64(id))
}

// appendString appends s with its length in front.
func appendString(dst []byte, s string) []byte {
	dst = binary.AppendUvarint(dst, uint64(len(s)))
	return append(dst, s...)
}

// errCorrupt reports a value or key that does not decode.
var errCorrupt = errors.New("undecodable record")

// reader decodes a value; the first failure sticks.
type reader struct {
	b   []byte
	bad bool
}

func (r *reader) uvarint() uint64 {
	v, n := binary.Uvarint(r.b)
	r.skip(n)
	return v
}

func (r *reader) varint() int64 {
	v, n := binary.Varint(r.b)
	r.skip(n)
	return v
}

// skip drops the n bytes just decoded; n <= 0 is a decoding failure.
func (r *reader) skip(n int) {
	if n <= 0 {
		r.bad, r.b = true, nil
		return
	}
	r.b = r.b[n:]
}

func (r *reader) byte() byte {
	if len(r.b) == 0 {
		r.bad = true
		return 0
	}
	v := r.b[0]
	r.b = r.b[1:]
	return v
}

func (r *reader) bytes() []byte {
	n := r.uvarint()
	if r.bad || n > uint64(len(r.b)) {
		r.bad, r.b = true, nil
		return nil
	}
	v := r.b[:n]
	r.b = r.b[n:]
	return v
}

func (r *reader) err() error {
	if r.bad || len(r.b) != 0 {
		return errCorrupt
	}
	return nil
}

// Sessions and copies are written as patches and combined by the store's
// merge operator, so that every change is a blind write (no read on the
// write path): a session's record changes when it comes online or goes
// offline and each time a copy is sent (its next packet id), a copy's when
// it is sent and when its PUBREC arrives.

// Session patch fields.
const (
	sessIdent   = 1 << iota // seq, user, online
	sessOffline             // offline at
	sessNextPID             // next packet id
)

// sessPatch is a session record or a patch of one; each field present wins
// over an older one.
type sessPatch struct {
	has       byte
	seq       uint64
	user      string
	online    bool
	offlineAt broker.Time
	nextPID   uint16
}

func (p *sessPatch) append(dst []byte) []byte {
	dst = append(dst, p.has)
	if p.has&sessIdent != 0 {
		dst = binary.AppendUvarint(dst, p.seq)
		dst = appendString(dst, p.user)
		dst = append(dst, b2u(p.online))
	}
	if p.has&sessOffline != 0 {
		dst = binary.AppendVarint(dst, int64(p.offlineAt))
	}
	if p.has&sessNextPID != 0 {
		dst = binary.AppendUvarint(dst, uint64(p.nextPID))
	}
	return dst
}

// decode reads a patch; with older, its fields only fill those p lacks.
func (p *sessPatch) decode(v []byte, older bool) error {
	r := reader{b: v}
	var q sessPatch
	q.has = r.byte()
	if q.has&sessIdent != 0 {
		q.seq = r.uvarint()
		q.user = string(r.bytes())
		q.online = r.byte() == 1
	}
	if q.has&sessOffline != 0 {
		q.offlineAt = broker.Time(r.varint())
	}
	if q.has&sessNextPID != 0 {
		q.nextPID = uint16(r.uvarint())
	}
	if err := r.err(); err != nil {
		return err
	}
	take := q.has
	if older {
		take &^= p.has
	}
	if take&sessIdent != 0 {
		p.seq, p.user, p.online = q.seq, q.user, q.online
	}
	if take&sessOffline != 0 {
		p.offlineAt = q.offlineAt
	}
	if take&sessNextPID != 0 {
		p.nextPID = q.nextPID
	}
	p.has |= take
	return nil
}

// Copy patch fields.
const (
	copyBase   = 1 << iota // QoS, at: the oldest wins (a send keeps the queued copy's)
	copySent               // packet id, sent at, send sequence: the newest wins
	copyPubrec             // PUBREC arrived
)

// copyPatch is a copy record or a patch of one.
type copyPatch struct {
	has     byte
	qos     packet.QoS
	at      broker.Time
	pid     uint16
	sentAt  broker.Time
	sendSeq uint64
}

func (p *copyPatch) append(dst []byte) []byte {
	dst = append(dst, p.has)
	if p.has&copyBase != 0 {
		dst = append(dst, byte(p.qos))
		dst = binary.AppendVarint(dst, int64(p.at))
	}
	if p.has&copySent != 0 {
		dst = binary.AppendUvarint(dst, uint64(p.pid))
		dst = binary.AppendVarint(dst, int64(p.sentAt))
		dst = binary.AppendUvarint(dst, p.sendSeq)
	}
	return dst
}

// decode reads a patch: newer (older false) or older than the fields p has.
func (p *copyPatch) decode(v []byte, older bool) error {
	r := reader{b: v}
	var q copyPatch
	q.has = r.byte()
	if q.has&copyBase != 0 {
		q.qos = packet.QoS(r.byte())
		q.at = broker.Time(r.varint())
	}
	if q.has&copySent != 0 {
		q.pid = uint16(r.uvarint())
		q.sentAt = broker.Time(r.varint())
		q.sendSeq = r.uvarint()
	}
	if err := r.err(); err != nil {
		return err
	}
	base, sent := q.has&copyBase != 0, q.has&copySent != 0
	if p.has&copyBase != 0 && !older {
		base = false // the older base wins
	}
	if p.has&copySent != 0 && older {
		sent = false // the newer send wins
	}
	if base {
		p.qos, p.at = q.qos, q.at
	}
	if sent {
		p.pid, p.sentAt, p.sendSeq = q.pid, q.sentAt, q.sendSeq
	}
	p.has |= q.has
	return nil
}

func b2u(b bool) byte {
	if b {
		return 1
	}
	return 0
}

// merger combines the patches of session and copy keys. Its name is stored
// in the data directory; pebble refuses to open a store made with another.
var merger = &pebble.Merger{
	Name: "sessionlab.patch.v1",
	Merge: func(key, value []byte) (pebble.ValueMerger, error) {
		m := &patchMerger{copy: isCopyKey(key)}
		return m, m.add(value, false)
	},
}

// isCopyKey reports whether key is a copy's (else it is a session's).
func isCopyKey(key []byte) bool {
	_, sub, _, ok := splitSessionKey(key)
	return ok && sub == subCopy
}

// splitSessionKey splits a session table key into the ClientId, the
// sub-key kind and the rest.
func splitSessionKey(key []byte) (clientID []byte, sub byte, rest []byte, ok bool) {
	if len(key) == 0 || key[0] != tableSession {
		return nil, 0, nil, false
	}
	n, w := binary.Uvarint(key[1:])
	if w <= 0 || n >= uint64(len(key)-1-w) {
		return nil, 0, nil, false
	}
	end := 1 + w + int(n)
	return key[1+w : end], key[end], key[end+1:], true
}

type patchMerger struct {
	copy bool
	sess sessPatch
	cp   copyPatch
}

func (m *patchMerger) add(v []byte, older bool) error {
	if m.copy {
		return m.cp.decode(v, older)
	}
	return m.sess.decode(v, older)
}

func (m *patchMerger) MergeNewer(v []byte) error { return m.add(v, false) }
func (m *patchMerger) MergeOlder(v []byte) error { return m.add(v, true) }

func (m *patchMerger) Finish(bool) ([]byte, io.Closer, error) {
	if m.copy {
		return m.cp.append(nil), nil, nil
	}
	return m.sess.append(nil), nil, nil
}
