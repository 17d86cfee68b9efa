// Command benchmosquitto compares sessionlab's TCP server with Debian's mosquitto
// on loopback, driving both with the same Go load generator, and prints the
// figures side by side with their ratio:
//
//   - QoS 1 throughput, 1 publisher -> 1 subscriber and 50 publishers -> 1
//     subscriber (messages per second, first publish to last receipt), and
//     the broker process's CPU time per message (/proc/PID/stat), which is
//     the fairer figure on a shared machine: mosquitto uses one thread,
//     sessionlab as many cores as it finds;
//   - drain time of 1,000 persistent sessions with 100 queued messages each,
//     all reconnecting at once (sessionlab under the hivemq profile; mosquitto
//     with its defaults, which the mosquitto profile mirrors);
//   - resident memory per idle persistent connection with one subscription
//     (VmRSS of the broker process before and after opening them).
//
// Usage:
//
//	go run ./cmd/benchmosquitto            # full sizes, about a minute
//	go run ./cmd/benchmosquitto -quick     # a tenth of the sizes
//	go run ./cmd/benchmosquitto -durable   # durability: mosquitto (persistence true), sessionlab, sessionlab --data
//	go run ./cmd/benchmosquitto -restart   # serve --data's boot with 100,000 offline sessions x 150 queued
//	go build -o /tmp/sessionlab ./cmd/sessionlab && go build -o /tmp/bench ./cmd/benchmosquitto
//	/tmp/bench -run idle -idle 100000 -sessionlab /tmp/sessionlab   # memory of "sessionlab serve" at 100,000
//	/tmp/bench -run tp -sessionlab /tmp/sessionlab -tls             # throughput over TLS
//
// Each broker runs as its own process; sessionlab's is this program
// re-executed with -serve PROFILE, or with -sessionlab BIN that binary's
// serve command. Idle connections are held by child processes (this program
// re-executed with -hold), -per-process each, from 127.0.0.2, 127.0.0.3 ...;
// both brokers need a descriptor limit (ulimit -n) above -idle.
package main

import (
	"flag"
	"fmt"
	"os"
	"runtime"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/sessionlab/sessionlab/broker/tcp"
)

