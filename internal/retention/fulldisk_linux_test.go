package retention_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"testing/synctest"
	"time"

	"github.com/bluenviron/mediacommon/v2/pkg/formats/fmp4"
	"github.com/bluenviron/mediacommon/v2/pkg/formats/fmp4/seekablebuffer"
	"golang.org/x/sys/unix"

	"argus"
	"argus/internal/retention"
	"argus/internal/segment"
	"argus/internal/segment/fsstore"
	"argus/internal/segment/segmenttest"
)

// bigFragment returns fragment seq of the segment segmenttest.Init starts:
// 25 samples of 1000 bytes, about 25 KB, so a few dozen segments fill a
// 4 MiB disk.
func bigFragment(t *testing.T, seq int) []byte {
	t.Helper()
	pt := &fmp4.PartTrack{ID: 1, BaseTime: uint64(seq-1) * 48000}
	for i := range 25 {
		payload := make([]byte, 1000)
		payload[0], payload[1] = byte(seq), byte(i)
		pt.Samples = append(pt.Samples, &fmp4.Sample{Duration: 1920, Payload: payload})
	}
	var buf seekablebuffer.Buffer
	if err := (fmp4.Part{SequenceNumber: uint32(seq), Tracks: []*fmp4.PartTrack{pt}}).Marshal(&buf); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// TestFullDisk fills a 4 MiB tmpfs with segments through fsstore until a
// write fails for lack of space (fragments appended whole, or staged and
// committed as the recorder writes them), and checks that the failed write
// left a whole segment, that the sweeper frees the disk down to its floor, oldest
// un-held segments first, raising storage.pressure once, and that
// recording works again afterwards.
func TestFullDisk(t *testing.T) {
	mnt := t.TempDir()
	if err := unix.Mount("tmpfs", mnt, "tmpfs", unix.MS_NOSUID|unix.MS_NODEV, "size=4m,mode=0700"); err != nil {
		if errors.Is(err, unix.EPERM) {
			t.Skipf("mounting a tmpfs needs CAP_SYS_ADMIN: %v", err)
		}
		t.Fatalf("mount tmpfs: %v", err)
	}
	t.Cleanup(func() {
		if err := unix.Unmount(mnt, 0); err != nil {
			t.Errorf("unmount %s: %v", mnt, err)
		}
	})

	synctest.Test(t, func(t *testing.T) {
		ctx := t.Context()
		store, err := fsstore.Open(filepath.Join(mnt, "recordings"), fsstore.Options{SyncInterval: -1})
		if err != nil {
			t.Fatal(err)
		}
		init := segmenttest.Init(t)
		frags := make([][]byte, 6)
		for i := range frags {
			frags[i] = bigFragment(t, i+1)
		}
		cams := []string{"cam-a", "cam-b", "cam-c"}
		dir := &directory{cams: map[string]argus.Camera{}, orgs: map[string]argus.Org{}}
		for _, id := range cams {
			dir.cams[id] = argus.Camera{ID: id, OrgID: "city", RetentionDays: 30}
		}
		now := time.Now()
		// cam-a's first two segments are evidence.
		hs := &holds{}
		hold := &argus.Hold{ID: "hold-1", CameraID: "cam-a", From: now.Add(-3 * time.Hour), To: now.Add(-3*time.Hour + 4*time.Minute),
			Reason: "arson", CreatedBy: "investigator"}
		if err := hs.CreateHold(ctx, hold); err != nil {
			t.Fatal(err)
		}

		// Record one-minute segments, a camera after another, two minutes
		// apart, until the disk is full.
		var (
			finished []segment.Ref
			full     segment.Ref // the segment whose append failed
			kept     int         // its fragments that made it
		)
		start := now.Add(-3 * time.Hour)
	fill:
		for i := 0; ; i++ {
			if i > 500 {
				t.Fatal("4 MiB never filled up")
			}
			cam := cams[i%len(cams)]
			w, err := store.Create(ctx, cam, start.Add(time.Duration(i/len(cams))*2*time.Minute))
			if errors.Is(err, syscall.ENOSPC) {
				break // not even room for the name
			} else if err != nil {
				t.Fatalf("Create on a nearly full disk: %v", err)
			}
			end := int64(0)
			for n, p := range append([][]byte{init}, frags...) {
				var err error
				if n%2 == 1 || n == 0 {
					err = w.Append(ctx, p)
				} else {
					// Every other fragment the way the recorder writes
					// it: the media data staged ahead, then the head.
					head, data := segmenttest.Split(t, p)
					err = w.Stage(ctx, end+int64(len(head)), data)
					if err == nil {
						err = w.Commit(ctx, head, end+int64(len(p)))
					}
				}
				end += int64(len(p))
				if err != nil {
					if !errors.Is(err, syscall.ENOSPC) {
						t.Fatalf("Append: %v, want ENOSPC", err)
					}
					full, kept = w.Ref(), n-1
					if kept < 1 {
						if err := w.Abort(ctx); err != nil {
							t.Fatalf("Abort on a full disk: %v", err)
						}
						break fill
					}
					if full, err = w.Finish(ctx, time.Duration(kept)*time.Second); err != nil {
						t.Fatalf("Finish on a full disk: %v", err)
					}
					break fill
				}
			}
			r, err := w.Finish(ctx, time.Minute)
			if err != nil {
				t.Fatalf("Finish: %v", err)
			}
			finished = append(finished, r)
		}
		t.Logf("disk full after %d segments; the last kept %d fragments", len(finished), kept)
		if len(finished) < 10 {
			t.Fatalf("only %d segments fit in 4 MiB", len(finished))
		}
		// The segment whose append failed ends on its last good fragment.
		if kept >= 1 {
			rd, err := store.Open(ctx, full)
			if err != nil {
				t.Fatal(err)
			}
			scan, err := segment.Scan(rd, rd.Size())
			rd.Close()
			if err != nil || scan.Fragments != kept || scan.End != rd.Size() {
				t.Fatalf("segment cut by ENOSPC: scan %+v, %v, size %d; want %d whole fragments and nothing after", scan, err, rd.Size(), kept)
			}
			finished = append(finished, full)
		}

		events := &eventLog{}
		floor, err := retention.ParseFloor("25%")
		if err != nil {
			t.Fatal(err)
		}
		sw, err := retention.New(retention.Config{
			Segments: store, Directory: dir, Holds: hs, Root: mnt, Floor: floor, Interval: time.Minute,
			Events: events.add,
		})
		if err != nil {
			t.Fatal(err)
		}
		runCtx, cancel := context.WithCancel(ctx)
		done := make(chan error, 1)
		go func() { done <- sw.Run(runCtx) }()
		synctest.Wait()

		var st unix.Statfs_t
		if err := unix.Statfs(mnt, &st); err != nil {
			t.Fatal(err)
		}
		free, total := st.Bavail*uint64(st.Bsize), st.Blocks*uint64(st.Bsize)
		if free < total/4 {
			t.Fatalf("free %d of %d after the pass, want at least the floor %d", free, total, total/4)
		}
		pressure := events.of(retention.EventPressure)
		if len(pressure) != 1 || pressure[0].Segments == 0 || pressure[0].Free >= total/4 || pressure[0].FreeAfter < total/4 {
			t.Fatalf("pressure events %+v, want exactly one that freed the disk to its floor", pressure)
		}
		// Deleted: the oldest un-held segments; every held one remains.
		held := func(r segment.Ref) bool { return r.Camera == hold.CameraID && hold.Overlaps(r.Start, r.End()) }
		var deleted, remaining []segment.Ref
		for _, r := range finished {
			if _, err := os.Stat(filepath.Join(store.Dir(), filepath.FromSlash(r.Path()))); err == nil {
				remaining = append(remaining, r)
			} else {
				deleted = append(deleted, r)
			}
		}
		t.Logf("the pass deleted %d segments: %+v", len(deleted), pressure[0])
		if len(deleted) != pressure[0].Segments {
			t.Fatalf("%d segment files went, the event says %d", len(deleted), pressure[0].Segments)
		}
		for _, d := range deleted {
			if held(d) {
				t.Fatalf("held segment %s was deleted", d.Path())
			}
			for _, r := range remaining {
				if !held(r) && d.Start.After(r.Start) {
					t.Fatalf("deleted %s but kept the older %s", d.Path(), r.Path())
				}
			}
		}
		heldLeft := 0
		for _, r := range remaining {
			if held(r) {
				heldLeft++
			}
		}
		if heldLeft != 2 {
			t.Fatalf("%d held segments left, want cam-a's first 2", heldLeft)
		}

		// Recording works again: a whole new segment fits.
		w, err := store.Create(ctx, "cam-b", time.Now())
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range append([][]byte{init}, frags...) {
			if err := w.Append(ctx, p); err != nil {
				t.Fatalf("Append after the sweep: %v", err)
			}
		}
		if _, err := w.Finish(ctx, time.Minute); err != nil {
			t.Fatal(err)
		}

		// The next pass, a minute later, finds the disk above its floor:
		// no second event.
		time.Sleep(time.Minute)
		synctest.Wait()
		if n := len(events.of(retention.EventPressure)); n != 1 {
			t.Fatalf("%d pressure events after the second pass, want still 1", n)
		}
		cancel()
		if err := <-done; !errors.Is(err, context.Canceled) {
			t.Fatalf("Run = %v", err)
		}
	})
}
