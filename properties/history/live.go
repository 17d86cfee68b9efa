package history

import (
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/sessionlab/sessionlab/broker"
)

// Live checks broker events against the per-session specification as they
// happen, for drivers that see the global order of events (the exhaustive
// explorer, the simulator): no search, the first violation is reported at
// the event that makes it.
type Live struct {
	pol    broker.Policy
	rec    *Recorder
	states map[string]session
}

// NewLive returns a live checker of a broker running pol.
func NewLive(pol broker.Policy) *Live {
	return &Live{pol: pol, rec: NewRecorder(nil, pol), states: map[string]session{}}
}

// Step checks what the events of one step say about the sessions and
// returns the first violation they reveal, if any.
func (l *Live) Step(rec *broker.Record) error {
	l.rec.Step(rec)
	return l.drain()
}

// drain steps the operations recorded since the last call.
func (l *Live) drain() error {
	defer func() { l.rec.ops = l.rec.ops[:0] }()
	for _, op := range l.rec.ops {
		next, why := step(l.pol, l.states[op.Client], op)
		if why != "" {
			return fmt.Errorf("%s: %s", op, why)
		}
		l.states[op.Client] = next
	}
	return nil
}

// Clone returns an independent copy of l.
func (l *Live) Clone() *Live {
	rec := *l.rec
	rec.ops, rec.owed = nil, maps.Clone(l.rec.owed)
	return &Live{pol: l.pol, rec: &rec, states: maps.Clone(l.states)}
}

// AppendState appends a canonical description of the sessions' states to
// dst, for state hashing.
func (l *Live) AppendState(dst []byte) []byte {
	for _, c := range slices.Sorted(maps.Keys(l.states)) {
		dst = append(dst, c...)
		dst = append(dst, ':')
		dst = append(dst, l.states[c].String()...)
		dst = append(dst, ';')
	}
	keys := make([]string, 0, len(l.rec.owed))
	for k := range l.rec.owed {
		keys = append(keys, fmt.Sprintf("%d/%s", k.msg, k.client))
	}
	slices.Sort(keys)
	return append(dst, strings.Join(keys, ",")...)
}
