package broker

import (
	"bufio"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/sessionlab/sessionlab/broker/packet"
)

var update = flag.Bool("update", false, "rewrite broker/testdata/*.golden from the current behaviour")

// TestScripts runs every broker/testdata/*.txt script and compares its trace
// with the .golden file next to it. Scripts are one command a line:
//
//	policy tencent                      select a profile (first line)
//	set QueueCap 3                      override a Policy field
//	at 1s conn 1 open                   'at' advances the clock, firing deadlines on the way
//	conn 1 recv CONNECT c=dev1 clean=0 ka=60
//	conn 1 recv SUBSCRIBE id=1 a/b:1 c/#:0
//	conn 2 recv PUBLISH topic=a/b q=1 id=5 payload=hi retain dup
//	conn 1 recv PUBACK id=1             also PUBREC, PUBREL, PUBCOMP, UNSUBSCRIBE, PINGREQ, DISCONNECT
//	conn 1 lost | conn 1 malformed
//	advance 10s                         fire every deadline up to now+10s
func TestScripts(t *testing.T) {
	files, err := filepath.Glob("testdata/*.txt")
	if err != nil || len(files) == 0 {
		t.Fatalf("no scripts: %v", err)
	}
	for _, file := range files {
		t.Run(strings.TrimSuffix(filepath.Base(file), ".txt"), func(t *testing.T) {
			got := runScript(t, file)
			golden := strings.TrimSuffix(file, ".txt") + ".golden"
			if *update {
				if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run with -update to create it)", err)
			}
			if got != string(want) {
				t.Errorf("trace differs from %s (run with -update to accept):\n%s", golden, lineDiff(got, string(want)))
			}
		})
	}
}

// lineDiff returns the first differing lines of got and want.
func lineDiff(got, want string) string {
	g, w := strings.Split(got, "\n"), strings.Split(want, "\n")
	for i := 0; i < len(g) || i < len(w); i++ {
		var gl, wl string
		if i < len(g) {
			gl = g[i]
		}
		if i < len(w) {
			wl = w[i]
		}
		if gl != wl {
			return fmt.Sprintf("line %d:\n got: %s\nwant: %s", i+1, gl, wl)
		}
	}
	return ""
}

// scriptRun is the state of one script: a broker and its trace.
type scriptRun struct {
	t     *testing.T
	file  string
	line  int
	pol   Policy
	b     *Broker
	now   Time
	trace strings.Builder
}

// runScript executes file and returns its trace.
func runScript(t *testing.T, file string) string {
	f, err := os.Open(file)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	r := &scriptRun{t: t, file: file}
	r.pol, _ = Profile("mosquitto")
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		r.line++
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			r.trace.WriteString(line + "\n")
			continue
		}
		r.exec(line)
	}
	return r.trace.String()
}

// fatalf fails the test at the script's current line.
func (r *scriptRun) fatalf(format string, args ...any) {
	r.t.Helper()
	r.t.Fatalf("%s:%d: %s", r.file, r.line, fmt.Sprintf(format, args...))
}

// broker returns the script's broker, creating it on first use.
func (r *scriptRun) broker() *Broker {
	if r.b == nil {
		b, err := New(Config{Policy: r.pol})
		if err != nil {
			r.fatalf("New: %v", err)
		}
		r.b = b
	}
	return r.b
}

// exec runs one command line.
func (r *scriptRun) exec(line string) {
	f := strings.Fields(line)
	switch f[0] {
	case "policy":
		p, err := Profile(f[1])
		if err != nil {
			r.fatalf("%v", err)
		}
		r.pol = p
		r.trace.WriteString(line + "\n")
		return
	case "set":
		r.setField(f[1], f[2])
		r.trace.WriteString(line + "\n")
		return
	case "at":
		d := r.duration(f[1])
		r.advanceTo(d)
		f = f[2:]
	case "advance":
		r.advanceTo(r.now + r.duration(f[1]))
		r.trace.WriteString(fmt.Sprintf("@%v advanced\n", r.now))
		return
	}
	if len(f) == 0 {
		return
	}
	r.step(r.input(f))
}

// advanceTo fires every deadline up to t, then sets the clock to t.
func (r *scriptRun) advanceTo(t Time) {
	if t < r.now {
		r.fatalf("time goes backwards: %v < %v", t, r.now)
	}
	b := r.broker()
	for {
		at, ok := b.NextDeadline()
		if !ok || at > t {
			break
		}
		r.now = max(r.now, at)
		r.step(Input{Kind: InDeadline})
	}
	r.now = t
}

// step feeds in and appends it and its outputs to the trace.
func (r *scriptRun) step(in Input) {
	b := r.broker()
	b.Step(r.now, in)
	fmt.Fprintf(&r.trace, "@%v %v\n", r.now, in)
	for _, out := range b.Outputs() {
		fmt.Fprintf(&r.trace, "    %v\n", out)
	}
}

