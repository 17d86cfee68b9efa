package sim

import "fmt"

// Metrics is everything a run measured, as one JSON-serialisable value
// (the CLI writes it to metrics.json and the plots are drawn from it).
// Times are in seconds of virtual time since the start of the run. Memory
// is bounded: histograms are bucketed, series are sampled every
// SampleSeconds, and replay samples are a fixed-size reservoir.
type Metrics struct {
	Scenario      string  `json:"scenario"`
	Profile       string  `json:"profile"`
	Seed          uint64  `json:"seed,string"` // a string: JSON tools read a 64-bit number as a float
	Devices       int     `json:"devices"`
	Duration      float64 `json:"duration_s"` // faulty phase
	Heal          float64 `json:"heal_s"`     // healed phase after it
	SampleSeconds float64 `json:"sample_s"`

	// Message accounting, per subscriber copy (Copies = Delivered +
	// DroppedTotal + Pending, the conservation invariant).
	Published int64 `json:"published"` // messages the broker accepted
	// Broker crashes (scenario crash events, crashes_per_day): how many,
	// the total downtime, the steps lost with the store's unsynced writes
	// (their outputs never left the broker), the simulated disk's commits
	// and its drawn mean sync latency, and the copies the crashes lost
	// (owed to clean sessions, or QoS 0, which nothing keeps).
	Crashes        int64   `json:"crashes,omitempty"`
	Downtime       float64 `json:"downtime_s,omitempty"`
	CrashLostSteps int64   `json:"crash_lost_steps,omitempty"`
	Commits        int64   `json:"commits,omitempty"`
	SyncMean       float64 `json:"sync_mean_s,omitempty"`
	// CrashReowed counts copies a recovery restored that the broker had
	// already delivered before the crash (its record of the delivery was
	// not yet durable): they are owed, and sent, again.
	CrashReowed int64 `json:"crash_reowed,omitempty"`
	// LatencyCrash is the latency (accepted to received) of the copies a
	// crash found pending and a recovery restored: what the crashes added
	// is their distance from the live and stored rows. PublisherResends
	// counts PUBLISHes devices sent again with DUP=1 after losing their
	// connection (a crash, or any other loss) before the broker's PUBACK.
	LatencyCrash     Histogram `json:"latency_crash"`
	PublisherResends int64     `json:"publisher_resends"`
	// CrashLog lists each crash: when it struck and how long the broker
	// stayed down (seconds).
	CrashLog     []CrashRec       `json:"crash_log,omitempty"`
	Copies       int64            `json:"copies"`        // subscriber copies owed
	Delivered    int64            `json:"delivered"`     // copies acknowledged (QoS 0: sent)
	Dropped      map[string]int64 `json:"dropped"`       // by reason
	DroppedTotal int64            `json:"dropped_total"` // sum of Dropped
	Pending      int64            `json:"pending"`       // copies neither delivered nor dropped at the end
	Received     int64            `json:"received"`      // first receipts by device applications
	// Duplicates counts receipts of a copy already received (the same
	// broker message, re-sent). A message that a clean-session device
	// publishes again after reconnecting is a new message to the broker and
	// is not counted here.
	Duplicates int64 `json:"duplicates"`
	Resent     int64 `json:"resent"` // copies the broker re-sent with DUP=1
	// Unreceived counts copies the broker considers delivered that no
	// application received: QoS 0 copies lost on the way, or the receipt
	// was credited to a re-published twin with the same payload id.
	Unreceived int64 `json:"unreceived"`
	// PublishRefused counts publications the broker refused as a whole,
	// by reason (not authorised; QoS 2 on a broker that ignores it): they
	// owed no copies and are not in Published.
	PublishRefused map[string]int64 `json:"publish_refused"`
	// The status workload (scenario.Group.Status). Wills, statuses and
	// retained replays are messages like any other in the counts above;
	// their receipts are matched to copies by packet id, as their payloads
	// carry no message id. WillsPublished counts Wills the broker published
	// (abrupt loss, keepalive timeout, takeover); RetainedSet retained
	// messages set or cleared; RetainedReplayed copies of retained
	// messages offered on SUBSCRIBE (RETAIN=1, each a new message),
	// RetainedDelivered those delivered, and RetainedReceived first
	// receipts of them by device applications.
	WillsPublished    int64 `json:"wills_published"`
	RetainedSet       int64 `json:"retained_set"`
	RetainedReplayed  int64 `json:"retained_replayed"`
	RetainedDelivered int64 `json:"retained_delivered"`
	RetainedReceived  int64 `json:"retained_received"`
	// StatusWrong is how long backends' view of devices' status stayed
	// wrong: one sample per episode in which a Status backend's last
	// status for a Status device (offline before the first) disagreed
	// with whether the device had a session up, per backend and device.
	// Episodes still open at the end of the run are recorded as ending
	// then, and counted in StatusWrongAtEnd.
	StatusWrong      Histogram `json:"status_wrong"`
	StatusWrongAtEnd int64     `json:"status_wrong_at_end"`
	// ClientDropped counts application messages the devices discarded
	// before publishing (QoS 0 while offline, full outbox, powered off).
	ClientDropped map[string]int64 `json:"client_dropped"`

	// Delivery latency from the broker accepting a message to the
	// subscriber's application receiving it, for live copies and for copies
	// that were stored (queued while offline, or sent from the queue on resume).
	LatencyLive   Histogram `json:"latency_live"`
	LatencyStored Histogram `json:"latency_stored"`

	// Series sampled every SampleSeconds.
	Samples []Sample `json:"samples"`

	// Replays: for sessions resumed with a backlog, how long the backlog
	// (the copies queued at the resume) took to drain, counting copies
	// that arrived meanwhile. A replay cut short by a disconnect is not
	// counted. At most MaxReplaySamples, chosen by reservoir sampling;
	// ReplayDrain has them all.
	Replays      []Replay  `json:"replays"`
	ReplaysTotal int64     `json:"replays_total"`
	ReplayDrain  Histogram `json:"replay_drain"`

	Connects       int64 `json:"connects"`        // CONNECTs accepted
	Resumes        int64 `json:"resumes"`         // of them with SessionPresent=1
	Refused        int64 `json:"refused"`         // CONNECTs refused
	Expired        int64 `json:"expired"`         // sessions expired
	Takeovers      int64 `json:"takeovers"`       // sessions taken over
	KeepaliveKicks int64 `json:"keepalive_kicks"` // broker-side keepalive timeouts
	PingTimeouts   int64 `json:"ping_timeouts"`   // device-side dead-link detections
	Dials          int64 `json:"dials"`           // dial attempts by devices
	MaxQueueDepth  int   `json:"max_queue_depth"` // over the whole run, any device
	WireErrors     int64 `json:"wire_errors"`     // packets that did not survive encode+decode (Options.Wire)
}

