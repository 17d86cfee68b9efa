package tcp

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"os"
	"strings"
	"sync/atomic"

	"github.com/sessionlab/sessionlab/broker/packet"
)

// TLS is a TLS listener's configuration: the server's certificate and key
// and, for mutual TLS, the CAs whose client certificates are accepted. Load
// it with LoadTLS, serve it with Server.ServeTLS, and call Reload to read
// the files again: new handshakes use the new certificates, connections
// already open keep theirs.
//
// With client CAs, every client must present a certificate that one of them
// signed, that is valid now and that names a subject common name (CN). The
// CN is the client's identity: its CONNECT is accepted as that user (see
// Voucher), as Mosquitto's use_identity_as_username does, so the ACL's user
// sections and session ownership (auth.Owners) apply to it. The subject
// alternative names are not used for clients.
type TLS struct {
	certFile, keyFile, clientCAFile string
	cur                             atomic.Pointer[tls.Config]
	outer                           *tls.Config // hands out cur on every handshake
}

// LoadTLS reads a PEM certificate (chain) and key, and, unless clientCAFile
// is empty, the PEM certificates of the CAs that sign client certificates.
// Errors name the file.
func LoadTLS(certFile, keyFile, clientCAFile string) (*TLS, error) {
	t := &TLS{certFile: certFile, keyFile: keyFile, clientCAFile: clientCAFile}
	if err := t.Reload(); err != nil {
		return nil, err
	}
	t.outer = &tls.Config{GetConfigForClient: func(*tls.ClientHelloInfo) (*tls.Config, error) {
		return t.cur.Load(), nil
	}}
	return t, nil
}

