package rtspserver

import (
	"bytes"
	"crypto/rand"
	"encoding/binary"
	"fmt"

	"github.com/bluenviron/gortsplib/v5/pkg/description"
	"github.com/bluenviron/gortsplib/v5/pkg/format"
	"github.com/bluenviron/mediacommon/v2/pkg/codecs/mpeg4audio"
	"github.com/pion/rtp"

	"argus/internal/hub"
)

// track is one hub track served as one RTSP media: its SDP format and the
// RTP packetiser that turns the track's units into packets.
type track struct {
	medi  *description.Media
	forma format.Format
	video bool
	// base is the RTP timestamp of PTS 0, random per track as RFC 3550
	// asks.
	base uint32
	// encode packetises one unit; the packets' timestamps are relative to
	// the unit's PTS (0 for the first packet).
	encode func(u *hub.Unit) ([]*rtp.Packet, error)
}

// newTrack returns the RTSP media for hub track t; pt is the dynamic
// payload type to use when the codec has no static one.
func newTrack(t *hub.Track, pt uint8) (*track, error) {
	tr := &track{video: t.Codec.IsVideo()}
	var b [4]byte
	_, _ = rand.Read(b[:]) // never fails since Go 1.24
	tr.base = binary.BigEndian.Uint32(b[:])
	mediaType := description.MediaTypeAudio
	if tr.video {
		mediaType = description.MediaTypeVideo
	}

	switch t.Codec {
	case hub.CodecH264:
		f := &format.H264{PayloadTyp: pt, PacketizationMode: 1, SPS: t.SPS, PPS: t.PPS}
		enc, err := f.CreateEncoder()
		if err != nil {
			return nil, err
		}
		tr.forma, tr.encode = f, func(u *hub.Unit) ([]*rtp.Packet, error) { return enc.Encode(u.NALUs) }

	case hub.CodecH265:
		f := &format.H265{PayloadTyp: pt, VPS: t.VPS, SPS: t.SPS, PPS: t.PPS}
		enc, err := f.CreateEncoder()
		if err != nil {
			return nil, err
		}
		tr.forma, tr.encode = f, func(u *hub.Unit) ([]*rtp.Packet, error) { return enc.Encode(u.NALUs) }

	case hub.CodecAAC:
		var conf mpeg4audio.AudioSpecificConfig
		if err := conf.Unmarshal(t.AudioConfig); err != nil {
			return nil, fmt.Errorf("aac config: %w", err)
		}
		f := &format.MPEG4Audio{
			PayloadTyp: pt, ProfileLevelID: 1, Config: &conf,
			SizeLength: 13, IndexLength: 3, IndexDeltaLength: 3, // RFC 3640 AAC-hbr
		}
		enc, err := f.CreateEncoder()
		if err != nil {
			return nil, err
		}
		tr.forma, tr.encode = f, func(u *hub.Unit) ([]*rtp.Packet, error) { return enc.Encode([][]byte{u.Payload}) }

	case hub.CodecPCMU, hub.CodecPCMA:
		rate, channels := t.SampleRate, t.Channels
		if rate == 0 {
			rate = 8000
		}
		if channels == 0 {
			channels = 1
		}
		mulaw := t.Codec == hub.CodecPCMU
		if rate == 8000 && channels == 1 {
			pt = 8 // RFC 3551 static types: 0 PCMU, 8 PCMA
			if mulaw {
				pt = 0
			}
		}
		f := &format.G711{PayloadTyp: pt, MULaw: mulaw, SampleRate: rate, ChannelCount: channels}
		enc, err := f.CreateEncoder()
		if err != nil {
			return nil, err
		}
		tr.forma, tr.encode = f, func(u *hub.Unit) ([]*rtp.Packet, error) { return enc.Encode(u.Payload) }

	case hub.CodecOpus:
		channels := t.Channels
		if channels == 0 {
			channels = 2
		}
		f := &format.Opus{PayloadTyp: pt, ChannelCount: channels}
		enc, err := f.CreateEncoder()
		if err != nil {
			return nil, err
		}
		tr.forma, tr.encode = f, func(u *hub.Unit) ([]*rtp.Packet, error) {
			p, err := enc.Encode(u.Payload)
			return []*rtp.Packet{p}, err
		}

	default:
		return nil, fmt.Errorf("codec %q cannot be served over rtsp", t.Codec)
	}
	tr.medi = &description.Media{Type: mediaType, Formats: []format.Format{tr.forma}}
	return tr, nil
}

// setParams updates a video track's parameter sets (carried in band too)
// for later DESCRIBE answers; it reports whether they changed.
func (tr *track) setParams(t *hub.Track) bool {
	switch f := tr.forma.(type) {
	case *format.H264:
		sps, pps := f.SafeParams()
		if bytes.Equal(sps, t.SPS) && bytes.Equal(pps, t.PPS) {
			return false
		}
		f.SafeSetParams(t.SPS, t.PPS)
	case *format.H265:
		vps, sps, pps := f.SafeParams()
		if bytes.Equal(vps, t.VPS) && bytes.Equal(sps, t.SPS) && bytes.Equal(pps, t.PPS) {
			return false
		}
		f.SafeSetParams(t.VPS, t.SPS, t.PPS)
	default:
		return false
	}
	return true
}

// compatible reports whether units of b can go on in a stream described
// for a: the same tracks with the same codecs and audio parameters. Video
// parameter sets may differ, since they travel in band before keyframes.
func compatible(a, b *hub.Media) bool {
	if len(a.Tracks) != len(b.Tracks) {
		return false
	}
	for i, x := range a.Tracks {
		y := b.Tracks[i]
		if x.Codec != y.Codec || x.ClockRate != y.ClockRate {
			return false
		}
		if !x.Codec.IsVideo() &&
			(x.SampleRate != y.SampleRate || x.Channels != y.Channels || !bytes.Equal(x.AudioConfig, y.AudioConfig)) {
			return false
		}
	}
	return true
}
