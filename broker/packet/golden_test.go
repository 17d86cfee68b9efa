package packet_test

import (
	"bytes"
	"errors"
	"testing"

	"github.com/sessionlab/sessionlab/broker/packet"
	"github.com/sessionlab/sessionlab/broker/packet/packettest"
)

// TestGolden decodes every golden fixture and checks the result: valid
// packets print as expected, consume all their bytes and re-encode to the
// same bytes; malformed ones fail with the expected kind, spec ID and offset.
func TestGolden(t *testing.T) {
	fs := packettest.Golden()
	if len(fs) < 60 {
		t.Fatalf("got %d golden fixtures, want at least 60", len(fs))
	}
	for _, f := range fs {
		t.Run(f.Name, func(t *testing.T) {
			p, n, err := packet.Decode(f.Bytes, f.MaxSize)
			if f.OK() {
				checkGoldenOK(t, f, p, n, err)
			} else {
				checkGoldenErr(t, f, err)
			}
		})
	}
}

func checkGoldenOK(t *testing.T, f packettest.Fixture, p packet.Packet, n int, err error) {
	t.Helper()
	if err != nil {
		t.Fatalf("%v: Decode: %v", f, err)
	}
	if got := p.String(); got != f.Want {
		t.Errorf("%v: String() = %s, want %s", f, got, f.Want)
	}
	if n != len(f.Bytes) {
		t.Errorf("%v: consumed %d bytes, want %d", f, n, len(f.Bytes))
	}
	if got := p.Append(nil); !bytes.Equal(got, f.Bytes) {
		t.Errorf("%v: re-encoded\n got % x\nwant % x", f, got, f.Bytes)
	}
}

func checkGoldenErr(t *testing.T, f packettest.Fixture, err error) {
	t.Helper()
	var e *packet.Error
	if !errors.As(err, &e) {
		t.Fatalf("%v: Decode error = %v, want a *packet.Error", f, err)
	}
	if !errors.Is(err, f.Err) {
		t.Errorf("%v: error kind = %v, want %v (%v)", f, e.Kind, f.Err, err)
	}
	if e.SpecID != f.SpecID {
		t.Errorf("%v: SpecID = %q, want %q (%v)", f, e.SpecID, f.SpecID, err)
	}
	if e.Offset != f.Offset {
		t.Errorf("%v: Offset = %d, want %d (%v)", f, e.Offset, f.Offset, err)
	}
}
