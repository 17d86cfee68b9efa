package auth

import (
	"errors"
	"io/fs"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sessionlab/sessionlab/broker/packet"
)

// login builds a CONNECT carrying credentials; a nil password means no
// password flag.
func login(user string, password []byte) *packet.Connect {
	return &packet.Connect{
		ProtocolName: "MQTT", ProtocolLevel: 4, ClientID: "dev",
		UsernameFlag: true, Username: user,
		PasswordFlag: password != nil, Password: password,
	}
}

func TestPasswordsAuthenticate(t *testing.T) {
	p, err := LoadPasswords("testdata/passwd")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name     string
		connect  *packet.Connect
		wantCode packet.ReturnCode
		wantUser string
	}{
		{"pbkdf2 right password", login("alice", []byte("secret")), packet.Accepted, "alice"},
		{"pbkdf2 second user", login("bob", []byte("hunter2")), packet.Accepted, "bob"},
		{"sha512 right password", login("carol", []byte("pa:ss word")), packet.Accepted, "carol"},
		{"pbkdf2 wrong password", login("alice", []byte("Secret")), packet.RefusedBadUsernamePassword, ""},
		{"sha512 wrong password", login("carol", []byte("pa:ss")), packet.RefusedBadUsernamePassword, ""},
		{"other user's password", login("alice", []byte("hunter2")), packet.RefusedBadUsernamePassword, ""},
		{"unknown user", login("mallory", []byte("secret")), packet.RefusedBadUsernamePassword, ""},
		{"no password", login("alice", nil), packet.RefusedBadUsernamePassword, ""},
		{"empty password", login("alice", []byte{}), packet.RefusedBadUsernamePassword, ""},
		{"anonymous", &packet.Connect{ClientID: "dev"}, packet.RefusedNotAuthorized, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			gotCode, gotUser := p.Authenticate(tt.connect)
			if gotCode != tt.wantCode || gotUser != tt.wantUser {
				t.Errorf("Authenticate = %#x %q, want %#x %q", gotCode, gotUser, tt.wantCode, tt.wantUser)
			}
		})
	}
}

func TestPasswordsAllowAnonymous(t *testing.T) {
	p, err := LoadPasswords("testdata/passwd")
	if err != nil {
		t.Fatal(err)
	}
	p.AllowAnonymous = true
	if code, user := p.Authenticate(&packet.Connect{ClientID: "dev"}); code != packet.Accepted || user != "" {
		t.Errorf("anonymous = %#x %q, want accepted as \"\"", code, user)
	}
	if code, _ := p.Authenticate(login("alice", []byte("wrong"))); code != packet.RefusedBadUsernamePassword {
		t.Errorf("wrong password with anonymous allowed = %#x, want 0x04", code)
	}
}

// TestPasswordsPrepare: a verdict prepared ahead of time is the one
// Authenticate returns, used once; Forget drops it.
func TestPasswordsPrepare(t *testing.T) {
	p, err := LoadPasswords("testdata/passwd")
	if err != nil {
		t.Fatal(err)
	}
	c := login("alice", []byte("secret"))
	p.Prepare(c)
	c.Password = []byte("changed after Prepare") // shows whether the kept verdict is used
	if code, user := p.Authenticate(c); code != packet.Accepted || user != "alice" {
		t.Errorf("Authenticate after Prepare = %#x %q, want the prepared acceptance", code, user)
	}
	if code, _ := p.Authenticate(c); code != packet.RefusedBadUsernamePassword {
		t.Errorf("second Authenticate = %#x, want 0x04 computed afresh (a verdict is used once)", code)
	}
	p.Prepare(c)
	p.Forget(c)
	c.Password = []byte("secret")
	if code, _ := p.Authenticate(c); code != packet.Accepted {
		t.Errorf("Authenticate after Forget = %#x, want accepted, computed afresh", code)
	}
	o := NewOwners(p)
	bad := login("alice", []byte("wrong"))
	o.Prepare(bad)
	if code, _ := o.Authenticate(bad); code != packet.RefusedBadUsernamePassword {
		t.Errorf("Owners after Prepare = %#x, want 0x04", code)
	}
}

