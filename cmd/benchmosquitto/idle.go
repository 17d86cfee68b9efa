package main

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"maps"
	"net"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"time"
)

// idleConfig sizes the idle memory figure.
type idleConfig struct {
	n          int           // idle persistent connections
	perProcess int           // connections held per holder process (each has its own descriptor limit)
	settle     time.Duration // time to wait, once all are open, before reading VmRSS again
	stats      bool          // print sessionlab's Go memory statistics per connection
	caFile     string        // -tls: the CA the holders trust
}

// idleResult is the growth of a broker's VmRSS per idle connection, right
// after the last one subscribed and after cfg.settle.
type idleResult struct {
	atOpen, settled float64 // bytes per connection
}

// idleMemory opens n persistent connections (CleanSession=0, keepalive 600
// s), each with one QoS 1 subscription of its own, and returns the growth of
// the target's resident memory per connection. The connections are held by
// child processes (this program re-executed with -hold), cfg.perProcess
// each, so that neither this process's descriptor limit nor its memory
// bounds n; holder k connects from 127.0.0.(2+k), so that no source address
// runs out of ephemeral ports. With stats, it also prints the growth of the
// target's Go memory statistics per connection (sessionlab child only).
func idleMemory(t *target, cfg idleConfig) (idleResult, error) {
	var r idleResult
	before, err := t.rss()
	if err != nil {
		return r, err
	}
	var statsBefore map[string]float64
	if cfg.stats {
		if statsBefore, err = t.memStats(); err != nil {
			return r, err
		}
	}
	var holders []*holder
	defer func() {
		for _, h := range holders {
			h.release()
		}
	}()
	for from, k := 0, 0; from < cfg.n; from, k = from+cfg.perProcess, k+1 {
		h, err := startHolder(t.addr, from, min(cfg.perProcess, cfg.n-from), fmt.Sprintf("127.0.0.%d", 2+k), cfg.caFile)
		if err != nil {
			return r, err
		}
		holders = append(holders, h)
	}
	for _, h := range holders {
		if err := h.wait(); err != nil {
			return r, err
		}
	}
	after, err := t.rss()
	if err != nil {
		return r, err
	}
	r.atOpen = float64(after-before) / float64(cfg.n)
	if cfg.settle > 0 {
		time.Sleep(cfg.settle) // let both brokers return what they freed, as a fleet that stays idle would
		if after, err = t.rss(); err != nil {
			return r, err
		}
	}
	r.settled = float64(after-before) / float64(cfg.n)
	fmt.Fprintf(os.Stderr, "%s: %d idle connections: VmRSS %d -> %d KiB; %.0f B per connection once open, %.0f B after %v\n",
		t.name, cfg.n, before>>10, after>>10, r.atOpen, r.settled, cfg.settle)
	if cfg.stats {
		statsAfter, err := t.memStats()
		if err != nil {
			return r, err
		}
		fmt.Fprintf(os.Stderr, "%s: per idle connection:", t.name)
		for _, name := range slices.Sorted(maps.Keys(statsAfter)) {
			fmt.Fprintf(os.Stderr, " %s %.1f", name, (statsAfter[name]-statsBefore[name])/float64(cfg.n))
		}
		fmt.Fprintln(os.Stderr)
	}
	return r, nil
}

// holder is a child process holding idle connections (see holdChild).
type holder struct {
	cmd *exec.Cmd
	in  io.WriteCloser
	out *bufio.Reader
}

// startHolder starts a holder of n connections from src, with client ids
// idle-from ... idle-(from+n-1).
func startHolder(addr string, from, n int, src, caFile string) (*holder, error) {
	cmd, in, out, err := startSelf("-hold", addr, "-hold-from", strconv.Itoa(from), "-hold-n", strconv.Itoa(n),
		"-hold-src", src, "-hold-ca", caFile)
	if err != nil {
		return nil, err
	}
	return &holder{cmd: cmd, in: in, out: out}, nil
}

// startSelf starts this program again with args, its stderr ours, and
// returns its stdin and stdout.
func startSelf(args ...string) (*exec.Cmd, io.WriteCloser, *bufio.Reader, error) {
	self, err := os.Executable()
	if err != nil {
		return nil, nil, nil, err
	}
	cmd := exec.Command(self, args...)
	cmd.Stderr = os.Stderr
	in, err := cmd.StdinPipe()
	if err != nil {
		return nil, nil, nil, err
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, nil, nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, nil, nil, err
	}
	return cmd, in, bufio.NewReader(out), nil
}

// wait returns once the holder's connections are all open and subscribed.
func (h *holder) wait() error {
	line, err := h.out.ReadString('\n')
	if err != nil {
		return fmt.Errorf("holder: %w", err)
	}
	if line = strings.TrimSpace(line); line != "ok" {
		return errors.New(line)
	}
	return nil
}

// release has the holder close its connections (without DISCONNECT: the
// sessions stay) and waits for it to exit.
func (h *holder) release() {
	h.in.Close()
	h.cmd.Wait()
}

// holdChild is the holder side: it opens n persistent connections from src,
// subscribes each, prints "ok" (or the first error) and holds them until its
// stdin closes.
func holdChild(addr string, from, n int, src, caFile string) int {
	if caFile != "" {
		var err error
		if clientTLS, err = clientConfig(caFile); err != nil {
			fmt.Println("error:", err)
			return 1
		}
	}
	local := &net.TCPAddr{IP: net.ParseIP(src)}
	conns := make([]net.Conn, n)
	err := parallel(n, 50, func(i int) error {
		c, _, err := dialFrom(addr, local, fmt.Sprint("idle-", from+i), false)
		if err != nil {
			return err
		}
		conns[i] = c.nc
		return c.subscribe(fmt.Sprint("idle/", from+i))
	})
	if err != nil {
		fmt.Println("error:", err)
	} else {
		fmt.Println("ok")
	}
	io.Copy(io.Discard, os.Stdin)
	for _, nc := range conns {
		if nc != nil {
			nc.Close()
		}
	}
	if err != nil {
		return 1
	}
	return 0
}
