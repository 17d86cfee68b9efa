package packet

import (
	"strings"
	"unicode/utf8"
)

// problem locates one violation inside a string: the byte index, the spec ID
// and a sentence. A zero problem (reason "") means the string is fine.
type problem struct {
	at     int
	spec   string
	reason string
}

// stringProblem checks the rules every MQTT UTF-8 string obeys: well-formed
// UTF-8 without surrogates [MQTT-1.5.3-1] and no U+0000 [MQTT-1.5.3-2].
func stringProblem(s string) problem {
	high := false
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == 0:
			return problem{i, "MQTT-1.5.3-2", "string contains U+0000"}
		case c >= utf8.RuneSelf:
			high = true
		}
	}
	if high {
		return utf8Problem(s)
	}
	return problem{}
}

// utf8Problem finds the first ill-formed sequence in s. Go's decoder treats
// encoded surrogates (U+D800..U+DFFF) and overlong forms as ill-formed, as
// MQTT requires [MQTT-1.5.3-1].
func utf8Problem(s string) problem {
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			return problem{i, "MQTT-1.5.3-1", "string is not well-formed UTF-8"}
		}
		i += size
	}
	return problem{}
}

// topicNameProblem checks a PUBLISH topic name: a valid string, non-empty
// [MQTT-4.7.3-1], at most 65535 bytes [MQTT-4.7.3-3], no wildcards
// [MQTT-3.3.2-2], [MQTT-4.7.1-1].
func topicNameProblem(s string) problem {
	if len(s) == 0 {
		return problem{0, "MQTT-4.7.3-1", "topic name is empty"}
	}
	if len(s) > 65535 {
		return problem{65535, "MQTT-4.7.3-3", "topic name is longer than 65535 bytes"}
	}
	if i := strings.IndexAny(s, "+#"); i >= 0 {
		return problem{i, "MQTT-3.3.2-2", "topic name contains wildcard " + s[i:i+1]}
	}
	return stringProblem(s)
}

// topicFilterProblem checks a SUBSCRIBE or UNSUBSCRIBE topic filter: a valid
// string, non-empty [MQTT-4.7.3-1], at most 65535 bytes [MQTT-4.7.3-3], '#'
// only as the whole last level [MQTT-4.7.1-2] and '+' only as a whole level
// [MQTT-4.7.1-3].
func topicFilterProblem(s string) problem {
	if len(s) == 0 {
		return problem{0, "MQTT-4.7.3-1", "topic filter is empty"}
	}
	if len(s) > 65535 {
		return problem{65535, "MQTT-4.7.3-3", "topic filter is longer than 65535 bytes"}
	}
	for i := 0; i < len(s); i++ {
		levelStart := i == 0 || s[i-1] == '/'
		levelEnd := i == len(s)-1 || s[i+1] == '/'
		switch s[i] {
		case '#':
			if !levelStart || i != len(s)-1 {
				return problem{i, "MQTT-4.7.1-2", "'#' is not alone in the last level of the filter"}
			}
		case '+':
			if !levelStart || !levelEnd {
				return problem{i, "MQTT-4.7.1-3", "'+' does not occupy an entire level of the filter"}
			}
		}
	}
	return stringProblem(s)
}

// topicError turns a problem in a standalone topic string into an *Error
// whose Offset is the byte index in the string.
func topicError(field string, p problem) error {
	if p.reason == "" {
		return nil
	}
	return &Error{Kind: ErrMalformed, Field: field, Offset: p.at, SpecID: p.spec, Reason: p.reason}
}

// ValidTopicName returns nil if s may be used as a PUBLISH topic name, and
// otherwise an *Error (Kind ErrMalformed, Offset the byte index in s) citing
// the rule broken: well-formed UTF-8 without U+0000 [MQTT-1.5.3-1],
// [MQTT-1.5.3-2], 1 to 65535 bytes [MQTT-4.7.3-1], [MQTT-4.7.3-3], and no
// wildcard characters [MQTT-3.3.2-2].
func ValidTopicName(s string) error { return topicError("topic name", topicNameProblem(s)) }

// ValidTopicFilter returns nil if s may be used as a SUBSCRIBE or
// UNSUBSCRIBE topic filter, and otherwise an *Error as ValidTopicName does:
// well-formed UTF-8 without U+0000, 1 to 65535 bytes, '#' only as the whole
// last level [MQTT-4.7.1-2], '+' only as a whole level [MQTT-4.7.1-3].
func ValidTopicFilter(s string) error { return topicError("topic filter", topicFilterProblem(s)) }

// Match reports whether the topic filter matches the topic name (MQTT 3.1.1
// section 4.7). Both must be valid (see ValidTopicFilter, ValidTopicName);
// Match does not check. '+' matches exactly one level, possibly empty; '#'
// matches the parent level and any number of child levels, so "a/#" matches
// "a". A filter starting with a wildcard does not match a topic starting
// with '$' [MQTT-4.7.2-1]. Match does not allocate.
func Match(filter, topic string) bool {
	if len(topic) > 0 && topic[0] == '$' && len(filter) > 0 && (filter[0] == '+' || filter[0] == '#') {
		return false
	}
	for {
		fl, frest, fmore := strings.Cut(filter, "/")
		if fl == "#" {
			return true
		}
		tl, trest, tmore := strings.Cut(topic, "/")
		if fl != "+" && fl != tl {
			return false
		}
		switch {
		case !fmore && !tmore:
			return true
		case !tmore:
			return frest == "#" // "a/#" matches "a" (MQTT 3.1.1 section 4.7.1.2)
		case !fmore:
			return false
		}
		filter, topic = frest, trest
	}
}
