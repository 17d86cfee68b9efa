package netsim

// fifo is a first-in first-out queue on a reused slice: popping advances a
// head index, and the slice is rewound when it empties, so a steady flow
// allocates nothing.
type fifo[M any] struct {
	items []M
	head  int
}

func (f *fifo[M]) push(m M) { f.items = append(f.items, m) }

func (f *fifo[M]) pop() (M, bool) {
	var zero M
	if f.head >= len(f.items) {
		return zero, false
	}
	m := f.items[f.head]
	f.items[f.head] = zero // let the message be collected
	f.head++
	if f.head == len(f.items) {
		f.items, f.head = f.items[:0], 0
	}
	return m, true
}

func (f *fifo[M]) clear() {
	clear(f.items)
	f.items, f.head = f.items[:0], 0
}
