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

// TestMQTT31MosquittoSub: mosquitto_sub -V mqttv31 (protocol name "MQIsdp",
// level 3) keeps a persistent session: it subscribes, goes away without
// DISCONNECT, mosquitto_pub publishes meanwhile, and the returning
// mosquitto_sub -V mqttv31 receives what was stored.
func TestMQTT31MosquittoSub(t *testing.T) {
	subBin := mosquittoTool(t, "mosquitto_sub")
	pubBin := mosquittoTool(t, "mosquitto_pub")
	_, addr, rec := startServer(t, Config{})
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		t.Fatal(err)
	}
	subArgs := []string{"-h", host, "-p", port, "-V", "mqttv31", "-c", "-i", "v31-sub", "-q", "1", "-t", "v31/t"}

	first := exec.Command(subBin, subArgs...)
	if err := first.Start(); err != nil {
		t.Fatal(err)
	}
	rec.wait(t, 0, "EvSubscribed(v31-sub)", kind(broker.EvSubscribed, "v31-sub"))
	first.Process.Kill() // goes away without DISCONNECT
	first.Wait()
	rec.wait(t, 0, "EvDisconnected(v31-sub)", kind(broker.EvDisconnected, "v31-sub"))

	want := []string{"stored 1", "stored 2", "stored 3"}
	pub := exec.Command(pubBin, "-h", host, "-p", port, "-V", "mqttv31", "-i", "v31-pub", "-q", "1", "-t", "v31/t", "-l")
	pub.Stdin = strings.NewReader(strings.Join(want, "\n") + "\n")
	if out, err := pub.CombinedOutput(); err != nil {
		t.Fatalf("mosquitto_pub -V mqttv31: %v\n%s", err, out)
	}
	enqueued := 0
	rec.wait(t, 0, "3 EvEnqueued(v31-sub)", func(ev broker.Event) bool {
		if ev.Kind == broker.EvEnqueued && ev.ClientID == "v31-sub" {
			enqueued++
		}
		return enqueued == len(want)
	})

	timeout := fmt.Sprint(int(waitFor / time.Second))
	out, err := exec.Command(subBin, append(subArgs, "-C", fmt.Sprint(len(want)), "-W", timeout)...).CombinedOutput()
	if err != nil {
		t.Fatalf("returning mosquitto_sub -V mqttv31: %v\n%s", err, out)
	}
	if got := strings.TrimSpace(string(out)); got != strings.Join(want, "\n") {
		t.Errorf("returning mosquitto_sub printed\n%s\nwant %q in order", got, want)
	}
	if got := rec.all(kind(broker.EvConnected, "v31-sub")); len(got) != 2 || !got[1].SessionPresent {
		t.Errorf("EvConnected(v31-sub) = %v, want two, the second resuming the session", got)
	}
}
