package ingest

import (
	"bytes"
	"errors"
	"fmt"

	"github.com/bluenviron/mediacommon/v2/pkg/codecs/h264"
	"github.com/bluenviron/mediacommon/v2/pkg/codecs/h265"

	"argus/internal/hub"
)

// Errors counted as decode errors of a video track.
var (
	errBadNALU       = errors.New("malformed NAL units dropped")
	errNoParams      = errors.New("keyframe dropped: no parameter sets known yet")
	errClockBackward = errors.New("timestamps went backwards")
)

// naluKind classifies a NAL unit by the header fields ingest acts on.
type naluKind uint8

const (
	naluOther naluKind = iota
	naluVPS
	naluSPS
	naluPPS
	naluKey // a slice of an IDR (H.264) or IRAP (H.265) picture
	naluAUD
	naluBad // empty, forbidden bit set, or a type that cannot survive depacketisation
)

// naluKindOf classifies NAL unit n of a codec-coded stream.
// holdsParams reports whether au holds a parameter set (VPS, SPS or PPS).
func holdsParams(codec hub.Codec, au [][]byte) bool {
	for _, n := range au {
		switch naluKindOf(codec, n) {
		case naluVPS, naluSPS, naluPPS:
			return true
		}
	}
	return false
}

func naluKindOf(codec hub.Codec, n []byte) naluKind {
	if len(n) == 0 || n[0]&0x80 != 0 {
		return naluBad
	}
	if codec == hub.CodecH265 {
		if len(n) < 2 {
			return naluBad
		}
		typ := n[0] >> 1 & 0x3f
		if typ >= 48 { // aggregation, fragmentation, PACI, unspecified
			return naluBad
		}
		if layer := (n[0]&1)<<5 | n[1]>>3; layer != 0 {
			return naluOther // an enhancement layer argus does not decode
		}
		switch {
		case typ >= 16 && typ <= 21: // BLA, IDR, CRA
			return naluKey
		case typ == 32:
			return naluVPS
		case typ == 33:
			return naluSPS
		case typ == 34:
			return naluPPS
		case typ == 35:
			return naluAUD
		}
		return naluOther
	}
	switch n[0] & 0x1f {
	case 5:
		return naluKey
	case 7:
		return naluSPS
	case 8:
		return naluPPS
	case 9:
		return naluAUD
	case 0, 24, 25, 26, 27, 28, 29, 30, 31: // unspecified, aggregation, fragmentation
		return naluBad
	}
	return naluOther
}

// spsInfo is what ingest reads from a sequence parameter set.
type spsInfo struct {
	width, height int
	// reorder is set unless the SPS rules out B-frame reordering; only
	// then does the track need a DTS extractor.
	reorder bool
}

// parseSPS reads the picture size and reordering of an SPS.
func parseSPS(codec hub.Codec, b []byte) (spsInfo, error) {
	if len(b) == 0 {
		return spsInfo{}, errors.New("no SPS")
	}
	if codec == hub.CodecH265 {
		var s h265.SPS
		if err := s.Unmarshal(b); err != nil {
			return spsInfo{}, fmt.Errorf("parse H.265 SPS: %w", err)
		}
		n := len(s.MaxNumReorderPics)
		return spsInfo{width: s.Width(), height: s.Height(), reorder: n == 0 || s.MaxNumReorderPics[n-1] > 0}, nil
	}
	var s h264.SPS
	if err := s.Unmarshal(b); err != nil {
		return spsInfo{}, fmt.Errorf("parse H.264 SPS: %w", err)
	}
	noReorder := s.ProfileIdc == 66 || s.PicOrderCntType == 2 ||
		(s.VUI != nil && s.VUI.BitstreamRestriction != nil && s.VUI.BitstreamRestriction.MaxNumReorderFrames == 0)
	return spsInfo{width: s.Width(), height: s.Height(), reorder: !noReorder}, nil
}

// videoTrack turns a camera's depacketised access units into the hub's:
// it keeps the parameter sets (from the SDP, updated in band), marks
// keyframes, makes every keyframe self-contained, drops everything before
// the first keyframe, derives DTS and keeps it monotonic.
type videoTrack struct {
	codec         hub.Codec
	clockRate     int
	vps, sps, pps []byte
	info          spsInfo
	// changed is set when a parameter set differs from the published track.
	changed bool
	// started is set once a keyframe has passed since the start or the
	// last error; until then units are dropped.
	started bool
	dts264  h264.DTSExtractor
	dts265  h265.DTSExtractor
	// adj shifts the track's timeline after the camera's clock went
	// backwards; lastDTS and step are the last DTS and DTS increment.
	adj, lastDTS, step int64
	haveDTS            bool
	maxPTS             int64
}

func newVideoTrack(t *hub.Track) *videoTrack {
	v := &videoTrack{
		codec:     t.Codec,
		clockRate: t.ClockRate,
		vps:       t.VPS,
		sps:       t.SPS,
		pps:       t.PPS,
		step:      int64(t.ClockRate / 25),
	}
	v.info, _ = parseSPS(t.Codec, t.SPS)
	v.resetDTS()
	return v
}

