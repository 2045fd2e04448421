package segment

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"time"
)

// Limits on the boxes Scan reads into memory. A segment's moov holds a few
// parameter sets; a moof describes one fragment (a GOP or about a second).
const (
	maxMoovSize = 4 << 20
	maxMoofSize = 4 << 20
)

// Scanned describes the part of a segment file that can be kept: the init
// (ftyp and moov) and the complete fragments (moof and mdat pairs) after it.
type Scanned struct {
	// InitSize is the size of ftyp and moov together.
	InitSize int64
	// End is the offset just after the last complete fragment (InitSize
	// when there is none).
	End int64
	// Fragments is the number of complete fragments.
	Fragments int
	// Duration is the media time of the primary track (the first video
	// track, else the first track) from the segment's time zero to the end
	// of its last sample in a complete fragment.
	Duration time.Duration
}

// errNoInit is returned by Scan when the file does not start with a usable
// ftyp and moov.
var errNoInit = errors.New("no fMP4 init")

// Scan reads a segment file of the given size box by box (ftyp, moov, then
// moof and mdat pairs) and returns how much of it is whole. It stops at the
// first box that is truncated, malformed, out of order or unknown; what
// precedes it is kept. Scan fails only when the init itself is unusable. It
// reads untrusted bytes: it never panics and reads at most a few MiB into
// memory whatever the sizes in the file say.
func Scan(r io.ReaderAt, size int64) (Scanned, error) {
	s, _, err := walk(r, size, nil)
	return s, err
}

// walk is Scan that also calls fn, when not nil, for each complete
// fragment, and returns the tracks of the init.
func walk(r io.ReaderAt, size int64, fn func(Fragment)) (Scanned, []trackTime, error) {
	var s Scanned
	off := int64(0)
	typ, _, n, ok := boxHeader(r, off, size)
	if !ok || typ != "ftyp" {
		return s, nil, fmt.Errorf("%w: file does not start with ftyp", errNoInit)
	}
	off += n
	typ, hdr, n, ok := boxHeader(r, off, size)
	if !ok || typ != "moov" || n > maxMoovSize {
		return s, nil, fmt.Errorf("%w: no complete moov after ftyp", errNoInit)
	}
	moov := make([]byte, n-hdr)
	if _, err := r.ReadAt(moov, off+hdr); err != nil {
		return s, nil, fmt.Errorf("%w: read moov: %w", errNoInit, err)
	}
	tracks, primary := parseMoov(moov)
	if primary < 0 {
		return s, nil, fmt.Errorf("%w: moov has no track with a timescale", errNoInit)
	}
	off += n
	s.InitSize, s.End = off, off

	var moof []byte
	for {
		typ, hdr, n, ok := boxHeader(r, off, size)
		if !ok || typ != "moof" || n > maxMoofSize {
			return s, tracks, nil
		}
		mdatOff := off + n
		mtyp, mhdr, mn, ok := boxHeader(r, mdatOff, size)
		if !ok || mtyp != "mdat" {
			return s, tracks, nil
		}
		if int64(cap(moof)) < n-hdr {
			moof = make([]byte, n-hdr)
		}
		moof = moof[:n-hdr]
		if _, err := r.ReadAt(moof, off+hdr); err != nil {
			return s, tracks, nil
		}
		f := fragment{
			moofStart: off, dataStart: mdatOff + mhdr, dataEnd: mdatOff + mn,
			tracks: tracks,
		}
		for i := range tracks {
			tracks[i].first = false
		}
		if !f.parseMoof(moof) {
			return s, tracks, nil
		}
		p := &f.tracks[primary]
		if end, ok := p.end(); ok && p.seen {
			s.Duration = end
		}
		if fn != nil && p.first {
			start, ok1 := ticksToDuration(p.firstTicks, p.timescale)
			end, ok2 := p.end()
			if ok1 && ok2 {
				fn(Fragment{Index: s.Fragments, Offset: off, Size: mdatOff + mn - off, Start: start, End: end, Key: p.firstFlags&sampleIsNonSync == 0})
			}
		}
		s.Fragments++
		off = mdatOff + mn
		s.End = off
	}
}

