package main

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/cockroachdb/pebble/v2"
	mqtt "github.com/eclipse/paho.mqtt.golang"

	"github.com/sessionlab/sessionlab/store"
)

// mainEnv makes the test binary run as sessionlab itself (TestMain), so
// that tests can start real serve processes and kill them.
const mainEnv = "SESSIONLAB_TEST_MAIN"

func TestMain(m *testing.M) {
	if os.Getenv(mainEnv) == "1" {
		os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
	}
	os.Exit(m.Run())
}

// waitProc bounds every wait on a serve process or a client; a failure
// deadline, not synchronisation.
const waitProc = 20 * time.Second

// serveProc is a `sessionlab serve` process.
type serveProc struct {
	cmd    *exec.Cmd
	stderr *syncBuffer
	exited chan struct{}
}

// startServeProcess starts `sessionlab serve args...` and waits until it listens
// (its "serving" log line).
func startServeProcess(t *testing.T, args ...string) *serveProc {
	t.Helper()
	cmd := exec.Command(os.Args[0], append([]string{"serve"}, args...)...)
	cmd.Env = append(os.Environ(), mainEnv+"=1")
	pr, pw := io.Pipe()
	p := &serveProc{cmd: cmd, stderr: &syncBuffer{}, exited: make(chan struct{})}
	cmd.Stderr = io.MultiWriter(p.stderr, pw)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		cmd.Wait()
		pw.Close()
		close(p.exited)
	}()
	t.Cleanup(func() { cmd.Process.Kill(); <-p.exited })
	ready := make(chan bool, 1)
	go func() {
		sc := bufio.NewScanner(pr)
		signalled := false
		for sc.Scan() {
			if !signalled && strings.Contains(sc.Text(), "serving MQTT") {
				ready <- true
				signalled = true
			}
		}
		if !signalled {
			ready <- false
		}
	}()
	select {
	case ok := <-ready:
		if !ok {
			t.Fatalf("serve %v exited before serving:\n%s", args, p.stderr.String())
		}
	case <-time.After(waitProc):
		t.Fatalf("serve %v not serving within %v:\n%s", args, waitProc, p.stderr.String())
	}
	return p
}

// stop sends sig and returns the exit code.
func (p *serveProc) stop(t *testing.T, sig syscall.Signal) int {
	t.Helper()
	p.cmd.Process.Signal(sig)
	select {
	case <-p.exited:
	case <-time.After(waitProc):
		t.Fatalf("serve did not exit on %v", sig)
	}
	return p.cmd.ProcessState.ExitCode()
}

// freeAddr returns a loopback address that was free a moment ago.
func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// pahoConnect connects a Paho client without automatic reconnects; msgs,
// if not nil, receives every message in arrival order.
func pahoConnect(t *testing.T, addr, clientID string, clean bool, msgs chan mqtt.Message) (mqtt.Client, bool) {
	t.Helper()
	opts := mqtt.NewClientOptions().AddBroker("tcp://" + addr).SetClientID(clientID).SetCleanSession(clean).
		SetAutoReconnect(false).SetConnectRetry(false).SetOrderMatters(true).SetProtocolVersion(4).
		SetConnectTimeout(waitProc).
		// A Publish blocks this long once the server is gone (then its token
		// fails): it only bounds the end of a round, nothing is asserted on it.
		SetWriteTimeout(time.Second)
	if msgs != nil {
		opts.SetDefaultPublishHandler(func(_ mqtt.Client, m mqtt.Message) { msgs <- m })
	}
	c := mqtt.NewClient(opts)
	tok := c.Connect()
	if !tok.WaitTimeout(waitProc) || tok.Error() != nil {
		t.Fatalf("connect %s: %v", clientID, tok.Error())
	}
	t.Cleanup(func() { c.Disconnect(0) })
	return c, tok.(*mqtt.ConnectToken).SessionPresent()
}