// TestPasswordsMosquittoPasswd hashes fresh passwords with Debian's
// mosquitto_passwd, in both of its formats, and checks that they verify.
func TestPasswordsMosquittoPasswd(t *testing.T) {
	bin, err := exec.LookPath("mosquitto_passwd")
	if err != nil {
		t.Skip("mosquitto_passwd not installed (apt-get install mosquitto); testdata/passwd covers its output")
	}
	path := filepath.Join(t.TempDir(), "passwd")
	users := []struct{ user, password, hash string }{
		{"u-pbkdf2", "correct horse", "sha512-pbkdf2"},
		{"u-sha512", "battery staple", "sha512"},
	}
	for i, u := range users {
		args := []string{"-H", u.hash, "-b", path, u.user, u.password}
		if i == 0 {
			args = append([]string{"-c"}, args...)
		}
		if out, err := exec.Command(bin, args...).CombinedOutput(); err != nil {
			t.Fatalf("mosquitto_passwd %v: %v\n%s", args, err, out)
		}
	}
	p, err := LoadPasswords(path)
	if err != nil {
		t.Fatal(err)
	}
	for _, u := range users {
		if code, user := p.Authenticate(login(u.user, []byte(u.password))); code != packet.Accepted || user != u.user {
			t.Errorf("%s: Authenticate = %#x %q, want accepted", u.user, code, user)
		}
		if code, _ := p.Authenticate(login(u.user, []byte(u.password+"x"))); code != packet.RefusedBadUsernamePassword {
			t.Errorf("%s with wrong password: Authenticate = %#x, want 0x04", u.user, code)
		}
	}
}

func TestParsePasswordsErrors(t *testing.T) {
	const hash = "1VaEESOaBU2sFTy5z9x7zrklJNWo+VJRrvBxRDF0vzjKUiCaPexMOdRasOBtjVycNY7kS/pwfrDsjYQ3Po/EDg=="
	tests := []struct {
		name, file, wantErr string
	}{
		{"no colon", "alice\n", "line 1: want user:hash"},
		{"empty user", ":$6$c2FsdA==$" + hash + "\n", "line 1: want user:hash"},
		{"plain text", "# c\n\nalice:secret\n", "line 3: user \"alice\": want $6$"},
		{"unknown scheme", "alice:$5$c2FsdA==$" + hash + "\n", "want $6$"},
		{"bad iterations", "alice:$7$zero$c2FsdA==$" + hash + "\n", "iterations \"zero\""},
		{"zero iterations", "alice:$7$0$c2FsdA==$" + hash + "\n", "iterations \"0\""},
		{"huge iterations", "alice:$7$1000000000$c2FsdA==$" + hash + "\n", "not in 1..1000000"},
		{"bad salt", "alice:$6$!!$" + hash + "\n", "salt"},
		{"short hash", "alice:$6$c2FsdA==$c2FsdA==\n", "hash is not 64 bytes"},
		{"duplicate", "alice:$6$c2FsdA==$" + hash + "\nalice:$6$c2FsdA==$" + hash + "\n", "line 2: user \"alice\" listed twice"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParsePasswords(strings.NewReader(tt.file))
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("ParsePasswords error = %v, want it to contain %q", err, tt.wantErr)
			}
		})
	}
}

func TestLoadPasswordsMissingFile(t *testing.T) {
	_, err := LoadPasswords(filepath.Join(t.TempDir(), "none"))
	if !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("LoadPasswords(missing) = %v, want a not-exist error", err)
	}
}

// BenchmarkAuthenticate measures one CONNECT's password check; the core makes
// it on the server's owner goroutine, so it bounds the CONNECT rate.
func BenchmarkAuthenticate(b *testing.B) {
	p, err := LoadPasswords("testdata/passwd")
	if err != nil {
		b.Fatal(err)
	}
	for _, bc := range []struct{ name, user, password string }{
		{"pbkdf2-101", "alice", "secret"},
		{"sha512", "carol", "pa:ss word"},
	} {
		b.Run(bc.name, func(b *testing.B) {
			c := login(bc.user, []byte(bc.password))
			for range b.N {
				if code, _ := p.Authenticate(c); code != packet.Accepted {
					b.Fatal(code)
				}
			}
		})
	}
}
