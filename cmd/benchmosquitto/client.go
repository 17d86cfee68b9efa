package main

import (
	"bufio"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"syscall"
	"time"

	"github.com/sessionlab/sessionlab/broker/packet"
)

// client is the load generator's minimal MQTT 3.1.1 client on a raw socket:
// buffered writes flushed by the caller, packets read whole. It is the same
// code against both brokers, so their figures compare.
type client struct {
	nc  net.Conn
	r   *bufio.Reader
	w   *bufio.Writer
	out []byte // encoding buffer
	in  []byte // frame buffer
}

// dial connects and sends CONNECT, returning the CONNACK's SessionPresent.
func dial(addr, clientID string, clean bool) (*client, bool, error) {
	return dialFrom(addr, nil, clientID, clean)
}

// clientTLS, when set (-tls), makes every client connect over TLS.
var clientTLS *tls.Config

// dialFrom is dial from the local address src (nil: any), so that idle
// connections can spread over several loopback addresses when one runs out
// of ports.
func dialFrom(addr string, src net.Addr, clientID string, clean bool) (*client, bool, error) {
	d := &net.Dialer{Timeout: 10 * time.Second, LocalAddr: src}
	if src != nil {
		d.Control = bindNoPort
	}
	var nc net.Conn
	var err error
	if clientTLS != nil {
		nc, err = (&tls.Dialer{NetDialer: d, Config: clientTLS}).Dial("tcp", addr)
	} else {
		nc, err = d.Dial("tcp", addr)
	}
	if err != nil {
		return nil, false, err
	}
	c := &client{nc: nc, r: bufio.NewReaderSize(nc, 16<<10), w: bufio.NewWriterSize(nc, 16<<10)}
	c.send(&packet.Connect{ProtocolName: "MQTT", ProtocolLevel: 4, ClientID: clientID,
		CleanSession: clean, KeepAlive: 600})
	if err := c.flush(); err != nil {
		nc.Close()
		return nil, false, err
	}
	p, err := c.read()
	if err != nil {
		nc.Close()
		return nil, false, fmt.Errorf("%s: CONNACK: %w", clientID, err)
	}
	ack, ok := p.(*packet.Connack)
	if !ok || ack.ReturnCode != packet.Accepted {
		nc.Close()
		return nil, false, fmt.Errorf("%s: got %v, want CONNACK accepted", clientID, p)
	}
	return c, ack.SessionPresent, nil
}

// bindNoPort sets IP_BIND_ADDRESS_NO_PORT on a socket about to be bound to
// a source address, so that the kernel picks its port at connect time by
// the whole 4-tuple: quicker than bind's search for a port free for every
// destination, which grows with the sockets already bound.
func bindNoPort(_, _ string, rc syscall.RawConn) error {
	var serr error
	if err := rc.Control(func(fd uintptr) {
		serr = syscall.SetsockoptInt(int(fd), syscall.IPPROTO_IP, ipBindAddressNoPort, 1)
	}); err != nil {
		return err
	}
	return serr
}

// ipBindAddressNoPort is IP_BIND_ADDRESS_NO_PORT (Linux 4.2).
const ipBindAddressNoPort = 24

// send buffers one packet.
func (c *client) send(p packet.Packet) {
	c.out = p.Append(c.out[:0])
	c.w.Write(c.out)
}

// flush writes what send buffered.
func (c *client) flush() error { return c.w.Flush() }

// read returns the next whole packet.
func (c *client) read() (packet.Packet, error) {
	c.in = c.in[:0]
	for {
		b, err := c.r.ReadByte()
		if err != nil {
			return nil, err
		}
		c.in = append(c.in, b)
		if len(c.in) >= 2 && b&0x80 == 0 {
			break
		}
		if len(c.in) > 5 {
			return nil, errors.New("remaining length too long")
		}
	}
	n := 0
	for i := len(c.in) - 1; i >= 1; i-- {
		n = n<<7 | int(c.in[i]&0x7f)
	}
	head := len(c.in)
	c.in = append(c.in, make([]byte, n)...)
	if _, err := io.ReadFull(c.r, c.in[head:]); err != nil {
		return nil, err
	}
	p, _, err := packet.Decode(c.in, 0)
	return p, err
}

// subscribe subscribes to one filter with QoS 1 and waits for the SUBACK.
func (c *client) subscribe(filter string) error {
	c.send(&packet.Subscribe{PacketID: 1, Subscriptions: []packet.Subscription{{Filter: filter, QoS: 1}}})
	if err := c.flush(); err != nil {
		return err
	}
	p, err := c.read()
	if err != nil {
		return err
	}
	if ack, ok := p.(*packet.Suback); !ok || len(ack.ReturnCodes) != 1 || ack.ReturnCodes[0] != 1 {
		return fmt.Errorf("got %v, want SUBACK granting QoS 1", p)
	}
	return nil
}

// receive reads QoS 1 PUBLISH packets, acknowledging each, until n have
// arrived or none has for idle (a broker may drop messages for a slow
// subscriber: mosquitto.conf(5) max_queued_messages). It returns how many
// arrived and when the last one did. Acknowledgements are flushed whenever no
// input is buffered. If gate is not nil, every receipt takes one token
// from it (see publish).
func (c *client) receive(n int, idle time.Duration, gate chan struct{}) (int, time.Time, error) {
	var last time.Time
	got := 0
	for got < n {
		c.nc.SetReadDeadline(time.Now().Add(idle))
		p, err := c.read()
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() {
			return got, last, nil
		}
		if err != nil {
			return got, last, fmt.Errorf("after %d of %d messages: %w", got, n, err)
		}
		if pub, ok := p.(*packet.Publish); ok {
			got++
			last = time.Now()
			if gate != nil {
				<-gate
			}
			if pub.QoS == 1 {
				c.send(&packet.Puback{PacketID: pub.PacketID})
			}
		}
		if c.r.Buffered() == 0 || got == n {
			if err := c.flush(); err != nil {
				return got, last, err
			}
		}
	}
	return got, last, nil
}

// publish sends n QoS 1 messages to the topic chosen by topicOf, keeping at
// most window unacknowledged, and returns when all are acknowledged. If gate
// is not nil, each message first puts a token into it, which the subscriber
// takes out on receipt: the end-to-end bound that keeps a broker's queue for
// the subscriber below its cap, so that no message is dropped.
func (c *client) publish(n, window int, topicOf func(i int) string, payload []byte, gate chan struct{}) error {
	acked := make(chan error, 1)
	credit := make(chan struct{}, window)
	go func() {
		for i := 0; i < n; {
			p, err := c.read()
			if err != nil {
				acked <- err
				return
			}
			if _, ok := p.(*packet.Puback); ok {
				i++
				<-credit
			}
		}
		acked <- nil
	}()
	for i := range n {
		select {
		case credit <- struct{}{}:
		default:
			if err := c.flush(); err != nil {
				return err
			}
			credit <- struct{}{}
		}
		if gate != nil {
			select {
			case gate <- struct{}{}:
			default:
				if err := c.flush(); err != nil {
					return err
				}
				gate <- struct{}{}
			}
		}
		c.send(&packet.Publish{QoS: 1, PacketID: uint16(i%65535 + 1), Topic: topicOf(i), Payload: payload})
	}
	if err := c.flush(); err != nil {
		return err
	}
	return <-acked
}

// disconnect sends DISCONNECT and closes.
func (c *client) disconnect() {
	c.send(&packet.Disconnect{})
	c.flush()
	c.nc.Close()
}
