package packet_test

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"testing"
	"testing/iotest"

	"github.com/sessionlab/sessionlab/broker/packet"
	"github.com/sessionlab/sessionlab/broker/packet/packettest"
)

// validStream concatenates the valid golden packets and returns the stream
// with the packets in order.
func validStream(t *testing.T) ([]byte, [][]byte) {
	t.Helper()
	var stream []byte
	var packets [][]byte
	for _, f := range packettest.Golden() {
		if f.OK() {
			stream = append(stream, f.Bytes...)
			packets = append(packets, f.Bytes)
		}
	}
	return stream, packets
}

// scan frames everything r yields with a Scanner using Split(maxSize).
func scan(r io.Reader, maxSize int) ([][]byte, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 16), packet.MaxPacketSize)
	sc.Split(packet.Split(maxSize))
	var tokens [][]byte
	for sc.Scan() {
		tokens = append(tokens, bytes.Clone(sc.Bytes()))
	}
	return tokens, sc.Err()
}

func TestSplitReaders(t *testing.T) {
	stream, want := validStream(t)
	tests := []struct {
		name string
		r    io.Reader
	}{
		{"whole", bytes.NewReader(stream)},
		{"one byte at a time", iotest.OneByteReader(bytes.NewReader(stream))},
		{"half reads", iotest.HalfReader(bytes.NewReader(stream))},
		{"EOF with the last data", iotest.DataErrReader(iotest.OneByteReader(bytes.NewReader(stream)))},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := scan(tt.r, 0)
			if err != nil {
				t.Fatalf("scan: %v", err)
			}
			if len(got) != len(want) {
				t.Fatalf("got %d packets, want %d", len(got), len(want))
			}
			for i := range got {
				if !bytes.Equal(got[i], want[i]) {
					t.Errorf("packet %d: got % x, want % x", i, got[i], want[i])
				}
			}
		})
	}
}

func TestSplitErrors(t *testing.T) {
	pub := (&packet.Publish{QoS: 1, PacketID: 1, Topic: "a/b", Payload: make([]byte, 100)}).Append(nil)
	tests := []struct {
		name    string
		stream  []byte
		maxSize int
		packets int   // whole packets framed before the error
		want    error // error kind
	}{
		{"cut inside the body", append(append([]byte{}, pub...), pub[:50]...), 0, 1, io.ErrUnexpectedEOF},
		{"cut inside the length", []byte{0xc0, 0x00, 0x30, 0x80}, 0, 1, io.ErrUnexpectedEOF},
		{"too large", pub, 64, 0, packet.ErrTooLarge},
		{"fifth length byte", []byte{0xc0, 0x00, 0x30, 0xff, 0xff, 0xff, 0xff, 0x01}, 0, 1, packet.ErrMalformed},
		{"bad flags", []byte{0xc0, 0x00, 0x62, 0x02, 0x00, 0x01, 0x60}, 0, 2, packet.ErrMalformed},
		{"reserved type", []byte{0xf0, 0x00}, 0, 0, packet.ErrMalformed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := scan(iotest.OneByteReader(bytes.NewReader(tt.stream)), tt.maxSize)
			if len(got) != tt.packets {
				t.Errorf("got %d packets, want %d", len(got), tt.packets)
			}
			if !errors.Is(err, tt.want) {
				t.Errorf("got error %v, want %v", err, tt.want)
			}
		})
	}
}

// TestSplitTimeout checks that a read error ends the scan with that error
// after the packets already framed.
func TestSplitTimeout(t *testing.T) {
	stream := append((&packet.Pingreq{}).Append(nil), (&packet.Puback{PacketID: 1}).Append(nil)...)
	got, err := scan(iotest.TimeoutReader(bytes.NewReader(stream)), 0)
	if len(got) != 2 || !errors.Is(err, iotest.ErrTimeout) {
		t.Errorf("got %d packets and error %v, want 2 and %v", len(got), err, iotest.ErrTimeout)
	}
}

// TestFrameRejectsAtOnce checks that an over-long or oversized remaining
// length is rejected as soon as the length bytes show it, before the body
// arrives, and that anything shorter asks for more bytes.
func TestFrameRejectsAtOnce(t *testing.T) {
	tests := []struct {
		name    string
		data    []byte
		maxSize int
		want    error // nil: need more bytes
	}{
		{"first byte only", []byte{0x30}, 0, nil},
		{"bad flags in first byte", []byte{0x36}, 0, packet.ErrMalformed},
		{"length fits", []byte{0x30, 0x3e}, 64, nil},
		{"length one over", []byte{0x30, 0x3f}, 64, packet.ErrTooLarge},
		{"second length byte pending", []byte{0x30, 0x80}, 200, nil},
		{"second length byte pending, cannot fit", []byte{0x30, 0x80}, 100, packet.ErrTooLarge},
		{"four length bytes continue", []byte{0x30, 0xff, 0xff, 0xff, 0xff}, 0, packet.ErrMalformed},
		{"maximum length", []byte{0x30, 0xff, 0xff, 0xff, 0x7f}, 0, nil},
		{"maximum length, small max", []byte{0x30, 0xff, 0xff, 0xff}, 1 << 20, packet.ErrTooLarge},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			adv, tok, err := packet.Frame(tt.data, false, tt.maxSize)
			if adv != 0 || tok != nil {
				t.Errorf("got advance %d token % x, want 0 and nil", adv, tok)
			}
			if !errors.Is(err, tt.want) { // errors.Is(nil, nil) is true
				t.Errorf("got error %v, want %v", err, tt.want)
			}
		})
	}
}

// TestFrameSplitsConcatenation checks that Frame returns exactly the first
// packet of a buffer holding more than one.
func TestFrameSplitsConcatenation(t *testing.T) {
	a := (&packet.Publish{Topic: "a", Payload: []byte("x")}).Append(nil)
	b := (&packet.Pingreq{}).Append(nil)
	adv, tok, err := packet.Frame(append(append([]byte{}, a...), b...), false, 0)
	if err != nil || adv != len(a) || !bytes.Equal(tok, a) {
		t.Errorf("Frame = %d, % x, %v; want %d, % x, nil", adv, tok, err, len(a), a)
	}
}

func TestSize(t *testing.T) {
	big := (&packet.Publish{Topic: "t", Payload: make([]byte, 300)}).Append(nil)
	tests := []struct {
		data []byte
		want int
		ok   bool
	}{
		{nil, 0, false},
		{big[:1], 0, false}, // length bytes missing
		{big[:2], 0, false}, // the length continues
		{big[:3], len(big), true},
		{big, len(big), true},
		{[]byte{0xc0, 0x00}, 2, true},  // PINGREQ
		{[]byte{0x00, 0x00}, 0, false}, // reserved type 0
	}
	for _, tt := range tests {
		if got, ok := packet.Size(tt.data); got != tt.want || ok != tt.ok {
			t.Errorf("Size(% x) = %d, %v; want %d, %v", tt.data, got, ok, tt.want, tt.ok)
		}
	}
}
