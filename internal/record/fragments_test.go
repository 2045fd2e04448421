package record_test

import (
	"context"
	"testing"
	"time"

	"github.com/bluenviron/mediacommon/v2/pkg/formats/fmp4"

	"argus/internal/hub"
	"argus/internal/record"
	"argus/internal/segment"
)

// captureStore keeps every Append of every segment.
type captureStore struct {
	discardStore
	segs []*captureWriter
}

func (s *captureStore) Create(_ context.Context, camera string, start time.Time) (segment.Writer, error) {
	w := &captureWriter{discardWriter: discardWriter{ref: segment.Ref{Camera: camera, Start: start, Partial: true}}}
	s.segs = append(s.segs, w)
	return w, nil
}

type captureWriter struct {
	discardWriter
	appends [][]byte
}

func (w *captureWriter) Append(ctx context.Context, p []byte) error {
	w.appends = append(w.appends, append([]byte(nil), p...))
	return w.discardWriter.Append(ctx, p)
}

// TestFragmentPolicy checks how streams are cut into fragments: each
// Append after the init is exactly one moof and mdat, no fragment is longer
// than FragmentDuration, and none but a segment's last is shorter than half
// of it.
func TestFragmentPolicy(t *testing.T) {
	c := loadH264(t, "360p-gop2")
	vt := c.media.Tracks[0]
	tests := []struct {
		name      string
		track     *hub.Track
		period    int64 // ticks between units
		gop       int   // units per keyframe (video)
		units     int
		fragments []int // per segment
	}{
		{"gop 2 s", vt, 3600, 50, 750, []int{10, 10, 10}},
		{"gop 4 s", vt, 3600, 100, 750, []int{12, 12, 6}},
		// Keyframes every 0.48 s: one fragment per two GOPs.
		{"gop 0.48 s", vt, 3600, 12, 750, []int{11, 11, 11}},
		// All-intra: a fragment per half second, not one per frame.
		{"all intra", vt, 3600, 1, 750, []int{20, 20, 20}},
		{"audio only", &hub.Track{Codec: hub.CodecOpus, ClockRate: 48000, Channels: 1}, 960, 1, 1500, []int{10, 10, 10}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			media := &hub.Media{Tracks: []*hub.Track{tt.track}}
			s := &captureStore{}
			w, err := record.NewWriter(s, "cam-1", record.Options{SegmentDuration: 10 * time.Second})
			if err != nil {
				t.Fatal(err)
			}
			for i := range tt.units {
				ts := int64(i) * tt.period
				u := &hub.Unit{Media: media, PTS: ts, DTS: ts, Wall: wall0, Key: i%tt.gop == 0, Payload: []byte{0xf8}}
				if tt.track.Codec.IsVideo() {
					u.NALUs = [][]byte{{0x41, 1, 2, 3}}
					if u.Key {
						u.NALUs = [][]byte{{0x65, 1, 2, 3}}
					}
				}
				if err := w.WriteUnit(t.Context(), u); err != nil {
					t.Fatal(err)
				}
			}
			if err := w.Close(t.Context()); err != nil {
				t.Fatal(err)
			}
			if len(s.segs) != len(tt.fragments) {
				t.Fatalf("%d segments, want %d", len(s.segs), len(tt.fragments))
			}
			rate := float64(tt.track.ClockRate)
			for i, seg := range s.segs {
				frags := seg.appends[1:]
				if len(frags) != tt.fragments[i] {
					t.Errorf("segment %d: %d fragments, want %d", i, len(frags), tt.fragments[i])
				}
				for j, b := range frags {
					var parts fmp4.Parts
					if err := parts.Unmarshal(b); err != nil || len(parts) != 1 {
						t.Fatalf("segment %d append %d: %d parts, %v; want one fragment", i, j+1, len(parts), err)
					}
					var d uint32
					for _, s := range parts[0].Tracks[0].Samples {
						d += s.Duration
					}
					sec := float64(d) / rate
					if sec > 1 || (sec < 0.5 && j < len(frags)-1) {
						t.Errorf("segment %d fragment %d lasts %.3f s, want 0.5..1 s", i, j, sec)
					}
				}
			}
		})
	}
}
