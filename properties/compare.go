package properties

import (
	"bytes"
	"fmt"
	"maps"
	"slices"

	"github.com/sessionlab/sessionlab/broker"
	"github.com/sessionlab/sessionlab/broker/packet"
)

// compare checks the core's outputs (got) against the model's (want) for
// one input and, when they agree, updates the clients' views. Per
// connection, the replies (CONNACK, PUBACK, SUBACK, ...) must be equal in
// order and the outbound flow (PUBLISH, PUBREL) equal in order up to packet
// ids; closes and predicted events must be equal as sets, since their order
// across connections is not observable by any one client.
func (l *Lockstep) compare(got, want []broker.Output) error {
	for _, id := range conns(got, want) {
		if err := l.compareConn(id, got, want); err != nil {
			return fmt.Errorf("conn %d: %w", id, err)
		}
	}
	if g, w := closes(got), closes(want); !slices.Equal(g, w) {
		return fmt.Errorf("closed %v, model closes %v", g, w)
	}
	if g, w := events(got, l.coreKeys.of), events(want, l.modelKeys.of); !slices.Equal(g, w) {
		return fmt.Errorf("events differ:\n    core  %q\n    model %q", g, w)
	}
	for _, o := range got {
		if o.Kind == broker.OutClose {
			for i := range l.clients {
				if l.clients[i].conn == o.Conn {
					l.clients[i].conn = 0
				}
			}
		}
	}
	return nil
}

// compareConn compares what both sides sent on connection id.
func (l *Lockstep) compareConn(id broker.ConnID, got, want []broker.Output) error {
	gotReplies, gotFlow := sent(id, got)
	wantReplies, wantFlow := sent(id, want)
	if !slices.Equal(gotReplies, wantReplies) {
		return fmt.Errorf("replies %q, model %q", gotReplies, wantReplies)
	}
	if len(gotFlow) != len(wantFlow) {
		return fmt.Errorf("sent %d PUBLISH/PUBREL, model %d", len(gotFlow), len(wantFlow))
	}
	c := l.clientOn(id)
	if c != nil && slices.Contains(wantReplies, (&packet.Connack{}).String()) {
		c.pending = nil // SessionPresent=0: nothing of the old session remains
	}
	for i := range gotFlow {
		if err := pairFlow(c, gotFlow[i], wantFlow[i]); err != nil {
			return fmt.Errorf("flow #%d: %w", i, err)
		}
	}
	return nil
}

// pairFlow checks one outbound PUBLISH or PUBREL of the core (g) against
// the model's (w), and records or checks their packet ids on the client.
func pairFlow(c *client, g, w packet.Packet) error {
	switch w := w.(type) {
	case *packet.Publish:
		gp, ok := g.(*packet.Publish)
		if !ok || gp.Dup != w.Dup || gp.QoS != w.QoS || gp.Retain != w.Retain || gp.Topic != w.Topic ||
			!bytes.Equal(gp.Payload, w.Payload) {
			return fmt.Errorf("sent %s %q, model %s %q", g, payload(g), w, w.Payload)
		}
		if w.QoS == 0 || c == nil {
			return nil
		}
		if gp.PacketID == 0 || w.PacketID == 0 {
			return fmt.Errorf("sent %s with packet id 0, model id %d [MQTT-2.3.1-1]", g, w.PacketID)
		}
		if !w.Dup {
			if i := slices.IndexFunc(c.pending, func(p pending) bool { return p.core == gp.PacketID }); i >= 0 {
				return fmt.Errorf("%s reuses id %d of a message still in flight [MQTT-2.3.1-2]", g, gp.PacketID)
			}
			c.pending = append(c.pending, pending{core: gp.PacketID, model: w.PacketID, qos: w.QoS})
			return nil
		}
		return repair(c, gp.PacketID, w.PacketID, false)
	case *packet.Pubrel:
		gp, ok := g.(*packet.Pubrel)
		if !ok {
			return fmt.Errorf("sent %s, model %s", g, w)
		}
		if c == nil {
			return nil
		}
		return repair(c, gp.PacketID, w.PacketID, true)
	}
	return fmt.Errorf("model sent unexpected %s", w)
}

// repair checks that a resend (or PUBREL) uses the packet id of the same
// pending delivery on both sides [MQTT-4.4.0-1], and updates its stage.
func repair(c *client, core, mod uint16, rel bool) error {
	i := slices.IndexFunc(c.pending, func(p pending) bool { return p.model == mod })
	if i < 0 || c.pending[i].core != core {
		return fmt.Errorf("resend with id %d does not continue the delivery the model resends (id %d) [MQTT-4.4.0-1]", core, mod)
	}
	if rel {
		c.pending[i].released = true
	} else {
		c.pending[i].recSent = false
	}
	return nil
}

