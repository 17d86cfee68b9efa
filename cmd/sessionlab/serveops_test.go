package main

import (
	"bufio"
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/sessionlab/sessionlab/broker/packet"
	"github.com/sessionlab/sessionlab/broker/tcp/tlstest"
)

// TestServeConfigFile: --config takes every serve flag as a key, flags on
// the command line win, and an unknown key, a repeated key or a bad value
// is a usage error (exit 2) naming the file and line.
func TestServeConfigFile(t *testing.T) {
	dir := t.TempDir()
	write := func(name, text string) string {
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
		return path
	}

	var every strings.Builder
	var o serveOptions
	fs := o.flags()
	keys := 0
	fs.VisitAll(func(f *flag.Flag) {
		if f.Name != "config" {
			fmt.Fprintf(&every, "%s %q\n", f.Name, f.DefValue)
			keys++
		}
	})
	if _, code, ok := parseServe([]string{"--config", write("every.conf", every.String())}, io.Discard, io.Discard); !ok {
		t.Errorf("a config file with every flag's default (%d keys) failed: exit %d\n%s", keys, code, every.String())
	}

	conf := write("serve.conf", `# sessionlab serve settings
listen 127.0.0.1:0
profile	tencent
max-connections 7
memory-limit 4096
log-level warn
metrics ""
`)
	opts, code, ok := parseServe([]string{"--max-connections", "9", "--config", conf}, io.Discard, io.Discard)
	if !ok {
		t.Fatalf("parseServe: exit %d", code)
	}
	if opts.profile != "tencent" || opts.server.Broker.Policy.Name != "tencent" || opts.server.MemoryLimit != 4096 ||
		opts.logLevel != slog.LevelWarn || opts.listen != "127.0.0.1:0" {
		t.Errorf("from the file: profile %q (policy %q), memory limit %d, log level %v, listen %q; want tencent, 4096, WARN, 127.0.0.1:0",
			opts.profile, opts.server.Broker.Policy.Name, opts.server.MemoryLimit, opts.logLevel, opts.listen)
	}
	if opts.server.MaxConnections != 9 {
		t.Errorf("max-connections = %d, want 9 (the command line wins over the file's 7)", opts.server.MaxConnections)
	}

	tests := []struct {
		name, text, want string
	}{
		{"unknown key", "profile aws\n\nport 1883\n", ":3: unknown key \"port\""},
		{"bad value", "# comment\nmax-connections many\n", ":2: max-connections: parse error"},
		{"repeated key", "listen :1\nlisten :2\n", ":2: listen given twice (first on line 1)"},
		{"nested config", "config other.conf\n", ":1: a config file cannot name another"},
		{"checked like flags", "max-connections 0\n", "--max-connections: must be positive"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := write(strings.ReplaceAll(tt.name, " ", "-")+".conf", tt.text)
			var stderr bytes.Buffer
			if code := run([]string{"serve", "--config", path}, io.Discard, &stderr); code != exitUsage {
				t.Errorf("exit code = %d, want %d", code, exitUsage)
			}
			if !strings.Contains(stderr.String(), tt.want) {
				t.Errorf("stderr = %q, want it to contain %q", stderr.String(), tt.want)
			}
		})
	}
}

