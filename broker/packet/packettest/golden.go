// Package packettest provides test data for MQTT 3.1.1 packets: the golden
// fixtures of golden.txt (Golden) and a rapid generator of valid packets
// (Gen), shared by the codec's tests, the broker's tests and the simulator.
package packettest

import (
	"bufio"
	_ "embed"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/sessionlab/sessionlab/broker/packet"
)

//go:embed golden.txt
var golden string

// Fixture is one golden packet: its bytes and the result Decode must give.
type Fixture struct {
	Name    string
	Line    int    // line of the fixture's "==" in golden.txt, for failure reports
	Bytes   []byte // the packet as it arrives on the wire
	MaxSize int    // maximum packet size to decode with; 0 means none
	Want    string // String() of the decoded packet; "" if decoding fails
	Err     error  // packet.ErrMalformed, packet.ErrTooLarge or io.ErrUnexpectedEOF; nil if it decodes
	SpecID  string // spec ID the error must cite; "" if none
	Offset  int    // byte offset the error must report
}

// OK reports whether the fixture is a valid packet.
func (f Fixture) OK() bool { return f.Err == nil }

// String names the fixture with its position, e.g. "golden.txt:12 publish-qos0".
func (f Fixture) String() string { return "golden.txt:" + strconv.Itoa(f.Line) + " " + f.Name }

// Golden returns the fixtures of golden.txt in file order. The file is
// embedded and checked by this package's tests, so a parse error is a
// broken invariant and panics with its line.
func Golden() []Fixture {
	fs, err := Parse(strings.NewReader(golden))
	if err != nil {
		panic("packettest: golden.txt: " + err.Error())
	}
	return fs
}

var kinds = map[string]error{
	"malformed": packet.ErrMalformed,
	"too-large": packet.ErrTooLarge,
	"eof":       io.ErrUnexpectedEOF,
}

// Parse reads fixtures in the golden.txt format (described at the top of
// that file). Errors name the offending line.
func Parse(r io.Reader) ([]Fixture, error) {
	var fs []Fixture
	var cur *Fixture
	sc := bufio.NewScanner(r)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		var err error
		switch {
		case line == "" || strings.HasPrefix(line, "#"):
		case strings.HasPrefix(line, "== "):
			if cur != nil {
				return nil, fmt.Errorf("line %d: fixture %q has no => line", n, cur.Name)
			}
			cur = &Fixture{Line: n}
			err = parseTitle(cur, line[3:])
		case cur == nil:
			err = errors.New("bytes or result outside a fixture")
		case strings.HasPrefix(line, "=> "):
			err = parseResult(cur, line[3:])
			fs = append(fs, *cur)
			cur = nil
		default:
			err = parseHex(cur, line)
		}
		if err != nil {
			return nil, fmt.Errorf("line %d: %w", n, err)
		}
	}
	if cur != nil {
		return nil, fmt.Errorf("fixture %q at line %d has no => line", cur.Name, cur.Line)
	}
	return fs, sc.Err()
}

func parseTitle(f *Fixture, s string) error {
	fields := strings.Fields(s)
	if len(fields) == 0 {
		return errors.New("fixture without a name")
	}
	f.Name = fields[0]
	for _, kv := range fields[1:] {
		v, ok := strings.CutPrefix(kv, "maxsize=")
		n, err := strconv.Atoi(v)
		if !ok || err != nil || n <= 0 {
			return fmt.Errorf("bad option %q (want maxsize=N)", kv)
		}
		f.MaxSize = n
	}
	return nil
}

// parseHex appends the bytes of one hex line; "XX*N" repeats XX N times and
// everything after '#' is a comment.
func parseHex(f *Fixture, line string) error {
	line, _, _ = strings.Cut(line, "#")
	for _, tok := range strings.Fields(line) {
		h, rep, repeated := strings.Cut(tok, "*")
		count := 1
		if repeated {
			var err error
			if count, err = strconv.Atoi(rep); err != nil || count < 1 || count > 1<<20 {
				return fmt.Errorf("bad repeat count in %q", tok)
			}
		}
		b, err := hex.DecodeString(h)
		if err != nil || len(b) != 1 {
			return fmt.Errorf("bad hex byte %q", tok)
		}
		for range count {
			f.Bytes = append(f.Bytes, b[0])
		}
	}
	return nil
}

// parseResult parses "ok STRING" or "KIND SPEC @OFFSET".
func parseResult(f *Fixture, s string) error {
	if want, ok := strings.CutPrefix(s, "ok "); ok {
		f.Want = want
		return nil
	}
	fields := strings.Fields(s)
	if len(fields) != 3 || !strings.HasPrefix(fields[2], "@") {
		return fmt.Errorf("bad result %q (want `ok STRING` or `KIND SPEC @OFFSET`)", s)
	}
	kind, ok := kinds[fields[0]]
	if !ok {
		return fmt.Errorf("unknown error kind %q", fields[0])
	}
	off, err := strconv.Atoi(fields[2][1:])
	if err != nil {
		return fmt.Errorf("bad offset %q", fields[2])
	}
	f.Err, f.Offset = kind, off
	if fields[1] != "-" {
		f.SpecID = fields[1]
	}
	return nil
}
