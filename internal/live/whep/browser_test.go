package whep_test

import (
	"context"
	"testing"
	"time"

	"argus"
	"argus/internal/hub"
	"argus/internal/live"
)

// h265Source is an H.265 camera as far as its media says (the units are
// never decoded: its browsers get the sub-stream).
func h265Source(ctx context.Context, sink hub.Sink) error {
	m := &hub.Media{Tracks: []*hub.Track{{Codec: hub.CodecH265, ClockRate: 90000, Width: 160, Height: 96}}}
	sink.SetMedia(m)
	tick := time.NewTicker(40 * time.Millisecond)
	defer tick.Stop()
	for n := int64(0); ; n++ {
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C:
		}
		sink.WriteUnit(&hub.Unit{Media: m, PTS: n * 3600, DTS: n * 3600, Wall: time.Now(), Key: n%25 == 0,
			NALUs: [][]byte{{0x26, 0x01, 0xaf}}, Size: 3})
	}
}

func TestH265CameraServedItsSubStream(t *testing.T) {
	sub := synthSource(hub.CodecOpus)
	c := newChainFrom(t, func(ctx context.Context, id string, sink hub.Sink) error {
		if _, suffix := live.SplitStream(id); suffix == live.SubSuffix {
			return sub(ctx, id, sink)
		}
		return h265Source(ctx, sink)
	}, nil)

	t.Run("with a sub-stream", func(t *testing.T) {
		cam := &argus.Camera{ID: camera, OrgID: "police", SubStreamURL: "rtsp://camera.invalid/sub"}
		v := newViewer(t, viewerOptions{})
		answer, id, err := c.whep.Offer(t.Context(), cam, alice, "client", v.offer(true))
		if err != nil {
			t.Fatal(err)
		}
		defer c.whep.Delete(t.Context(), id, alice)
		if src := c.whep.Source(id); src != live.SourceSub {
			t.Errorf("Source = %q, want %q", src, live.SourceSub)
		}
		v.answer(answer)
		v.waitFrame(10*time.Second, "an H.264 keyframe of the sub-stream", 0, func(f frame) bool { return f.key && f.sps })
		if st, ok := c.hub.Stats(camera + live.SubSuffix); !ok || st.Readers != 1 {
			t.Errorf("sub-stream readers = %d (open %v), want 1", st.Readers, ok)
		}
	})
	t.Run("without one and no transcoder", func(t *testing.T) {
		v := newViewer(t, viewerOptions{})
		_, _, err := c.whep.Offer(t.Context(), c.cam, alice, "client", v.offer(true))
		if errCode(err) != argus.EINVALID {
			t.Fatalf("Offer = %v, want EINVALID", err)
		}
	})
}
