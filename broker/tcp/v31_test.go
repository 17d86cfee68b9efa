package tcp

import (
	"net"
	"testing"

	"github.com/sessionlab/sessionlab/broker"
)

// TestMQTT31MosquittoSub: mosquitto_sub -V mqttv31 (protocol name "MQIsdp",
// level 3) keeps a persistent session: it subscribes, goes away without
// DISCONNECT, mosquitto_pub publishes meanwhile, and the returning
// mosquitto_sub -V mqttv31 receives what was stored.
func TestMQTT31MosquittoSub(t *testing.T) {
	_, addr, rec := startServer(t, Config{})
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		t.Fatal(err)
	}
	mosquittoAway(t, rec, []string{"-h", host, "-p", port, "-V", "mqttv31"}, "v31-sub", "v31/t",
		[]string{"stored 1", "stored 2", "stored 3"})
	if got := rec.all(kind(broker.EvConnected, "v31-sub")); len(got) != 2 || !got[1].SessionPresent {
		t.Errorf("EvConnected(v31-sub) = %v, want two, the second resuming the session", got)
	}
	if got := rec.count(func(ev broker.Event) bool { return ev.Kind == broker.EvRefused }); got != 0 {
		t.Errorf("%d CONNECTs refused, want none", got)
	}
}
