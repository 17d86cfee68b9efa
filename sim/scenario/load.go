package scenario

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/sessionlab/sessionlab/netsim"

	"gopkg.in/yaml.v3"
)

// Load reads and validates the scenario file at path (YAML, or JSON, which
// is YAML too). Errors name the file, the line and the field.
func Load(path string) (Scenario, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return Scenario{}, err
	}
	return Parse(path, data)
}

// Parse decodes and validates a scenario from data; file names it in
// errors. Decoding is strict: an unknown field is an error, as is a value
// of the wrong type, and every value is validated (Scenario.Validate). An
// error from a file is a *FieldError with the line where the offending
// field is, or where its parent mapping starts if the field is missing.
func Parse(file string, data []byte) (Scenario, error) {
	var root yaml.Node
	if err := yaml.Unmarshal(data, &root); err != nil {
		return Scenario{}, yamlError(file, err, nil)
	}
	if root.Kind == 0 {
		return Scenario{}, &FieldError{File: file, Msg: "empty document"}
	}
	var s Scenario
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&s); err != nil && !errors.Is(err, io.EOF) {
		return Scenario{}, yamlError(file, err, &root)
	}
	if err := s.Validate(); err != nil {
		var fe *FieldError
		if errors.As(err, &fe) {
			fe.File, fe.Line = file, lineOf(&root, fe.Path)
		}
		return Scenario{}, err
	}
	for i := range s.RawProfiles {
		pf, err := parseProfileNode(file, &s.RawProfiles[i], "")
		if err != nil {
			var fe *FieldError
			if errors.As(err, &fe) {
				fe.Path = fmt.Sprintf("profiles[%d].%s", i, fe.Path)
			}
			return Scenario{}, err
		}
		if _, dup := s.Profile(pf.Policy.Name); dup {
			return Scenario{}, &FieldError{File: file, Line: s.RawProfiles[i].Line, Path: fmt.Sprintf("profiles[%d].name", i),
				Msg: fmt.Sprintf("%q is already the name of another profile", pf.Policy.Name)}
		}
		s.Profiles = append(s.Profiles, pf)
	}
	return s, nil
}

// yamlLine matches yaml.v3's "line N: message" error lines; yamlValue
// the offending value quoted in a type error.
var (
	yamlLine    = regexp.MustCompile(`^(?:yaml: )?line (\d+): (.*)$`)
	yamlValue   = regexp.MustCompile("^cannot unmarshal \\S+ `([^`]*)`")
	yamlUnknown = regexp.MustCompile(`^field (\S+) not found in type \S+$`)
)

// yamlError turns a yaml.v3 error into "file:line: message" lines. With
// the document's root, a type error names its field too, as in
// "file:line: groups[1].status: cannot unmarshal ...".
func yamlError(file string, err error, root *yaml.Node) error {
	var msgs []string
	var te *yaml.TypeError
	if errors.As(err, &te) {
		msgs = te.Errors
	} else {
		msgs = []string{err.Error()}
	}
	first := &FieldError{File: file}
	for i, m := range msgs {
		line, text := 0, strings.TrimPrefix(m, "yaml: ")
		if sub := yamlLine.FindStringSubmatch(m); sub != nil {
			line, _ = strconv.Atoi(sub[1])
			text = sub[2]
		}
		if i == 0 {
			first.Line, first.Msg = line, text
			switch v, u := yamlValue.FindStringSubmatch(text), yamlUnknown.FindStringSubmatch(text); {
			case root == nil || te == nil:
			case u != nil: // not a Go type name: the field's path, and where every field is shown
				first.Path = keyAt(root, "", line, u[1])
				first.Msg = "unknown field (sim/scenario/testdata/fleet.yaml shows every field)"
				if near := nearestField(u[1]); near != "" {
					first.Msg = fmt.Sprintf("unknown field; did you mean %s? (sim/scenario/testdata/fleet.yaml shows every field)", near)
				}
			case v != nil:
				first.Path = pathAt(root, "", line, v[1])
			default: // a list or a mapping where a value belongs: name the key on that line
				first.Path = keyAt(root, "", line, "")
			}
			continue
		}
		first.Msg += fmt.Sprintf("; line %d: %s", line, text)
	}
	return first
}