// boxHeader reads the header of the box at off in a file of the given size
// and returns its type, header length and total length. ok is false when the
// header or the box does not fit in the file, or the box says it runs to the
// end of the file (size 0), which a finished write never leaves.
func boxHeader(r io.ReaderAt, off, size int64) (typ string, hdr, n int64, ok bool) {
	var b [16]byte
	if off < 0 || size-off < 8 {
		return "", 0, 0, false
	}
	if _, err := r.ReadAt(b[:8], off); err != nil {
		return "", 0, 0, false
	}
	n, hdr = int64(binary.BigEndian.Uint32(b[:4])), 8
	if n == 1 {
		if size-off < 16 {
			return "", 0, 0, false
		}
		if _, err := r.ReadAt(b[8:16], off+8); err != nil {
			return "", 0, 0, false
		}
		u := binary.BigEndian.Uint64(b[8:16])
		if u > math.MaxInt64 {
			return "", 0, 0, false
		}
		n, hdr = int64(u), 16
	}
	if n < hdr || n > size-off {
		return "", 0, 0, false
	}
	return string(b[4:8]), hdr, n, true
}

// child iterates over the boxes inside a container's payload.
type child struct {
	b []byte
}

// next returns the next child box's type and payload; ok is false at the
// end or at a malformed header.
func (c *child) next() (typ string, payload []byte, ok bool) {
	if len(c.b) < 8 {
		return "", nil, false
	}
	n, hdr := uint64(binary.BigEndian.Uint32(c.b)), uint64(8)
	if n == 1 {
		if len(c.b) < 16 {
			return "", nil, false
		}
		n, hdr = binary.BigEndian.Uint64(c.b[8:]), 16
	}
	if n < hdr || n > uint64(len(c.b)) {
		return "", nil, false
	}
	typ, payload = string(c.b[4:8]), c.b[hdr:n]
	c.b = c.b[n:]
	return typ, payload, true
}

// trackTime is one track's timescale and, while a moof is parsed, the end
// of its samples.
type trackTime struct {
	id        uint32
	timescale uint32
	video     bool
	// endTicks is the decode time at the end of the track's last sample
	// seen so far, in timescale units; seen says whether there was one.
	endTicks uint64
	seen     bool
	// first says whether the moof being parsed has a sample of the track;
	// firstTicks and firstFlags are then its first sample's decode time
	// and flags.
	first      bool
	firstTicks uint64
	firstFlags uint32
}

// end converts endTicks to a duration; ok is false on overflow.
func (t *trackTime) end() (time.Duration, bool) { return ticksToDuration(t.endTicks, t.timescale) }

// ticksToDuration converts ticks of timescale to a duration; ok is false on
// overflow.
func ticksToDuration(ticks uint64, timescale uint32) (time.Duration, bool) {
	secs, rem := ticks/uint64(timescale), ticks%uint64(timescale)
	if secs > uint64(math.MaxInt64/int64(time.Second))-1 {
		return 0, false
	}
	return time.Duration(secs)*time.Second + time.Duration(rem*uint64(time.Second)/uint64(timescale)), true
}

// parseMoov returns the tracks of a moov payload and the index of the
// primary one (-1 if there is no usable track).
func parseMoov(moov []byte) ([]trackTime, int) {
	var tracks []trackTime
	c := child{moov}
	for {
		typ, trak, ok := c.next()
		if !ok {
			break
		}
		if typ != "trak" {
			continue
		}
		if t, ok := parseTrak(trak); ok {
			tracks = append(tracks, t)
		}
	}
	primary := -1
	for i, t := range tracks {
		if t.video {
			return tracks, i
		}
		if primary < 0 {
			primary = i
		}
	}
	return tracks, primary
}

