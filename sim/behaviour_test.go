package sim

import (
	"testing"
	"time"

	"github.com/sessionlab/sessionlab/broker"
	"github.com/sessionlab/sessionlab/sim/scenario"
)

func profile(t *testing.T, name string) broker.Policy {
	t.Helper()
	p, err := broker.Profile(name)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// TestScenariosShowTheirEffect runs each built-in scenario, small, under
// the real core and checks that the scenario does what it is for: the
// measurements a user would look for are there, and differ by profile
// the way the vendors' documents say they should.
func TestScenariosShowTheirEffect(t *testing.T) {
	tests := []struct {
		scenario string
		profile  string
		devices  int
		check    func(t *testing.T, m *Metrics)
	}{
		{"steady", "hivemq", 40, func(t *testing.T, m *Metrics) {
			atLeast(t, "received", m.Received, m.Copies*99/100)
			atMost(t, "pending at the end", m.Pending, 5)
			atMost(t, "dropped", m.DroppedTotal, 0)
		}},
		{"nightly-offline", "tencent", 40, func(t *testing.T, m *Metrics) {
			atLeast(t, "resumes", m.Resumes, 5)
			atLeast(t, "stored deliveries", m.LatencyStored.Count, 10)
			atLeast(t, "broker keepalive timeouts (power cuts)", m.KeepaliveKicks, 5)
			// Tencent replays one stored message per 500 ms
			// (Tencent Cloud IoT Hub, "MQTT Persistent Session"): drain >= (backlog-1) × 0.5 s.
			for _, r := range m.Replays {
				if r.Drain < float64(r.Backlog-1)*0.5-0.001 {
					t.Errorf("replay %v faster than 500 ms per message", r)
				}
			}
		}},
		{"nightly-offline", "aws", 40, func(t *testing.T, m *Metrics) {
			// AWS expires sessions 1 h after disconnect (AWS IoT Core, "MQTT persistent sessions");
			// devices are away about 8 h.
			atLeast(t, "expired", m.Expired, 5)
			atLeast(t, "dropped: session expired", m.Dropped["session-expired"], 1)
		}},
		{"outage-storm", "hivemq", 40, func(t *testing.T, m *Metrics) {
			atLeast(t, "dials (reconnect storm)", m.Dials, 3*int64(m.Devices))
			atLeast(t, "stored deliveries", m.LatencyStored.Count, 10)
			atMost(t, "pending at the end", m.Pending, 5)
		}},
		{"flaky-cellular", "mosquitto", 40, func(t *testing.T, m *Metrics) {
			atLeast(t, "device ping timeouts (half-open)", m.PingTimeouts, 5)
			atLeast(t, "broker keepalive timeouts", m.KeepaliveKicks, 5)
			atLeast(t, "connects", m.Connects, 2*int64(m.Devices))
		}},
		{"expiry-cliff", "tencent", 30, func(t *testing.T, m *Metrics) {
			// 25 h away > Tencent's 24 h expiry; 3 h away is not.
			atLeast(t, "expired", m.Expired, 1)
			atLeast(t, "resumes", m.Resumes, 1)
		}},
		{"overflow", "tencent", 20, func(t *testing.T, m *Metrics) {
			// Tencent stores up to 150 messages (Tencent Cloud IoT Hub, "MQTT Persistent Session").
			atLeast(t, "queue-full drops", m.Dropped["queue-full"], 100)
			if m.MaxQueueDepth != 150 {
				t.Errorf("max queue depth = %d, want the cap 150", m.MaxQueueDepth)
			}
		}},
		{"overflow", "hivemq", 20, func(t *testing.T, m *Metrics) {
			atLeast(t, "queue-full drops", m.Dropped["queue-full"], 100)
			if m.MaxQueueDepth != 1000 {
				t.Errorf("max queue depth = %d, want the cap 1000", m.MaxQueueDepth)
			}
		}},
		{"exactly-once", "hivemq", 40, func(t *testing.T, m *Metrics) {
			// QoS 2 end to end: the device de-duplicates re-sent copies
			// until PUBREL [MQTT-4.3.3-2], so its application sees each once.
			atMost(t, "duplicates", m.Duplicates, 0)
			atLeast(t, "received", m.Received, m.Copies-5)
		}},
		{"exactly-once", "aws", 20, func(t *testing.T, m *Metrics) {
			// AWS IoT Core does not support QoS 2 and ignores such publishes.
			atLeast(t, "refused: qos-unsupported", m.PublishRefused["qos-unsupported"], 1)
			atMost(t, "published", m.Published, 0)
		}},
	}
	for _, tt := range tests {
		t.Run(tt.scenario+"/"+tt.profile, func(t *testing.T) {
			sc := small(t, tt.scenario, tt.devices, 0)
			res, err := Run(sc, profile(t, tt.profile), 1, Options{})
			if err != nil {
				t.Fatal(err)
			}
			m := &res.Metrics
			if got := m.Delivered + m.DroppedTotal + m.Pending; got != m.Copies {
				t.Errorf("conservation: delivered+dropped+pending = %d, copies %d", got, m.Copies)
			}
			if m.Pending < 0 || m.Received > m.Copies {
				t.Errorf("ledger inconsistent: %v", res)
			}
			if n := len(m.Samples); n != int(sc.End()/sc.SampleEvery())+1 {
				t.Errorf("%d samples, want %d", n, int(sc.End()/sc.SampleEvery())+1)
			}
			tt.check(t, m)
			if t.Failed() {
				t.Logf("%v", res)
			}
		})
	}
}

func atLeast(t *testing.T, what string, got, min int64) {
	t.Helper()
	if got < min {
		t.Errorf("%s = %d, want at least %d", what, got, min)
	}
}

func atMost(t *testing.T, what string, got, max int64) {
	t.Helper()
	if got > max {
		t.Errorf("%s = %d, want at most %d", what, got, max)
	}
}

// TestProgressAndMaxEvents checks the progress callback and truncation.
func TestProgressAndMaxEvents(t *testing.T) {
	sc := small(t, "steady", 10, 10*time.Minute)
	var calls []Progress
	res, err := Run(sc, profile(t, "hivemq"), 1, Options{MaxEvents: 500, Progress: func(p Progress) { calls = append(calls, p) }})
	if err != nil {
		t.Fatal(err)
	}
	if !res.Truncated || res.Events != 500 {
		t.Errorf("Truncated = %v after %d events, want true after 500", res.Truncated, res.Events)
	}
	if len(calls) == 0 || calls[0].Now != 0 || calls[len(calls)-1].Events > 500 {
		t.Errorf("progress calls = %v", calls)
	}
}

// TestPublishRateFollowsPowerState checks the workload generator: a
// telemetry device publishes at its rate while powered on and not at all
// while off, however often it goes off and on.
func TestPublishRateFollowsPowerState(t *testing.T) {
	sc := scenario.Scenario{
		Name: "rate", Duration: 10 * time.Hour,
		Groups: []scenario.Group{{
			Name: "s", Kind: scenario.Telemetry, Count: 50, KeepAlive: time.Minute, Clean: true, QoS: 1,
			PublishEvery: time.Minute,
			Offline:      &scenario.Offline{Start: time.Hour, Every: 2 * time.Hour, For: time.Hour, Graceful: true},
		}},
	}
	res, err := Run(sc, profile(t, "hivemq"), 3, Options{})
	if err != nil {
		t.Fatal(err)
	}
	// On for 5 of the 10 hours: 50 devices × 300 minutes, less the
	// first 30 s of start-up and the odd QoS 1 message lost at power-off.
	want := 50.0 * 300
	if got := float64(res.Metrics.Published); got < want*0.93 || got > want*1.07 {
		t.Errorf("published %v, want %v ± 7%%", got, want)
	}
}
