package record_test

import (
	"bytes"
	"context"
	"fmt"
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

// captureWriter keeps a segment's bytes, and each Append or Commit as the
// bytes it added to the segment.
type captureWriter struct {
	discardWriter
	appends [][]byte
	file    []byte // the segment, and what was staged past its end
	stages  int
}

func (w *captureWriter) Append(ctx context.Context, p []byte) error {
	w.appends = append(w.appends, append([]byte(nil), p...))
	w.writeAt(p, w.size)
	return w.discardWriter.Append(ctx, p)
}

func (w *captureWriter) Stage(_ context.Context, off int64, p ...[]byte) error {
	if off < w.size {
		return fmt.Errorf("stage at %d, before the end %d", off, w.size)
	}
	w.stages++
	w.writeAt(bytes.Join(p, nil), off)
	return nil
}

func (w *captureWriter) Commit(ctx context.Context, head []byte, end int64) error {
	start := w.size
	w.writeAt(head, start)
	w.writeAt(nil, end)
	w.appends = append(w.appends, append([]byte(nil), w.file[start:end]...))
	return w.discardWriter.Commit(ctx, head, end)
}

func (w *captureWriter) writeAt(p []byte, off int64) {
	if n := int(off) + len(p); n > len(w.file) {
		w.file = append(w.file, make([]byte, n-len(w.file))...)
	}
	copy(w.file[off:], p)
}

// TestFragmentPolicy checks how streams are cut into fragments: each
// Append (or Commit) after the init is exactly one moof and mdat, no
// fragment is longer than FragmentDuration, and none but a segment's last is
// shorter than half of it; and that a Writer whose data is staged every few
// units (as the Manager does after each batch) cuts the same fragments with
// the same samples.
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
			var runs [2][][]*fmp4.Sample // per run, each fragment's samples
			for run, stageEvery := range []int{0, 7} {
				runs[run] = fragmentRun(t, tt.track, tt.period, tt.gop, tt.units, stageEvery, tt.fragments)
			}
			if len(runs[0]) != len(runs[1]) {
				t.Fatalf("%d fragments when staged, %d when not", len(runs[1]), len(runs[0]))
			}
			for i := range runs[0] {
				a, b := runs[0][i], runs[1][i]
				if len(a) != len(b) {
					t.Fatalf("fragment %d: %d samples when staged, %d when not", i, len(b), len(a))
				}
				for j := range a {
					if a[j].Duration != b[j].Duration || a[j].IsNonSyncSample != b[j].IsNonSyncSample || !bytes.Equal(a[j].Payload, b[j].Payload) {
						t.Fatalf("fragment %d sample %d: %+v when staged, %+v when not", i, j, *b[j], *a[j])
					}
				}
			}
		})
	}
}

