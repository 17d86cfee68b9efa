//go:build !linux

package tcp

import (
	"errors"
	"io"
	"net"
)

const epollSupported = false

// poller is the event loop reader, which needs Linux (see poll_linux.go);
// Config.Reader cannot select it elsewhere.
type poller struct{ lingers *timeouts }

func newPoller(*Server) (*poller, error) { return nil, errors.New("tcp: epoll needs Linux") }

func (*poller) add(*conn) bool { return false }

func (*poller) stop() {}

type acceptor struct{}

func (*poller) listener(net.Listener) (*acceptor, io.Closer) { return nil, nil }

func (*Server) acceptFD(*acceptor) error { return errors.New("tcp: accept4 needs Linux") }

// Bare descriptors exist on Linux only (see poll_linux.go).

func (*conn) closeFD() {}

func (*conn) shutdownFD(write, reset bool) bool { return false }

func (*conn) writeFD([]byte) error { return errors.New("tcp: bare descriptors need Linux") }
