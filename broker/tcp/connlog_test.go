package tcp

import (
	"log/slog"
	"regexp"
	"strings"
	"testing"

	"github.com/sessionlab/sessionlab/broker"
	"github.com/sessionlab/sessionlab/broker/packet"
)

// TestConnectionLog: one info line per accepted CONNECT, refused CONNECT
// and disconnect, with the client id, the user, the remote address and the
// reason; none at level warn.
func TestConnectionLog(t *testing.T) {
	var logs logBuffer
	_, addr, rec := startServer(t, Config{Logger: slog.New(slog.NewTextHandler(&logs, nil))})

	a := dialRaw(t, addr)
	a.connect(&packet.Connect{ClientID: "log-a", KeepAlive: 60, UsernameFlag: true, Username: "alice"}, packet.Accepted)
	a.send(&packet.Disconnect{})
	a.expectClosed()

	b := dialRaw(t, addr)
	b.connect(&packet.Connect{ClientID: "log-b", CleanSession: true, ProtocolName: packet.ProtocolName31, ProtocolLevel: packet.ProtocolLevel31}, packet.Accepted)
	b.nc.Close()
	rec.wait(t, 0, "EvDisconnected(log-b)", kind(broker.EvDisconnected, "log-b"))

	dialRaw(t, addr).connect(&packet.Connect{ClientID: "log-c", ProtocolName: "MQTT", ProtocolLevel: 5}, packet.RefusedProtocolVersion)

	aAddr, bAddr := a.nc.LocalAddr().String(), b.nc.LocalAddr().String()
	want := []string{
		`msg="client connected" client_id=log-a user=alice remote=` + aAddr + ` conn=\d+ protocol=3.1.1 clean=false session_present=false`,
		`msg="client disconnected" client_id=log-a user=alice remote=` + aAddr + ` conn=\d+ reason=client-disconnect`,
		`msg="client connected" client_id=log-b user="" remote=` + bAddr + ` conn=\d+ protocol=3.1 clean=true`,
		`msg="client disconnected" client_id=log-b user="" remote=` + bAddr + ` conn=\d+ reason=conn-lost`,
		`msg="client refused" client_id="" user="" remote=127.0.0.1:\d+ conn=\d+ protocol=MQTT/5 reason=unacceptable-protocol-version`,
	}
	var lines []string
	for _, l := range strings.Split(logs.String(), "\n") {
		if strings.Contains(l, `msg="client `) {
			lines = append(lines, l)
		}
	}
	if len(lines) != len(want) {
		t.Fatalf("got %d connection lines, want %d:\n%s", len(lines), len(want), strings.Join(lines, "\n"))
	}
	for i, w := range want {
		if !regexp.MustCompile(`level=INFO ` + w).MatchString(lines[i]) {
			t.Errorf("line %d = %s\nwant it to match %s", i, lines[i], w)
		}
	}

	var quiet logBuffer
	_, addr, _ = startServer(t, Config{Logger: slog.New(slog.NewTextHandler(&quiet, &slog.HandlerOptions{Level: slog.LevelWarn}))})
	q := dialRaw(t, addr)
	q.connect(persistent("quiet"), packet.Accepted)
	q.send(&packet.Disconnect{})
	q.expectClosed()
	if strings.Contains(quiet.String(), "client ") {
		t.Errorf("level warn logged connection lines:\n%s", quiet.String())
	}
}
