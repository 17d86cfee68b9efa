package packet_test

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/sessionlab/sessionlab/broker/packet"
	"github.com/sessionlab/sessionlab/broker/packet/packettest"
)

var updateCorpus = flag.Bool("update-corpus", false, "rewrite testdata/fuzz seed corpora from the golden fixtures")

// FuzzDecode checks that Decode never panics, that whatever it accepts
// re-encodes to the identical bytes (the decoder rejects non-minimal
// remaining lengths, so encoding is canonical), that it agrees with Frame,
// DecodePublish and the size limit, and that its errors are well-formed.
func FuzzDecode(f *testing.F) {
	f.Fuzz(func(t *testing.T, data []byte) {
		p, n, err := packet.Decode(data, 0)
		checkFrameAgrees(t, data, n, err)
		if err != nil {
			checkError(t, err, len(data))
			return
		}
		if got := p.Append(nil); !bytes.Equal(got, data[:n]) {
			t.Fatalf("%v re-encodes to % x, decoded from % x", p, got, data[:n])
		}
		if s := p.String(); strings.ContainsAny(s, "\n\r") {
			t.Fatalf("String() is not one line: %q", s)
		}
		if _, _, err := packet.Decode(data, n); err != nil {
			t.Fatalf("Decode with maxSize %d (the packet's size): %v", n, err)
		}
		if _, _, err := packet.Decode(data, n-1); !errors.Is(err, packet.ErrTooLarge) {
			t.Fatalf("Decode with maxSize %d: got %v, want ErrTooLarge", n-1, err)
		}
		if pub, ok := p.(*packet.Publish); ok {
			var got packet.Publish
			if err := packet.DecodePublish(data[0], packet.Body(data[:n]), &got); err != nil || got.String() != pub.String() {
				t.Fatalf("DecodePublish = %v, %v; Decode gave %v", &got, err, pub)
			}
		}
	})
}

// checkFrameAgrees checks that Frame at EOF finds the same packet boundary
// as Decode, or fails the same way.
func checkFrameAgrees(t *testing.T, data []byte, n int, decodeErr error) {
	t.Helper()
	adv, _, err := packet.Frame(data, true, 0)
	switch {
	case err != nil && (decodeErr == nil || err.Error() != decodeErr.Error()):
		t.Fatalf("Frame error %v, Decode error %v", err, decodeErr)
	case err == nil && len(data) > 0 && adv == 0:
		t.Fatalf("Frame at EOF asks for more bytes")
	case decodeErr == nil && adv != n:
		t.Fatalf("Frame advanced %d, Decode consumed %d", adv, n)
	}
}

// checkError checks an error is an *Error of a known kind, pointing inside
// the input, with a one-line message.
func checkError(t *testing.T, err error, size int) {
	t.Helper()
	var e *packet.Error
	if !errors.As(err, &e) {
		t.Fatalf("error %v (%T) is not a *packet.Error", err, err)
	}
	if e.Kind != packet.ErrMalformed && e.Kind != packet.ErrTooLarge && e.Kind != io.ErrUnexpectedEOF {
		t.Fatalf("error %v has unknown kind %v", err, e.Kind)
	}
	if e.Offset < 0 || e.Offset > size {
		t.Fatalf("error %v: offset %d outside the %d input bytes", err, e.Offset, size)
	}
	if strings.ContainsAny(e.Error(), "\n\r") {
		t.Fatalf("error message is not one line: %q", e.Error())
	}
}

// FuzzSplit checks that a bufio.Scanner using Split, reading one byte at a
// time, yields the same packets and the same error as framing the whole
// input at once with Frame, and that every framed packet that decodes
// re-encodes to the same bytes. maxSize 0 means MaxPacketSize.
func FuzzSplit(f *testing.F) {
	f.Fuzz(func(t *testing.T, data []byte, maxSize uint16) {
		wantTokens, wantErr := frameAll(data, int(maxSize))
		tokens, err := scan(iotest.OneByteReader(bytes.NewReader(data)), int(maxSize))
		if fmt.Sprint(err) != fmt.Sprint(wantErr) {
			t.Fatalf("scanner error %v, Frame error %v", err, wantErr)
		}
		if len(tokens) != len(wantTokens) {
			t.Fatalf("scanner framed %d packets, Frame %d", len(tokens), len(wantTokens))
		}
		for i, tok := range tokens {
			if !bytes.Equal(tok, wantTokens[i]) {
				t.Fatalf("packet %d: scanner % x, Frame % x", i, tok, wantTokens[i])
			}
			if p, n, err := packet.Decode(tok, int(maxSize)); err == nil && !bytes.Equal(p.Append(nil), tok[:n]) {
				t.Fatalf("packet %d: %v re-encodes to % x, framed % x", i, p, p.Append(nil), tok)
			}
		}
	})
}

// frameAll frames data with Frame as a scanner would at EOF.
func frameAll(data []byte, maxSize int) ([][]byte, error) {
	var tokens [][]byte
	for len(data) > 0 {
		adv, tok, err := packet.Frame(data, true, maxSize)
		if err != nil {
			return tokens, err
		}
		tokens = append(tokens, tok)
		data = data[adv:]
	}
	return tokens, nil
}

// TestWriteFuzzCorpus rewrites the committed seed corpora of FuzzDecode and
// FuzzSplit from the golden fixtures: go test -run WriteFuzzCorpus -update-corpus.
func TestWriteFuzzCorpus(t *testing.T) {
	if !*updateCorpus {
		t.Skip("run with -update-corpus to rewrite testdata/fuzz")
	}
	var stream []byte
	for _, f := range packettest.Golden() {
		writeSeed(t, "FuzzDecode", f.Name, fmt.Sprintf("[]byte(%q)", f.Bytes))
		writeSeed(t, "FuzzSplit", f.Name, fmt.Sprintf("[]byte(%q)\nuint16(%d)", f.Bytes, f.MaxSize))
		if f.OK() {
			stream = append(stream, f.Bytes...)
		}
	}
	writeSeed(t, "FuzzSplit", "all-valid-stream", fmt.Sprintf("[]byte(%q)\nuint16(0)", stream))
}

func writeSeed(t *testing.T, target, name, values string) {
	t.Helper()
	dir := filepath.Join("testdata", "fuzz", target)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	body := "go test fuzz v1\n" + values + "\n"
	if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
}
