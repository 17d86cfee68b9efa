package swarm

import (
	"github.com/sessionlab/sessionlab/broker"
	"github.com/sessionlab/sessionlab/broker/packet"
	"github.com/sessionlab/sessionlab/properties/history"
)

// recorder is a sim.Observer that feeds every broker event of a run to a
// history.Recorder, for the porcupine check of the run's history.
type recorder struct{ rec *history.Recorder }

func (r recorder) Step(rec *broker.Record) { r.rec.Step(rec) }

func (r recorder) Received(broker.Time, string, *packet.Publish) {}
