package tcp

import "github.com/sessionlab/sessionlab/broker"

// Connection ids: the accept sequence number in the high 32 bits, and, for
// a bare descriptor (see conn), the descriptor plus one in the low 32 bits,
// so that the owner finds it in a slice rather than a map.
func connID(seq broker.ConnID, fd int) broker.ConnID { return seq<<32 | broker.ConnID(uint32(fd+1)) }

// netConnID is the id of a net.Conn connection: no descriptor.
func netConnID(seq broker.ConnID) broker.ConnID { return seq << 32 }

// connTable is the owner's map from the core's connection ids to
// connections. Bare descriptors are kept by descriptor (8 bytes each where
// a map entry takes about 30); a descriptor's slot is free again before a
// new connection can get its number, since the owner hears of a connection's
// end before its descriptor is closed, but every lookup also checks the id.
type connTable struct {
	byFD  []*conn
	other map[broker.ConnID]*conn
	n     int
}

// get returns the connection with id, or nil.
func (t *connTable) get(id broker.ConnID) *conn {
	if fd := int(uint32(id)) - 1; fd >= 0 {
		if fd < len(t.byFD) && t.byFD[fd] != nil && t.byFD[fd].id == id {
			return t.byFD[fd]
		}
		return nil
	}
	return t.other[id]
}

// put adds c.
func (t *connTable) put(c *conn) {
	if t.get(c.id) == nil {
		t.n++
	}
	fd := int(uint32(c.id)) - 1
	if fd < 0 {
		if t.other == nil {
			t.other = map[broker.ConnID]*conn{}
		}
		t.other[c.id] = c
		return
	}
	if fd >= len(t.byFD) {
		t.byFD = append(t.byFD, make([]*conn, fd+1-len(t.byFD))...)
	}
	t.byFD[fd] = c
}

// remove removes and returns the connection with id, or returns nil.
func (t *connTable) remove(id broker.ConnID) *conn {
	c := t.get(id)
	if c == nil {
		return nil
	}
	t.n--
	if fd := int(uint32(id)) - 1; fd >= 0 {
		t.byFD[fd] = nil
	} else {
		delete(t.other, id)
	}
	return c
}

// len is the number of connections.
func (t *connTable) len() int { return t.n }

// all calls f for every connection.
func (t *connTable) all(f func(*conn)) {
	for _, c := range t.byFD {
		if c != nil {
			f(c)
		}
	}
	for _, c := range t.other {
		f(c)
	}
}
