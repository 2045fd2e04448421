package ingest

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/bluenviron/gortsplib/v5/pkg/description"
	"github.com/bluenviron/gortsplib/v5/pkg/format"
	"github.com/bluenviron/gortsplib/v5/pkg/format/rtph264"
	"github.com/bluenviron/gortsplib/v5/pkg/format/rtph265"
	"github.com/bluenviron/gortsplib/v5/pkg/format/rtpmpeg4audio"

	"argus/internal/hub"
)

// errUnsupportedCodec marks a stream with no track argus carries.
var errUnsupportedCodec = errors.New("no supported codec")

// trackPlan is one track a session sets up: the SDP media and format, the
// hub track it becomes (parameters as in the SDP) and its depacketiser.
type trackPlan struct {
	media  *description.Media
	format format.Format
	track  hub.Track
	h264   *rtph264.Decoder
	h265   *rtph265.Decoder
	aac    *rtpmpeg4audio.Decoder
}

// planTracks picks what to play from a DESCRIBE answer: the first
// supported video format (H.264, H.265) and the first supported audio
// format (AAC, G.711, Opus), in SDP order, back channels excluded. With
// neither, it returns an error wrapping errUnsupportedCodec that names the
// codecs on offer.
func planTracks(desc *description.Session) ([]*trackPlan, error) {
	var plans []*trackPlan
	var haveVideo, haveAudio bool
	var offered []string
	for _, m := range desc.Medias {
		if m.IsBackChannel {
			continue
		}
		for _, f := range m.Formats {
			p := newTrackPlan(m, f)
			if p == nil {
				offered = append(offered, f.Codec())
				continue
			}
			video := p.track.Codec.IsVideo()
			if (video && haveVideo) || (!video && haveAudio) {
				continue
			}
			haveVideo, haveAudio = haveVideo || video, haveAudio || !video
			p.track.ID = len(plans)
			plans = append(plans, p)
			break // one format per media
		}
	}
	if len(plans) == 0 {
		slices.Sort(offered)
		offered = slices.Compact(offered)
		return nil, fmt.Errorf("%w (offered: %s)", errUnsupportedCodec, strings.Join(offered, ", "))
	}
	return plans, nil
}

// newTrackPlan returns the plan for format f of media m, or nil if argus
// does not carry it or its parameters are unusable.
func newTrackPlan(m *description.Media, f format.Format) *trackPlan {
	p := &trackPlan{media: m, format: f, track: hub.Track{ClockRate: f.ClockRate()}}
	var err error
	switch f := f.(type) {
	case *format.H264:
		p.track.Codec = hub.CodecH264
		p.track.SPS, p.track.PPS = f.SPS, f.PPS
		p.h264, err = f.CreateDecoder()
	case *format.H265:
		p.track.Codec = hub.CodecH265
		p.track.VPS, p.track.SPS, p.track.PPS = f.VPS, f.SPS, f.PPS
		p.h265, err = f.CreateDecoder()
	case *format.MPEG4Audio:
		if f.Config == nil {
			return nil
		}
		p.track.Codec = hub.CodecAAC
		p.track.AudioConfig, err = f.Config.Marshal()
		p.track.SampleRate = f.Config.SampleRate
		p.track.Channels = aacChannels(f.Config.ChannelConfig)
		if err == nil {
			p.aac, err = f.CreateDecoder()
		}
	case *format.G711:
		p.track.Codec = hub.CodecPCMA
		if f.MULaw {
			p.track.Codec = hub.CodecPCMU
		}
		p.track.SampleRate, p.track.Channels = f.SampleRate, f.ChannelCount
	case *format.Opus:
		p.track.Codec = hub.CodecOpus
		p.track.SampleRate, p.track.Channels = 48000, f.ChannelCount
	default:
		return nil
	}
	if err != nil || p.track.ClockRate <= 0 {
		return nil
	}
	if p.track.Codec.IsVideo() {
		info, _ := parseSPS(p.track.Codec, p.track.SPS)
		p.track.Width, p.track.Height = info.width, info.height
	}
	return p
}

// aacChannels maps an AAC channelConfiguration to a channel count (0 when
// a program config element defines it).
func aacChannels(cfg uint8) int {
	switch {
	case cfg >= 1 && cfg <= 6:
		return int(cfg)
	case cfg == 7:
		return 8
	}
	return 0
}
