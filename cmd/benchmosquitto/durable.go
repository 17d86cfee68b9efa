package main

import (
	"bufio"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/sessionlab/sessionlab/broker"
	"github.com/sessionlab/sessionlab/broker/packet"
	"github.com/sessionlab/sessionlab/broker/tcp"
	"github.com/sessionlab/sessionlab/store"
)

// durableServer is serve --data's server on the store in dir: loaded,
// recovered at the store's clock.
func durableServer(cfg tcp.Config, dir string) (*tcp.Server, error) {
	st, err := store.Open(dir, store.Options{Logger: cfg.Logger})
	if err != nil {
		return nil, err
	}
	img, err := st.Load()
	if err != nil {
		return nil, err
	}
	return tcp.NewDurable(cfg, tcp.Durable{Store: st, Image: img, Boot: max(time.Since(st.Epoch()), st.Clock())})
}

// compareDurable runs QoS 1 throughput, 1 -> 1 and 50 -> 1, to a
// persistent subscriber on mosquitto with persistence true, sessionlab in
// memory and sessionlab --data, each in a fresh process, for rounds rounds
// with the order rotated each round, and prints each figure's range and
// the ratios within each round.
func compareDurable(rounds int, profile string, reader tcp.Reader, cfg benchConfig) error {
	dir, err := os.MkdirTemp("", "bench-durable")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	if err := os.Chmod(dir, 0o755); err != nil { // mosquitto's own user writes below it
		return err
	}
	type brokerRun struct {
		name  string
		start func(round int) (*target, error)
	}
	brokers := []brokerRun{
		{"mosquitto (persistence true)", func(r int) (*target, error) {
			loc := filepath.Join(dir, fmt.Sprint("mosq-", r)) + "/"
			if err := os.MkdirAll(loc, 0o755); err != nil {
				return nil, err
			}
			// mosquitto run as root drops to its own user, which must be
			// able to write its snapshot there.
			if err := os.Chmod(loc, 0o777); err != nil {
				return nil, err
			}
			return startMosquittoConf(dir, "persistence true\npersistence_location "+loc+"\n")
		}},
		{"sessionlab", func(int) (*target, error) { return startSessionlab(profile, child{reader: reader}) }},
		{"sessionlab --data", func(r int) (*target, error) {
			return startSessionlab(profile, child{reader: reader, data: filepath.Join(dir, fmt.Sprint("slab-", r))})
		}},
	}
	fmt.Printf("QoS 1 throughput to one persistent subscriber (CleanSession=0), %d messages of %d B per run, publisher window %d, end-to-end window %d, profile %s, %d rounds\n\n",
		cfg.messages, len(cfg.payload), cfg.window, cfg.endToEnd, profile, rounds)
	rates := make([][2][]float64, len(brokers)) // broker -> 1->1, 50->1 -> per round
	for r := range rounds {
		for i := range brokers {
			b := (i + r) % len(brokers)
			t, err := brokers[b].start(r)
			if err != nil {
				return fmt.Errorf("%s: %w", brokers[b].name, err)
			}
			for k, pubs := range []int{1, 50} {
				fmt.Fprintf(os.Stderr, "round %d: %s %d -> 1\n", r, brokers[b].name, pubs)
				res, err := throughputSub(t.addr, pubs, cfg.messages, cfg.window, cfg.endToEnd, cfg.payload, true)
				if err != nil {
					t.stop()
					return fmt.Errorf("%s %d->1: %w", brokers[b].name, pubs, err)
				}
				if res.delivered != cfg.messages {
					fmt.Fprintf(os.Stderr, "  %s delivered %d of %d\n", brokers[b].name, res.delivered, cfg.messages)
				}
				rates[b][k] = append(rates[b][k], res.rate)
			}
			t.stop()
		}
	}
	w := tabwriter.NewWriter(os.Stdout, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintf(w, "figure (msg/s, min..max)\t%s\t%s\t%s\tdata/memory\tdata/mosquitto\t\n", brokers[0].name, brokers[1].name, brokers[2].name)
	for k, name := range []string{"QoS1 1->1", "QoS1 50->1"} {
		fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\t%s\t\n", name, span(rates[0][k]), span(rates[1][k]), span(rates[2][k]),
			ratioSpan(rates[2][k], rates[1][k]), ratioSpan(rates[2][k], rates[0][k]))
	}
	return w.Flush()
}

// span formats the range of xs.
func span(xs []float64) string {
	lo, hi := xs[0], xs[0]
	for _, x := range xs {
		lo, hi = min(lo, x), max(hi, x)
	}
	return fmt.Sprintf("%.0f..%.0f", lo, hi)
}

// ratioSpan formats the range of a[i]/b[i], round by round.
func ratioSpan(a, b []float64) string {
	var rs []float64
	for i := range a {
		rs = append(rs, a[i]/b[i])
	}
	lo, hi := rs[0], rs[0]
	for _, x := range rs {
		lo, hi = min(lo, x), max(hi, x)
	}
	return fmt.Sprintf("%.2f..%.2f", lo, hi)
}

