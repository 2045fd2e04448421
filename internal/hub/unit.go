// Package hub is the stream hub: one Stream per camera, fed by one source
// (ingest), read by any number of Readers (recorder, live sessions,
// analytics, tests). Access units flow as immutable *Unit values shared by
// every reader; the hub keeps the last GOP so a new reader starts on a
// keyframe at once, and drops a reader that falls behind instead of letting
// it stall the source or the other readers.
package hub

import "time"

// Codec names an elementary stream's coding.
type Codec string

// Codecs the hub carries. Video is H.264 or H.265; audio is passed through
// untouched.
const (
	CodecH264 Codec = "h264"
	CodecH265 Codec = "h265"
	CodecAAC  Codec = "aac"  // MPEG-4 audio, AU per Unit (no ADTS header)
	CodecPCMU Codec = "pcmu" // G.711 µ-law
	CodecPCMA Codec = "pcma" // G.711 A-law
	CodecOpus Codec = "opus"
)

// IsVideo reports whether c is a video codec.
func (c Codec) IsVideo() bool { return c == CodecH264 || c == CodecH265 }

// Track describes one elementary stream of a Stream. Tracks are immutable
// once published: a change of codec parameters (new SPS, new resolution)
// publishes a new Media with new Track values.
type Track struct {
	// ID is the track's index in Media.Tracks.
	ID int
	// Codec is the coding.
	Codec Codec
	// ClockRate is the RTP clock rate of the track (90000 for video).
	ClockRate int

	// Video parameter sets (Annex-B-free NAL units), as last seen in the SDP
	// or in band. VPS is H.265 only.
	VPS, SPS, PPS []byte
	// Width and Height are the picture size parsed from SPS (0 if unknown).
	Width, Height int

	// AudioConfig is the AAC AudioSpecificConfig (AAC only).
	AudioConfig []byte
	// SampleRate and Channels describe audio tracks.
	SampleRate, Channels int
}

// Media is the set of tracks a Stream currently carries. Readers receive
// the Media in force with every Unit, so a parameter change is visible as a
// different *Media pointer.
type Media struct {
	// Tracks in SDP order; at most one video track is the primary.
	Tracks []*Track
}

// Video returns the first video track, or nil if there is none.
func (m *Media) Video() *Track {
	if m == nil {
		return nil
	}
	for _, t := range m.Tracks {
		if t.Codec.IsVideo() {
			return t
		}
	}
	return nil
}

// Unit is one access unit: a whole video frame (all its NAL units) or one
// audio frame. A Unit is immutable after it is written to the hub and shared
// by every reader: readers must not modify Payload.
type Unit struct {
	// Media is the track set this unit belongs to.
	Media *Media
	// Track is the index of the unit's track in Media.Tracks.
	Track int
	// PTS is the presentation time in the track's ClockRate units, unwrapped
	// (monotonic across RTP timestamp wrap-around) and starting near 0 when
	// the source starts.
	PTS int64
	// DTS is the decoding time in the same units; equal to PTS for streams
	// without B-frames and for audio.
	DTS int64
	// Wall is the wall-clock time the unit was received (or the RTCP/SEI
	// derived capture time when known).
	Wall time.Time
	// Key is true for a video random-access point (IDR / IRAP): a reader
	// can start decoding here.
	Key bool
	// NALUs holds the video NAL units without start codes (video only).
	NALUs [][]byte
	// Payload holds one audio frame (audio only).
	Payload []byte
	// Size is the unit's payload size in bytes, for bitrate accounting.
	Size int
	// Recycle, when the source sets it, gives the buffers of NALUs or
	// Payload back to the source for reuse. The hub keeps it only for a
	// unit that goes to exactly one reader and into no GOP cache (see
	// Stream.WriteUnit); that reader calls Release once it is done with
	// the unit. Anyone else leaves the buffers to the garbage collector.
	Recycle func()
}

// Release gives the unit's buffers back to its source, when the hub kept
// Recycle: only the stream's sole reader may call it, once it holds no
// reference to the unit's bytes, and at most once; the unit must not be
// used after. It does nothing otherwise.
func (u *Unit) Release() {
	if f := u.Recycle; f != nil {
		u.Recycle = nil
		f()
	}
}
