package broker

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// protocolMaxPacket is the largest packet MQTT 3.1.1 can frame: a remaining
// length of 268,435,455 bytes plus a five-byte fixed header (section 2.2.3).
const protocolMaxPacket = 268435455 + 5

// The vendor pages the profiles come from, by title and public URL.
const (
	seedTencentMD = `Tencent Cloud IoT Hub, "MQTT Persistent Session", https://www.tencentcloud.com/document/product/1105/41826`
	seedTencent   = `Tencent Cloud IoT Hub, "MQTT Persistent Session" (updated 2024-12-27), https://www.tencentcloud.com/document/product/1105/41826`
	seedHiveMQ    = `HiveMQ, "Persistent Session & Queuing Messages - MQTT Essentials: Part 7", https://www.hivemq.com/blog/mqtt-essentials-part-7-persistent-session-queuing-messages/`
	seedHiveMQ7   = `HiveMQ, "Understanding Persistent Sessions and Clean Sessions - MQTT Essentials: Part 7" (updated 2023-06-27), https://www.hivemq.com/blog/mqtt-essentials-part-7-persistent-session-queuing-messages/`
	seedAWS       = `AWS IoT Core Developer Guide, "MQTT persistent sessions", https://docs.aws.amazon.com/iot/latest/developerguide/mqtt.html#mqtt-persistent-sessions`
	awsQuotas     = `AWS General Reference, "AWS IoT Core endpoints and quotas", https://docs.aws.amazon.com/general/latest/gr/iot-core.html`
	ourChoice     = "vendor silent: our choice, configurable"
)

// FieldSource cites where a profile's value of one Policy field comes from.
type FieldSource struct {
	Field  string // the Policy field, e.g. "QueueCap"
	Value  string // the profile's value, e.g. "150"
	Source string // the vendor's page (title and URL), or why it is our choice
}

// String formats the citation on one line: "QueueCap=150 (source)".
func (f FieldSource) String() string { return f.Field + "=" + f.Value + " (" + f.Source + ")" }

// source is one citation of a profile definition.
type source struct{ field, text string }

// profiles maps a profile name to its definition: the policy and the source
// of every field.
var profiles = map[string]func() (Policy, []source){
	"tencent": tencentProfile, "aws": awsProfile, "hivemq": hivemqProfile,
	"mosquitto": mosquittoProfile, "emqx": emqxProfile,
}

// profileNames is the fixed order of ProfileNames.
var profileNames = []string{"tencent", "aws", "hivemq", "mosquitto", "emqx"}

// ProfileNames lists the profile names in a fixed order.
func ProfileNames() []string { return append([]string(nil), profileNames...) }

// Profile returns the named vendor profile: tencent, aws, hivemq, mosquitto or
// emqx. An unknown name is an error listing the valid names.
func Profile(name string) (Policy, error) {
	def, ok := profiles[name]
	if !ok {
		return Policy{}, fmt.Errorf("broker: unknown profile %q (valid: %s)", name, strings.Join(profileNames, ", "))
	}
	p, _ := def()
	return p, nil
}

// ProfileSources returns, in Policy field order, every field of the named
// profile with its value and the source it is taken from.
func ProfileSources(name string) ([]FieldSource, error) {
	def, ok := profiles[name]
	if !ok {
		return nil, fmt.Errorf("broker: unknown profile %q (valid: %s)", name, strings.Join(profileNames, ", "))
	}
	p, srcs := def()
	out := make([]FieldSource, 0, len(policyFields))
	for _, f := range policyFields {
		fs := FieldSource{Field: f, Value: p.fieldValue(f), Source: "not cited"}
		for _, s := range srcs {
			if s.field == f {
				fs.Source = s.text
			}
		}
		out = append(out, fs)
	}
	return out, nil
}

