package record_test

import (
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"testing"
	"time"

	"argus"
	"argus/internal/record"
	"argus/internal/segment"
)

// checkSegments checks the finished segments of a recording: each one
// decodes in ffprobe with the codec and size wanted and as many frames as
// its duration holds at 25 fps (±1%), and each starts where the one before
// it ended. want lists the expected durations; sizes the expected picture
// size per segment.
func checkSegments(t *testing.T, s interface{ Dir() string }, refs []segment.Ref, codec string, want []time.Duration, sizes [][2]int) int {
	t.Helper()
	if len(refs) != len(want) {
		t.Fatalf("%d segments %v, want %d with durations %v", len(refs), refs, len(want), want)
	}
	total := 0
	for i, r := range refs {
		if r.Partial {
			t.Errorf("segment %d is partial: %+v", i, r)
		}
		if r.Duration != want[i] {
			t.Errorf("segment %d lasts %v, want %v", i, r.Duration, want[i])
		}
		if i > 0 && !r.Start.Equal(refs[i-1].End()) {
			t.Errorf("segment %d starts at %v, the one before ends at %v", i, r.Start, refs[i-1].End())
		}
		p := ffprobe(t, filepath.Join(s.Dir(), filepath.FromSlash(r.Path())))
		if len(p.Streams) != 1 {
			t.Fatalf("segment %d has %d streams", i, len(p.Streams))
		}
		st := p.Streams[0]
		if st.CodecName != codec || st.Width != sizes[i][0] || st.Height != sizes[i][1] {
			t.Errorf("segment %d is %s %dx%d, want %s %dx%d", i, st.CodecName, st.Width, st.Height, codec, sizes[i][0], sizes[i][1])
		}
		frames := atoi(t, st.NbReadFrames)
		wantFrames := r.Duration.Seconds() * 25
		if math.Abs(float64(frames)-wantFrames) > wantFrames/100 {
			t.Errorf("segment %d: %d frames in %v, want %.0f ±1%%", i, frames, r.Duration, wantFrames)
		}
		total += frames
	}
	return total
}

func TestSegments(t *testing.T) {
	tests := []struct {
		name     string
		clip     string
		frames   int
		segDur   time.Duration
		fragDur  time.Duration
		want     []time.Duration
		wantSize [2]int
		stage    int64 // Stage every this many frames; 0 never
	}{
		// Keyframes every 2 s: segments end exactly at 10 s.
		{"360p gop 2s", "360p-gop2", 25 * 25, 10 * time.Second, 0, []time.Duration{10 * time.Second, 10 * time.Second, 5 * time.Second}, [2]int{640, 360}, 0},
		// Keyframes every 4 s: a segment ends at the first one after 10 s.
		{"360p gop 4s", "360p-gop4", 25 * 25, 10 * time.Second, 0, []time.Duration{12 * time.Second, 12 * time.Second, time.Second}, [2]int{640, 360}, 0},
		{"720p gop 2s, 500 ms fragments", "720p-gop2", 20 * 25, 8 * time.Second, 500 * time.Millisecond, []time.Duration{8 * time.Second, 8 * time.Second, 4 * time.Second}, [2]int{1280, 720}, 0},
		{"H.265 gop 1s", "h265", 10 * 25, 3 * time.Second, 0, []time.Duration{3 * time.Second, 3 * time.Second, 3 * time.Second, time.Second}, [2]int{320, 240}, 0},
		// Data staged every 6 frames (a 250 ms batch), moofs at the end.
		{"360p gop 2s, staged", "360p-gop2", 25 * 25, 10 * time.Second, 0, []time.Duration{10 * time.Second, 10 * time.Second, 5 * time.Second}, [2]int{640, 360}, 6},
		{"H.265 gop 1s, staged", "h265", 10 * 25, 3 * time.Second, 0, []time.Duration{3 * time.Second, 3 * time.Second, 3 * time.Second, time.Second}, [2]int{320, 240}, 6},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c, codec := loadClipFor(t, tt.clip)
			s := newStore(t, t.TempDir())
			w, err := record.NewWriter(s, "cam-1", record.Options{SegmentDuration: tt.segDur, FragmentDuration: tt.fragDur})
			if err != nil {
				t.Fatal(err)
			}
			f := &feeder{t: t, w: w, wall0: wall0, stage: tt.stage}
			f.feed(c, tt.frames)
			if err := w.Close(t.Context()); err != nil {
				t.Fatalf("Close: %v", err)
			}
			refs := listAll(t, s, "cam-1")
			sizes := make([][2]int, len(refs))
			for i := range sizes {
				sizes[i] = tt.wantSize
			}
			if total := checkSegments(t, s, refs, codec, tt.want, sizes); total != tt.frames {
				t.Errorf("%d frames recorded, %d fed", total, tt.frames)
			}
			if len(refs) > 0 && !refs[0].Start.Equal(wall0) {
				t.Errorf("first segment starts at %v, want the first unit's wall clock %v", refs[0].Start, wall0)
			}
		})
	}
}

func loadClipFor(t *testing.T, name string) (*clip, string) {
	if name == "h265" {
		return loadH265(t, "320x240-gop1"), "hevc"
	}
	return loadH264(t, name), "h264"
}

