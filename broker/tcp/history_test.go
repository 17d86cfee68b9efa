package tcp

import (
	"fmt"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/sessionlab/sessionlab/broker"
	"github.com/sessionlab/sessionlab/properties/history"
)

// TestHistoryOfRealClients records what the core reports while real Paho
// clients run a persistent-session workload over loopback (concurrent
// publishers, a subscriber that goes away and comes back, a takeover) and
// checks the history against the per-session specification with porcupine.
func TestHistoryOfRealClients(t *testing.T) {
	policy, err := broker.Profile("mosquitto")
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex // the recorder belongs to the owner goroutine; the test reads it at the end
	recorder := history.NewRecorder(nil, policy)
	s, addr, _ := startServer(t, Config{Broker: broker.Config{Policy: policy}, Observer: func(rec *broker.Record) {
		mu.Lock()
		recorder.Step(rec)
		mu.Unlock()
	}})

	subs := []string{"h-sub-1", "h-sub-2"}
	for _, id := range subs {
		c := connectPaho(t, addr, id, false)
		c.subscribe(t, "h/#", 1, 1)
		if id == "h-sub-2" {
			c.Disconnect(100) // offline while the publishers run
		}
	}
	var wg sync.WaitGroup
	for p := range 3 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			pub := connectPaho(t, addr, fmt.Sprint("h-pub-", p), true)
			for i := range 20 {
				pub.publish(t, fmt.Sprint("h/", p), 1, false, fmt.Sprint(p, "-", i))
			}
		}()
	}
	wg.Wait()
	back := connectPaho(t, addr, "h-sub-2", false)
	for range 60 {
		back.next(t)
	}
	takeover := connectPaho(t, addr, "h-sub-1", false) // closes the first h-sub-1
	takeover.subscribe(t, "end", 1, 1)
	takeover.publish(t, "end", 1, false, "end")
	for takeover.next(t).Topic() != "end" { // after redeliveries of what the first h-sub-1 had not acknowledged
	}
	s.Close()

	mu.Lock()
	ops := recorder.Ops()
	mu.Unlock()
	res, err := history.Check(policy, ops, filepath.Join(t.TempDir(), "history.html"), 20*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if !res.OK {
		t.Fatalf("history of %d operations: %v", len(ops), res)
	}
	t.Log(res)
}
