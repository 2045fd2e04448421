// Package synth writes recordings without a camera: a simulator clip laid
// out on a virtual clock and written through record.Writer, so that tests
// and benchmarks of playback and export get real segment files (the same
// bytes a recorder writes) for any span of time in a fraction of it.
package synth

import (
	"context"
	"fmt"
	"time"

	"argus/internal/hub"
	"argus/internal/record"
	"argus/internal/segment"
	"argus/internal/sim/clips"
)

// Clip is a simulator clip split into access units.
type Clip struct {
	media  *hub.Media
	frames [][][]byte
	keys   []bool
	// Frame is the time between frames.
	Frame time.Duration
	// GOP is the time between keyframes.
	GOP time.Duration
}

// Load reads the simulator clip called name (see package clips).
func Load(name string) (*Clip, error) {
	info, ok := clips.Lookup(name)
	if !ok {
		return nil, fmt.Errorf("synth: no clip %q", name)
	}
	b, err := info.AnnexB()
	if err != nil {
		return nil, fmt.Errorf("synth: %w", err)
	}
	tr := &hub.Track{Codec: hub.CodecH264, ClockRate: 90000, Width: info.Width, Height: info.Height}
	c := &Clip{
		media: &hub.Media{Tracks: []*hub.Track{tr}},
		Frame: time.Second / time.Duration(info.FPS),
		GOP:   info.GOPDuration(),
	}
	var au [][]byte
	for _, n := range clips.SplitAnnexB(b) {
		switch typ := n[0] & 0x1f; typ {
		case 7:
			tr.SPS = n
		case 8:
			tr.PPS = n
		}
		au = append(au, n)
		if typ := n[0] & 0x1f; typ == 1 || typ == 5 {
			c.frames = append(c.frames, au)
			c.keys = append(c.keys, typ == 5)
			au = nil
		}
	}
	if len(c.frames) == 0 || !c.keys[0] || tr.SPS == nil || tr.PPS == nil {
		return nil, fmt.Errorf("synth: clip %q does not start with a keyframe and its parameter sets", name)
	}
	return c, nil
}

// Record writes d of the clip, looped, as camera's recording from start:
// frames at the clip's rate on one continuous clock, through a
// record.Writer with opts into store. It returns the number of frames
// written. Runs recorded at different times of one camera are separate
// recordings: the gap between them is a gap in the timeline.
func Record(ctx context.Context, store segment.Store, camera string, c *Clip, start time.Time, d time.Duration, opts record.Options) (int, error) {
	w, err := record.NewWriter(store, camera, opts)
	if err != nil {
		return 0, err
	}
	n := int(d / c.Frame)
	if err := Frames(ctx, w, c, start, 0, n); err != nil {
		w.Close(ctx)
		return 0, err
	}
	if err := w.Close(ctx); err != nil {
		return n, fmt.Errorf("synth: close: %w", err)
	}
	return n, nil
}

// Frames writes frames first..first+n-1 of the clip, looped, into w: frame
// i has decode time i frames after start, on one continuous clock, so that
// successive calls continue one recording. It leaves w open: a segment in
// progress stays partial until w is closed.
func Frames(ctx context.Context, w *record.Writer, c *Clip, start time.Time, first, n int) error {
	rate := int64(c.media.Tracks[0].ClockRate)
	step := int64(c.Frame) * rate / int64(time.Second)
	for i := first; i < first+n; i++ {
		k := i % len(c.frames)
		ts := int64(i) * step
		u := &hub.Unit{
			Media: c.media, PTS: ts, DTS: ts,
			Wall: start.Add(time.Duration(i) * c.Frame),
			Key:  c.keys[k], NALUs: c.frames[k],
		}
		for _, nalu := range u.NALUs {
			u.Size += len(nalu)
		}
		if err := w.WriteUnit(ctx, u); err != nil {
			return fmt.Errorf("synth: frame %d: %w", i, err)
		}
	}
	return nil
}
