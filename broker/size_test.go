package broker

import (
	"testing"
	"unsafe"
)

// TestSessionSize keeps the session struct, which every idle persistent
// session holds, within its 208-byte size class on 64-bit platforms (order
// its fields to avoid padding; see session).
func TestSessionSize(t *testing.T) {
	if size := unsafe.Sizeof(session{}); unsafe.Sizeof(uintptr(0)) == 8 && size > 208 {
		t.Errorf("session is %d bytes, want at most 208", size)
	}
}
