package check

import (
	"testing"

	"github.com/sessionlab/sessionlab/broker"
	"github.com/sessionlab/sessionlab/sim"
	"github.com/sessionlab/sessionlab/sim/scenario"
)

// BenchmarkRun measures the checker's cost: the same run of a 50-device
// flaky-cellular fleet under tencent, with and without it. It reports
// simulated events per second.
func BenchmarkRun(b *testing.B) {
	sc, err := scenario.Builtin("flaky-cellular")
	if err != nil {
		b.Fatal(err)
	}
	sc = sc.Scaled(50)
	pol, err := broker.Profile("tencent")
	if err != nil {
		b.Fatal(err)
	}
	b.Run("bare", func(b *testing.B) {
		var events int64
		for i := 0; i < b.N; i++ {
			res, err := sim.Run(sc, pol, uint64(i+1), sim.Options{})
			if err != nil {
				b.Fatal(err)
			}
			events += res.Events
		}
		b.ReportMetric(float64(events)/b.Elapsed().Seconds(), "events/s")
	})
	b.Run("checked", func(b *testing.B) {
		var events int64
		for i := 0; i < b.N; i++ {
			res, v, err := Run(sc, pol, uint64(i+1), sim.Options{})
			if err != nil || v != nil {
				b.Fatal(err, v)
			}
			events += res.Events
		}
		b.ReportMetric(float64(events)/b.Elapsed().Seconds(), "events/s")
	})
}
