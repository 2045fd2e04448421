package segment

import (
	"io"
	"time"
)

// Fragment locates one complete fragment (a moof and its mdat) of a
// segment file.
type Fragment struct {
	// Index counts the segment's complete fragments from 0.
	Index int
	// Offset is where the moof starts; Size covers the moof and the mdat.
	Offset, Size int64
	// Start and End are the decode times of the primary track's first
	// sample and of the end of its last one, since the segment's time zero.
	Start, End time.Duration
	// Key says whether the primary track's first sample is a sync sample
	// (a keyframe): playback and export may start there.
	Key bool
}

// Layout is what ReadLayout finds in a segment file.
type Layout struct {
	// InitSize is the size of ftyp and moov together; the init is the
	// file's first InitSize bytes.
	InitSize int64
	// Fragments are the complete fragments that hold a sample of the
	// primary track, in file order.
	Fragments []Fragment
	// Duration is as in Scanned.
	Duration time.Duration
}

// ReadLayout reads a segment file's init and locates its complete
// fragments, reading box headers and moofs only (never an mdat). Like Scan,
// it stops at the first box that cannot be trusted and fails only when the
// init is unusable.
func ReadLayout(r io.ReaderAt, size int64) (Layout, error) {
	var l Layout
	s, _, err := walk(r, size, func(f Fragment) { l.Fragments = append(l.Fragments, f) })
	if err != nil {
		return Layout{}, err
	}
	l.InitSize, l.Duration = s.InitSize, s.Duration
	return l, nil
}

// At returns the index in l.Fragments of the last fragment that starts with
// a keyframe at or before t (time since the segment's time zero), and
// false when no keyframe fragment starts at or before t.
func (l *Layout) At(t time.Duration) (int, bool) {
	found := -1
	for i, f := range l.Fragments {
		if f.Start > t {
			break
		}
		if f.Key {
			found = i
		}
	}
	return found, found >= 0
}
