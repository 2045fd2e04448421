package record

import (
	"bytes"
	"encoding/binary"
	"testing"

	"github.com/bluenviron/mediacommon/v2/pkg/codecs/g711"
	"github.com/bluenviron/mediacommon/v2/pkg/formats/fmp4"

	"argus/internal/hub"
)

// TestG711 checks the LPCM decoding of both laws against mediacommon's
// tables for all 256 code words.
func TestG711(t *testing.T) {
	all := make([]byte, 256)
	for i := range all {
		all[i] = byte(i)
	}
	tests := []struct {
		name   string
		decode func(byte) int16
		want   func([]byte) []byte
	}{
		{"mu-law", mulaw, func(b []byte) []byte { var m g711.Mulaw; m.Unmarshal(b); return m }},
		{"A-law", alaw, func(b []byte) []byte { var a g711.Alaw; a.Unmarshal(b); return a }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			want := tt.want(all)
			for i, x := range all {
				if got := uint16(tt.decode(x)); got != binary.BigEndian.Uint16(want[2*i:]) {
					t.Errorf("decode(%#02x) = %#04x, want %#04x", x, got, binary.BigEndian.Uint16(want[2*i:]))
				}
			}
		})
	}
}

// TestFragmentLayout builds a fragment with a video track whose samples
// have composition offsets (B-frames) and non-sync flags and an audio
// track, and reads it back with mediacommon's parser.
func TestFragmentLayout(t *testing.T) {
	sps, aud, idr, p := []byte{0x67, 1, 2}, []byte{0x09, 0xf0}, []byte{0x65, 0xaa, 0xbb}, []byte{0x41, 0xcc}
	video := &fragTrack{id: 1, codec: hub.CodecH264, video: true, base: 7200, samples: []sample{
		{u: &hub.Unit{DTS: 0, PTS: 3600, Key: true, NALUs: [][]byte{aud, sps, idr}}, dur: 3600},
		{u: &hub.Unit{DTS: 3600, PTS: 10800, NALUs: [][]byte{p}}, dur: 3600},
		{u: &hub.Unit{DTS: 7200, PTS: 7200, NALUs: [][]byte{p, {}}}, dur: 3000},
	}}
	audio := &fragTrack{id: 2, codec: hub.CodecPCMU, base: 160, samples: []sample{
		{u: &hub.Unit{Payload: []byte{0xff, 0x00}}, dur: 2},
	}}
	empty := &fragTrack{id: 3, codec: hub.CodecOpus}
	for _, f := range []*fragTrack{video, audio} {
		for i := range f.samples {
			s := &f.samples[i]
			s.size, s.key, s.cto = uint32(sampleSize(f.codec, s.u)), s.u.Key, int32(s.u.PTS-s.u.DTS)
		}
	}
	// The primary track's data goes first in the mdat, whatever its id.
	for _, primary := range []*fragTrack{video, audio} {
		b := appendFragment([]byte("prefix"), 42, []*fragTrack{video, empty, audio}, primary)
		if !bytes.HasPrefix(b, []byte("prefix")) {
			t.Fatal("appendFragment dropped what b held")
		}
		checkFragment(t, b[len("prefix"):], idr, p)
	}
}

func checkFragment(t *testing.T, b []byte, idr, p []byte) {
	t.Helper()
	var parts fmp4.Parts
	if err := parts.Unmarshal(b); err != nil {
		t.Fatalf("mediacommon cannot read the fragment: %v", err)
	}
	if len(parts) != 1 || parts[0].SequenceNumber != 42 || len(parts[0].Tracks) != 2 {
		t.Fatalf("parsed %d parts, sequence %d, %d tracks; want 1, 42, 2 (the empty track left out)",
			len(parts), parts[0].SequenceNumber, len(parts[0].Tracks))
	}
	avcc := func(nalus ...[]byte) []byte {
		var out []byte
		for _, n := range nalus {
			out = binary.BigEndian.AppendUint32(out, uint32(len(n)))
			out = append(out, n...)
		}
		return out
	}
	want := []fmp4.PartTrack{
		{ID: 1, BaseTime: 7200, Samples: []*fmp4.Sample{
			{Duration: 3600, PTSOffset: 3600, Payload: avcc(idr)}, // AUD and SPS left out
			{Duration: 3600, PTSOffset: 7200, IsNonSyncSample: true, Payload: avcc(p)},
			{Duration: 3000, IsNonSyncSample: true, Payload: avcc(p)}, // empty NAL unit left out
		}},
		{ID: 2, BaseTime: 160, Samples: []*fmp4.Sample{
			// µ-law decoded to big-endian LPCM: 0xff is 0, 0x00 is -32124.
			{Duration: 2, Payload: []byte{0x00, 0x00, 0x82, 0x84}},
		}},
	}
	for i, w := range want {
		got := parts[0].Tracks[i]
		if got.ID != w.ID || got.BaseTime != w.BaseTime || len(got.Samples) != len(w.Samples) {
			t.Fatalf("track %d: id %d base %d, %d samples; want %d, %d, %d", i, got.ID, got.BaseTime, len(got.Samples), w.ID, w.BaseTime, len(w.Samples))
		}
		for j, s := range got.Samples {
			ws := w.Samples[j]
			if s.Duration != ws.Duration || s.PTSOffset != ws.PTSOffset || s.IsNonSyncSample != ws.IsNonSyncSample || !bytes.Equal(s.Payload, ws.Payload) {
				t.Errorf("track %d sample %d = %+v, want %+v", i, j, *s, *ws)
			}
		}
	}
}