// Reload reads the files again. On error the previous certificates stay in
// use. It is safe to call while serving.
func (t *TLS) Reload() error {
	cert, err := tls.LoadX509KeyPair(t.certFile, t.keyFile)
	if err != nil {
		return fmt.Errorf("tls: certificate %s, key %s: %w", t.certFile, t.keyFile, err)
	}
	cfg := &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	if t.clientCAFile != "" {
		pem, err := os.ReadFile(t.clientCAFile)
		if err != nil {
			return fmt.Errorf("tls: client CA file: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return fmt.Errorf("tls: client CA file %s: no PEM certificate in it", t.clientCAFile)
		}
		cfg.ClientCAs, cfg.ClientAuth = pool, tls.RequireAndVerifyClientCert
		cfg.VerifyConnection = func(cs tls.ConnectionState) error {
			if identity(cs) == "" {
				return errNoCommonName
			}
			return nil
		}
	}
	t.cur.Store(cfg)
	return nil
}

// Mutual reports whether clients must present a certificate.
func (t *TLS) Mutual() bool { return t.cur.Load().ClientCAs != nil }

// server wraps an accepted connection in TLS; the handshake runs on the
// connection's reader (see conn.handshake).
func (t *TLS) server(nc net.Conn) net.Conn { return tls.Server(nc, t.outer) }

// errNoCommonName refuses a client certificate without an identity.
var errNoCommonName = errors.New("tls: client certificate has no subject common name (CN), the identity sessionlab uses as the user")

// identity is the subject common name of the client's verified
// certificate, or "" when it presented none.
func identity(cs tls.ConnectionState) string {
	if len(cs.VerifiedChains) == 0 || len(cs.VerifiedChains[0]) == 0 {
		return ""
	}
	return cs.VerifiedChains[0][0].Subject.CommonName
}

// Voucher is implemented by an Authenticator that accepts a CONNECT on the
// strength of its connection's client certificate (auth.Certificates, and
// auth.Owners around one). ServeTLS with client CAs needs
// Config.Broker.Auth to be one: the reader vouches for every CONNECT that
// arrives on a connection with a verified certificate, before the core
// authenticates it.
//
// Vouch reports whether it took the identity; when it did not (an
// auth.Owners around something else), the CONNECT is authenticated as on a
// plain connection and the reader logs an error.
type Voucher interface {
	Vouch(c *packet.Connect, user string) bool
}

// ServeTLS accepts MQTT connections over TLS on ln until Close, like Serve;
// both may run at once on different listeners. With client CAs
// (t.Mutual()), Config.Broker.Auth must be a Voucher.
func (s *Server) ServeTLS(ln net.Listener, t *TLS) error {
	if _, ok := s.cfg.Broker.Auth.(Voucher); t.Mutual() && !ok {
		ln.Close()
		return errors.New("tcp: ServeTLS with client CAs needs Config.Broker.Auth to be a Voucher (auth.Certificates)")
	}
	return s.serve(ln, t)
}

// handshake completes the TLS handshake of a TLS connection within the
// connect timeout. A refused handshake is logged with the reason and
// counted; the caller then closes the connection, which the core never
// hears of. A plain connection needs none.
func (c *conn) handshake() bool {
	if c.nc == nil {
		return true // a bare descriptor: plain TCP
	}
	tc, ok := c.nc.Conn.(*tls.Conn)
	if !ok {
		return true
	}
	ctx, cancel := context.WithTimeout(context.Background(), c.s.cfg.ConnectTimeout)
	defer cancel()
	err := tc.HandshakeContext(ctx)
	if err == nil {
		return true
	}
	reason := handshakeFailure(err)
	if m := c.s.cfg.Metrics; m != nil {
		m.tlsRefused.WithLabelValues(reason).Inc()
	}
	c.s.cfg.Logger.Warn("TLS handshake refused", "remote", c.remote(), "reason", reason, "err", err)
	return false
}

// Reasons a TLS handshake was refused, as logs and the
// sessionlab_tls_handshake_failures_total metric name them.
const (
	tlsExpired         = "certificate-expired"   // the client's certificate is outside its validity period
	tlsUnknownCA       = "unknown-authority"     // not signed by a CA of --client-ca
	tlsNoCommonName    = "no-common-name"        // no subject CN to take as the user
	tlsNoCertificate   = "no-client-certificate" // mutual TLS, but the client sent none
	tlsBadCertificate  = "bad-certificate"       // any other reason the client's certificate fails
	tlsRefusedByClient = "refused-by-client"     // the client refused ours (e.g. a wrong name)
	tlsTimeout         = "timeout"               // no complete handshake within the connect timeout
	tlsOther           = "handshake-error"       // not TLS, or a broken handshake
)

// handshakeFailure classifies a server-side handshake error.
func handshakeFailure(err error) string {
	var invalid x509.CertificateInvalidError
	var unknown x509.UnknownAuthorityError
	var verify *tls.CertificateVerificationError
	var op *net.OpError
	switch {
	case errors.As(err, &invalid) && invalid.Reason == x509.Expired:
		return tlsExpired
	case errors.As(err, &unknown):
		return tlsUnknownCA
	case errors.Is(err, errNoCommonName):
		return tlsNoCommonName
	case errors.As(err, &verify) || errors.As(err, &invalid):
		return tlsBadCertificate
	case errors.As(err, &op) && op.Op == "remote error":
		return tlsRefusedByClient
	case errors.Is(err, context.DeadlineExceeded) || isTimeout(err):
		return tlsTimeout
	case strings.Contains(err.Error(), "didn't provide a certificate"):
		return tlsNoCertificate
	}
	return tlsOther
}

// clientIdentity is the identity of c's verified client certificate, or ""
// for a plain connection or one without a client certificate.
func (c *conn) clientIdentity() string {
	if c.nc == nil {
		return ""
	}
	if tc, ok := c.nc.Conn.(*tls.Conn); ok {
		return identity(tc.ConnectionState())
	}
	return ""
}

// connecting runs on the reader for every decoded CONNECT before the owner
// gets it: it vouches for the certificate identity of a mutual TLS
// connection, then lets the Authenticator prepare (hash the password).
func (s *Server) connecting(c *conn, p *packet.Connect) {
	if id := c.clientIdentity(); id != "" {
		if v, ok := s.cfg.Broker.Auth.(Voucher); !ok || !v.Vouch(p, id) {
			s.cfg.Logger.Error("certificate identity ignored: the Authenticator takes none",
				"conn", uint64(c.id), "remote", c.remote(), "identity", id)
		}
	}
	if s.prepare != nil {
		s.prepare.Prepare(p)
	}
}
