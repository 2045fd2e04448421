package record_test

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"argus/internal/hub"
	"argus/internal/record"
	"argus/internal/segment"
)

// finishStore records the segments finished and can fail one Append.
type finishStore struct {
	captureStore
	failAppend int // fail the n-th Append over all segments (1-based); 0 never
	appends    int
	finished   []segment.Ref
}

func (s *finishStore) Create(ctx context.Context, camera string, start time.Time) (segment.Writer, error) {
	w, _ := s.captureStore.Create(ctx, camera, start)
	return &finishWriter{captureWriter: w.(*captureWriter), s: s}, nil
}

type finishWriter struct {
	*captureWriter
	s *finishStore
}

var errDiskFull = errors.New("disk full")

func (w *finishWriter) Append(ctx context.Context, p []byte) error {
	w.s.appends++
	if w.s.appends == w.s.failAppend {
		return errDiskFull
	}
	return w.captureWriter.Append(ctx, p)
}

func (w *finishWriter) Finish(ctx context.Context, d time.Duration) (segment.Ref, error) {
	r, err := w.captureWriter.Finish(ctx, d)
	w.s.finished = append(w.s.finished, r)
	return r, err
}

// span is a finished segment as [start, end) offsets from wall0.
type span struct{ start, end time.Duration }

// TestTimeline drives a Writer with scripted timestamps and checks where
// segments start and end.
func TestTimeline(t *testing.T) {
	c := loadH264(t, "360p-gop2")
	media := c.media
	// unit returns frame i of the clip with decode time dts (in frames) and
	// wall clock wall0 + wallOff.
	unit := func(m *hub.Media, i int, dts int64, wallOff time.Duration) *hub.Unit {
		return &hub.Unit{Media: m, PTS: dts * 3600, DTS: dts * 3600, Wall: wall0.Add(wallOff),
			Key: c.keys[i%200], NALUs: c.frames[i%200]}
	}
	frame := 40 * time.Millisecond
	tests := []struct {
		name   string
		fail   int
		script func(t *testing.T, w *record.Writer) int // returns how many WriteUnit errors it saw
		errs   int
		want   []span
	}{
		{
			name: "starts at the first keyframe",
			script: func(t *testing.T, w *record.Writer) int {
				for i := 10; i < 150; i++ {
					write(t, w, unit(media, i, int64(i), time.Duration(i)*frame))
				}
				return 0
			},
			want: []span{{2 * time.Second, 6 * time.Second}},
		},
		{
			name: "decode time jumps back",
			script: func(t *testing.T, w *record.Writer) int {
				for i := range 100 {
					write(t, w, unit(media, i, int64(i), time.Duration(i)*frame))
				}
				for i := range 100 { // the source restarted its clock
					write(t, w, unit(media, i, int64(i), 5*time.Second+time.Duration(i)*frame))
				}
				return 0
			},
			want: []span{{0, 4 * time.Second}, {5 * time.Second, 9 * time.Second}},
		},
		{
			name: "reader attached again on the cached GOP",
			script: func(t *testing.T, w *record.Writer) int {
				for i := range 100 {
					write(t, w, unit(media, i, int64(i), time.Duration(i)*frame))
				}
				for i := 50; i < 150; i++ { // the hub replays from the keyframe at 2 s
					write(t, w, unit(media, i, int64(i), time.Duration(i)*frame))
				}
				return 0
			},
			want: []span{{0, 6 * time.Second}},
		},
		{
			name: "wall clock steps forward",
			script: func(t *testing.T, w *record.Writer) int {
				for i := range 500 { // media continuous; wall +3 s from 10 s on
					off := time.Duration(i) * frame
					if i >= 250 {
						off += 3 * time.Second
					}
					write(t, w, unit(media, i, int64(i), off))
				}
				return 0
			},
			// Wall clock is followed only where a segment starts: the jump
			// at 10 s shows at the next segment.
			want: []span{{0, 10 * time.Second}, {13 * time.Second, 23 * time.Second}},
		},
		{
			name: "append fails",
			fail: 5, // init, three fragments, then the fourth fails
			script: func(t *testing.T, w *record.Writer) int {
				n := 0
				for i := range 250 {
					if err := w.WriteUnit(t.Context(), unit(media, i, int64(i), time.Duration(i)*frame)); err != nil {
						if !errors.Is(err, errDiskFull) {
							t.Errorf("WriteUnit: %v, want disk full", err)
						}
						n++
					}
				}
				return n
			},
			errs: 1,
			// Closed at its last whole fragment; resumed at the keyframe
			// whose flush failed.
			want: []span{{0, 3 * time.Second}, {4 * time.Second, 10 * time.Second}},
		},
		{
			name: "media without parameter sets",
			script: func(t *testing.T, w *record.Writer) int {
				bad := &hub.Media{Tracks: []*hub.Track{{Codec: hub.CodecH264, ClockRate: 90000}}}
				n := 0
				for i := range 100 {
					if err := w.WriteUnit(t.Context(), unit(bad, i, int64(i), time.Duration(i)*frame)); err != nil {
						n++
					}
				}
				for i := 100; i < 200; i++ {
					write(t, w, unit(media, i, int64(i), time.Duration(i)*frame))
				}
				return n
			},
			errs: 1, // reported once, not per unit
			want: []span{{4 * time.Second, 8 * time.Second}},
		},
		{
			name: "only an init before Close",
			script: func(t *testing.T, w *record.Writer) int {
				write(t, w, unit(media, 0, 0, 0))
				return 0
			},
			// One frame: a segment of one frame's duration.
			want: []span{{0, frame}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := &finishStore{failAppend: tt.fail}
			w, err := record.NewWriter(s, "cam-1", record.Options{SegmentDuration: 10 * time.Second})
			if err != nil {
				t.Fatal(err)
			}
			if errs := tt.script(t, w); errs != tt.errs {
				t.Errorf("%d WriteUnit errors, want %d", errs, tt.errs)
			}
			if err := w.Close(t.Context()); err != nil {
				t.Fatalf("Close: %v", err)
			}
			var got []span
			for _, r := range s.finished {
				got = append(got, span{r.Start.Sub(wall0), r.End().Sub(wall0)})
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("segments %v, want %v", got, tt.want)
			}
			if err := w.WriteUnit(t.Context(), unit(media, 0, 1000, 0)); err == nil {
				t.Error("WriteUnit after Close succeeded")
			}
		})
	}
}

func write(t *testing.T, w *record.Writer, u *hub.Unit) {
	t.Helper()
	if err := w.WriteUnit(t.Context(), u); err != nil {
		t.Fatalf("WriteUnit: %v", err)
	}
}
