package tcp

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/sessionlab/sessionlab/broker"
	"github.com/sessionlab/sessionlab/broker/auth"
	"github.com/sessionlab/sessionlab/broker/packet"
	"github.com/sessionlab/sessionlab/broker/tcp/tlstest"
)

// pki is a test's certificates: a CA with a loopback server certificate,
// and client certificates it issues.
type pki struct {
	dir             string
	ca              *tlstest.CA
	srvCert, srvKey string
}

func newPKI(t *testing.T) *pki {
	dir := t.TempDir()
	ca := tlstest.NewCA(t, dir, "test-ca")
	crt, key := ca.Issue(t, "server", tlstest.Loopback())
	return &pki{dir: dir, ca: ca, srvCert: crt, srvKey: key}
}

// client issues a client certificate with common name cn.
func (p *pki) client(t *testing.T, cn string) tls.Certificate {
	t.Helper()
	return loadPair(t, p.ca, cn, tlstest.Options{CommonName: cn})
}

func loadPair(t *testing.T, ca *tlstest.CA, name string, o tlstest.Options) tls.Certificate {
	t.Helper()
	crt, key := ca.Issue(t, name, o)
	pair, err := tls.LoadX509KeyPair(crt, key)
	if err != nil {
		t.Fatal(err)
	}
	return pair
}

// clientConfig trusts p's CA and presents cert (if any), also when the
// server does not list its CA as acceptable (a Go client would otherwise
// send no certificate at all).
func (p *pki) clientConfig(certs ...tls.Certificate) *tls.Config {
	pool := x509.NewCertPool()
	pool.AddCert(p.ca.Cert)
	c := &tls.Config{RootCAs: pool, ServerName: "localhost", MinVersion: tls.VersionTLS12}
	if len(certs) > 0 {
		c.GetClientCertificate = func(*tls.CertificateRequestInfo) (*tls.Certificate, error) { return &certs[0], nil }
	}
	return c
}

// logBuffer collects a server's log lines.
type logBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// startTLSServer serves cfg on a plain listener (startServer) and on a TLS
// listener with tl; it returns the TLS listener's address too.
func startTLSServer(t *testing.T, cfg Config, tl *TLS) (s *Server, plain, secure string, rec *recorder) {
	t.Helper()
	s, plain, rec = startServer(t, cfg)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	served := make(chan error, 1)
	go func() { served <- s.ServeTLS(ln, tl) }()
	t.Cleanup(func() {
		s.Close()
		if err := <-served; !errors.Is(err, ErrClosed) {
			t.Errorf("ServeTLS = %v, want ErrClosed", err)
		}
	})
	return s, plain, ln.Addr().String(), rec
}

// certAccess is the ACL of the certificate tests: each device may use the
// topics under its own name, and the user names are certificate CNs.
const certAccess = `user device-1
topic readwrite d/device-1/#
user device-2
topic readwrite d/device-2/#
`

// startMutualServer serves mutual TLS with p's CA as the client CA, the
// identities bound to sessions (auth.Owners around auth.Certificates) and
// certAccess as the ACL.
func startMutualServer(t *testing.T, p *pki, cfg Config) (*Server, string, string, *recorder) {
	t.Helper()
	tl, err := LoadTLS(p.srvCert, p.srvKey, p.ca.CertFile)
	if err != nil {
		t.Fatal(err)
	}
	acl, err := auth.ParseACL(strings.NewReader(certAccess))
	if err != nil {
		t.Fatal(err)
	}
	owners := auth.NewOwners(auth.NewCertificates(nil))
	cfg.Broker.Auth, cfg.Broker.Authorize, cfg.Observer = owners, acl, owners.Observe
	return startTLSServer(t, cfg, tl)
}

