package segment_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"argus/internal/segment"
	"argus/internal/segment/fsstore"
)

// at returns the time n minutes after 2026-03-01T10:00Z.
func at(n float64) time.Time {
	return time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC).Add(time.Duration(n * float64(time.Minute)))
}

func fin(start, end float64) segment.Ref {
	return segment.Ref{Camera: "cam-1", Start: at(start), Duration: at(end).Sub(at(start))}
}

func part(start float64) segment.Ref {
	return segment.Ref{Camera: "cam-1", Start: at(start), Partial: true}
}

func rng(from, to float64) segment.Range { return segment.Range{From: at(from), To: at(to)} }

// checkRanges fails unless got equals want and every time in got is in UTC.
func checkRanges(t *testing.T, what string, got, want []segment.Range) {
	t.Helper()
	if !slices.EqualFunc(got, want, func(a, b segment.Range) bool { return a.From.Equal(b.From) && a.To.Equal(b.To) }) {
		t.Errorf("%s = %v, want %v", what, got, want)
	}
	for _, r := range got {
		if r.From.Location() != time.UTC || r.To.Location() != time.UTC {
			t.Errorf("%s: %v is not in UTC", what, r)
		}
	}
}

func TestMerge(t *testing.T) {
	paris := time.FixedZone("CET", 3600)
	for _, tc := range []struct {
		name          string
		refs          []segment.Ref
		from, to, now time.Time
		want          []segment.Range
	}{
		{"empty", nil, at(0), at(60), at(60), nil},
		{"one", []segment.Ref{fin(1, 2)}, at(0), at(60), at(60), []segment.Range{rng(1, 2)}},
		{"exact join", []segment.Ref{fin(0, 1), fin(1, 2), fin(2, 3)}, at(0), at(60), at(60), []segment.Range{rng(0, 3)}},
		{
			"one millisecond apart", []segment.Ref{fin(0, 1), {Camera: "cam-1", Start: at(1).Add(time.Millisecond), Duration: time.Minute}},
			at(0), at(60), at(60),
			[]segment.Range{rng(0, 1), {From: at(1).Add(time.Millisecond), To: at(2).Add(time.Millisecond)}},
		},
		{"gap", []segment.Ref{fin(0, 1), fin(3, 4)}, at(0), at(60), at(60), []segment.Range{rng(0, 1), rng(3, 4)}},
		{"overlap", []segment.Ref{fin(0, 2), fin(1, 3)}, at(0), at(60), at(60), []segment.Range{rng(0, 3)}},
		{"contained", []segment.Ref{fin(0, 5), fin(1, 2), fin(5, 6)}, at(0), at(60), at(60), []segment.Range{rng(0, 6)}},
		{"zero duration", []segment.Ref{fin(0, 1), fin(2, 2), fin(3, 3), fin(3, 4)}, at(0), at(60), at(60), []segment.Range{rng(0, 1), rng(3, 4)}},
		{"partial to now", []segment.Ref{fin(0, 1), part(1)}, at(0), at(60), at(1.5), []segment.Range{rng(0, 1.5)}},
		{"partial at most MaxDuration", []segment.Ref{part(1)}, at(0), at(120), at(100), []segment.Range{rng(1, 61)}},
		{"partial after now", []segment.Ref{fin(0, 1), part(5)}, at(0), at(60), at(4), []segment.Range{rng(0, 1)}},
		{"partial joins next", []segment.Ref{part(0), fin(2, 3)}, at(0), at(60), at(2), []segment.Range{rng(0, 3)}},
		{"clip from and to", []segment.Ref{fin(0, 2), fin(3, 4), fin(5, 7)}, at(1), at(6), at(60), []segment.Range{rng(1, 2), rng(3, 4), rng(5, 6)}},
		{"ends at from", []segment.Ref{fin(0, 1), fin(2, 3)}, at(1), at(60), at(60), []segment.Range{rng(2, 3)}},
		{"starts at to", []segment.Ref{fin(0, 1), fin(2, 3)}, at(0), at(2), at(60), []segment.Range{rng(0, 1)}},
		{"all outside", []segment.Ref{fin(0, 1), fin(5, 6)}, at(2), at(4), at(60), nil},
		{"empty window", []segment.Ref{fin(0, 10)}, at(5), at(5), at(60), nil},
		{"other zone", []segment.Ref{fin(0, 10)}, at(5).In(paris), at(6).In(paris), at(60), []segment.Range{rng(5, 6)}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			checkRanges(t, "Merge", segment.Merge(tc.refs, tc.from, tc.to, tc.now), tc.want)
		})
	}
}

