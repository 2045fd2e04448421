package retention

import (
	"time"

	"argus/internal/segment"
)

// Listing windows. A camera's oldest segments are found by listing windows
// forward from where the last listing stopped; an empty window doubles the
// next, up to maxWindow, so a long gap costs a few List calls, not one per
// hour. The count of a camera's bytes lists a day at a time.
const (
	minWindow   = time.Hour
	maxWindow   = 32 * 24 * time.Hour
	countWindow = 24 * time.Hour
	// maxHead bounds the segments one camera's head keeps in memory.
	maxHead = 256
	// settle is how recent a segment may start and still be left to the
	// next pass: a recorder creates a segment shortly after its first
	// sample, so the listings never go past now - settle.
	settle = time.Minute
	// rescanEvery is how often a camera's byte count and head are rebuilt
	// from a full listing, bounding the drift that deletions by anyone else
	// (or a segment created more than settle late) can cause.
	rescanEvery = 24 * time.Hour
)

// camState is what the sweeper keeps between passes about one camera: a
// cursor over its oldest segments and, for cameras under a byte quota, the
// bytes of its un-held segments. This is the sweeper's index; it is rebuilt
// from the store after a restart.
type camState struct {
	id string
	// head holds the camera's finished segments that start in
	// [front, headEnd), oldest first, minus those deleted since. Every
	// finished segment that starts before the head was deleted or is
	// held.
	head    []segment.Ref
	headEnd time.Time
	window  time.Duration
	// counted says bytes is the total size of the camera's finished,
	// un-held segments that start before countedTo, less what the sweeper
	// deleted since.
	counted   bool
	bytes     int64
	countedTo time.Time
	// scannedAt is when the head and the count were last rebuilt.
	scannedAt time.Time
	// failed marks a camera whose listing or deletion failed in this pass;
	// the rules skip it until the next pass.
	failed bool
}

func newCamState(id string, from, now time.Time) *camState {
	return &camState{id: id, headEnd: from, window: minWindow, scannedAt: now}
}

// front is where the head starts: no finished, un-held segment starts
// before it.
func (c *camState) front() time.Time {
	if len(c.head) > 0 {
		return c.head[0].Start
	}
	return c.headEnd
}

// rewind moves the head back to t, so the segments from t on are listed
// again (after a hold is released, a deletion failed, or at a rescan).
func (c *camState) rewind(t time.Time) {
	if t.Before(c.front()) {
		c.head, c.headEnd, c.window = nil, t, minWindow
	}
}

// reset drops the head and the count, to be rebuilt from t.
func (c *camState) reset(t, now time.Time) {
	c.head, c.headEnd, c.window = nil, t, minWindow
	c.counted, c.scannedAt = false, now
}

// forget accounts for a segment of the head that no longer exists.
func (c *camState) forget(r segment.Ref) {
	if len(c.head) > 0 && c.head[0].Start.Equal(r.Start) {
		c.head = c.head[1:]
	}
	if c.counted && r.Start.Before(c.countedTo) {
		c.bytes -= r.Size
	}
}
