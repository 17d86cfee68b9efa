package model

import (
	"github.com/sessionlab/sessionlab/broker"
)

// Crash is the broker process dying and starting again at boot, rebuilt
// from its durable state. It returns the recovery's record (Input
// broker.InRecover), as broker.Recover does: an EvSessionRestored per
// persistent session in creation order, each followed by an EvCopyRestored
// per copy it owes, the queued ones in queue order, then those in flight in
// the order they were first sent.
//
// What a crash may lose, the specification of durability:
//   - Nothing the broker acknowledged. A PUBLISH answered with PUBACK or
//     PUBREC was accepted [MQTT-4.3.2-2], [MQTT-4.3.3-2], and every copy it
//     owed a persistent session survives; so do persistent sessions whose
//     CONNACK was sent, their subscriptions once SUBACKed, the copies they
//     owe with the packet ids they were sent with and whether PUBREC came,
//     their inbound QoS 2 ids awaiting PUBREL, and retained messages.
//   - A message whose acknowledgement the broker had not sent may be lost:
//     its publisher still holds it and sends it again [MQTT-4.4.0-1]. The
//     lockstep and the explorer crash the broker between steps, when all
//     it did is durable, so nothing of that kind is lost here; the
//     simulator crashes it with writes pending, and its checker holds the
//     broker to what the clients saw acknowledged.
//   - Connections, clean sessions and their copies (a clean session ends
//     with its connection [MQTT-3.1.2-6]), QoS 0 copies on the wire, and
//     Wills: a Will is "associated with the Network Connection"
//     [MQTT-3.1.2-8] and dies with the broker that held it; none is
//     published after a crash.
//
// Downtime counts: a session that was offline keeps its expiry time,
// and one whose expiry fell during the downtime expires at the first
// deadline after the restart (NextDeadline says so at once); a session
// that was online went offline at boot, when the broker found its
// connection gone. Copies keep the time they were queued, so a TTL that ran
// out during the downtime drops them at the first deadline too.
func (m *Model) Crash(boot broker.Time) broker.Record {
	m.out = m.out[:0]
	m.now = max(m.now, boot)
	m.conns = nil
	var kept []*session
	for _, s := range m.sessions {
		if s.clean {
			continue
		}
		if s.conn != 0 {
			s.conn = 0
			s.expireAt, s.expires = m.expiry(), m.pol.SessionExpiry > 0
		}
		s.replaySent = nil
		m.emit(broker.Event{Kind: broker.EvSessionRestored, ClientID: s.client})
		for _, cp := range s.queue {
			cp.stored = false
			m.restored(s, cp)
		}
		for _, cp := range s.inflight {
			cp.resend = false
			m.restored(s, cp)
		}
		kept = append(kept, s)
	}
	m.sessions = kept
	return broker.Record{At: m.now, Input: broker.Input{Kind: broker.InRecover}, Outputs: m.out}
}

// restored reports one copy a recovery rebuilt.
func (m *Model) restored(s *session, cp *copyOf) {
	m.emit(broker.Event{Kind: broker.EvCopyRestored, ClientID: s.client, Msg: cp.msg.id, Topic: cp.msg.topic,
		QoS: cp.qos, PacketID: cp.pid, Dup: cp.completed, Publisher: cp.msg.publisher, Retain: cp.retain})
}