// TestServeDataSurvivesSIGKILL: a persistent subscriber subscribes and goes
// away; a publisher streams QoS 1 messages into `serve --data`, which is
// killed with SIGKILL after a drawn number of PUBACKs (seeded), restarted
// with the same flags, three times, then stopped with SIGTERM (exit 0) and
// restarted once more. The subscriber then resumes with SessionPresent=1
// and gets every message that got a PUBACK, in publishing order, each once
// (messages never acknowledged may or may not be there, in order too).
func TestServeDataSurvivesSIGKILL(t *testing.T) {
	seed := uint64(time.Now().UnixNano())
	if s := os.Getenv("SESSIONLAB_KILL_SEED"); s != "" {
		seed, _ = strconv.ParseUint(s, 10, 64)
	}
	t.Logf("seed %d (rerun with SESSIONLAB_KILL_SEED=%d)", seed, seed)
	rng := rand.New(rand.NewPCG(seed, 13))
	dir := filepath.Join(t.TempDir(), "data")
	addr := freeAddr(t)
	args := []string{"--data", dir, "--listen", addr, "--profile", "hivemq"}
	srv := startServeProcess(t, args...)

	sub, present := pahoConnect(t, addr, "sub", false, nil)
	if present {
		t.Fatal("SessionPresent=1 on a fresh data directory")
	}
	if tok := sub.Subscribe("t", 1, nil); !tok.WaitTimeout(waitProc) || tok.Error() != nil {
		t.Fatalf("subscribe: %v", tok.Error())
	}
	sub.Disconnect(100)

	var acked []int // payload numbers that got a PUBACK
	next := 0
	for round := range 4 {
		pub, _ := pahoConnect(t, addr, fmt.Sprint("pub-", round), true, nil)
		killAfter := 20 + rng.IntN(150)
		var mu sync.Mutex
		got, first := 0, next
		enough := make(chan struct{})
		done := make(chan struct{})
		go func() { // publish until the connection breaks, PUBACKs counted in order
			defer close(done)
			tokens := make(chan struct {
				n   int
				tok mqtt.Token
			}, 64)
			go func() {
				defer close(tokens)
				for n := first; ; n++ {
					tok := pub.Publish("t", 1, false, strconv.Itoa(n))
					tokens <- struct {
						n   int
						tok mqtt.Token
					}{n, tok}
					if !pub.IsConnectionOpen() || n-first > 5000 {
						return
					}
				}
			}()
			for p := range tokens {
				if !p.tok.WaitTimeout(waitProc) {
					t.Errorf("message %d: no PUBACK nor error within %v", p.n, waitProc)
					continue
				}
				mu.Lock()
				if p.tok.Error() == nil {
					acked = append(acked, p.n)
					got++
					if got == killAfter {
						close(enough)
					}
				}
				next = max(next, p.n+1)
				mu.Unlock()
			}
		}()
		select {
		case <-enough:
		case <-time.After(waitProc):
			t.Fatalf("round %d: fewer than %d PUBACKs within %v", round, killAfter, waitProc)
		}
		if round < 3 {
			srv.stop(t, syscall.SIGKILL)
		} else if code := srv.stop(t, syscall.SIGTERM); code != 0 {
			t.Fatalf("exit code after SIGTERM = %d, want 0:\n%s", code, srv.stderr.String())
		}
		<-done
		pub.Disconnect(0)
		srv = startServeProcess(t, args...)
	}
	if !strings.Contains(srv.stderr.String(), "state restored") {
		t.Errorf("no restore log line:\n%s", srv.stderr.String())
	}
	pub, _ := pahoConnect(t, addr, "pub-end", true, nil)
	if tok := pub.Publish("t", 1, false, "end"); !tok.WaitTimeout(waitProc) || tok.Error() != nil {
		t.Fatalf("publish end: %v", tok.Error())
	}
	msgs := make(chan mqtt.Message, 1<<16)
	_, present = pahoConnect(t, addr, "sub", false, msgs)
	if !present {
		t.Fatal("SessionPresent=0 after the restarts")
	}
	var received []int
	for {
		select {
		case m := <-msgs:
			if string(m.Payload()) == "end" {
				checkDelivered(t, acked, received)
				t.Logf("%d acknowledged of %d published, %d delivered", len(acked), next, len(received))
				return
			}
			n, err := strconv.Atoi(string(m.Payload()))
			if err != nil {
				t.Fatalf("unexpected payload %q", m.Payload())
			}
			received = append(received, n)
		case <-time.After(waitProc):
			t.Fatalf("no message within %v after %d: %v", waitProc, len(received), received)
		}
	}
}

