package ingest

import (
	"bytes"
	"math"
	"slices"
	"testing"

	"argus/internal/hub"
)

func TestRTPClockUnwrap(t *testing.T) {
	tests := []struct {
		name  string
		start uint32
		steps []int64 // signed increments applied to the 32-bit timestamp
	}{
		{"steady", 1000, []int64{3600, 3600, 3600}},
		{"across the wrap", math.MaxUint32 - 5000, []int64{3600, 3600, 3600, 3600}},
		{"b-frame order across the wrap", math.MaxUint32 - 4000, []int64{10800, -7200, 3600, 10800, -7200}},
		{"a jump of an hour", 0, []int64{3600, 90000 * 3600, 3600}},
		{"backwards", 1 << 31, []int64{3600, -90000, 3600}},
		{"many wraps", 7, func() []int64 {
			s := make([]int64, 0, 5000)
			for range 5000 {
				s = append(s, 1<<30)
			}
			return s
		}()},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var k rtpClock
			k.begin(tt.start, 42)
			ts, want := tt.start, int64(42)
			for i, d := range tt.steps {
				ts += uint32(d)
				want += d
				if got := k.unwrap(ts); got != want {
					t.Fatalf("step %d: unwrap(%d) = %d, want %d", i, ts, got, want)
				}
			}
		})
	}
}

func TestTickConversions(t *testing.T) {
	tests := []struct {
		name string
		ns   int64
		rate int
		want int64
	}{
		{"one second at 90 kHz", 1e9, 90000, 90000},
		{"40 ms at 90 kHz", 40e6, 90000, 3600},
		{"a year at 90 kHz", 365 * 24 * 3600 * 1e9, 90000, 365 * 24 * 3600 * 90000},
		{"a year at 48 kHz", 365 * 24 * 3600 * 1e9, 48000, 365 * 24 * 3600 * 48000},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := nsToTicks(tt.ns, tt.rate); got != tt.want {
				t.Errorf("nsToTicks(%d, %d) = %d, want %d", tt.ns, tt.rate, got, tt.want)
			}
			if got := ticksToNS(tt.want, tt.rate); got != tt.ns {
				t.Errorf("ticksToNS(%d, %d) = %d, want %d", tt.want, tt.rate, got, tt.ns)
			}
		})
	}
}

// testAU is one access unit fed to a videoTrack.
type testAU struct {
	key bool
	pts int64
}

func TestVideoTrackTimeline(t *testing.T) {
	c := loadClip(t, "h264-192x112.h264") // no B-frames: DTS = PTS
	idr, p := c.frames[0].au, c.frames[1].au
	tests := []struct {
		name string
		in   []testAU
		// want lists the PTS of the units that come out; the DTS of each
		// must then equal its PTS.
		want []int64
	}{
		{"starts on the first keyframe", []testAU{{false, 0}, {false, 3600}, {true, 7200}, {false, 10800}}, []int64{7200, 10800}},
		{"no keyframe ever", []testAU{{false, 0}, {false, 3600}, {false, 7200}}, nil},
		{"repeated keyframes", []testAU{{true, 0}, {true, 3600}, {true, 7200}}, []int64{0, 3600, 7200}},
		{"jump forward is kept", []testAU{{true, 0}, {false, 3600}, {false, 900000}, {false, 903600}}, []int64{0, 3600, 900000, 903600}},
		{"jump backward continues the timeline", []testAU{{true, 100000}, {false, 103600}, {false, 5000}, {false, 8600}}, []int64{100000, 103600, 107200, 110800}},
		{"equal timestamps pass", []testAU{{true, 0}, {false, 0}, {false, 3600}}, []int64{0, 0, 3600}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v := newVideoTrack(&hub.Track{Codec: hub.CodecH264, ClockRate: 90000, SPS: c.sps, PPS: c.pps})
			var got []int64
			for _, a := range tt.in {
				au := p
				if a.key {
					au = idr
				}
				out, pts, dts, key, _ := v.accessUnit(au, a.pts)
				if out == nil {
					continue
				}
				if key != a.key || dts != pts {
					t.Errorf("unit at %d: key %v dts %d pts %d", a.pts, key, dts, pts)
				}
				got = append(got, pts)
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("PTS out %v, want %v", got, tt.want)
			}
		})
	}
}

func TestVideoTrackRepairs(t *testing.T) {
	c := loadClip(t, "h264-192x112.h264")
	aud, idrSlice := c.frames[0].au[0], c.frames[0].au[len(c.frames[0].au)-1]
	bad := []byte{0x80 | 5, 1, 2, 3} // forbidden bit set
	tests := []struct {
		name     string
		sdpSPS   []byte
		au       [][]byte
		wantOut  [][]byte
		wantKey  bool
		wantErr  bool
		wantSize int // NAL units out; 0 means dropped
	}{
		{"keyframe without parameter sets gets them", c.sps, [][]byte{aud, idrSlice}, [][]byte{aud, c.sps, c.pps, idrSlice}, true, false, 4},
		{"keyframe with them is untouched", c.sps, c.frames[0].au, c.frames[0].au, true, false, len(c.frames[0].au)},
		{"no parameter sets anywhere", nil, [][]byte{aud, idrSlice}, nil, false, true, 0},
		{"malformed NAL unit dropped", c.sps, [][]byte{aud, bad, idrSlice}, [][]byte{aud, c.sps, c.pps, idrSlice}, true, true, 4},
		{"only malformed NAL units", c.sps, [][]byte{bad, {}}, nil, false, true, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tr := &hub.Track{Codec: hub.CodecH264, ClockRate: 90000, SPS: tt.sdpSPS}
			if tt.sdpSPS != nil {
				tr.PPS = c.pps
			}
			v := newVideoTrack(tr)
			out, _, _, key, err := v.accessUnit(tt.au, 0)
			if (err != nil) != tt.wantErr || key != tt.wantKey || len(out) != tt.wantSize {
				t.Fatalf("accessUnit: %d NAL units, key %v, err %v", len(out), key, err)
			}
			for i := range tt.wantOut {
				if !bytes.Equal(out[i], tt.wantOut[i]) {
					t.Errorf("NAL unit %d: % x, want % x", i, out[i][:min(4, len(out[i]))], tt.wantOut[i][:min(4, len(tt.wantOut[i]))])
				}
			}
		})
	}
}

func TestRedactURL(t *testing.T) {
	tests := []struct {
		in, want string
	}{
		{"rtsp://cam.example:554/stream1", "rtsp://cam.example:554/stream1"},
		{"rtsp://admin:hunter2@cam.example/stream1", "rtsp://cam.example/stream1"},
		{"rtsp://admin@cam.example/s", "rtsp://cam.example/s"},
		{"rtsp://cam.example/s?channel=1&user=admin&password=hunter2", "rtsp://cam.example/s?channel=1&password=%2A%2A%2A&user=%2A%2A%2A"},
		{"rtsp://admin:hunter2@[::1", "(invalid URL)"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			if got := redactURL(tt.in); got != tt.want {
				t.Errorf("redactURL(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}
