package netsim

import (
	"testing"
	"time"
)

const ms = time.Millisecond

// jittery is a latency with enough spread that, without TCP ordering, later
// messages would often overtake earlier ones.
var jittery = Latency{Base: 10 * ms, Jitter: 50 * ms, Tail: TailPareto, TailProb: 0.1, TailScale: 100 * ms, TailShape: 1.5}

func dial(t *testing.T, n *Network[int], now time.Duration, h int) Dial {
	t.Helper()
	d := n.Dial(now, h)
	if !d.OK {
		t.Fatalf("Dial(%v, %d) failed: %v", now, h, d)
	}
	return d
}

func TestSendKeepsOrderPerDirection(t *testing.T) {
	n := New[int](Config{Latency: jittery, HostRand: seeded(1)})
	d := dial(t, n, 0, 0)
	for _, from := range []Side{Client, Server} {
		var lastAt time.Duration
		for i := 0; i < 1000; i++ {
			now := d.ClientAt + time.Duration(i)*ms
			at, ok := n.Send(now, d.Conn, from, i)
			if !ok {
				t.Fatalf("Send #%d from %v lost on a healthy link", i, from)
			}
			if at < lastAt || at < now {
				t.Fatalf("Send #%d from %v arrives at %v, before %v or sent at %v", i, from, at, lastAt, now)
			}
			lastAt = at
		}
		for i := 0; i < 1000; i++ {
			got, ok := n.Arrive(d.Conn, from.Peer())
			if !ok || got != i {
				t.Fatalf("Arrive #%d toward %v = %d, %v; want %d, true", i, from.Peer(), got, ok, i)
			}
		}
	}
}

func TestDialTimingAndOutcomes(t *testing.T) {
	lat := Latency{Base: 20 * ms}
	tests := []struct {
		name     string
		knobs    Knobs
		setup    func(n *Network[int])
		wantOK   bool
		wantBack time.Duration // ClientAt - now
	}{
		{"healthy", Knobs{}, nil, true, 40 * ms},
		{"outage refuses after a round trip", Knobs{}, func(n *Network[int]) { n.Outage(0, time.Hour) }, false, 40 * ms},
		{"partition times out", Knobs{}, func(n *Network[int]) { n.Partition(0, 0, time.Hour) }, false, DefaultConnectTimeout},
		{"other host's partition does not matter", Knobs{}, func(n *Network[int]) { n.Partition(0, 1, time.Hour) }, true, 40 * ms},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			n := New[int](Config{Latency: lat, Knobs: tt.knobs, HostRand: seeded(1)})
			if tt.setup != nil {
				tt.setup(n)
			}
			now := time.Minute
			d := n.Dial(now, 0)
			if d.OK != tt.wantOK || d.ClientAt-now != tt.wantBack {
				t.Errorf("Dial = %v (ok %v, after %v), want ok %v after %v", d, d.OK, d.ClientAt-now, tt.wantOK, tt.wantBack)
			}
			if d.OK && d.ServerAt != now+20*ms {
				t.Errorf("ServerAt = %v, want %v", d.ServerAt, now+20*ms)
			}
		})
	}
}

func TestConnectFailRate(t *testing.T) {
	n := New[int](Config{Latency: Latency{Base: ms}, Knobs: Knobs{ConnectFail: 0.25}, HostRand: seeded(3)})
	failed := 0
	const dials = 20000
	for i := 0; i < dials; i++ {
		d := n.Dial(0, i%100)
		if !d.OK {
			failed++
			continue
		}
		n.Close(0, d.Conn, Client)
		n.Noticed(d.Conn, Server)
	}
	if got := float64(failed) / dials; got < 0.23 || got > 0.27 {
		t.Errorf("failure rate = %.3f, want 0.25 ± 0.02", got)
	}
	if got := n.Open(); got != 0 {
		t.Errorf("Open() = %d after closing everything, want 0", got)
	}
}

