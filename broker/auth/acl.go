package auth

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"strings"
)

// access is what an ACL rule grants: read (receive and subscribe), write
// (publish), or both.
type access uint8

const (
	accessRead access = 1 << iota
	accessWrite
	accessReadWrite = accessRead | accessWrite
)

// rule is one "topic" or "pattern" line of an ACL file.
type rule struct {
	filter  string // may hold %c / %u levels when pattern is set
	grant   access // zero for a deny rule
	deny    bool
	pattern bool
	line    int
}

// ACL is a broker.Authorizer backed by a Mosquitto acl_file
// (mosquitto.conf(5), acl_file). Its rules are:
//
//   - "topic [read|write|readwrite|deny] FILTER" lines before any "user"
//     line apply to the anonymous user ""; after "user NAME" they apply to
//     NAME (sections for the same name add up). Without an access word the
//     rule is readwrite.
//   - "pattern [read|write|readwrite|deny] FILTER" lines apply to every user,
//     wherever they appear, after replacing a level that is exactly "%c" with
//     the client id and "%u" with the user name; a pattern using %u does not
//     apply to the anonymous user.
//   - Deny rules are checked first; then access needs a granting rule.
//     Nothing is allowed that no rule grants.
//   - A client id or user name containing '+' or '#' is denied everything, as
//     Mosquitto does to protect pattern substitution (src/security.c,
//     mosquitto_acl_check).
//
// Unlike Mosquitto, which accepts any SUBSCRIBE and filters copies when
// routing, CanSubscribe refuses a filter that the user's read rules do not
// cover entirely (every topic the filter matches must be readable) or that a
// deny rule covers; the core answers 0x80 in that filter's SUBACK slot.
// Copies are still checked one by one with CanRead, so a deny rule inside an
// allowed wildcard subscription is honoured. An ACL is safe for concurrent
// use: it never changes after parsing.
type ACL struct {
	anonymous []rule
	users     map[string][]rule
	patterns  []rule
}

// LoadACL reads the ACL file at path.
func LoadACL(path string) (*ACL, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("auth: acl file: %w", err)
	}
	defer f.Close()
	a, err := ParseACL(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return a, nil
}

// ParseACL parses an ACL file. Blank lines and lines whose first non-blank
// character is '#' are ignored. An error names the line and what is wrong.
func ParseACL(r io.Reader) (*ACL, error) {
	a := &ACL{users: map[string][]rule{}}
	user, inUser := "", false
	sc := bufio.NewScanner(r)
	for line := 1; sc.Scan(); line++ {
		text := strings.TrimSpace(sc.Text())
		if text == "" || strings.HasPrefix(text, "#") {
			continue
		}
		keyword, rest, _ := strings.Cut(text, " ")
		rest = strings.TrimSpace(rest)
		switch keyword {
		case "user":
			if rest == "" {
				return nil, fmt.Errorf("line %d: user without a name", line)
			}
			user, inUser = rest, true
		case "topic", "pattern":
			r, err := parseRule(rest, line)
			if err != nil {
				return nil, err
			}
			r.pattern = keyword == "pattern"
			switch {
			case r.pattern:
				a.patterns = append(a.patterns, r)
			case inUser:
				a.users[user] = append(a.users[user], r)
			default:
				a.anonymous = append(a.anonymous, r)
			}
		default:
			return nil, fmt.Errorf("line %d: unknown keyword %q (want topic, pattern or user)", line, keyword)
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("auth: reading acl file: %w", err)
	}
	return a, nil
}

// parseRule parses "[access] FILTER", the part of a topic or pattern line
// after the keyword. The filter is the rest of the line, so it may contain
// spaces when an access word is given (mosquitto.conf(5)).
func parseRule(s string, line int) (rule, error) {
	r := rule{grant: accessReadWrite, line: line}
	word, rest, more := strings.Cut(s, " ")
	if more {
		switch word {
		case "read":
			r.grant = accessRead
		case "write":
			r.grant = accessWrite
		case "readwrite":
		case "deny":
			r.grant, r.deny = 0, true
		default:
			return rule{}, fmt.Errorf("line %d: access %q is not read, write, readwrite or deny", line, word)
		}
		s = strings.TrimSpace(rest)
	}
	if !validFilter(s) {
		return rule{}, fmt.Errorf("line %d: %q is not a valid topic filter", line, s)
	}
	r.filter = s
	return r, nil
}

// CanPublish implements broker.Authorizer: may user publish to topic.
func (a *ACL) CanPublish(clientID, user, topic string) bool {
	return a.allowed(clientID, user, topic, accessWrite)
}

// CanSubscribe implements broker.Authorizer: may user subscribe to filter
// (see ACL for how a filter is judged).
func (a *ACL) CanSubscribe(clientID, user, filter string) bool {
	return a.allowed(clientID, user, filter, accessRead)
}

// CanRead implements broker.Authorizer: may user receive a message on topic.
func (a *ACL) CanRead(clientID, user, topic string) bool {
	return a.allowed(clientID, user, topic, accessRead)
}

// allowed applies the deny-first rule order to a topic name or filter.
func (a *ACL) allowed(clientID, user, topic string, need access) bool {
	if strings.ContainsAny(clientID, "+#") || strings.ContainsAny(user, "+#") {
		return false
	}
	own := a.anonymous
	if user != "" {
		own = a.users[user]
	}
	for _, deny := range []bool{true, false} {
		for _, r := range own {
			if r.deny == deny && r.matches(r.filter, topic, need) {
				return !deny
			}
		}
		for _, r := range a.patterns {
			filter, ok := r.substitute(clientID, user)
			if ok && r.deny == deny && r.matches(filter, topic, need) {
				return !deny
			}
		}
	}
	return false
}

// matches reports whether the rule, with its filter already substituted,
// decides a request for need on topic.
func (r rule) matches(filter, topic string, need access) bool {
	if !r.deny && r.grant&need == 0 {
		return false
	}
	return covers(filter, topic)
}

// substitute returns the rule's filter with whole "%c" and "%u" levels
// replaced, and false when the rule does not apply (a %u pattern for the
// anonymous user).
func (r rule) substitute(clientID, user string) (string, bool) {
	if !r.pattern || !strings.Contains(r.filter, "%") {
		return r.filter, true
	}
	levels := strings.Split(r.filter, "/")
	for i, level := range levels {
		switch level {
		case "%c":
			levels[i] = clientID
		case "%u":
			if user == "" {
				return "", false
			}
			levels[i] = user
		}
	}
	return strings.Join(levels, "/"), true
}

// Rules returns the number of rules parsed, for logging.
func (a *ACL) Rules() int {
	n := len(a.anonymous) + len(a.patterns)
	for _, rs := range a.users {
		n += len(rs)
	}
	return n
}
