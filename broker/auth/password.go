package auth

import (
	"bufio"
	"crypto/pbkdf2"
	"crypto/sha512"
	"crypto/subtle"
	"encoding/base64"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"sync"

	"github.com/sessionlab/sessionlab/broker/packet"
)

// maxIterations bounds the PBKDF2 iteration count accepted from a password
// file, so that a typo cannot make every CONNECT cost seconds. mosquitto_passwd
// writes 101 (Mosquitto 2.0 src/password_mosq.h PW_DEFAULT_ITERATIONS).
const maxIterations = 1_000_000

// hashKind names how a password entry is hashed.
type hashKind uint8

const (
	// hashSHA512 is "$6$salt$hash": hash = SHA-512(password || salt), the
	// format of Mosquitto 1.6 and earlier (mosquitto_passwd -H sha512).
	hashSHA512 hashKind = 6
	// hashPBKDF2 is "$7$iterations$salt$hash": PBKDF2-HMAC-SHA512 with a
	// 64-byte key, the default of Mosquitto 2.0 (mosquitto_passwd -H sha512-pbkdf2).
	hashPBKDF2 hashKind = 7
)

// credential is one user's line of a password file.
type credential struct {
	kind       hashKind
	iterations int
	salt       []byte
	hash       []byte
}

// Passwords is a broker.Authenticator backed by a Mosquitto password file.
// A CONNECT with a known user name and the right password is accepted as that
// user. A wrong password or an unknown user is refused with 0x04 (bad user
// name or password); a CONNECT without a user name is refused with 0x05 (not
// authorised) unless AllowAnonymous is set, in which case it is accepted as the
// anonymous user "" (mosquitto.conf(5) allow_anonymous). It is safe for
// concurrent use: the users never change after parsing.
type Passwords struct {
	// AllowAnonymous accepts CONNECTs without a user name.
	AllowAnonymous bool

	users    map[string]credential
	decoy    credential // verified for unknown users so they cost the same time
	prepared sync.Map   // *packet.Connect -> verdict, see Prepare
}

// LoadPasswords reads the password file at path.
func LoadPasswords(path string) (*Passwords, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("auth: password file: %w", err)
	}
	defer f.Close()
	p, err := ParsePasswords(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return p, nil
}

// ParsePasswords parses a password file: one "user:$7$iterations$salt$hash" or
// "user:$6$salt$hash" per line, salt and hash in standard base64. Blank lines
// and lines starting with '#' are ignored. An error names the line number and
// what is wrong; plain-text passwords (not yet converted with
// mosquitto_passwd -U) are rejected.
func ParsePasswords(r io.Reader) (*Passwords, error) {
	p := &Passwords{users: map[string]credential{}}
	sc := bufio.NewScanner(r)
	for line := 1; sc.Scan(); line++ {
		text := strings.TrimRight(sc.Text(), "\r")
		if strings.TrimSpace(text) == "" || strings.HasPrefix(text, "#") {
			continue
		}
		user, encoded, ok := strings.Cut(text, ":")
		if !ok || user == "" {
			return nil, fmt.Errorf("line %d: want user:hash", line)
		}
		c, err := parseCredential(encoded)
		if err != nil {
			return nil, fmt.Errorf("line %d: user %q: %w", line, user, err)
		}
		if _, dup := p.users[user]; dup {
			return nil, fmt.Errorf("line %d: user %q listed twice", line, user)
		}
		p.users[user] = c
		p.decoy = c
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("auth: reading password file: %w", err)
	}
	return p, nil
}

// parseCredential parses the part after "user:".
func parseCredential(s string) (credential, error) {
	fields := strings.Split(s, "$")
	switch {
	case len(fields) == 4 && fields[0] == "" && fields[1] == "6":
		return decodeCredential(hashSHA512, 0, fields[2], fields[3])
	case len(fields) == 5 && fields[0] == "" && fields[1] == "7":
		n, err := strconv.Atoi(fields[2])
		if err != nil || n < 1 || n > maxIterations {
			return credential{}, fmt.Errorf("iterations %q not in 1..%d", fields[2], maxIterations)
		}
		return decodeCredential(hashPBKDF2, n, fields[3], fields[4])
	}
	return credential{}, fmt.Errorf("want $6$salt$hash or $7$iterations$salt$hash (plain-text passwords must be hashed with mosquitto_passwd -U)")
}