func TestFaults(t *testing.T) {
	tests := []struct {
		name        string
		act         func(n *Network[int], d Dial, now time.Duration) []Notice
		wantNotices []Side
		wantArrive  bool // does the message in flight still arrive?
	}{
		{"reset tells both sides and loses data", func(n *Network[int], d Dial, now time.Duration) []Notice {
			return n.Fail(now, d.Conn, Reset)
		}, []Side{Client, Server}, false},
		{"half-open tells nobody and loses data", func(n *Network[int], d Dial, now time.Duration) []Notice {
			return n.Fail(now, d.Conn, HalfOpen)
		}, nil, false},
		{"graceful close by client delivers data first", func(n *Network[int], d Dial, now time.Duration) []Notice {
			nt, ok := n.Close(now, d.Conn, Client)
			if !ok {
				return nil
			}
			return []Notice{nt}
		}, []Side{Server}, true},
		{"outage resets everything", func(n *Network[int], d Dial, now time.Duration) []Notice {
			return n.Outage(now, now+time.Minute)
		}, []Side{Server, Client}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			n := New[int](Config{Latency: jittery, HostRand: seeded(9)})
			d := dial(t, n, 0, 0)
			now := d.ClientAt
			sentAt, _ := n.Send(now, d.Conn, Client, 42)
			notices := tt.act(n, d, now+ms)
			var got []Side
			for _, nt := range notices {
				got = append(got, nt.Side)
				if nt.At < now+ms {
					t.Errorf("%v is in the past", nt)
				}
				if tt.wantArrive && nt.At < sentAt {
					t.Errorf("%v before the data sent earlier arrives at %v", nt, sentAt)
				}
			}
			if len(got) != len(tt.wantNotices) {
				t.Fatalf("notices = %v, want sides %v", notices, tt.wantNotices)
			}
			for i := range got {
				if got[i] != tt.wantNotices[i] {
					t.Fatalf("notices = %v, want sides %v", notices, tt.wantNotices)
				}
			}
			if _, ok := n.Arrive(d.Conn, Server); ok != tt.wantArrive {
				t.Errorf("in-flight message arrives = %v, want %v", ok, tt.wantArrive)
			}
			if _, ok := n.Send(now+2*ms, d.Conn, Client, 43); ok && tt.wantNotices == nil {
				t.Errorf("Send on a half-open connection was accepted")
			}
		})
	}
}

func TestPartitionHoldsDataUntilHeal(t *testing.T) {
	n := New[int](Config{Latency: Latency{Base: 10 * ms}, HostRand: seeded(1)})
	d := dial(t, n, 0, 7)
	heal := d.ClientAt + time.Minute
	n.Partition(d.ClientAt, 7, heal)
	at, ok := n.Send(d.ClientAt+time.Second, d.Conn, Server, 1)
	if !ok || at != heal+10*ms {
		t.Errorf("Send during partition arrives at %v, %v; want %v, true", at, ok, heal+10*ms)
	}
	if got := n.Partitioned(heal-1, 7); !got {
		t.Errorf("Partitioned just before heal = false, want true")
	}
	if got := n.Partitioned(heal, 7); got {
		t.Errorf("Partitioned at heal = true, want false")
	}
}

func TestStaleIDsAreRejected(t *testing.T) {
	n := New[int](Config{HostRand: seeded(1)})
	d1 := dial(t, n, 0, 0)
	n.Close(0, d1.Conn, Client)
	n.Noticed(d1.Conn, Server)
	d2 := dial(t, n, 0, 0)
	if d2.Conn == d1.Conn {
		t.Fatalf("connection ID %v reused", d1.Conn)
	}
	if d2.Conn.slot() != d1.Conn.slot() {
		t.Errorf("slot %d not reused for %v", d1.Conn.slot(), d2.Conn)
	}
	if _, ok := n.Send(0, d1.Conn, Client, 1); ok {
		t.Errorf("Send on stale %v accepted", d1.Conn)
	}
	if n.Noticed(d1.Conn, Client) {
		t.Errorf("Noticed on stale %v = true", d1.Conn)
	}
}

