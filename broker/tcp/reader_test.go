package tcp

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"os/exec"
	"runtime"
	"sync"
	"testing"
	"time"
	"unsafe"

	"github.com/sessionlab/sessionlab/broker"
	"github.com/sessionlab/sessionlab/broker/packet"
)

// TestGoroutineReaderSuite runs this package's tests again in a child
// process with the goroutine reader, so that both readers stay tested (the
// rest of the run uses the platform's default, epoll on Linux).
func TestGoroutineReaderSuite(t *testing.T) {
	if !epollSupported || testReader != ReaderDefault {
		t.Skip("the run already uses the goroutine reader")
	}
	args := []string{"-test.run=^Test", "-test.skip=^TestGoroutineReaderSuite$", "-test.count=1"}
	if testing.Verbose() {
		args = append(args, "-test.v")
	}
	if testing.Short() { // e.g. skip the mosquitto-client tests there too
		args = append(args, "-test.short")
	}
	cmd := exec.Command(os.Args[0], args...)
	cmd.Env = append(os.Environ(), readerEnv+"="+ReaderGoroutine.String())
	out, err := cmd.CombinedOutput()
	if err != nil || testing.Verbose() {
		t.Logf("%s=goroutine go test:\n%s", readerEnv, out)
	}
	if err != nil {
		t.Fatal(err)
	}
}

// readers are the readers this platform has.
func readers() []Reader {
	if epollSupported {
		return []Reader{ReaderEpoll, ReaderGoroutine}
	}
	return []Reader{ReaderGoroutine}
}

func TestReaderConfig(t *testing.T) {
	policy, err := broker.Profile("mosquitto")
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := Config{Broker: broker.Config{Policy: policy}}.withDefaults()
	if want := map[bool]Reader{true: ReaderEpoll, false: ReaderGoroutine}[epollSupported]; err != nil || cfg.Reader != want {
		t.Errorf("default reader = %v, %v; want %v", cfg.Reader, err, want)
	}
	if _, err := (Config{Reader: 7}).withDefaults(); err == nil {
		t.Error("Reader 7 accepted")
	}
	if _, err := (Config{Reader: ReaderEpoll}).withDefaults(); (err == nil) != epollSupported {
		t.Errorf("ReaderEpoll: err = %v on a platform with epoll %v", err, epollSupported)
	}
	for _, r := range []Reader{ReaderDefault, ReaderEpoll, ReaderGoroutine} {
		var got Reader
		if text, _ := r.MarshalText(); got.UnmarshalText(text) != nil || got != r {
			t.Errorf("%v does not round-trip through its name", r)
		}
	}
	if err := new(Reader).UnmarshalText([]byte("threads")); err == nil {
		t.Error(`UnmarshalText("threads") succeeded`)
	}
}

// TestConnSize keeps the adapter's per-connection struct, which every idle
// connection holds, within its 96-byte size class on 64-bit platforms.
func TestConnSize(t *testing.T) {
	if size := unsafe.Sizeof(conn{}); unsafe.Sizeof(uintptr(0)) == 8 && size > 96 {
		t.Errorf("conn is %d bytes, want at most 96 (order its fields to avoid padding)", size)
	}
}

// settle waits until at most want goroutines run, and returns how many do;
// goroutines that have finished their work may take a moment to exit.
func settle(want int) int {
	deadline := time.Now().Add(waitFor)
	for {
		n := runtime.NumGoroutine()
		if n <= want || time.Now().After(deadline) {
			return n
		}
		time.Sleep(time.Millisecond) // polling the runtime's count; the deadline only bounds a failure
	}
}

// closeEndsGoroutines closes s and fails the test unless as many goroutines
// run as before it started.
func closeEndsGoroutines(t *testing.T, s *Server, before int) {
	t.Helper()
	s.Close()
	if got := settle(before); got > before {
		t.Errorf("%d goroutines after Close, want %d as before the server started", got, before)
	}
}

