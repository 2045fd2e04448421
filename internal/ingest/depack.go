package ingest

import (
	"encoding/binary"
	"errors"
	"fmt"
	"sync"
)

// This file holds argus's own RTP video depacketiser for the TCP path
// (RFC 6184 for H.264, RFC 7798 for H.265). It reassembles a frame's NAL
// units in one reused buffer and allocates once per frame, where
// gortsplib's decoders allocate per packet and per fragmented NAL unit: at
// hundreds of cameras that difference is most of ingest's cost.

// maxFrameSize bounds one access unit (mediacommon's limit for H.264).
const maxFrameSize = 8 << 20

// Errors of the depacketiser; each drops what it names and nothing else.
var (
	errRTPShort      = errors.New("RTP packet too short")
	errRTPVersion    = errors.New("not an RTP version 2 packet")
	errFrameTooBig   = fmt.Errorf("access unit larger than %d bytes", maxFrameSize)
	errFragmentLost  = errors.New("fragmented NAL unit lost a packet; dropped")
	errBadAggregate  = errors.New("malformed aggregation packet")
	errBadFragment   = errors.New("malformed fragmentation unit")
	errUnsupportedPT = errors.New("unsupported RTP packetisation")
)

// rtpHeader is what the depacketiser needs of an RTP packet's header.
type rtpHeader struct {
	marker    bool
	pt        uint8
	seq       uint16
	timestamp uint32
	ssrc      uint32
}

// parseRTP splits an RTP packet (RFC 3550) into its header and payload,
// which aliases b. Padding, CSRCs and the header extension are skipped.
func parseRTP(b []byte) (h rtpHeader, payload []byte, err error) {
	if len(b) < 12 {
		return h, nil, errRTPShort
	}
	if b[0]>>6 != 2 {
		return h, nil, errRTPVersion
	}
	padding := b[0]&0x20 != 0
	ext := b[0]&0x10 != 0
	cc := int(b[0] & 0x0f)
	h.marker = b[1]&0x80 != 0
	h.pt = b[1] & 0x7f
	h.seq = binary.BigEndian.Uint16(b[2:])
	h.timestamp = binary.BigEndian.Uint32(b[4:])
	h.ssrc = binary.BigEndian.Uint32(b[8:])
	off := 12 + 4*cc
	if ext {
		if len(b) < off+4 {
			return h, nil, errRTPShort
		}
		off += 4 + 4*int(binary.BigEndian.Uint16(b[off+2:]))
	}
	end := len(b)
	if padding {
		if end == 0 || int(b[end-1]) > end-off || b[end-1] == 0 {
			return h, nil, errRTPShort
		}
		end -= int(b[end-1])
	}
	if off > end {
		return h, nil, errRTPShort
	}
	return h, b[off:end], nil
}

// depacketiser rebuilds a video track's access units from its RTP
// packets. A unit ends on the marker bit, or (cameras that set none) when
// a packet with another timestamp arrives.
type depacketiser struct {
	h265 bool

	// frame holds the current unit's NAL units back to back; ends[i] is
	// where NAL unit i ends in it.
	frame []byte
	ends  []int
	ts    uint32
	// open: frame holds a unit begun with timestamp ts.
	open bool
	// inFU: the last NAL unit of frame is a fragmented one still being
	// received; nextSeq is the sequence number its next packet must have.
	inFU    bool
	nextSeq uint16
	// tooBig: the unit outgrew maxFrameSize and is being discarded.
	tooBig bool
	// pool, if set, lends frame between units (release).
	pool *sync.Pool
	// frames, if set, lends the buffers of the units handed out; lent is
	// the one of the unit being emitted, during emit (nil when the unit's
	// buffer was allocated).
	frames *framePool
	lent   *[]byte
}

