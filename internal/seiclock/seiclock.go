// Package seiclock writes and reads the argus wall-clock stamp carried in an
// H.264 SEI NAL unit, so that any reader of a stream (recorder, live viewer,
// benchmark) can measure the latency from capture to itself.
//
// The stamp is one SEI message of payload type 5 (user_data_unregistered):
//
//	NAL header          0x06 (nal_ref_idc 0, nal_unit_type 6)
//	payloadType         0x05
//	payloadSize         0x18 (24)
//	uuid_iso_iec_11578  82 8c 4b 24 fa 5d 4c 1f bf 5e cf f3 b9 e0 cd 26
//	                    (828c4b24-fa5d-4c1f-bf5e-cff3b9e0cd26, fixed for argus)
//	user_data           int64 Unix nanoseconds, big-endian (capture wall clock)
//	rbsp_trailing_bits  0x80
//
// Emulation prevention is applied after the NAL header, as in any NAL unit.
// NAL units are handled without start codes (the form RTP and the
// mediacommon/gortsplib access units use). Times are representable from
// 1678 to 2262 (the range of int64 Unix nanoseconds).
package seiclock

import (
	"encoding/binary"
	"time"
)

const (
	naluTypeSEI        = 6
	payloadTypeUserReg = 5
	uuidLen            = 16
	payloadLen         = uuidLen + 8
)

// uuid is the argus wall-clock UUID; a fixed-size array, so it cannot be
// mutated through the package.
func uuid() [uuidLen]byte {
	return [uuidLen]byte{
		0x82, 0x8c, 0x4b, 0x24, 0xfa, 0x5d, 0x4c, 0x1f,
		0xbf, 0x5e, 0xcf, 0xf3, 0xb9, 0xe0, 0xcd, 0x26,
	}
}

// MaxLen is the largest size of a stamp NAL unit produced by Marshal and
// Append (the size with the most emulation prevention bytes possible).
const MaxLen = 1 + (2+payloadLen+1)*3/2 + 1

// Marshal returns a complete SEI NAL unit (no start code, emulation
// prevention applied) carrying t as the capture wall clock.
func Marshal(t time.Time) []byte {
	return Append(make([]byte, 0, MaxLen), t)
}

// Append appends the SEI NAL unit that Marshal returns to dst and returns
// the extended slice. It does not allocate when dst has MaxLen bytes of
// spare capacity, which makes it suitable for a per-frame send path.
func Append(dst []byte, t time.Time) []byte {
	var rbsp [2 + payloadLen + 1]byte
	rbsp[0] = payloadTypeUserReg
	rbsp[1] = payloadLen
	u := uuid()
	copy(rbsp[2:], u[:])
	binary.BigEndian.PutUint64(rbsp[2+uuidLen:], uint64(t.UnixNano()))
	rbsp[len(rbsp)-1] = 0x80

	dst = append(dst, naluTypeSEI)
	zeros := 0
	for _, b := range rbsp {
		if zeros >= 2 && b <= 3 {
			dst = append(dst, 3)
			zeros = 0
		}
		dst = append(dst, b)
		if b == 0 {
			zeros++
		} else {
			zeros = 0
		}
	}
	return dst
}

// Parse finds the argus stamp in an SEI NAL unit (no start code) and returns
// the capture wall clock it carries. It walks every SEI message of the unit,
// removes emulation prevention bytes on the fly and never allocates. It
// reports false for anything else: another NAL type, a unit without the
// stamp, or a malformed unit (truncated message, start-code sequence inside
// the unit, wrong stamp size); it never panics.
func Parse(nalu []byte) (time.Time, bool) {
	if len(nalu) < 2 || nalu[0]&0x80 != 0 || nalu[0]&0x1f != naluTypeSEI {
		return time.Time{}, false
	}
	r := rbspReader{b: nalu[1:]}
	want := uuid()
	for {
		if !r.moreMessages() {
			return time.Time{}, false
		}
		typ, ok := r.readVar()
		if !ok {
			return time.Time{}, false
		}
		size, ok := r.readVar()
		if !ok {
			return time.Time{}, false
		}
		if typ != payloadTypeUserReg || size < uuidLen {
			if !r.skip(size) {
				return time.Time{}, false
			}
			continue
		}
		var got [uuidLen]byte
		for i := range got {
			if got[i], ok = r.readByte(); !ok {
				return time.Time{}, false
			}
		}
		if got != want {
			if !r.skip(size - uuidLen) {
				return time.Time{}, false
			}
			continue
		}
		if size != payloadLen {
			return time.Time{}, false
		}
		var v uint64
		for range 8 {
			b, ok := r.readByte()
			if !ok {
				return time.Time{}, false
			}
			v = v<<8 | uint64(b)
		}
		return time.Unix(0, int64(v)), true
	}
}

// ParseAccessUnit returns the stamp of the first SEI NAL unit of an access
// unit that carries one.
func ParseAccessUnit(au [][]byte) (time.Time, bool) {
	for _, nalu := range au {
		if len(nalu) > 0 && nalu[0]&0x1f == naluTypeSEI {
			if t, ok := Parse(nalu); ok {
				return t, true
			}
		}
	}
	return time.Time{}, false
}

// rbspReader reads the RBSP of a NAL unit payload, dropping emulation
// prevention bytes (00 00 03 → 00 00) and failing on a start-code-like
// sequence (00 00 00, 00 00 01, 00 00 02), which a NAL unit cannot contain.
type rbspReader struct {
	b     []byte
	i     int
	zeros int
	bad   bool
}

func (r *rbspReader) readByte() (byte, bool) {
	if r.bad || r.i >= len(r.b) {
		return 0, false
	}
	b := r.b[r.i]
	r.i++
	if r.zeros >= 2 {
		switch {
		case b == 3:
			r.zeros = 0
			return r.readByte()
		case b < 3:
			r.bad = true
			return 0, false
		}
	}
	if b == 0 {
		r.zeros++
	} else {
		r.zeros = 0
	}
	return b, true
}

// moreMessages reports whether another SEI message follows, that is whether
// anything but the rbsp_trailing_bits (0x80, possibly followed by
// cabac_zero_words) remains.
func (r *rbspReader) moreMessages() bool {
	if r.bad || r.i >= len(r.b) {
		return false
	}
	return r.b[r.i] != 0x80
}

// readVar reads an ff-extended SEI payloadType or payloadSize. Each 0xff
// consumes a byte, so the value is bounded by 255 times the unit's length.
func (r *rbspReader) readVar() (int, bool) {
	v := 0
	for {
		b, ok := r.readByte()
		if !ok {
			return 0, false
		}
		v += int(b)
		if b != 0xff {
			return v, true
		}
	}
}

func (r *rbspReader) skip(n int) bool {
	for range n {
		if _, ok := r.readByte(); !ok {
			return false
		}
	}
	return true
}
