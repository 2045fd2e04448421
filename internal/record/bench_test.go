package record_test

import (
	"context"
	"testing"
	"time"

	"argus/internal/hub"
	"argus/internal/record"
	"argus/internal/segment"
)

// BenchmarkWriteUnit records a 25 fps, 2 Mbit/s H.264 stream (10 kB per
// frame on average, a 40 kB IDR every 2 s) into 60 s segments of 1 s
// fragments. "discard" measures the muxing alone; "fsstore" adds the
// writes to disk (page cache; fsync every 10 s). core%/camera is the share
// of one core that recording one such camera costs.
func BenchmarkWriteUnit(b *testing.B) {
	c := loadH264(b, "360p-gop2")
	const key, delta = 40000, (2_000_000/8*2 - 40000) / 49
	idr, p := make([]byte, key), make([]byte, delta)
	idr[0], p[0] = 0x65, 0x41
	media := c.media
	stores := []struct {
		name string
		new  func(b *testing.B) segment.Store
	}{
		{"discard", func(*testing.B) segment.Store { return discardStore{} }},
		{"fsstore", func(b *testing.B) segment.Store { return newStore(b, b.TempDir()) }},
	}
	for _, st := range stores {
		b.Run(st.name, func(b *testing.B) {
			w, err := record.NewWriter(st.new(b), "cam-1", record.Options{})
			if err != nil {
				b.Fatal(err)
			}
			// Units are immutable once written and the hub allocates
			// each one: build them before the clock starts, so that
			// allocs/op counts the recorder's own.
			units := make([]hub.Unit, b.N)
			for i := range units {
				ts := int64(i) * 3600
				units[i] = hub.Unit{Media: media, PTS: ts, DTS: ts, Key: i%50 == 0, NALUs: [][]byte{p},
					Wall: wall0.Add(time.Duration(i) * 40 * time.Millisecond)}
				if i%50 == 0 {
					units[i].NALUs = [][]byte{media.Tracks[0].SPS, media.Tracks[0].PPS, idr}
				}
			}
			ctx := b.Context()
			b.ReportAllocs()
			b.SetBytes(2_000_000 / 8 / 25)
			b.ResetTimer()
			for i := range units {
				if err := w.WriteUnit(ctx, &units[i]); err != nil {
					b.Fatal(err)
				}
			}
			b.StopTimer()
			if err := w.Close(ctx); err != nil {
				b.Fatal(err)
			}
			perUnit := b.Elapsed().Seconds() / float64(b.N)
			b.ReportMetric(1/perUnit, "units/s")
			b.ReportMetric(perUnit*25*100, "core%/camera")
		})
	}
}

// discardStore is a segment.Store whose segments go nowhere.
type discardStore struct{}

func (discardStore) Create(_ context.Context, camera string, start time.Time) (segment.Writer, error) {
	return &discardWriter{ref: segment.Ref{Camera: camera, Start: start, Partial: true}}, nil
}
func (discardStore) Open(context.Context, segment.Ref) (segment.Reader, error) { return nil, nil }
func (discardStore) List(context.Context, string, time.Time, time.Time) ([]segment.Ref, error) {
	return nil, nil
}
func (discardStore) Delete(context.Context, segment.Ref) error          { return nil }
func (discardStore) Cameras(context.Context) ([]string, error)          { return nil, nil }
func (discardStore) Repair(context.Context) ([]segment.Repaired, error) { return nil, nil }

type discardWriter struct {
	ref  segment.Ref
	size int64
}

func (w *discardWriter) Ref() segment.Ref { return w.ref }
func (w *discardWriter) Append(_ context.Context, p []byte) error {
	w.size += int64(len(p))
	return nil
}
func (w *discardWriter) Stage(context.Context, int64, ...[]byte) error { return nil }
func (w *discardWriter) Commit(_ context.Context, _ []byte, end int64) error {
	w.size = end
	return nil
}
func (w *discardWriter) Sync(context.Context) error  { return nil }
func (w *discardWriter) Abort(context.Context) error { return nil }
func (w *discardWriter) Finish(_ context.Context, d time.Duration) (segment.Ref, error) {
	r := w.ref
	r.Partial, r.Duration, r.Size = false, d, w.size
	return r, nil
}
