package fsstore_test

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"argus/internal/segment"
	"argus/internal/segment/fsstore"
)

// recordedStore returns a store holding days of continuous one-minute
// segments of cam-1 from base (empty files), with hour directories old
// enough for their summaries to be trusted.
func recordedStore(b *testing.B, base time.Time, days int) (*fsstore.Store, string) {
	b.Helper()
	dir := b.TempDir()
	s, err := fsstore.Open(dir, fsstore.Options{})
	if err != nil {
		b.Fatal(err)
	}
	for m := range days * 24 * 60 {
		start := base.Add(time.Duration(m) * time.Minute)
		writeNames(b, dir, segment.Ref{Camera: "cam-1", Start: start, Duration: time.Minute})
	}
	setHourTimes(b, dir, time.Now().Add(-time.Hour))
	return s, dir
}

// BenchmarkRanges30Days measures a 30-day timeline of one camera (720 hour
// directories, 43,200 segments): cold (no summaries: every hour is listed
// and the day files are written), warm (every summary trusted), and Merge
// of List for comparison. The files are created once, for all three.
func BenchmarkRanges30Days(b *testing.B) {
	base := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	from, to := base, base.Add(30*24*time.Hour)
	want := []segment.Range{{From: from, To: to}}
	check := func(b *testing.B, got []segment.Range, err error) {
		if err != nil || len(got) != 1 || got[0] != want[0] {
			b.Fatalf("Ranges = %v, %v; want %v", got, err, want)
		}
	}
	s, dir := recordedStore(b, base, 30)
	b.Run("cold", func(b *testing.B) {
		for b.Loop() {
			b.StopTimer()
			if err := os.RemoveAll(filepath.Join(dir, ".timeline")); err != nil {
				b.Fatal(err)
			}
			b.StartTimer()
			got, err := s.Ranges(b.Context(), "cam-1", from, to, to)
			check(b, got, err)
		}
	})
	b.Run("warm", func(b *testing.B) {
		if _, err := s.Ranges(b.Context(), "cam-1", from, to, to); err != nil {
			b.Fatal(err)
		}
		for b.Loop() {
			got, err := s.Ranges(b.Context(), "cam-1", from, to, to)
			check(b, got, err)
		}
	})
	b.Run("list", func(b *testing.B) {
		for b.Loop() {
			refs, err := s.List(b.Context(), "cam-1", from, to)
			check(b, segment.Merge(refs, from, to, to), err)
		}
	})
}

// BenchmarkRangesDay measures a one-day timeline (25 hour directories read)
// with every summary trusted.
func BenchmarkRangesDay(b *testing.B) {
	base := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	from, to := base.Add(24*time.Hour), base.Add(48*time.Hour)
	b.Run("warm", func(b *testing.B) {
		s, _ := recordedStore(b, base, 2)
		if _, err := s.Ranges(b.Context(), "cam-1", from, to, to); err != nil {
			b.Fatal(err)
		}
		for b.Loop() {
			got, err := s.Ranges(b.Context(), "cam-1", from, to, to)
			if err != nil || len(got) != 1 || got[0] != (segment.Range{From: from, To: to}) {
				b.Fatalf("Ranges = %v, %v", got, err)
			}
		}
	})
}
