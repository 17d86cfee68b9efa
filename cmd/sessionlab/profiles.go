package main

import (
	"fmt"
	"io"
	"reflect"
	"strings"
	"text/tabwriter"

	"github.com/sessionlab/sessionlab/broker"
)

func init() {
	commands["profiles"] = command{"print the vendor profiles and every policy field", runProfiles}
}

const profilesHelp = `
usage: sessionlab profiles [--profile NAME,...]

Prints every vendor profile (the broker's named policy presets) with every
field of its policy, in the order of broker.Policy. The source of each value
(a seed page under shared/seeds, or the vendor's documentation) is cited
next to it in broker/profile.go.

examples:
  sessionlab profiles
  sessionlab profiles --profile tencent,aws
`

// runProfiles prints the selected profiles, one block each.
func runProfiles(args []string, stdout, stderr io.Writer) int {
	c := newCLI("profiles", profilesHelp, stdout, stderr)
	list := c.flags.String("profile", strings.Join(broker.ProfileNames(), ","), "comma-separated profiles to print")
	if code, ok := c.parse(args); !ok {
		return code
	}
	if c.flags.NArg() > 0 {
		return c.usageError("unexpected argument %q", c.flags.Arg(0))
	}
	names, err := parseProfiles(*list)
	if err != nil {
		return c.usageError("flag -profile: %v", err)
	}
	for i, name := range names {
		pol, err := broker.Profile(name)
		if err != nil {
			return c.failure(err)
		}
		if i > 0 {
			fmt.Fprintln(stdout)
		}
		if err := printPolicy(stdout, pol); err != nil {
			return c.failure(err)
		}
	}
	return exitOK
}

// printPolicy writes "profile NAME" and then one line per field of pol:
// the field's name and its value.
func printPolicy(w io.Writer, pol broker.Policy) error {
	fmt.Fprintf(w, "profile %s  (sources: broker/profile.go, %sProfile)\n", pol.Name, pol.Name)
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	for _, f := range policyFields(pol) {
		fmt.Fprintf(tw, "  %s\t%s\n", f.name, f.value)
	}
	return tw.Flush()
}

// field is one named, formatted Policy field.
type field struct{ name, value string }

// policyFields lists every field of pol in declaration order, formatted:
// durations as durations, zero limits as "none", invariant sets as the
// invariant numbers of DESIGN.md.
func policyFields(pol broker.Policy) []field {
	v := reflect.ValueOf(pol)
	t := v.Type()
	fields := make([]field, 0, t.NumField())
	for i := range t.NumField() {
		if !t.Field(i).IsExported() || t.Field(i).Name == "Name" {
			continue
		}
		name := t.Field(i).Name
		value := formatField(v.Field(i).Interface())
		if meaning, ok := zeroMeaning[name]; ok && v.Field(i).IsZero() {
			value += " (" + meaning + ")"
		}
		fields = append(fields, field{name, value})
	}
	return fields
}

// zeroMeaning says what a zero value means for the Policy fields where zero
// is special (see the field docs in broker/policy.go).
var zeroMeaning = map[string]string{
	"QueueCap":       "unlimited",
	"MessageTTL":     "never",
	"SessionExpiry":  "never",
	"ExpirySweep":    "exactly on time",
	"ReplayInterval": "no spacing",
	"ReplayRate":     "unlimited",
	"InflightWindow": "unlimited",
	"RetryInterval":  "resend on reconnect only",
	"RetryFor":       "never give up",
}

// enumNames name the values of the Policy enums that have no String method.
var (
	overflowNames = map[broker.Overflow]string{
		broker.DropNewest: "DropNewest", broker.DropOldest: "DropOldest", broker.DropOldestQoS0First: "DropOldestQoS0First",
	}
	qos2Names = map[broker.QoS2Handling]string{
		broker.QoS2Downgrade: "QoS2Downgrade", broker.QoS2Refuse: "QoS2Refuse", broker.QoS2Ignore: "QoS2Ignore",
	}
)

// formatField formats one Policy field value.
func formatField(x any) string {
	switch x := x.(type) {
	case broker.Invariants:
		var nums []string
		for inv := broker.InvSessionPresent; inv <= broker.InvWill; inv++ {
			if x.Has(inv) {
				nums = append(nums, fmt.Sprint(uint8(inv)))
			}
		}
		return "invariants " + strings.Join(nums, ",")
	case fmt.Stringer:
		return x.String()
	case broker.Overflow:
		if name, ok := overflowNames[x]; ok {
			return name
		}
	case broker.QoS2Handling:
		if name, ok := qos2Names[x]; ok {
			return name
		}
	}
	return fmt.Sprint(x)
}