// measureRestart builds a data directory in which sessions offline
// persistent sessions each hold queued messages of payload bytes (one
// topic they all subscribe to, then one publisher), driving the broker
// core and the store in-process, then times `sessionlab serve --data`
// from its start until it listens, checks one session's queue, and prints
// the size on disk per queued message.
//
// With keep set, the data directory is keep (built only if absent, and
// left in place), so that serve's boot can be timed again.
func measureRestart(sessions, queued, payload int, bin, keep string) error {
	dir, err := os.MkdirTemp("", "bench-restart")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	if bin == "" {
		bin = filepath.Join(dir, "sessionlab")
		out, err := exec.Command("go", "build", "-o", bin, "./cmd/sessionlab").CombinedOutput()
		if err != nil {
			return fmt.Errorf("go build ./cmd/sessionlab (run from the module's root, or pass -sessionlab): %v\n%s", err, out)
		}
	}
	data := filepath.Join(dir, "data")
	start := time.Now()
	if keep != "" {
		data = keep
	}
	if _, err := os.Stat(data); err == nil && keep != "" {
		fmt.Printf("using the data directory %s as it is\n", keep)
	} else if err := buildData(data, sessions, queued, payload); err != nil {
		return err
	}
	size, files, err := dirSize(data)
	if err != nil {
		return err
	}
	fmt.Printf("data directory of %d sessions x %d queued %d-byte messages (%v): %.1f MiB in %d files, %.1f bytes per queued message\n",
		sessions, queued, payload, time.Since(start).Round(time.Millisecond), float64(size)/(1<<20), files, float64(size)/float64(sessions*queued))
	if err := compactData(data); err != nil {
		return err
	}
	if size, files, err = dirSize(data); err != nil {
		return err
	}
	fmt.Printf("after a full compaction: %.1f MiB in %d files, %.1f bytes per queued message\n",
		float64(size)/(1<<20), files, float64(size)/float64(sessions*queued))

	addr, err := freePort()
	if err != nil {
		return err
	}
	cmd := exec.Command(bin, "serve", "--data", data, "--listen", addr, "--profile", "mosquitto")
	stderr, err := cmd.StderrPipe()
	if err != nil {
		return err
	}
	boot := time.Now()
	if err := cmd.Start(); err != nil {
		return err
	}
	defer func() {
		cmd.Process.Signal(os.Interrupt)
		cmd.Wait()
	}()
	sc := bufio.NewScanner(stderr)
	var restored string
	for sc.Scan() {
		line := sc.Text()
		if strings.Contains(line, "state restored") {
			restored = line
		}
		if strings.Contains(line, "serving MQTT") {
			break
		}
	}
	took := time.Since(boot)
	go func() {
		for sc.Scan() {
		}
	}()
	fmt.Printf("serve --data boot until listening: %v\n  %s\n", took.Round(time.Millisecond), restored)
	// A session not resumed before (a kept directory is timed again).
	id := fmt.Sprint("restart-", time.Now().UnixNano()%int64(sessions))
	c, present, err := dial(addr, id, false)
	if err != nil {
		return err
	}
	defer c.disconnect()
	n, _, err := c.receive(queued, 10*time.Second, nil)
	if err != nil || !present || n != queued {
		return fmt.Errorf("after the restart, session %s: SessionPresent=%v, %d of %d messages (%v)", id, present, n, queued, err)
	}
	fmt.Printf("session %s resumed with SessionPresent=1 and its %d messages\n", id, n)
	return nil
}

// buildData writes the data directory for measureRestart.
func buildData(dir string, sessions, queued, payload int) error {
	st, err := store.Open(dir, store.Options{MemTableSize: 64 << 20})
	if err != nil {
		return err
	}
	policy, err := broker.Profile("mosquitto")
	if err != nil {
		return err
	}
	b, err := broker.New(broker.Config{Policy: policy, Durable: true})
	if err != nil {
		return err
	}
	now := broker.Time(time.Since(st.Epoch()))
	steps := 0
	step := func(in broker.Input) error {
		rec := b.Step(now, in)
		if err := st.Write(rec.Changes); err != nil {
			return err
		}
		if steps++; steps%10_000 == 0 {
			return st.Commit()
		}
		return nil
	}
	conn := broker.ConnID(0)
	for i := range sessions {
		conn++
		for _, in := range []broker.Input{
			{Kind: broker.InOpen, Conn: conn},
			{Kind: broker.InPacket, Conn: conn, Packet: &packet.Connect{ProtocolName: "MQTT", ProtocolLevel: 4, ClientID: fmt.Sprint("restart-", i), KeepAlive: 600}},
			{Kind: broker.InPacket, Conn: conn, Packet: &packet.Subscribe{PacketID: 1, Subscriptions: []packet.Subscription{{Filter: "bench/restart", QoS: 1}}}},
			{Kind: broker.InPacket, Conn: conn, Packet: &packet.Disconnect{}},
		} {
			if err := step(in); err != nil {
				return err
			}
		}
	}
	conn++
	if err := step(broker.Input{Kind: broker.InOpen, Conn: conn}); err != nil {
		return err
	}
	if err := step(broker.Input{Kind: broker.InPacket, Conn: conn, Packet: &packet.Connect{ProtocolName: "MQTT", ProtocolLevel: 4, ClientID: "restart-pub", CleanSession: true, KeepAlive: 600}}); err != nil {
		return err
	}
	body := make([]byte, payload)
	for j := range queued {
		copy(body, fmt.Sprintf("%08d", j))
		if err := step(broker.Input{Kind: broker.InPacket, Conn: conn, Packet: &packet.Publish{Topic: "bench/restart", QoS: 1, PacketID: uint16(j + 1), Payload: append([]byte(nil), body...)}}); err != nil {
			return err
		}
		if err := st.Commit(); err != nil {
			return err
		}
	}
	if n := b.Stats().Queued; n != sessions*queued {
		return fmt.Errorf("built %d queued copies, want %d", n, sessions*queued)
	}
	return st.Close()
}

// compactData compacts the store in dir.
func compactData(dir string) error {
	st, err := store.Open(dir, store.Options{})
	if err != nil {
		return err
	}
	return errors.Join(st.Compact(), st.Close())
}

// dirSize returns the bytes and number of files under dir.
func dirSize(dir string) (int64, int, error) {
	var size int64
	files := 0
	err := filepath.WalkDir(dir, func(_ string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		size += info.Size()
		files++
		return nil
	})
	return size, files, err
}
