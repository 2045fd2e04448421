package segment_test

import (
	"bytes"
	"encoding/binary"
	"testing"
	"time"

	"github.com/bluenviron/mediacommon/v2/pkg/formats/fmp4"
	"github.com/bluenviron/mediacommon/v2/pkg/formats/fmp4/seekablebuffer"
	"github.com/bluenviron/mediacommon/v2/pkg/formats/mp4/codecs"

	"argus/internal/segment"
	"argus/internal/segment/segmenttest"
)

// audioSegment returns a one-track segment with n one-second fragments and
// the offsets where each fragment ends.
func audioSegment(t testing.TB, n int) ([]byte, []int) {
	b := segmenttest.Init(t)
	ends := []int{len(b)}
	for i := 1; i <= n; i++ {
		b = append(b, segmenttest.Fragment(t, i)...)
		ends = append(ends, len(b))
	}
	return b, ends
}

// avSegment returns a segment whose first track is Opus and second H.264,
// with n fragments of 1 s of video (25 × 3600 ticks at 90 kHz) and 1.2 s of
// audio: the duration must follow the video track.
func avSegment(t testing.TB, n int) []byte {
	var buf seekablebuffer.Buffer
	init := fmp4.Init{Tracks: []*fmp4.InitTrack{
		{ID: 1, TimeScale: 48000, Codec: &codecs.Opus{ChannelCount: 2}},
		{ID: 2, TimeScale: 90000, Codec: &codecs.H264{
			SPS: []byte{0x67, 0x42, 0xc0, 0x1f, 0xd9, 0x00, 0xf0, 0x11, 0x7e, 0xf0, 0x11, 0x00, 0x00, 0x03, 0x00, 0x01, 0x00, 0x00, 0x03, 0x00, 0x30, 0x8f, 0x18, 0x32, 0x48},
			PPS: []byte{0x68, 0xcb, 0x8c, 0xb2},
		}},
	}}
	if err := init.Marshal(&buf); err != nil {
		t.Fatal(err)
	}
	for i := range n {
		a := &fmp4.PartTrack{ID: 1, BaseTime: uint64(i) * 48000}
		for range 60 {
			a.Samples = append(a.Samples, &fmp4.Sample{Duration: 960, Payload: []byte{0xf8}})
		}
		v := &fmp4.PartTrack{ID: 2, BaseTime: uint64(i) * 90000}
		for j := range 25 {
			v.Samples = append(v.Samples, &fmp4.Sample{Duration: 3600, IsNonSyncSample: j > 0, Payload: []byte{0, 0, 0, 1, 0x65}})
		}
		if err := (fmp4.Part{SequenceNumber: uint32(i + 1), Tracks: []*fmp4.PartTrack{a, v}}).Marshal(&buf); err != nil {
			t.Fatal(err)
		}
	}
	return buf.Bytes()
}

func scan(t *testing.T, b []byte) (segment.Scanned, error) {
	t.Helper()
	return segment.Scan(bytes.NewReader(b), int64(len(b)))
}

func TestScanWhole(t *testing.T) {
	audio, ends := audioSegment(t, 3)
	av := avSegment(t, 2)
	tests := []struct {
		name      string
		b         []byte
		fragments int
		duration  time.Duration
	}{
		{"audio only", audio, 3, 3 * time.Second},
		{"video follows the video track", av, 2, 2 * time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := scan(t, tt.b)
			if err != nil {
				t.Fatal(err)
			}
			if s.End != int64(len(tt.b)) || s.Fragments != tt.fragments || s.Duration != tt.duration {
				t.Errorf("Scan = %+v, want End %d, %d fragments, duration %v", s, len(tt.b), tt.fragments, tt.duration)
			}
		})
	}
	if s, _ := scan(t, audio); s.InitSize != int64(ends[0]) {
		t.Errorf("InitSize = %d, want %d", s.InitSize, ends[0])
	}
}

// TestScanTruncated cuts a segment at every byte and checks that Scan keeps
// exactly the fragments that are whole.
func TestScanTruncated(t *testing.T) {
	b, ends := audioSegment(t, 3)
	for n := ends[0]; n <= len(b); n++ {
		s, err := scan(t, b[:n])
		if err != nil {
			t.Fatalf("cut at %d: %v", n, err)
		}
		whole := 0
		for whole+1 < len(ends) && ends[whole+1] <= n {
			whole++
		}
		if s.Fragments != whole || s.End != int64(ends[whole]) || s.Duration != time.Duration(whole)*time.Second {
			t.Fatalf("cut at %d: Scan = %+v, want %d fragments ending at %d", n, s, whole, ends[whole])
		}
	}
	for n := range ends[0] {
		if s, err := scan(t, b[:n]); err == nil {
			t.Fatalf("cut at %d inside the init: Scan = %+v, want an error", n, s)
		}
	}
}

