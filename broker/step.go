package broker

// TEMPORARY SIGNATURES: the core helper replaces this file with the real
// implementation. Other packages compile against these signatures.

// Broker is the broker core. Create it with New.
type Broker struct {
	cfg Config
	out []Output
}

// New returns a broker with cfg, or an error naming the invalid policy field.
func New(cfg Config) (*Broker, error) { panic("broker: not implemented yet") }

// Step feeds one input at time now. Drain Outputs before the next Step.
func (b *Broker) Step(now Time, in Input) { panic("broker: not implemented yet") }

// Outputs returns the outputs produced since the previous call. The slice is
// reused by the next Step.
func (b *Broker) Outputs() []Output { panic("broker: not implemented yet") }

// NextDeadline reports the earliest time at which the broker wants an
// InDeadline input, and false when it wants none.
func (b *Broker) NextDeadline() (Time, bool) { panic("broker: not implemented yet") }

// Profile returns the named vendor profile: tencent, aws, hivemq, mosquitto, emqx.
func Profile(name string) (Policy, error) { panic("broker: not implemented yet") }

// ProfileNames lists the profile names in a fixed order.
func ProfileNames() []string { return []string{"tencent", "aws", "hivemq", "mosquitto", "emqx"} }

// Validate reports the first invalid field of p, naming it.
func (p Policy) Validate() error { panic("broker: not implemented yet") }
