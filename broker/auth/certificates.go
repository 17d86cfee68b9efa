package auth

import (
	"sync"

	"github.com/sessionlab/sessionlab/broker"
	"github.com/sessionlab/sessionlab/broker/packet"
)

// Certificates is the broker.Authenticator of a server whose clients may
// prove who they are with a TLS client certificate. The TLS adapter vouches
// for a CONNECT that arrived on a connection with a verified certificate,
// naming the certificate's identity (broker/tcp uses the subject common
// name); Authenticate accepts that CONNECT as that user, whatever user name
// and password it carries, as Mosquitto's use_identity_as_username does
// (mosquitto.conf(5)). Every other CONNECT is decided by the wrapped
// Authenticator; with none, it is accepted as the user name it claims, as
// the core does without an Authenticator.
//
// Wrap it in Owners so that a device can only resume or take over a session
// its certificate's identity owns. Vouch and Forget are safe for concurrent
// use; Authenticate belongs to the goroutine that steps the broker.
type Certificates struct {
	auth    broker.Authenticator
	vouched sync.Map // *packet.Connect -> identity
}

// NewCertificates returns a Certificates that decides CONNECTs without a
// certificate with auth (nil: accept the claimed user name).
func NewCertificates(auth broker.Authenticator) *Certificates {
	return &Certificates{auth: auth}
}

// Vouch records that c arrived on a connection whose verified client
// certificate names user, and reports true. Authenticate or Forget drops
// the record.
func (a *Certificates) Vouch(c *packet.Connect, user string) bool {
	a.vouched.Store(c, user)
	return true
}

// Authenticate implements broker.Authenticator.
func (a *Certificates) Authenticate(c *packet.Connect) (packet.ReturnCode, string) {
	if user, ok := a.vouched.LoadAndDelete(c); ok {
		return packet.Accepted, user.(string)
	}
	if a.auth == nil {
		return packet.Accepted, c.Username
	}
	return a.auth.Authenticate(c)
}

// Prepare lets the wrapped Authenticator check c's credentials ahead of
// time, unless a certificate vouches for c.
func (a *Certificates) Prepare(c *packet.Connect) {
	if _, ok := a.vouched.Load(c); ok {
		return
	}
	if p, ok := a.auth.(preparer); ok {
		p.Prepare(c)
	}
}

// Forget drops what Vouch and Prepare kept for c, if anything (the core
// refused c without authenticating it).
func (a *Certificates) Forget(c *packet.Connect) {
	a.vouched.Delete(c)
	if p, ok := a.auth.(preparer); ok {
		p.Forget(c)
	}
}