func main() {
	serve := flag.String("serve", "", "internal: run as the sessionlab server with this `profile`")
	hold := flag.String("hold", "", "internal: hold idle connections to this `address`")
	holdFrom := flag.Int("hold-from", 0, "internal: the first idle client's number")
	holdN := flag.Int("hold-n", 0, "internal: idle connections to hold")
	holdSrc := flag.String("hold-src", "127.0.0.1", "internal: the idle connections' source address")
	holdCA := flag.String("hold-ca", "", "internal: the CA file of a -tls run")
	quick := flag.Bool("quick", false, "a tenth of every size")
	run := flag.String("run", "idle,tp,drain", "scenarios to run, comma-separated: idle (memory), tp (throughput), drain")
	messages := flag.Int("messages", 100_000, "QoS 1 messages per throughput run")
	sessions := flag.Int("sessions", 1000, "persistent sessions in the drain run")
	queued := flag.Int("queued", 100, "messages queued per session in the drain run")
	idle := flag.Int("idle", 5000, "idle persistent connections for the memory figure")
	perProcess := flag.Int("per-process", 15_000, "idle connections held per client process (and per source address)")
	settle := flag.Duration("settle", 5*time.Second, "wait this long with the idle connections open before reading VmRSS again")
	profile := flag.String("profile", "mosquitto", "sessionlab profile for throughput and memory")
	drainProfile := flag.String("drain-profile", "hivemq", "sessionlab profile for the drain run")
	window := flag.Int("window", 100, "unacknowledged QoS 1 messages per publisher")
	endToEnd := flag.Int("in-flight", 500, "throughput runs: most messages published and not yet received")
	payloadSize := flag.Int("payload", 64, "payload `bytes`")
	useTLS := flag.Bool("tls", false, "connect over TLS (a throwaway CA and server certificate; mosquitto gets a TLS listener, sessionlab serve --tls-listen --cert --key)")
	var ch child
	flag.TextVar(&ch.reader, "reader", tcp.ReaderDefault, "sessionlab's socket reader: default, epoll or goroutine")
	flag.StringVar(&ch.memProfile, "memprofile", "", "write sessionlab's heap profile with the idle connections open to `file`")
	flag.StringVar(&ch.bin, "sessionlab", "", "measure this sessionlab `binary`'s serve command instead of a tcp.Server in this program (with -restart: the binary to time; empty: go build ./cmd/sessionlab)")
	tlsCert := flag.String("tls-cert", "", "internal: the -serve child's TLS certificate")
	tlsKey := flag.String("tls-key", "", "internal: the -serve child's TLS key")
	memStats := flag.Bool("memstats", false, "print sessionlab's Go memory statistics per idle connection")
	flag.StringVar(&ch.data, "data", "", "internal: with -serve, serve durably with a store in this `directory`")
	durable := flag.Bool("durable", false, "compare durability instead: QoS 1 throughput to a persistent subscriber of mosquitto (persistence true), sessionlab in memory and sessionlab --data")
	rounds := flag.Int("rounds", 3, "with -durable: rounds, alternating the brokers' order")
	restart := flag.Bool("restart", false, "measure serve --data's restart instead: build a data directory of -restart-sessions offline sessions with -restart-queued messages each, then time serve's boot")
	restartSessions := flag.Int("restart-sessions", 100_000, "with -restart: offline persistent sessions")
	restartQueued := flag.Int("restart-queued", 150, "with -restart: messages queued per session")
	restartDir := flag.String("restart-dir", "", "with -restart: build the data directory here if absent, and keep it")
	flag.Parse()
	if *hold != "" {
		os.Exit(holdChild(*hold, *holdFrom, *holdN, *holdSrc, *holdCA))
	}
	if *serve != "" {
		if *tlsCert != "" {
			ch.tls = &certs{cert: *tlsCert, key: *tlsKey}
		}
		os.Exit(serveChild(*serve, ch))
	}
	if *restart {
		if err := measureRestart(*restartSessions, *restartQueued, *payloadSize, ch.bin, *restartDir); err != nil {
			fail(err)
		}
		return
	}
	if *durable {
		if *quick {
			*messages /= 10
		}
		if err := compareDurable(*rounds, *profile, ch.reader, benchConfig{messages: *messages, window: *window,
			endToEnd: *endToEnd, payload: make([]byte, *payloadSize)}); err != nil {
			fail(err)
		}
		return
	}
	if *quick {
		*messages, *sessions, *idle = *messages/10, *sessions/10, *idle/10
	}
	scenarios := map[string]bool{}
	for _, name := range strings.Split(*run, ",") {
		if name != "idle" && name != "tp" && name != "drain" {
			fail(fmt.Errorf("-run: unknown scenario %q (valid: idle, tp, drain)", name))
		}
		scenarios[name] = true
	}
	if *perProcess <= 0 || *idle <= 0 {
		fail(fmt.Errorf("-idle and -per-process must be positive"))
	}
	if (*memStats || ch.memProfile != "") && ch.bin != "" {
		fail(fmt.Errorf("-memstats and -memprofile need the in-process server (no -sessionlab)"))
	}
	cfg := benchConfig{messages: *messages, sessions: *sessions, queued: *queued,
		idle:   idleConfig{n: *idle, perProcess: *perProcess, settle: *settle, stats: *memStats || ch.memProfile != ""},
		window: *window, endToEnd: *endToEnd, payload: make([]byte, *payloadSize), run: scenarios}
	server := "tcp.Server in benchmosquitto, reader " + ch.reader.String()
	if ch.bin != "" {
		server = ch.bin + " serve"
	}
	transport := "TCP"
	if *useTLS {
		transport = "TLS"
	}
	fmt.Printf("loopback over %s, %d CPUs, %s; payload %d B, publisher window %d, end-to-end window %d; sessionlab: %s\n\n",
		transport, runtime.NumCPU(), runtime.Version(), *payloadSize, *window, *endToEnd, server)
	dir, err := os.MkdirTemp("", "bench-mosquitto")
	if err != nil {
		fail(err)
	}
	defer os.RemoveAll(dir)
	var tlsFiles *certs
	if *useTLS {
		c, err := makeCerts(dir)
		if err != nil {
			fail(err)
		}
		tlsFiles, ch.tls, cfg.idle.caFile = &c, &c, c.ca
		if clientTLS, err = clientConfig(c.ca); err != nil {
			fail(err)
		}
	}

	mosq, err := measure(func() (*target, error) { return startMosquitto(dir, tlsFiles) }, cfg)
	if err != nil {
		fail(fmt.Errorf("mosquitto: %w", err))
	}
	slab, err := measure(func() (*target, error) { return startSessionlab(*profile, ch) }, cfg.with(*drainProfile, ch))
	if err != nil {
		fail(fmt.Errorf("sessionlab: %w", err))
	}
	report(cfg, *profile, *drainProfile, mosq, slab)
}

// benchConfig holds the sizes of one comparison.
type benchConfig struct {
	messages, sessions, queued, window, endToEnd int
	idle                                         idleConfig
	payload                                      []byte
	run                                          map[string]bool // scenarios to run: idle, tp, drain

	// sessionlab only: a separate server for the drain run.
	drainProfile string
	child        child
}

