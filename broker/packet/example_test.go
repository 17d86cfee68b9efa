package packet_test

import (
	"bufio"
	"bytes"
	"fmt"

	"github.com/sessionlab/sessionlab/broker/packet"
)

func ExampleDecode() {
	wire := (&packet.Publish{QoS: 1, PacketID: 7, Topic: "a/b", Payload: []byte("hello")}).Append(nil)
	p, n, err := packet.Decode(wire, 1024)
	fmt.Println(p, n, err)

	_, _, err = packet.Decode([]byte{0x30, 0x05, 0x00, 0x03, 'a', '/', '+'}, 1024)
	fmt.Println(err)
	// Output:
	// PUBLISH q1 id=7 topic="a/b" payload=5B 14 <nil>
	// PUBLISH topic name at byte 6: topic name contains wildcard + [MQTT-3.3.2-2]: malformed packet
}

// ExampleSplit frames a stream with a bufio.Scanner and decodes each packet,
// taking the allocation-light path for PUBLISH.
func ExampleSplit() {
	var stream []byte
	stream = (&packet.Publish{Topic: "t", Payload: []byte("x")}).Append(stream)
	stream = (&packet.Pingreq{}).Append(stream)

	sc := bufio.NewScanner(bytes.NewReader(stream))
	sc.Buffer(make([]byte, 0, 4096), 4096)
	sc.Split(packet.Split(4096))
	var pub packet.Publish
	for sc.Scan() {
		frame := sc.Bytes()
		if packet.Type(frame[0]>>4) == packet.PUBLISH {
			err := packet.DecodePublish(frame[0], packet.Body(frame), &pub)
			fmt.Println(&pub, err)
			continue
		}
		p, _, err := packet.Decode(frame, 4096)
		fmt.Println(p, err)
	}
	fmt.Println(sc.Err())
	// Output:
	// PUBLISH q0 topic="t" payload=1B <nil>
	// PINGREQ <nil>
	// <nil>
}

func ExampleMatch() {
	fmt.Println(packet.Match("sport/+/player1/#", "sport/tennis/player1"))
	fmt.Println(packet.Match("#", "$SYS/uptime"))
	// Output:
	// true
	// false
}
