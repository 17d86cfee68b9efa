package scenario

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/sessionlab/sessionlab/broker"
	"github.com/sessionlab/sessionlab/broker/packet"
	"gopkg.in/yaml.v3"
)

// profileKeys maps the keys of a profile file to broker.Policy's fields.
var profileKeys = []struct{ key, field string }{
	{"name", "Name"}, {"max_qos", "MaxQoS"}, {"qos2", "QoS2"}, {"store_qos0_offline", "StoreQoS0Offline"},
	{"queue_cap", "QueueCap"}, {"overflow", "Overflow"}, {"message_ttl", "MessageTTL"},
	{"session_expiry", "SessionExpiry"}, {"expiry_sweep", "ExpirySweep"}, {"replay_interval", "ReplayInterval"},
	{"replay_rate", "ReplayRate"}, {"replay_blocks_live", "ReplayBlocksLive"}, {"inflight_window", "InflightWindow"},
	{"retry_interval", "RetryInterval"}, {"retry_for", "RetryFor"}, {"max_packet_size", "MaxPacketSize"},
	{"promises", "Promises"},
}

// ProfileFile is a vendor profile read from a file: a built-in (Base) with
// some of its fields overridden.
type ProfileFile struct {
	Path      string
	Base      string
	Policy    broker.Policy
	Overrides []string // the fields that differ from Base, "queue_cap: 500", in file order
}

// IsProfileFile reports whether a --profile argument names a file rather
// than a built-in profile.
func IsProfileFile(arg string) bool {
	return strings.ContainsRune(arg, filepath.Separator) || strings.HasSuffix(arg, ".yaml") || strings.HasSuffix(arg, ".yml")
}

// LoadProfile reads the profile file at path.
func LoadProfile(path string) (ProfileFile, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return ProfileFile{}, err
	}
	return ParseProfile(path, data)
}

// ParseProfile reads a profile file: `base:` a built-in profile, then any of
// its fields to override, by the snake-case names ProfileYAML prints
// ("queue_cap: 500", "session_expiry: 168h"). The profile is named by
// `name:`, or else after the file. Errors are FieldErrors naming the line
// and the field.
func ParseProfile(file string, data []byte) (ProfileFile, error) {
	var root yaml.Node
	if err := yaml.Unmarshal(data, &root); err != nil {
		return ProfileFile{}, yamlError(file, err, nil)
	}
	if len(root.Content) == 0 {
		return ProfileFile{}, &FieldError{File: file, Line: root.Line, Msg: "a profile file is a mapping: base: NAME, then fields to override"}
	}
	return parseProfileNode(file, root.Content[0], strings.TrimSuffix(filepath.Base(file), filepath.Ext(file)))
}

// parseProfileNode reads one profile mapping of file; a profile without
// name: is called defaultName ("" makes name: required).
func parseProfileNode(file string, m *yaml.Node, defaultName string) (ProfileFile, error) {
	if m.Kind != yaml.MappingNode {
		return ProfileFile{}, &FieldError{File: file, Line: m.Line, Msg: "a profile file is a mapping: base: NAME, then fields to override"}
	}
	pf := ProfileFile{Path: file}
	lines := map[string]int{}
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == "base" {
			pf.Base = m.Content[i+1].Value
			lines["base"] = m.Content[i].Line
		}
	}
	base, err := broker.Profile(pf.Base)
	if err != nil {
		known := strings.Join(broker.ProfileNames(), ", ")
		return ProfileFile{}, &FieldError{File: file, Line: max(lines["base"], m.Line), Path: "base",
			Msg: fmt.Sprintf("must name a built-in profile (%s), not %q", known, pf.Base)}
	}
	pf.Policy = base
	pf.Policy.Name = defaultName
	v := reflect.ValueOf(&pf.Policy).Elem()
	for i := 0; i+1 < len(m.Content); i += 2 {
		k, val := m.Content[i], m.Content[i+1]
		if k.Value == "base" {
			continue
		}
		j := slices.IndexFunc(profileKeys, func(p struct{ key, field string }) bool { return p.key == k.Value })
		if j < 0 {
			return ProfileFile{}, &FieldError{File: file, Line: k.Line, Path: k.Value,
				Msg: "unknown field (sessionlab profiles --format yaml NAME prints every field)"}
		}
		field := profileKeys[j].field
		lines[field] = k.Line
		if err := setField(v.FieldByName(field), val); err != nil {
			return ProfileFile{}, &FieldError{File: file, Line: val.Line, Path: k.Value, Msg: err.Error()}
		}
		if field != "Name" && !reflect.DeepEqual(v.FieldByName(field).Interface(), reflect.ValueOf(base).FieldByName(field).Interface()) {
			pf.Overrides = append(pf.Overrides, k.Value+": "+scalarOrList(val))
		}
	}
	if pf.Policy.Name == "" {
		return ProfileFile{}, &FieldError{File: file, Line: m.Line, Path: "name", Msg: "a profile in a scenario file needs a name"}
	}
	if err := pf.Policy.Validate(); err != nil {
		fe := &FieldError{File: file, Line: lines["base"], Msg: err.Error()}
		var pe *broker.PolicyError
		if errors.As(err, &pe) {
			fe.Msg = pe.Problem
			fe.Path = keyOf(pe.Field)
			if l, ok := lines[pe.Field]; ok {
				fe.Line = l
			}
		}
		return ProfileFile{}, fe
	}
	return pf, nil
}

