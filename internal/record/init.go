package record

import (
	"errors"
	"fmt"

	"github.com/bluenviron/mediacommon/v2/pkg/codecs/mpeg4audio"
	"github.com/bluenviron/mediacommon/v2/pkg/formats/fmp4"
	"github.com/bluenviron/mediacommon/v2/pkg/formats/fmp4/seekablebuffer"
	"github.com/bluenviron/mediacommon/v2/pkg/formats/mp4/codecs"

	"argus/internal/hub"
)

// layout is how the tracks of one *hub.Media are muxed: which of them go
// into the segments, under which fMP4 track ids, and the init (ftyp and
// moov) that starts every segment of this Media.
type layout struct {
	// ids maps a Media track index to its fMP4 track id; 0 for a track
	// that is not recorded.
	ids []uint32
	// primary is the Media track index whose keyframes cut segments and
	// whose timestamps give their duration: the first video track, else the
	// first recorded audio track.
	primary int
	init    []byte
	// skipped lists the tracks left out and why, for the log.
	skipped []string
}

// errNothingToRecord is returned for a Media without a track that fMP4 can
// carry.
var errNothingToRecord = errors.New("no track that can be recorded")

// newLayout builds the layout of m. Video tracks that cannot be muxed (no or
// bad parameter sets) fail the whole Media: recording its audio alone would
// hide the fault. Audio tracks that cannot be muxed are skipped.
func newLayout(m *hub.Media) (*layout, error) {
	l := &layout{ids: make([]uint32, len(m.Tracks)), primary: -1}
	var init fmp4.Init
	for i, t := range m.Tracks {
		c, err := mp4Codec(t)
		if err != nil {
			if t.Codec.IsVideo() {
				return nil, fmt.Errorf("track %d (%s): %w", i, t.Codec, err)
			}
			l.skipped = append(l.skipped, fmt.Sprintf("track %d (%s): %v", i, t.Codec, err))
			continue
		}
		id := uint32(len(init.Tracks) + 1)
		init.Tracks = append(init.Tracks, &fmp4.InitTrack{ID: int(id), TimeScale: uint32(t.ClockRate), Codec: c})
		l.ids[i] = id
		if l.primary < 0 || (t.Codec.IsVideo() && !m.Tracks[l.primary].Codec.IsVideo()) {
			l.primary = i
		}
	}
	if l.primary < 0 {
		return nil, errNothingToRecord
	}
	var buf seekablebuffer.Buffer
	if err := init.Marshal(&buf); err != nil {
		return nil, fmt.Errorf("marshal init: %w", err)
	}
	l.init = buf.Bytes()
	return l, nil
}

// mp4Codec maps a hub track to the fMP4 sample entry that carries it. G.711
// has no MP4 sample entry: it is recorded as 16-bit big-endian LPCM
// ('ipcm'), decoded sample by sample as it is written.
func mp4Codec(t *hub.Track) (codecs.Codec, error) {
	if t.ClockRate <= 0 {
		return nil, fmt.Errorf("clock rate %d", t.ClockRate)
	}
	channels := max(t.Channels, 1)
	switch t.Codec {
	case hub.CodecH264:
		if len(t.SPS) == 0 || len(t.PPS) == 0 {
			return nil, errors.New("no SPS or PPS")
		}
		return &codecs.H264{SPS: t.SPS, PPS: t.PPS}, nil
	case hub.CodecH265:
		if len(t.VPS) == 0 || len(t.SPS) == 0 || len(t.PPS) == 0 {
			return nil, errors.New("no VPS, SPS or PPS")
		}
		return &codecs.H265{VPS: t.VPS, SPS: t.SPS, PPS: t.PPS}, nil
	case hub.CodecAAC:
		var conf mpeg4audio.AudioSpecificConfig
		if err := conf.Unmarshal(t.AudioConfig); err != nil {
			return nil, fmt.Errorf("AudioSpecificConfig: %w", err)
		}
		return &codecs.MPEG4Audio{Config: conf}, nil
	case hub.CodecOpus:
		return &codecs.Opus{ChannelCount: channels}, nil
	case hub.CodecPCMU, hub.CodecPCMA:
		return &codecs.LPCM{BitDepth: 16, SampleRate: t.ClockRate, ChannelCount: channels}, nil
	default:
		return nil, fmt.Errorf("codec %q has no fMP4 mapping", t.Codec)
	}
}
