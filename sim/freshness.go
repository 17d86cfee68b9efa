package sim

import (
	"strings"
	"time"

	"github.com/sessionlab/sessionlab/sim/scenario"
)

// maxFreshnessPairs bounds the (watching backend, status device) pairs
// followed for Metrics.StatusWrong; a larger fleet is not measured.
const maxFreshnessPairs = 1 << 24

// freshness measures how long the status backends' view of the status
// devices stays wrong (Metrics.StatusWrong). A device is online from its
// session coming up (CONNACK accepted) to the device losing or closing its
// connection; a backend's view is the last status its application received
// for the device ("online" or not), offline before the first. An episode
// starts when the two differ and ends when they agree again.
type freshness struct {
	m        *Metrics
	slot     []int32           // per device: its index among status devices, -1 if none
	watcher  []int32           // per device: its index among watching backends, -1 if none
	truth    []bool            // per status device: online
	view     [][]bool          // per watcher, per status device
	since    [][]time.Duration // per watcher, per status device: wrong since, -1 when right
	statusID []int32           // status device index -> device index
}

// newFreshness returns nil when no backend watches status devices, or the
// fleet is too large to follow.
func newFreshness(m *Metrics, groups []scenario.Group, devices int) *freshness {
	f := &freshness{m: m, slot: make([]int32, devices), watcher: make([]int32, devices)}
	h, watchers := 0, 0
	for _, g := range groups {
		for i := 0; i < g.Count; i++ {
			f.slot[h], f.watcher[h] = -1, -1
			switch {
			case g.Status && g.Kind == scenario.Backend:
				f.watcher[h] = int32(watchers)
				watchers++
			case g.Status:
				f.slot[h] = int32(len(f.statusID))
				f.statusID = append(f.statusID, int32(h))
			}
			h++
		}
	}
	n := len(f.statusID)
	if watchers == 0 || n == 0 || watchers*n > maxFreshnessPairs {
		return nil
	}
	f.truth = make([]bool, n)
	f.view, f.since = make([][]bool, watchers), make([][]time.Duration, watchers)
	for w := range f.view {
		f.view[w], f.since[w] = make([]bool, n), make([]time.Duration, n)
		for s := range f.since[w] {
			f.since[w][s] = -1
		}
	}
	return f
}

// device records device dev coming up or going down at now.
func (f *freshness) device(now time.Duration, dev int32, online bool) {
	s := f.slot[dev]
	if s < 0 || f.truth[s] == online {
		return
	}
	f.truth[s] = online
	for w := range f.view {
		f.judge(now, w, s)
	}
}

// received records backend dev's application receiving payload on topic.
func (f *freshness) received(now time.Duration, dev int32, topic string, payload []byte, ids map[string]int32) {
	w := f.watcher[dev]
	if w < 0 || !strings.HasPrefix(topic, statusPrefix) {
		return
	}
	d, ok := ids[topic[len(statusPrefix):]]
	if !ok || f.slot[d] < 0 {
		return
	}
	s := f.slot[d]
	f.view[w][s] = string(payload) == string(statusOnline)
	f.judge(now, int(w), s)
}

// judge starts or ends an episode of watcher w being wrong about s.
func (f *freshness) judge(now time.Duration, w int, s int32) {
	wrong := f.view[w][s] != f.truth[s]
	switch since := f.since[w][s]; {
	case wrong && since < 0:
		f.since[w][s] = now
	case !wrong && since >= 0:
		f.m.StatusWrong.Record(now - since)
		f.since[w][s] = -1
	}
}

// close ends the episodes still open at now, and counts them.
func (f *freshness) close(now time.Duration) {
	for w := range f.since {
		for _, since := range f.since[w] {
			if since >= 0 {
				f.m.StatusWrong.Record(now - since)
				f.m.StatusWrongAtEnd++
			}
		}
	}
}
