package fsstore_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"log/slog"
	"maps"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"argus"
	"argus/internal/segment"
	"argus/internal/segment/fsstore"
)

// writeNames creates refs as empty files: List and Ranges read names only.
func writeNames(tb testing.TB, dir string, refs ...segment.Ref) {
	tb.Helper()
	for _, r := range refs {
		p := filepath.Join(dir, filepath.FromSlash(r.Path()))
		if err := os.MkdirAll(filepath.Dir(p), 0o750); err != nil {
			tb.Fatal(err)
		}
		if err := os.WriteFile(p, nil, 0o640); err != nil {
			tb.Fatal(err)
		}
	}
}

// setHourTimes sets the mtime of every hour directory under dir.
func setHourTimes(tb testing.TB, dir string, mtime time.Time) {
	tb.Helper()
	hours, err := filepath.Glob(filepath.Join(dir, "*", "????-??-??", "??"))
	if err != nil {
		tb.Fatal(err)
	}
	for _, h := range hours {
		if err := os.Chtimes(h, mtime, mtime); err != nil {
			tb.Fatal(err)
		}
	}
}

// setTime sets the mtime of one directory.
func setTime(tb testing.TB, dir string, mtime time.Time) {
	tb.Helper()
	if err := os.Chtimes(dir, mtime, mtime); err != nil {
		tb.Fatal(err)
	}
}

// ranges returns s.Ranges and checks it against Merge of List.
func ranges(t *testing.T, s *fsstore.Store, from, to, now time.Time) []segment.Range {
	t.Helper()
	got, err := s.Ranges(t.Context(), "cam-1", from, to, now)
	if err != nil {
		t.Fatalf("Ranges(%v, %v): %v", from, to, err)
	}
	refs, err := s.List(t.Context(), "cam-1", from, to)
	if err != nil {
		t.Fatal(err)
	}
	if want := segment.Merge(refs, from, to, now); !slices.Equal(got, want) {
		t.Fatalf("Ranges(%v, %v, now %v)\n = %v\nwant Merge(List) = %v", from, to, now, got, want)
	}
	return got
}

// fin is a finished segment of cam-1 from start to end.
func fin(start, end time.Time) segment.Ref {
	return segment.Ref{Camera: "cam-1", Start: start, Duration: end.Sub(start)}
}

func span(from, to time.Time) segment.Range { return segment.Range{From: from, To: to} }

func rangesOf(refs ...segment.Ref) []segment.Range {
	var out []segment.Range
	for _, r := range refs {
		out = append(out, segment.Range{From: r.Start, To: r.End()})
	}
	return out
}

// randomLayout returns cam-1's segments over period from base: mostly
// one-minute segments joined exactly, with gaps, overlaps, long and empty
// segments, some partials and hours without any segment.
func randomLayout(r *rand.Rand, base time.Time, period time.Duration) []segment.Ref {
	ms := func(n int) time.Duration { return time.Duration(n) * time.Millisecond }
	var refs []segment.Ref
	at, prev := base, base.Add(-time.Millisecond)
	for {
		switch k := r.IntN(20); {
		case k < 3:
			at = at.Add(ms(1 + r.IntN(120_000)))
		case k < 5:
			at = at.Add(-ms(r.IntN(30_000)))
		case k < 6:
			at = at.Add(time.Duration(1+r.IntN(5))*time.Hour + ms(r.IntN(3_600_000)))
		}
		if !at.After(prev) {
			at = prev.Add(time.Millisecond)
		}
		if !at.Before(base.Add(period)) {
			return refs
		}
		ref := segment.Ref{Camera: "cam-1", Start: at}
		switch k := r.IntN(40); {
		case k == 0:
			ref.Partial = true
		case k == 1:
			ref.Duration = 0
		case k == 2:
			ref.Duration = ms(1 + r.IntN(3_600_000))
		default:
			ref.Duration = ms(55_000 + r.IntN(10_000))
		}
		refs = append(refs, ref)
		prev = at
		at = ref.End()
		if ref.Partial {
			at = at.Add(ms(r.IntN(120_000)))
		}
	}
}

