package segment_test

import (
	"bytes"
	"testing"
	"time"

	"github.com/bluenviron/mediacommon/v2/pkg/formats/fmp4"
	"github.com/bluenviron/mediacommon/v2/pkg/formats/fmp4/seekablebuffer"
	"github.com/bluenviron/mediacommon/v2/pkg/formats/mp4/codecs"

	"argus/internal/segment"
)

// videoSegment builds an fMP4 of one H.264 track at 90 kHz and one Opus
// track: fragment i holds 25 frames of 40 ms starting at second i, and
// starts with a keyframe when key[i] is true.
func videoSegment(t *testing.T, key []bool) []byte {
	t.Helper()
	var buf seekablebuffer.Buffer
	init := fmp4.Init{Tracks: []*fmp4.InitTrack{
		{ID: 1, TimeScale: 90000, Codec: &codecs.H264{
			SPS: []byte{0x67, 0x64, 0x00, 0x1f, 0xac, 0xd9, 0x40, 0x50, 0x05, 0xbb, 0x01, 0x10, 0x00, 0x00, 0x03, 0x00, 0x10, 0x00, 0x00, 0x03, 0x03, 0xc0, 0xf1, 0x83, 0x19, 0x60},
			PPS: []byte{0x68, 0xeb, 0xe3, 0xcb, 0x22, 0xc0},
		}},
		{ID: 2, TimeScale: 48000, Codec: &codecs.Opus{ChannelCount: 2}},
	}}
	if err := init.Marshal(&buf); err != nil {
		t.Fatal(err)
	}
	out := bytes.Clone(buf.Bytes())
	for i, k := range key {
		// The audio traf comes first: the primary track is found by its
		// handler, not by its place.
		audio := &fmp4.PartTrack{ID: 2, BaseTime: uint64(i) * 48000}
		audio.Samples = append(audio.Samples, &fmp4.Sample{Duration: 48000, Payload: []byte{0xf8}})
		video := &fmp4.PartTrack{ID: 1, BaseTime: uint64(i) * 90000}
		for j := range 25 {
			video.Samples = append(video.Samples, &fmp4.Sample{Duration: 3600, IsNonSyncSample: j > 0 || !k, Payload: []byte{0, 0, 0, 1, 0x65}})
		}
		var b seekablebuffer.Buffer
		if err := (fmp4.Part{SequenceNumber: uint32(i + 1), Tracks: []*fmp4.PartTrack{audio, video}}).Marshal(&b); err != nil {
			t.Fatal(err)
		}
		out = append(out, b.Bytes()...)
	}
	return out
}

func TestReadLayout(t *testing.T) {
	key := []bool{true, false, true, false}
	file := videoSegment(t, key)
	l, err := segment.ReadLayout(bytes.NewReader(file), int64(len(file)))
	if err != nil {
		t.Fatal(err)
	}
	if len(l.Fragments) != len(key) {
		t.Fatalf("fragments = %d, want %d", len(l.Fragments), len(key))
	}
	if l.Duration != 4*time.Second {
		t.Errorf("duration = %v, want 4s", l.Duration)
	}
	off := l.InitSize
	for i, f := range l.Fragments {
		if f.Index != i || f.Offset != off || f.Start != time.Duration(i)*time.Second || f.End != time.Duration(i+1)*time.Second || f.Key != key[i] {
			t.Errorf("fragment %d = %+v, want start %ds, key %v at offset %d", i, f, i, key[i], off)
		}
		off += f.Size
	}
	if off != int64(len(file)) {
		t.Errorf("fragments end at %d, file at %d", off, len(file))
	}
	for _, tt := range []struct {
		at   time.Duration
		want int
		ok   bool
	}{
		{0, 0, true},
		{1500 * time.Millisecond, 0, true},
		{2 * time.Second, 2, true},
		{10 * time.Second, 2, true},
		{-time.Second, -1, false},
	} {
		if got, ok := l.At(tt.at); got != tt.want || ok != tt.ok {
			t.Errorf("At(%v) = %d, %v; want %d, %v", tt.at, got, ok, tt.want, tt.ok)
		}
	}

	// A torn last fragment is not listed.
	torn := file[:len(file)-3]
	l, err = segment.ReadLayout(bytes.NewReader(torn), int64(len(torn)))
	if err != nil || len(l.Fragments) != len(key)-1 {
		t.Errorf("torn file: %d fragments, %v; want %d", len(l.Fragments), err, len(key)-1)
	}
	if _, err := segment.ReadLayout(bytes.NewReader([]byte("garbage!")), 8); err == nil {
		t.Error("ReadLayout of garbage succeeded")
	}
}
