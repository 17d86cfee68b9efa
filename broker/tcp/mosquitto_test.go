package tcp

import (
	"fmt"
	"net"
	"os/exec"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/sessionlab/sessionlab/broker"
)

// mosquittoTool returns the path of one of Debian's mosquitto-clients
// programs. Without it the test fails (CI installs them: .ci/run), unless
// -short was given.
func mosquittoTool(t *testing.T, name string) string {
	t.Helper()
	path, err := exec.LookPath(name)
	if err != nil {
		if testing.Short() {
			t.Skipf("%s not installed", name)
		}
		t.Fatalf("%s not installed: apt-get install -y mosquitto-clients (or run with -short)", name)
	}
	return path
}

// TestMosquittoClients: a persistent mosquitto_sub goes away, mosquitto_pub
// publishes meanwhile, and the returning mosquitto_sub receives every message
// in order.
func TestMosquittoClients(t *testing.T) {
	_, addr, rec := startServer(t, Config{})
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		t.Fatal(err)
	}
	var want []string
	for i := range 50 {
		want = append(want, fmt.Sprintf("message %02d", i))
	}
	mosquittoAway(t, rec, []string{"-h", host, "-p", port}, "mq-sub", "mq/t", want)
}

// mosquittoAway is the persistent-session round trip with Debian's
// clients, both run with the arguments conn (address, protocol version, TLS
// files): mosquitto_sub subscribes at QoS 1 as clientID to topic with
// CleanSession=0 and is killed (no DISCONNECT); mosquitto_pub publishes want,
// one message per line, while it is away; the returning mosquitto_sub must
// print want in order.
func mosquittoAway(t *testing.T, rec *recorder, conn []string, clientID, topic string, want []string) {
	t.Helper()
	subBin := mosquittoTool(t, "mosquitto_sub")
	pubBin := mosquittoTool(t, "mosquitto_pub")
	subArgs := append(slices.Clone(conn), "-c", "-i", clientID, "-q", "1", "-t", topic)
	first := exec.Command(subBin, subArgs...)
	if err := first.Start(); err != nil {
		t.Fatal(err)
	}
	rec.wait(t, 0, "EvSubscribed("+clientID+")", kind(broker.EvSubscribed, clientID))
	first.Process.Kill() // goes away without DISCONNECT
	first.Wait()
	rec.wait(t, 0, "EvDisconnected("+clientID+")", kind(broker.EvDisconnected, clientID))

	pub := exec.Command(pubBin, append(slices.Clone(conn), "-i", clientID+"-pub", "-q", "1", "-t", topic, "-l")...)
	pub.Stdin = strings.NewReader(strings.Join(want, "\n") + "\n")
	if out, err := pub.CombinedOutput(); err != nil {
		t.Fatalf("mosquitto_pub %q: %v\n%s", conn, err, out)
	}
	enqueued := 0
	rec.wait(t, 0, fmt.Sprintf("%d EvEnqueued(%s)", len(want), clientID), func(ev broker.Event) bool {
		if ev.Kind == broker.EvEnqueued && ev.ClientID == clientID {
			enqueued++
		}
		return enqueued == len(want)
	})

	timeout := fmt.Sprint(int(waitFor / time.Second))
	out, err := exec.Command(subBin, append(subArgs, "-C", fmt.Sprint(len(want)), "-W", timeout)...).CombinedOutput()
	if err != nil {
		t.Fatalf("returning mosquitto_sub %q: %v\n%s", conn, err, out)
	}
	if got := strings.Split(strings.TrimSpace(string(out)), "\n"); strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("returning mosquitto_sub %q printed\n%s\nwant the %d messages in order", conn, out, len(want))
	}
}