// TestIdleConnectionGoroutines: with the event loop reader an idle
// persistent connection holds no goroutine (with the goroutine reader, one).
// Closing the server with idle connections open ends every goroutine.
func TestIdleConnectionGoroutines(t *testing.T) {
	const n = 40
	for _, reader := range readers() {
		t.Run(reader.String(), func(t *testing.T) {
			before := runtime.NumGoroutine()
			s, addr, _ := startServer(t, Config{Reader: reader})
			started := runtime.NumGoroutine()
			for i := range n {
				c := dialRaw(t, addr)
				c.connect(persistent(fmt.Sprint("idle-", i)), packet.Accepted)
				c.send(&packet.Subscribe{PacketID: 1, Subscriptions: []packet.Subscription{{Filter: fmt.Sprint("idle/", i), QoS: 1}}})
				if _, ok := c.recv().(*packet.Suback); !ok {
					t.Fatal("no SUBACK")
				}
			}
			if reader == ReaderEpoll {
				if got := settle(started); got > started {
					t.Errorf("%d goroutines with %d idle connections, %d without: want no more", got, n, started)
				}
			} else {
				t.Logf("%d goroutines with %d idle connections, %d without", settle(started+n), n, started)
			}
			if got := s.Connections(); got != n {
				t.Errorf("Connections() = %d, want %d", got, n)
			}
			closeEndsGoroutines(t, s, before)
		})
	}
}

// TestCloseEndsEveryGoroutine closes the server with connections in every
// reading state (silent, half a CONNECT, idle, half a packet larger than a
// worker's buffer, lingering after a refusal) and checks that no goroutine
// is left.
func TestCloseEndsEveryGoroutine(t *testing.T) {
	for _, reader := range readers() {
		t.Run(reader.String(), func(t *testing.T) {
			before := runtime.NumGoroutine()
			s, addr, _ := startServer(t, Config{Reader: reader})
			dialRaw(t, addr)
			halfConnect := dialRaw(t, addr)
			halfConnect.write((&packet.Connect{ProtocolName: "MQTT", ProtocolLevel: 4, ClientID: "half"}).Append(nil)[:5])
			idle := dialRaw(t, addr)
			idle.connect(persistent("idle"), packet.Accepted)
			big := dialRaw(t, addr)
			big.connect(persistent("big"), packet.Accepted)
			big.write((&packet.Publish{Topic: "big", Payload: make([]byte, 100<<10)}).Append(nil)[:60<<10])
			refused := dialRaw(t, addr)
			refused.connect(&packet.Connect{ClientID: "", CleanSession: false}, packet.RefusedIdentifierRejected)
			idle.send(&packet.Pingreq{})
			idle.recv() // the others' bytes are probably read by now; Close must cope either way
			closeEndsGoroutines(t, s, before)
		})
	}
}

// TestLargePacketsInPieces sends packets much larger than a worker's read
// buffer, and small ones, byte by byte and in random pieces; each must
// arrive whole, in order.
func TestLargePacketsInPieces(t *testing.T) {
	for _, reader := range readers() {
		t.Run(reader.String(), func(t *testing.T) {
			_, addr, _ := startServer(t, Config{Reader: reader})
			c := dialRaw(t, addr)
			c.connect(&packet.Connect{ClientID: "pieces", CleanSession: true}, packet.Accepted)
			c.send(&packet.Subscribe{PacketID: 1, Subscriptions: []packet.Subscription{{Filter: "p/#"}}})
			if _, ok := c.recv().(*packet.Suback); !ok {
				t.Fatal("no SUBACK")
			}
			rng := rand.New(rand.NewPCG(5, 8))
			sizes := []int{0, 1, 100, 20 << 10, 3, 200 << 10, 17, 70 << 10, 5}
			var stream []byte
			payloads := make([][]byte, len(sizes))
			for i, size := range sizes {
				payloads[i] = make([]byte, size)
				for j := range payloads[i] {
					payloads[i][j] = byte(rng.Uint32())
				}
				stream = (&packet.Publish{Topic: fmt.Sprint("p/", i), Payload: payloads[i]}).Append(stream)
			}
			for rest := stream; len(rest) > 0; {
				n := 1
				if len(rest) > 300 && rng.IntN(3) > 0 {
					n = min(len(rest), 1+rng.IntN(40<<10))
				}
				c.write(rest[:n])
				rest = rest[n:]
			}
			for i, want := range payloads {
				p, ok := c.recv().(*packet.Publish)
				if !ok || p.Topic != fmt.Sprint("p/", i) || !bytes.Equal(p.Payload, want) {
					t.Fatalf("message %d: got %v, want %d bytes on p/%d", i, p, len(want), i)
				}
			}
		})
	}
}