// TestRangesMatchMerge is the property: for random layouts Ranges equals
// Merge of List, cold, warm, and after segments are deleted from and added
// to hours whose summaries are cached.
func TestRangesMatchMerge(t *testing.T) {
	base := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	const period = 3 * 24 * time.Hour
	for seed := range uint64(4) {
		t.Run(fmt.Sprint("seed", seed), func(t *testing.T) {
			r := rand.New(rand.NewPCG(seed, 1))
			dir := t.TempDir()
			s, err := fsstore.Open(dir, fsstore.Options{})
			if err != nil {
				t.Fatal(err)
			}
			layout := randomLayout(r, base, period)
			writeNames(t, dir, layout...)
			// A name that is not a segment is ignored by both.
			junk := filepath.Join(dir, filepath.FromSlash(segment.HourDir("cam-1", layout[0].Start)), "notes.txt")
			if err := os.WriteFile(junk, nil, 0o640); err != nil {
				t.Fatal(err)
			}
			type window struct{ from, to, now time.Time }
			windows := []window{{base.Add(-2 * time.Hour), base.Add(period + 2*time.Hour), base.Add(period)}}
			for range 20 {
				from := base.Add(-2*time.Hour + time.Duration(r.Int64N(int64(period+4*time.Hour))))
				to := from.Add(time.Millisecond + time.Duration(r.Int64N(int64(26*time.Hour))))
				now := base.Add(time.Duration(r.Int64N(int64(period + 2*time.Hour))))
				windows = append(windows, window{from, to, now})
			}
			check := func(t *testing.T) {
				t.Helper()
				for _, w := range windows {
					ranges(t, s, w.from, w.to, w.now)
				}
			}
			old := time.Now().Add(-time.Hour)

			t.Run("cold", check)
			setHourTimes(t, dir, old)
			t.Run("warm", func(t *testing.T) {
				check(t) // builds the summaries
				if days, _ := filepath.Glob(filepath.Join(dir, ".timeline", "cam-1", "*.json")); len(days) == 0 {
					t.Fatal("no day summaries written")
				}
				check(t) // reads them
			})
			t.Run("changed", func(t *testing.T) {
				for range 5 {
					victim := layout[r.IntN(len(layout))]
					if err := s.Delete(t.Context(), victim); err != nil && argus.ErrorCode(err) != argus.ENOTFOUND {
						t.Fatal(err)
					}
					add := fin(victim.Start.Add(time.Duration(1+r.IntN(1000))*time.Millisecond), victim.Start.Add(90*time.Second))
					writeNames(t, dir, add)
				}
				check(t)
			})
			setHourTimes(t, dir, old.Add(time.Second))
			t.Run("rewarmed", func(t *testing.T) {
				check(t)
				check(t)
			})
		})
	}
}

