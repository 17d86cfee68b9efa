package sim

import (
	"strings"
	"testing"
	"time"

	"github.com/sessionlab/sessionlab/broker"
	"github.com/sessionlab/sessionlab/broker/packet"
	"github.com/sessionlab/sessionlab/netsim"
	"github.com/sessionlab/sessionlab/sim/scenario"
)

// statusLog follows the status workload: per step, who went offline how
// and whose Will fired; the backend's SUBSCRIBEs and status receipts.
type statusLog struct {
	t          *testing.T
	downs      map[string]broker.Reason // this step: client -> disconnect reason
	wills      map[string]int           // this step: client -> Wills published
	abrupt     int                      // disconnects that owed a Will, all steps
	graceful   int                      // DISCONNECTs, all steps
	backend    broker.ConnID            // the backend's latest connection
	subscribes [][]packet.Subscription  // the backend's, in order
	retained   []map[string]bool        // per backend SUBSCRIBE: status topics replayed after it
	last       map[string]string        // topic -> the backend's last status
}

func (l *statusLog) Step(rec *broker.Record) {
	in := rec.Input
	if c, ok := in.Packet.(*packet.Connect); ok && strings.HasPrefix(c.ClientID, "backend") {
		l.backend = in.Conn
	}
	if s, ok := in.Packet.(*packet.Subscribe); ok && in.Conn == l.backend {
		l.subscribes = append(l.subscribes, s.Subscriptions)
		l.retained = append(l.retained, map[string]bool{})
	}
	for ev := range rec.Events() {
		if strings.HasPrefix(ev.ClientID, "backend") {
			continue
		}
		switch ev.Kind {
		case broker.EvDisconnected:
			l.downs[ev.ClientID] = ev.Reason
		case broker.EvWillPublished:
			l.wills[ev.ClientID]++
			if ev.Topic != "status/"+ev.ClientID {
				l.t.Errorf("Will of %s on %q", ev.ClientID, ev.Topic)
			}
		}
	}
	l.endStep()
}

// endStep checks the step that ended: every abrupt loss of a status
// device published its Will exactly once, every DISCONNECT none
// [MQTT-3.1.2-8], [MQTT-3.14.4-3].
func (l *statusLog) endStep() {
	for id, r := range l.downs {
		want := 1
		if r == broker.ReasonClientDisconnect {
			want = 0
			l.graceful++
		} else {
			l.abrupt++
		}
		if l.wills[id] != want {
			l.t.Errorf("%s went offline (%v) and its Will was published %d times, want %d", id, r, l.wills[id], want)
		}
		delete(l.wills, id)
	}
	for id, n := range l.wills {
		l.t.Errorf("%d Wills of %s published without a disconnect", n, id)
	}
	clear(l.downs)
	clear(l.wills)
}

func (l *statusLog) Received(now broker.Time, clientID string, p *packet.Publish) {
	if !strings.HasPrefix(clientID, "backend") || !strings.HasPrefix(p.Topic, "status/") {
		return
	}
	if p.Retain && len(l.retained) > 0 {
		l.retained[len(l.retained)-1][p.Topic] = true
	}
	l.last[p.Topic] = string(p.Payload)
}

