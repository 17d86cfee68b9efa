package broker

// ring is a FIFO of deliveries backed by a growable circular buffer. The
// zero value is an empty ring.
// (head and n are int32, which a queue never outgrows, so that a session
// stays in a smaller size class.)
type ring struct {
	buf  []delivery
	head int32
	n    int32
}

// Len is the number of deliveries in the ring.
func (r *ring) Len() int { return int(r.n) }

// at returns a pointer to the i-th delivery from the front.
func (r *ring) at(i int) *delivery { return &r.buf[(int(r.head)+i)%len(r.buf)] }

// push appends d at the back, growing the buffer when full: doubling, but
// never beyond limit (the queue cap, 0: none) so a full queue wastes nothing.
func (r *ring) push(d delivery, limit int) {
	if int(r.n) == len(r.buf) {
		r.grow(limit)
	}
	r.buf[int(r.head+r.n)%len(r.buf)] = d
	r.n++
}

// reserve makes room for n deliveries in an empty ring.
func (r *ring) reserve(n int) {
	if r.n == 0 && n > len(r.buf) {
		r.buf, r.head = make([]delivery, n), 0
	}
}

// grow doubles the buffer (starting at 4), capped at limit when that still
// makes room, and unwraps it to start at 0.
func (r *ring) grow(limit int) {
	size := max(4, 2*len(r.buf))
	if limit > int(r.n) && size > limit {
		size = limit
	}
	buf := make([]delivery, size)
	for i := 0; i < int(r.n); i++ {
		buf[i] = *r.at(i)
	}
	r.buf, r.head = buf, 0
}

// pop removes and returns the front delivery. The ring must not be empty.
func (r *ring) pop() delivery {
	d := r.buf[r.head]
	r.buf[r.head] = delivery{}
	r.head = int32((int(r.head) + 1) % len(r.buf))
	r.n--
	if r.n == 0 {
		r.head = 0
	}
	return d
}

// removeAt removes and returns the i-th delivery from the front, keeping the
// order of the rest.
func (r *ring) removeAt(i int) delivery {
	d := *r.at(i)
	for j := i; j > 0; j-- {
		*r.at(j) = *r.at(j - 1)
	}
	r.buf[r.head] = delivery{}
	r.head = int32((int(r.head) + 1) % len(r.buf))
	r.n--
	return d
}

// clone returns a copy of r with its own buffer, compacted to start at 0.
func (r *ring) clone() ring {
	c := ring{buf: make([]delivery, len(r.buf)), n: r.n}
	for i := 0; i < int(r.n); i++ {
		c.buf[i] = *r.at(i)
	}
	return c
}
