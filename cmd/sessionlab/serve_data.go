package main

import (
	"fmt"
	"log/slog"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/sessionlab/sessionlab/broker"
	"github.com/sessionlab/sessionlab/broker/auth"
	"github.com/sessionlab/sessionlab/broker/tcp"
	"github.com/sessionlab/sessionlab/store"
)

// newServer creates serve's server: with --data, a durable one restored
// from the data directory (closeStore then commits and closes the store,
// after the server has closed); without, one in memory. reg, if not nil,
// gets the store's metrics. An error is a usage or input error (exit 2).
func newServer(o serveOptions, reg prometheus.Registerer, log *slog.Logger) (srv *tcp.Server, closeStore func(), err error) {
	if o.data == "" {
		log.Info("state is in memory only: sessions and queued messages are lost when serve stops (keep them with --data DIR)")
		if o.tuneGC {
			serveGC()
		}
		srv, err = tcp.New(o.server)
		return srv, func() {}, err
	}
	start := time.Now()
	st, err := store.Open(o.data, store.Options{Logger: log})
	if err != nil {
		return nil, nil, fmt.Errorf("--data: %w", err)
	}
	closeStore = func() {
		if err := st.Close(); err != nil {
			log.Error("closing the data directory", "err", err)
		}
	}
	img, err := st.Load()
	if err != nil {
		closeStore()
		return nil, nil, fmt.Errorf("--data: %w", err)
	}
	// The broker's clock is the wall-clock time since the store was created,
	// so that it goes on across restarts and downtime counts toward expiry;
	// never earlier than the latest time the store holds (a wall clock set
	// back while serve was down would otherwise make stored sessions
	// younger).
	boot := max(time.Since(st.Epoch()), st.Clock())
	if owners, ok := o.server.Broker.Auth.(*auth.Owners); ok {
		for id, s := range img.Sessions {
			owners.Bind(id, s.User)
		}
	}
	d := tcp.Durable{Store: st, Image: img, Boot: boot}
	if reg != nil {
		if d.Metrics, err = tcp.NewStoreMetrics(reg); err != nil {
			closeStore()
			return nil, nil, err
		}
	}
	srv, err = tcp.NewDurable(o.server, d)
	if err != nil {
		closeStore()
		return nil, nil, fmt.Errorf("--data: %s: restoring the durable state: %w", o.data, err)
	}
	if o.tuneGC {
		serveGC()
	}
	log.Info("state restored from the data directory", "dir", o.data, "sessions", len(img.Sessions),
		"queued", img.Copies(), "retained", len(img.Retained), "clock", broker.Time(boot).Round(time.Millisecond),
		"took", time.Since(start).Round(time.Millisecond))
	return srv, closeStore, nil
}
