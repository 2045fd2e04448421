package record_test

import (
	"context"
	"os"
	"testing"
	"time"

	"argus"
	"argus/internal/hub"
	"argus/internal/record"
	"argus/internal/segment"
)

// TestManagerStagesEachBatch records a camera whose units arrive in real
// time and checks that the recorder writes each batch's data to disk as it
// comes, ahead of its fragment's moof: while recording, the partial segment
// holds data past its last whole fragment (which is what keeps a camera's
// memory to a batch instead of a fragment), and once stopped the finished
// segments play, every frame in place.
func TestManagerStagesEachBatch(t *testing.T) {
	t.Parallel()
	c := loadH264(t, "360p-gop2")
	h, err := hub.New(hub.Config{Source: func(ctx context.Context, _ string, sink hub.Sink) error {
		sink.SetMedia(c.media)
		tick := time.NewTicker(40 * time.Millisecond)
		defer tick.Stop()
		for i := int64(0); ; i++ {
			k := int(i) % len(c.frames)
			sink.WriteUnit(&hub.Unit{Media: c.media, PTS: i * 3600, DTS: i * 3600, Wall: time.Now(), Key: c.keys[k], NALUs: c.frames[k]})
			select {
			case <-ctx.Done():
				return nil
			case <-tick.C:
			}
		}
	}})
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	store := newStore(t, t.TempDir())
	m, err := record.NewManager(record.ManagerConfig{
		Hub:      h,
		Segments: store,
		Cameras:  oneCamera{cam: &argus.Camera{ID: "cam-1", Recording: true}},
		Writer:   record.Options{SegmentDuration: 4 * time.Second},
		// The clip is ~0.5 Mbit/s: stage every batch.
		StageBytes: 1,
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, stop := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- m.Run(ctx) }()

	staged := false
	for deadline := time.Now().Add(15 * time.Second); !staged && time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		for _, r := range listAll(t, store, "cam-1") {
			if !r.Partial {
				continue
			}
			data, err := os.ReadFile(segPath(store, r))
			if err != nil {
				continue // finished in the meantime
			}
			scan, err := segment.Scan(byteReader(data), int64(len(data)))
			staged = err == nil && scan.Fragments > 0 && int64(len(data)) > scan.End
		}
	}
	stop()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if !staged {
		t.Fatal("no partial segment ever held data past its last whole fragment: the recorder keeps whole fragments in memory")
	}
	refs := listAll(t, store, "cam-1")
	want := make([]time.Duration, len(refs))
	sizes := make([][2]int, len(refs))
	for i, r := range refs {
		want[i], sizes[i] = r.Duration, [2]int{640, 360}
		if i < len(refs)-1 && r.Duration != 4*time.Second {
			t.Errorf("segment %d lasts %v, want 4s", i, r.Duration)
		}
	}
	checkSegments(t, store, refs, "h264", want, sizes)
}
