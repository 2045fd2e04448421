package sim

import (
	"bytes"
	"encoding/hex"
	"strings"
	"testing"
	"time"

	"argus/internal/sim/clips"
)

// depacketize reverses appendPayloads for one NAL unit.
func depacketize(tb testing.TB, payloads [][]byte) []byte {
	tb.Helper()
	if len(payloads) == 1 && payloads[0][0]&0x1f != naluFUA {
		return payloads[0]
	}
	var out []byte
	for i, p := range payloads {
		if p[0]&0x1f != naluFUA || len(p) > maxPayload {
			tb.Fatalf("payload %d: not an FU-A of at most %d bytes", i, maxPayload)
		}
		start, end := p[1]&0x80 != 0, p[1]&0x40 != 0
		if start != (i == 0) || end != (i == len(payloads)-1) {
			tb.Fatalf("payload %d of %d: start %v end %v", i, len(payloads), start, end)
		}
		if i == 0 {
			out = append(out, p[0]&0xe0|p[1]&0x1f)
		}
		out = append(out, p[2:]...)
	}
	return out
}

func TestClipsLoad(t *testing.T) {
	t.Parallel()
	for _, c := range clips.All() {
		t.Run(c.Name, func(t *testing.T) {
			b, err := c.AnnexB()
			if err != nil {
				t.Fatal(err)
			}
			m, err := newMedia(c, b)
			if err != nil {
				t.Fatal(err)
			}
			for i, f := range m.frames {
				if len(f.vcl) != 1 {
					t.Fatalf("frame %d: %d slices, want 1", i, len(f.vcl))
				}
				if got := depacketize(t, f.payloads); !bytes.Equal(got, f.vcl[0]) {
					t.Fatalf("frame %d: payloads do not reassemble to the slice", i)
				}
			}
			natural := m.naturalBytes * 8 * float64(c.FPS)
			if natural < 50_000 || natural > 2_000_000 {
				t.Errorf("natural bitrate %.0f bit/s is implausible", natural)
			}
			t.Logf("%s: %dx%d, %d frames, GOP %d, %d bytes, %.0f bit/s", c.Name, c.Width, c.Height,
				len(m.frames), c.GOP, len(b), natural)
		})
	}
}

func TestNewMediaRejects(t *testing.T) {
	t.Parallel()
	good, _ := clips.Lookup(clips.Default)
	b, err := good.AnnexB()
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		edit func(*clips.Clip)
		data []byte
		want string
	}{
		{"size", func(c *clips.Clip) { c.Width = 320 }, b, "SPS says 640x360, catalog says 320x360"},
		{"frames", func(c *clips.Clip) { c.Frames = 100 }, b, "200 frames, catalog says 100"},
		{"gop", func(c *clips.Clip) { c.GOP = 100 }, b, "frame 50: IDR is true, want false for a GOP of 100"},
		{"empty", func(*clips.Clip) {}, nil, "no SPS or PPS"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := good
			tt.edit(&c)
			_, err := newMedia(c, tt.data)
			if want := "clip " + good.Name + ": " + tt.want; err == nil || err.Error() != want {
				t.Fatalf("newMedia: %v\nwant: %s", err, want)
			}
		})
	}
}