// policyFields lists the Policy fields in declaration order.
var policyFields = []string{"Name", "MaxQoS", "QoS2", "StoreQoS0Offline", "QueueCap", "Overflow",
	"MessageTTL", "SessionExpiry", "ExpirySweep", "ReplayInterval", "ReplayRate", "ReplayBlocksLive",
	"InflightWindow", "RetryInterval", "RetryFor", "MaxPacketSize", "Promises"}

// fieldValue formats the Policy field named f.
func (p Policy) fieldValue(f string) string {
	switch f {
	case "Name":
		return p.Name
	case "MaxQoS":
		return strconv.Itoa(int(p.MaxQoS))
	case "QoS2":
		return p.QoS2.String()
	case "StoreQoS0Offline":
		return strconv.FormatBool(p.StoreQoS0Offline)
	case "QueueCap":
		return strconv.Itoa(p.QueueCap)
	case "Overflow":
		return p.Overflow.String()
	case "MessageTTL":
		return p.MessageTTL.String()
	case "SessionExpiry":
		return p.SessionExpiry.String()
	case "ExpirySweep":
		return p.ExpirySweep.String()
	case "ReplayInterval":
		return p.ReplayInterval.String()
	case "ReplayRate":
		return strconv.Itoa(p.ReplayRate)
	case "ReplayBlocksLive":
		return strconv.FormatBool(p.ReplayBlocksLive)
	case "InflightWindow":
		return strconv.Itoa(p.InflightWindow)
	case "RetryInterval":
		return p.RetryInterval.String()
	case "RetryFor":
		return p.RetryFor.String()
	case "MaxPacketSize":
		return strconv.Itoa(p.MaxPacketSize)
	case "Promises":
		return p.Promises.String()
	}
	return "?"
}

// tencentProfile is Tencent Cloud IoT Hub, "MQTT Persistent Session".
func tencentProfile() (Policy, []source) {
	return Policy{
			Name: "tencent", MaxQoS: 1, QoS2: QoS2Downgrade, StoreQoS0Offline: false,
			QueueCap: 150, Overflow: DropOldest, MessageTTL: 24 * time.Hour,
			SessionExpiry: 24 * time.Hour, ReplayInterval: 500 * time.Millisecond, ReplayBlocksLive: true,
			InflightWindow: 10, MaxPacketSize: protocolMaxPacket, Promises: AllInvariants,
		}, []source{
			{"Name", seedTencentMD + ", " + seedTencent},
			{"MaxQoS", seedTencent + `: "QoS 0 and QoS 1 (but not QoS 2)"`},
			{"QoS2", ourChoice + ": grant QoS 1 to a QoS 2 subscription"},
			{"StoreQoS0Offline", seedTencent + `: "Only QoS 1 messages can be stored"`},
			{"QueueCap", seedTencent + `: "Up to 150 messages can be stored"; also applied to an online backlog: our choice, vendor silent`},
			{"Overflow", ourChoice + ": keep the newest 150"},
			{"MessageTTL", seedTencent + `: stored "for a maximum of 24 hours"`},
			{"SessionExpiry", seedTencent + `: "disconnected for more than 24 hours", communication timeout included`},
			{"ExpirySweep", seedTencent + ": no lateness stated"},
			{"ReplayInterval", seedTencent + `: "sends the stored QoS 1 messages sequentially at 500 ms intervals"`},
			{"ReplayRate", seedTencent + ": pacing is by interval only"},
			{"ReplayBlocksLive", seedTencent + `: "sequentially"`},
			{"InflightWindow", ourChoice},
			{"RetryInterval", ourChoice + ": resend on reconnect only"},
			{"RetryFor", ourChoice + ": never give up"},
			{"MaxPacketSize", ourChoice + ": the protocol maximum"},
			{"Promises", "all invariants"},
		}
}

