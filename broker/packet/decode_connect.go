package packet

// decodeConnect decodes a CONNECT (section 3.1) from r, whose body the
// packet may alias. An unsupported protocol name or level is not an error:
// the rest of the body is kept in Rest so the core can refuse it with
// RefusedProtocolVersion [MQTT-3.1.2-2].
func decodeConnect(r *reader) (Packet, error) {
	p := &Connect{}
	var err error
	if p.ProtocolName, err = r.string("protocol name", nil); err != nil {
		return nil, err
	}
	if p.ProtocolLevel, err = r.byte("protocol level"); err != nil {
		return nil, err
	}
	if !p.Supported() {
		if r.left() > 0 {
			p.Rest = r.b[r.off:len(r.b):len(r.b)]
		}
		return p, nil
	}
	if err = decodeConnectFlags(r, p); err != nil {
		return nil, err
	}
	if p.KeepAlive, err = r.uint16("keep alive"); err != nil {
		return nil, err
	}
	if err = decodeConnectPayload(r, p); err != nil {
		return nil, err
	}
	return p, r.end("MQTT-3.1.3-1")
}

// decodeConnectFlags decodes and checks the connect flags byte (section
// 3.1.2.3) into p.
func decodeConnectFlags(r *reader, p *Connect) error {
	at := r.off
	f, err := r.byte("connect flags")
	if err != nil {
		return err
	}
	fail := func(spec, reason string) error { return r.failAt(at, "connect flags", spec, reason) }
	p.UsernameFlag = f&0x80 != 0
	p.PasswordFlag = f&0x40 != 0
	p.WillRetain = f&0x20 != 0
	p.WillQoS = QoS(f >> 3 & 3)
	p.WillFlag = f&0x04 != 0
	p.CleanSession = f&0x02 != 0
	switch {
	case f&0x01 != 0:
		return fail("MQTT-3.1.2-3", "reserved connect flag is 1")
	case !p.WillFlag && p.WillQoS != 0:
		return fail("MQTT-3.1.2-11", "will QoS is not 0 while the will flag is 0")
	case !p.WillFlag && p.WillRetain:
		return fail("MQTT-3.1.2-13", "will retain is 1 while the will flag is 0")
	case p.WillQoS == 3:
		return fail("MQTT-3.1.2-12", "will QoS is 3")
	case p.PasswordFlag && !p.UsernameFlag:
		return fail("MQTT-3.1.2-22", "password flag is 1 while the user name flag is 0")
	}
	return nil
}

// decodeConnectPayload decodes the payload fields the flags announce, in
// their fixed order [MQTT-3.1.3-1]; a field the flags announce but the
// body lacks is cited with the rule that requires it.
func decodeConnectPayload(r *reader, p *Connect) error {
	var err error
	if p.ClientID, err = r.string("client identifier", nil); err != nil {
		return cite(err, "MQTT-3.1.3-3")
	}
	if p.WillFlag {
		// The will topic is published as a topic name when the will
		// fires, so it obeys the topic name rules [MQTT-3.1.3-10].
		if p.WillTopic, err = r.string("will topic", topicNameProblem); err != nil {
			return cite(err, "MQTT-3.1.2-9")
		}
		if p.WillPayload, err = r.bytes("will message"); err != nil {
			return cite(err, "MQTT-3.1.2-9")
		}
	}
	if p.UsernameFlag {
		if p.Username, err = r.string("user name", nil); err != nil {
			return cite(err, "MQTT-3.1.2-17")
		}
	}
	if p.PasswordFlag {
		if p.Password, err = r.bytes("password"); err != nil {
			return cite(err, "MQTT-3.1.2-19")
		}
	}
	return nil
}

// cite sets the spec ID of an *Error that has none, so a missing field
// names the rule that requires it.
func cite(err error, spec string) error {
	if e, ok := err.(*Error); ok && e.SpecID == "" {
		e.SpecID = spec
	}
	return err
}
