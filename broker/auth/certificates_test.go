package auth

import (
	"testing"

	"github.com/sessionlab/sessionlab/broker/packet"
)

// TestCertificates: a vouched CONNECT is accepted as the certificate's
// identity whatever credentials it carries, once; any other goes to the
// wrapped password check; Forget drops a vouch the core never used; Owners
// passes vouches on.
func TestCertificates(t *testing.T) {
	p, err := LoadPasswords("testdata/passwd")
	if err != nil {
		t.Fatal(err)
	}
	c := NewCertificates(p)
	forged := login("alice", []byte("wrong"))
	if code, _ := c.Authenticate(forged); code != packet.RefusedBadUsernamePassword {
		t.Errorf("unvouched CONNECT with a wrong password: %#x, want 0x04 from the password file", code)
	}
	c.Vouch(forged, "device-1")
	if code, user := c.Authenticate(forged); code != packet.Accepted || user != "device-1" {
		t.Errorf("vouched CONNECT: %#x as %q, want accepted as device-1 (the certificate, not the claimed alice)", code, user)
	}
	if code, _ := c.Authenticate(forged); code != packet.RefusedBadUsernamePassword {
		t.Errorf("the same CONNECT again: %#x, want 0x04 (a vouch is used once)", code)
	}
	c.Vouch(forged, "device-1")
	c.Forget(forged)
	if code, _ := c.Authenticate(forged); code != packet.RefusedBadUsernamePassword {
		t.Errorf("after Forget: %#x, want 0x04", code)
	}
	if code, user := NewCertificates(nil).Authenticate(login("bob", nil)); code != packet.Accepted || user != "bob" {
		t.Errorf("without a password check: %#x as %q, want accepted as the claimed bob", code, user)
	}

	o := NewOwners(c)
	plain := login("x", nil)
	if !o.Vouch(plain, "device-2") {
		t.Fatal("Owners around Certificates did not take the vouch")
	}
	if _, user := o.Authenticate(plain); user != "device-2" {
		t.Errorf("through Owners: user %q, want device-2", user)
	}
	if NewOwners(p).Vouch(plain, "device-2") {
		t.Error("Owners around Passwords took a vouch it cannot honour")
	}
}
