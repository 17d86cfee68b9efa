package plots

import (
	"fmt"
	"math"
	"math/rand/v2"
)

// synthetic returns a plausible three-profile input drawn from seed: a
// 26-hour run with a nightly offline window, a Tencent-like profile with a
// 150-message cap and 500 ms replay pacing, an AWS-like one pacing 10 msg/s
// and expiring sessions, and an unpaced HiveMQ-like one.
func synthetic(seed uint64) Input {
	r := rand.New(rand.NewPCG(seed, 0))
	type shape struct {
		name      string
		cap       float64
		perMsg    float64
		expireAt  float64 // fraction of the fleet expired at the end
		dropScale float64
	}
	shapes := []shape{
		{"tencent", 150, 0.5, 0.02, 1},
		{"aws", 1e9, 0.1, 0.3, 0.2},
		{"hivemq", 1000, 0.01, 0, 0.05},
	}
	in := Input{
		Subtitle: fmt.Sprintf("synthetic, seed %d", seed),
		Rules:    []Rule{{"tencent rule: 500 ms/msg", 0.5}, {"aws rule: 10 msg/s", 0.1}},
	}
	for _, sh := range shapes {
		in.Profiles = append(in.Profiles, syntheticProfile(r, sh.name, sh.cap, sh.perMsg, sh.expireAt, sh.dropScale))
	}
	return in
}

func syntheticProfile(r *rand.Rand, name string, cap, perMsg, expireAt, dropScale float64) Profile {
	p := Profile{Name: name}
	live := make([]float64, 5000)
	for i := range live {
		live[i] = 0.06 + math.Exp(r.NormFloat64()*0.8-2.5)
	}
	stored := make([]float64, 2000)
	for i := range stored {
		stored[i] = math.Exp(r.Float64()*math.Log(8*3600)) + perMsg*r.Float64()*100
	}
	p.LiveLatency, p.StoredLatency = CDFOf(live), CDFOf(stored)
	const fleet, end, step = 3000.0, 26 * 3600.0, 300.0
	for t := 0.0; t <= end; t += step {
		h := math.Mod(t/3600, 24)
		night := h >= 4 && h < 12
		depth := 0.0
		if night {
			depth = (h - 4) * 12
		}
		p.QueueP50 = append(p.QueueP50, Point{t, math.Min(cap, depth)})
		p.QueueP99 = append(p.QueueP99, Point{t, math.Min(cap, depth*2.5+2)})
		p.QueueMax = append(p.QueueMax, Point{t, math.Min(cap, depth*4+5+r.Float64()*5)})
		expired := fleet * expireAt * t / end
		offline := 0.05 * fleet
		if night {
			offline = 0.7 * fleet
		}
		p.Expired = append(p.Expired, Point{t, expired})
		p.Offline = append(p.Offline, Point{t, max(0, offline-expired*0.5)})
		p.Online = append(p.Online, Point{t, fleet - offline - expired*0.5})
	}
	for range 400 {
		n := math.Floor(r.Float64() * math.Min(cap, 400))
		p.Drain = append(p.Drain, Point{n, n*perMsg + 0.2 + r.ExpFloat64()*0.3})
	}
	p.Drops = []Count{
		{"queue full", math.Round(4000 * dropScale)},
		{"ttl", math.Round(300 * dropScale)},
		{"session expired", math.Round(2000 * expireAt)},
		{"qos0 offline", 1200},
	}
	return p
}