// awsProfile is AWS IoT Core, "MQTT Persistent Sessions", with the quotas
// page. Replay interleaves with live traffic, so it does not promise order
// (InvOrder) across a replay.
func awsProfile() (Policy, []source) {
	return Policy{
			Name: "aws", MaxQoS: 1, QoS2: QoS2Ignore, StoreQoS0Offline: false,
			QueueCap: 1000, Overflow: DropNewest, SessionExpiry: time.Hour, ExpirySweep: 30 * time.Minute,
			ReplayRate: 10, ReplayBlocksLive: false, InflightWindow: 100,
			RetryInterval: 30 * time.Second, RetryFor: time.Hour, MaxPacketSize: 128 * 1024,
			Promises: AllInvariants.Without(InvOrder),
		}, []source{
			{"Name", seedAWS},
			{"MaxQoS", awsQuotas + ": QoS 2 is not supported"},
			{"QoS2", awsQuotas + ": no PUBACK or SUBACK for QoS 2 requests"},
			{"StoreQoS0Offline", seedAWS + `: stores "unacknowledged QoS 1 messages and new QoS 1 messages"`},
			{"QueueCap", ourChoice + ": an account limit on AWS"},
			{"Overflow", awsQuotas + ": messages beyond the limit are dropped"},
			{"MessageTTL", seedAWS + ": stored until the session expires"},
			{"SessionExpiry", seedAWS + `: "default expiry period of 1 hour"`},
			{"ExpirySweep", seedAWS + `: "might be persisted for up to 30 minutes longer (but not less)"`},
			{"ReplayInterval", seedAWS + ": pacing is by rate only"},
			{"ReplayRate", seedAWS + `: "at a maximum rate of 10 messages per second"`},
			{"ReplayBlocksLive", ourChoice + ": live traffic is not held behind the replay"},
			{"InflightWindow", awsQuotas + ": 100 in-flight unacknowledged QoS 1 messages"},
			{"RetryInterval", ourChoice},
			{"RetryFor", awsQuotas + ": unacknowledged QoS 1 messages are retried for up to one hour"},
			{"MaxPacketSize", awsQuotas + ": 128 KB per message"},
			{"Promises", "all but InvOrder: the replay interleaves with live traffic"},
		}
}

// hivemqProfile is HiveMQ CE with its default configuration.
func hivemqProfile() (Policy, []source) {
	return Policy{
			Name: "hivemq", MaxQoS: 2, QoS2: QoS2Downgrade, StoreQoS0Offline: false,
			QueueCap: 1000, Overflow: DropNewest, ReplayBlocksLive: true, InflightWindow: 10,
			MaxPacketSize: protocolMaxPacket, Promises: AllInvariants,
		}, []source{
			{"Name", seedHiveMQ + ", " + seedHiveMQ7},
			{"MaxQoS", seedHiveMQ + ": QoS 1 and 2 flows are stored"},
			{"QoS2", "unused with MaxQoS 2"},
			{"StoreQoS0Offline", seedHiveMQ + `: stores "new QoS 1 or 2 messages"; HiveMQ CE config: QoS 0 not queued for offline clients`},
			{"QueueCap", "HiveMQ CE config: max-queued-messages 1000"},
			{"Overflow", "HiveMQ CE config: queued-messages-strategy discard (drop the newest)"},
			{"MessageTTL", "HiveMQ CE config: no expiry of queued messages for MQTT 3.1.1"},
			{"SessionExpiry", seedHiveMQ7 + ": kept until a clean session; HiveMQ CE: never for MQTT 3.1.1"},
			{"ExpirySweep", "unused: sessions never expire"},
			{"ReplayInterval", seedHiveMQ + ": in-flight window only"},
			{"ReplayRate", seedHiveMQ + ": in-flight window only"},
			{"ReplayBlocksLive", seedHiveMQ + ": queued messages are delivered in order, new ones behind them (one queue)"},
			{"InflightWindow", ourChoice + ": unstated for MQTT 3.1.1 clients"},
			{"RetryInterval", seedHiveMQ + ": resend on reconnect"},
			{"RetryFor", ourChoice + ": never give up"},
			{"MaxPacketSize", "HiveMQ CE config: max-packet-size 268435460"},
			{"Promises", "all invariants"},
		}
}

