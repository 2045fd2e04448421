package segment

import (
	"context"
	"time"
)

// Range is a span of recorded time [From, To).
type Range struct {
	From, To time.Time
}

// Ranger is implemented by stores that answer ranges faster than List, for
// example from a cache of per-hour summaries. Its result must equal Merge of
// the store's List over the same range.
type Ranger interface {
	// Ranges returns camera's recorded ranges in [from, to), as Ranges
	// (the function) does.
	Ranges(ctx context.Context, camera string, from, to, now time.Time) ([]Range, error)
}

// Merge turns refs, sorted by start as List returns them, into the ranges of
// recorded time within [from, to), sorted and disjoint. A finished segment
// covers [Start, End()); a partial one covers [Start, min(now, Start +
// MaxDuration)). Consecutive segments join when the next starts at or before
// the end of the current one: joins are exact, without tolerance, because
// the recorder carries each segment's start forward on the media clock. A
// segment that covers no time is left out. Ranges are clipped to [from, to)
// and their times are in UTC.
func Merge(refs []Ref, from, to, now time.Time) []Range {
	if !from.Before(to) {
		return nil
	}
	from, to, now = from.UTC(), to.UTC(), now.UTC()
	var out []Range
	for _, r := range refs {
		start, end := r.Start.UTC(), r.End().UTC()
		if r.Partial {
			end = start.Add(MaxDuration)
			if now.Before(end) {
				end = now
			}
		}
		if !start.Before(end) {
			continue
		}
		if n := len(out); n > 0 && !start.After(out[n-1].To) {
			if end.After(out[n-1].To) {
				out[n-1].To = end
			}
			continue
		}
		out = append(out, Range{From: start, To: end})
	}
	clipped := out[:0]
	for _, g := range out {
		if g.From.Before(from) {
			g.From = from
		}
		if g.To.After(to) {
			g.To = to
		}
		if g.From.Before(g.To) {
			clipped = append(clipped, g)
		}
	}
	if len(clipped) == 0 {
		return nil
	}
	return clipped
}

// Ranges returns camera's recorded ranges in [from, to) (see Merge), with
// partial segments extending to now: s.Ranges when s implements Ranger,
// else Merge of s.List.
func Ranges(ctx context.Context, s Store, camera string, from, to, now time.Time) ([]Range, error) {
	if r, ok := s.(Ranger); ok {
		return r.Ranges(ctx, camera, from, to, now)
	}
	refs, err := s.List(ctx, camera, from, to)
	if err != nil {
		return nil, err
	}
	return Merge(refs, from, to, now), nil
}

// Gaps returns the complement of ranges within [from, to): the spans not
// recorded, sorted, in UTC. ranges must be sorted by From, as Merge returns
// them; overlapping ranges are allowed.
func Gaps(ranges []Range, from, to time.Time) []Range {
	if !from.Before(to) {
		return nil
	}
	from, to = from.UTC(), to.UTC()
	var out []Range
	at := from // everything before at is recorded or already a gap
	for _, g := range ranges {
		if !g.From.Before(to) {
			break
		}
		if g.From.After(at) {
			out = append(out, Range{From: at, To: g.From.UTC()})
		}
		if g.To.After(at) {
			at = g.To.UTC()
		}
	}
	if at.Before(to) {
		out = append(out, Range{From: at, To: to})
	}
	return out
}
