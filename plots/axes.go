package plots

import (
	"math"
	"strconv"

	"gonum.org/v1/plot"
)

// span is a closed range of data values.
type span struct{ min, max float64 }

// spanOf returns the range of the values picked from every point of every
// list that keep accepts, and false when there is none. NaN and infinite
// values are ignored.
func spanOf(pick func(Point) float64, keep func(Point) bool, lists ...[]Point) (span, bool) {
	s, ok := span{math.Inf(1), math.Inf(-1)}, false
	for _, pts := range lists {
		for _, pt := range pts {
			v := pick(pt)
			if math.IsNaN(v) || math.IsInf(v, 0) || keep != nil && !keep(pt) {
				continue
			}
			s.min, s.max, ok = math.Min(s.min, v), math.Max(s.max, v), true
		}
	}
	return s, ok
}

func pickX(p Point) float64 { return p.X }
func pickY(p Point) float64 { return p.Y }

// setLinear sets a linear axis from 0 (or the data's minimum when
// negative) to the data's maximum times headroom, which leaves space at the
// top for the legend; an empty or flat range becomes [0, 1].
func setLinear(a *plot.Axis, s span, ok bool, headroom float64) {
	lo, hi := 0.0, 1.0
	if ok {
		lo = math.Min(0, s.min)
		if s.max > lo {
			hi = lo + (s.max-lo)*headroom
		}
	}
	a.Min, a.Max = lo, hi
}

// setLogSeconds sets a, which shows seconds, to a log scale spanning whole
// decades around s (or 1 ms to 1 s when there is no data), with decades
// labelled as durations.
func setLogSeconds(a *plot.Axis, s span, ok bool) {
	setLog(a, s, ok, 1e-3, 1, secondsLabel)
}

// setLog sets a to a log scale spanning whole decades around s (or
// [lo, hi] when there is no positive data), with decades labelled by label.
func setLog(a *plot.Axis, s span, ok bool, lo, hi float64, label func(float64) string) {
	if ok && s.min > 0 {
		lo = math.Pow(10, math.Floor(math.Log10(s.min)))
		hi = math.Pow(10, math.Ceil(math.Log10(s.max)))
		if hi <= lo {
			hi = lo * 10
		}
	}
	a.Min, a.Max = lo, hi
	a.Scale = plot.LogScale{}
	a.Tick.Marker = plot.TickerFunc(func(min, max float64) []plot.Tick { return decadeTicks(min, max, label) })
}

// decadeTicks labels each power of ten in [min, max] with label and puts
// unlabelled minor ticks at its multiples 2..9. It returns nothing for a
// range that is not positive.
func decadeTicks(min, max float64, label func(float64) string) []plot.Tick {
	if !(min > 0) || !(max >= min) {
		return nil
	}
	var ticks []plot.Tick
	for e := math.Floor(math.Log10(min)); e <= math.Ceil(math.Log10(max)); e++ {
		d := math.Pow(10, e)
		for i := 1; i < 10; i++ {
			v := d * float64(i)
			if v < min*(1-1e-9) || v > max*(1+1e-9) {
				continue
			}
			t := plot.Tick{Value: v}
			if i == 1 {
				t.Label = label(v)
			}
			ticks = append(ticks, t)
		}
	}
	return ticks
}

// secondsLabel formats a duration of v seconds compactly: "5ms", "10s",
// "1000s".
func secondsLabel(v float64) string {
	switch {
	case v < 1e-3:
		return strconv.FormatFloat(v*1e6, 'g', 3, 64) + "µs"
	case v < 1:
		return strconv.FormatFloat(v*1e3, 'g', 3, 64) + "ms"
	default:
		return strconv.FormatFloat(v, 'g', 6, 64) + "s"
	}
}

// timeUnit is the unit of a time-of-run axis.
type timeUnit struct {
	name    string  // axis label unit, e.g. "h"
	seconds float64 // seconds per unit
	steps   []float64
}

