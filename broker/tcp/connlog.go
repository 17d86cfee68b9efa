package tcp

import (
	"context"
	"log/slog"
	"strconv"
	"strings"

	"github.com/sessionlab/sessionlab/broker"
	"github.com/sessionlab/sessionlab/broker/packet"
)

// logConnections writes one info line per CONNECT the core accepted
// ("client connected") or refused ("client refused") and one per session
// going offline ("client disconnected"), each with the client id, the user,
// the remote address and why, from the events of one step. Owner goroutine
// only. At a level above info it does nothing and keeps nothing.
//
// The user is the certificate identity on a mutual TLS connection, else the
// CONNECT's user name: what the Authenticators of broker/auth accept a
// connection as. It is remembered per connection from connect to
// disconnect, only while info lines are logged and only for connections
// with a user.
func (s *Server) logConnections(rec *broker.Record) {
	log := s.cfg.Logger
	if !log.Enabled(context.Background(), slog.LevelInfo) {
		return
	}
	o := &s.owner
	for ev := range rec.Events() {
		c := o.conns.get(ev.Conn)
		var remote string
		if c != nil {
			remote = c.remote()
		}
		switch ev.Kind {
		case broker.EvConnected, broker.EvRefused:
			user, protocol := connectUser(c, rec.Input.Packet)
			if ev.Kind == broker.EvRefused {
				log.Info("client refused", "client_id", ev.ClientID, "user", user, "remote", remote,
					"conn", uint64(ev.Conn), "protocol", protocol, "reason", ev.ReturnCode.String())
				continue
			}
			if user != "" {
				if o.users == nil {
					o.users = map[broker.ConnID]string{}
				}
				o.users[ev.Conn] = strings.Clone(user) // not the CONNECT's bytes
			}
			log.Info("client connected", "client_id", ev.ClientID, "user", user, "remote", remote,
				"conn", uint64(ev.Conn), "protocol", protocol, "clean", ev.Clean, "session_present", ev.SessionPresent)
		case broker.EvDisconnected:
			user := o.users[ev.Conn]
			delete(o.users, ev.Conn)
			attrs := []any{"client_id", ev.ClientID, "user", user, "remote", remote,
				"conn", uint64(ev.Conn), "reason", ev.Reason.String()}
			if in := rec.Input; in.Conn == ev.Conn && in.Err != nil {
				attrs = append(attrs, "err", in.Err.Error())
			}
			log.Info("client disconnected", attrs...)
		}
	}
}

// connectUser returns the user a CONNECT on c acts as and its protocol.
func connectUser(c *conn, p packet.Packet) (user, protocol string) {
	connect, ok := p.(*packet.Connect)
	if !ok {
		return "", ""
	}
	switch {
	case connect.V31():
		protocol = "3.1"
	case connect.Supported():
		protocol = "3.1.1"
	default:
		protocol = connect.ProtocolName + "/" + strconv.Itoa(int(connect.ProtocolLevel))
	}
	if c != nil {
		if id := c.clientIdentity(); id != "" {
			return id, protocol
		}
	}
	if connect.UsernameFlag {
		user = connect.Username
	}
	return user, protocol
}
