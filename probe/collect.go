package probe

import (
	"fmt"
	"sort"
	"time"

	"github.com/sessionlab/sessionlab/broker/packet"
)

// got is one PUBLISH a probe client received.
type got struct {
	at  time.Duration
	seq uint64
	ok  bool // the payload is a message number
	p   *packet.Publish
}

// publishAll publishes messages from..to (inclusive, payload = the number)
// on topic at qos from pub, at most window unacknowledged at once, and waits
// for every acknowledgement (PUBACK, or PUBREC then PUBCOMP), each within the
// answer timeout.
func publishAll(pub *Conn, topic string, from, to uint64, qos packet.QoS, window int) error {
	if qos == 0 {
		for u := from; u <= to; u++ {
			if err := pub.Send(&packet.Publish{Topic: topic, QoS: 0, Payload: seq(u)}); err != nil {
				return err
			}
		}
		return nil
	}
	wait := pub.target.answerTimeout()
	open := map[uint16]bool{}
	next := from
	pid := func(u uint64) uint16 { return uint16(u%60000) + 1 }
	for next <= to || len(open) > 0 {
		var batch []packet.Packet
		for next <= to && len(open) < window {
			id := pid(next)
			open[id] = true
			batch = append(batch, &packet.Publish{Topic: topic, QoS: qos, PacketID: id, Payload: seq(next)})
			next++
		}
		if len(batch) > 0 {
			if err := pub.Send(batch...); err != nil {
				return err
			}
		}
		r, err := pub.Next(wait)
		if err != nil {
			return fmt.Errorf("publishing message %d of %d..%d on %s: waiting %v for an acknowledgement: %w", next-1, from, to, topic, wait, err)
		}
		switch a := r.P.(type) {
		case *packet.Puback:
			delete(open, a.PacketID)
		case *packet.Pubrec:
			pub.Send(&packet.Pubrel{PacketID: a.PacketID})
		case *packet.Pubcomp:
			delete(open, a.PacketID)
		}
	}
	return nil
}

// collectOpts says how collect reads.
type collectOpts struct {
	ack   bool          // acknowledge QoS 1 and 2 PUBLISHes
	quiet time.Duration // stop after this long without a PUBLISH (0: never)
	max   time.Duration // stop after this long in all
	stop  func([]got) bool
}

// collect reads PUBLISHes from c as opts says, answering the QoS 2 flow
// when acking, and returns them; it stops early on a closed connection
// (returning the error).
func collect(c *Conn, opts collectOpts) ([]got, error) {
	var out []got
	end := time.Now().Add(opts.max)
	last := time.Now()
	for {
		wait := time.Until(end)
		if opts.quiet > 0 {
			wait = min(wait, time.Until(last.Add(opts.quiet)))
		}
		if wait <= 0 {
			return out, nil
		}
		r, err := c.Next(wait)
		if err == ErrTimeout {
			continue
		}
		if err != nil {
			return out, err
		}
		switch p := r.P.(type) {
		case *packet.Publish:
			last = time.Now()
			u, ok := seqOf(p.Payload)
			out = append(out, got{at: r.At, seq: u, ok: ok, p: p})
			if opts.ack {
				switch p.QoS {
				case 1:
					c.Send(&packet.Puback{PacketID: p.PacketID})
				case 2:
					c.Send(&packet.Pubrec{PacketID: p.PacketID})
				}
			}
			if opts.stop != nil && opts.stop(out) {
				return out, nil
			}
		case *packet.Pubrel:
			c.Send(&packet.Pubcomp{PacketID: p.PacketID})
		}
	}
}

// ackAll acknowledges every QoS 1 message of gs.
func ackAll(c *Conn, gs []got) {
	var ps []packet.Packet
	for _, g := range gs {
		if g.p.QoS == 1 {
			ps = append(ps, &packet.Puback{PacketID: g.p.PacketID})
		}
	}
	if len(ps) > 0 {
		c.Send(ps...)
	}
}

// seqs lists the message numbers of gs.
func seqs(gs []got) []uint64 {
	out := make([]uint64, 0, len(gs))
	for _, g := range gs {
		if g.ok {
			out = append(out, g.seq)
		}
	}
	return out
}

// consecutive reports whether s is a, a+1, a+2, ...
func consecutive(s []uint64) bool {
	for i := 1; i < len(s); i++ {
		if s[i] != s[i-1]+1 {
			return false
		}
	}
	return true
}

// gaps returns the times between consecutive receipts.
func gaps(gs []got) []time.Duration {
	var out []time.Duration
	for i := 1; i < len(gs); i++ {
		out = append(out, gs[i].at-gs[i-1].at)
	}
	return out
}

// median returns the median of ds (0 for none).
func median(ds []time.Duration) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := append([]time.Duration(nil), ds...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	return s[len(s)/2]
}

// describe lists the first few messages of gs with their times, as a witness.
func describe(gs []got, n int) string {
	s := ""
	for i, g := range gs {
		if i == n {
			s += fmt.Sprintf(" ... (%d in all)", len(gs))
			break
		}
		if i > 0 {
			s += ", "
		}
		s += fmt.Sprintf("#%d at +%.3fs", g.seq, g.at.Seconds())
	}
	return s
}

// barrier sends PINGREQ and collects what arrives until the PINGRESP: a
// broker answers the packets of one connection in order, so every PUBLISH
// it decided to send before it read the PINGREQ arrives first. With ack,
// each QoS 1 PUBLISH is acknowledged as it arrives.
func barrier(c *Conn, ack bool) ([]got, error) {
	if err := c.Send(&packet.Pingreq{}); err != nil {
		return nil, err
	}
	var out []got
	wait := c.target.answerTimeout()
	for {
		r, err := c.Next(wait)
		if err != nil {
			return out, fmt.Errorf("waiting %v for PINGRESP: %w", wait, err)
		}
		switch p := r.P.(type) {
		case *packet.Pingresp:
			return out, nil
		case *packet.Publish:
			u, ok := seqOf(p.Payload)
			out = append(out, got{at: r.At, seq: u, ok: ok, p: p})
			if ack && p.QoS == 1 {
				c.Send(&packet.Puback{PacketID: p.PacketID})
			}
		case *packet.Pubrel:
			c.Send(&packet.Pubcomp{PacketID: p.PacketID})
		}
	}
}

// straggle is how long a barrier is followed by a quiet wait, for brokers
// that route a message asynchronously to its subscribers (after the
// publisher's PUBACK, or after a PINGRESP overtook it).
const straggle = 300 * time.Millisecond

// settled is barrier followed by a quiet wait of straggle, repeated while
// the wait brings more.
func settled(c *Conn, ack bool) ([]got, error) {
	var out []got
	for {
		gs, err := barrier(c, ack)
		out = append(out, gs...)
		if err != nil {
			return out, err
		}
		more, err := collect(c, collectOpts{ack: ack, quiet: straggle, max: straggle})
		out = append(out, more...)
		if err != nil || len(more) == 0 {
			return out, err
		}
	}
}

// drain acknowledges and collects in barrier rounds until a round brings
// nothing new (after a quiet wait of straggle), or max has passed.
func drain(c *Conn, max time.Duration) ([]got, error) {
	var out []got
	end := time.Now().Add(max)
	for time.Now().Before(end) {
		gs, err := barrier(c, true)
		out = append(out, gs...)
		if err != nil {
			return out, err
		}
		if len(gs) == 0 {
			more, err := collect(c, collectOpts{ack: true, quiet: straggle, max: straggle})
			out = append(out, more...)
			if err != nil || len(more) == 0 {
				return out, err
			}
		}
	}
	return out, nil
}
