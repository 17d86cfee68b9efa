package main

import (
	"fmt"
	"sync"
	"time"
)

// tpResult is one throughput run's outcome.
type tpResult struct {
	rate      float64 // delivered messages per second
	delivered int
}

// throughput runs pubs publishers sending total QoS 1 messages between them
// to one QoS 1 subscriber, with at most endToEnd messages published and not
// yet received at any time (below both brokers' queue cap of 1000, so that
// nothing is dropped). The rate is delivered messages per second, timed from
// the first publish to the subscriber's last receipt; should a broker drop
// messages anyway, they are not counted.
func throughput(addr string, pubs, total, window, endToEnd int, payload []byte) (tpResult, error) {
	return throughputSub(addr, pubs, total, window, endToEnd, payload, false)
}

// throughputSub is throughput with a persistent subscriber (CleanSession=0)
// when persistent: then every message is stored for it (a durable broker
// writes each one to disk before its PUBACK).
func throughputSub(addr string, pubs, total, window, endToEnd int, payload []byte, persistent bool) (tpResult, error) {
	gate := make(chan struct{}, endToEnd)
	run := time.Now().UnixNano()
	topic := fmt.Sprintf("bench/tp/%d", run)
	sub, _, err := dial(addr, fmt.Sprint("tp-sub-", run), !persistent)
	if err != nil {
		return tpResult{}, err
	}
	defer sub.disconnect()
	if err := sub.subscribe(topic); err != nil {
		return tpResult{}, err
	}
	clients := make([]*client, pubs)
	for i := range clients {
		if clients[i], _, err = dial(addr, fmt.Sprint("tp-pub-", run, "-", i), true); err != nil {
			return tpResult{}, err
		}
		defer clients[i].disconnect()
	}
	type receipt struct {
		n    int
		last time.Time
		err  error
	}
	received := make(chan receipt, 1)
	start := time.Now()
	go func() {
		n, last, err := sub.receive(total, 2*time.Second, gate)
		received <- receipt{n, last, err}
	}()
	errs := make(chan error, pubs)
	for i, c := range clients {
		n := total / pubs
		if i < total%pubs {
			n++
		}
		go func() { errs <- c.publish(n, window, func(int) string { return topic }, payload, gate) }()
	}
	for range pubs {
		if err := <-errs; err != nil {
			return tpResult{}, fmt.Errorf("publisher: %w", err)
		}
	}
	r := <-received
	if r.err != nil || r.n == 0 {
		return tpResult{}, fmt.Errorf("subscriber got %d: %v", r.n, r.err)
	}
	return tpResult{rate: float64(r.n) / r.last.Sub(start).Seconds(), delivered: r.n}, nil
}

// drain creates sessions persistent sessions, each subscribed to its own
// topic, queues perSession QoS 1 messages for each while they are offline,
// then reconnects them all at once and returns the time until every client
// has received (and acknowledged) all of its messages.
func drain(addr string, sessions, perSession, window int, payload []byte) (time.Duration, error) {
	run := time.Now().UnixNano()
	id := func(i int) string { return fmt.Sprintf("drain-%d-%d", run, i) }
	topic := func(i int) string { return fmt.Sprintf("drain/%d/%d", run, i) }
	err := parallel(sessions, 50, func(i int) error {
		c, _, err := dial(addr, id(i), false)
		if err != nil {
			return err
		}
		defer c.disconnect()
		return c.subscribe(topic(i))
	})
	if err != nil {
		return 0, fmt.Errorf("creating sessions: %w", err)
	}
	pub, _, err := dial(addr, fmt.Sprint("drain-pub-", run), true)
	if err != nil {
		return 0, err
	}
	defer pub.disconnect()
	if err := pub.publish(sessions*perSession, window, func(i int) string { return topic(i % sessions) }, payload, nil); err != nil {
		return 0, fmt.Errorf("queueing: %w", err)
	}
	start := time.Now()
	err = parallel(sessions, sessions, func(i int) error {
		c, present, err := dial(addr, id(i), false)
		if err != nil {
			return err
		}
		defer c.disconnect()
		if !present {
			return fmt.Errorf("%s: SessionPresent=0 on resume", id(i))
		}
		n, _, err := c.receive(perSession, 10*time.Second, nil)
		if err == nil && n < perSession {
			err = fmt.Errorf("%s: %d of %d queued messages arrived", id(i), n, perSession)
		}
		return err
	})
	return time.Since(start), err
}

// parallel runs f(0..n-1) with at most width running at once and returns the
// first error.
func parallel(n, width int, f func(i int) error) error {
	var (
		wg    sync.WaitGroup
		mu    sync.Mutex
		first error
	)
	slots := make(chan struct{}, width)
	for i := range n {
		slots <- struct{}{}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-slots }()
			if err := f(i); err != nil {
				mu.Lock()
				if first == nil {
					first = err
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	return first
}
