package netsim

import (
	"fmt"
	"math"
	"time"
)

// Tail names the distribution of a latency's long tail.
type Tail string

// Tail distributions.
const (
	TailNone      Tail = ""          // no tail: every packet takes Base+jitter
	TailLogNormal Tail = "lognormal" // TailScale is the median, TailShape the sigma
	TailPareto    Tail = "pareto"    // TailScale is the minimum, TailShape the alpha
)

// Latency is the one-way delay distribution of a link: Base plus a uniform
// jitter in [0, Jitter), and with probability TailProb an extra delay drawn
// from the tail distribution (a retransmission, a congested cell, a
// bufferbloated modem), the whole delay clamped at Limit(). The zero value
// is an instantaneous link.
type Latency struct {
	Base      time.Duration `yaml:"base" json:"base"`
	Jitter    time.Duration `yaml:"jitter" json:"jitter"`
	Tail      Tail          `yaml:"tail" json:"tail"`
	TailProb  float64       `yaml:"tail_prob" json:"tail_prob"`
	TailScale time.Duration `yaml:"tail_scale" json:"tail_scale"`
	TailShape float64       `yaml:"tail_shape" json:"tail_shape"`
	// Max is the longest a packet may take on a connection that stays up
	// (0: DefaultMaxDelay). A real TCP sender gives up retransmitting a
	// segment after some minutes and the connection breaks; a heavy tail
	// (a Pareto shape below 1 has no mean) would otherwise hold a packet,
	// and everything behind it on its connection, for years.
	Max time.Duration `yaml:"max" json:"max,omitempty"`
}

// DefaultMaxDelay is Latency.Max when it is 0.
const DefaultMaxDelay = 2 * time.Minute

// Limit is the longest one-way delay l gives: Max (or DefaultMaxDelay), and
// never less than Base+Jitter.
func (l Latency) Limit() time.Duration {
	m := l.Max
	if m == 0 {
		m = DefaultMaxDelay
	}
	return max(m, l.Base+l.Jitter)
}

// HasTail reports whether some packets take the tail's extra delay.
func (l Latency) HasTail() bool { return l.Tail != TailNone && l.TailProb > 0 }

// Quantile returns an upper bound on the p-quantile (0 < p < 1) of the
// one-way delay: Base+Jitter plus the tail's quantile at the level that
// leaves the same mass above it, clamped at Limit().
func (l Latency) Quantile(p float64) time.Duration {
	d := l.Base + l.Jitter
	if !l.HasTail() || p <= 1-l.TailProb {
		return d
	}
	r := 1 - (1-p)/l.TailProb // the tail's own quantile level
	q := float64(l.TailScale)
	switch {
	case l.Tail == TailLogNormal:
		q *= math.Exp(l.TailShape * math.Sqrt2 * math.Erfinv(2*r-1))
	case l.Tail == TailPareto && l.TailShape > 0:
		q *= math.Pow(1-r, -1/l.TailShape)
	}
	// Clamp in float64 first: a heavy tail's quantile overflows a Duration.
	return min(d+time.Duration(min(q, float64(l.Limit()))), l.Limit())
}

// Sample draws one one-way delay from s.
func (l Latency) Sample(s Rand) time.Duration {
	d := l.Base
	if l.Jitter > 0 {
		d += s.Uniform(0, l.Jitter)
	}
	if l.TailProb > 0 && s.Bool(l.TailProb) {
		switch l.Tail {
		case TailLogNormal:
			d += s.LogNormal(l.TailScale, l.TailShape)
		case TailPareto:
			d += s.Pareto(l.TailScale, l.TailShape)
		}
	}
	return min(d, l.Limit())
}

// Validate reports the first field of l that makes no sense, naming it.
func (l Latency) Validate() error {
	switch {
	case l.Base < 0:
		return fieldError("base", "must be >= 0")
	case l.Jitter < 0:
		return fieldError("jitter", "must be >= 0")
	case l.Tail != TailNone && l.Tail != TailLogNormal && l.Tail != TailPareto:
		return fieldError("tail", `must be "", "lognormal" or "pareto"`)
	case l.TailProb < 0 || l.TailProb > 1:
		return fieldError("tail_prob", "must be in [0, 1]")
	case l.TailScale < 0:
		return fieldError("tail_scale", "must be >= 0")
	case l.TailShape < 0:
		return fieldError("tail_shape", "must be >= 0")
	case l.Tail == TailPareto && l.TailProb > 0 && l.TailShape == 0:
		return fieldError("tail_shape", "must be > 0 for a pareto tail")
	case l.Max < 0:
		return fieldError("max", "must be >= 0")
	case l.Max > 0 && l.Max < l.Base+l.Jitter:
		return fieldError("max", fmt.Sprintf("must be at least base+jitter (%v)", l.Base+l.Jitter))
	}
	return nil
}

// String describes the distribution in one line, e.g.
// "40ms+U(0,20ms) tail 1%×lognormal(200ms,1)".
func (l Latency) String() string {
	s := fmt.Sprintf("%v+U(0,%v)", l.Base, l.Jitter)
	if l.HasTail() {
		s += fmt.Sprintf(" tail %g%%×%s(%v,%g)", l.TailProb*100, l.Tail, l.TailScale, l.TailShape)
	}
	if l.Max != 0 {
		s += fmt.Sprintf(" max %v", l.Max)
	}
	return s
}

// FieldError is a validation error naming the offending field by its
// YAML/JSON name, so scenario loaders can prefix a path and a line number.
type FieldError struct {
	Field string // e.g. "tail_prob"
	Msg   string // e.g. "must be in [0, 1]"
}

func fieldError(field, msg string) *FieldError { return &FieldError{Field: field, Msg: msg} }

// Error returns "field: msg".
func (e *FieldError) Error() string { return e.Field + ": " + e.Msg }