// fragmentRun records units of track and checks the fragments of each
// segment (see TestFragmentPolicy); stageEvery > 0 calls Stage after every
// stageEvery units. It returns every fragment's samples.
func fragmentRun(t *testing.T, track *hub.Track, period int64, gop, units, stageEvery int, fragments []int) [][]*fmp4.Sample {
	t.Helper()
	media := &hub.Media{Tracks: []*hub.Track{track}}
	s := &captureStore{}
	w, err := record.NewWriter(s, "cam-1", record.Options{SegmentDuration: 10 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	for i := range units {
		ts := int64(i) * period
		u := &hub.Unit{Media: media, PTS: ts, DTS: ts, Wall: wall0, Key: i%gop == 0, Payload: []byte{0xf8, byte(i)}}
		if track.Codec.IsVideo() {
			u.NALUs = [][]byte{{0x41, 1, 2, byte(i)}}
			if u.Key {
				u.NALUs = [][]byte{{0x65, 1, 2, byte(i)}}
			}
		}
		if err := w.WriteUnit(t.Context(), u); err != nil {
			t.Fatal(err)
		}
		stageAfter(t, w, i, stageEvery)
	}
	if err := w.Close(t.Context()); err != nil {
		t.Fatal(err)
	}
	if len(s.segs) != len(fragments) {
		t.Fatalf("stage every %d: %d segments, want %d", stageEvery, len(s.segs), len(fragments))
	}
	rate := float64(track.ClockRate)
	var all [][]*fmp4.Sample
	stages := 0
	for i, seg := range s.segs {
		stages += seg.stages
		frags := seg.appends[1:]
		if len(frags) != fragments[i] {
			t.Errorf("stage every %d: segment %d: %d fragments, want %d", stageEvery, i, len(frags), fragments[i])
		}
		for j, b := range frags {
			var parts fmp4.Parts
			if err := parts.Unmarshal(b); err != nil || len(parts) != 1 {
				t.Fatalf("stage every %d: segment %d append %d: %d parts, %v; want one fragment", stageEvery, i, j+1, len(parts), err)
			}
			var d uint32
			for _, s := range parts[0].Tracks[0].Samples {
				d += s.Duration
			}
			sec := float64(d) / rate
			if sec > 1 || (sec < 0.5 && j < len(frags)-1) {
				t.Errorf("stage every %d: segment %d fragment %d lasts %.3f s, want 0.5..1 s", stageEvery, i, j, sec)
			}
			all = append(all, parts[0].Tracks[0].Samples)
		}
		if !bytes.Equal(seg.file[:seg.size], bytes.Join(seg.appends, nil)) {
			t.Errorf("stage every %d: segment %d's bytes are not its appends laid end to end", stageEvery, i)
		}
	}
	if stageEvery > 0 && stages < units/stageEvery/2 {
		t.Errorf("stage every %d: %d writes were staged, want about %d", stageEvery, stages, units/stageEvery)
	}
	return all
}

// TestStagedFragmentOutgrowsItsRoom feeds a stream with far more samples a
// second than a Writer guesses (100 fps video, and audio at 100 packets a
// second), staging its data every 7 units: the first fragments end early,
// when their moof would outgrow the room left for it, the later ones grow
// to their full second, and every sample's data is where its moof says.
func TestStagedFragmentOutgrowsItsRoom(t *testing.T) {
	media := &hub.Media{Tracks: []*hub.Track{
		loadH264(t, "360p-gop2").media.Tracks[0],
		{Codec: hub.CodecOpus, ClockRate: 48000, Channels: 1},
	}}
	s := &captureStore{}
	w, err := record.NewWriter(s, "cam-1", record.Options{SegmentDuration: 20 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	const units = 1000 // 10 s at 100 fps
	for i := range units {
		ts := int64(i) * 900
		v := &hub.Unit{Media: media, PTS: ts, DTS: ts, Wall: wall0, Key: i%100 == 0, NALUs: [][]byte{{0x41, byte(i), byte(i >> 8)}}}
		if v.Key {
			v.NALUs[0][0] = 0x65
		}
		a := &hub.Unit{Media: media, Track: 1, PTS: int64(i) * 480, DTS: int64(i) * 480, Payload: []byte{0xf8, byte(i), byte(i >> 8)}}
		for _, u := range []*hub.Unit{v, a} {
			if err := w.WriteUnit(t.Context(), u); err != nil {
				t.Fatal(err)
			}
		}
		stageAfter(t, w, i, 7)
	}
	if err := w.Close(t.Context()); err != nil {
		t.Fatal(err)
	}
	if len(s.segs) != 1 {
		t.Fatalf("%d segments, want 1", len(s.segs))
	}
	var next [2]int // the next unit expected per track
	var lasts []int // video samples per fragment
	for j, b := range s.segs[0].appends[1:] {
		var parts fmp4.Parts
		if err := parts.Unmarshal(b); err != nil || len(parts) != 1 {
			t.Fatalf("fragment %d: %d parts, %v; want one", j, len(parts), err)
		}
		for _, pt := range parts[0].Tracks {
			k := int(pt.ID) - 1
			if k == 0 {
				lasts = append(lasts, len(pt.Samples))
			}
			for _, smp := range pt.Samples {
				n := next[k]
				want := []byte{0xf8, byte(n), byte(n >> 8)}
				if k == 0 {
					want = []byte{0, 0, 0, 3, 0x41, byte(n), byte(n >> 8)}
					if n%100 == 0 {
						want[4] = 0x65
					}
				}
				if !bytes.Equal(smp.Payload, want) {
					t.Fatalf("fragment %d track %d: sample %x, want unit %d's %x", j, pt.ID, smp.Payload, n, want)
				}
				next[k]++
			}
		}
	}
	if next != [2]int{units, units} {
		t.Errorf("recorded %v units per track, want %d each", next, units)
	}
	if lasts[0] >= 100 || lasts[len(lasts)-2] != 100 {
		t.Errorf("video samples per fragment %v: want the first cut short by its room, the later ones a full second", lasts)
	}
	t.Logf("video samples per fragment: %v", lasts)
}

// TestUnitsReleasedOnceWritten checks that the Writer gives each recorded
// unit's buffers back (hub.Unit.Release) exactly once, and only once its
// fragment holds a copy of them: the buffer is scribbled on when it is
// given back, as the source reusing it would, and every unit's data must
// still be in the segments as it was.
func TestUnitsReleasedOnceWritten(t *testing.T) {
	media := &hub.Media{Tracks: []*hub.Track{loadH264(t, "360p-gop2").media.Tracks[0]}}
	for _, stage := range []int{0, 7} {
		t.Run(fmt.Sprintf("stage every %d", stage), func(t *testing.T) { releaseRun(t, media, stage) })
	}
}

// releaseRun is TestUnitsReleasedOnceWritten with Stage called after every
// stage units (never for 0).
func releaseRun(t *testing.T, media *hub.Media, stage int) {
	s := &captureStore{}
	w, err := record.NewWriter(s, "cam-1", record.Options{SegmentDuration: 4 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	const units = 250
	released := make([]int, units)
	written := func(marker []byte) bool {
		for _, seg := range s.segs {
			for _, a := range seg.appends {
				if bytes.Contains(a, marker) {
					return true
				}
			}
		}
		return false
	}
	for i := range units {
		ts := int64(i) * 3600
		nalu := []byte{0x41, 0xee, byte(i), byte(i >> 8), 0xee}
		if i%50 == 0 {
			nalu[0] = 0x65
		}
		u := &hub.Unit{Media: media, PTS: ts, DTS: ts, Wall: wall0, Key: i%50 == 0, NALUs: [][]byte{nalu}}
		u.Recycle = func() {
			released[i]++
			copy(nalu, []byte{0x41, 0, 0, 0, 0}) // reused by the source
		}
		if err := w.WriteUnit(t.Context(), u); err != nil {
			t.Fatal(err)
		}
		stageAfter(t, w, i, stage)
	}
	if err := w.Close(t.Context()); err != nil {
		t.Fatal(err)
	}
	for i, n := range released {
		if n != 1 {
			t.Errorf("unit %d released %d times, want once", i, n)
		}
		if !written([]byte{0xee, byte(i), byte(i >> 8), 0xee}) {
			t.Errorf("unit %d's data is not in the segments as it was written", i)
		}
	}
}
