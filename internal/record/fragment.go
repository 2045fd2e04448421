package record

import (
	"encoding/binary"

	"argus/internal/hub"
)

// sample is one access unit placed in the fragment being built. The unit is
// shared with the hub and other readers and is only read; u is nil once
// the sample's data was staged (Writer.Stage).
type sample struct {
	u    *hub.Unit
	dur  uint32
	size uint32
	key  bool
	cto  int32 // composition offset, PTS − DTS
}

// Sample flags in trun (ISO/IEC 14496-12 8.8.3.1): a sync sample depends on
// no other; a non-sync sample depends on others.
const (
	flagsSync    = 0x02000000
	flagsNonSync = 0x01010000
)

// NAL unit types that stay out of the samples: parameter sets live in the
// sample entry (avc1/hvc1) and access unit delimiters carry nothing.
func keepNALU(c hub.Codec, n []byte) bool {
	if len(n) == 0 {
		return false
	}
	if c == hub.CodecH265 {
		typ := (n[0] >> 1) & 0x3f
		return typ < 32 || typ > 35 // VPS, SPS, PPS, AUD
	}
	typ := n[0] & 0x1f
	return typ != 7 && typ != 8 && typ != 9 // SPS, PPS, AUD
}

// sampleSize returns the size of u in the mdat: length-prefixed NAL units
// for video, two bytes per G.711 sample once decoded to LPCM, the payload
// as it is otherwise.
func sampleSize(c hub.Codec, u *hub.Unit) int {
	switch c {
	case hub.CodecH264, hub.CodecH265:
		n := 0
		for _, nalu := range u.NALUs {
			if keepNALU(c, nalu) {
				n += 4 + len(nalu)
			}
		}
		return n
	case hub.CodecPCMU, hub.CodecPCMA:
		return 2 * len(u.Payload)
	default:
		return len(u.Payload)
	}
}

// appendSample appends u's mdat bytes to b.
func appendSample(b []byte, c hub.Codec, u *hub.Unit) []byte {
	switch c {
	case hub.CodecH264, hub.CodecH265:
		for _, nalu := range u.NALUs {
			if keepNALU(c, nalu) {
				b = binary.BigEndian.AppendUint32(b, uint32(len(nalu)))
				b = append(b, nalu...)
			}
		}
	case hub.CodecPCMU:
		for _, x := range u.Payload {
			b = binary.BigEndian.AppendUint16(b, uint16(mulaw(x)))
		}
	case hub.CodecPCMA:
		for _, x := range u.Payload {
			b = binary.BigEndian.AppendUint16(b, uint16(alaw(x)))
		}
	default:
		b = append(b, u.Payload...)
	}
	return b
}

// appendIov appends to iov the pieces that make up u's mdat bytes, in
// order: u's own bytes where they are kept as they are, and pieces of
// scratch, appended to it, for what must be built (NAL unit lengths, LPCM).
// Should scratch grow, the pieces already taken keep its old array, so
// they stay right.
func appendIov(iov [][]byte, scratch []byte, c hub.Codec, u *hub.Unit) ([][]byte, []byte) {
	switch c {
	case hub.CodecH264, hub.CodecH265:
		for _, nalu := range u.NALUs {
			if keepNALU(c, nalu) {
				at := len(scratch)
				scratch = binary.BigEndian.AppendUint32(scratch, uint32(len(nalu)))
				iov = append(iov, scratch[at:len(scratch):len(scratch)], nalu)
			}
		}
	case hub.CodecPCMU, hub.CodecPCMA:
		at := len(scratch)
		scratch = appendSample(scratch, c, u)
		iov = append(iov, scratch[at:len(scratch):len(scratch)])
	default:
		iov = append(iov, u.Payload)
	}
	return iov, scratch
}

// mulaw decodes one G.711 µ-law sample to 16-bit linear PCM.
func mulaw(x byte) int16 {
	x = ^x
	t := (int16(x&0x0f) << 3) + 0x84
	t <<= (x & 0x70) >> 4
	if x&0x80 != 0 {
		return 0x84 - t
	}
	return t - 0x84
}

// alaw decodes one G.711 A-law sample to 16-bit linear PCM.
func alaw(x byte) int16 {
	x ^= 0x55
	t := int16(x&0x0f) << 4
	switch seg := (x & 0x70) >> 4; seg {
	case 0:
		t += 8
	case 1:
		t += 0x108
	default:
		t += 0x108
		t <<= seg - 1
	}
	if x&0x80 != 0 {
		return t
	}
	return -t
}

// fragTrack is one track's part of a fragment: its fMP4 id, the decode
// time of its first sample relative to the segment's zero, its samples, and
// how many of them have their data on disk already (Writer.Stage).
type fragTrack struct {
	id      uint32
	codec   hub.Codec
	video   bool
	base    uint64
	samples []sample
	staged  int
}

// moofSize returns the size of the moof describing the samples of tracks
// (those with none are left out).
func moofSize(tracks []*fragTrack) int {
	n := 8 + 16
	for _, t := range tracks {
		if len(t.samples) > 0 {
			n += 8 + 16 + 20 + trunSize(t)
		}
	}
	return n
}

