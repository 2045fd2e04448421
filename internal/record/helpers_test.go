package record_test

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/bluenviron/mediacommon/v2/pkg/codecs/h264"
	"github.com/bluenviron/mediacommon/v2/pkg/codecs/h265"

	"argus/internal/hub"
	"argus/internal/record"
	"argus/internal/segment"
	"argus/internal/segment/fsstore"
	"argus/internal/sim/clips"
)

// clip is an elementary stream split into access units, with the Media
// that describes it.
type clip struct {
	media  *hub.Media
	frames [][][]byte // NAL units of each access unit
	keys   []bool
}

// loadH264 reads one of the simulator's clips. They have one slice per
// frame, so a slice ends an access unit; the SPS and PPS before each IDR
// stay in its access unit, as a camera sends them.
func loadH264(t testing.TB, name string) *clip {
	t.Helper()
	c, ok := clips.Lookup(name)
	if !ok {
		t.Fatalf("no clip %s", name)
	}
	b, err := c.AnnexB()
	if err != nil {
		t.Fatal(err)
	}
	tr := &hub.Track{Codec: hub.CodecH264, ClockRate: 90000, Width: c.Width, Height: c.Height}
	cl := &clip{media: &hub.Media{Tracks: []*hub.Track{tr}}}
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
			cl.frames = append(cl.frames, au)
			cl.keys = append(cl.keys, typ == 5)
			au = nil
		}
	}
	var sps h264.SPS
	if err := sps.Unmarshal(tr.SPS); err != nil || sps.Width() != c.Width || len(cl.frames) != c.Frames {
		t.Fatalf("clip %s: SPS %v, %d frames", name, err, len(cl.frames))
	}
	return cl
}

// loadH265 reads testdata/<name>.h265, made by
//
//	ffmpeg -f lavfi -i testsrc2=size=320x240:rate=25 -t 4 -pix_fmt yuv420p \
//	  -c:v libx265 -crf 40 -x265-params keyint=25:min-keyint=25:bframes=0:scenecut=0:log-level=error \
//	  -f hevc testdata/320x240-gop1.h265
//
// one slice per frame, an IDR every second.
func loadH265(t testing.TB, name string) *clip {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name+".h265"))
	if err != nil {
		t.Fatal(err)
	}
	tr := &hub.Track{Codec: hub.CodecH265, ClockRate: 90000}
	cl := &clip{media: &hub.Media{Tracks: []*hub.Track{tr}}}
	var au [][]byte
	for _, n := range clips.SplitAnnexB(b) {
		typ := (n[0] >> 1) & 0x3f
		switch typ {
		case 32:
			tr.VPS = n
		case 33:
			tr.SPS = n
		case 34:
			tr.PPS = n
		}
		au = append(au, n)
		if typ < 32 {
			cl.frames = append(cl.frames, au)
			cl.keys = append(cl.keys, typ >= 16 && typ <= 23)
			au = nil
		}
	}
	var sps h265.SPS
	if err := sps.Unmarshal(tr.SPS); err != nil {
		t.Fatalf("clip %s: %v", name, err)
	}
	tr.Width, tr.Height = sps.Width(), sps.Height()
	return cl
}

// feeder turns clip frames into units at 25 fps on one continuous clock.
type feeder struct {
	t     testing.TB
	w     *record.Writer
	wall0 time.Time
	n     int64 // frames fed so far
	// stage > 0 calls Stage after every stage frames, as the Manager does
	// after each batch.
	stage int64
}

// feed writes n frames of c (looping) from the feeder's current time.
func (f *feeder) feed(c *clip, n int) {
	f.t.Helper()
	for i := range n {
		k := i % len(c.frames)
		ts := f.n * 3600
		u := &hub.Unit{
			Media: c.media, PTS: ts, DTS: ts,
			Wall: f.wall0.Add(time.Duration(f.n) * 40 * time.Millisecond),
			Key:  c.keys[k], NALUs: c.frames[k],
		}
		if err := f.w.WriteUnit(f.t.Context(), u); err != nil {
			f.t.Fatalf("WriteUnit(frame %d): %v", f.n, err)
		}
		stageAfter(f.t, f.w, f.n, f.stage)
		f.n++
	}
}

// stageAfter calls w.Stage after unit i (counted from 0) when it ends a
// run of every units, as the Manager does after each batch; every ≤ 0
// never stages.
func stageAfter[N int | int64](t testing.TB, w *record.Writer, i, every N) {
	t.Helper()
	if every > 0 && i%every == every-1 {
		if err := w.Stage(t.Context()); err != nil {
			t.Fatalf("Stage after unit %d: %v", i, err)
		}
	}
}

// wall0 is the wall clock of the tests' first frame.
var wall0 = time.Date(2026, 3, 1, 10, 59, 50, 0, time.UTC)

func newStore(t testing.TB, dir string) *fsstore.Store {
	t.Helper()
	s, err := fsstore.Open(dir, fsstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func listAll(t testing.TB, s segment.Store, camera string) []segment.Ref {
	t.Helper()
	refs, err := s.List(t.Context(), camera, time.Unix(0, 0), time.Date(2100, 1, 1, 0, 0, 0, 0, time.UTC))
	if err != nil {
		t.Fatal(err)
	}
	return refs
}

// probe is what ffprobe says about a file.
type probe struct {
	Streams []struct {
		CodecName     string `json:"codec_name"`
		CodecType     string `json:"codec_type"`
		Width         int    `json:"width"`
		Height        int    `json:"height"`
		NbReadFrames  string `json:"nb_read_frames"`
		NbReadPackets string `json:"nb_read_packets"`
	} `json:"streams"`
	Format struct {
		Duration string `json:"duration"`
	} `json:"format"`
}

func ffprobePath(t testing.TB) string {
	t.Helper()
	p, err := exec.LookPath("ffprobe")
	if err != nil {
		if os.Getenv("ARGUS_REQUIRE_TOOLS") == "1" {
			t.Fatalf("ffprobe required: %v", err)
		}
		t.Skip("ffprobe not on PATH")
	}
	return p
}

// ffprobe decodes every frame of file and fails the test on any error
// message.
func ffprobe(t testing.TB, file string) probe {
	t.Helper()
	cmd := exec.CommandContext(t.Context(), ffprobePath(t), "-v", "error", "-count_frames", "-count_packets",
		"-show_streams", "-show_format", "-of", "json", file)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil || stderr.Len() > 0 {
		t.Fatalf("ffprobe %s: %v\n%s", file, err, stderr.Bytes())
	}
	var p probe
	if err := json.Unmarshal(out, &p); err != nil {
		t.Fatalf("ffprobe %s: %v", file, err)
	}
	return p
}

func atoi(t testing.TB, s string) int {
	t.Helper()
	n, err := strconv.Atoi(s)
	if err != nil {
		t.Fatalf("not a number: %q", s)
	}
	return n
}

func segPath(s *fsstore.Store, r segment.Ref) string {
	return filepath.Join(s.Dir(), filepath.FromSlash(r.Path()))
}