// TestRangesSummaryTrust pins down when an hour summary is used: while the
// hour directory's mtime is the one recorded and was at least 2 s older
// than the summary; otherwise the hour is read again.
func TestRangesSummaryTrust(t *testing.T) {
	dir := t.TempDir()
	s, err := fsstore.Open(dir, fsstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	h10 := time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)
	h11 := h10.Add(time.Hour)
	dir10 := filepath.Join(dir, "cam-1", "2026-03-01", "10")
	dir11 := filepath.Join(dir, "cam-1", "2026-03-01", "11")
	m := func(h time.Time, n int) time.Time { return h.Add(time.Duration(n) * time.Minute) }
	segs := []segment.Ref{fin(m(h10, 0), m(h10, 1)), fin(m(h10, 1), m(h10, 2)), fin(m(h10, 2), m(h10, 3)), fin(m(h11, 0), m(h11, 1))}
	writeNames(t, dir, segs...)
	old := time.Now().Add(-time.Hour).Truncate(time.Second)
	setHourTimes(t, dir, old)
	from, to, now := h10.Add(-time.Hour), h11.Add(2*time.Hour), h11.Add(2*time.Hour)
	want := []segment.Range{span(m(h10, 0), m(h10, 3)), span(m(h11, 0), m(h11, 1))}

	if got := ranges(t, s, from, to, now); !slices.Equal(got, want) {
		t.Fatalf("Ranges = %v, want %v", got, want)
	}

	// A file added behind the summary's back, with the mtime put back: the
	// summary is trusted, so Ranges does not see it (List does).
	hidden := fin(m(h10, 5), m(h10, 6))
	writeNames(t, dir, hidden)
	setTime(t, dir10, old)
	got, err := s.Ranges(t.Context(), "cam-1", from, to, now)
	if err != nil || !slices.Equal(got, want) {
		t.Fatalf("Ranges with the summary trusted = %v, %v; want %v", got, err, want)
	}

	// The mtime moves by a second: the hour is read again.
	setTime(t, dir10, old.Add(time.Second))
	want = []segment.Range{span(m(h10, 0), m(h10, 3)), span(m(h10, 5), m(h10, 6)), span(m(h11, 0), m(h11, 1))}
	if got := ranges(t, s, from, to, now); !slices.Equal(got, want) {
		t.Fatalf("Ranges after the mtime moved = %v, want %v", got, want)
	}

	// An hour whose mtime is less than 2 s older than the read is not
	// cached: a change in the same timestamp tick is seen.
	racy := time.Now().Add(time.Second)
	setTime(t, dir11, racy)
	ranges(t, s, from, to, now)
	writeNames(t, dir, fin(m(h11, 10), m(h11, 11)))
	setTime(t, dir11, racy)
	want = append(want, span(m(h11, 10), m(h11, 11)))
	if got := ranges(t, s, from, to, now); !slices.Equal(got, want) {
		t.Fatalf("Ranges after a change within the racy window = %v, want %v", got, want)
	}

	// Delete and a new segment through the Store move the mtime.
	setHourTimes(t, dir, old)
	ranges(t, s, from, to, now)
	if err := s.Delete(t.Context(), segs[1]); err != nil {
		t.Fatal(err)
	}
	w, err := s.Create(t.Context(), "cam-1", m(h11, 30))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Finish(t.Context(), time.Minute); err != nil {
		t.Fatal(err)
	}
	want = []segment.Range{span(m(h10, 0), m(h10, 1)), span(m(h10, 2), m(h10, 3)), span(m(h10, 5), m(h10, 6)),
		span(m(h11, 0), m(h11, 1)), span(m(h11, 10), m(h11, 11)), span(m(h11, 30), m(h11, 31))}
	if got := ranges(t, s, from, to, now); !slices.Equal(got, want) {
		t.Fatalf("Ranges after Delete and Create = %v, want %v", got, want)
	}
}