// TestTLSIdentityIsTheUser: over mutual TLS with paho.mqtt.golang, the
// client certificate's subject CN is the user, whatever user name the
// CONNECT claims: the ACL grants device-1's topics and not device-2's, and
// the persistent session belongs to device-1, so device-2's certificate
// cannot take it over (CONNACK 0x05) while device-1 resumes it.
func TestTLSIdentityIsTheUser(t *testing.T) {
	p := newPKI(t)
	_, _, addr, _ := startMutualServer(t, p, Config{})
	dial := func(cn, clientID string) (*pahoClient, error) {
		opts, msgs, lost := pahoOptions(addr, clientID, false)
		opts.Servers = nil
		opts.AddBroker("ssl://" + addr).SetTLSConfig(p.clientConfig(p.client(t, cn)))
		opts.SetUsername("device-2") // claimed; the certificate wins
		c := mqtt.NewClient(opts)
		tok := c.Connect()
		if !tok.WaitTimeout(waitFor) {
			t.Fatalf("connect %s as %s: no CONNACK within %v", clientID, cn, waitFor)
		}
		if tok.Error() != nil {
			return nil, tok.Error()
		}
		t.Cleanup(func() { c.Disconnect(0) })
		return &pahoClient{Client: c, msgs: msgs, lost: lost, ack: tok.(*mqtt.ConnectToken)}, nil
	}
	dev, err := dial("device-1", "sensor-a")
	if err != nil {
		t.Fatal(err)
	}
	dev.subscribe(t, "d/device-1/cmd", 1, 1)
	dev.subscribe(t, "d/device-2/cmd", 1, 0x80) // the ACL sees device-1, not the claimed device-2
	dev.Disconnect(100)

	if _, err := dial("device-2", "sensor-a"); err == nil || !strings.Contains(err.Error(), "not Authorized") {
		t.Fatalf("device-2 taking over device-1's session: %v, want refused as not authorised (0x05)", err)
	}
	pub, err := dial("device-1", "device-1-pub")
	if err != nil {
		t.Fatal(err)
	}
	pub.publish(t, "d/device-1/cmd", 1, false, "while away")
	back, err := dial("device-1", "sensor-a")
	if err != nil {
		t.Fatal(err)
	}
	if !back.ack.SessionPresent() {
		t.Error("device-1 resuming its own session: SessionPresent = false")
	}
	back.expect(t, "while away")
}

// TestTLSRefusals: a client certificate that is expired, signed by another
// CA or has no CN, no certificate at all, and a client that refuses the
// server's certificate (it expects another name) all fail the handshake;
// the core never hears of them, and each refusal is logged with its reason
// and counted by reason.
func TestTLSRefusals(t *testing.T) {
	p := newPKI(t)
	other := tlstest.NewCA(t, p.dir, "other-ca")
	var logs logBuffer
	reg := prometheus.NewRegistry()
	m, err := NewMetrics(reg)
	if err != nil {
		t.Fatal(err)
	}
	_, _, addr, rec := startMutualServer(t, p, Config{Metrics: m, Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	expired := loadPair(t, p.ca, "expired", tlstest.Options{CommonName: "device-1",
		NotBefore: time.Now().Add(-48 * time.Hour), NotAfter: time.Now().Add(-24 * time.Hour)})
	tests := []struct {
		name   string
		config *tls.Config
		reason string
	}{
		{"expired certificate", p.clientConfig(expired), tlsExpired},
		{"unknown CA", p.clientConfig(loadPair(t, other, "stranger", tlstest.Options{CommonName: "device-1"})), tlsUnknownCA},
		{"no common name", p.clientConfig(loadPair(t, p.ca, "nameless", tlstest.Options{})), tlsNoCommonName},
		{"no certificate", p.clientConfig(), tlsNoCertificate},
		{"wrong server name", func() *tls.Config {
			c := p.clientConfig(p.client(t, "device-1"))
			c.ServerName = "broker.example.com"
			return c
		}(), tlsRefusedByClient},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			nc, err := tls.Dial("tcp", addr, tt.config)
			if err == nil {
				// TLS 1.3: the client learns of a refusal of its
				// certificate only when it reads.
				defer nc.Close()
				nc.Write((&packet.Connect{ProtocolName: "MQTT", ProtocolLevel: 4, ClientID: "x", CleanSession: true}).Append(nil))
				nc.SetReadDeadline(time.Now().Add(waitFor))
				_, err = nc.Read(make([]byte, 1))
			}
			if err == nil || isTimeout(err) {
				t.Fatalf("handshake error = %v, want a refusal", err)
			}
			waitForLog(t, &logs, "reason="+tt.reason)
			if got, _ := metricValue(t, reg, "sessionlab_tls_handshake_failures_total", "reason", tt.reason); got != 1 {
				t.Errorf("tls_handshake_failures_total{reason=%q} = %v, want 1", tt.reason, got)
			}
		})
	}
	if n := rec.count(func(ev broker.Event) bool { return ev.Kind == broker.EvConnected || ev.Kind == broker.EvRefused }); n != 0 {
		t.Errorf("the core saw %d CONNECTs from refused handshakes, want 0", n)
	}
	if !strings.Contains(logs.String(), "certificate has expired") || !strings.Contains(logs.String(), "unknown authority") {
		t.Errorf("logs do not say why:\n%s", logs.String())
	}
}

