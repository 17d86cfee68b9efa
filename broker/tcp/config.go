package tcp

import (
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/sessionlab/sessionlab/broker"
)

// Defaults for the zero values of Config.
const (
	DefaultMaxConnections = 100_000
	DefaultMaxPacketSize  = 1 << 20 // 1 MiB, below the policy's if it sets one
	DefaultConnectTimeout = 10 * time.Second
	DefaultWriteBuffer    = 1 << 20 // bytes queued per connection
	DefaultWriteTimeout   = 30 * time.Second
	DefaultInputQueue     = 1024
)

// lingerTimeout bounds how long a connection the broker closed is kept
// half-open, draining what the client still sends, so that the client reads
// our last packets (e.g. a refusing CONNACK) instead of a reset.
const lingerTimeout = 2 * time.Second

// Config configures a Server. Only Broker.Policy is required; zero values of
// the rest take the defaults above.
type Config struct {
	// Broker configures the core (policy, authentication, authorisation).
	Broker broker.Config

	// MaxConnections is the most connections open at once; further
	// connections are accepted and closed at once.
	MaxConnections int
	// MaxPacketSize bounds an inbound packet's total size in bytes; a larger
	// remaining length closes the connection as malformed as soon as its
	// length bytes arrive. The policy's MaxPacketSize, if smaller, wins.
	MaxPacketSize int
	// ConnectTimeout closes a connection that has not sent a complete first
	// packet within this time.
	ConnectTimeout time.Duration
	// WriteBuffer is the most encoded bytes waiting to be written on one
	// connection; beyond it the connection is treated as lost.
	WriteBuffer int
	// WriteTimeout treats a connection as lost when one write blocks longer.
	WriteTimeout time.Duration
	// InputQueue is the capacity of the channel from readers to the owner;
	// when it is full readers wait, which pushes back on clients through TCP.
	InputQueue int
	// MemoryLimit, if positive, bounds the bytes held in partly received
	// packets and in payloads (queued, in flight, retained, on their way to
	// the core) together; what would cross it is refused (see memory).
	// With or without it, memory given back by large partial packets is
	// returned to the operating system.
	MemoryLimit int64
	// Reader selects how sockets are read: ReaderEpoll (the default on
	// Linux) or ReaderGoroutine (the default elsewhere).
	Reader Reader

	// Logger receives the server's logs (nil: slog.Default()).
	Logger *slog.Logger
	// Observer, if set, is called with the record of every step of the core
	// (its time, input and outputs, in order), on the owner goroutine, before
	// the outputs are performed. It must not block nor keep the record.
	// Tests, session ownership and the history recorder hook in here.
	Observer func(*broker.Record)
	// Metrics, if set, is updated from the same step records and the
	// connection count (see NewMetrics).
	Metrics *Metrics
}

// Reader selects how the server reads its sockets.
type Reader int

const (
	// ReaderDefault is ReaderEpoll on Linux, ReaderGoroutine elsewhere.
	ReaderDefault Reader = iota
	// ReaderEpoll reads every connection from one epoll set, on a fixed
	// pool of goroutines: an idle connection holds no goroutine and no read
	// buffer. Linux only.
	ReaderEpoll
	// ReaderGoroutine reads each connection on a goroutine of its own.
	ReaderGoroutine
)

var readerNames = [...]string{ReaderDefault: "default", ReaderEpoll: "epoll", ReaderGoroutine: "goroutine"}

// String returns the reader's name: default, epoll or goroutine.
func (r Reader) String() string {
	if r >= 0 && int(r) < len(readerNames) {
		return readerNames[r]
	}
	return fmt.Sprintf("Reader(%d)", int(r))
}

// MarshalText returns the reader's name, for flag.TextVar.
func (r Reader) MarshalText() ([]byte, error) { return []byte(r.String()), nil }

// UnmarshalText sets r from its name: default, epoll or goroutine.
func (r *Reader) UnmarshalText(name []byte) error {
	for i, n := range readerNames {
		if string(name) == n {
			*r = Reader(i)
			return nil
		}
	}
	return fmt.Errorf("unknown reader %q (valid: default, epoll, goroutine)", name)
}

// withDefaults returns c with zero fields replaced by defaults, or an error
// naming a negative field.
func (c Config) withDefaults() (Config, error) {
	for _, f := range []struct {
		name string
		v    int64
	}{
		{"MaxConnections", int64(c.MaxConnections)},
		{"MaxPacketSize", int64(c.MaxPacketSize)},
		{"ConnectTimeout", int64(c.ConnectTimeout)},
		{"WriteBuffer", int64(c.WriteBuffer)},
		{"WriteTimeout", int64(c.WriteTimeout)},
		{"InputQueue", int64(c.InputQueue)},
		{"MemoryLimit", c.MemoryLimit},
	} {
		if f.v < 0 {
			return c, fmt.Errorf("tcp: Config.%s is negative", f.name)
		}
	}
	c.MaxConnections = or(c.MaxConnections, DefaultMaxConnections)
	c.MaxPacketSize = or(c.MaxPacketSize, DefaultMaxPacketSize)
	if p := c.Broker.Policy.MaxPacketSize; p > 0 && p < c.MaxPacketSize {
		c.MaxPacketSize = p
	}
	c.ConnectTimeout = or(c.ConnectTimeout, DefaultConnectTimeout)
	c.WriteBuffer = or(c.WriteBuffer, DefaultWriteBuffer)
	c.WriteTimeout = or(c.WriteTimeout, DefaultWriteTimeout)
	c.InputQueue = or(c.InputQueue, DefaultInputQueue)
	switch c.Reader {
	case ReaderDefault:
		c.Reader = ReaderGoroutine
		if epollSupported {
			c.Reader = ReaderEpoll
		}
	case ReaderEpoll:
		if !epollSupported {
			return c, errors.New("tcp: Config.Reader: epoll needs Linux")
		}
	case ReaderGoroutine:
	default:
		return c, fmt.Errorf("tcp: Config.Reader: unknown reader %d", int(c.Reader))
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	return c, nil
}

// or returns v, or def when v is zero.
func or[T int | time.Duration](v, def T) T {
	if v == 0 {
		return def
	}
	return v
}
