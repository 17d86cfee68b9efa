package auth

import (
	"github.com/sessionlab/sessionlab/broker"
	"github.com/sessionlab/sessionlab/broker/packet"
)

// Owners binds every session to the user that created it, so that with
// passwords on a connection may resume, clean or take over a session only as
// the user that owns it; any other user is refused with 0x05 (not
// authorised). MQTT 3.1.1 leaves this to the server ("the Server MAY ...
// authorize", section 5.4.2); Mosquitto does not check it.
//
// Owners wraps the Authenticator that checks credentials and learns about
// sessions from the core's events: a session is bound on EvSessionCreated and
// EvConnected to the user of the CONNECT being handled, and released on
// EvSessionDiscarded and EvSessionExpired. (Binding on EvConnected too keeps
// the binding right whichever order the core reports a clean takeover's
// discard and creation in.) The driver installs Owners as broker.Config.Auth and
// passes every event to Observe. Owners is not safe for concurrent use: it
// belongs to the goroutine that steps the broker, which is where the core
// calls Authenticate.
type Owners struct {
	auth  broker.Authenticator
	owner map[string]string // ClientId -> user
	last  string            // user of the latest accepted CONNECT
}

// NewOwners returns an Owners that checks credentials with auth.
func NewOwners(auth broker.Authenticator) *Owners {
	return &Owners{auth: auth, owner: map[string]string{}}
}

// Authenticate implements broker.Authenticator: the wrapped verdict, turned
// into 0x05 when the ClientId's session belongs to another user.
func (o *Owners) Authenticate(c *packet.Connect) (packet.ReturnCode, string) {
	code, user := o.auth.Authenticate(c)
	if code != packet.Accepted {
		return code, user
	}
	if owner, ok := o.owner[c.ClientID]; ok && owner != user {
		return packet.RefusedNotAuthorized, user
	}
	o.last = user
	return code, user
}

// Observe updates the bindings from the events of one step of the broker.
// The core creates a session only while handling the CONNECT it has just
// authenticated, so the session belongs to the latest accepted user, also
// when the core assigned the ClientId itself [MQTT-3.1.3-6].
func (o *Owners) Observe(rec *broker.Record) {
	for ev := range rec.Events() {
		switch ev.Kind {
		case broker.EvSessionCreated, broker.EvConnected:
			o.owner[ev.ClientID] = o.last
		case broker.EvSessionDiscarded, broker.EvSessionExpired:
			delete(o.owner, ev.ClientID)
		}
	}
}

// preparer is an Authenticator that can check credentials ahead of time
// (Passwords).
type preparer interface {
	Prepare(c *packet.Connect)
	Forget(c *packet.Connect)
}

// Prepare lets the wrapped Authenticator check c's credentials ahead of
// Authenticate, if it can (see Passwords.Prepare). It is safe to call from
// any goroutine: it does not touch the bindings.
func (o *Owners) Prepare(c *packet.Connect) {
	if p, ok := o.auth.(preparer); ok {
		p.Prepare(c)
	}
}

// Forget drops what Prepare kept for c, if anything.
func (o *Owners) Forget(c *packet.Connect) {
	if p, ok := o.auth.(preparer); ok {
		p.Forget(c)
	}
}

// Vouch passes a certificate's identity for c on to the wrapped
// Authenticator if it takes one (Certificates): the session then belongs to
// that identity. It reports whether it did.
func (o *Owners) Vouch(c *packet.Connect, user string) bool {
	if v, ok := o.auth.(interface {
		Vouch(*packet.Connect, string) bool
	}); ok {
		return v.Vouch(c, user)
	}
	return false
}

// Owner returns the user that owns clientID's session, and false when no
// session is bound.
func (o *Owners) Owner(clientID string) (string, bool) {
	user, ok := o.owner[clientID]
	return user, ok
}

// Anyone is the broker.Authenticator used when there is an ACL but no
// password file: it accepts every CONNECT as the user name it claims, as
// Mosquitto applies acl_file "user" sections to unauthenticated user names
// when no password_file is set (mosquitto.conf(5), acl_file).
type Anyone struct{}

// Authenticate implements broker.Authenticator.
func (Anyone) Authenticate(c *packet.Connect) (packet.ReturnCode, string) {
	if !c.UsernameFlag {
		return packet.Accepted, ""
	}
	return packet.Accepted, c.Username
}

// Bind binds clientID's session to user, as for a session the driver
// restored from a store at boot (which no event announces).
func (o *Owners) Bind(clientID, user string) { o.owner[clientID] = user }
