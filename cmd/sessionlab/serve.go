package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/sessionlab/sessionlab/broker"
	"github.com/sessionlab/sessionlab/broker/auth"
	"github.com/sessionlab/sessionlab/broker/tcp"
	"github.com/sessionlab/sessionlab/properties/history"
)

func init() {
	commands["serve"] = command{
		summary: "serve real MQTT 3.1.1 clients over TCP on the broker core",
		run:     runServe,
	}
}

const serveHelp = `usage: sessionlab serve [flags]

Serve MQTT 3.1.1 over TCP with the broker core under a vendor profile, until
SIGINT or SIGTERM (then stop accepting, close every connection and exit 0).
Sessions live in memory.

examples:
  sessionlab serve
  sessionlab serve --listen 127.0.0.1:1884 --profile tencent --metrics 127.0.0.1:9464
  mosquitto_passwd -c -b passwd alice secret
  sessionlab serve --passwords passwd --acl acl.conf
  mosquitto_sub -h 127.0.0.1 -p 1884 -c -i dev-1 -q 1 -t 'sensors/#'
  sessionlab serve --history run.jsonl   # then: sessionlab check run.jsonl

It exits 0 when stopped by a signal; 2 on a bad flag, an unreadable
--passwords/--acl file, or an address or --history file it cannot open;
1 (a crash) when the running server fails.`

// serveOptions are the parsed flags of serve.
type serveOptions struct {
	listen, profile, metrics, passwords, acl string
	history                                  string
	anonymous                                bool
	logLevel                                 slog.Level
	server                                   tcp.Config
}

// runServe is the serve subcommand.
func runServe(args []string, stdout, stderr io.Writer) int {
	opts, code, ok := parseServe(args, stdout, stderr)
	if !ok {
		return code
	}
	serveGC()
	return serveUntilSignal(opts, nil, stderr)
}

// serveUntilSignal serves until SIGINT or SIGTERM.
func serveUntilSignal(opts serveOptions, ready chan<- net.Addr, stderr io.Writer) int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	return serve(ctx, opts, ready, stderr)
}

