package main

import (
	"bufio"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/sessionlab/sessionlab/broker"
	"github.com/sessionlab/sessionlab/broker/tcp"
)

// target is one broker under test, running as its own process so that its
// resident memory can be read from /proc.
type target struct {
	name string
	addr string
	cmd  *exec.Cmd
	out  *bufio.Reader  // sessionlab: the child's stdout, for memStats
	in   io.WriteCloser // sessionlab: the child's stdin, for memStats
}

// freePort returns a loopback address that was free a moment ago.
func freePort() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer ln.Close()
	return ln.Addr().String(), nil
}

// startMosquitto starts Debian's mosquitto with its defaults
// (max_inflight_messages 20, max_queued_messages 1000), no persistence and
// anonymous access, on a free loopback port; with tls, its listener takes
// TLS with the run's server certificate.
func startMosquitto(dir string, tls *certs) (*target, error) {
	extra := "persistence false\n"
	if tls != nil {
		extra += "cafile " + tls.ca + "\ncertfile " + tls.cert + "\nkeyfile " + tls.key + "\n"
	}
	return startMosquittoConf(dir, extra)
}

// startMosquittoConf starts mosquitto with the extra configuration lines.
func startMosquittoConf(dir, extra string) (*target, error) {
	bin, err := exec.LookPath("mosquitto")
	if err != nil {
		return nil, fmt.Errorf("mosquitto not installed: apt-get install -y mosquitto")
	}
	addr, err := freePort()
	if err != nil {
		return nil, err
	}
	_, port, _ := net.SplitHostPort(addr)
	conf := filepath.Join(dir, "mosquitto.conf")
	body := "listener " + port + " 127.0.0.1\nallow_anonymous true\n" + extra + "log_dest stderr\nlog_type error\n"
	if err := os.WriteFile(conf, []byte(body), 0o600); err != nil {
		return nil, err
	}
	cmd := exec.Command(bin, "-c", conf)
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	t := &target{name: "mosquitto", addr: addr, cmd: cmd}
	return t, t.waitListening()
}

// child configures the sessionlab server process (see serveChild).
type child struct {
	reader     tcp.Reader // its socket reader
	memProfile string     // write a heap profile here on the second memory report
	data       string     // serve durably with a store in this directory (see durableServer)
	bin        string     // run this sessionlab binary's serve command instead of serveChild
	tls        *certs     // serve TLS with these
}

// startSessionlab re-executes this program as a sessionlab server with the
// named profile (see serveChild) and reads the address it listens on; or,
// with ch.bin, runs "ch.bin serve" on a free port.
func startSessionlab(profile string, ch child) (*target, error) {
	if ch.bin != "" {
		return startServe(profile, ch)
	}
	args := []string{"-serve", profile, "-reader", ch.reader.String(), "-memprofile", ch.memProfile, "-data", ch.data}
	if ch.tls != nil {
		args = append(args, "-tls-cert", ch.tls.cert, "-tls-key", ch.tls.key)
	}
	cmd, in, r, err := startSelf(args...)
	if err != nil {
		return nil, err
	}
	line, err := r.ReadString('\n')
	if err != nil {
		cmd.Process.Kill()
		return nil, fmt.Errorf("sessionlab child: %w", err)
	}
	name := "sessionlab/" + profile
	if ch.data != "" {
		name += " --data"
	}
	return &target{name: name, addr: strings.TrimSpace(line), cmd: cmd, out: r, in: in}, nil
}

// startServe runs "ch.bin serve" with the profile on a free loopback port
// (with ch.tls, a TLS listener on it; the plain listener then takes another
// free port) and waits until it accepts connections.
func startServe(profile string, ch child) (*target, error) {
	addr, err := freePort()
	if err != nil {
		return nil, err
	}
	args := []string{"serve", "--listen", addr, "--profile", profile, "--log-level", "warn"}
	if ch.reader != tcp.ReaderDefault {
		args = append(args, "--reader", ch.reader.String())
	}
	if ch.tls != nil {
		plain, err := freePort()
		if err != nil {
			return nil, err
		}
		args[2] = plain
		args = append(args, "--tls-listen", addr, "--cert", ch.tls.cert, "--key", ch.tls.key)
	}
	cmd := exec.Command(ch.bin, args...)
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	t := &target{name: "sessionlab serve/" + profile, addr: addr, cmd: cmd}
	if err := t.waitListening(); err != nil {
		t.stop()
		return nil, err
	}
	return t, nil
}