// TestRangesAcrossHours checks that segments filed in one hour join the
// next hour's, and that a partial extends to now without being cached.
func TestRangesAcrossHours(t *testing.T) {
	dir := t.TempDir()
	s, err := fsstore.Open(dir, fsstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	h := time.Date(2026, 3, 1, 23, 0, 0, 0, time.UTC)
	segs := []segment.Ref{
		fin(h.Add(59*time.Minute+30*time.Second), h.Add(60*time.Minute+30*time.Second)), // into the next day
		fin(h.Add(60*time.Minute+30*time.Second), h.Add(61*time.Minute+30*time.Second)),
		{Camera: "cam-1", Start: h.Add(61*time.Minute + 30*time.Second), Partial: true},
	}
	writeNames(t, dir, segs...)
	setHourTimes(t, dir, time.Now().Add(-time.Hour))
	for i, now := range []time.Time{h.Add(62 * time.Minute), h.Add(63 * time.Minute)} {
		want := []segment.Range{{From: segs[0].Start, To: now}}
		if got := ranges(t, s, h, h.Add(2*time.Hour), now); !slices.Equal(got, want) {
			t.Errorf("call %d: Ranges = %v, want %v", i, got, want)
		}
	}
	want := []segment.Range{{From: h.Add(60 * time.Minute), To: h.Add(60*time.Minute + 30*time.Second)}}
	if got := ranges(t, s, h.Add(60*time.Minute), h.Add(60*time.Minute+30*time.Second), h.Add(2*time.Hour)); !slices.Equal(got, want) {
		t.Errorf("Ranges of the next day's first 30 s = %v, want %v", got, want)
	}
}

// TestRangesCorruptSummary checks that a day file that does not parse or
// check is ignored, logged at debug level, and rebuilt.
func TestRangesCorruptSummary(t *testing.T) {
	h := time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)
	seg := fin(h, h.Add(time.Minute))
	for _, tc := range []struct {
		name string
		// file returns the day file's contents given the hour's mtime; the
		// wrong ranges in it would show if it were trusted.
		file func(mtime int64) string
	}{
		{"garbage", func(int64) string { return "\x00not json" }},
		{"truncated", func(m int64) string {
			return fmt.Sprintf(`{"version":1,"hours":{"10":{"mtime":%d,"built":%d,"ranges":[[1,2]`, m, m+1e10)
		}},
		{"other version", func(m int64) string {
			return fmt.Sprintf(`{"version":2,"hours":{"10":{"mtime":%d,"built":%d,"ranges":[[1,2]]}}}`, m, m+1e10)
		}},
		{"empty range", func(m int64) string {
			ms := h.UnixMilli()
			return fmt.Sprintf(`{"version":1,"hours":{"10":{"mtime":%d,"built":%d,"ranges":[[%d,%d]]}}}`, m, m+1e10, ms+60000, ms)
		}},
		{"bad hour", func(m int64) string {
			return fmt.Sprintf(`{"version":1,"hours":{"10":{"mtime":%d,"built":%d,"ranges":[[1,2]]},"24":{}}}`, m, m+1e10)
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			var logs bytes.Buffer
			s, err := fsstore.Open(dir, fsstore.Options{Logger: slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))})
			if err != nil {
				t.Fatal(err)
			}
			writeNames(t, dir, seg)
			hourDir := filepath.Join(dir, "cam-1", "2026-03-01", "10")
			old := time.Now().Add(-time.Hour)
			setTime(t, hourDir, old)
			day := filepath.Join(dir, ".timeline", "cam-1", "2026-03-01.json")
			if err := os.MkdirAll(filepath.Dir(day), 0o750); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(day, []byte(tc.file(old.UnixNano())), 0o640); err != nil {
				t.Fatal(err)
			}
			want := rangesOf(seg)
			if got := ranges(t, s, h, h.Add(time.Hour), h.Add(time.Hour)); !slices.Equal(got, want) {
				t.Fatalf("Ranges = %v, want %v", got, want)
			}
			if !strings.Contains(logs.String(), "level=DEBUG") || !strings.Contains(logs.String(), day) {
				t.Errorf("log = %q, want a debug line naming %s", logs.String(), day)
			}
			b, err := os.ReadFile(day)
			if err != nil {
				t.Fatal(err)
			}
			var f struct {
				Version int
				Hours   map[string]struct{ Ranges [][2]int64 }
			}
			if err := json.Unmarshal(b, &f); err != nil || f.Version != 1 || !slices.Equal(f.Hours["10"].Ranges, [][2]int64{{seg.Start.UnixMilli(), seg.End().UnixMilli()}}) {
				t.Errorf("day file after Ranges = %s (%v), want it rebuilt", b, err)
			}
		})
	}
}

// TestRangesSummaryDir checks that the summaries never pass for a camera,
// do not disturb Repair, and go when Delete empties their date.
func TestRangesSummaryDir(t *testing.T) {
	dir := t.TempDir()
	s, err := fsstore.Open(dir, fsstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	h := time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)
	segs := []segment.Ref{fin(h, h.Add(time.Minute)), fin(h.Add(time.Hour), h.Add(61*time.Minute))}
	writeNames(t, dir, segs...)
	setHourTimes(t, dir, time.Now().Add(-time.Hour))
	ranges(t, s, h, h.Add(2*time.Hour), h.Add(2*time.Hour))
	day := filepath.Join(dir, ".timeline", "cam-1", "2026-03-01.json")
	if _, err := os.Stat(day); err != nil {
		t.Fatalf("no day summary: %v", err)
	}
	if cams, err := s.Cameras(ctx); err != nil || !slices.Equal(cams, []string{"cam-1"}) {
		t.Errorf("Cameras = %v, %v; want [cam-1]", cams, err)
	}
	if rep, err := s.Repair(ctx); err != nil || len(rep) != 0 {
		t.Errorf("Repair = %v, %v; want nothing to do", rep, err)
	}
	if err := s.Delete(ctx, segs[0]); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(day); err != nil {
		t.Errorf("day summary gone while the date still has an hour: %v", err)
	}
	if err := s.Delete(ctx, segs[1]); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, ".timeline", "cam-1")); !os.IsNotExist(err) {
		t.Errorf("camera summaries after the last Delete: %v, want them gone", err)
	}
	if cams, err := s.Cameras(ctx); err != nil || len(cams) != 0 {
		t.Errorf("Cameras = %v, %v; want none", cams, err)
	}
}