// TestManyReadableConnectionsKeepOrder has many connections send pipelined
// bursts at once, so that many sockets are readable together; the core must
// see each connection's packets in the order sent.
func TestManyReadableConnectionsKeepOrder(t *testing.T) {
	const conns, burst = 60, 80
	for _, reader := range readers() {
		t.Run(reader.String(), func(t *testing.T) {
			var mu sync.Mutex
			seen := map[broker.ConnID][]uint32{}
			_, addr, _ := startServer(t, Config{Reader: reader, Observer: func(rec *broker.Record) {
				in := rec.Input
				if p, ok := in.Packet.(*packet.Publish); ok && len(p.Payload) == 4 {
					mu.Lock()
					seen[in.Conn] = append(seen[in.Conn], binary.BigEndian.Uint32(p.Payload))
					mu.Unlock()
				}
			}})
			clients := make([]*rawClient, conns)
			bursts := make([][]byte, conns)
			for i := range clients {
				clients[i] = dialRaw(t, addr)
				clients[i].connect(&packet.Connect{ClientID: fmt.Sprint("order-", i), CleanSession: true}, packet.Accepted)
				for j := range burst {
					bursts[i] = (&packet.Publish{QoS: 1, PacketID: uint16(j + 1), Topic: "order",
						Payload: binary.BigEndian.AppendUint32(nil, uint32(j))}).Append(bursts[i])
				}
			}
			var wg sync.WaitGroup
			start := make(chan struct{})
			for i, c := range clients {
				wg.Go(func() {
					<-start
					c.nc.Write(bursts[i])
				})
			}
			close(start)
			wg.Wait()
			for i, c := range clients {
				for j := range burst {
					if ack, ok := c.recv().(*packet.Puback); !ok || ack.PacketID != uint16(j+1) {
						t.Fatalf("client %d: got %v, want PUBACK %d", i, ack, j+1)
					}
				}
			}
			mu.Lock()
			defer mu.Unlock()
			if len(seen) != conns {
				t.Fatalf("publishes from %d connections, want %d", len(seen), conns)
			}
			for id, seq := range seen {
				for j, got := range seq {
					if got != uint32(j) {
						t.Fatalf("connection %d: publish %d carried sequence number %d", id, j, got)
					}
				}
			}
		})
	}
}

// TestChurn has many clients at once connect under a few client ids (so
// that they take each other's sessions over), publish, subscribe, send half
// packets or garbage, and hang up or reset, while a bystander keeps being
// served; then the server closes with whatever is left open and no
// goroutine may remain.
func TestChurn(t *testing.T) {
	const clients, rounds = 40, 15
	for _, reader := range readers() {
		t.Run(reader.String(), func(t *testing.T) {
			before := runtime.NumGoroutine()
			s, addr, _ := startServer(t, Config{Reader: reader, MaxPacketSize: 4 << 10})
			good := echoClient(t, addr)
			var wg sync.WaitGroup
			var mu sync.Mutex
			var left []net.Conn // open at the end, for Close to deal with
			for i := range clients {
				wg.Go(func() {
					rng := rand.New(rand.NewPCG(uint64(i), 9))
					for r := range rounds {
						nc, err := net.Dial("tcp", addr)
						if err != nil {
							t.Error(err)
							return
						}
						var b []byte
						b = (&packet.Connect{ProtocolName: "MQTT", ProtocolLevel: 4, ClientID: fmt.Sprint("churn-", rng.IntN(5)), KeepAlive: 60}).Append(b)
						b = (&packet.Subscribe{PacketID: 1, Subscriptions: []packet.Subscription{{Filter: "churn/#", QoS: 1}}}).Append(b)
						for j := range rng.IntN(20) {
							b = (&packet.Publish{QoS: packet.QoS(j % 2), PacketID: uint16(j + 2), Topic: "churn/x", Payload: make([]byte, rng.IntN(3000))}).Append(b)
						}
						switch rng.IntN(4) {
						case 0:
							b = b[:rng.IntN(len(b))] // hang up inside a packet
						case 1:
							b = append(b, 0xF0, 0x00) // reserved packet type
						}
						for len(b) > 0 {
							n := min(len(b), 1+rng.IntN(500))
							if _, err := nc.Write(b[:n]); err != nil {
								break // the server closed it: fine
							}
							b = b[n:]
						}
						if rng.IntN(2) == 0 {
							nc.(*net.TCPConn).SetLinger(0) // reset
						}
						if r == rounds-1 && i%4 == 0 {
							mu.Lock()
							left = append(left, nc)
							mu.Unlock()
							continue
						}
						nc.Close()
					}
				})
			}
			wg.Wait()
			echo(t, good, "after the churn")
			closeEndsGoroutines(t, s, before)
			for _, nc := range left {
				nc.Close()
			}
		})
	}
}