// scalarOrList formats a scalar as itself and a list as "[a, b]".
func scalarOrList(n *yaml.Node) string {
	if n.Kind != yaml.SequenceNode {
		return n.Value
	}
	items := make([]string, len(n.Content))
	for i, c := range n.Content {
		items[i] = c.Value
	}
	return "[" + strings.Join(items, ", ") + "]"
}

// keyOf returns the profile-file key of a Policy field.
func keyOf(field string) string {
	for _, p := range profileKeys {
		if p.field == field {
			return p.key
		}
	}
	return field
}

// setField sets one Policy field from a YAML scalar (a list for promises).
func setField(f reflect.Value, n *yaml.Node) error {
	switch f.Interface().(type) {
	case string:
		f.SetString(n.Value)
	case bool:
		b, err := strconv.ParseBool(n.Value)
		if err != nil {
			return fmt.Errorf("want true or false, not %q", n.Value)
		}
		f.SetBool(b)
	case time.Duration:
		d, err := time.ParseDuration(n.Value)
		if err != nil {
			return fmt.Errorf("want a duration such as 24h or 500ms, not %q", n.Value)
		}
		f.SetInt(int64(d))
	case int, packet.QoS:
		i, err := strconv.Atoi(n.Value)
		if err != nil {
			return fmt.Errorf("want a whole number, not %q", n.Value)
		}
		if f.Kind() == reflect.Uint8 {
			if i < 0 || i > 255 {
				return fmt.Errorf("out of range: %d", i)
			}
			f.SetUint(uint64(i))
		} else {
			f.SetInt(int64(i))
		}
	case broker.Overflow:
		return setEnum(f, n.Value, []broker.Overflow{broker.DropNewest, broker.DropOldest, broker.DropOldestQoS0First})
	case broker.QoS2Handling:
		return setEnum(f, n.Value, []broker.QoS2Handling{broker.QoS2Downgrade, broker.QoS2Refuse, broker.QoS2Ignore})
	case broker.Invariants:
		return setPromises(f, n)
	default:
		return fmt.Errorf("cannot be set from a file")
	}
	return nil
}

// setEnum sets f to the value of values whose String is s.
func setEnum[T fmt.Stringer](f reflect.Value, s string, values []T) error {
	var names []string
	for _, v := range values {
		if v.String() == s {
			f.Set(reflect.ValueOf(v))
			return nil
		}
		names = append(names, v.String())
	}
	return fmt.Errorf("want one of %s, not %q", strings.Join(names, ", "), s)
}

// setPromises reads promises: "all", or a list of invariant numbers.
func setPromises(f reflect.Value, n *yaml.Node) error {
	if n.Kind == yaml.ScalarNode && n.Value == "all" {
		f.Set(reflect.ValueOf(broker.AllInvariants))
		return nil
	}
	if n.Kind != yaml.SequenceNode {
		return fmt.Errorf(`want "all" or a list of invariant numbers such as [1, 2, 3]`)
	}
	var set broker.Invariants
	for _, c := range n.Content {
		i, err := strconv.Atoi(c.Value)
		if err != nil || i < int(broker.InvSessionPresent) || i > int(broker.InvWill) {
			return fmt.Errorf("invariants are numbered 1 to 18, not %q", c.Value)
		}
		set = set.With(broker.Invariant(i))
	}
	f.Set(reflect.ValueOf(set))
	return nil
}

// ProfileYAML renders the built-in profile name as a profile file: base,
// then every field at its value with the source as a comment, to copy and
// edit.
func ProfileYAML(name string) (string, error) {
	srcs, err := broker.ProfileSources(name)
	if err != nil {
		return "", err
	}
	pol, _ := broker.Profile(name)
	v := reflect.ValueOf(pol)
	var b strings.Builder
	fmt.Fprintf(&b, "# A sessionlab profile file: the built-in %q; change any field, delete the rest.\n", name)
	fmt.Fprintf(&b, "base: %s\nname: %s-custom\n", name, name)
	for _, p := range profileKeys[1:] {
		var src string
		for _, s := range srcs {
			if s.Field == p.field {
				src = s.Source
			}
		}
		fmt.Fprintf(&b, "%s: %s # %s\n", p.key, yamlValueOf(v.FieldByName(p.field)), src)
	}
	return b.String(), nil
}

// yamlValueOf formats one Policy field as ParseProfile reads it.
func yamlValueOf(f reflect.Value) string {
	switch x := f.Interface().(type) {
	case broker.Invariants:
		if x == broker.AllInvariants {
			return "all"
		}
		return "[" + x.String() + "]"
	case packet.QoS:
		return strconv.Itoa(int(x))
	case fmt.Stringer:
		return x.String()
	}
	return fmt.Sprint(f.Interface())
}