// TestRangesEmptiedDay checks that hours that went away without Delete
// leave the day's summary at the next Ranges, and the day's file goes with
// the last of them.
func TestRangesEmptiedDay(t *testing.T) {
	dir := t.TempDir()
	s, err := fsstore.Open(dir, fsstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	h := time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)
	writeNames(t, dir, fin(h, h.Add(time.Minute)), fin(h.Add(time.Hour), h.Add(61*time.Minute)))
	setHourTimes(t, dir, time.Now().Add(-time.Hour))
	ranges(t, s, h, h.Add(2*time.Hour), h.Add(2*time.Hour))
	day := filepath.Join(dir, ".timeline", "cam-1", "2026-03-01.json")
	hours := func() []string {
		t.Helper()
		b, err := os.ReadFile(day)
		if os.IsNotExist(err) {
			return nil
		}
		var f struct{ Hours map[string]json.RawMessage }
		if err := json.Unmarshal(b, &f); err != nil {
			t.Fatal(err)
		}
		return slices.Sorted(maps.Keys(f.Hours))
	}
	if got := hours(); !slices.Equal(got, []string{"10", "11"}) {
		t.Fatalf("hours summarised = %v, want [10 11]", got)
	}
	for _, tc := range []struct {
		hour string
		want []string
	}{{"11", []string{"10"}}, {"10", nil}} {
		if err := os.RemoveAll(filepath.Join(dir, "cam-1", "2026-03-01", tc.hour)); err != nil {
			t.Fatal(err)
		}
		// A window of hour 10 only: hour 11 is dropped all the same.
		ranges(t, s, h, h.Add(time.Hour), h.Add(2*time.Hour))
		if got := hours(); !slices.Equal(got, tc.want) {
			t.Errorf("hours summarised after removing hour %s = %v, want %v", tc.hour, got, tc.want)
		}
	}
	if _, err := os.Stat(day); !os.IsNotExist(err) {
		t.Errorf("day summary of an empty day: %v, want it gone", err)
	}
}

// TestRangesConcurrent runs Ranges for one camera from several goroutines
// while the summaries are being built.
func TestRangesConcurrent(t *testing.T) {
	dir := t.TempDir()
	s, err := fsstore.Open(dir, fsstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	base := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	layout := randomLayout(rand.New(rand.NewPCG(7, 1)), base, 2*24*time.Hour)
	writeNames(t, dir, layout...)
	setHourTimes(t, dir, time.Now().Add(-time.Hour))
	from, to := base, base.Add(48*time.Hour)
	refs, err := s.List(t.Context(), "cam-1", from, to)
	if err != nil {
		t.Fatal(err)
	}
	want := segment.Merge(refs, from, to, to)
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 10 {
				if i == 5 && g == 0 {
					os.RemoveAll(filepath.Join(dir, ".timeline"))
				}
				got, err := s.Ranges(t.Context(), "cam-1", from, to, to)
				if err != nil || !slices.Equal(got, want) {
					t.Errorf("goroutine %d call %d: Ranges = %d ranges, %v; want %d", g, i, len(got), err, len(want))
					return
				}
			}
		})
	}
	wg.Wait()
	if tmp, _ := filepath.Glob(filepath.Join(dir, ".timeline", "cam-1", "*.tmp")); len(tmp) != 0 {
		t.Errorf("temporary files left: %v", tmp)
	}
}