func TestSplitAnnexB(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		in   string
		want []string
	}{
		{"4-byte start codes", "00000001 6742 00000001 68ce 00000001 6588", []string{"6742", "68ce", "6588"}},
		{"3-byte start codes", "000001 6742 000001 68ce", []string{"6742", "68ce"}},
		{"leading and trailing zeros", "0000 00000001 0601 0000 000001 4101 0000", []string{"0601", "4101"}},
		{"emulation prevented", "000001 06000003010203", []string{"06000003010203"}},
		{"no start code", "6742", nil},
		{"empty units", "000001 000001 0000000001 6588", []string{"6588"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in, _ := hex.DecodeString(strings.ReplaceAll(tt.in, " ", ""))
			var got []string
			for _, n := range clips.SplitAnnexB(in) {
				got = append(got, hex.EncodeToString(n))
			}
			if strings.Join(got, " ") != strings.Join(tt.want, " ") {
				t.Fatalf("splitAnnexB = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestGroupAccessUnits(t *testing.T) {
	t.Parallel()
	// first_mb_in_slice = 0 is a leading 1 bit after the header.
	nalus := []string{
		"6742", "68ce", "0605", "6588", // SPS PPS SEI IDR
		"4188",         // slice, first_mb 0: new AU
		"4188", "4140", // slice first_mb 0, then a second slice of the same picture
		"09f0", "4188", // AUD starts a new AU
		"0c ff80", "4188", // filler stays with its picture; the next slice starts a new AU
	}
	var in [][]byte
	for _, s := range nalus {
		b, _ := hex.DecodeString(strings.ReplaceAll(s, " ", ""))
		in = append(in, b)
	}
	var got []string
	for _, au := range groupAccessUnits(in) {
		var parts []string
		for _, n := range au {
			parts = append(parts, hex.EncodeToString(n))
		}
		got = append(got, strings.Join(parts, ","))
	}
	want := []string{"6742,68ce,0605,6588", "4188", "4188,4140", "09f0,4188,0cff80", "4188"}
	if strings.Join(got, " | ") != strings.Join(want, " | ") {
		t.Fatalf("groupAccessUnits =\n%v\nwant\n%v", got, want)
	}
}

func TestFillerPayloads(t *testing.T) {
	t.Parallel()
	if fillerPayloads(1) != nil || fillerPayloads(-5) != nil {
		t.Fatal("filler for a size below 2")
	}
	for _, size := range []int{2, 10, maxPayload, maxPayload + 1, 10_000} {
		nalu := depacketize(t, fillerPayloads(size))
		if len(nalu) != size || nalu[0] != naluFiller || nalu[size-1] != 0x80 {
			t.Fatalf("size %d: got %d bytes, header %x, last %x", size, len(nalu), nalu[0], nalu[len(nalu)-1])
		}
		if size > 2 && bytes.Count(nalu[1:size-1], []byte{0xff}) != size-2 {
			t.Fatalf("size %d: filler body is not all 0xff", size)
		}
	}
}

func TestFailureActiveAt(t *testing.T) {
	t.Parallel()
	s := time.Second
	tests := []struct {
		f    Failure
		at   time.Duration
		want bool
	}{
		{Failure{After: 10 * s, For: 5 * s, Every: 30 * s}, 9 * s, false},
		{Failure{After: 10 * s, For: 5 * s, Every: 30 * s}, 10 * s, true},
		{Failure{After: 10 * s, For: 5 * s, Every: 30 * s}, 15 * s, false},
		{Failure{After: 10 * s, For: 5 * s, Every: 30 * s}, 41 * s, true},
		{Failure{After: 10 * s, For: 5 * s, Every: 30 * s}, 45 * s, false},
		{Failure{After: 2 * s, For: 30 * s}, 31 * s, true},
		{Failure{After: 2 * s, For: 30 * s}, 62 * s, false},
		{Failure{}, 0, true},
		{Failure{After: s}, 1000 * s, true},
	}
	for _, tt := range tests {
		if got := tt.f.activeAt(tt.at); got != tt.want {
			t.Errorf("%s at %v: %v, want %v", tt.f, tt.at, got, tt.want)
		}
	}
}

// benchCamera returns camera 1 of a server that is not started; its frames
// are built but go nowhere until a reader is added.
func benchCamera(tb testing.TB, cfg Config) *camera {
	tb.Helper()
	cfg.Cameras, cfg.Listen = 1, "127.0.0.1:0"
	s, err := New(cfg)
	if err != nil {
		tb.Fatal(err)
	}
	return s.cams[0]
}

func TestSendFrameDoesNotAllocate(t *testing.T) {
	c := benchCamera(t, Config{Clip: "720p-gop2", Bitrate: 2_000_000, Failures: []Failure{{Camera: 1, Mode: FailGarbage}}})
	drained := addDrainedReader(t, c)
	k := int64(0)
	allocs := testing.AllocsPerRun(500, func() {
		c.sendFrame(k, time.Now(), true)
		k++
	})
	if allocs != 0 {
		t.Fatalf("sendFrame allocates %v times per frame", allocs)
	}
	if len(c.packets) == 0 {
		t.Fatal("no packets built")
	}
	waitFor(t, 5*time.Second, "the reader to receive the frames", func() bool { return drained.Load() > 0 })
}
