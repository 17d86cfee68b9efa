package sim

import (
	"math/bits"
	"testing"
)

// TestDigestAvalanche flips each bit of one word in a stream of words and
// checks that about half of the digest's bits change, wherever the flipped
// bit was: a difference anywhere in a trace must show in the digest.
func TestDigestAvalanche(t *testing.T) {
	words := []uint64{1, 0xdeadbeef, 42 << 56, 7, 1 << 63, 12345}
	sum := func(flipWord, flipBit int) uint64 {
		d := fnvOffset
		for i, w := range words {
			if i == flipWord {
				w ^= 1 << flipBit
			}
			d.u64(w)
		}
		return d.Sum()
	}
	base := sum(-1, 0)
	for w := range words {
		for b := 0; b < 64; b++ {
			if n := bits.OnesCount64(base ^ sum(w, b)); n < 12 || n > 52 {
				t.Errorf("flipping bit %d of word %d changes %d digest bits, want about 32", b, w, n)
			}
		}
	}
}

func TestDigestStrings(t *testing.T) {
	tests := []struct{ a, b string }{
		{"", "\\x00"},
		{"sensor-1", "sensor-2"},
		{"abcdefgh", "abcdefghi"},
		{"cmd/actuator-17", "cmd/actuator-71"},
	}
	for _, tt := range tests {
		da, db := fnvOffset, fnvOffset
		da.str(tt.a)
		db.str(tt.b)
		if da.Sum() == db.Sum() {
			t.Errorf("%q and %q hash alike", tt.a, tt.b)
		}
	}
}