// track returns the hub track for the current parameters.
func (v *videoTrack) track(id int) *hub.Track {
	return &hub.Track{
		ID: id, Codec: v.codec, ClockRate: v.clockRate,
		VPS: v.vps, SPS: v.sps, PPS: v.pps,
		Width: v.info.width, Height: v.info.height,
	}
}

func (v *videoTrack) resetDTS() {
	if v.codec == hub.CodecH265 {
		v.dts265 = h265.DTSExtractor{}
		v.dts265.Initialize()
	} else {
		v.dts264 = h264.DTSExtractor{}
		v.dts264.Initialize()
	}
}

// restart drops units until the next keyframe.
func (v *videoTrack) restart() {
	v.started = false
	v.resetDTS()
}

// accessUnit processes access unit au, whose RTP presentation time is pts.
// It returns the unit's NAL units (nil to drop it), its PTS and DTS, and
// whether it is a keyframe; err, if set, is a problem to count, whether or
// not the unit is dropped. It allocates only to repair a unit.
func (v *videoTrack) accessUnit(au [][]byte, pts int64) (out [][]byte, _, dts int64, key bool, err error) {
	var has [naluPPS + 1]bool
	bad := 0
	for _, n := range au {
		switch k := naluKindOf(v.codec, n); k {
		case naluBad:
			bad++
		case naluKey:
			key = true
		case naluVPS, naluSPS, naluPPS:
			has[k] = true
			v.setParam(k, n)
		}
	}
	if bad > 0 {
		err = errBadNALU
		if bad == len(au) {
			return nil, 0, 0, false, err
		}
		au = v.dropBad(au, bad)
	}
	if !key && !v.started {
		return nil, 0, 0, false, err
	}
	if key {
		if v.sps == nil || v.pps == nil || (v.codec == hub.CodecH265 && v.vps == nil) {
			v.restart()
			return nil, 0, 0, false, errNoParams
		}
		if !has[naluSPS] || !has[naluPPS] || (v.codec == hub.CodecH265 && !has[naluVPS]) {
			au = v.withParams(au)
		}
	}
	pts += v.adj
	dts, xerr := v.decodeTime(au, pts)
	if xerr != nil {
		v.restart()
		return nil, 0, 0, false, xerr
	}
	if v.haveDTS && dts < v.lastDTS {
		// The camera's clock went backwards (a reboot, a wrapped encoder
		// counter): shift this track's timeline so that it continues.
		if !key && v.info.reorder {
			v.restart()
			return nil, 0, 0, false, errClockBackward
		}
		shift := v.lastDTS - dts + v.step
		v.adj += shift
		pts += shift
		dts = pts
		if v.info.reorder {
			v.resetDTS()
			if dts, xerr = v.decodeTime(au, pts); xerr != nil {
				v.restart()
				return nil, 0, 0, false, xerr
			}
		}
		err = errClockBackward
	}
	if v.haveDTS && dts > v.lastDTS {
		v.step = dts - v.lastDTS
	}
	v.lastDTS, v.haveDTS = dts, true
	v.maxPTS = max(v.maxPTS, pts)
	v.started = true
	return au, pts, dts, key, err
}

// decodeTime returns the DTS of au: its PTS unless the stream may reorder
// frames, else what mediacommon's DTS extractor derives from the slice
// headers.
func (v *videoTrack) decodeTime(au [][]byte, pts int64) (int64, error) {
	switch {
	case !v.info.reorder:
		return pts, nil
	case v.codec == hub.CodecH265:
		return v.dts265.Extract(au, pts)
	default:
		return v.dts264.Extract(au, pts)
	}
}

// setParam records an in-band parameter set that differs from the current
// one. An SPS that does not parse is ignored.
func (v *videoTrack) setParam(k naluKind, n []byte) {
	cur := &v.pps
	switch k {
	case naluVPS:
		cur = &v.vps
	case naluSPS:
		cur = &v.sps
	}
	if bytes.Equal(*cur, n) {
		return
	}
	if k == naluSPS {
		info, err := parseSPS(v.codec, n)
		if err != nil {
			return
		}
		if info.reorder != v.info.reorder {
			v.resetDTS()
		}
		v.info = info
	}
	*cur = bytes.Clone(n)
	v.changed = true
}

// withParams returns keyframe au with the current parameter sets in front
// (after an access unit delimiter), replacing any it carried.
func (v *videoTrack) withParams(au [][]byte) [][]byte {
	out := make([][]byte, 0, len(au)+3)
	if naluKindOf(v.codec, au[0]) == naluAUD {
		out = append(out, au[0])
		au = au[1:]
	}
	if v.codec == hub.CodecH265 {
		out = append(out, v.vps)
	}
	out = append(out, v.sps, v.pps)
	for _, n := range au {
		if k := naluKindOf(v.codec, n); k != naluVPS && k != naluSPS && k != naluPPS {
			out = append(out, n)
		}
	}
	return out
}

// dropBad returns au without its bad NAL units, of which there are n.
func (v *videoTrack) dropBad(au [][]byte, n int) [][]byte {
	out := make([][]byte, 0, len(au)-n)
	for _, u := range au {
		if naluKindOf(v.codec, u) != naluBad {
			out = append(out, u)
		}
	}
	return out
}
