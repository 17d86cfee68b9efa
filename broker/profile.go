package broker

import (
	"fmt"
	"strings"
	"time"
)

// protocolMaxPacket is the largest packet MQTT 3.1.1 can frame: a remaining
// length of 268,435,455 bytes plus a five-byte fixed header (section 2.2.3).
const protocolMaxPacket = 268435455 + 5

// profileNames is the fixed order of ProfileNames.
var profileNames = []string{"tencent", "aws", "hivemq", "mosquitto", "emqx"}

// ProfileNames lists the profile names in a fixed order.
func ProfileNames() []string { return append([]string(nil), profileNames...) }

// Profile returns the named vendor profile: tencent, aws, hivemq, mosquitto or
// emqx. An unknown name is an error listing the valid names.
func Profile(name string) (Policy, error) {
	switch name {
	case "tencent":
		return tencentProfile(), nil
	case "aws":
		return awsProfile(), nil
	case "hivemq":
		return hivemqProfile(), nil
	case "mosquitto":
		return mosquittoProfile(), nil
	case "emqx":
		return emqxProfile(), nil
	}
	return Policy{}, fmt.Errorf("broker: unknown profile %q (valid: %s)", name, strings.Join(profileNames, ", "))
}

// tencentProfile is Tencent Cloud IoT Hub, "MQTT Persistent Session"
// (../shared/seeds/000_a55b5faa331c953c.txt, 001_7c95a61cb52d2d98.txt).
// The page is silent on the overflow victim, the QoS 2 handling of SUBSCRIBE,
// the in-flight window and retries: those values are our choice.
func tencentProfile() Policy {
	return Policy{
		Name:             "tencent",
		MaxQoS:           1,                      // 001: "QoS 0 and QoS 1 (but not QoS 2)"
		QoS2:             QoS2Downgrade,          // silent: our choice, grant QoS 1
		StoreQoS0Offline: false,                  // 001: "Only QoS 1 messages can be stored"
		QueueCap:         150,                    // 001: "Up to 150 messages can be stored"
		Overflow:         DropOldest,             // silent: our choice, keep the freshest 150
		MessageTTL:       24 * time.Hour,         // 001: "for a maximum of 24 hours"
		SessionExpiry:    24 * time.Hour,         // 001: "disconnected for more than 24 hours", timeout included
		ReplayInterval:   500 * time.Millisecond, // 001: "sequentially at 500 ms intervals"
		ReplayBlocksLive: true,                   // 001: "sequentially"
		InflightWindow:   10,                     // silent: our choice
		MaxPacketSize:    protocolMaxPacket,      // silent: protocol maximum
		Promises:         AllInvariants,
	}
}

// awsProfile is AWS IoT Core, "MQTT Persistent Sessions"
// (../shared/seeds/004_f90e017e28b43d5c.txt) and the AWS IoT Core quotas page
// (docs.aws.amazon.com/general/latest/gr/iot-core.html). The queue cap is an
// account limit and the retry interval is unstated: both are our choice.
// Replay interleaves with live traffic, so AWS does not promise order
// (InvOrder) across a replay.
func awsProfile() Policy {
	return Policy{
		Name:             "aws",
		MaxQoS:           1,                // quotas page: QoS 2 not supported
		QoS2:             QoS2Ignore,       // quotas page: no PUBACK/SUBACK for QoS 2
		StoreQoS0Offline: false,            // 004: stores "new QoS 1 messages"
		QueueCap:         1000,             // account limit: our choice
		Overflow:         DropNewest,       // quotas page: further messages are dropped
		SessionExpiry:    time.Hour,        // 004: "default expiry period of 1 hour"
		ExpirySweep:      30 * time.Minute, // 004: "up to 30 minutes longer (but not less)"
		ReplayRate:       10,               // 004: "maximum rate of 10 messages per second"
		ReplayBlocksLive: false,            // 004: live traffic is not held back
		InflightWindow:   100,              // quotas page: 100 in-flight unacknowledged QoS 1
		RetryInterval:    30 * time.Second, // unstated: our choice
		RetryFor:         time.Hour,        // quotas page: retried for up to one hour
		MaxPacketSize:    128 * 1024,       // quotas page: 128 KB message size
		Promises:         AllInvariants.Without(InvOrder),
	}
}

// hivemqProfile is HiveMQ CE (../shared/seeds/002_b8ed239d7b997f0e.txt,
// 003_f03b16b118167831.txt, and the HiveMQ CE configuration reference). The
// in-flight window for MQTT 3.1.1 clients is unstated: our choice.
func hivemqProfile() Policy {
	return Policy{
		Name:             "hivemq",
		MaxQoS:           2,                 // 002: QoS 1 and 2 flows are stored
		QoS2:             QoS2Downgrade,     // unused with MaxQoS 2
		StoreQoS0Offline: false,             // 002: "new QoS 1 or 2 messages"; QoS 0 in memory only
		QueueCap:         1000,              // CE config: max-queued-messages 1000
		Overflow:         DropNewest,        // CE config: queued-messages-strategy discard
		SessionExpiry:    0,                 // 003: kept until a clean session; never for 3.1.1
		InflightWindow:   10,                // unstated for 3.1.1: our choice
		MaxPacketSize:    protocolMaxPacket, // CE config: max-packet-size 268435460
		Promises:         AllInvariants,
	}
}

// mosquittoProfile is Eclipse Mosquitto with the defaults of mosquitto.conf(5).
func mosquittoProfile() Policy {
	return Policy{
		Name:             "mosquitto",
		MaxQoS:           2,                 // mosquitto.conf(5): max_qos 2
		QoS2:             QoS2Downgrade,     // unused with MaxQoS 2
		StoreQoS0Offline: false,             // mosquitto.conf(5): queue_qos0_messages false
		QueueCap:         1000,              // mosquitto.conf(5): max_queued_messages 1000
		Overflow:         DropNewest,        // mosquitto.conf(5): messages beyond the cap are dropped
		SessionExpiry:    0,                 // mosquitto.conf(5): persistent_client_expiration unset = never
		InflightWindow:   20,                // mosquitto.conf(5): max_inflight_messages 20
		MaxPacketSize:    protocolMaxPacket, // mosquitto.conf(5): message_size_limit 0 = protocol limit
		Promises:         AllInvariants,
	}
}

// emqxProfile is EMQX with the defaults of emqx_schema.
func emqxProfile() Policy {
	return Policy{
		Name:             "emqx",
		MaxQoS:           2,                   // emqx_schema: mqtt.max_qos_allowed 2
		QoS2:             QoS2Downgrade,       // unused with MaxQoS 2
		StoreQoS0Offline: true,                // emqx_schema: mqtt.mqueue_store_qos0 true
		QueueCap:         1000,                // emqx_schema: mqtt.max_mqueue_len 1000
		Overflow:         DropOldestQoS0First, // emqx_schema: mqueue drops the oldest, QoS 0 first
		SessionExpiry:    2 * time.Hour,       // emqx_schema: mqtt.session_expiry_interval 2h
		InflightWindow:   32,                  // emqx_schema: mqtt.max_inflight 32
		RetryInterval:    30 * time.Second,    // emqx_schema: mqtt.retry_interval 30s
		MaxPacketSize:    1 << 20,             // emqx_schema: mqtt.max_packet_size 1MB
		Promises:         AllInvariants,
	}
}