// mosquittoProfile is Eclipse Mosquitto with the defaults of mosquitto.conf(5).
func mosquittoProfile() (Policy, []source) {
	return Policy{
			Name: "mosquitto", MaxQoS: 2, QoS2: QoS2Downgrade, StoreQoS0Offline: false,
			QueueCap: 1000, Overflow: DropNewest, ReplayBlocksLive: true, InflightWindow: 20,
			MaxPacketSize: protocolMaxPacket, Promises: AllInvariants,
		}, []source{
			{"Name", "mosquitto.conf(5)"},
			{"MaxQoS", "mosquitto.conf(5): max_qos 2"},
			{"QoS2", "unused with MaxQoS 2"},
			{"StoreQoS0Offline", "mosquitto.conf(5): queue_qos0_messages false"},
			{"QueueCap", "mosquitto.conf(5): max_queued_messages 1000"},
			{"Overflow", "mosquitto.conf(5): messages beyond max_queued_messages are dropped"},
			{"MessageTTL", "mosquitto.conf(5): no expiry of queued MQTT 3.1.1 messages"},
			{"SessionExpiry", "mosquitto.conf(5): persistent_client_expiration unset = never"},
			{"ExpirySweep", "unused: sessions never expire"},
			{"ReplayInterval", "mosquitto.conf(5): in-flight window only"},
			{"ReplayRate", "mosquitto.conf(5): in-flight window only"},
			{"ReplayBlocksLive", "mosquitto.conf(5): one queue per client, new messages behind the queued ones"},
			{"InflightWindow", "mosquitto.conf(5): max_inflight_messages 20"},
			{"RetryInterval", "mosquitto.conf(5): resend on reconnect only (retry_interval removed in 1.5)"},
			{"RetryFor", "never gives up"},
			{"MaxPacketSize", "mosquitto.conf(5): message_size_limit 0 = the protocol maximum"},
			{"Promises", "all invariants"},
		}
}

// emqxProfile is EMQX with the defaults of emqx_schema.
func emqxProfile() (Policy, []source) {
	return Policy{
			Name: "emqx", MaxQoS: 2, QoS2: QoS2Downgrade, StoreQoS0Offline: true,
			QueueCap: 1000, Overflow: DropOldestQoS0First, SessionExpiry: 2 * time.Hour,
			ReplayBlocksLive: true, InflightWindow: 32, RetryInterval: 30 * time.Second, MaxPacketSize: 1 << 20,
			Promises: AllInvariants,
		}, []source{
			{"Name", "emqx_schema"},
			{"MaxQoS", "emqx_schema: mqtt.max_qos_allowed 2"},
			{"QoS2", "unused with MaxQoS 2"},
			{"StoreQoS0Offline", "emqx_schema: mqtt.mqueue_store_qos0 true"},
			{"QueueCap", "emqx_schema: mqtt.max_mqueue_len 1000"},
			{"Overflow", "emqx_schema: a full mqueue drops the oldest, QoS 0 first"},
			{"MessageTTL", "emqx_schema: no message expiry for MQTT 3.1.1"},
			{"SessionExpiry", "emqx_schema: mqtt.session_expiry_interval 2h"},
			{"ExpirySweep", "emqx_schema: expiry on time"},
			{"ReplayInterval", "emqx_schema: in-flight window only"},
			{"ReplayRate", "emqx_schema: in-flight window only"},
			{"ReplayBlocksLive", "emqx_schema: one mqueue per session, new messages behind the queued ones"},
			{"InflightWindow", "emqx_schema: mqtt.max_inflight 32"},
			{"RetryInterval", "emqx_schema: mqtt.retry_interval 30s"},
			{"RetryFor", "emqx_schema: retries until acknowledged"},
			{"MaxPacketSize", "emqx_schema: mqtt.max_packet_size 1MB"},
			{"Promises", "all invariants"},
		}
}
