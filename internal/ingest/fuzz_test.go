package ingest

import (
	"bytes"
	"errors"
	"io"
	"log/slog"
	"net"
	"testing"
	"time"

	"github.com/bluenviron/gortsplib/v5/pkg/description"
	"github.com/bluenviron/gortsplib/v5/pkg/format"
	"github.com/bluenviron/gortsplib/v5/pkg/format/rtph264"
	"github.com/bluenviron/gortsplib/v5/pkg/sdpunmarshaler"
	"github.com/pion/rtp"

	"argus/internal/hub"
)

// FuzzSDP feeds DESCRIBE bodies through gortsplib's SDP parser and the
// track selection: whatever the camera sends, planTracks picks at most one
// video and one audio track with working depacketisers, or reports an
// unsupported codec.
func FuzzSDP(f *testing.F) {
	f.Fuzz(func(t *testing.T, data []byte) {
		sd, err := sdpunmarshaler.Unmarshal(data)
		if err != nil {
			return
		}
		var desc description.Session
		if err := desc.Unmarshal2(sd); err != nil {
			return
		}
		plans, err := planTracks(&desc)
		if err != nil {
			if !errors.Is(err, errUnsupportedCodec) {
				t.Fatalf("planTracks: %v", err)
			}
			return
		}
		var video, audio int
		for i, p := range plans {
			tr := p.track
			if tr.ID != i || tr.ClockRate <= 0 || tr.Width < 0 || tr.Height < 0 {
				t.Fatalf("track %d: %+v", i, tr)
			}
			switch tr.Codec {
			case hub.CodecH264:
				video++
				if p.h264 == nil {
					t.Fatal("H.264 track without a depacketiser")
				}
			case hub.CodecH265:
				video++
				if p.h265 == nil {
					t.Fatal("H.265 track without a depacketiser")
				}
			case hub.CodecAAC:
				audio++
				if p.aac == nil || len(tr.AudioConfig) == 0 {
					t.Fatal("AAC track without a depacketiser or config")
				}
			case hub.CodecPCMU, hub.CodecPCMA, hub.CodecOpus:
				audio++
			default:
				t.Fatalf("track %d: codec %q", i, tr.Codec)
			}
			if p.media == nil || p.format == nil || p.media.IsBackChannel {
				t.Fatalf("track %d: media %v format %v", i, p.media, p.format)
			}
			if tr.Codec.IsVideo() {
				newVideoTrack(&tr) // must not panic on any parameter sets
			}
		}
		if video > 1 || audio > 1 {
			t.Fatalf("%d video and %d audio tracks", video, audio)
		}
	})
}

// FuzzSPS parses arbitrary bytes as H.264 and H.265 sequence parameter
// sets.
func FuzzSPS(f *testing.F) {
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, c := range []hub.Codec{hub.CodecH264, hub.CodecH265} {
			info, err := parseSPS(c, data)
			if err == nil && (info.width < 0 || info.height < 0) {
				t.Fatalf("%s: %+v", c, info)
			}
		}
	})
}

// fuzzSession returns a session with one video track of codec, parameter
// sets from the SDP when given, writing into sink.
func fuzzSession(tb testing.TB, codec hub.Codec, vps, sps, pps []byte, sink Sink) *session {
	tb.Helper()
	met, err := newMetrics(nil)
	if err != nil {
		tb.Fatal(err)
	}
	in := &Ingest{now: time.Now, met: met, log: slog.New(slog.DiscardHandler)}
	in.cfg.StallTimeout = time.Hour
	c := &camera{id: "fuzz", in: in, log: in.log, epoch: time.Now()}
	var f format.Format = &format.H264{PayloadTyp: 96, PacketizationMode: 1, SPS: sps, PPS: pps}
	if codec == hub.CodecH265 {
		f = &format.H265{PayloadTyp: 96, VPS: vps, SPS: sps, PPS: pps}
	}
	p := newTrackPlan(&description.Media{Type: description.MediaTypeVideo, Formats: []format.Format{f}}, f)
	if p == nil {
		tb.Fatal("no plan for the video format")
	}
	s := &session{in: in, c: c, sink: sink, plans: []*trackPlan{p}}
	s.video = &videoIn{plan: p, v: newVideoTrack(&p.track)}
	return s
}

// FuzzVideoRTP feeds RTP packets through the video path: depacketiser,
// NAL unit checks, parameter sets, keyframe gating and timestamps. The
// input's first byte picks the codec (bit 0: H.265), whether the SDP
// carries the test clip's parameter sets (bit 1) and the path (bit 2: the
// TCP path's RTP parser and depacketiser, else gortsplib's); then come
// packets, each
// a flags byte (bit 0: marker; bits 1-2: timestamp step of 0, +3600,
// -3600 or +2^31), a length byte and the payload.
func FuzzVideoRTP(f *testing.F) {
	h264 := loadClip(f, "h264-160x96-bframes.h264")
	h265 := loadClip(f, "h265-160x96-bframes.hevc")
	f.Fuzz(func(t *testing.T, data []byte) { fuzzVideoRTP(t, h264, h265, data) })
}

