package sim

import "time"

// timers holds one pending deadline per device in an indexed min-heap, so
// that moving a deadline is an in-place sift instead of a new event. A
// device's keepalive deadline moves later with every packet it sends; with
// the event queue alone each move would leave a stale event behind to pop.
// Entries are ordered like events, by (time, sequence), and take their
// sequence numbers from the event queue, so a timer and an event due at
// the same instant fire in the order they were scheduled.
type timers struct {
	heap []timer
	pos  []int32 // pos[dev]: index in heap, or -1
}

type timer struct {
	at  time.Duration
	seq uint64
	dev int32
}

func newTimers(devices int) timers {
	t := timers{pos: make([]int32, devices)}
	for i := range t.pos {
		t.pos[i] = -1
	}
	return t
}

func (t *timers) less(i, j int) bool {
	a, b := &t.heap[i], &t.heap[j]
	if a.at != b.at {
		return a.at < b.at
	}
	return a.seq < b.seq
}

// set arms dev's timer at at with sequence seq, replacing any armed one.
func (t *timers) set(dev int32, at time.Duration, seq uint64) {
	i := int(t.pos[dev])
	if i < 0 {
		t.heap = append(t.heap, timer{at: at, seq: seq, dev: dev})
		i = len(t.heap) - 1
		t.pos[dev] = int32(i)
		t.up(i)
		return
	}
	t.heap[i].at, t.heap[i].seq = at, seq
	if !t.up(i) {
		t.down(i)
	}
}

// clear disarms dev's timer.
func (t *timers) clear(dev int32) {
	i := int(t.pos[dev])
	if i < 0 {
		return
	}
	last := len(t.heap) - 1
	t.swap(i, last)
	t.heap = t.heap[:last]
	t.pos[dev] = -1
	if i < last && !t.up(i) {
		t.down(i)
	}
}

// peek returns the earliest timer; ok is false when none is armed.
func (t *timers) peek() (timer, bool) {
	if len(t.heap) == 0 {
		return timer{}, false
	}
	return t.heap[0], true
}

func (t *timers) swap(i, j int) {
	t.heap[i], t.heap[j] = t.heap[j], t.heap[i]
	t.pos[t.heap[i].dev] = int32(i)
	t.pos[t.heap[j].dev] = int32(j)
}

// up sifts entry i toward the root and reports whether it moved.
func (t *timers) up(i int) bool {
	moved := false
	for i > 0 {
		p := (i - 1) / 2
		if !t.less(i, p) {
			break
		}
		t.swap(i, p)
		i, moved = p, true
	}
	return moved
}

func (t *timers) down(i int) {
	n := len(t.heap)
	for {
		c := 2*i + 1
		if c >= n {
			return
		}
		if r := c + 1; r < n && t.less(r, c) {
			c = r
		}
		if !t.less(c, i) {
			return
		}
		t.swap(i, c)
		i = c
	}
}