func TestGaps(t *testing.T) {
	for _, tc := range []struct {
		name     string
		ranges   []segment.Range
		from, to time.Time
		want     []segment.Range
	}{
		{"nothing recorded", nil, at(0), at(10), []segment.Range{rng(0, 10)}},
		{"all recorded", []segment.Range{rng(0, 10)}, at(0), at(10), nil},
		{"middle", []segment.Range{rng(2, 3)}, at(0), at(10), []segment.Range{rng(0, 2), rng(3, 10)}},
		{"several", []segment.Range{rng(1, 2), rng(4, 5), rng(7, 10)}, at(0), at(10), []segment.Range{rng(0, 1), rng(2, 4), rng(5, 7)}},
		{"beyond the window", []segment.Range{rng(-5, 1), rng(9, 15)}, at(0), at(10), []segment.Range{rng(1, 9)}},
		{"outside the window", []segment.Range{rng(-5, -1), rng(12, 15)}, at(0), at(10), []segment.Range{rng(0, 10)}},
		{"overlapping", []segment.Range{rng(1, 5), rng(2, 3), rng(4, 6)}, at(0), at(10), []segment.Range{rng(0, 1), rng(6, 10)}},
		{"empty window", []segment.Range{rng(1, 2)}, at(5), at(5), nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			checkRanges(t, "Gaps", segment.Gaps(tc.ranges, tc.from, tc.to), tc.want)
		})
	}
}

// listOnly hides a store's Ranges method.
type listOnly struct{ segment.Store }

// fixedRanger answers Ranges with its own value.
type fixedRanger struct {
	segment.Store
	r []segment.Range
}

func (f fixedRanger) Ranges(context.Context, string, time.Time, time.Time, time.Time) ([]segment.Range, error) {
	return f.r, nil
}

func TestRanges(t *testing.T) {
	s, err := fsstore.Open(t.TempDir(), fsstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	for _, start := range []float64{0, 1, 3} {
		w, err := s.Create(ctx, "cam-1", at(start))
		if err != nil {
			t.Fatal(err)
		}
		if start == 3 {
			continue // left partial
		}
		if _, err := w.Finish(ctx, time.Minute); err != nil {
			t.Fatal(err)
		}
	}
	want := []segment.Range{rng(0, 2), rng(3, 4.5)}

	t.Run("list", func(t *testing.T) {
		got, err := segment.Ranges(ctx, listOnly{s}, "cam-1", at(-60), at(60), at(4.5))
		if err != nil {
			t.Fatal(err)
		}
		checkRanges(t, "Ranges", got, want)
	})
	t.Run("ranger", func(t *testing.T) {
		other := []segment.Range{rng(7, 8)}
		got, err := segment.Ranges(ctx, fixedRanger{s, other}, "cam-1", at(-60), at(60), at(4.5))
		if err != nil {
			t.Fatal(err)
		}
		checkRanges(t, "Ranges", got, other)
	})
	t.Run("invalid camera", func(t *testing.T) {
		if _, err := segment.Ranges(ctx, listOnly{s}, "../x", at(0), at(60), at(60)); err == nil {
			t.Error("Ranges of an invalid camera id succeeded")
		}
	})
}
