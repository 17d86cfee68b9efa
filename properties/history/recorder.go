package history

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"slices"

	"github.com/sessionlab/sessionlab/broker"
)

// header is the first line of a history file: the policy the broker ran.
type header struct {
	Policy broker.Policy `json:"policy"`
}

// copyKey names one copy of one message for one session.
type copyKey struct {
	msg    broker.MsgID
	client string
}

// Recorder turns broker events into history operations and writes them as
// JSON lines after a header naming the policy. It is not safe for
// concurrent use; the driver that drains the broker's outputs owns it.
type Recorder struct {
	w    *bufio.Writer
	ops  []Op // kept when there is no writer
	seq  int64
	owed map[copyKey]bool // copies seen and not yet finished: membership only
	// clients are the ClientIds seen, each told of a crash.
	clients map[string]bool
	err     error
}

// NewRecorder returns a recorder writing to w (nil: keep the operations in
// memory, see Ops) for a broker running pol.
func NewRecorder(w io.Writer, pol broker.Policy) *Recorder {
	r := &Recorder{owed: make(map[copyKey]bool), clients: make(map[string]bool)}
	if w != nil {
		r.w = bufio.NewWriter(w)
		r.writeLine(header{Policy: pol})
	}
	return r
}

// Step records what the events of one step of the broker say about its
// sessions. The first event about a copy (enqueued, sent, delivered or
// dropped) records it as owed first, so that each subscriber's copy is one
// enqueue in that subscriber's partition.
func (r *Recorder) Step(rec *broker.Record) {
	if rec.Input.Kind == broker.InRecover {
		r.recovered(rec)
		return
	}
	for ev := range rec.Events() {
		if ev.ClientID != "" {
			r.clients[ev.ClientID] = true
		}
		r.event(ev)
	}
}

// recovered records a crash and restart: one Crash operation per ClientId
// seen, saying whether its session was restored and with which copies.
// Copies not restored are no longer owed.
func (r *Recorder) recovered(rec *broker.Record) {
	restored := map[string]bool{}
	copies := map[string][]uint64{}
	for ev := range rec.Events() {
		r.clients[ev.ClientID] = true
		switch ev.Kind {
		case broker.EvSessionRestored:
			restored[ev.ClientID] = true
		case broker.EvCopyRestored:
			if !ev.Dup { // past PUBREC: delivered already, owed nothing but PUBCOMP
				copies[ev.ClientID] = append(copies[ev.ClientID], uint64(ev.Msg))
			}
		}
	}
	for k := range r.owed {
		if !slices.Contains(copies[k.client], uint64(k.msg)) {
			delete(r.owed, k)
		}
	}
	for _, c := range slices.Sorted(maps.Keys(r.clients)) {
		r.Observe(Op{Kind: Crash, Client: c, At: rec.At, SessionPresent: restored[c], Copies: copies[c]})
	}
}

// event records what ev says about a session.
func (r *Recorder) event(ev *broker.Event) {
	op := Op{Client: ev.ClientID, At: ev.At, Msg: uint64(ev.Msg), Publisher: ev.Publisher,
		Topic: ev.Topic, QoS: uint8(ev.QoS)}
	switch ev.Kind {
	case broker.EvConnected:
		op.Kind, op.Clean, op.SessionPresent, op.Msg, op.QoS = Connect, ev.Clean, ev.SessionPresent, 0, 0
	case broker.EvDisconnected:
		op.Kind, op.Reason = Disconnect, ev.Reason.String()
	case broker.EvSessionExpired:
		op.Kind = Expire
	case broker.EvSessionDiscarded:
		op.Kind = Discard
	case broker.EvEnqueued, broker.EvSent, broker.EvDelivered, broker.EvDropped:
		r.copyEvent(ev, op)
		return
	default:
		return
	}
	r.Observe(op)
}

// copyEvent records an event about one copy of a message.
func (r *Recorder) copyEvent(ev *broker.Event, op Op) {
	if ev.Msg == 0 || ev.Reason == broker.ReasonQoSUnsupported {
		return // a refused QoS 2 publish, not a copy owed to anyone
	}
	k := copyKey{ev.Msg, ev.ClientID}
	if !r.owed[k] {
		r.owed[k] = true
		enq := op
		enq.Kind = Enqueue
		r.Observe(enq)
	}
	switch ev.Kind {
	case broker.EvSent:
		op.Kind, op.Dup, op.Stored = Send, ev.Dup, ev.Stored
	case broker.EvDelivered:
		op.Kind = Ack
		delete(r.owed, k)
	case broker.EvDropped:
		op.Kind, op.Reason = Drop, ev.Reason.String()
		delete(r.owed, k)
	default:
		return
	}
	r.Observe(op)
}

// Quiesce records that the driver let everything settle at time at: every
// online session has been sent every copy it is owed.
func (r *Recorder) Quiesce(at broker.Time, clients []string) {
	for _, c := range clients {
		r.Observe(Op{Kind: Quiesce, Client: c, At: at})
	}
}

// Observe records op. When op has no call and return times (both zero), it
// gets the next pair of the recorder's sequence, after every operation
// recorded so far; client-side observers set their own wall-clock times.
func (r *Recorder) Observe(op Op) {
	if op.Call == 0 && op.Return == 0 {
		r.seq++
		op.Call, op.Return = 2*r.seq, 2*r.seq+1
	}
	if r.w == nil {
		r.ops = append(r.ops, op)
		return
	}
	r.writeLine(op)
}

// writeLine writes v as one JSON line, remembering the first error.
func (r *Recorder) writeLine(v any) {
	if r.err != nil {
		return
	}
	b, err := json.Marshal(v)
	if err == nil {
		b = append(b, '\n')
		_, err = r.w.Write(b)
	}
	if err != nil {
		r.err = fmt.Errorf("history: write: %w", err)
	}
}

// Ops returns the operations recorded in memory (no writer).
func (r *Recorder) Ops() []Op { return r.ops }

// Flush writes buffered lines and returns the first error met.
func (r *Recorder) Flush() error {
	if r.err == nil && r.w != nil {
		if err := r.w.Flush(); err != nil {
			r.err = fmt.Errorf("history: write: %w", err)
		}
	}
	return r.err
}

// Read parses a history written by a Recorder: the policy, then the
// operations. Errors name the line.
func Read(rd io.Reader) (broker.Policy, []Op, error) {
	sc := bufio.NewScanner(rd)
	sc.Buffer(make([]byte, 0, 64*1024), 1<<20)
	var h header
	var ops []Op
	for line := 1; sc.Scan(); line++ {
		var err error
		if line == 1 {
			err = json.Unmarshal(sc.Bytes(), &h)
		} else {
			var op Op
			if err = json.Unmarshal(sc.Bytes(), &op); err == nil {
				ops = append(ops, op)
			}
		}
		if err != nil {
			return broker.Policy{}, nil, fmt.Errorf("history: line %d: %w", line, err)
		}
	}
	if err := sc.Err(); err != nil {
		return broker.Policy{}, nil, fmt.Errorf("history: %w", err)
	}
	if h.Policy.Name == "" {
		return broker.Policy{}, nil, fmt.Errorf("history: line 1: no policy header")
	}
	return h.Policy, ops, nil
}