func (c benchConfig) with(drainProfile string, ch child) benchConfig {
	c.drainProfile, c.child = drainProfile, ch
	return c
}

// results are one broker's figures.
type results struct {
	tp1, tp50 tpResult
	cpu1      float64 // broker CPU microseconds per delivered message, 1 -> 1
	cpu50     float64 // the same, 50 -> 1
	drain     time.Duration
	idle      idleResult // resident bytes per idle connection
}

// measure starts fresh broker processes from start and runs every scenario.
func measure(start func() (*target, error), cfg benchConfig) (results, error) {
	var r results
	t, err := start()
	if err != nil {
		return r, err
	}
	defer func() { t.stop() }()
	if cfg.run["idle"] {
		fmt.Fprintf(os.Stderr, "%s: idle memory with %d connections\n", t.name, cfg.idle.n)
		idle := cfg.idle
		idle.stats = idle.stats && t.out != nil
		if r.idle, err = idleMemory(t, idle); err != nil {
			return r, fmt.Errorf("idle memory: %w", err)
		}
	}
	for _, run := range []struct {
		pubs int
		tp   *tpResult
		cpu  *float64
	}{{1, &r.tp1, &r.cpu1}, {50, &r.tp50, &r.cpu50}} {
		if !cfg.run["tp"] {
			break
		}
		fmt.Fprintf(os.Stderr, "%s: throughput %d -> 1, %d messages\n", t.name, run.pubs, cfg.messages)
		before, err := t.cpu()
		if err != nil {
			return r, err
		}
		if *run.tp, err = throughput(t.addr, run.pubs, cfg.messages, cfg.window, cfg.endToEnd, cfg.payload); err != nil {
			return r, fmt.Errorf("throughput %d->1: %w", run.pubs, err)
		}
		after, err := t.cpu()
		if err != nil {
			return r, err
		}
		*run.cpu = float64((after - before).Microseconds()) / float64(run.tp.delivered)
	}
	if !cfg.run["drain"] {
		return r, nil
	}
	if cfg.drainProfile != "" {
		t.stop()
		ch := cfg.child
		ch.memProfile = ""
		if t, err = startSessionlab(cfg.drainProfile, ch); err != nil {
			return r, err
		}
	}
	fmt.Fprintf(os.Stderr, "%s: drain %d sessions x %d messages\n", t.name, cfg.sessions, cfg.queued)
	if r.drain, err = drain(t.addr, cfg.sessions, cfg.queued, cfg.window, cfg.payload); err != nil {
		return r, fmt.Errorf("drain: %w", err)
	}
	return r, nil
}

// report prints the table of the scenarios run.
func report(cfg benchConfig, profile, drainProfile string, mosq, slab results) {
	w := tabwriter.NewWriter(os.Stdout, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintf(w, "figure\tmosquitto\tsessionlab\tsessionlab/mosquitto\t\n")
	row := func(name, unit string, m, s float64) {
		fmt.Fprintf(w, "%s (%s)\t%.1f\t%.1f\t%.2f\t\n", name, unit, m, s, s/m)
	}
	if cfg.run["tp"] {
		row(fmt.Sprintf("QoS1 1->1 [%s]", profile), "msg/s", mosq.tp1.rate, slab.tp1.rate)
		row(fmt.Sprintf("QoS1 50->1 [%s]", profile), "msg/s", mosq.tp50.rate, slab.tp50.rate)
		row("broker CPU per message, 1->1", "us", mosq.cpu1, slab.cpu1)
		row("broker CPU per message, 50->1", "us", mosq.cpu50, slab.cpu50)
		row("  of which delivered, 1->1", "msgs", float64(mosq.tp1.delivered), float64(slab.tp1.delivered))
		row("  of which delivered, 50->1", "msgs", float64(mosq.tp50.delivered), float64(slab.tp50.delivered))
	}
	if cfg.run["drain"] {
		row(fmt.Sprintf("drain %dx%d [%s]", cfg.sessions, cfg.queued, drainProfile), "s", mosq.drain.Seconds(), slab.drain.Seconds())
	}
	if cfg.run["idle"] {
		row(fmt.Sprintf("RSS per idle persistent conn, n=%d, once open [%s]", cfg.idle.n, profile), "KiB", mosq.idle.atOpen/1024, slab.idle.atOpen/1024)
		row(fmt.Sprintf("RSS per idle persistent conn, n=%d, after %v [%s]", cfg.idle.n, cfg.idle.settle, profile), "KiB", mosq.idle.settled/1024, slab.idle.settled/1024)
	}
	w.Flush()
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "benchmosquitto:", err)
	os.Exit(1)
}
