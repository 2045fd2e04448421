package live_test

import (
	"context"
	"errors"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"argus/internal/hub"
	"argus/internal/sim/clips"
)

// h265Clip is testdata/h265-160x96-bframes: 50 frames at 25 fps, a keyframe
// every 25, two B-frames, in decoding order.
type h265Clip struct {
	vps, sps, pps []byte
	frames        []clipFrame
}

type clipFrame struct {
	au       [][]byte
	pts, dts int64
	key      bool
}

func loadH265(tb testing.TB) *h265Clip {
	tb.Helper()
	data, err := os.ReadFile("testdata/h265-160x96-bframes.hevc")
	if err != nil {
		tb.Fatal(err)
	}
	side, err := os.ReadFile("testdata/h265-160x96-bframes.pts")
	if err != nil {
		tb.Fatal(err)
	}
	c := &h265Clip{}
	var aus [][][]byte
	for _, n := range clips.SplitAnnexB(data) {
		switch t := (n[0] >> 1) & 0x3f; {
		case t == 35 || len(aus) == 0: // access unit delimiter
			aus = append(aus, nil)
		case t == 32:
			c.vps = n
		case t == 33:
			c.sps = n
		case t == 34:
			c.pps = n
		}
		aus[len(aus)-1] = append(aus[len(aus)-1], n)
	}
	lines := strings.Fields(string(side))
	if len(lines) != len(aus) {
		tb.Fatalf("%d access units, %d timestamps", len(aus), len(lines))
	}
	var first int64
	for i, l := range lines {
		f := strings.Split(l, ",")
		pts, err1 := strconv.ParseInt(f[0], 10, 64)
		dts, err2 := strconv.ParseInt(f[1], 10, 64)
		if err := errors.Join(err1, err2); err != nil {
			tb.Fatalf("line %d: %v", i+1, err)
		}
		if i == 0 {
			first = dts
		}
		c.frames = append(c.frames, clipFrame{au: aus[i], pts: pts - first, dts: dts - first, key: strings.HasPrefix(f[2], "K")})
	}
	return c
}

// source is a hub source that plays the clip in a loop at 25 fps, as an
// H.265 camera.
func (c *h265Clip) source(ctx context.Context, sink hub.Sink) error {
	m := &hub.Media{Tracks: []*hub.Track{{
		Codec: hub.CodecH265, ClockRate: 90000, VPS: c.vps, SPS: c.sps, PPS: c.pps, Width: 160, Height: 96,
	}}}
	sink.SetMedia(m)
	tick := time.NewTicker(40 * time.Millisecond)
	defer tick.Stop()
	loopLen := int64(len(c.frames)) * 90000 / 25
	for n := 0; ; n++ {
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C:
		}
		f := c.frames[n%len(c.frames)]
		loop := int64(n/len(c.frames)) * loopLen
		size := 0
		for _, nalu := range f.au {
			size += len(nalu)
		}
		sink.WriteUnit(&hub.Unit{Media: m, PTS: f.pts + loop, DTS: f.dts + loop, Wall: time.Now(), Key: f.key, NALUs: f.au, Size: size})
	}
}