// TestStatusWorkload runs devices with Wills and retained statuses, some
// vanishing and some leaving with DISCONNECT, and a clean-session backend
// watching status/# that a broker outage forces to reconnect.
func TestStatusWorkload(t *testing.T) {
	cmd := scenario.Group{Kind: scenario.Command, Count: 3, KeepAlive: 30 * time.Second, QoS: 1, Status: true}
	abrupt, graceful := cmd, cmd
	abrupt.Name = "abrupt"
	abrupt.Offline = &scenario.Offline{Start: 10 * time.Minute, Every: 20 * time.Minute, For: 5 * time.Minute, Jitter: time.Minute}
	graceful.Name = "graceful"
	graceful.Offline = &scenario.Offline{Start: 10 * time.Minute, Every: 20 * time.Minute, For: 5 * time.Minute, Jitter: time.Minute, Graceful: true}
	sc := scenario.Scenario{
		Name: "status", Duration: time.Hour, Heal: 10 * time.Minute,
		Groups: []scenario.Group{abrupt, graceful,
			{Name: "backend", Kind: scenario.Backend, Count: 1, KeepAlive: 60 * time.Second, Clean: true, QoS: 1,
				PublishEvery: 5 * time.Minute, Status: true}},
		Network: scenario.Network{Latency: netsim.Latency{Base: 50 * time.Millisecond, Jitter: 20 * time.Millisecond}},
		Events:  []scenario.Event{{Kind: scenario.Outage, At: 40 * time.Minute, For: 2 * time.Minute}},
	}
	for _, name := range []string{"tencent", "hivemq"} {
		t.Run(name, func(t *testing.T) {
			l := &statusLog{t: t, downs: map[string]broker.Reason{}, wills: map[string]int{}, last: map[string]string{}}
			res, err := Run(sc, profile(t, name), 5, Options{Observer: l})
			if err != nil {
				t.Fatal(err)
			}
			l.endStep()
			m := &res.Metrics
			if l.abrupt < 6 || l.graceful < 6 || m.WillsPublished != int64(l.abrupt) {
				t.Errorf("%d abrupt losses, %d DISCONNECTs, %d Wills; want >= 6 of each and a Will per abrupt loss",
					l.abrupt, l.graceful, m.WillsPublished)
			}
			// Every SUBSCRIBE of the clean backend carries both filters, and
			// the one after the outage replays every device's status.
			if len(l.subscribes) < 2 {
				t.Fatalf("backend subscribed %d times, want again after the outage", len(l.subscribes))
			}
			for _, s := range l.subscribes {
				if len(s) != 2 || s[0].Filter != "tele/+" || s[1].Filter != "status/#" {
					t.Errorf("backend SUBSCRIBE %v, want tele/+ and status/# in one packet", s)
				}
			}
			if got := len(l.retained[len(l.retained)-1]); got != 6 {
				t.Errorf("after its last SUBSCRIBE the backend was replayed %d retained statuses, want 6", got)
			}
			if m.RetainedReplayed < 6 || m.RetainedDelivered != m.RetainedReplayed || m.RetainedReceived != m.RetainedDelivered {
				t.Errorf("retained replayed %d, delivered %d, received %d; want >= 6, all delivered and received",
					m.RetainedReplayed, m.RetainedDelivered, m.RetainedReceived)
			}
			// Healed, every device is online and the backend knows it.
			for _, g := range sc.Groups[:2] {
				for i := 0; i < g.Count; i++ {
					topic := "status/" + g.Name + "-" + string(rune('0'+i))
					if l.last[topic] != "online" {
						t.Errorf("backend's last status of %s is %q, want online", topic, l.last[topic])
					}
				}
			}
			// The backend's view was wrong in short episodes: a status on its
			// way, a Will waiting for the keepalive, the outage.
			if w := &m.StatusWrong; w.Count < int64(l.abrupt+l.graceful) || m.StatusWrongAtEnd != 0 || w.Max > 5*60 {
				t.Errorf("status wrong %d times (max %.1fs), %d at the end; want at least once per disconnect, at most 5 min, none at the end",
					w.Count, w.Max, m.StatusWrongAtEnd)
			}
			t.Logf("status wrong: n=%d p50=%.3fs p99=%.1fs max=%.1fs", m.StatusWrong.Count, m.StatusWrong.P50, m.StatusWrong.P99, m.StatusWrong.Max)
			// Conservation (invariant 15): nothing owed is left unaccounted.
			if m.Copies != m.Delivered+m.DroppedTotal+m.Pending || m.Pending != 0 || m.Unreceived != 0 {
				t.Errorf("copies %d, delivered %d, dropped %d, pending %d, unreceived %d; want all delivered or dropped",
					m.Copies, m.Delivered, m.DroppedTotal, m.Pending, m.Unreceived)
			}
		})
	}
}
