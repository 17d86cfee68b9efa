package broker

import (
	"fmt"
	"time"
)

// PolicyError reports an invalid Policy field.
type PolicyError struct {
	Field   string // the Go field name, e.g. "QueueCap"
	Problem string // what is wrong with it
}

// Error names the field and the problem.
func (e *PolicyError) Error() string {
	return fmt.Sprintf("broker: policy field %s: %s", e.Field, e.Problem)
}

// Validate reports the first invalid field of p as a *PolicyError naming it,
// or nil when p is usable.
func (p Policy) Validate() error {
	if p.MaxQoS < 1 || p.MaxQoS > 2 {
		return &PolicyError{"MaxQoS", fmt.Sprintf("is %d, want 1 or 2", p.MaxQoS)}
	}
	if p.QoS2 < QoS2Downgrade || p.QoS2 > QoS2Ignore {
		return &PolicyError{"QoS2", fmt.Sprintf("unknown handling %d", int(p.QoS2))}
	}
	if p.QueueCap < 0 {
		return &PolicyError{"QueueCap", fmt.Sprintf("is %d, want >= 0", p.QueueCap)}
	}
	if p.Overflow < DropNewest || p.Overflow > DropOldestQoS0First {
		return &PolicyError{"Overflow", fmt.Sprintf("unknown victim %d", int(p.Overflow))}
	}
	durations := []struct {
		name string
		d    time.Duration
	}{
		{"MessageTTL", p.MessageTTL}, {"SessionExpiry", p.SessionExpiry},
		{"ExpirySweep", p.ExpirySweep}, {"ReplayInterval", p.ReplayInterval},
		{"RetryInterval", p.RetryInterval}, {"RetryFor", p.RetryFor},
	}
	for _, d := range durations {
		if d.d < 0 {
			return &PolicyError{d.name, fmt.Sprintf("is %v, want >= 0", d.d)}
		}
	}
	if p.ReplayRate < 0 {
		return &PolicyError{"ReplayRate", fmt.Sprintf("is %d, want >= 0", p.ReplayRate)}
	}
	if p.InflightWindow < 0 || p.InflightWindow > maxPacketIDs {
		return &PolicyError{"InflightWindow", fmt.Sprintf("is %d, want 0..%d", p.InflightWindow, maxPacketIDs)}
	}
	if p.MaxPacketSize < 0 || p.MaxPacketSize > protocolMaxPacket {
		return &PolicyError{"MaxPacketSize", fmt.Sprintf("is %d, want 0..%d", p.MaxPacketSize, protocolMaxPacket)}
	}
	if p.Promises&^AllInvariants != 0 {
		return &PolicyError{"Promises", fmt.Sprintf("has bits %#x outside invariants 1..18", uint32(p.Promises&^AllInvariants))}
	}
	if p.Promises.Has(InvOrder) && !p.ReplayBlocksLive {
		return &PolicyError{"ReplayBlocksLive", "is false, but live traffic overtaking the replay breaks the promised InvOrder"}
	}
	return nil
}
