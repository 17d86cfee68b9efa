package auth

import (
	"strings"
	"testing"
)

// testACL is an acl_file in the style of mosquitto.conf(5)'s examples.
const testACL = `# anonymous clients
topic read public/#
topic write public/anon/+

user alice
topic readwrite home/alice/#
topic deny home/alice/secret
topic read weather/+/temp

user bob
topic home/bob/#
topic read $SYS/broker/clients/#

user alice
topic write log/alice

# everyone
pattern readwrite devices/%c/#
pattern read users/%u/inbox
pattern deny devices/%c/locked
`

func TestACL(t *testing.T) {
	a, err := ParseACL(strings.NewReader(testACL))
	if err != nil {
		t.Fatal(err)
	}
	type check func(a *ACL, clientID, user, topic string) bool
	var (
		pub  check = (*ACL).CanPublish
		sub  check = (*ACL).CanSubscribe
		read check = (*ACL).CanRead
	)
	tests := []struct {
		name                  string
		op                    check
		clientID, user, topic string
		want                  bool
	}{
		{"anonymous reads public", read, "c1", "", "public/news", true},
		{"anonymous cannot write read-only", pub, "c1", "", "public/news", false},
		{"anonymous writes its + topic", pub, "c1", "", "public/anon/x", true},
		{"anonymous + is one level", pub, "c1", "", "public/anon/x/y", false},
		{"anonymous rules do not apply to users", read, "c1", "alice", "public/news", false},
		{"user section", pub, "c1", "alice", "home/alice/lamp", true},
		{"# matches parent level", read, "c1", "alice", "home/alice", true},
		{"deny before grant", read, "c1", "alice", "home/alice/secret", false},
		{"deny is exact", read, "c1", "alice", "home/alice/secret/x", true},
		{"read-only for user", pub, "c1", "alice", "weather/paris/temp", false},
		{"sections for one user add up", pub, "c1", "alice", "log/alice", true},
		{"users are separate", read, "c1", "bob", "home/alice/lamp", false},
		{"no access word is readwrite", pub, "c1", "bob", "home/bob/door", true},
		{"$ topic with literal rule", read, "c1", "bob", "$SYS/broker/clients/total", true},
		{"pattern %c", pub, "dev-7", "alice", "devices/dev-7/state", true},
		{"pattern %c other client", pub, "dev-7", "alice", "devices/dev-8/state", false},
		{"pattern %c anonymous", pub, "dev-7", "", "devices/dev-7/state", true},
		{"pattern deny %c", pub, "dev-7", "", "devices/dev-7/locked", false},
		{"pattern %u", read, "c1", "bob", "users/bob/inbox", true},
		{"pattern %u not for anonymous", read, "c1", "", "users//inbox", false},
		{"client id with + denied everything", pub, "dev+", "alice", "home/alice/lamp", false},
		{"user with # denied everything", read, "c1", "ali#ce", "public/news", false},
		{"subscribe covered filter", sub, "c1", "alice", "home/alice/+", true},
		{"subscribe exact topic", sub, "c1", "alice", "weather/oslo/temp", true},
		{"subscribe + under + rule", sub, "c1", "alice", "weather/+/temp", true},
		{"subscribe wider than rule", sub, "c1", "alice", "weather/#", false},
		{"subscribe wider than deny is allowed", sub, "c1", "alice", "home/alice/#", true},
		{"subscribe covered by deny", sub, "c1", "alice", "home/alice/secret", false},
		{"subscribe needs read", sub, "c1", "alice", "log/alice", false},
		{"subscribe pattern", sub, "dev-7", "bob", "devices/dev-7/#", true},
		{"subscribe # as anonymous", sub, "c1", "", "#", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.op(a, tt.clientID, tt.user, tt.topic); got != tt.want {
				t.Errorf("(%q, %q, %q) = %v, want %v", tt.clientID, tt.user, tt.topic, got, tt.want)
			}
		})
	}
}

func TestACLWildcardRulesAndDollarTopics(t *testing.T) {
	a, err := ParseACL(strings.NewReader("topic #\ntopic read +/status\n"))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		topic string
		want  bool
	}{
		{"a/b/c", true},
		{"$SYS/uptime", false}, // [MQTT-4.7.2-1]
		{"$SYS/status", false},
	}
	for _, tt := range tests {
		if got := a.CanRead("c", "", tt.topic); got != tt.want {
			t.Errorf("CanRead(%q) = %v, want %v", tt.topic, got, tt.want)
		}
	}
}

func TestParseACLErrors(t *testing.T) {
	tests := []struct {
		name, file, wantErr string
	}{
		{"unknown keyword", "topic a\nallow a\n", "line 2: unknown keyword \"allow\""},
		{"user without name", "user\n", "line 1: user without a name"},
		{"bad access", "topic rw a/b\n", "line 1: access \"rw\""},
		{"bad filter", "topic read a/#/b\n", "line 1: \"a/#/b\" is not a valid topic filter"},
		{"partial wildcard", "pattern a+/b\n", "line 1: \"a+/b\""},
		{"empty filter", "topic\n", "line 1: \"\" is not a valid topic filter"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseACL(strings.NewReader(tt.file))
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("ParseACL error = %v, want it to contain %q", err, tt.wantErr)
			}
		})
	}
}

func TestACLTopicWithSpaces(t *testing.T) {
	a, err := ParseACL(strings.NewReader("topic read my topic/with spaces\ntopic  deny   x\n"))
	if err != nil {
		t.Fatal(err)
	}
	if !a.CanRead("c", "", "my topic/with spaces") {
		t.Error("a filter with spaces after an access word is the rest of the line")
	}
	if a.CanRead("c", "", "x") || a.Rules() != 2 {
		t.Errorf("extra blanks between fields: CanRead(x) = %v, Rules = %d, want false, 2", a.CanRead("c", "", "x"), a.Rules())
	}
}

func TestCovers(t *testing.T) {
	tests := []struct {
		acl, sub string
		want     bool
	}{
		{"a/b", "a/b", true},
		{"a/b", "a/c", false},
		{"a/+", "a/b", true},
		{"a/+", "a", false},
		{"a/+", "a/b/c", false},
		{"a/#", "a", true},
		{"a/#", "a/b/c", true},
		{"#", "a", true},
		{"#", "$SYS/a", false},
		{"+/a", "$SYS/a", false},
		{"$SYS/#", "$SYS/a", true},
		{"a/+", "a/+", true},
		{"a/+", "a/#", false},
		{"a/#", "a/+/c", true},
		{"+/+", "a/#", false},
		{"a/b/c", "a/b", false},
		{"a//b", "a//b", true},
		{"+", "", true},
	}
	for _, tt := range tests {
		if got := covers(tt.acl, tt.sub); got != tt.want {
			t.Errorf("covers(%q, %q) = %v, want %v", tt.acl, tt.sub, got, tt.want)
		}
	}
}