func TestScanCorrupt(t *testing.T) {
	b, ends := audioSegment(t, 3)
	init, second := ends[0], ends[1]
	// patch returns a copy of b with v written at off.
	patch := func(off int, v ...byte) []byte {
		c := bytes.Clone(b)
		copy(c[off:], v)
		return c
	}
	// The trun of fragment 1 is at a fixed place: moof(8) mfhd(16)
	// traf(8) tfhd(16) tfdt(20), then the trun header (8), flags (4),
	// count (4) and data offset (4).
	trun := init + 8 + 16 + 8 + 16 + 20
	dataOffset := trun + 16
	tests := []struct {
		name      string
		b         []byte
		fragments int // -1: Scan fails
	}{
		{"no ftyp", patch(4, 'f', 'r', 'e', 'e'), -1},
		{"moov renamed", patch(int(binary.BigEndian.Uint32(b))+4, 'f', 'r', 'e', 'e'), -1},
		{"moof renamed", patch(init+4, 'f', 'r', 'e', 'e'), 0},
		{"mdat renamed", patch(init+int(binary.BigEndian.Uint32(b[init:]))+4, 'x'), 0},
		{"data offset past the mdat", patch(dataOffset, 0x7f, 0xff, 0xff, 0xff), 0},
		{"negative data offset", patch(dataOffset, 0xff, 0xff, 0xff, 0x00), 0},
		{"sample count too large", patch(trun+12, 0xff, 0xff, 0xff, 0xff), 0},
		{"moof larger than the file", patch(init, 0x7f, 0xff, 0xff, 0xff), 0},
		{"box size below its header", patch(second, 0, 0, 0, 4), 1},
		{"box to end of file", patch(second, 0, 0, 0, 0), 1},
		{"64-bit size past the end", patch(second, 0, 0, 0, 1, 'm', 'o', 'o', 'f', 0xff, 0, 0, 0, 0, 0, 0, 0), 1},
		{"unknown track", patch(init+8+16+8+12, 0, 0, 0, 9), 0},
		{"garbage after the last fragment", append(bytes.Clone(b), "garbage!"...), 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := scan(t, tt.b)
			if tt.fragments < 0 {
				if err == nil {
					t.Errorf("Scan = %+v, want an error", s)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if s.Fragments != tt.fragments || s.End != int64(ends[tt.fragments]) {
				t.Errorf("Scan = %+v, want %d fragments ending at %d", s, tt.fragments, ends[tt.fragments])
			}
		})
	}
}

// FuzzScan feeds Scan arbitrary files. Beyond not panicking or looping, the
// result must describe a prefix of the file that scans the same again: what
// Repair keeps is itself a whole segment.
func FuzzScan(f *testing.F) {
	b, _ := audioSegment(f, 2)
	f.Add(b)
	f.Add(avSegment(f, 2))
	f.Fuzz(func(t *testing.T, b []byte) {
		s, err := scan(t, b)
		if err != nil {
			return
		}
		if s.InitSize <= 0 || s.End < s.InitSize || s.End > int64(len(b)) || s.Fragments < 0 || s.Duration < 0 {
			t.Fatalf("Scan = %+v for %d bytes", s, len(b))
		}
		if s.Fragments == 0 && s.End != s.InitSize {
			t.Fatalf("Scan = %+v: no fragment but End past the init", s)
		}
		again, err := scan(t, b[:s.End])
		if err != nil || again != s {
			t.Fatalf("Scan of the kept prefix = %+v, %v; want %+v", again, err, s)
		}
		// ReadLayout walks the same boxes: its fragments lie inside the
		// kept part, in order, without overlap, each ending after it
		// starts.
		l, err := segment.ReadLayout(bytes.NewReader(b), int64(len(b)))
		if err != nil || l.InitSize != s.InitSize || len(l.Fragments) > s.Fragments {
			t.Fatalf("ReadLayout = %+v, %v; Scan = %+v", l, err, s)
		}
		off := l.InitSize
		for i, fr := range l.Fragments {
			if fr.Offset < off || fr.Size <= 0 || fr.Offset+fr.Size > s.End || fr.End < fr.Start || (i > 0 && fr.Index <= l.Fragments[i-1].Index) {
				t.Fatalf("fragment %d = %+v after offset %d, kept part ends at %d", i, fr, off, s.End)
			}
			off = fr.Offset + fr.Size
		}
	})
}