var (
	unitMinutes = timeUnit{"min", 60, []float64{1, 2, 5, 10, 15, 30, 60}}
	unitHours   = timeUnit{"h", 3600, []float64{1, 2, 3, 6, 12, 24, 48}}
)

// unitFor picks minutes for runs up to three hours and hours beyond.
func unitFor(endSeconds float64) timeUnit {
	if endSeconds <= 3*3600 {
		return unitMinutes
	}
	return unitHours
}

// inUnit returns pts with X converted from seconds to u.
func inUnit(pts []Point, u timeUnit) []Point {
	out := make([]Point, len(pts))
	for i, p := range pts {
		out[i] = Point{p.X / u.seconds, p.Y}
	}
	return out
}

// setTime sets a, which shows time since the start in unit u, from 0 to
// end (in u), with labelled ticks at a round step giving at most eight.
func setTime(a *plot.Axis, u timeUnit, end float64) {
	if !(end > 0) {
		end = 1
	}
	a.Min, a.Max = 0, end
	step := u.steps[len(u.steps)-1]
	for _, s := range u.steps {
		if end/s <= 8 {
			step = s
			break
		}
	}
	a.Tick.Marker = plot.TickerFunc(func(min, max float64) []plot.Tick {
		var ticks []plot.Tick
		for v := 0.0; v <= max+1e-9 && len(ticks) < 100; v += step {
			ticks = append(ticks, plot.Tick{Value: v, Label: plainNumber(v)})
		}
		return ticks
	})
}

// plainTicks are gonum's default ticks with labels in the shortest form
// ("500", not "500.00").
type plainTicks struct{}

// Ticks returns the default ticks of [min, max], relabelled.
func (plainTicks) Ticks(min, max float64) []plot.Tick {
	ticks := plot.DefaultTicks{}.Ticks(min, max)
	for i := range ticks {
		if ticks[i].Label != "" {
			ticks[i].Label = plainNumber(ticks[i].Value)
		}
	}
	return ticks
}

// plainNumber formats v with at most six significant digits and no
// exponent: "0.25", "1500", "2000000".
func plainNumber(v float64) string {
	r, err := strconv.ParseFloat(strconv.FormatFloat(v, 'g', 6, 64), 64)
	if err != nil {
		return strconv.FormatFloat(v, 'g', 6, 64)
	}
	return strconv.FormatFloat(r, 'f', -1, 64)
}

// toLog10Y returns the points of pts with Y > 0, their Y replaced by
// log10(Y). Panels draw a log-scale Y axis this way, as a linear axis of
// exponents labelled by log10Ticks, because gonum's LogScale places the
// vertical axis label's glyph box at the arithmetic mid-range, which on a
// log axis pads the top of the panel by a large, data-dependent amount.
func toLog10Y(pts []Point) []Point {
	out := make([]Point, 0, len(pts))
	for _, p := range pts {
		if p.Y > 0 {
			out = append(out, Point{p.X, math.Log10(p.Y)})
		}
	}
	return out
}

// setLog10Y sets a, a linear axis of exponents (see toLog10Y), to whole
// decades around the exponents in s (or [lo, hi] without data), with ticks
// at the decades labelled by label and minor ticks at their multiples.
func setLog10Y(a *plot.Axis, s span, ok bool, lo, hi float64, label func(float64) string) {
	if ok {
		lo, hi = math.Floor(s.min), math.Ceil(s.max)
		if hi <= lo {
			hi = lo + 1
		}
	}
	a.Min, a.Max = lo, hi
	a.Scale = plot.LinearScale{}
	a.Tick.Marker = plot.TickerFunc(func(min, max float64) []plot.Tick {
		var ticks []plot.Tick
		for _, t := range decadeTicks(math.Pow(10, min), math.Pow(10, max), label) {
			ticks = append(ticks, plot.Tick{Value: math.Log10(t.Value), Label: t.Label})
		}
		return ticks
	})
}
