package sim

import (
	"bytes"
	"errors"
	"fmt"

	"github.com/bluenviron/mediacommon/v2/pkg/codecs/h264"

	"argus/internal/sim/clips"
)

// maxPayload is the largest RTP payload the simulator sends. gortsplib's
// default MaxPacketSize is 1472 bytes including the 12-byte RTP header; a
// little headroom keeps packets clear of it.
const maxPayload = 1400

// H.264 NAL unit types used here (ITU-T H.264 table 7-1, RFC 6184).
const (
	naluSlice  = 1
	naluIDR    = 5
	naluSEI    = 6
	naluSPS    = 7
	naluPPS    = 8
	naluAUD    = 9
	naluFiller = 12
	naluFUA    = 28
)

// media is a clip split into access units and packetized once. It is
// immutable after newMedia and shared by every camera of a Server.
type media struct {
	clip   clips.Clip
	sps    []byte
	pps    []byte
	frames []frame
	// naturalBytes is the mean size of a frame as sent, in NAL unit bytes:
	// slices, the SPS and PPS repeated before each IDR, and the SEI stamp.
	naturalBytes float64
}

// frame is one access unit of the clip, without parameter sets or SEI.
type frame struct {
	idr bool
	// vcl holds the slice NAL units (without start codes).
	vcl [][]byte
	// payloads are the RTP payloads (single NAL unit or FU-A) of vcl, in
	// order.
	payloads [][]byte
}

// newMedia parses the clip's Annex-B stream and checks it against the
// catalog entry: picture size from the SPS, IDR spacing, frame count.
func newMedia(c clips.Clip, annexB []byte) (*media, error) {
	aus := groupAccessUnits(clips.SplitAnnexB(annexB))
	m := &media{clip: c}
	vclBytes := 0
	for i, au := range aus {
		var f frame
		for _, nalu := range au {
			switch nalu[0] & 0x1f {
			case naluSPS:
				if m.sps == nil {
					m.sps = nalu
				} else if !bytes.Equal(m.sps, nalu) {
					return nil, fmt.Errorf("clip %s: access unit %d: SPS changes mid-stream", c.Name, i)
				}
			case naluPPS:
				if m.pps == nil {
					m.pps = nalu
				} else if !bytes.Equal(m.pps, nalu) {
					return nil, fmt.Errorf("clip %s: access unit %d: PPS changes mid-stream", c.Name, i)
				}
			case naluIDR:
				f.idr = true
				f.vcl = append(f.vcl, nalu)
			case naluSlice:
				f.vcl = append(f.vcl, nalu)
			default:
				// The encoder's own SEI, AUDs, filler, end of sequence: the
				// simulator writes its own.
			}
		}
		if len(f.vcl) == 0 {
			continue
		}
		for _, nalu := range f.vcl {
			vclBytes += len(nalu)
			f.payloads = appendPayloads(f.payloads, nalu)
		}
		m.frames = append(m.frames, f)
	}
	if err := m.check(); err != nil {
		return nil, fmt.Errorf("clip %s: %w", c.Name, err)
	}
	idrs := len(m.frames) / c.GOP
	const seiLen = 1 + 2 + 24 + 1 // seiclock stamp without emulation prevention
	m.naturalBytes = float64(vclBytes+idrs*(len(m.sps)+len(m.pps)))/float64(len(m.frames)) + seiLen
	return m, nil
}

func (m *media) check() error {
	if m.sps == nil || m.pps == nil {
		return errors.New("no SPS or PPS")
	}
	var sps h264.SPS
	if err := sps.Unmarshal(m.sps); err != nil {
		return fmt.Errorf("parse SPS: %w", err)
	}
	if sps.Width() != m.clip.Width || sps.Height() != m.clip.Height {
		return fmt.Errorf("SPS says %dx%d, catalog says %dx%d",
			sps.Width(), sps.Height(), m.clip.Width, m.clip.Height)
	}
	if len(m.frames) != m.clip.Frames {
		return fmt.Errorf("%d frames, catalog says %d", len(m.frames), m.clip.Frames)
	}
	for i, f := range m.frames {
		if want := i%m.clip.GOP == 0; f.idr != want {
			return fmt.Errorf("frame %d: IDR is %v, want %v for a GOP of %d", i, f.idr, want, m.clip.GOP)
		}
	}
	return nil
}

// groupAccessUnits groups NAL units into access units (H.264 7.4.1.2.3): a
// new access unit starts at an AUD, SEI, SPS or PPS (or types 14–18) after
// a slice, or at a slice whose first_mb_in_slice is 0 after a slice.
func groupAccessUnits(nalus [][]byte) [][][]byte {
	var (
		aus    [][][]byte
		cur    [][]byte
		hasVCL bool
	)
	flush := func() {
		if len(cur) > 0 {
			aus = append(aus, cur)
		}
		cur, hasVCL = nil, false
	}
	for _, n := range nalus {
		switch typ := n[0] & 0x1f; {
		case typ == naluSlice || typ == naluIDR:
			// first_mb_in_slice is ue(v): a leading 1 bit means 0.
			if hasVCL && len(n) > 1 && n[1]&0x80 != 0 {
				flush()
			}
			hasVCL = true
		case typ == naluSEI || typ == naluSPS || typ == naluPPS || typ == naluAUD || (typ >= 14 && typ <= 18):
			if hasVCL {
				flush()
			}
		}
		cur = append(cur, n)
	}
	flush()
	return aus
}

// appendPayloads appends the RTP payloads (RFC 6184 packetization mode 1)
// of one NAL unit: the unit itself when it fits, FU-A fragments otherwise.
// Fragments share one new backing array; a unit that fits is not copied.
func appendPayloads(payloads [][]byte, nalu []byte) [][]byte {
	if len(nalu) <= maxPayload {
		return append(payloads, nalu)
	}
	const chunk = maxPayload - 2
	body := nalu[1:]
	n := (len(body) + chunk - 1) / chunk
	buf := make([]byte, 0, len(body)+2*n)
	for i := 0; i < len(body); i += chunk {
		end := min(i+chunk, len(body))
		fuHeader := nalu[0] & 0x1f
		if i == 0 {
			fuHeader |= 0x80 // start
		}
		if end == len(body) {
			fuHeader |= 0x40 // end
		}
		off := len(buf)
		buf = append(buf, nalu[0]&0xe0|naluFUA, fuHeader)
		buf = append(buf, body[i:end]...)
		payloads = append(payloads, buf[off:len(buf):len(buf)])
	}
	return payloads
}

// fillerPayloads returns the RTP payloads of one filler-data NAL unit of
// size bytes (header, 0xff bytes, rbsp trailing bits), or nil when size is
// too small to hold one.
func fillerPayloads(size int) [][]byte {
	if size < 2 {
		return nil
	}
	nalu := bytes.Repeat([]byte{0xff}, size)
	nalu[0] = naluFiller
	nalu[size-1] = 0x80
	return appendPayloads(nil, nalu)
}