// waitForLog waits until the log holds want, failing after waitFor. The
// server logs a refusal right after the handshake fails, which the client
// may notice first.
func waitForLog(t *testing.T, logs *logBuffer, want string) {
	t.Helper()
	deadline := time.Now().Add(waitFor)
	for !strings.Contains(logs.String(), want) {
		if time.Now().After(deadline) {
			t.Fatalf("no log line with %q within %v:\n%s", want, waitFor, logs.String())
		}
		time.Sleep(time.Millisecond) // polls a log; asserts nothing about time
	}
}

// TestTLSReload: Reload swaps the server certificate for new handshakes
// while a connection made with the old one keeps working.
func TestTLSReload(t *testing.T) {
	p := newPKI(t)
	tl, err := LoadTLS(p.srvCert, p.srvKey, "")
	if err != nil {
		t.Fatal(err)
	}
	_, _, addr, _ := startTLSServer(t, Config{}, tl)
	oldConfig := p.clientConfig()
	old := dialTLS(t, addr, oldConfig)
	old.connect(persistent("kept"), packet.Accepted)

	next := tlstest.NewCA(t, p.dir, "next-ca")
	nextCrt, nextKey := next.Issue(t, "next-server", tlstest.Loopback())
	for _, f := range [][2]string{{nextCrt, p.srvCert}, {nextKey, p.srvKey}} {
		if err := os.Rename(f[0], f[1]); err != nil {
			t.Fatal(err)
		}
	}
	if err := tl.Reload(); err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(next.Cert)
	fresh := dialTLS(t, addr, &tls.Config{RootCAs: pool, ServerName: "localhost"})
	fresh.connect(persistent("fresh"), packet.Accepted)
	if _, err := tls.Dial("tcp", addr, oldConfig); err == nil {
		t.Error("a new handshake trusting only the old CA succeeded after Reload")
	}

	old.send(&packet.Pingreq{})
	if got, ok := old.recv().(*packet.Pingresp); !ok {
		t.Errorf("old connection after Reload: got %v, want PINGRESP", got)
	}
	os.WriteFile(p.srvKey, []byte("not a key"), 0o600)
	if err := tl.Reload(); err == nil || !strings.Contains(err.Error(), p.srvKey) {
		t.Errorf("Reload of a broken key = %v, want an error naming %s", err, p.srvKey)
	}
	dialTLS(t, addr, &tls.Config{RootCAs: pool, ServerName: "localhost"}).connect(persistent("after-failed-reload"), packet.Accepted)
}

// dialTLS is dialRaw over TLS.
func dialTLS(t *testing.T, addr string, cfg *tls.Config) *rawClient {
	t.Helper()
	nc, err := tls.Dial("tcp", addr, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { nc.Close() })
	return &rawClient{t: t, nc: nc}
}

// TestTLSMosquittoClients: mosquitto_sub and mosquitto_pub with --cafile,
// --cert and --key keep a persistent session over mutual TLS: the
// subscriber goes away, a message is published, the returning subscriber
// gets it.
func TestTLSMosquittoClients(t *testing.T) {
	pubBin := mosquittoTool(t, "mosquitto_pub")
	p := newPKI(t)
	_, _, addr, rec := startMutualServer(t, p, Config{})
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		t.Fatal(err)
	}
	crt, key := p.ca.Issue(t, "device-1", tlstest.Options{CommonName: "device-1"})
	mosquittoAway(t, rec, []string{"-h", host, "-p", port, "--cafile", p.ca.CertFile, "--cert", crt, "--key", key},
		"tls-sub", "d/device-1/cmd", []string{"over tls"})
	// Without a client certificate the handshake is refused.
	out, err := exec.Command(pubBin, "-h", host, "-p", port, "--cafile", p.ca.CertFile, "-t", "d/device-1/cmd", "-m", "x").CombinedOutput()
	if err == nil {
		t.Errorf("mosquitto_pub without a client certificate succeeded: %s", out)
	}
}