// moofBound returns the largest moof that tracks could need with count[i]
// samples in tracks[i], whatever their flags.
func moofBound(tracks []*fragTrack, count []int) int {
	n := 8 + 16
	for i, t := range tracks {
		if count[i] > 0 {
			per := 12
			if t.video {
				per = 16
			}
			n += 8 + 16 + 20 + 20 + per*count[i]
		}
	}
	return n
}

// dataSize returns the size of t's samples in the mdat.
func (t *fragTrack) dataSize() int {
	n := 0
	for _, s := range t.samples {
		n += int(s.size)
	}
	return n
}

// appendMoof appends the moof of one fragment holding the samples of tracks
// (those with none are left out). The mdat lays out the primary track's
// samples first, dataStart bytes after the moof's first byte, then the
// others' in the order of tracks. Data offsets are relative to the moof
// (default-base-is-moof).
func appendMoof(b []byte, seq uint32, tracks []*fragTrack, primary *fragTrack, dataStart int) []byte {
	b = box(b, moofSize(tracks), "moof")
	b = box(b, 16, "mfhd")
	b = binary.BigEndian.AppendUint32(b, 0)
	b = binary.BigEndian.AppendUint32(b, seq)
	after := dataStart + primary.dataSize() // where the next non-primary track's data goes
	for _, t := range tracks {
		if len(t.samples) == 0 {
			continue
		}
		dataOffset := dataStart
		if t != primary {
			dataOffset = after
			after += t.dataSize()
		}
		ts := trunSize(t)
		b = box(b, 8+16+20+ts, "traf")
		b = box(b, 16, "tfhd")
		b = binary.BigEndian.AppendUint32(b, 0x020000) // default-base-is-moof
		b = binary.BigEndian.AppendUint32(b, t.id)
		b = box(b, 20, "tfdt")
		b = binary.BigEndian.AppendUint32(b, 1<<24) // version 1
		b = binary.BigEndian.AppendUint64(b, t.base)
		flags, cto := trunFlags(t)
		b = box(b, ts, "trun")
		b = binary.BigEndian.AppendUint32(b, 1<<24|flags) // version 1: signed offsets
		b = binary.BigEndian.AppendUint32(b, uint32(len(t.samples)))
		b = binary.BigEndian.AppendUint32(b, uint32(dataOffset))
		for _, s := range t.samples {
			b = binary.BigEndian.AppendUint32(b, s.dur)
			b = binary.BigEndian.AppendUint32(b, s.size)
			if t.video {
				f := uint32(flagsNonSync)
				if s.key {
					f = flagsSync
				}
				b = binary.BigEndian.AppendUint32(b, f)
			}
			if cto {
				b = binary.BigEndian.AppendUint32(b, uint32(s.cto))
			}
		}
	}
	return b
}

// appendData appends the mdat payload of tracks' samples, in the order
// appendMoof lays them out.
func appendData(b []byte, tracks []*fragTrack, primary *fragTrack) []byte {
	for _, s := range primary.samples {
		b = appendSample(b, primary.codec, s.u)
	}
	for _, t := range tracks {
		if t != primary {
			for _, s := range t.samples {
				b = appendSample(b, t.codec, s.u)
			}
		}
	}
	return b
}

// appendDataIov is appendData as pieces (see appendIov), from sample from
// of the primary track on.
func appendDataIov(iov [][]byte, scratch []byte, tracks []*fragTrack, primary *fragTrack, from int) ([][]byte, []byte) {
	for _, s := range primary.samples[from:] {
		iov, scratch = appendIov(iov, scratch, primary.codec, s.u)
	}
	for _, t := range tracks {
		if t != primary {
			for _, s := range t.samples {
				iov, scratch = appendIov(iov, scratch, t.codec, s.u)
			}
		}
	}
	return iov, scratch
}

// appendFragment appends one whole fragment (moof and mdat) holding the
// samples of tracks to b.
func appendFragment(b []byte, seq uint32, tracks []*fragTrack, primary *fragTrack) []byte {
	m, data := moofSize(tracks), 0
	for _, t := range tracks {
		data += t.dataSize()
	}
	b = appendMoof(b, seq, tracks, primary, m+8)
	b = box(b, 8+data, "mdat")
	return appendData(b, tracks, primary)
}

// box appends a box header.
func box(b []byte, size int, typ string) []byte {
	b = binary.BigEndian.AppendUint32(b, uint32(size))
	return append(b, typ...)
}

// trunFlags returns the trun flags for t's samples: data offset, duration
// and size always, flags for video, composition offsets when any sample
// has PTS ≠ DTS.
func trunFlags(t *fragTrack) (flags uint32, cto bool) {
	flags = 0x000001 | 0x000100 | 0x000200
	if t.video {
		flags |= 0x000400
	}
	for _, s := range t.samples {
		if s.cto != 0 {
			return flags | 0x000800, true
		}
	}
	return flags, false
}

// trunSize returns the size of t's trun box.
func trunSize(t *fragTrack) int {
	per := 8
	flags, _ := trunFlags(t)
	if flags&0x000400 != 0 {
		per += 4
	}
	if flags&0x000800 != 0 {
		per += 4
	}
	return 8 + 4 + 4 + 4 + per*len(t.samples)
}
