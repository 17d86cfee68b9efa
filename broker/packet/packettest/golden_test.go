package packettest_test

import (
	"io"
	"strings"
	"testing"

	"github.com/sessionlab/sessionlab/broker/packet"
	"github.com/sessionlab/sessionlab/broker/packet/packettest"
)

func TestParse(t *testing.T) {
	in := `# comment
== a maxsize=9
30 03   # header
00 01*2 # repeat
=> ok PUBLISH q0 topic="\x01" payload=0B

== b
c0
=> eof - @1
`
	got, err := packettest.Parse(strings.NewReader(in))
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 {
		t.Fatalf("got %d fixtures, want 2", len(got))
	}
	a, b := got[0], got[1]
	if a.Name != "a" || a.Line != 2 || a.MaxSize != 9 || string(a.Bytes) != "\x30\x03\x00\x01\x01" || !a.OK() || a.Want != `PUBLISH q0 topic="\x01" payload=0B` {
		t.Errorf("got %+v", a)
	}
	if b.Name != "b" || b.OK() || b.Err != io.ErrUnexpectedEOF || b.SpecID != "" || b.Offset != 1 {
		t.Errorf("got %+v", b)
	}
}

func TestParseErrors(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{"bytes outside a fixture", "30 00\n", "line 1: bytes or result outside a fixture"},
		{"missing result", "== a\n30 00\n== b\n", `line 3: fixture "a" has no => line`},
		{"missing result at end", "== a\n30 00\n", `fixture "a" at line 1 has no => line`},
		{"bad hex", "== a\n3g\n=> ok X\n", `line 2: bad hex byte "3g"`},
		{"two bytes in one token", "== a\n3000\n=> ok X\n", `line 2: bad hex byte "3000"`},
		{"bad repeat", "== a\n00*x\n=> ok X\n", `line 2: bad repeat count in "00*x"`},
		{"bad option", "== a max=3\n", `line 1: bad option "max=3" (want maxsize=N)`},
		{"unknown kind", "== a\n00\n=> broken - @0\n", `line 3: unknown error kind "broken"`},
		{"bad result", "== a\n00\n=> malformed\n", "line 3: bad result \"malformed\" (want `ok STRING` or `KIND SPEC @OFFSET`)"},
		{"bad offset", "== a\n00\n=> malformed - @x\n", `line 3: bad offset "@x"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := packettest.Parse(strings.NewReader(tt.in))
			if err == nil || err.Error() != tt.want {
				t.Errorf("got error %v, want %s", err, tt.want)
			}
		})
	}
}

// TestGoldenCoverage checks that the golden file has a valid fixture for
// each of the fourteen packet types and names are unique.
func TestGoldenCoverage(t *testing.T) {
	valid := map[packet.Type]bool{}
	names := map[string]bool{}
	for _, f := range packettest.Golden() {
		if names[f.Name] {
			t.Errorf("%v: duplicate name", f)
		}
		names[f.Name] = true
		if f.OK() {
			valid[packet.Type(f.Bytes[0]>>4)] = true
		}
	}
	for typ := packet.CONNECT; typ <= packet.DISCONNECT; typ++ {
		if !valid[typ] {
			t.Errorf("no valid %v fixture", typ)
		}
	}
}
