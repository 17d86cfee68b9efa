package tcp

import (
	"fmt"
	"net"
	"os/exec"
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
	subBin := mosquittoTool(t, "mosquitto_sub")
	pubBin := mosquittoTool(t, "mosquitto_pub")
	_, addr, rec := startServer(t, Config{})
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		t.Fatal(err)
	}
	subArgs := []string{"-h", host, "-p", port, "-c", "-i", "mq-sub", "-q", "1", "-t", "mq/t"}

	first := exec.Command(subBin, subArgs...)
	if err := first.Start(); err != nil {
		t.Fatal(err)
	}
	rec.wait(t, 0, "EvSubscribed(mq-sub)", kind(broker.EvSubscribed, "mq-sub"))
	first.Process.Kill() // goes away without DISCONNECT
	first.Wait()
	rec.wait(t, 0, "EvDisconnected(mq-sub)", kind(broker.EvDisconnected, "mq-sub"))

	const n = 50
	var want []string
	for i := range n {
		want = append(want, fmt.Sprintf("message %02d", i))
	}
	pub := exec.Command(pubBin, "-h", host, "-p", port, "-i", "mq-pub", "-q", "1", "-t", "mq/t", "-l")
	pub.Stdin = strings.NewReader(strings.Join(want, "\n") + "\n")
	if out, err := pub.CombinedOutput(); err != nil {
		t.Fatalf("mosquitto_pub: %v\n%s", err, out)
	}
	enqueued := 0
	rec.wait(t, 0, fmt.Sprintf("%d EvEnqueued(mq-sub)", n), func(ev broker.Event) bool {
		if ev.Kind == broker.EvEnqueued && ev.ClientID == "mq-sub" {
			enqueued++
		}
		return enqueued == n
	})

	timeout := fmt.Sprint(int(waitFor / time.Second))
	out, err := exec.Command(subBin, append(subArgs, "-C", fmt.Sprint(n), "-W", timeout)...).CombinedOutput()
	if err != nil {
		t.Fatalf("returning mosquitto_sub: %v\n%s", err, out)
	}
	if got := strings.Split(strings.TrimSpace(string(out)), "\n"); strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("returning mosquitto_sub printed\n%s\nwant the %d messages in order", out, n)
	}
}