// decodeCredential decodes the base64 salt and hash of one entry.
func decodeCredential(kind hashKind, iterations int, salt, hash string) (credential, error) {
	c := credential{kind: kind, iterations: iterations}
	var err error
	if c.salt, err = base64.StdEncoding.DecodeString(salt); err != nil || len(c.salt) == 0 {
		return credential{}, fmt.Errorf("salt is not non-empty base64")
	}
	if c.hash, err = base64.StdEncoding.DecodeString(hash); err != nil || len(c.hash) != sha512.Size {
		return credential{}, fmt.Errorf("hash is not %d bytes of base64", sha512.Size)
	}
	return c, nil
}

// verdict is the outcome of checking one CONNECT's credentials.
type verdict struct {
	code packet.ReturnCode
	user string
}

// Prepare checks c's credentials ahead of Authenticate and keeps the verdict
// for it. A server calls it on the goroutine that decoded c, so that the
// costly hashing (about 55 µs for mosquitto_passwd's PBKDF2 with 101
// iterations) runs in parallel instead of on the goroutine that steps the
// broker; the verdict is the one Authenticate would compute.
func (p *Passwords) Prepare(c *packet.Connect) {
	code, user := p.check(c)
	p.prepared.Store(c, verdict{code, user})
}

// Forget drops a verdict Prepare kept for c that Authenticate did not use
// (the core refused c before asking). It is safe to call in any case.
func (p *Passwords) Forget(c *packet.Connect) { p.prepared.Delete(c) }

// Pending returns the number of verdicts kept by Prepare and neither used
// nor forgotten: zero between CONNECTs when the server calls Forget.
func (p *Passwords) Pending() int {
	n := 0
	p.prepared.Range(func(any, any) bool { n++; return true })
	return n
}

// Authenticate implements broker.Authenticator: it returns packet.Accepted and
// the user name, or the refusal code described on Passwords.
func (p *Passwords) Authenticate(c *packet.Connect) (packet.ReturnCode, string) {
	if v, ok := p.prepared.LoadAndDelete(c); ok {
		v := v.(verdict)
		return v.code, v.user
	}
	return p.check(c)
}

// check decides c's credentials.
func (p *Passwords) check(c *packet.Connect) (packet.ReturnCode, string) {
	if !c.UsernameFlag {
		if p.AllowAnonymous {
			return packet.Accepted, ""
		}
		return packet.RefusedNotAuthorized, ""
	}
	cred, known := p.users[c.Username]
	if !c.PasswordFlag {
		// Mosquitto refuses a known user who sends no password
		// (src/security_default.c, unpwd__check).
		return packet.RefusedBadUsernamePassword, ""
	}
	if !known {
		cred = p.decoy
	}
	if !cred.verify(c.Password) || !known {
		return packet.RefusedBadUsernamePassword, ""
	}
	return packet.Accepted, c.Username
}

// Users returns the number of users in the file.
func (p *Passwords) Users() int { return len(p.users) }

// verify reports whether password hashes to c.hash, in constant time with
// respect to the hash's contents. An empty credential verifies nothing.
func (c credential) verify(password []byte) bool {
	var got []byte
	switch c.kind {
	case hashSHA512:
		h := sha512.New()
		h.Write(password)
		h.Write(c.salt)
		got = h.Sum(nil)
	case hashPBKDF2:
		var err error
		got, err = pbkdf2.Key(sha512.New, string(password), c.salt, c.iterations, sha512.Size)
		if err != nil {
			return false
		}
	default:
		return false
	}
	return subtle.ConstantTimeCompare(got, c.hash) == 1
}
