package main

import (
	"cmp"
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
	"sync/atomic"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/sessionlab/sessionlab/broker"
	"github.com/sessionlab/sessionlab/broker/auth"
	"github.com/sessionlab/sessionlab/broker/tcp"
	"github.com/sessionlab/sessionlab/properties/history"
)

func init() {
	commands["serve"] = command{
		summary: "serve real MQTT 3.1.1 and 3.1 clients over TCP and TLS on the broker core",
		run:     runServe,
	}
}

const serveHelp = `usage: sessionlab serve [flags]

Serve MQTT 3.1.1 and MQTT 3.1 ("MQIsdp", client ids of 1 to 23 characters)
over TCP and TLS with the broker core under a vendor profile, until SIGINT or
SIGTERM (then stop accepting, close every connection and exit 0).

Sessions live in memory, unless --data DIR keeps them durably: then every
acknowledgement (CONNACK, SUBACK, PUBACK, ...) and QoS 2 PUBLISH waits for
the sync of what it promises (commits are grouped across connections), a
restart (also after SIGKILL or a power cut) restores persistent sessions,
their subscriptions, queued and in-flight messages, and retained messages,
and the broker's clock goes on across restarts, so a session whose expiry
passes while serve is down is expired at boot.

TLS: --tls-listen with --cert and --key, next to --listen or instead of it
(--listen ''). With --client-ca every TLS client must present a certificate
signed by one of those CAs, valid now, with a subject common name (CN): the
CN is the client's user for --acl and owns the sessions it creates, whatever
user name and password the CONNECT carries (Mosquitto's
use_identity_as_username). SANs are not used for clients. An expired
certificate, an unknown CA, a missing CN or a client refusing our certificate
is logged with the reason. SIGHUP reloads --cert, --key and --client-ca;
open connections keep theirs, and on a read error the old ones stay.

Logs (--log-level): one info line per accepted or refused CONNECT and per
disconnect, with client id, user, remote address and reason; --log-level warn
leaves them out.

--metrics ADDR serves /metrics (sessionlab_*, go_* and process_* series) and
/readyz (200 once every MQTT listener accepts, 503 before and while stopping).

--config FILE reads settings from FILE: one "key value" per line, the keys
being these flags' names without dashes (listen 127.0.0.1:1883,
allow-anonymous true); # starts a comment line; quote a value with "" to
give an empty one. Flags on the command line win. An unknown key is an
error naming the line.

--memory-limit BYTES bounds the bytes held in large partly received packets
and in message payloads together (Mosquitto's memory_limit): at the limit a
new connection, a growing partial packet or a PUBLISH is refused (the
publisher is disconnected), logged and counted in
sessionlab_memory_refusals_total; the server keeps running.

examples:
  sessionlab serve
  sessionlab serve --listen 127.0.0.1:1884 --profile tencent --metrics 127.0.0.1:9464
  mosquitto_passwd -c -b passwd alice secret
  sessionlab serve --passwords passwd --acl acl.conf
  mosquitto_sub -h 127.0.0.1 -p 1884 -c -i dev-1 -q 1 -t 'sensors/#'
  sessionlab serve --history run.jsonl   # then: sessionlab check run.jsonl
  sessionlab serve --listen '' --tls-listen :8883 --cert server.crt --key server.key --client-ca ca.crt --acl acl.conf
  mosquitto_sub -p 8883 --cafile ca.crt --cert dev-1.crt --key dev-1.key -c -i dev-1 -q 1 -t 'cmd/#'
  sessionlab serve --config serve.conf --log-level debug
  sessionlab serve --data /var/lib/sessionlab

It exits 0 when stopped by a signal; 2 on a bad flag or --config line, an
unreadable --passwords/--acl/--cert/--key/--client-ca file, an address or
--history file it cannot open, or a --data directory that is not a
sessionlab store, is damaged, or was written by a newer sessionlab; 1 (a
crash) when the running server fails.`

// serveOptions are the parsed flags of serve.
type serveOptions struct {
	listen, profile, metrics, passwords, acl string
	history, config, data                    string
	tlsListen, cert, key, clientCA           string
	anonymous                                bool
	logLevel                                 slog.Level
	server                                   tcp.Config
	tls                                      *tcp.TLS // loaded from cert, key and clientCA
	tuneGC                                   bool     // run serveGC once the state is loaded (the command, not tests)
}

// runServe is the serve subcommand.
func runServe(args []string, stdout, stderr io.Writer) int {
	opts, code, ok := parseServe(args, stdout, stderr)
	if !ok {
		return code
	}
	opts.tuneGC = true // after a --data restore: a boot tuned for a small heap collects without end
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
	fs := o.flags()
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
	if o.config != "" {
		if err := applyConfigFile(fs, o.config); err != nil {
			return usageError("--config: %v", err)
		}
	}
	if err := o.check(); err != nil {
		return usageError("%v", err)
	}
	return o, exitOK, true
}