// release lends the frame buffer back to the pool unless a unit is being
// received: between batches of an unwatched camera a depacketiser holds
// no buffer (a keyframe's worth, tens of kilobytes, per camera).
func (d *depacketiser) release() {
	if d.pool == nil || d.open || d.frame == nil {
		return
	}
	b := d.frame[:0]
	d.pool.Put(&b)
	d.frame = nil
}

// push adds one packet. When it completes a unit, emit gets the unit's
// NAL units and RTP timestamp; the NAL units are a fresh allocation that
// the callee may keep. A non-nil error is a problem in this packet (what
// it carried is dropped); the depacketiser stays usable.
func (d *depacketiser) push(h rtpHeader, payload []byte, emit func(ts uint32, au [][]byte)) error {
	if d.open && h.timestamp != d.ts {
		d.flush(emit)
	}
	if !d.open {
		d.open, d.ts = true, h.timestamp
		if d.frame == nil && d.pool != nil {
			if b, ok := d.pool.Get().(*[]byte); ok {
				d.frame = *b
			}
		}
		d.frame, d.ends = d.frame[:0], d.ends[:0]
		d.inFU, d.tooBig = false, false
	}
	err := d.add(h, payload)
	if h.marker && !d.inFU {
		d.flush(emit)
	}
	return err
}

// flush emits the current unit, if it holds anything whole, and closes it.
func (d *depacketiser) flush(emit func(ts uint32, au [][]byte)) {
	if d.inFU {
		d.dropFU()
	}
	d.open = false
	if len(d.ends) == 0 || d.tooBig {
		return
	}
	var buf []byte
	if d.frames != nil {
		d.lent = d.frames.get(len(d.frame))
	}
	if d.lent != nil {
		buf = append(*d.lent, d.frame...)
		*d.lent = buf
	} else {
		// An append, unlike make, does not zero what it then copies over.
		buf = append([]byte(nil), d.frame...)
	}
	au := make([][]byte, len(d.ends))
	start := 0
	for i, end := range d.ends {
		au[i] = buf[start:end:end]
		start = end
	}
	emit(d.ts, au)
	d.lent = nil
}

// dropFU discards the fragmented NAL unit being received.
func (d *depacketiser) dropFU() {
	start := 0
	if n := len(d.ends); n > 0 {
		start = d.ends[n-1]
	}
	d.frame = d.frame[:start]
	d.inFU = false
}

// add appends the NAL units of one packet to the frame.
func (d *depacketiser) add(h rtpHeader, p []byte) error {
	hdr := 1
	if d.h265 {
		hdr = 2
	}
	if len(p) < hdr {
		return errRTPShort
	}
	if hasStartCode(p) {
		// Some cameras packetise an Annex-B byte stream.
		if d.inFU {
			d.dropFU()
		}
		return d.addAnnexB(p)
	}
	var typ int
	if d.h265 {
		typ = int(p[0]>>1) & 0x3f
	} else {
		typ = int(p[0] & 0x1f)
	}
	fu, agg := 28, 24 // FU-A, STAP-A
	if d.h265 {
		fu, agg = 49, 48 // FU, AP
	}
	if d.inFU && typ != fu {
		d.dropFU()
	}
	switch {
	case typ == fu:
		return d.addFU(h, p, hdr)
	case typ == agg:
		return d.addAggregate(p[hdr:])
	case !d.h265 && typ >= 1 && typ <= 23, d.h265 && typ < 48:
		return d.addNALU(p)
	default:
		return fmt.Errorf("%w: NAL unit type %d", errUnsupportedPT, typ)
	}
}

