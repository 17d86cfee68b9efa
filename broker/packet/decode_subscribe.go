package packet

// decodeSubscribe decodes a SUBSCRIBE (section 3.8): a non-zero packet
// identifier, then at least one [MQTT-3.8.3-3] topic filter [MQTT-3.8.3-1]
// and requested QoS byte with reserved bits 0 and QoS 0..2 [MQTT-3.8.3-4].
func decodeSubscribe(r *reader) (Packet, error) {
	p := &Subscribe{}
	var err error
	if p.PacketID, err = r.packetID(); err != nil {
		return nil, err
	}
	if r.left() == 0 {
		return nil, r.failAt(r.off, "payload", "MQTT-3.8.3-3", "SUBSCRIBE has no topic filter")
	}
	for r.left() > 0 {
		var s Subscription
		if s.Filter, err = r.string("topic filter", topicFilterProblem); err != nil {
			return nil, err
		}
		at := r.off
		q, err := r.byte("requested QoS")
		if err != nil {
			return nil, err
		}
		if q > 2 {
			return nil, r.failAt(at, "requested QoS", "MQTT-3.8.3-4", "requested QoS byte is not 0, 1 or 2")
		}
		s.QoS = QoS(q)
		p.Subscriptions = append(p.Subscriptions, s)
	}
	return p, nil
}

// decodeSuback decodes a SUBACK (section 3.9): a non-zero packet identifier
// and at least one return code, each 0, 1, 2 or 0x80 [MQTT-3.9.3-2].
func decodeSuback(r *reader) (Packet, error) {
	p := &Suback{}
	var err error
	if p.PacketID, err = r.packetID(); err != nil {
		return nil, err
	}
	if r.left() == 0 {
		return nil, r.failAt(r.off, "payload", "", "SUBACK has no return code (section 3.9.3)")
	}
	for i, c := range r.b[r.off:] {
		if c > 2 && c != SubackFailure {
			return nil, r.failAt(r.off+i, "return code", "MQTT-3.9.3-2", "SUBACK return code is reserved")
		}
	}
	p.ReturnCodes = r.b[r.off:len(r.b):len(r.b)]
	return p, nil
}

// decodeUnsubscribe decodes an UNSUBSCRIBE (section 3.10): a non-zero packet
// identifier and at least one [MQTT-3.10.3-2] topic filter [MQTT-3.10.3-1].
func decodeUnsubscribe(r *reader) (Packet, error) {
	p := &Unsubscribe{}
	var err error
	if p.PacketID, err = r.packetID(); err != nil {
		return nil, err
	}
	if r.left() == 0 {
		return nil, r.failAt(r.off, "payload", "MQTT-3.10.3-2", "UNSUBSCRIBE has no topic filter")
	}
	for r.left() > 0 {
		f, err := r.string("topic filter", topicFilterProblem)
		if err != nil {
			return nil, err
		}
		p.Filters = append(p.Filters, f)
	}
	return p, nil
}