func TestDrawnFaultRates(t *testing.T) {
	n := New[int](Config{Knobs: Knobs{ResetsPerHour: 3, HalfOpenPerHour: 1}, HostRand: seeded(5)})
	var resets, total int
	var life time.Duration
	for i := 0; i < 20000; i++ {
		d := dial(t, n, 0, i)
		total++
		life += d.FaultAt - d.ClientAt
		if d.Fault == Reset {
			resets++
		}
	}
	if got := float64(resets) / float64(total); got < 0.73 || got > 0.77 {
		t.Errorf("share of resets = %.3f, want 0.75 ± 0.02", got)
	}
	if got := (life / time.Duration(total)).Minutes(); got < 14 || got > 16 {
		t.Errorf("mean lifetime = %.1f min, want 15 ± 1", got)
	}
}

func TestHostKnobsAndHeal(t *testing.T) {
	n := New[int](Config{Knobs: Knobs{ConnectFail: 1}, HostRand: seeded(1)})
	n.SetHostKnobs(1, Knobs{})
	if d := n.Dial(0, 0); d.OK {
		t.Errorf("host 0 dial with connect_fail=1 succeeded")
	}
	if d := n.Dial(0, 1); !d.OK {
		t.Errorf("host 1 with its own fault-free knobs failed to dial")
	}
	n.Outage(0, time.Hour)
	n.Partition(0, 2, time.Hour)
	n.Heal(time.Minute)
	for h := 0; h < 3; h++ {
		if d := n.Dial(time.Minute, h); !d.OK || d.Fault != NoFault {
			t.Errorf("host %d after Heal: %v, want a fault-free connection", h, d)
		}
	}
}

func TestCloseAndOutageEdgeCases(t *testing.T) {
	lat := Latency{Base: 10 * ms}
	tests := []struct {
		name string
		run  func(t *testing.T, n *Network[int], d Dial)
	}{
		{"FIN sent into a partition arrives after the heal", func(t *testing.T, n *Network[int], d Dial) {
			heal := d.ClientAt + time.Minute
			n.Partition(d.ClientAt, 0, heal)
			nt, ok := n.Close(d.ClientAt, d.Conn, Server)
			if !ok || nt.Side != Client || nt.At < heal {
				t.Errorf("Close = %v, %v; want a client notice after %v", nt, ok, heal)
			}
		}},
		{"outage tells the server of a half-open connection, not the client", func(t *testing.T, n *Network[int], d Dial) {
			n.Fail(d.ClientAt, d.Conn, HalfOpen)
			got := n.Outage(d.ClientAt, d.ClientAt+time.Minute)
			if len(got) != 1 || got[0].Side != Server || got[0].At != d.ClientAt {
				t.Errorf("Outage notices = %v, want one for the server at once", got)
			}
		}},
		{"a side that closed itself ignores its notice", func(t *testing.T, n *Network[int], d Dial) {
			ns := n.Fail(d.ClientAt, d.Conn, Reset)
			if len(ns) != 2 {
				t.Fatalf("Reset notices = %v, want 2", ns)
			}
			n.Close(d.ClientAt, d.Conn, Client) // the client gave up first
			if n.Noticed(d.Conn, Client) {
				t.Errorf("Noticed(client) = true after the client closed")
			}
			if !n.Noticed(d.Conn, Server) {
				t.Errorf("Noticed(server) = false; the server still held the connection")
			}
			if n.Open() != 0 {
				t.Errorf("Open() = %d after both sides let go", n.Open())
			}
		}},
		{"a second fault does nothing", func(t *testing.T, n *Network[int], d Dial) {
			n.Fail(d.ClientAt, d.Conn, Reset)
			if got := n.Fail(d.ClientAt, d.Conn, Reset); got != nil {
				t.Errorf("second Fail = %v, want nothing", got)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			n := New[int](Config{Latency: lat, HostRand: seeded(2)})
			tt.run(t, n, dial(t, n, 0, 0))
		})
	}
}