// MaxReplaySamples bounds Metrics.Replays.
const MaxReplaySamples = 5000

// Sample is the fleet's state at one instant.
type Sample struct {
	T       float64 `json:"t_s"`
	Online  int     `json:"online"`  // sessions connected
	Offline int     `json:"offline"` // sessions stored, device disconnected
	Expired int     `json:"expired"` // sessions expired, device not back yet
	// Queue depth (messages queued by the broker per session) across all
	// devices at this instant: median, 99th percentile, maximum, and the
	// fleet total.
	QueueP50   int   `json:"queue_p50"`
	QueueP99   int   `json:"queue_p99"`
	QueueMax   int   `json:"queue_max"`
	QueueTotal int64 `json:"queue_total"`
	// QueuePeak is the deepest queue of any session at any instant since
	// the previous sample (the true maximum within the interval, which
	// samples at instants miss); the run's MaxQueueDepth is the largest.
	QueuePeak int `json:"queue_peak"`
}

// Replay is one resumed session's backlog and how long it took to drain.
type Replay struct {
	T       float64 `json:"t_s"` // when the session resumed
	Backlog int     `json:"backlog"`
	Drain   float64 `json:"drain_s"`
}

// String summarises the sample in one line.
func (s Sample) String() string {
	return fmt.Sprintf("t=%.0fs online=%d offline=%d expired=%d queue p50=%d p99=%d max=%d",
		s.T, s.Online, s.Offline, s.Expired, s.QueueP50, s.QueueP99, s.QueueMax)
}

// String summarises the replay in one line.
func (r Replay) String() string {
	return fmt.Sprintf("t=%.0fs backlog=%d drained in %.3fs", r.T, r.Backlog, r.Drain)
}

// CrashRec is one broker crash.
type CrashRec struct {
	T        float64 `json:"t"`
	Downtime float64 `json:"downtime_s"`
}
