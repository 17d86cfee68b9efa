package main

import (
	"bytes"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/sessionlab/sessionlab/broker/packet"
	"github.com/sessionlab/sessionlab/properties/history"
)

func TestServeFlagErrors(t *testing.T) {
	dir := t.TempDir()
	badPasswd := filepath.Join(dir, "passwd")
	os.WriteFile(badPasswd, []byte("alice:plaintext\n"), 0o600)
	badACL := filepath.Join(dir, "acl")
	os.WriteFile(badACL, []byte("allow all\n"), 0o600)
	tests := []struct {
		name    string
		args    []string
		wantErr string
	}{
		{"unknown flag", []string{"--port", "1"}, "flag provided but not defined: -port"},
		{"unknown profile", []string{"--profile", "rabbit"}, "--profile: unknown profile \"rabbit\""},
		{"missing password file", []string{"--passwords", filepath.Join(dir, "none")}, "--passwords:"},
		{"plain-text password file", []string{"--passwords", badPasswd}, "--passwords: " + badPasswd + ": line 1"},
		{"bad acl", []string{"--acl", badACL}, "--acl: " + badACL + ": line 1: unknown keyword \"allow\""},
		{"anonymous without passwords", []string{"--allow-anonymous"}, "--allow-anonymous: needs --passwords"},
		{"zero connections", []string{"--max-connections", "0"}, "--max-connections: must be positive"},
		{"bad duration", []string{"--connect-timeout", "soon"}, "-connect-timeout"},
		{"unknown reader", []string{"--reader", "threads"}, "-reader: unknown reader \"threads\""},
		{"stray argument", []string{"extra"}, "unexpected argument \"extra\""},
		{"nothing to listen on", []string{"--listen", ""}, "nothing to listen on"},
		{"cert without a TLS listener", []string{"--cert", "server.crt"}, "--cert, --key and --client-ca: need --tls-listen"},
		{"TLS listener without a cert", []string{"--tls-listen", "127.0.0.1:0"}, "--tls-listen: needs --cert and --key"},
		{"missing cert file", []string{"--tls-listen", "127.0.0.1:0", "--cert", filepath.Join(dir, "none.crt"), "--key", filepath.Join(dir, "none.key")},
			"--cert/--key/--client-ca: tls: certificate " + filepath.Join(dir, "none.crt")},
		{"negative memory limit", []string{"--memory-limit", "-1"}, "--memory-limit: must not be negative"},
		{"missing config file", []string{"--config", filepath.Join(dir, "none.conf")}, "--config: open " + filepath.Join(dir, "none.conf")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			if code := run(append([]string{"serve"}, tt.args...), &stdout, &stderr); code != 2 {
				t.Errorf("exit code = %d, want 2", code)
			}
			if !strings.Contains(stderr.String(), tt.wantErr) {
				t.Errorf("stderr = %q, want it to contain %q", stderr.String(), tt.wantErr)
			}
		})
	}
}

func TestServeHelp(t *testing.T) {
	var stdout, stderr bytes.Buffer
	if code := run([]string{"serve", "--help"}, &stdout, &stderr); code != 0 {
		t.Fatalf("exit code = %d, want 0", code)
	}
	for _, want := range []string{"examples:", "sessionlab serve --passwords", "-listen", "-metrics", "-acl",
		"-tls-listen", "-client-ca", "subject common name (CN)", "-config", "-memory-limit", "/readyz", "SIGHUP"} {
		if !strings.Contains(stdout.String(), want) {
			t.Errorf("--help output lacks %q", want)
		}
	}
}

// TestServeSignal runs the subcommand in-process, talks MQTT to it, and
// stops it with SIGTERM: it must close the connection and exit 0.
func TestServeSignal(t *testing.T) {
	hist := filepath.Join(t.TempDir(), "run.jsonl")
	addr, exit, logs := startServe(t, "--listen", "127.0.0.1:0", "--metrics", "127.0.0.1:0", "--profile", "tencent",
		"--history", hist)
	nc, err := net.Dial("tcp", addr.String())
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	nc.Write((&packet.Connect{ProtocolName: "MQTT", ProtocolLevel: 4, ClientID: "x", KeepAlive: 60}).Append(nil))
	nc.SetReadDeadline(time.Now().Add(10 * time.Second))
	buf := make([]byte, 4)
	if n, err := nc.Read(buf); err != nil || n != 4 || buf[0] != 0x20 || buf[3] != 0 {
		t.Fatalf("CONNACK = % x, %v; want 20 02 00 00", buf[:n], err)
	}

	url := regexp.MustCompile(`url=(http://\S+/metrics)`).FindStringSubmatch(logs.String())
	if url == nil {
		t.Fatalf("no metrics url in the logs:\n%s", logs.String())
	}
	resp, err := http.Get(url[1])
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(body), `sessionlab_sessions{state="online"} 1`) {
		t.Errorf("metrics lack one online session:\n%s", body)
	}

	syscall.Kill(os.Getpid(), syscall.SIGTERM)
	select {
	case code := <-exit:
		if code != 0 {
			t.Errorf("exit code after SIGTERM = %d, want 0", code)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("serve did not stop on SIGTERM")
	}
	if n, err := nc.Read(buf); err == nil {
		t.Errorf("connection still open after shutdown (read %d bytes)", n)
	}
	if !strings.Contains(logs.String(), "shutting down") {
		t.Errorf("logs lack the shutdown line:\n%s", logs.String())
	}
	res, err := history.CheckFile(hist, "", 10*time.Second)
	if err != nil || !res.OK || res.Ops == 0 {
		t.Errorf("history file: %v, %v; want a non-empty linearizable history", res, err)
	}
}

// startServe runs serve in-process with args until a signal, and returns
// the first listener's address once every listener accepts, the channel
// its exit code arrives on, and its logs.
func startServe(t *testing.T, args ...string) (net.Addr, chan int, *syncBuffer) {
	t.Helper()
	opts, code, ok := parseServe(args, nil, nil)
	if !ok {
		t.Fatalf("parseServe: exit %d", code)
	}
	ready := make(chan net.Addr, 1)
	exit := make(chan int, 1)
	logs := &syncBuffer{}
	go func() { exit <- serveUntilSignal(opts, ready, logs) }()
	select {
	case addr := <-ready:
		return addr, exit, logs
	case code := <-exit:
		t.Fatalf("serve exited with %d before listening:\n%s", code, logs.String())
		return nil, nil, nil
	}
}

// syncBuffer is a bytes.Buffer safe for one writer and one reader at a time.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}