// lineOf returns the line of the node at a dotted path like
// "groups[1].offline.for", or of its deepest existing ancestor.
func lineOf(root *yaml.Node, path string) int {
	n := root
	if n.Kind == yaml.DocumentNode && len(n.Content) > 0 {
		n = n.Content[0]
	}
	line := n.Line
	for _, part := range strings.Split(path, ".") {
		key, idx := part, -1
		if i := strings.IndexByte(part, '['); i >= 0 && strings.HasSuffix(part, "]") {
			key = part[:i]
			idx, _ = strconv.Atoi(part[i+1 : len(part)-1])
		}
		k, v := child(n, key)
		if v == nil {
			return line
		}
		line, n = k.Line, v
		if idx >= 0 {
			if n.Kind != yaml.SequenceNode || idx >= len(n.Content) {
				return line
			}
			n = n.Content[idx]
			line = n.Line
		}
	}
	return line
}

// pathAt returns the dotted path (as lineOf reads it) of the scalar with
// value at line under n, or "" when there is none.
func pathAt(n *yaml.Node, path string, line int, value string) string {
	switch n.Kind {
	case yaml.DocumentNode:
		for _, c := range n.Content {
			if p := pathAt(c, path, line, value); p != "" {
				return p
			}
		}
	case yaml.SequenceNode:
		for i, c := range n.Content {
			if p := pathAt(c, fmt.Sprintf("%s[%d]", path, i), line, value); p != "" {
				return p
			}
		}
	case yaml.MappingNode:
		for i := 0; i+1 < len(n.Content); i += 2 {
			k := n.Content[i].Value
			if path != "" {
				k = path + "." + k
			}
			if p := pathAt(n.Content[i+1], k, line, value); p != "" {
				return p
			}
		}
	case yaml.ScalarNode:
		if n.Line == line && n.Value == value {
			return path
		}
	}
	return ""
}

// keyAt returns the dotted path of the mapping key named name (any name when
// name is "") on line under n, or "" when there is none.
func keyAt(n *yaml.Node, path string, line int, name string) string {
	switch n.Kind {
	case yaml.DocumentNode, yaml.SequenceNode:
		for i, c := range n.Content {
			p := path
			if n.Kind == yaml.SequenceNode {
				p = fmt.Sprintf("%s[%d]", path, i)
			}
			if found := keyAt(c, p, line, name); found != "" {
				return found
			}
		}
	case yaml.MappingNode:
		for i := 0; i+1 < len(n.Content); i += 2 {
			k := n.Content[i]
			kp := k.Value
			if path != "" {
				kp = path + "." + k.Value
			}
			if k.Line == line && (name == "" || k.Value == name) {
				return kp
			}
			if found := keyAt(n.Content[i+1], kp, line, name); found != "" {
				return found
			}
		}
	}
	return ""
}

// child returns the key and value nodes of key in mapping n.
func child(n *yaml.Node, key string) (*yaml.Node, *yaml.Node) {
	if n.Kind != yaml.MappingNode {
		return nil, nil
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == key {
			return n.Content[i], n.Content[i+1]
		}
	}
	return nil, nil
}

// fieldNames are the keys a scenario file may use, at any level.
var fieldNames = func() []string {
	var names []string
	for _, v := range []any{Scenario{}, Group{}, Offline{}, Window{}, Network{}, Event{}, netsim.Latency{}, netsim.Knobs{}} {
		t := reflect.TypeOf(v)
		for i := range t.NumField() {
			if key, _, _ := strings.Cut(t.Field(i).Tag.Get("yaml"), ","); key != "" && key != "-" && !slices.Contains(names, key) {
				names = append(names, key)
			}
		}
	}
	return names
}()

// nearestField returns the known field closest to name by edit distance,
// when it is within 2 edits (a typo), else "".
func nearestField(name string) string {
	best, bestD := "", 3
	for _, f := range fieldNames {
		if d := editDistance(name, f); d < bestD {
			best, bestD = f, d
		}
	}
	return best
}

// editDistance is the Levenshtein distance between a and b.
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
