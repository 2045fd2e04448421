// Package segment defines how recorded video is stored: fMP4 segment files
// whose path is the index (docs/format/segments.md), the Store contract that
// every storage backend implements (local disk in segment/fsstore, S3 later),
// and Scan, the reader that finds the complete fragments of a segment left
// half-written by a recorder that died.
//
// There is no database row per segment: a segment's path carries its camera,
// its start and its duration, so listing the hour directories of a time range
// rebuilds the timeline.
package segment

import (
	"context"
	"io"
	"time"
)

// MaxDuration is the longest a segment may be. List looks back one hour
// before the start of the range it is asked for, so a segment longer than
// this could be missed by a range that starts after its first hour. The
// recorder cuts segments well inside it.
const MaxDuration = time.Hour

// Store keeps the segments of many cameras. Implementations are safe for
// concurrent use. Errors that callers branch on are *argus.Error: EINVALID
// for a bad camera id or time, ENOTFOUND for a segment that is not there,
// ECONFLICT for a segment that exists already.
//
// A backend on object storage (S3) implements the same contract: Writer
// keeps the partial file on local disk (Stage writes into it ahead of its
// end) and uploads it at Finish; List then merges the local partials
// with the listed objects (prefix "<camera>/<date>/<hour>/").
type Store interface {
	// Create starts a new partial segment of camera starting at start
	// (truncated to the millisecond). ECONFLICT if the camera already has
	// a segment, partial or finished, with that start.
	Create(ctx context.Context, camera string, start time.Time) (Writer, error)
	// Open opens a segment for reading. A partial segment can be read
	// while it is being written: Size is then its size when opened.
	// ENOTFOUND if it is not there (for a partial: also when it was
	// finished in the meantime).
	Open(ctx context.Context, ref Ref) (Reader, error)
	// List returns camera's segments that overlap [from, to), finished and
	// partial, ordered by start, with their Size. A partial segment
	// overlaps when it starts before to. List reads only the hour
	// directories from the hour before from to the hour of to.
	List(ctx context.Context, camera string, from, to time.Time) ([]Ref, error)
	// Delete removes a segment (finished or partial). ENOTFOUND if it is
	// not there.
	Delete(ctx context.Context, ref Ref) error
	// Cameras returns the ids of the cameras that have segments, sorted.
	Cameras(ctx context.Context) ([]string, error)
	// Repair finishes or removes the partial segments that a recorder left
	// behind when it died, so call it once at start, before any Create.
	// Each camera has at most one segment in flight, its newest, so Repair
	// looks only at each camera's newest hour. A partial is truncated after
	// its last complete fragment (see Scan) and renamed to its finished
	// name; one without a complete fragment is removed. A partial that
	// cannot be repaired (an I/O error) stays where it is, listed as
	// partial, and its failure is part of the returned error; the others
	// are repaired all the same.
	Repair(ctx context.Context) ([]Repaired, error)
}

// Writer appends to one partial segment. It is not safe for concurrent use.
// After Finish or Abort every method fails.
type Writer interface {
	// Ref returns the partial segment being written.
	Ref() Ref
	// Append writes p (the init, or one whole fragment) at the end of the
	// segment in one write. It does not keep p. If the write fails the
	// segment is left as it was before the call, so it still ends on a
	// fragment boundary and can be finished.
	Append(ctx context.Context, p []byte) error
	// Stage writes the concatenation of p (in one vectored write where the
	// backend can) at off, which lies past the end of the segment, ahead
	// of the Commit that makes it part of the segment: a recorder writes a
	// fragment's media data as it arrives and its moof, which must come
	// first, at the fragment's end. Until then what lies past the end is
	// not part of the segment: Finish and Repair cut it off, and a reader
	// of the partial segment stops at the end's missing box. It does not
	// keep p. If the write fails, everything past the end is cut off.
	Stage(ctx context.Context, off int64, p ...[]byte) error
	// Commit writes head at the end of the segment and moves the end to
	// end (at least the end of head), taking in what was staged between.
	// If the write fails the segment is left as it was before the call,
	// staged bytes cut off.
	Commit(ctx context.Context, head []byte, end int64) error
	// Sync makes what was appended durable (fsync). Backends also sync at
	// Finish and at an interval of their own.
	Sync(ctx context.Context) error
	// Finish makes the segment durable under its finished name with the
	// given media duration (rounded to the millisecond) and returns it.
	Finish(ctx context.Context, duration time.Duration) (Ref, error)
	// Abort removes the partial segment.
	Abort(ctx context.Context) error
}

// Reader reads one segment.
type Reader interface {
	io.ReadSeekCloser
	io.ReaderAt
	// Size returns the segment's size in bytes.
	Size() int64
}

// Repaired reports what Store.Repair did with one partial segment.
type Repaired struct {
	// Partial is the partial segment that was found.
	Partial Ref
	// Finished is the segment it became; zero when it was removed.
	Finished Ref
	// Removed is true when the partial held no complete fragment and was
	// deleted.
	Removed bool
	// Dropped is the number of bytes cut off after the last complete
	// fragment.
	Dropped int64
}
