package record_test

import (
	"fmt"
	"math"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/bluenviron/mediacommon/v2/pkg/codecs/mpeg4audio"

	"argus/internal/hub"
	"argus/internal/record"
)

// loadAAC reads testdata/sine-16k.aac (ffmpeg -f lavfi -i
// sine=f=440:r=16000:d=3 -c:a aac -b:a 24k -f adts) into access units and
// the AudioSpecificConfig.
func loadAAC(t *testing.T) ([][]byte, []byte) {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "sine-16k.aac"))
	if err != nil {
		t.Fatal(err)
	}
	var pkts mpeg4audio.ADTSPackets
	if err := pkts.Unmarshal(b); err != nil {
		t.Fatal(err)
	}
	conf, err := (&mpeg4audio.AudioSpecificConfig{Type: pkts[0].Type, SampleRate: pkts[0].SampleRate, ChannelCount: pkts[0].ChannelCount}).Marshal()
	if err != nil {
		t.Fatal(err)
	}
	aus := make([][]byte, len(pkts))
	for i, p := range pkts {
		aus[i] = p.AU
	}
	return aus, conf
}

// audio is an audio track fed alongside the video in TestAudioTracks.
type audio struct {
	track   int
	dur     int64 // ticks per unit
	payload func(i int64) []byte
	next    int64
}

// TestAudioTracks records H.264 with AAC, Opus and both G.711 laws (as
// LPCM) and a track of a codec fMP4 cannot carry, which is left out, with
// fragments appended whole and with their video data staged ahead.
func TestAudioTracks(t *testing.T) {
	t.Parallel()
	video := loadH264(t, "360p-gop2")
	aac, conf := loadAAC(t)
	m := &hub.Media{Tracks: []*hub.Track{
		video.media.Tracks[0],
		{Codec: hub.CodecAAC, ClockRate: 16000, SampleRate: 16000, Channels: 1, AudioConfig: conf},
		{Codec: hub.Codec("g726"), ClockRate: 8000},
		{Codec: hub.CodecOpus, ClockRate: 48000, Channels: 2},
		{Codec: hub.CodecPCMU, ClockRate: 8000, Channels: 1},
		{Codec: hub.CodecPCMA, ClockRate: 8000, Channels: 1},
	}}
	pcm := make([]byte, 160) // 20 ms at 8 kHz
	for i := range pcm {
		pcm[i] = byte(i * 37)
	}
	tracks := []*audio{
		{track: 1, dur: 1024, payload: func(i int64) []byte { return aac[i%int64(len(aac))] }},
		{track: 2, dur: 160, payload: func(int64) []byte { return pcm }},
		{track: 3, dur: 960, payload: func(int64) []byte { return []byte{0xf8} }}, // Opus 20 ms, no data
		{track: 4, dur: 160, payload: func(int64) []byte { return pcm }},
		{track: 5, dur: 160, payload: func(int64) []byte { return pcm }},
	}

	for _, stage := range []int64{0, 6} {
		t.Run(fmt.Sprintf("stage every %d", stage), func(t *testing.T) {
			for _, a := range tracks {
				a.next = 0
			}
			recordAudio(t, m, video, tracks, stage)
		})
	}
}

// recordAudio records 10 s of video with the audio tracks and checks the
// segments in ffprobe; stage > 0 calls Stage after every stage video frames.
func recordAudio(t *testing.T, m *hub.Media, video *clip, tracks []*audio, stage int64) {
	s := newStore(t, t.TempDir())
	w, err := record.NewWriter(s, "cam-1", record.Options{SegmentDuration: 4 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	const frames = 250 // 10 s
	for i := range int64(frames) {
		ts := i * 3600
		u := &hub.Unit{Media: m, PTS: ts, DTS: ts, Wall: wall0.Add(time.Duration(i) * 40 * time.Millisecond),
			Key: video.keys[i%200], NALUs: video.frames[i%200]}
		if err := w.WriteUnit(t.Context(), u); err != nil {
			t.Fatal(err)
		}
		// Audio up to the next video frame, as the hub interleaves it.
		for _, a := range tracks {
			rate := int64(m.Tracks[a.track].ClockRate)
			for ; a.next*a.dur*90000 < (i+1)*3600*rate; a.next++ {
				ts := a.next * a.dur
				u := &hub.Unit{Media: m, Track: a.track, PTS: ts, DTS: ts, Payload: a.payload(a.next)}
				if err := w.WriteUnit(t.Context(), u); err != nil {
					t.Fatal(err)
				}
			}
		}
		stageAfter(t, w, i, stage)
	}
	if err := w.Close(t.Context()); err != nil {
		t.Fatal(err)
	}

	refs := listAll(t, s, "cam-1")
	want := []time.Duration{4 * time.Second, 4 * time.Second, 2 * time.Second}
	if len(refs) != len(want) {
		t.Fatalf("segments %+v, want durations %v", refs, want)
	}
	wantCodecs := []string{"h264", "aac", "opus", "pcm_s16be", "pcm_s16be"}
	frameDur := []float64{0.04, 0.064, 0.02, 0.02, 0.02}
	for i, r := range refs {
		if r.Duration != want[i] {
			t.Errorf("segment %d lasts %v, want %v", i, r.Duration, want[i])
		}
		p := ffprobe(t, segPath(s, r))
		if len(p.Streams) != len(wantCodecs) {
			t.Fatalf("segment %d has %d streams, want %v", i, len(p.Streams), wantCodecs)
		}
		for j, st := range p.Streams {
			if st.CodecName != wantCodecs[j] {
				t.Errorf("segment %d stream %d is %s, want %s", i, j, st.CodecName, wantCodecs[j])
			}
			// Every track covers the segment to within one frame.
			n := atoi(t, st.NbReadPackets)
			if got := float64(n) * frameDur[j]; math.Abs(got-r.Duration.Seconds()) > frameDur[j]+1e-9 {
				t.Errorf("segment %d stream %s: %d packets (%.3f s), segment lasts %v", i, st.CodecName, n, got, r.Duration)
			}
		}
	}
}