// parseTrak reads a trak's id (tkhd), timescale (mdhd) and handler (hdlr).
func parseTrak(trak []byte) (trackTime, bool) {
	var t trackTime
	var haveID bool
	c := child{trak}
	for {
		typ, p, ok := c.next()
		if !ok {
			break
		}
		switch typ {
		case "tkhd":
			// version(1) flags(3) creation modification (4 or 8 each) track_ID(4)
			at := 4 + 8
			if len(p) > 0 && p[0] == 1 {
				at = 4 + 16
			}
			if len(p) >= at+4 {
				t.id, haveID = binary.BigEndian.Uint32(p[at:]), true
			}
		case "mdia":
			m := child{p}
			for {
				typ, q, ok := m.next()
				if !ok {
					break
				}
				switch typ {
				case "mdhd":
					at := 4 + 8
					if len(q) > 0 && q[0] == 1 {
						at = 4 + 16
					}
					if len(q) >= at+4 {
						t.timescale = binary.BigEndian.Uint32(q[at:])
					}
				case "hdlr":
					// version/flags(4) pre_defined(4) handler_type(4)
					if len(q) >= 12 {
						t.video = string(q[8:12]) == "vide"
					}
				}
			}
		}
	}
	return t, haveID && t.timescale > 0
}

// fragment is the state of one moof being checked against its mdat.
type fragment struct {
	moofStart, dataStart, dataEnd int64
	tracks                        []trackTime
}

// parseMoof walks a moof payload, checks that every trun's samples lie in
// the mdat that follows and advances the end time of each track. It returns
// false for a moof that cannot be trusted.
func (f *fragment) parseMoof(moof []byte) bool {
	c := child{moof}
	trafs := 0
	for {
		typ, p, ok := c.next()
		if !ok {
			break
		}
		if typ == "traf" {
			if !f.parseTraf(p) {
				return false
			}
			trafs++
		}
	}
	return len(c.b) == 0 && trafs > 0
}

// tfhd flags (ISO/IEC 14496-12 8.8.7).
const (
	tfhdBaseDataOffset      = 0x000001
	tfhdSampleDescIndex     = 0x000002
	tfhdDefaultDuration     = 0x000008
	tfhdDefaultSize         = 0x000010
	tfhdDefaultFlags        = 0x000020
	trunDataOffset          = 0x000001
	trunFirstSampleFlags    = 0x000004
	trunSampleDuration      = 0x000100
	trunSampleSize          = 0x000200
	trunSampleFlags         = 0x000400
	trunSampleCompositionTO = 0x000800
	// sampleIsNonSync is sample_is_non_sync_sample in sample flags.
	sampleIsNonSync = 0x00010000
)

func (f *fragment) parseTraf(traf []byte) bool {
	var (
		tr                 *trackTime
		base               = f.moofStart
		defDur, defSize    uint32
		defFlags           uint32
		haveTfhd, haveTfdt bool
		decodeTime         uint64
		dataPos            = int64(-1)
		sawTrun            bool
		c                  = child{traf}
	)
	for {
		typ, p, ok := c.next()
		if !ok {
			break
		}
		switch typ {
		case "tfhd":
			if len(p) < 8 {
				return false
			}
			flags := uint32(p[1])<<16 | uint32(p[2])<<8 | uint32(p[3])
			id := binary.BigEndian.Uint32(p[4:])
			for i := range f.tracks {
				if f.tracks[i].id == id {
					tr = &f.tracks[i]
				}
			}
			if tr == nil {
				return false
			}
			q := p[8:]
			take := func(n int) []byte {
				if len(q) < n {
					return nil
				}
				v := q[:n]
				q = q[n:]
				return v
			}
			if flags&tfhdBaseDataOffset != 0 {
				v := take(8)
				if v == nil || binary.BigEndian.Uint64(v) > math.MaxInt64 {
					return false
				}
				base = int64(binary.BigEndian.Uint64(v))
			}
			if flags&tfhdSampleDescIndex != 0 && take(4) == nil {
				return false
			}
			if flags&tfhdDefaultDuration != 0 {
				v := take(4)
				if v == nil {
					return false
				}
				defDur = binary.BigEndian.Uint32(v)
			}
			if flags&tfhdDefaultSize != 0 {
				v := take(4)
				if v == nil {
					return false
				}
				defSize = binary.BigEndian.Uint32(v)
			}
			if flags&tfhdDefaultFlags != 0 {
				v := take(4)
				if v == nil {
					return false
				}
				defFlags = binary.BigEndian.Uint32(v)
			}
			haveTfhd = true
		case "tfdt":
			if !haveTfhd || len(p) < 8 {
				return false
			}
			if p[0] == 1 {
				if len(p) < 12 {
					return false
				}
				decodeTime = binary.BigEndian.Uint64(p[4:])
			} else {
				decodeTime = uint64(binary.BigEndian.Uint32(p[4:]))
			}
			haveTfdt = true
		case "trun":
			if !haveTfhd {
				return false
			}
			if !haveTfdt {
				decodeTime = tr.endTicks
				haveTfdt = true
			}
			start := decodeTime
			var ok, any bool
			var firstFlags uint32
			dataPos, decodeTime, firstFlags, any, ok = f.parseTrun(p, base, dataPos, defDur, defSize, defFlags, decodeTime)
			if !ok {
				return false
			}
			if any && !tr.first {
				tr.first, tr.firstTicks, tr.firstFlags = true, start, firstFlags
			}
			sawTrun = true
		}
	}
	if len(c.b) != 0 || !haveTfhd {
		return false
	}
	if sawTrun && (!tr.seen || decodeTime > tr.endTicks) {
		tr.endTicks, tr.seen = decodeTime, true
	}
	return true
}

