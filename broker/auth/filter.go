package auth

import "strings"

// covers reports whether every topic name matched by the filter sub is also
// matched by the ACL filter acl, comparing level by level: "#" in acl covers
// the rest (including the parent level itself, as "a/#" matches "a"), "+"
// covers one level that is not "#", and other levels must be equal. A topic
// name is a filter without wildcards, so covers(acl, topic) is exactly MQTT
// topic matching (MQTT 3.1.1 section 4.7). Topics starting with '$' are not
// covered by an acl filter starting with a wildcard [MQTT-4.7.2-1].
func covers(acl, sub string) bool {
	if strings.HasPrefix(sub, "$") && (strings.HasPrefix(acl, "+") || strings.HasPrefix(acl, "#")) {
		return false
	}
	for {
		aLevel, aRest, aMore := strings.Cut(acl, "/")
		sLevel, sRest, sMore := strings.Cut(sub, "/")
		switch {
		case aLevel == "#":
			return true
		case aLevel == "+":
			if sLevel == "#" {
				return false
			}
		case aLevel != sLevel:
			return false
		}
		switch {
		case !aMore && !sMore:
			return true
		case !sMore:
			// sub ended: "a/#" still covers "a" [MQTT-4.7.1-2].
			return aRest == "#"
		case !aMore:
			return false
		}
		acl, sub = aRest, sRest
	}
}

// validFilter reports whether f is a well-formed topic filter: non-empty,
// "#" only as the whole last level and "+" only as a whole level
// [MQTT-4.7.1-2], [MQTT-4.7.1-3], no U+0000 [MQTT-1.5.3-2].
func validFilter(f string) bool {
	if f == "" || strings.ContainsRune(f, 0) {
		return false
	}
	levels := strings.Split(f, "/")
	for i, level := range levels {
		if strings.ContainsAny(level, "+#") && len(level) != 1 {
			return false
		}
		if level == "#" && i != len(levels)-1 {
			return false
		}
	}
	return true
}
