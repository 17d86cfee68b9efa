package sim

import (
	"flag"
	"syscall"
	"testing"
	"time"

	"github.com/sessionlab/sessionlab/broker"
	"github.com/sessionlab/sessionlab/sim/scenario"
)

var benchProfile = flag.String("sim.profile", "tencent", `broker profile for the fleet benchmarks ("fake": the test core)`)

// benchFleet runs a built-in scenario with devices devices and a total
// virtual length of total (faulty phase plus heal), reporting engine events
// per second of wall time, virtual seconds per wall second, and the peak
// resident set size of the process.
func benchFleet(b *testing.B, name string, devices int, total time.Duration, wire bool) {
	sc, err := scenario.Builtin(name)
	if err != nil {
		b.Fatal(err)
	}
	sc = sc.Scaled(devices)
	if total > 0 {
		sc.Duration = total - sc.Heal
	}
	policy, opts := broker.Policy{Name: "fake"}, Options{NewCore: newFakeCore}
	if *benchProfile != "fake" {
		if policy, err = broker.Profile(*benchProfile); err != nil {
			b.Fatal(err)
		}
		opts = Options{}
	}
	opts.Wire = wire
	var events int64
	cpu0 := cpuTime()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		res, err := Run(sc, policy, uint64(i+1), opts)
		if err != nil {
			b.Fatal(err)
		}
		events += res.Events
		if i == 0 {
			b.Logf("%v\nevents by kind: %v", res, res.EventsByKind)
		}
	}
	sec := b.Elapsed().Seconds()
	b.ReportMetric(float64(events)/sec, "events/s")
	b.ReportMetric(sc.End().Seconds()*float64(b.N)/sec, "virtual-s/s")
	// CPU seconds per run: on a shared machine wall time overstates cost.
	b.ReportMetric((cpuTime()-cpu0).Seconds()/float64(b.N), "cpu-s/op")
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) == nil {
		b.ReportMetric(float64(ru.Maxrss)/1024, "peak-RSS-MiB")
	}
}

// cpuTime returns the user plus system CPU time of the process so far.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkNightlyOffline10k: 10,000 devices, 24 virtual hours of the
// nightly-offline scenario (target: under 30 s and 2 GiB).
func BenchmarkNightlyOffline10k(b *testing.B) {
	benchFleet(b, "nightly-offline", 10000, 24*time.Hour, false)
}

// BenchmarkSteady100k: 100,000 devices for one virtual hour of the steady
// scenario (target: under 60 s).
func BenchmarkSteady100k(b *testing.B) {
	benchFleet(b, "steady", 100000, time.Hour, false)
}

// BenchmarkSteady1k is a quick fleet benchmark for profiling.
func BenchmarkSteady1k(b *testing.B) {
	benchFleet(b, "steady", 1000, time.Hour, false)
}

// BenchmarkSteady1kWire is BenchmarkSteady1k with every packet encoded and
// decoded (Options.Wire): the codec's share of a run.
func BenchmarkSteady1kWire(b *testing.B) {
	benchFleet(b, "steady", 1000, time.Hour, true)
}