// parseTrun checks one trun and returns the position after its data, the
// decode time after its last sample, the flags of its first sample and
// whether it has any sample.
func (f *fragment) parseTrun(p []byte, base, dataPos int64, defDur, defSize, defFlags uint32, t uint64) (int64, uint64, uint32, bool, bool) {
	if len(p) < 8 {
		return 0, 0, 0, false, false
	}
	flags := uint32(p[1])<<16 | uint32(p[2])<<8 | uint32(p[3])
	count := uint64(binary.BigEndian.Uint32(p[4:]))
	q := p[8:]
	if flags&trunDataOffset != 0 {
		if len(q) < 4 {
			return 0, 0, 0, false, false
		}
		dataPos = base + int64(int32(binary.BigEndian.Uint32(q)))
		q = q[4:]
	} else if dataPos < 0 {
		dataPos = f.dataStart
	}
	firstFlags := defFlags
	if flags&trunFirstSampleFlags != 0 {
		if len(q) < 4 {
			return 0, 0, 0, false, false
		}
		firstFlags = binary.BigEndian.Uint32(q)
		q = q[4:]
	} else if flags&trunSampleFlags != 0 && count > 0 {
		// Each sample carries its flags after its duration and size.
		at := 0
		if flags&trunSampleDuration != 0 {
			at += 4
		}
		if flags&trunSampleSize != 0 {
			at += 4
		}
		if len(q) >= at+4 {
			firstFlags = binary.BigEndian.Uint32(q[at:])
		}
	}
	per := uint64(0)
	for _, fl := range []uint32{trunSampleDuration, trunSampleSize, trunSampleFlags, trunSampleCompositionTO} {
		if flags&fl != 0 {
			per += 4
		}
	}
	if count*per != uint64(len(q)) {
		return 0, 0, 0, false, false
	}
	var size uint64
	if per == 0 {
		// Every sample takes the defaults: no loop over a count that the
		// file may have made huge.
		size = count * uint64(defSize)
		dur := count * uint64(defDur)
		if (defSize != 0 && size/uint64(defSize) != count) || (defDur != 0 && dur/uint64(defDur) != count) || t > math.MaxUint64-dur {
			return 0, 0, 0, false, false
		}
		t += dur
	}
	for i := uint64(0); per != 0 && i < count; i++ {
		e := q[i*per:]
		d, s := defDur, defSize
		if flags&trunSampleDuration != 0 {
			d, e = binary.BigEndian.Uint32(e), e[4:]
		}
		if flags&trunSampleSize != 0 {
			s = binary.BigEndian.Uint32(e)
		}
		if t > math.MaxUint64-uint64(d) {
			return 0, 0, 0, false, false
		}
		t += uint64(d)
		size += uint64(s)
	}
	if dataPos < f.dataStart || dataPos > f.dataEnd || uint64(f.dataEnd-dataPos) < size {
		return 0, 0, 0, false, false
	}
	return dataPos + int64(size), t, firstFlags, count > 0, true
}
