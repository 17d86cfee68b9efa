package scenario

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/sessionlab/sessionlab/netsim"
)

// FieldError is a validation error at Path, a dotted YAML path such as
// "groups[1].count". Line is the source line when the scenario came from a
// file (0 otherwise) and File its name.
type FieldError struct {
	File string
	Line int
	Path string
	Msg  string
}

// Error formats "file:line: path: msg", leaving out what is unknown (a
// decoding error has no path; yaml.v3's message names the field).
func (e *FieldError) Error() string {
	var b strings.Builder
	if e.File != "" {
		b.WriteString(e.File)
		b.WriteString(":")
	}
	if e.Line > 0 {
		fmt.Fprintf(&b, "%d:", e.Line)
	}
	if b.Len() > 0 {
		b.WriteString(" ")
	}
	if e.Path != "" {
		b.WriteString(e.Path)
		b.WriteString(": ")
	}
	b.WriteString(e.Msg)
	return b.String()
}

func fieldErr(path, format string, args ...any) *FieldError {
	return &FieldError{Path: path, Msg: fmt.Sprintf(format, args...)}
}

// maxKeepAlive is the largest keepalive a CONNECT can carry (16 bits of
// seconds, MQTT 3.1.1 section 3.1.2.10).
const maxKeepAlive = 65535 * time.Second

// Limits on a scenario's size, so that a mistyped count fails validation
// instead of exhausting memory.
const (
	MaxDevices = 5_000_000
	MaxEvents  = 10_000
)

// Validate reports the first invalid value of s as a *FieldError.
func (s Scenario) Validate() error {
	switch {
	case s.Devices() > MaxDevices:
		return fieldErr("groups", "%d devices in all; at most %d", s.Devices(), MaxDevices)
	case len(s.Events) > MaxEvents:
		return fieldErr("events", "%d events; at most %d", len(s.Events), MaxEvents)
	case s.Name == "":
		return fieldErr("name", "must not be empty")
	case s.Duration <= 0:
		return fieldErr("duration", "must be > 0")
	case s.Heal < 0:
		return fieldErr("heal", "must be >= 0")
	case s.Sample < 0:
		return fieldErr("sample", "must be >= 0")
	case len(s.Groups) == 0:
		return fieldErr("groups", "must list at least one group")
	}
	seen := map[string]bool{}
	for i, g := range s.Groups {
		path := fmt.Sprintf("groups[%d]", i)
		if err := g.validate(path); err != nil {
			return err
		}
		if seen[g.Name] {
			return fieldErr(path+".name", "duplicate group name %q", g.Name)
		}
		seen[g.Name] = true
	}
	if err := s.Network.validate("network"); err != nil {
		return err
	}
	for i, e := range s.Events {
		if err := e.validate(fmt.Sprintf("events[%d]", i), seen); err != nil {
			return err
		}
	}
	return nil
}

func (g Group) validate(path string) error {
	switch {
	case g.Name == "" || strings.ContainsAny(g.Name, "/+#\x00"):
		return fieldErr(path+".name", "must be non-empty without '/', '+', '#'")
	case g.Kind != Telemetry && g.Kind != Command && g.Kind != Backend:
		return fieldErr(path+".kind", "must be telemetry, command or backend, not %q", g.Kind)
	case g.Count <= 0 || g.Count > MaxDevices:
		return fieldErr(path+".count", "must be > 0 and at most %d", MaxDevices)
	case g.KeepAlive < 0 || g.KeepAlive > maxKeepAlive || g.KeepAlive%time.Second != 0:
		return fieldErr(path+".keepalive", "must be whole seconds in [0s, 65535s]")
	case g.QoS < 0 || g.QoS > 2:
		return fieldErr(path+".qos", "must be 0, 1 or 2")
	case g.Kind != Command && g.PublishEvery <= 0:
		return fieldErr(path+".publish_every", "must be > 0 for a %s group", g.Kind)
	case g.PublishEvery < 0:
		return fieldErr(path+".publish_every", "must be >= 0")
	case g.Offline != nil && g.Kind == Backend:
		return fieldErr(path+".offline", "backends are always online")
	case g.PublishWindow != nil && g.Kind == Command:
		return fieldErr(path+".publish_window", "a command group publishes nothing")
	}
	if g.Latency != nil {
		if err := g.Latency.Validate(); err != nil {
			return netErr(path+".latency", err)
		}
	}
	if g.Faults != nil {
		if err := g.Faults.Validate(); err != nil {
			return netErr(path+".faults", err)
		}
	}
	if g.PublishWindow != nil {
		if err := g.PublishWindow.validate(path + ".publish_window"); err != nil {
			return err
		}
	}
	if g.Offline != nil {
		return g.Offline.validate(path + ".offline")
	}
	return nil
}

func (w Window) validate(path string) error {
	switch {
	case w.Start < 0:
		return fieldErr(path+".start", "must be >= 0")
	case w.For <= 0:
		return fieldErr(path+".for", "must be > 0")
	case w.Every < 0 || w.Every > 0 && w.Every <= w.For:
		return fieldErr(path+".every", "must be 0 (once) or longer than for")
	}
	return nil
}

func (o Offline) validate(path string) error {
	switch {
	case o.Start < 0:
		return fieldErr(path+".start", "must be >= 0")
	case o.For <= 0:
		return fieldErr(path+".for", "must be > 0")
	case o.Every < 0 || o.Every > 0 && o.Every <= o.For+o.Jitter:
		return fieldErr(path+".every", "must be 0 (once) or longer than for + jitter")
	case o.Jitter < 0:
		return fieldErr(path+".jitter", "must be >= 0")
	case o.Fraction < 0 || o.Fraction > 1:
		return fieldErr(path+".fraction", "must be in [0, 1]")
	}
	return nil
}

func (n Network) validate(path string) error {
	if err := n.Latency.Validate(); err != nil {
		return netErr(path+".latency", err)
	}
	if err := n.Faults.Validate(); err != nil {
		return netErr(path+".faults", err)
	}
	return nil
}

// netErr re-roots a netsim.FieldError under path.
func netErr(path string, err error) error {
	var fe *netsim.FieldError
	if errors.As(err, &fe) {
		return fieldErr(path+"."+fe.Field, "%s", fe.Msg)
	}
	return fieldErr(path, "%v", err)
}

func (e Event) validate(path string, groups map[string]bool) error {
	switch {
	case e.Kind != Outage && e.Kind != Partition && e.Kind != Crash:
		return fieldErr(path+".kind", "must be outage, partition or crash, not %q", e.Kind)
	case e.At < 0:
		return fieldErr(path+".at", "must be >= 0")
	case e.For <= 0:
		return fieldErr(path+".for", "must be > 0")
	case (e.Kind == Outage || e.Kind == Crash) && (e.Group != "" || e.Fraction != 0):
		return fieldErr(path+".group", "an %s hits the whole broker; leave group and fraction out", e.Kind)
	case e.Group != "" && !groups[e.Group]:
		return fieldErr(path+".group", "no group named %q", e.Group)
	case e.Fraction < 0 || e.Fraction > 1:
		return fieldErr(path+".fraction", "must be in [0, 1]")
	}
	return nil
}
