package broker

import (
	"slices"
	"testing"
)

// ringIDs returns the MsgIDs in r, front to back.
func ringIDs(r *ring) []MsgID {
	var ids []MsgID
	for i := 0; i < r.Len(); i++ {
		ids = append(ids, r.at(i).msg.id)
	}
	return ids
}

func TestRing(t *testing.T) {
	msgs := make([]*message, 10)
	for i := range msgs {
		msgs[i] = &message{id: MsgID(i + 1)}
	}
	var r ring
	for _, m := range msgs[:5] {
		r.push(delivery{msg: m}, 6)
	}
	if got := r.pop().msg.id; got != 1 {
		t.Fatalf("pop = %d, want 1", got)
	}
	r.push(delivery{msg: msgs[5]}, 6)
	r.push(delivery{msg: msgs[6]}, 6) // wraps around the buffer of 6
	if got, want := len(r.buf), 6; got != want {
		t.Errorf("buffer %d, want %d (doubling capped at the limit)", got, want)
	}
	if got := r.removeAt(2).msg.id; got != 4 {
		t.Errorf("removeAt(2) = %d, want 4", got)
	}
	if got, want := ringIDs(&r), []MsgID{2, 3, 5, 6, 7}; !slices.Equal(got, want) {
		t.Errorf("ring %v, want %v", got, want)
	}
	c := r.clone()
	r.pop()
	if got, want := ringIDs(&c), []MsgID{2, 3, 5, 6, 7}; !slices.Equal(got, want) {
		t.Errorf("clone %v changed with the original, want %v", got, want)
	}
	for r.Len() > 0 {
		r.pop()
	}
	if r.head != 0 {
		t.Errorf("empty ring head = %d, want 0", r.head)
	}
}
