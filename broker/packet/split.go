package packet

import "bufio"

// Frame finds the first whole packet in data, in the shape of a
// bufio.SplitFunc. It returns (0, nil, nil) while more bytes are needed, and
// (n, data[:n], nil) once the n bytes of a packet are present; the token
// aliases data. It fails at once, without waiting for the body, on a
// reserved type or bad fixed-header flags (first byte), a remaining length
// continuing past 4 bytes or one making the packet larger than maxSize
// (0 means MaxPacketSize). At EOF inside a packet it fails with an *Error
// of Kind io.ErrUnexpectedEOF. Frame checks only the fixed header; decode
// the token with Decode or DecodePublish.
func Frame(data []byte, atEOF bool, maxSize int) (advance int, token []byte, err error) {
	h, err := parseHeader(data, maxSize)
	if err != nil {
		return 0, nil, err
	}
	if h.size == 0 || len(data) < h.total() {
		if atEOF && len(data) > 0 {
			want := h.total()
			if h.size == 0 {
				want = len(data) + 1
			}
			return 0, nil, truncated(Type(data[0]>>4), len(data), want)
		}
		return 0, nil, nil
	}
	return h.total(), data[:h.total()], nil
}

// Size returns the size in bytes of the whole packet whose fixed header
// starts data, and false while the header is incomplete or invalid. A
// reader that holds part of a packet learns from it how much the rest will
// take before it arrives (Frame has checked it against the maximum size).
func Size(data []byte) (int, bool) {
	h, err := parseHeader(data, 0)
	if err != nil || h.size == 0 {
		return 0, false
	}
	return h.total(), true
}

// Split returns a bufio.SplitFunc that frames MQTT packets with Frame and
// the given maximum packet size. A bufio.Scanner's buffer must be able to
// hold maxSize bytes: call scanner.Buffer(buf, maxSize) (the default limit
// is bufio.MaxScanTokenSize, 64 KiB).
func Split(maxSize int) bufio.SplitFunc {
	return func(data []byte, atEOF bool) (int, []byte, error) {
		return Frame(data, atEOF, maxSize)
	}
}
