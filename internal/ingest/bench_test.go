package ingest

import (
	"bytes"
	"testing"

	"github.com/bluenviron/gortsplib/v5/pkg/format"
	"github.com/pion/rtp"

	"argus/internal/hub"
	"argus/internal/sim/clips"
)

// discardSink drops everything.
type discardSink struct{}

func (discardSink) SetMedia(*hub.Media) {}
func (discardSink) WriteUnit(*hub.Unit) {}
func (discardSink) SetOffline(error)    {}

// BenchmarkVideoPath measures the receive path of one frame of the
// simulator's 720p clip padded to 2 Mbit/s (about 9 RTP packets), from RTP
// packets to the Unit handed to the hub: gortsplib's H.264 depacketiser
// plus ingest's checks, timestamps and accounting. gortsplib's own socket
// reading and RTP header parsing are not included.
func BenchmarkVideoPath(b *testing.B) {
	b.Run("gortsplib", func(b *testing.B) { benchVideoPath(b, false) })
	b.Run("tcp", func(b *testing.B) { benchVideoPath(b, true) })
}

// benchVideoPath is BenchmarkVideoPath on gortsplib's depacketiser or, with
// tcp, on the TCP path: the play loop reading interleaved packets from a
// buffer, RTP parsing and argus's own depacketiser.
func benchVideoPath(b *testing.B, tcp bool) {
	cl, _ := clips.Lookup("720p-gop2")
	annexB, err := cl.AnnexB()
	if err != nil {
		b.Fatal(err)
	}
	// One slice per frame: a frame ends at each VCL NAL unit.
	var frames [][][]byte
	var au [][]byte
	var sps, pps []byte
	for _, n := range clips.SplitAnnexB(annexB) {
		switch n[0] & 0x1f {
		case 7:
			sps = n
		case 8:
			pps = n
		}
		au = append(au, n)
		if t := n[0] & 0x1f; t == 1 || t == 5 {
			frames = append(frames, au)
			au = nil
		}
	}
	// Pad each frame to 2 Mbit/s at 25 fps with a filler NAL unit, as the
	// simulator does.
	natural := 0
	for _, f := range frames {
		for _, n := range f {
			natural += len(n)
		}
	}
	filler := make([]byte, max(2_000_000/8/25-natural/len(frames), 2))
	filler[0] = 12
	for i := 1; i < len(filler); i++ {
		filler[i] = 0xff
	}
	f := &format.H264{PayloadTyp: 96, PacketizationMode: 1}
	enc, err := f.CreateEncoder()
	if err != nil {
		b.Fatal(err)
	}
	var pkts [][]*rtp.Packet
	bytesPerFrame, pktsPerFrame := 0, 0
	for _, fr := range frames {
		ps, err := enc.Encode(append(fr, filler))
		if err != nil {
			b.Fatal(err)
		}
		pkts = append(pkts, ps)
		pktsPerFrame += len(ps)
		for _, p := range ps {
			bytesPerFrame += len(p.Payload)
		}
	}
	bytesPerFrame /= len(frames)

	if tcp {
		benchTCP(b, pkts, sps, pps, bytesPerFrame)
		return
	}
	s := fuzzSession(b, hub.CodecH264, nil, sps, pps, discardSink{})
	var ts uint32
	b.SetBytes(int64(bytesPerFrame))
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		ts += 3600
		for _, p := range pkts[i%len(pkts)] {
			p.Timestamp = ts
			s.onVideo(p)
		}
		i++
	}
	if s.video.v.maxPTS == 0 {
		b.Fatal("no unit came out")
	}
	b.ReportMetric(float64(pktsPerFrame)/float64(len(frames)), "pkts/frame")
}

// benchTCP runs the frames' packets, laid out as an interleaved RTSP
// stream, through rtspConn.read and the session's TCP path.
func benchTCP(b *testing.B, pkts [][]*rtp.Packet, sps, pps []byte, bytesPerFrame int) {
	var stream []byte
	var ts uint32
	var seq uint16
	for _, ps := range pkts {
		ts += 3600
		for _, p := range ps {
			p.Timestamp, p.SequenceNumber = ts, seq
			seq++
			raw, err := p.Marshal()
			if err != nil {
				b.Fatal(err)
			}
			stream = append(stream, '$', 0, byte(len(raw)>>8), byte(len(raw)))
			stream = append(stream, raw...)
		}
	}
	s := fuzzSession(b, hub.CodecH264, nil, sps, pps, discardSink{})
	p := s.video.plan
	onPacket := func(_ byte, pkt []byte) { s.onPacket(p, pkt) }
	r := bytes.NewReader(stream)
	rc := &rtspConn{rd: r}
	b.SetBytes(int64(bytesPerFrame))
	b.ReportAllocs()
	frames := 0
	for b.Loop() {
		// One pass over the stream per len(pkts) iterations.
		if frames%len(pkts) == 0 {
			r.Reset(stream)
			rc.carry = rc.carry[:0]
			_ = rc.read(onPacket, nil)
			// Timestamps restart: keep them monotonic for the track.
			s.depack = depacketiser{}
			s.video.v.restart()
		}
		frames++
	}
	if s.video.v.maxPTS == 0 {
		b.Fatal("no unit came out")
	}
}
