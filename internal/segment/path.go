package segment

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"argus"
)

// File name suffixes of finished and partial segments.
const (
	finishedExt = ".mp4"
	partialExt  = ".part.mp4"
)

// maxMilli is the last Unix millisecond whose UTC date has four year digits
// (9999-12-31T23:59:59.999Z).
const maxMilli = 253402300799999

// Ref names one segment of one camera. Start and Duration have millisecond
// precision, as in the path; Start is in UTC.
type Ref struct {
	// Camera is the camera id (argus.ValidID).
	Camera string
	// Start is the wall-clock time of the segment's first sample.
	Start time.Time
	// Duration is the media duration of a finished segment; 0 while Partial.
	Duration time.Duration
	// Partial is true for a segment still being written (or left behind by
	// a recorder that died and not yet repaired).
	Partial bool
	// Size is the segment's size in bytes when the store knows it; the path
	// does not carry it, so Parse leaves it 0.
	Size int64
}

// End returns Start + Duration.
func (r Ref) End() time.Time { return r.Start.Add(r.Duration) }

// Path returns the segment's slash-separated path relative to the store
// root: "<camera>/<YYYY-MM-DD>/<HH>/<start-ms>-<duration-ms>.mp4" for a
// finished segment, "<camera>/<YYYY-MM-DD>/<HH>/<start-ms>.part.mp4" for a
// partial one. The date and hour are those of Start in UTC.
func (r Ref) Path() string {
	ms := r.Start.UnixMilli()
	var b strings.Builder
	b.Grow(len(r.Camera) + 48)
	b.WriteString(HourDir(r.Camera, r.Start))
	b.WriteByte('/')
	b.WriteString(strconv.FormatInt(ms, 10))
	if r.Partial {
		b.WriteString(partialExt)
	} else {
		b.WriteByte('-')
		b.WriteString(strconv.FormatInt(r.Duration.Milliseconds(), 10))
		b.WriteString(finishedExt)
	}
	return b.String()
}

// HourDir returns the directory "<camera>/<YYYY-MM-DD>/<HH>" that holds the
// segments of camera starting in t's UTC hour.
func HourDir(camera string, t time.Time) string {
	return camera + "/" + t.UTC().Format("2006-01-02/15")
}

// Validate checks that r can be stored: a valid camera id, a start between
// 1970 and the end of year 9999, a duration that is not negative and a
// partial segment without a duration. Failures are EINVALID *argus.Error.
func (r Ref) Validate() error {
	switch {
	case !argus.ValidID(r.Camera):
		return argus.FieldErrorf("camera", "camera %q is not a valid id", r.Camera)
	case r.Start.UnixMilli() < 0 || r.Start.UnixMilli() > maxMilli:
		return argus.FieldErrorf("start", "segment start %v is out of range", r.Start)
	case r.Duration < 0 || r.Start.UnixMilli()+r.Duration.Milliseconds() > maxMilli:
		return argus.FieldErrorf("duration", "segment duration %v is out of range", r.Duration)
	case r.Partial && r.Duration != 0:
		return argus.FieldErrorf("duration", "a partial segment has no duration")
	}
	return nil
}

// Parse reads a segment path as written by Ref.Path. It accepts only the
// canonical form (no leading zeros, date and hour directories matching the
// start), so Parse(p).Path() == p for every p it accepts.
func Parse(p string) (Ref, error) {
	parts := strings.Split(p, "/")
	if len(parts) != 4 {
		return Ref{}, fmt.Errorf("segment path %q: want camera/date/hour/file", p)
	}
	r, err := ParseName(parts[0], parts[3])
	if err != nil {
		return Ref{}, err
	}
	if want := HourDir(r.Camera, r.Start); p[:strings.LastIndexByte(p, '/')] != want {
		return Ref{}, fmt.Errorf("segment path %q: start is in %s", p, want)
	}
	return r, nil
}

// ParseName reads the file name of one of camera's segments (the last
// element of its path) without checking the directories above it.
func ParseName(camera, name string) (Ref, error) {
	r := Ref{Camera: camera}
	if !argus.ValidID(camera) {
		return Ref{}, fmt.Errorf("segment %q: camera %q is not a valid id", name, camera)
	}
	var start, dur string
	switch {
	case strings.HasSuffix(name, partialExt):
		start = strings.TrimSuffix(name, partialExt)
		r.Partial = true
	case strings.HasSuffix(name, finishedExt):
		var ok bool
		start, dur, ok = strings.Cut(strings.TrimSuffix(name, finishedExt), "-")
		if !ok {
			return Ref{}, fmt.Errorf("segment %q: no duration", name)
		}
	default:
		return Ref{}, fmt.Errorf("segment %q: not a segment file name", name)
	}
	ms, err := parseMilli(start)
	if err != nil {
		return Ref{}, fmt.Errorf("segment %q: start: %w", name, err)
	}
	r.Start = time.UnixMilli(ms).UTC()
	if !r.Partial {
		d, err := parseMilli(dur)
		if err != nil {
			return Ref{}, fmt.Errorf("segment %q: duration: %w", name, err)
		}
		if ms+d > maxMilli {
			return Ref{}, fmt.Errorf("segment %q: end out of range", name)
		}
		r.Duration = time.Duration(d) * time.Millisecond
	}
	return r, nil
}

var errBadNumber = errors.New("want a decimal number of milliseconds without leading zeros")

// parseMilli reads a canonical non-negative decimal no greater than maxMilli.
func parseMilli(s string) (int64, error) {
	if s == "" || len(s) > 15 || (len(s) > 1 && s[0] == '0') {
		return 0, errBadNumber
	}
	var n int64
	for i := range len(s) {
		c := s[i]
		if c < '0' || c > '9' {
			return 0, errBadNumber
		}
		n = n*10 + int64(c-'0')
	}
	if n > maxMilli {
		return 0, errBadNumber
	}
	return n, nil
}
