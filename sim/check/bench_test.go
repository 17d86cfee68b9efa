package check

import (
	"testing"
	"time"

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

// BenchmarkNightlyOffline is the README's checking-speed figure at a
// fifth of the scale: nightly-offline under tencent, 2,000 devices for 24
// h, bare, checked in line and checked on a goroutine of its own (the full-size command is `sessionlab simulate
// --scenario nightly-offline --profile tencent --devices 10000 --duration
// 24h --seed 7`). It reports simulated events per second.
func BenchmarkNightlyOffline(b *testing.B) {
	sc, err := scenario.Builtin("nightly-offline")
	if err != nil {
		b.Fatal(err)
	}
	sc = sc.Scaled(2000)
	sc.Duration = 24 * time.Hour
	pol, err := broker.Profile("tencent")
	if err != nil {
		b.Fatal(err)
	}
	for _, mode := range []string{"bare", "checked", "concurrent"} {
		b.Run(mode, func(b *testing.B) {
			var events int64
			for range b.N {
				var res *sim.Result
				var v *Violation
				switch mode {
				case "checked":
					res, v, err = Run(sc, pol, 7, sim.Options{})
				case "concurrent":
					res, v, err = RunConcurrent(sc, pol, 7, sim.Options{})
				default:
					res, err = sim.Run(sc, pol, 7, sim.Options{})
				}
				if err != nil || v != nil {
					b.Fatal(err, v)
				}
				events += res.Events
			}
			b.ReportMetric(float64(events)/b.Elapsed().Seconds(), "events/s")
		})
	}
}
