package broker

import (
	"strings"

	"github.com/sessionlab/sessionlab/broker/packet"
)

// validTopic reports whether name is a valid topic name for PUBLISH: at least
// one character [MQTT-4.7.3-1], no wildcards [MQTT-3.3.2-2], no NUL
// [MQTT-1.5.3-2].
func validTopic(name string) bool {
	return name != "" && !strings.ContainsAny(name, "+#\x00")
}

// validFilter reports whether f is a valid topic filter: non-empty
// [MQTT-4.7.3-1], '#' only alone as the last level [MQTT-4.7.1-2], '+' only
// alone in a level [MQTT-4.7.1-3], no NUL [MQTT-1.5.3-2].
func validFilter(f string) bool {
	if f == "" || strings.IndexByte(f, 0) >= 0 {
		return false
	}
	for rest := f; ; {
		level, tail, more := strings.Cut(rest, "/")
		if strings.ContainsAny(level, "+#") && len(level) > 1 {
			return false
		}
		if level == "#" && more {
			return false
		}
		if !more {
			return true
		}
		rest = tail
	}
}

// splitLevels appends the '/'-separated levels of topic to dst without
// allocating new strings.
func splitLevels(topic string, dst []string) []string {
	for {
		i := strings.IndexByte(topic, '/')
		if i < 0 {
			return append(dst, topic)
		}
		dst = append(dst, topic[:i])
		topic = topic[i+1:]
	}
}

// matchFilter reports whether filter matches topic, including the rule that
// leading wildcards do not match topics starting with '$' [MQTT-4.7.2-1].
func matchFilter(filter, topic string) bool {
	if strings.HasPrefix(topic, "$") && (strings.HasPrefix(filter, "+") || strings.HasPrefix(filter, "#")) {
		return false
	}
	for {
		fl, frest, fmore := strings.Cut(filter, "/")
		if fl == "#" {
			return true // matches the parent level too [MQTT-4.7.1-2]
		}
		tl, trest, tmore := strings.Cut(topic, "/")
		if fl != "+" && fl != tl {
			return false
		}
		if !fmore || !tmore {
			return fmore == tmore || (fmore && frest == "#")
		}
		filter, topic = frest, trest
	}
}

// subscriber is one session subscribed to a filter with a granted QoS.
type subscriber struct {
	s   *session
	qos packet.QoS
}

// node is one level of the topic filter trie. Children are looked up, never
// iterated, so map order cannot reach an output. A node with a single child
// keeps it inline: most paths of a fleet ("device/<id>/cmd") branch once,
// and a map per node would triple the memory of an idle session.
type node struct {
	key1 string           // the level of kid1
	kid1 *node            // the only child, while kids is nil
	kids map[string]*node // two or more children
	subs []subscriber     // sessions subscribed to the filter ending here
}

// child returns n's child for level, or nil.
func (n *node) child(level string) *node {
	if n.kids != nil {
		return n.kids[level]
	}
	if n.kid1 != nil && n.key1 == level {
		return n.kid1
	}
	return nil
}

// addChild adds k as n's child for level, which n does not have yet.
func (n *node) addChild(level string, k *node) {
	switch {
	case n.kids != nil:
		n.kids[level] = k
	case n.kid1 == nil:
		n.key1, n.kid1 = level, k
	default:
		n.kids = map[string]*node{n.key1: n.kid1, level: k}
		n.key1, n.kid1 = "", nil
	}
}

// removeChild removes n's child for level.
func (n *node) removeChild(level string) {
	if n.kids != nil {
		delete(n.kids, level)
		return
	}
	if n.key1 == level {
		n.key1, n.kid1 = "", nil
	}
}

// empty reports whether n has neither children nor subscribers.
func (n *node) empty() bool { return n.kid1 == nil && len(n.kids) == 0 && len(n.subs) == 0 }

// add subscribes s to filter with qos, replacing an existing grant. fresh
// says the caller knows s is not subscribed to filter yet (its own sorted
// list says so), which spares the scan of the node's subscribers: without
// it, 100,000 sessions subscribing to one filter cost a quadratic scan.
func (n *node) add(filter string, s *session, qos packet.QoS, fresh bool) {
	for rest, more := filter, true; more; {
		var level string
		level, rest, more = strings.Cut(rest, "/")
		k := n.child(level)
		if k == nil {
			k = &node{}
			n.addChild(level, k)
		}
		n = k
	}
	for i := range n.subs {
		if fresh {
			break
		}
		if n.subs[i].s == s {
			n.subs[i].qos = qos
			return
		}
	}
	n.subs = append(n.subs, subscriber{s: s, qos: qos})
}

// remove unsubscribes s from filter and prunes empty nodes. It reports
// whether n itself is now empty.
func (n *node) remove(filter string, s *session) bool {
	level, rest, more := strings.Cut(filter, "/")
	if k := n.child(level); k != nil {
		var empty bool
		if more {
			empty = k.remove(rest, s)
		} else {
			empty = k.removeSub(s)
		}
		if empty {
			n.removeChild(level)
		}
	}
	return n.empty()
}

// removeSub removes s from n's subscribers and reports whether n is empty.
func (n *node) removeSub(s *session) bool {
	for i := range n.subs {
		if n.subs[i].s == s {
			last := len(n.subs) - 1
			n.subs[i] = n.subs[last]
			n.subs[last] = subscriber{}
			n.subs = n.subs[:last]
			break
		}
	}
	if len(n.subs) == 0 {
		n.subs = nil
	}
	return n.empty()
}

// match appends the subscribers whose filters match the topic levels. A
// session appears once per matching filter; the caller de-duplicates.
func (n *node) match(levels []string, dst []subscriber) []subscriber {
	return n.matchFrom(levels, 0, dst)
}

// matchFrom matches levels[i:] below n.
func (n *node) matchFrom(levels []string, i int, dst []subscriber) []subscriber {
	if i == len(levels) {
		dst = append(dst, n.subs...)
		if h := n.child("#"); h != nil {
			dst = append(dst, h.subs...) // "a/#" matches "a" [MQTT-4.7.1-2]
		}
		return dst
	}
	if k := n.child(levels[i]); k != nil {
		dst = k.matchFrom(levels, i+1, dst)
	}
	if i == 0 && strings.HasPrefix(levels[0], "$") {
		return dst // [MQTT-4.7.2-1]
	}
	if k := n.child("+"); k != nil {
		dst = k.matchFrom(levels, i+1, dst)
	}
	if h := n.child("#"); h != nil {
		dst = append(dst, h.subs...)
	}
	return dst
}
