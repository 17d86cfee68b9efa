package netsim

import (
	"fmt"
	"math"
	"strings"
	"time"
)

// Knobs are the fault rates of a network. The zero value is a fault-free
// network. Rates are per connection (resets, half-open), per dial (connect
// failures), per host (partitions) or per network (outages).
type Knobs struct {
	// ResetsPerHour is the rate at which an established connection is reset
	// (both ends learn of it, each after its own delay).
	ResetsPerHour float64 `yaml:"resets_per_hour" json:"resets_per_hour"`
	// HalfOpenPerHour is the rate at which an established connection goes
	// silently dead (a NAT or middlebox forgets it): nothing arrives either
	// way and neither end is told; only keepalives notice.
	HalfOpenPerHour float64 `yaml:"half_open_per_hour" json:"half_open_per_hour"`
	// ConnectFail is the probability that a dial fails (refused or timed out).
	ConnectFail float64 `yaml:"connect_fail" json:"connect_fail"`
	// PartitionsPerDay is the rate at which each host is cut off from the
	// broker, for an exponentially distributed time of mean PartitionMean.
	PartitionsPerDay float64       `yaml:"partitions_per_day" json:"partitions_per_day"`
	PartitionMean    time.Duration `yaml:"partition_mean" json:"partition_mean"`
	// OutagesPerDay is the rate of broker-wide outages, each of mean length
	// OutageMean: dials are refused and every connection is reset.
	OutagesPerDay float64       `yaml:"outages_per_day" json:"outages_per_day"`
	OutageMean    time.Duration `yaml:"outage_mean" json:"outage_mean"`
	// CrashesPerDay is the rate at which the broker process crashes: like
	// an outage, plus the loss of what its store had not made durable; it
	// restarts after a downtime of mean CrashDowntime. The network only
	// sees the outage; the simulator crashes and recovers the broker.
	CrashesPerDay float64       `yaml:"crashes_per_day" json:"crashes_per_day"`
	CrashDowntime time.Duration `yaml:"crash_downtime" json:"crash_downtime"`
}

// Validate reports the first invalid knob, naming it.
func (k Knobs) Validate() error {
	rates := []struct {
		name string
		v    float64
	}{
		{"resets_per_hour", k.ResetsPerHour}, {"half_open_per_hour", k.HalfOpenPerHour},
		{"partitions_per_day", k.PartitionsPerDay}, {"outages_per_day", k.OutagesPerDay},
		{"crashes_per_day", k.CrashesPerDay},
	}
	for _, r := range rates {
		if r.v < 0 || math.IsNaN(r.v) || math.IsInf(r.v, 0) {
			return fieldError(r.name, "must be a finite rate >= 0")
		}
	}
	switch {
	case k.ConnectFail < 0 || k.ConnectFail > 1:
		return fieldError("connect_fail", "must be in [0, 1]")
	case k.PartitionsPerDay > 0 && k.PartitionMean <= 0:
		return fieldError("partition_mean", "must be > 0 when partitions_per_day > 0")
	case k.OutagesPerDay > 0 && k.OutageMean <= 0:
		return fieldError("outage_mean", "must be > 0 when outages_per_day > 0")
	case k.CrashesPerDay > 0 && k.CrashDowntime <= 0:
		return fieldError("crash_downtime", "must be > 0 when crashes_per_day > 0")
	}
	return nil
}

// String lists the enabled faults in one line, e.g.
// "resets=0.5/h half-open=0.2/h connect-fail=5%", or "no faults".
func (k Knobs) String() string {
	var parts []string
	if k.ResetsPerHour > 0 {
		parts = append(parts, fmt.Sprintf("resets=%.3g/h", k.ResetsPerHour))
	}
	if k.HalfOpenPerHour > 0 {
		parts = append(parts, fmt.Sprintf("half-open=%.3g/h", k.HalfOpenPerHour))
	}
	if k.ConnectFail > 0 {
		parts = append(parts, fmt.Sprintf("connect-fail=%.3g%%", k.ConnectFail*100))
	}
	if k.PartitionsPerDay > 0 {
		parts = append(parts, fmt.Sprintf("partitions=%.3g/day×%v", k.PartitionsPerDay, k.PartitionMean))
	}
	if k.OutagesPerDay > 0 {
		parts = append(parts, fmt.Sprintf("outages=%.3g/day×%v", k.OutagesPerDay, k.OutageMean))
	}
	if k.CrashesPerDay > 0 {
		parts = append(parts, fmt.Sprintf("crashes=%.3g/day×%v", k.CrashesPerDay, k.CrashDowntime))
	}
	if len(parts) == 0 {
		return "no faults"
	}
	return strings.Join(parts, " ")
}
