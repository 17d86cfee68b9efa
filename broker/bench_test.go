package broker

import (
	"flag"
	"runtime"
	"strconv"
	"testing"

	"github.com/sessionlab/sessionlab/broker/packet"
)

var memSessions = flag.Int("memsessions", 100000, "sessions in BenchmarkMemoryOfflineSessions")

// benchBroker returns a broker on profile with ReusePackets, and a helper
// that opens and CONNECTs conn c as clientID.
func benchBroker(b *testing.B, profile string) (*Broker, func(c ConnID, clientID string)) {
	p, err := Profile(profile)
	if err != nil {
		b.Fatal(err)
	}
	br, err := New(Config{Policy: p, ReusePackets: true})
	if err != nil {
		b.Fatal(err)
	}
	return br, func(c ConnID, clientID string) {
		br.Step(0, Input{Kind: InOpen, Conn: c})
		br.Step(0, Input{Kind: InPacket, Conn: c, Packet: &packet.Connect{ProtocolName: "MQTT", ProtocolLevel: 4, ClientID: clientID}})
	}
}

func subscribeBench(br *Broker, c ConnID, filter string, qos packet.QoS) {
	br.Step(0, Input{Kind: InPacket, Conn: c, Packet: &packet.Subscribe{PacketID: 1, Subscriptions: []packet.Subscription{{Filter: filter, QoS: qos}}}})
}

// BenchmarkQoS1RoutedToOneSubscriber measures one QoS 1 PUBLISH routed to one
// online subscriber, the publisher's PUBACK and the subscriber's PUBACK.
func BenchmarkQoS1RoutedToOneSubscriber(b *testing.B) {
	br, connect := benchBroker(b, "mosquitto")
	connect(1, "sub")
	connect(2, "pub")
	subscribeBench(br, 1, "fleet/+/telemetry", 1)
	pub := &packet.Publish{Topic: "fleet/dev-1/telemetry", QoS: 1, PacketID: 1, Payload: make([]byte, 64)}
	ack := &packet.Puback{}
	pubIn := Input{Kind: InPacket, Conn: 2, Packet: pub}
	ackIn := Input{Kind: InPacket, Conn: 1, Packet: ack}
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		br.Step(Time(i), pubIn)
		ack.PacketID = br.Outputs()[1].Packet.(*packet.Publish).PacketID
		br.Step(Time(i), ackIn)
	}
}

// BenchmarkFanout1000 measures one QoS 1 PUBLISH routed to 1,000 online
// subscribers (the acks are not part of the measurement's Step but are fed
// so windows never fill).
func BenchmarkFanout1000(b *testing.B) {
	br, connect := benchBroker(b, "mosquitto")
	for i := 0; i < 1000; i++ {
		connect(ConnID(i+1), "sub-"+strconv.Itoa(i))
		subscribeBench(br, ConnID(i+1), "fleet/broadcast", 1)
	}
	connect(5000, "pub")
	pub := &packet.Publish{Topic: "fleet/broadcast", QoS: 1, PacketID: 1, Payload: make([]byte, 64)}
	in := Input{Kind: InPacket, Conn: 5000, Packet: pub}
	acks := make([]packet.Puback, 1000)
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		br.Step(Time(i), in)
		n := 0
		for _, o := range br.Outputs() {
			if p, ok := o.Packet.(*packet.Publish); ok {
				acks[n].PacketID = p.PacketID
				n++
			}
		}
		b.StopTimer()
		for j := 0; j < n; j++ {
			br.Step(Time(i), Input{Kind: InPacket, Conn: ConnID(j + 1), Packet: &acks[j]})
		}
		b.StartTimer()
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/1000, "ns/copy")
}

// BenchmarkMemoryOfflineSessions measures the heap held by -memsessions
// offline persistent sessions (tencent profile), each with one
// subscription: "own-filter" gives each its own filter (a trie path per
// session); "shared-filter" subscribes all to one filter and then queues 150
// 64-byte messages for each (Tencent's cap; all copies of a message share
// one message and its payload).
func BenchmarkMemoryOfflineSessions(b *testing.B) {
	b.Run("own-filter", func(b *testing.B) {
		for b.Loop() {
			memSessionsRun(b, func(i int) string { return "device/" + strconv.Itoa(i) + "/cmd" }, 0)
		}
	})
	b.Run("shared-filter", func(b *testing.B) {
		for b.Loop() {
			memSessionsRun(b, func(int) string { return "fleet/broadcast" }, 150)
		}
	})
}

// memSessionsRun creates the sessions, subscribed to filterOf(i), then
// publishes perSession messages to fleet/broadcast, reporting heap growth.
func memSessionsRun(b *testing.B, filterOf func(int) string, perSession int) {
	n := *memSessions
	br, connect := benchBroker(b, "tencent")
	base := heapInUse()
	for i := 0; i < n; i++ {
		c := ConnID(i + 1)
		connect(c, "device-"+strconv.Itoa(i))
		subscribeBench(br, c, filterOf(i), 1)
		br.Step(0, Input{Kind: InLost, Conn: c})
	}
	br.Step(0, Input{Kind: InDeadline}) // let go of the last Step's outputs
	idle := heapInUse()
	b.ReportMetric(float64(idle-base)/float64(n), "bytes/session")
	if perSession == 0 {
		runtime.KeepAlive(br)
		return
	}
	connect(ConnID(n+1), "publisher")
	payload := make([]byte, 64)
	for m := 0; m < perSession; m++ {
		br.Step(0, Input{Kind: InPacket, Conn: ConnID(n + 1), Packet: &packet.Publish{Topic: "fleet/broadcast", QoS: 1, PacketID: uint16(m + 1), Payload: payload}})
	}
	br.Step(0, Input{Kind: InDeadline})
	queued := heapInUse()
	if got := br.Stats().Queued; got != perSession*n {
		b.Fatalf("queued %d, want %d", got, perSession*n)
	}
	b.ReportMetric(float64(queued-idle)/float64(perSession*n), "bytes/queued-msg")
	runtime.KeepAlive(br)
}

// heapInUse returns the live heap after a full collection.
func heapInUse() int64 {
	runtime.GC()
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return int64(m.HeapAlloc)
}