// memStats has a sessionlab target report its Go memory statistics (see
// serveChild), in bytes by name.
func (t *target) memStats() (map[string]float64, error) {
	if _, err := io.WriteString(t.in, "memstats\n"); err != nil {
		return nil, err
	}
	line, err := t.out.ReadString('\n')
	if err != nil {
		return nil, fmt.Errorf("memory statistics: %w", err)
	}
	stats := map[string]float64{}
	for _, field := range strings.Fields(line) {
		name, v, _ := strings.Cut(field, "=")
		if stats[name], err = strconv.ParseFloat(v, 64); err != nil {
			return nil, fmt.Errorf("memory statistics: %q", line)
		}
	}
	return stats, nil
}

// waitListening waits until the target accepts connections.
func (t *target) waitListening() error {
	for range 200 {
		if nc, err := net.DialTimeout("tcp", t.addr, time.Second); err == nil {
			nc.Close()
			return nil
		}
		time.Sleep(10 * time.Millisecond) // polling a child process's readiness, not synchronising logic
	}
	return fmt.Errorf("%s does not listen on %s", t.name, t.addr)
}

// stop terminates the target.
func (t *target) stop() {
	t.cmd.Process.Signal(syscall.SIGTERM)
	t.cmd.Wait()
}

// rss returns the target's resident set size in bytes (VmRSS).
func (t *target) rss() (int64, error) {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", t.cmd.Process.Pid))
	if err != nil {
		return 0, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), "VmRSS:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			return kb << 10, err
		}
	}
	return 0, fmt.Errorf("no VmRSS in /proc/%d/status", t.cmd.Process.Pid)
}

// cpu returns the CPU time (user + system) the target has used so far, from
// /proc/PID/stat, in clock ticks of 10 ms (USER_HZ is 100 on Linux).
func (t *target) cpu() (time.Duration, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", t.cmd.Process.Pid))
	if err != nil {
		return 0, err
	}
	// Fields after the parenthesised command name: state is field 3, utime 14, stime 15.
	_, rest, ok := strings.Cut(string(b), ") ")
	fields := strings.Fields(rest)
	if !ok || len(fields) < 13 {
		return 0, fmt.Errorf("unexpected /proc/%d/stat", t.cmd.Process.Pid)
	}
	utime, err1 := strconv.ParseInt(fields[11], 10, 64)
	stime, err2 := strconv.ParseInt(fields[12], 10, 64)
	if err1 != nil || err2 != nil {
		return 0, fmt.Errorf("unexpected /proc/%d/stat", t.cmd.Process.Pid)
	}
	return time.Duration(utime+stime) * 10 * time.Millisecond, nil
}

// serveChild is the sessionlab side: a tcp.Server with the profile on a free
// loopback port, printing its address on stdout, until SIGTERM. For each
// line on stdin it prints its Go memory statistics (see printMemStats).
func serveChild(profile string, ch child) int {
	policy, err := broker.Profile(profile)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	if ch.memProfile != "" {
		runtime.MemProfileRate = 1 // every allocation, for a byte-exact profile (slower)
	}
	cfg := tcp.Config{Broker: broker.Config{Policy: policy}, Reader: ch.reader,
		Logger: slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))}
	var srv *tcp.Server
	if ch.data != "" {
		st, err := durableServer(cfg, ch.data)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		srv = st
	} else if srv, err = tcp.New(cfg); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	if ch.tls != nil {
		cert, err := tls.LoadX509KeyPair(ch.tls.cert, ch.tls.key)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		ln = tls.NewListener(ln, &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12})
	}
	go srv.Serve(ln)
	fmt.Println(ln.Addr())
	go func() {
		requests := bufio.NewScanner(os.Stdin)
		for reports := 0; requests.Scan(); reports++ {
			printMemStats()
			if reports == 1 && ch.memProfile != "" {
				if err := writeHeapProfile(ch.memProfile); err != nil {
					fmt.Fprintln(os.Stderr, err)
				}
			}
		}
	}()
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGTERM, os.Interrupt)
	<-sig
	srv.Close()
	return 0
}

// printMemStats prints one line of name=bytes: the runtime's figures that
// make up the resident memory, then the live heap after a collection (live)
// and the goroutine count (goroutines).
func printMemStats() {
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	heapInuse, heapFree, stack, spans, gc, other := m.HeapInuse, m.HeapIdle-m.HeapReleased, m.StackInuse, m.MSpanInuse, m.GCSys, m.OtherSys
	runtime.GC()
	runtime.ReadMemStats(&m)
	fmt.Printf("heap_inuse=%d heap_free_unreleased=%d stack_inuse=%d mspan_inuse=%d gc_sys=%d other_sys=%d live=%d goroutines=%d\n",
		heapInuse, heapFree, stack, spans, gc, other, m.HeapAlloc, runtime.NumGoroutine())
}

// writeHeapProfile writes a heap profile to path.
func writeHeapProfile(path string) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	return errors.Join(pprof.WriteHeapProfile(f), f.Close())
}