// TestServeTLS runs serve with only a mutual TLS listener, metrics and a
// memory limit: /readyz answers 200, /metrics has the Go runtime and process
// series, a device connects with its certificate and is logged as its CN,
// and SIGHUP swaps the server certificate for new connections without
// dropping the open one. SIGTERM then stops it with exit 0.
func TestServeTLS(t *testing.T) {
	dir := t.TempDir()
	ca := tlstest.NewCA(t, dir, "ca")
	srvCert, srvKey := ca.Issue(t, "server", tlstest.Loopback())
	devCert, devKey := ca.Issue(t, "dev", tlstest.Options{CommonName: "device-7"})
	device, err := tls.LoadX509KeyPair(devCert, devKey)
	if err != nil {
		t.Fatal(err)
	}
	addr, exit, logs := startServe(t, "--listen", "", "--tls-listen", "127.0.0.1:0", "--cert", srvCert, "--key", srvKey,
		"--client-ca", ca.CertFile, "--metrics", "127.0.0.1:0", "--memory-limit", "1000000")

	base := regexp.MustCompile(`url=(http://\S+)/metrics`).FindStringSubmatch(logs.String())
	if base == nil {
		t.Fatalf("no metrics url in the logs:\n%s", logs.String())
	}
	if status, body := get(t, base[1]+"/readyz"); status != http.StatusOK || body != "ready\n" {
		t.Errorf("/readyz = %d %q, want 200 ready", status, body)
	}
	_, body := get(t, base[1]+"/metrics")
	for _, want := range []string{"go_goroutines ", "go_memstats_heap_inuse_bytes ", "process_resident_memory_bytes ", "sessionlab_memory_held_bytes 0"} {
		if !strings.Contains(body, want) {
			t.Errorf("/metrics lacks %q", want)
		}
	}

	trust := func(c *x509.Certificate) *tls.Config {
		pool := x509.NewCertPool()
		pool.AddCert(c)
		return &tls.Config{RootCAs: pool, ServerName: "localhost", Certificates: []tls.Certificate{device}}
	}
	old := mqttOverTLS(t, addr.String(), trust(ca.Cert), "kept")
	if !regexp.MustCompile(`msg="client connected" client_id=kept user=device-7 `).MatchString(logs.String()) {
		t.Errorf("no connect line with the certificate's CN as the user:\n%s", logs.String())
	}

	next := tlstest.NewCA(t, dir, "next")
	nextCert, nextKey := next.Issue(t, "next-server", tlstest.Loopback())
	if err := errors.Join(os.Rename(nextCert, srvCert), os.Rename(nextKey, srvKey)); err != nil {
		t.Fatal(err)
	}
	syscall.Kill(os.Getpid(), syscall.SIGHUP)
	waitLog(t, logs, "SIGHUP: TLS certificates reloaded")
	mqttOverTLS(t, addr.String(), trust(next.Cert), "fresh")
	old.Write((&packet.Pingreq{}).Append(nil))
	if b, err := bufio.NewReader(old).Peek(2); err != nil || b[0] != 0xd0 {
		t.Errorf("the connection opened before SIGHUP: % x, %v; want PINGRESP", b, err)
	}

	syscall.Kill(os.Getpid(), syscall.SIGTERM)
	select {
	case code := <-exit:
		if code != exitOK {
			t.Errorf("exit code after SIGTERM = %d, want 0", code)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("serve did not stop on SIGTERM")
	}
}

// mqttOverTLS connects over TLS with cfg and sends a persistent CONNECT,
// checking the CONNACK accepts it.
func mqttOverTLS(t *testing.T, addr string, cfg *tls.Config, clientID string) *tls.Conn {
	t.Helper()
	nc, err := tls.Dial("tcp", addr, cfg)
	if err != nil {
		t.Fatalf("TLS dial: %v", err)
	}
	t.Cleanup(func() { nc.Close() })
	nc.Write((&packet.Connect{ProtocolName: "MQTT", ProtocolLevel: 4, ClientID: clientID, KeepAlive: 60}).Append(nil))
	nc.SetReadDeadline(time.Now().Add(10 * time.Second))
	buf := make([]byte, 4)
	if _, err := io.ReadFull(nc, buf); err != nil || buf[0] != 0x20 || buf[3] != 0 {
		t.Fatalf("CONNACK = % x, %v; want 20 02 00 00", buf, err)
	}
	return nc
}

// get fetches url and returns the status and body.
func get(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body)
}

// waitLog waits until the logs hold want, failing after 10 s: a signal is
// handled asynchronously.
func waitLog(t *testing.T, logs *syncBuffer, want string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(logs.String(), want) {
		if time.Now().After(deadline) {
			t.Fatalf("no %q in the logs:\n%s", want, logs.String())
		}
		time.Sleep(time.Millisecond) // polls the log; asserts nothing about time
	}
}

// TestReadiness: /readyz is 503 until the listeners accept, then 200.
func TestReadiness(t *testing.T) {
	var accepting atomic.Bool
	h := readiness(&accepting)
	for _, tt := range []struct {
		accepting bool
		want      int
	}{{false, http.StatusServiceUnavailable}, {true, http.StatusOK}, {false, http.StatusServiceUnavailable}} {
		accepting.Store(tt.accepting)
		w := httptest.NewRecorder()
		h(w, httptest.NewRequest("GET", "/readyz", nil))
		if w.Code != tt.want {
			t.Errorf("accepting=%v: /readyz = %d, want %d", tt.accepting, w.Code, tt.want)
		}
	}
}
