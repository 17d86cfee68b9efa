//go:build !linux

package tcp

import "errors"

const epollSupported = false

// poller is the event loop reader, which needs Linux (see poll_linux.go);
// Config.Reader cannot select it elsewhere.
type poller struct{}

func newPoller(*Server) (*poller, error) { return nil, errors.New("tcp: epoll needs Linux") }

func (*poller) add(*conn) bool { return false }

func (*poller) stop() {}