// TestMediaChange switches the stream from 360p to 720p mid-GOP-cycle with
// a new *hub.Media: the 360p segment ends there and a 720p one starts, on
// the same timeline.
func TestMediaChange(t *testing.T) {
	t.Parallel()
	small, large := loadH264(t, "360p-gop2"), loadH264(t, "720p-gop2")
	s := newStore(t, t.TempDir())
	w, err := record.NewWriter(s, "cam-1", record.Options{})
	if err != nil {
		t.Fatal(err)
	}
	f := &feeder{t: t, w: w, wall0: wall0}
	f.feed(small, 150)
	f.feed(large, 150)
	f.feed(small, 100)
	if err := w.Close(t.Context()); err != nil {
		t.Fatal(err)
	}
	refs := listAll(t, s, "cam-1")
	want := []time.Duration{6 * time.Second, 6 * time.Second, 4 * time.Second}
	if total := checkSegments(t, s, refs, "h264", want, [][2]int{{640, 360}, {1280, 720}, {640, 360}}); total != 400 {
		t.Errorf("%d frames recorded, 400 fed", total)
	}
}

// TestCrashRepair stops a recording without Close, as a killed process
// would, copies what is on disk (the page cache survives SIGKILL), tears
// the last write in half, and repairs the copy: the segment plays and has
// lost only the fragment that was in memory and the torn one. A recording
// whose data is staged ahead of each moof (as the Manager writes) has that
// fragment's data on disk past the last whole fragment, and may die in the
// middle of staging it or of writing its moof.
func TestCrashRepair(t *testing.T) {
	t.Parallel()
	c := loadH264(t, "360p-gop2")
	for _, stage := range []int64{0, 6} {
		s := newStore(t, t.TempDir())
		w, err := record.NewWriter(s, "cam-1", record.Options{})
		if err != nil {
			t.Fatal(err)
		}
		f := &feeder{t: t, w: w, wall0: wall0, stage: stage}
		const fed = 262 // 10.48 s: ten 1-s fragments written, 12 frames in the eleventh
		f.feed(c, fed)

		refs := listAll(t, s, "cam-1")
		if len(refs) != 1 || !refs[0].Partial {
			t.Fatalf("segments while recording: %+v, want one partial", refs)
		}
		data, err := os.ReadFile(segPath(s, refs[0]))
		if err != nil {
			t.Fatal(err)
		}
		clean, err := segment.Scan(byteReader(data), int64(len(data)))
		if err != nil || clean.Fragments != 10 {
			t.Fatalf("partial on disk: %+v, %v; want 10 whole fragments", clean, err)
		}
		staged := int64(len(data)) - clean.End
		if (stage == 0) != (staged == 0) {
			t.Fatalf("staging every %d frames left %d bytes past the last whole fragment", stage, staged)
		}
		// A moof torn after 40 bytes: the head of the first fragment's.
		moof := data[clean.InitSize : clean.InitSize+40]

		tests := []struct {
			name string
			tail []byte // appended to the partial file
			at   int64  // where tail goes; -1 at the end
		}{
			{"killed between writes", nil, -1},
			{"killed mid-write", data[clean.InitSize : clean.InitSize+(clean.End-clean.InitSize)/20], -1},
		}
		if stage > 0 {
			tests = append(tests, struct {
				name string
				tail []byte
				at   int64
			}{"killed mid-moof", moof, clean.End})
		}
		for _, tt := range tests {
			t.Run(fmt.Sprintf("stage %d: %s", stage, tt.name), func(t *testing.T) {
				crashed := newStore(t, t.TempDir())
				dst := segPath(crashed, refs[0])
				if err := os.MkdirAll(filepath.Dir(dst), 0o750); err != nil {
					t.Fatal(err)
				}
				file := append([]byte(nil), data...)
				if tt.at < 0 {
					file = append(file, tt.tail...)
				} else {
					copy(file[tt.at:], tt.tail)
				}
				if err := os.WriteFile(dst, file, 0o640); err != nil {
					t.Fatal(err)
				}
				rep, err := crashed.Repair(t.Context())
				if drop := int64(len(file)) - clean.End; err != nil || len(rep) != 1 || rep[0].Removed || rep[0].Dropped != drop {
					t.Fatalf("Repair = %+v, %v; want one segment finished, %d bytes dropped", rep, err, drop)
				}
				after := listAll(t, crashed, "cam-1")
				total := checkSegments(t, crashed, after, "h264", []time.Duration{10 * time.Second}, [][2]int{{640, 360}})
				if total != 250 || fed-total > 25 {
					t.Errorf("%d frames survive of %d fed, want 250 (at most one fragment lost)", total, fed)
				}
			})
		}
	}
}

func TestNewWriterValidates(t *testing.T) {
	s := newStore(t, t.TempDir())
	tests := []struct {
		name   string
		camera string
		opts   record.Options
		field  string
	}{
		{"bad camera", "Cam 1", record.Options{}, "camera"},
		{"segment too short", "cam-1", record.Options{SegmentDuration: 500 * time.Millisecond}, "segment_duration"},
		{"segment too long", "cam-1", record.Options{SegmentDuration: time.Hour}, "segment_duration"},
		{"fragment too short", "cam-1", record.Options{FragmentDuration: time.Millisecond}, "fragment_duration"},
		{"fragment longer than the segment", "cam-1", record.Options{SegmentDuration: 2 * time.Second, FragmentDuration: 3 * time.Second}, "fragment_duration"},
		{"defaults", "cam-1", record.Options{}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := record.NewWriter(s, tt.camera, tt.opts)
			if tt.field == "" {
				if err != nil {
					t.Errorf("NewWriter: %v", err)
				}
				return
			}
			if argus.ErrorCode(err) != argus.EINVALID || argus.ErrorField(err) != tt.field {
				t.Errorf("NewWriter = %v, want EINVALID on field %s", err, tt.field)
			}
		})
	}
}

type byteReader []byte

func (b byteReader) ReadAt(p []byte, off int64) (int, error) {
	if off >= int64(len(b)) {
		return 0, io.EOF
	}
	n := copy(p, b[off:])
	if n < len(p) {
		return n, io.EOF
	}
	return n, nil
}