// addFU handles a fragmentation unit (FU-A for H.264, FU for H.265).
func (d *depacketiser) addFU(h rtpHeader, p []byte, hdr int) error {
	if len(p) < hdr+1 {
		return errBadFragment
	}
	fh := p[hdr]
	start, end := fh&0x80 != 0, fh&0x40 != 0
	data := p[hdr+1:]
	if start {
		if d.inFU {
			d.dropFU()
		}
		// Rebuild the NAL unit's header from the payload header and
		// the FU header's type.
		if d.h265 {
			if err := d.grow(2 + len(data)); err != nil {
				return err
			}
			d.frame = append(d.frame, p[0]&0x81|(fh&0x3f)<<1, p[1])
		} else {
			if err := d.grow(1 + len(data)); err != nil {
				return err
			}
			d.frame = append(d.frame, p[0]&0xe0|fh&0x1f)
		}
		d.frame = append(d.frame, data...)
		d.inFU, d.nextSeq = true, h.seq+1
	} else {
		if !d.inFU {
			// The start was lost (or the session began mid-unit).
			return nil
		}
		if h.seq != d.nextSeq {
			d.dropFU()
			return errFragmentLost
		}
		if err := d.grow(len(data)); err != nil {
			return err
		}
		d.frame = append(d.frame, data...)
		d.nextSeq++
	}
	if end {
		d.inFU = false
		d.closeNALU()
	}
	return nil
}

// addAggregate handles the units of a STAP-A (H.264) or AP (H.265): a
// 16-bit size before each.
func (d *depacketiser) addAggregate(p []byte) error {
	if len(p) == 0 {
		return errBadAggregate
	}
	for len(p) > 0 {
		if len(p) < 2 {
			return errBadAggregate
		}
		n := int(binary.BigEndian.Uint16(p))
		p = p[2:]
		if n == 0 {
			// Some cameras pad the packet with zeros.
			for _, b := range p {
				if b != 0 {
					return errBadAggregate
				}
			}
			return nil
		}
		if n > len(p) {
			return errBadAggregate
		}
		if err := d.addNALU(p[:n]); err != nil {
			return err
		}
		p = p[n:]
	}
	return nil
}

// addNALU appends one whole NAL unit.
func (d *depacketiser) addNALU(n []byte) error {
	if err := d.grow(len(n)); err != nil {
		return err
	}
	d.frame = append(d.frame, n...)
	d.closeNALU()
	return nil
}

// addAnnexB appends the NAL units of an Annex-B byte stream.
func (d *depacketiser) addAnnexB(b []byte) error {
	for len(b) > 0 {
		i, sc := nextStartCode(b)
		if i < 0 {
			i = len(b)
		}
		if i > 0 {
			if err := d.grow(i); err != nil {
				return err
			}
			d.frame = append(d.frame, b[:i]...)
			d.closeNALU()
		}
		if i == len(b) {
			break
		}
		b = b[i+sc:]
	}
	return nil
}

// hasStartCode reports whether n begins with an Annex-B start code.
func hasStartCode(n []byte) bool {
	return len(n) >= 3 && n[0] == 0 && n[1] == 0 && (n[2] == 1 || (n[2] == 0 && len(n) >= 4 && n[3] == 1))
}

// nextStartCode returns the index and length of the first start code in b
// (00 00 01 or 00 00 00 01), or -1.
func nextStartCode(b []byte) (int, int) {
	for i := 0; i+2 < len(b); i++ {
		if b[i] != 0 || b[i+1] != 0 {
			continue
		}
		if b[i+2] == 1 {
			if i > 0 && b[i-1] == 0 {
				return i - 1, 4
			}
			return i, 3
		}
	}
	return -1, 0
}

// closeNALU ends the NAL unit at the end of frame (an empty one is
// dropped).
func (d *depacketiser) closeNALU() {
	start := 0
	if n := len(d.ends); n > 0 {
		start = d.ends[n-1]
	}
	if len(d.frame) > start {
		d.ends = append(d.ends, len(d.frame))
	}
}

// grow checks that n more bytes keep the unit within maxFrameSize.
func (d *depacketiser) grow(n int) error {
	if len(d.frame)+n > maxFrameSize {
		d.tooBig = true
		d.inFU = false
		return errFrameTooBig
	}
	return nil
}