// input parses "conn N verb ...".
func (r *scriptRun) input(f []string) Input {
	if len(f) < 3 || f[0] != "conn" {
		r.fatalf("want 'conn N verb ...', got %q", strings.Join(f, " "))
	}
	id, err := strconv.ParseUint(f[1], 10, 64)
	if err != nil {
		r.fatalf("conn id: %v", err)
	}
	in := Input{Conn: ConnID(id)}
	switch f[2] {
	case "open":
		in.Kind = InOpen
	case "lost":
		in.Kind = InLost
	case "malformed":
		in.Kind = InMalformed
	case "recv":
		in.Kind, in.Packet = InPacket, r.packet(f[3:])
	default:
		r.fatalf("unknown verb %q", f[2])
	}
	return in
}

// packet parses a packet description.
func (r *scriptRun) packet(f []string) packet.Packet {
	kv, flags, rest := r.args(f[1:])
	switch f[0] {
	case "CONNECT":
		c := &packet.Connect{ProtocolName: "MQTT", ProtocolLevel: 4, ClientID: kv["c"],
			CleanSession: kv["clean"] == "1", KeepAlive: uint16(r.num(kv["ka"])), Username: kv["user"]}
		if p, ok := kv["proto"]; ok {
			name, level, _ := strings.Cut(p, "/")
			c.ProtocolName, c.ProtocolLevel = name, byte(r.num(level))
		}
		if w, ok := kv["will"]; ok {
			c.WillFlag, c.WillTopic, c.WillPayload = true, w, []byte(kv["willmsg"])
			c.WillQoS, c.WillRetain = packet.QoS(r.num(kv["willqos"])), flags["willretain"]
		}
		c.UsernameFlag = c.Username != ""
		return c
	case "PUBLISH":
		return &packet.Publish{Topic: kv["topic"], QoS: packet.QoS(r.num(kv["q"])), PacketID: uint16(r.num(kv["id"])),
			Payload: []byte(kv["payload"]), Retain: flags["retain"], Dup: flags["dup"]}
	case "PUBACK":
		return &packet.Puback{PacketID: uint16(r.num(kv["id"]))}
	case "PUBREC":
		return &packet.Pubrec{PacketID: uint16(r.num(kv["id"]))}
	case "PUBREL":
		return &packet.Pubrel{PacketID: uint16(r.num(kv["id"]))}
	case "PUBCOMP":
		return &packet.Pubcomp{PacketID: uint16(r.num(kv["id"]))}
	case "SUBSCRIBE":
		p := &packet.Subscribe{PacketID: uint16(r.num(kv["id"]))}
		for _, s := range rest {
			i := strings.LastIndexByte(s, ':')
			if i < 0 {
				r.fatalf("subscription %q: want filter:qos", s)
			}
			p.Subscriptions = append(p.Subscriptions, packet.Subscription{Filter: s[:i], QoS: packet.QoS(r.num(s[i+1:]))})
		}
		return p
	case "UNSUBSCRIBE":
		return &packet.Unsubscribe{PacketID: uint16(r.num(kv["id"])), Filters: rest}
	case "PINGREQ":
		return &packet.Pingreq{}
	case "DISCONNECT":
		return &packet.Disconnect{}
	case "CONNACK":
		return &packet.Connack{}
	}
	r.fatalf("unknown packet %q", f[0])
	return nil
}

// args splits key=value words, bare lower-case flags and other words.
func (r *scriptRun) args(f []string) (kv map[string]string, flags map[string]bool, rest []string) {
	kv, flags = map[string]string{}, map[string]bool{}
	for _, w := range f {
		if k, v, ok := strings.Cut(w, "="); ok {
			kv[k] = v
		} else if w == "retain" || w == "dup" || w == "willretain" {
			flags[w] = true
		} else {
			rest = append(rest, w)
		}
	}
	return kv, flags, rest
}

func (r *scriptRun) num(s string) int {
	if s == "" {
		return 0
	}
	n, err := strconv.Atoi(s)
	if err != nil {
		r.fatalf("number %q: %v", s, err)
	}
	return n
}

func (r *scriptRun) duration(s string) Time {
	d, err := time.ParseDuration(s)
	if err != nil {
		r.fatalf("duration %q: %v", s, err)
	}
	return d
}

// setField overrides a Policy field by name (ints, durations, bools).
func (r *scriptRun) setField(name, value string) {
	v := reflect.ValueOf(&r.pol).Elem().FieldByName(name)
	if !v.IsValid() {
		r.fatalf("no Policy field %s", name)
	}
	switch {
	case v.Type() == reflect.TypeOf(time.Duration(0)):
		v.SetInt(int64(r.duration(value)))
	case v.Kind() == reflect.Bool:
		v.SetBool(value == "true")
	case v.CanInt():
		v.SetInt(int64(r.num(value)))
	case v.CanUint():
		v.SetUint(uint64(r.num(value)))
	default:
		r.fatalf("cannot set %s", name)
	}
}