// checkDelivered checks that received is strictly increasing and holds
// every acked number.
func checkDelivered(t *testing.T, acked, received []int) {
	t.Helper()
	have := map[int]bool{}
	for i, n := range received {
		if i > 0 && n <= received[i-1] {
			t.Fatalf("delivered %d after %d: out of order or duplicated", n, received[i-1])
		}
		have[n] = true
	}
	for _, n := range acked {
		if !have[n] {
			t.Fatalf("message %d got a PUBACK but was not delivered after the restarts", n)
		}
	}
}

// TestServeDataRefuses: serve exits 2 with a message naming the problem on
// a data directory that holds other files, one written by a newer format,
// and one whose files are damaged; never serving an empty broker over it.
func TestServeDataRefuses(t *testing.T) {
	foreign := t.TempDir()
	os.WriteFile(filepath.Join(foreign, "photo.jpg"), []byte("jpeg"), 0o644)

	newer := filepath.Join(t.TempDir(), "data")
	st, err := store.Open(newer, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	st.Close()
	db, err := pebble.Open(newer, &pebble.Options{Logger: quietPebble{}, Merger: &pebble.Merger{Name: "sessionlab.patch.v1", Merge: pebble.DefaultMerger.Merge}})
	if err != nil {
		t.Fatal(err)
	}
	db.Set([]byte("\x00format"), append([]byte("sessionlab store"), store.Version+1), pebble.Sync)
	db.Close()

	damaged := filepath.Join(t.TempDir(), "data")
	if st, err = store.Open(damaged, store.Options{}); err != nil {
		t.Fatal(err)
	}
	st.Close()
	entries, _ := os.ReadDir(damaged)
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), "MANIFEST-") {
			os.WriteFile(filepath.Join(damaged, e.Name()), bytes.Repeat([]byte{0xa5}, 512), 0o644)
		}
	}
	for _, tt := range []struct{ dir, want string }{
		{foreign, "not a sessionlab data directory"},
		{newer, "written by a newer sessionlab: format version 2"},
		{damaged, "corrupt store"},
	} {
		var stdout, stderr bytes.Buffer
		code := run([]string{"serve", "--listen", "127.0.0.1:0", "--data", tt.dir}, &stdout, &stderr)
		if code != exitUsage || !strings.Contains(stderr.String(), tt.want) {
			t.Errorf("serve --data %s: exit %d, stderr %q; want exit 2 and %q", tt.dir, code, stderr.String(), tt.want)
		}
	}
}

// TestServeInMemorySaysSo: without --data serve says at startup that state
// is in memory only.
func TestServeInMemorySaysSo(t *testing.T) {
	p := startServeProcess(t, "--listen", "127.0.0.1:0")
	if code := p.stop(t, syscall.SIGTERM); code != 0 {
		t.Fatalf("exit %d", code)
	}
	if !strings.Contains(p.stderr.String(), "state is in memory only") {
		t.Errorf("no in-memory notice at startup:\n%s", p.stderr.String())
	}
}

// quietPebble drops pebble's logs.
type quietPebble struct{}

func (quietPebble) Infof(string, ...any)           {}
func (quietPebble) Errorf(string, ...any)          {}
func (quietPebble) Fatalf(format string, a ...any) { panic(fmt.Sprintf(format, a...)) }