// parseServe parses serve's flags and loads the files they name. When the
// command must stop it returns ok=false and the exit code: exitOK after
// --help, exitUsage after naming the bad flag on stderr.
func parseServe(args []string, stdout, stderr io.Writer) (serveOptions, int, bool) {
	var o serveOptions
	fs := flag.NewFlagSet("sessionlab serve", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.StringVar(&o.listen, "listen", "127.0.0.1:1883", "TCP `address` to accept MQTT connections on")
	fs.StringVar(&o.profile, "profile", "mosquitto", "vendor `profile`: "+strings.Join(broker.ProfileNames(), ", ")+", or a profile file")
	fs.StringVar(&o.metrics, "metrics", "", "serve Prometheus metrics on http://`ADDR`/metrics (off when empty)")
	fs.StringVar(&o.passwords, "passwords", "", "mosquitto_passwd `file` ($7$ PBKDF2-SHA512 or $6$ SHA512 entries); refuse unknown users")
	fs.StringVar(&o.acl, "acl", "", "Mosquitto acl_file `file` (topic/user/pattern lines)")
	fs.StringVar(&o.history, "history", "", "record every session event to `file` (JSON lines) for \"sessionlab check\"")
	fs.BoolVar(&o.anonymous, "allow-anonymous", false, "with --passwords, also accept CONNECTs without a user name")
	fs.IntVar(&o.server.MaxConnections, "max-connections", tcp.DefaultMaxConnections, "most connections open at once")
	fs.IntVar(&o.server.MaxPacketSize, "max-packet-size", tcp.DefaultMaxPacketSize, "largest inbound packet in `bytes`")
	fs.DurationVar(&o.server.ConnectTimeout, "connect-timeout", tcp.DefaultConnectTimeout, "close connections that send no CONNECT within this `time`")
	fs.IntVar(&o.server.WriteBuffer, "write-buffer", tcp.DefaultWriteBuffer, "`bytes` queued per connection before it is treated as lost")
	fs.TextVar(&o.server.Reader, "reader", tcp.ReaderDefault, "how sockets are read: epoll (one event loop; the default on Linux) or goroutine (one per connection)")
	fs.TextVar(&o.logLevel, "log-level", slog.LevelInfo, "log `level`: debug, info, warn, error")
	usageError := func(format string, a ...any) (serveOptions, int, bool) {
		fmt.Fprintf(stderr, "sessionlab serve: %s\nRun \"sessionlab serve --help\" for usage.\n", fmt.Sprintf(format, a...))
		return o, exitUsage, false
	}
	if err := fs.Parse(args); errors.Is(err, flag.ErrHelp) {
		printHelp(stdout, serveHelp, fs)
		return o, exitOK, false
	} else if err != nil {
		return usageError("%v", err)
	}
	if fs.NArg() > 0 {
		return usageError("unexpected argument %q", fs.Arg(0))
	}
	if _, err := parseProfiles(o.profile); err != nil {
		return usageError("--profile: %v", err)
	}
	for _, f := range []struct {
		name string
		v    int
	}{{"max-connections", o.server.MaxConnections}, {"max-packet-size", o.server.MaxPacketSize}, {"write-buffer", o.server.WriteBuffer}} {
		if f.v <= 0 {
			return usageError("--%s: must be positive, got %d", f.name, f.v)
		}
	}
	if o.server.ConnectTimeout <= 0 {
		return usageError("--connect-timeout: must be positive, got %v", o.server.ConnectTimeout)
	}
	if o.anonymous && o.passwords == "" {
		return usageError("--allow-anonymous: needs --passwords")
	}
	if err := o.loadAccess(); err != nil {
		return usageError("%v", err)
	}
	return o, exitOK, true
}

// loadAccess reads --passwords and --acl into o.server.Broker's
// Authenticator and Authorizer, naming the flag in errors.
func (o *serveOptions) loadAccess() error {
	policy, err := resolveProfile(o.profile)
	if err != nil {
		return fmt.Errorf("--profile: %w", err)
	}
	o.server.Broker.Policy = policy
	if o.passwords != "" {
		p, err := auth.LoadPasswords(o.passwords)
		if err != nil {
			return fmt.Errorf("--passwords: %w", err)
		}
		p.AllowAnonymous = o.anonymous
		owners := auth.NewOwners(p)
		o.server.Broker.Auth = owners
		o.server.Observer = owners.Observe
	}
	if o.acl != "" {
		a, err := auth.LoadACL(o.acl)
		if err != nil {
			return fmt.Errorf("--acl: %w", err)
		}
		o.server.Broker.Authorize = a
		if o.server.Broker.Auth == nil {
			o.server.Broker.Auth = auth.Anyone{}
		}
	}
	return nil
}

// chain returns an observer calling a (if not nil), then b.
func chain(a, b func(*broker.Record)) func(*broker.Record) {
	if a == nil {
		return b
	}
	return func(rec *broker.Record) { a(rec); b(rec) }
}

// serve runs the server until ctx is done and returns the exit code. When
// ready is not nil it receives the listener's address once accepting.
func serve(ctx context.Context, o serveOptions, ready chan<- net.Addr, stderr io.Writer) int {
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: o.logLevel}))
	o.server.Logger = log
	var metrics *http.Server
	if o.metrics != "" {
		reg := prometheus.NewRegistry()
		m, err := tcp.NewMetrics(reg)
		if err != nil {
			log.Error("metrics", "err", err)
			return exitUsage
		}
		o.server.Metrics = m
		mux := http.NewServeMux()
		mux.Handle("/metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{Registry: reg}))
		metrics = &http.Server{Addr: o.metrics, Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	}
	if o.history != "" {
		f, err := os.Create(o.history)
		if err != nil {
			log.Error("history", "err", err)
			return exitUsage
		}
		rec := history.NewRecorder(f, o.server.Broker.Policy)
		o.server.Observer = chain(o.server.Observer, rec.Step)
		defer func() { // after srv.Close (deferred later, so run earlier): the owner has stopped
			if err := errors.Join(rec.Flush(), f.Close()); err != nil {
				log.Error("history", "err", err)
			}
		}()
	}
	srv, err := tcp.New(o.server)
	if err != nil {
		log.Error("configuration", "err", err)
		return exitUsage
	}
	defer srv.Close()
	ln, err := net.Listen("tcp", o.listen)
	if err != nil {
		log.Error("listen", "err", err)
		return exitUsage
	}
	errs := make(chan error, 2)
	go func() { errs <- srv.Serve(ln) }()
	if metrics != nil {
		mln, err := net.Listen("tcp", o.metrics)
		if err != nil {
			log.Error("metrics listen", "err", err)
			return exitUsage
		}
		go func() { errs <- metrics.Serve(mln) }()
		defer metrics.Close()
		log.Info("metrics", "url", "http://"+mln.Addr().String()+"/metrics")
	}
	log.Info("serving MQTT 3.1.1", "addr", ln.Addr().String(), "profile", o.profile,
		"passwords", o.passwords != "", "acl", o.acl != "")
	if ready != nil {
		ready <- ln.Addr()
	}
	select {
	case <-ctx.Done():
		log.Info("shutting down", "connections", srv.Connections())
		srv.Close()
		return exitOK
	case err := <-errs:
		log.Error(failCrash+": server failed", "err", err)
		return exitFailed
	}
}