// clientOn returns the client whose connection is id, or nil.
func (l *Lockstep) clientOn(id broker.ConnID) *client {
	for i := range l.clients {
		if l.clients[i].conn == id {
			return &l.clients[i]
		}
	}
	return nil
}

// conns lists the connections sent to in either output list, in order of
// first appearance.
func conns(a, b []broker.Output) []broker.ConnID {
	var ids []broker.ConnID
	for _, o := range append(slices.Clip(a), b...) {
		if o.Kind == broker.OutSend && !slices.Contains(ids, o.Conn) {
			ids = append(ids, o.Conn)
		}
	}
	return ids
}

// sent splits what outs send on connection id into replies (described) and
// the outbound flow (PUBLISH and PUBREL packets).
func sent(id broker.ConnID, outs []broker.Output) (replies []string, flow []packet.Packet) {
	for _, o := range outs {
		if o.Kind != broker.OutSend || o.Conn != id {
			continue
		}
		switch o.Packet.(type) {
		case *packet.Publish, *packet.Pubrel:
			flow = append(flow, o.Packet)
		default:
			replies = append(replies, o.Packet.String())
		}
	}
	return replies, flow
}

// closes lists the connections outs close, sorted.
func closes(outs []broker.Output) []broker.ConnID {
	var ids []broker.ConnID
	for _, o := range outs {
		if o.Kind == broker.OutClose {
			ids = append(ids, o.Conn)
		}
	}
	slices.Sort(ids)
	return ids
}

// unpredicted are the event kinds the model does not specify: when a copy
// counts as enqueued or sent is the core's bookkeeping, and retained-store
// events are not part of a session's observable behaviour.
var unpredicted = []broker.EventKind{broker.EvEnqueued, broker.EvSent, broker.EvRetained}

// connEvents are the event kinds whose Conn is part of what they say.
var connEvents = []broker.EventKind{broker.EvConnected, broker.EvRefused, broker.EvDisconnected,
	broker.EvSessionTakenOver, broker.EvProtocolError}

// events describes the predicted events of outs without the fields only the
// core can know (packet ids, flags of the send), with MsgIDs replaced by
// keys, sorted.
func events(outs []broker.Output, key func(broker.Event) string) []string {
	var evs []string
	for _, o := range outs {
		if o.Kind != broker.OutEvent || slices.Contains(unpredicted, o.Event.Kind) {
			continue
		}
		e := o.Event
		e.PacketID, e.Dup, e.Stored, e.Retain = 0, false, false, false
		if !slices.Contains(connEvents, e.Kind) {
			e.Conn = 0
		}
		if e.Kind != broker.EvConnected {
			e.Clean = false
		}
		k := key(e)
		e.Msg = 0
		evs = append(evs, e.String()+k)
	}
	slices.Sort(evs)
	return evs
}

func payload(p packet.Packet) []byte {
	if p, ok := p.(*packet.Publish); ok {
		return p.Payload
	}
	return nil
}

// msgKeys names each side's messages independently of its MsgIDs: the n-th
// message published by client p is "p#n". When several messages are
// published in one step (Wills of simultaneous timeouts), the order a side
// numbers them in is its own choice; keys make the comparison independent
// of it, since one input never makes one client publish twice.
type msgKeys struct {
	keys  map[broker.MsgID]string
	count map[string]int
}

// of returns the key of e's message (" msg=p#n"), or "" if it has none.
func (k *msgKeys) of(e broker.Event) string {
	if e.Msg == 0 {
		return ""
	}
	if key, ok := k.keys[e.Msg]; ok {
		return key
	}
	if k.keys == nil {
		k.keys, k.count = make(map[broker.MsgID]string), make(map[string]int)
	}
	pub := e.Publisher
	if pub == "" || e.Kind == broker.EvPublished || e.Kind == broker.EvWillPublished {
		pub = e.ClientID
	}
	k.count[pub]++
	key := fmt.Sprintf(" msg=%s#%d", pub, k.count[pub])
	k.keys[e.Msg] = key
	return key
}

// clone returns an independent copy of k.
func (k msgKeys) clone() msgKeys {
	return msgKeys{keys: maps.Clone(k.keys), count: maps.Clone(k.count)}
}
