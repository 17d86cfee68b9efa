package tcp

import (
	"fmt"
	"sync/atomic"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/sessionlab/sessionlab/broker"
)

// Metrics exports the server's Prometheus metrics, computed from the core's
// observation events (the same events the simulator's checkers read) and the
// adapter's connection count. Create it with NewMetrics and set it as
// Config.Metrics; the owner goroutine updates it, scrapes read it
// concurrently through the collectors' own synchronisation.
type Metrics struct {
	connections  prometheus.Gauge
	sessions     *prometheus.GaugeVec // state=online|offline
	onlineGauge  prometheus.Gauge     // sessions{state="online"}
	offlineGauge prometheus.Gauge     // sessions{state="offline"}
	queued       prometheus.Gauge
	published    prometheus.Counter
	deliveries   prometheus.Counter
	redelivered  prometheus.Counter
	drops        *prometheus.CounterVec // reason
	expiries     prometheus.Counter
	refused      *prometheus.CounterVec // code
	overflows    prometheus.Counter
	tlsRefused   *prometheus.CounterVec // reason
	memRefused   *prometheus.CounterVec // what
	memory       atomic.Pointer[memory] // the server's, for memory_held_bytes

	// Owner goroutine only: what the gauges are computed from.
	online  map[string]bool     // ClientID -> online, for every session
	nOnline int                 // sessions with online == true
	inQueue map[queuedCopy]bool // copies enqueued and not yet sent or dropped
}

// queuedCopy names one subscriber's copy of one message.
type queuedCopy struct {
	client string
	msg    broker.MsgID
}

// NewMetrics creates the metrics and registers them with reg (use a fresh
// prometheus.NewRegistry, not the global one, so servers in one process do
// not collide). It fails if a name is already registered.
func NewMetrics(reg prometheus.Registerer) (*Metrics, error) {
	const ns = "sessionlab"
	m := &Metrics{
		connections: prometheus.NewGauge(prometheus.GaugeOpts{Namespace: ns, Name: "connections",
			Help: "TCP connections open."}),
		sessions: prometheus.NewGaugeVec(prometheus.GaugeOpts{Namespace: ns, Name: "sessions",
			Help: "Sessions by state (online: a connection is attached)."}, []string{"state"}),
		queued: prometheus.NewGauge(prometheus.GaugeOpts{Namespace: ns, Name: "queued_messages",
			Help: "Message copies waiting in session queues."}),
		published: prometheus.NewCounter(prometheus.CounterOpts{Namespace: ns, Name: "published_total",
			Help: "Application messages accepted (PUBLISH and Will)."}),
		deliveries: prometheus.NewCounter(prometheus.CounterOpts{Namespace: ns, Name: "deliveries_total",
			Help: "Copies delivered (QoS 0 sent, QoS 1 PUBACK, QoS 2 PUBREC)."}),
		redelivered: prometheus.NewCounter(prometheus.CounterOpts{Namespace: ns, Name: "redeliveries_total",
			Help: "PUBLISH packets re-sent with DUP=1."}),
		drops: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: ns, Name: "drops_total",
			Help: "Copies dropped, by reason."}, []string{"reason"}),
		expiries: prometheus.NewCounter(prometheus.CounterOpts{Namespace: ns, Name: "session_expiries_total",
			Help: "Persistent sessions expired."}),
		refused: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: ns, Name: "connects_refused_total",
			Help: "CONNECTs refused, by CONNACK return code."}, []string{"code"}),
		overflows: prometheus.NewCounter(prometheus.CounterOpts{Namespace: ns, Name: "write_overflows_total",
			Help: "Connections treated as lost because their write buffer filled."}),
		tlsRefused: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: ns, Name: "tls_handshake_failures_total",
			Help: "TLS handshakes refused, by reason (certificate-expired, unknown-authority, no-common-name, ...)."}, []string{"reason"}),
		memRefused: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: ns, Name: "memory_refusals_total",
			Help: "What --memory-limit refused, by what: connection, partial-packet, publish."}, []string{"what"}),
		online:  map[string]bool{},
		inQueue: map[queuedCopy]bool{},
	}
	for _, c := range []prometheus.Collector{m.connections, m.sessions, m.queued, m.published,
		m.deliveries, m.redelivered, m.drops, m.expiries, m.refused, m.overflows, m.tlsRefused, m.memRefused,
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Namespace: ns, Name: "memory_held_bytes",
			Help: "Bytes counted against --memory-limit: large partial packets and payloads (without a limit: large partial packets only)."}, m.heldBytes)} {
		if err := reg.Register(c); err != nil {
			return nil, fmt.Errorf("tcp: registering metrics: %w", err)
		}
	}
	m.onlineGauge = m.sessions.WithLabelValues("online")
	m.offlineGauge = m.sessions.WithLabelValues("offline")
	return m, nil
}

// heldBytes is the memory limit's count, for the memory_held_bytes gauge.
func (m *Metrics) heldBytes() float64 {
	if mem := m.memory.Load(); mem != nil {
		return float64(mem.total())
	}
	return 0
}

// step updates the metrics from the events of one step. Owner goroutine only.
func (m *Metrics) step(rec *broker.Record) {
	for ev := range rec.Events() {
		m.observe(ev)
	}
}

// observe updates the series from one event.
func (m *Metrics) observe(ev *broker.Event) {
	switch ev.Kind {
	case broker.EvSessionCreated, broker.EvSessionResumed:
		m.setOnline(ev.ClientID, true, true)
	case broker.EvDisconnected:
		if _, ok := m.online[ev.ClientID]; ok {
			m.setOnline(ev.ClientID, false, true)
		}
	case broker.EvSessionDiscarded:
		m.setOnline(ev.ClientID, false, false)
	case broker.EvSessionExpired:
		m.setOnline(ev.ClientID, false, false)
		m.expiries.Inc()
	case broker.EvRefused:
		m.refused.WithLabelValues(fmt.Sprintf("0x%02x", byte(ev.ReturnCode))).Inc()
	case broker.EvPublished, broker.EvWillPublished:
		m.published.Inc()
	case broker.EvEnqueued:
		m.inQueue[queuedCopy{ev.ClientID, ev.Msg}] = true
	case broker.EvSent:
		m.dequeue(ev)
		if ev.Dup {
			m.redelivered.Inc()
		}
	case broker.EvDelivered:
		m.dequeue(ev)
		m.deliveries.Inc()
	case broker.EvDropped:
		m.dequeue(ev)
		m.drops.WithLabelValues(fmt.Sprint(ev.Reason)).Inc()
	}
	m.onlineGauge.Set(float64(m.nOnline))
	m.offlineGauge.Set(float64(len(m.online) - m.nOnline))
	m.queued.Set(float64(len(m.inQueue)))
}

// setOnline records clientID's session as online or offline, or as gone
// when exists is false, keeping nOnline in step.
func (m *Metrics) setOnline(clientID string, online, exists bool) {
	if m.online[clientID] {
		m.nOnline--
	}
	if !exists {
		delete(m.online, clientID)
		return
	}
	m.online[clientID] = online
	if online {
		m.nOnline++
	}
}

// dequeue forgets a copy that has left its queue.
func (m *Metrics) dequeue(ev *broker.Event) {
	delete(m.inQueue, queuedCopy{ev.ClientID, ev.Msg})
}