// fuzzVideoRTP is the body of FuzzVideoRTP.
func fuzzVideoRTP(t *testing.T, h264, h265 *clip, data []byte) {
	if len(data) == 0 {
		return
	}
	codec, c := hub.CodecH264, h264
	if data[0]&1 != 0 {
		codec, c = hub.CodecH265, h265
	}
	var vps, sps, pps []byte
	if data[0]&2 != 0 {
		vps, sps, pps = c.vps, c.sps, c.pps
	}
	tcp := data[0]&4 != 0
	sink := &recSink{}
	s := fuzzSession(t, codec, vps, sps, pps, sink)
	ts, seq := uint32(0xffff0000), uint16(0xfff0)
	steps := [4]uint32{0, 3600, ^uint32(3600) + 1, 1 << 31}
	for rest := data[1:]; len(rest) >= 2; {
		flags, n := rest[0], int(rest[1])
		rest = rest[2:]
		n = min(n, len(rest))
		ts += steps[flags>>1&3]
		pkt := &rtp.Packet{
			Header:  rtp.Header{Version: 2, PayloadType: 96, Marker: flags&1 != 0, Timestamp: ts, SequenceNumber: seq},
			Payload: rest[:n],
		}
		if tcp {
			raw, err := pkt.Marshal()
			if err != nil {
				t.Fatal(err)
			}
			s.onPacket(s.video.plan, raw)
		} else {
			s.onVideo(pkt)
		}
		rest = rest[n:]
		seq++
	}
	checkUnits(t, codec, sink)
}

// FuzzPlayLoop feeds a byte stream to the TCP client's play loop, as a
// hostile camera would send it after PLAY: interleaved packets (channel 0
// is the video track), RTSP messages and garbage. The input's first byte
// picks the codec (bit 0: H.265). The loop must end with the stream and
// deliver only well-formed units.
func FuzzPlayLoop(f *testing.F) {
	h264 := loadClip(f, "h264-160x96-bframes.h264")
	var seed []byte
	seed = append(seed, 0)
	var seq uint16
	for i, fr := range h264.frames[:8] {
		e := &rtph264.Encoder{PayloadType: 96, PayloadMaxSize: 200, PacketizationMode: 1}
		if err := e.Init(); err != nil {
			f.Fatal(err)
		}
		pkts, err := e.Encode(fr.au)
		if err != nil {
			f.Fatal(err)
		}
		for _, p := range pkts {
			p.Timestamp, p.SequenceNumber = uint32(i*3600), seq
			seq++
			raw, _ := p.Marshal()
			seed = append(seed, '$', 0, byte(len(raw)>>8), byte(len(raw)))
			seed = append(seed, raw...)
		}
		if i == 3 {
			seed = append(seed, "RTSP/1.0 200 OK\r\nCSeq: 7\r\n\r\nGET_PARAMETER rtsp://x/ RTSP/1.0\r\nCSeq: 2\r\n\r\n\x00\xff"...)
		}
	}
	f.Add(seed)
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) == 0 {
			return
		}
		codec, sps, pps := hub.CodecH264, h264.sps, h264.pps
		if data[0]&1 != 0 {
			codec, sps, pps = hub.CodecH265, nil, nil
		}
		sink := &recSink{}
		s := fuzzSession(t, codec, nil, sps, pps, sink)
		client, camera := net.Pipe()
		go func() { _, _ = io.Copy(io.Discard, camera) }()
		defer client.Close()
		rc := &rtspConn{nc: client, rd: bytes.NewReader(data[1:]), timeout: time.Second}
		err := rc.read(func(ch byte, pkt []byte) {
			if ch == 0 {
				s.onPacket(s.video.plan, pkt)
			}
		}, nil)
		if err == nil {
			t.Fatal("the play loop ended without an error")
		}
		checkUnits(t, codec, sink)
	})
}

// checkUnits checks what a fuzzed session wrote: well-formed NAL units,
// sizes that add up, a keyframe first with the track's parameter sets,
// monotonic decode times and no Media published twice in a row.
func checkUnits(t *testing.T, codec hub.Codec, sink *recSink) {
	t.Helper()
	medias, units, _ := sink.snapshot()
	for i, u := range units {
		tr := u.Media.Tracks[u.Track]
		size := 0
		for _, n := range u.NALUs {
			if naluKindOf(codec, n) == naluBad {
				t.Fatalf("unit %d: malformed NAL unit % x", i, n)
			}
			size += len(n)
		}
		if size != u.Size || len(u.NALUs) == 0 {
			t.Fatalf("unit %d: Size %d of %d bytes in %d NAL units", i, u.Size, size, len(u.NALUs))
		}
		if i == 0 && !u.Key {
			t.Fatal("first unit is not a keyframe")
		}
		if u.Key && !hasParams(codec, u.NALUs, tr) {
			t.Fatalf("unit %d: keyframe without the track's parameter sets", i)
		}
		if i > 0 && u.DTS < units[i-1].DTS {
			t.Fatalf("unit %d: DTS %d before %d", i, u.DTS, units[i-1].DTS)
		}
	}
	for i := 1; i < len(medias); i++ {
		if medias[i] == medias[i-1] {
			t.Fatalf("Media %d published twice in a row", i)
		}
	}
}

// hasParams reports whether au carries tr's parameter sets.
func hasParams(codec hub.Codec, au [][]byte, tr *hub.Track) bool {
	want := [][]byte{tr.SPS, tr.PPS}
	if codec == hub.CodecH265 {
		want = append(want, tr.VPS)
	}
	for _, w := range want {
		found := false
		for _, n := range au {
			found = found || (len(w) > 0 && bytes.Equal(n, w))
		}
		if !found {
			return false
		}
	}
	return true
}