// flags returns serve's flag set, writing into o.
func (o *serveOptions) flags() *flag.FlagSet {
	fs := flag.NewFlagSet("sessionlab serve", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.StringVar(&o.listen, "listen", "127.0.0.1:1883", "TCP `address` to accept plain MQTT connections on ('' for none)")
	fs.StringVar(&o.tlsListen, "tls-listen", "", "TCP `address` to accept MQTT over TLS on (needs --cert and --key)")
	fs.StringVar(&o.cert, "cert", "", "the TLS listener's PEM certificate (chain) `file`")
	fs.StringVar(&o.key, "key", "", "the TLS listener's PEM private key `file`")
	fs.StringVar(&o.clientCA, "client-ca", "", "PEM `file` of the CAs whose client certificates are required; the subject CN becomes the user")
	fs.StringVar(&o.config, "config", "", "read settings from `file` (\"key value\" lines, keys are these flags' names)")
	fs.Int64Var(&o.server.MemoryLimit, "memory-limit", 0, "bound the `bytes` held in partial packets and payloads together (0: no limit)")
	fs.StringVar(&o.profile, "profile", "mosquitto", "vendor `profile`: "+strings.Join(broker.ProfileNames(), ", ")+", or a profile file")
	fs.StringVar(&o.metrics, "metrics", "", "serve Prometheus metrics on http://`ADDR`/metrics and readiness on /readyz (off when empty)")
	fs.StringVar(&o.passwords, "passwords", "", "mosquitto_passwd `file` ($7$ PBKDF2-SHA512 or $6$ SHA512 entries); refuse unknown users")
	fs.StringVar(&o.acl, "acl", "", "Mosquitto acl_file `file` (topic/user/pattern lines)")
	fs.StringVar(&o.history, "history", "", "record every session event to `file` (JSON lines) for \"sessionlab check\"")
	fs.StringVar(&o.data, "data", "", "keep sessions, subscriptions, queued and in-flight messages and retained messages durably in `directory` (created if absent); acknowledgements wait for the sync")
	fs.BoolVar(&o.anonymous, "allow-anonymous", false, "with --passwords, also accept CONNECTs without a user name")
	fs.IntVar(&o.server.MaxConnections, "max-connections", tcp.DefaultMaxConnections, "most connections open at once")
	fs.IntVar(&o.server.MaxPacketSize, "max-packet-size", tcp.DefaultMaxPacketSize, "largest inbound packet in `bytes`")
	fs.DurationVar(&o.server.ConnectTimeout, "connect-timeout", tcp.DefaultConnectTimeout, "close connections that send no CONNECT within this `time`")
	fs.IntVar(&o.server.WriteBuffer, "write-buffer", tcp.DefaultWriteBuffer, "`bytes` queued per connection before it is treated as lost")
	fs.TextVar(&o.server.Reader, "reader", tcp.ReaderDefault, "how sockets are read: epoll (one event loop; the default on Linux) or goroutine (one per connection)")
	fs.TextVar(&o.logLevel, "log-level", slog.LevelInfo, "log `level`: debug, info (a line per connect and disconnect), warn, error")
	return fs
}

// check validates the parsed settings and loads the files they name.
func (o *serveOptions) check() error {
	if _, err := parseProfiles(o.profile); err != nil {
		return fmt.Errorf("--profile: %v", err)
	}
	for _, f := range []struct {
		name string
		v    int
	}{{"max-connections", o.server.MaxConnections}, {"max-packet-size", o.server.MaxPacketSize}, {"write-buffer", o.server.WriteBuffer}} {
		if f.v <= 0 {
			return fmt.Errorf("--%s: must be positive, got %d", f.name, f.v)
		}
	}
	if o.server.ConnectTimeout <= 0 {
		return fmt.Errorf("--connect-timeout: must be positive, got %v", o.server.ConnectTimeout)
	}
	if o.server.MemoryLimit < 0 {
		return fmt.Errorf("--memory-limit: must not be negative, got %d", o.server.MemoryLimit)
	}
	if o.anonymous && o.passwords == "" {
		return errors.New("--allow-anonymous: needs --passwords")
	}
	if err := o.loadTLS(); err != nil {
		return err
	}
	return o.loadAccess()
}

// loadTLS checks the TLS flags and loads the certificates they name.
func (o *serveOptions) loadTLS() error {
	switch {
	case o.listen == "" && o.tlsListen == "":
		return errors.New("nothing to listen on: give --listen or --tls-listen")
	case o.tlsListen == "" && (o.cert != "" || o.key != "" || o.clientCA != ""):
		return errors.New("--cert, --key and --client-ca: need --tls-listen")
	case o.tlsListen == "":
		return nil
	case o.cert == "" || o.key == "":
		return errors.New("--tls-listen: needs --cert and --key")
	}
	t, err := tcp.LoadTLS(o.cert, o.key, o.clientCA)
	if err != nil {
		return fmt.Errorf("--cert/--key/--client-ca: %w", err)
	}
	o.tls = t
	return nil
}

// loadAccess reads --passwords and --acl into o.server.Broker's
// Authenticator and Authorizer, naming the flag in errors.
func (o *serveOptions) loadAccess() error {
	policy, err := resolveProfile(o.profile)
	if err != nil {
		return fmt.Errorf("--profile: %w", err)
	}
	o.server.Broker.Policy = policy
	var passwords broker.Authenticator
	if o.passwords != "" {
		p, err := auth.LoadPasswords(o.passwords)
		if err != nil {
			return fmt.Errorf("--passwords: %w", err)
		}
		p.AllowAnonymous = o.anonymous
		passwords = p
	}
	if o.clientCA != "" {
		// The certificate's CN is the user; plain and certificate-less
		// clients are checked by --passwords, if given.
		passwords = auth.NewCertificates(passwords)
	}
	if passwords != nil {
		owners := auth.NewOwners(passwords)
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
// ready is not nil it receives the first listener's address (the plain one,
// if any) once every listener accepts.
func serve(ctx context.Context, o serveOptions, ready chan<- net.Addr, stderr io.Writer) int {
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: o.logLevel}))
	o.server.Logger = log
	var metrics *http.Server
	var accepting atomic.Bool // for /readyz
	var reg *prometheus.Registry
	if o.metrics != "" {
		reg = prometheus.NewRegistry()
		m, err := tcp.NewMetrics(reg)
		if err == nil {
			err = errors.Join(reg.Register(collectors.NewGoCollector()),
				reg.Register(collectors.NewProcessCollector(collectors.ProcessCollectorOpts{})))
		}
		if err != nil {
			log.Error("metrics", "err", err)
			return exitUsage
		}
		o.server.Metrics = m
		mux := http.NewServeMux()
		mux.Handle("/metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{Registry: reg}))
		mux.Handle("/readyz", readiness(&accepting))
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
	var storeReg prometheus.Registerer
	if reg != nil {
		storeReg = reg
	}
	srv, closeStore, err := newServer(o, storeReg, log)
	if err != nil {
		log.Error("configuration", "err", err)
		return exitUsage
	}
	defer closeStore() // after srv.Close (deferred later, so run earlier): its last commit is done
	defer srv.Close()
	errs := make(chan error, 3)
	if metrics != nil {
		mln, err := net.Listen("tcp", o.metrics)
		if err != nil {
			log.Error("metrics listen", "err", err)
			return exitUsage
		}
		go func() { errs <- metrics.Serve(mln) }()
		defer metrics.Close()
		log.Info("metrics", "url", "http://"+mln.Addr().String()+"/metrics", "ready", "http://"+mln.Addr().String()+"/readyz")
	}
	var first net.Addr
	var addrs []any
	for _, l := range []struct {
		name, addr string
		tls        *tcp.TLS
	}{{"addr", o.listen, nil}, {"tls_addr", o.tlsListen, o.tls}} {
		if l.addr == "" {
			continue
		}
		ln, err := net.Listen("tcp", l.addr)
		if err != nil {
			log.Error("listen", "addr", l.addr, "err", err)
			return exitUsage
		}
		if l.tls != nil {
			go func() { errs <- srv.ServeTLS(ln, l.tls) }()
		} else {
			go func() { errs <- srv.Serve(ln) }()
		}
		first = cmp.Or(first, ln.Addr())
		addrs = append(addrs, l.name, ln.Addr().String())
	}
	accepting.Store(true)
	log.Info("serving MQTT 3.1.1 and 3.1", append(addrs, "profile", o.profile, "passwords", o.passwords != "",
		"acl", o.acl != "", "client_ca", o.clientCA != "", "memory_limit", o.server.MemoryLimit)...)
	if ready != nil {
		ready <- first
	}
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	for {
		select {
		case <-hup:
			reload(o.tls, log)
		case <-ctx.Done():
			accepting.Store(false)
			log.Info("shutting down", "connections", srv.Connections())
			srv.Close()
			return exitOK
		case err := <-errs:
			log.Error(failCrash+": server failed", "err", err)
			return exitFailed
		}
	}
}

// readiness answers /readyz: 200 while accepting is set (every MQTT
// listener accepts connections), 503 before and while shutting down.
func readiness(accepting *atomic.Bool) http.HandlerFunc {
	return func(w http.ResponseWriter, _ *http.Request) {
		if !accepting.Load() {
			http.Error(w, "not ready", http.StatusServiceUnavailable)
			return
		}
		io.WriteString(w, "ready\n")
	}
}

// reload reads the TLS certificates again on SIGHUP; on error the ones in
// use stay.
func reload(t *tcp.TLS, log *slog.Logger) {
	if t == nil {
		log.Info("SIGHUP: nothing to reload (no --tls-listen)")
		return
	}
	if err := t.Reload(); err != nil {
		log.Error("SIGHUP: TLS certificates not reloaded; keeping the previous ones", "err", err)
		return
	}
	log.Info("SIGHUP: TLS certificates reloaded")
}
