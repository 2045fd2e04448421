// Package record writes a camera's access units, as the stream hub hands
// them out, into fMP4 segments in a segment.Store.
//
// A Writer cuts a new segment at the first keyframe after SegmentDuration,
// and a new fragment at a keyframe once the fragment is half of
// FragmentDuration long, or at any frame once it is FragmentDuration long.
// A fragment is handed to the store in one Append when it ends, or, when
// the caller calls Stage as units arrive, its media data goes to the store
// as it comes (segment.Writer's Stage) and its moof follows at its end
// (Commit), so that a camera holds only the units since the last Stage in
// memory; each segment starts with its own init, so it plays on its own. A change
// of *hub.Media (new codec parameters, new resolution) starts a new
// segment. docs/record.md describes the policy and what a crash costs.
package record

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"sync"
	"time"

	"argus"
	"argus/internal/hub"
	"argus/internal/segment"
)

// Defaults for Options.
const (
	DefaultSegmentDuration  = 60 * time.Second
	DefaultFragmentDuration = time.Second
)

const (
	// maxSampleGap is the largest step between two units of a track that
	// is still one continuous timeline; a larger step, or one backwards,
	// ends the segment.
	maxSampleGap = 10 * time.Second
	// maxDrift is how far a segment's start, carried forward on the media
	// clock from the segment before, may stray from the wall clock of its
	// first unit before the writer starts over from the wall clock.
	maxDrift = time.Second
	// maxFragmentBytes cuts a fragment early when a stream's bitrate would
	// make it large.
	maxFragmentBytes = 32 << 20
	// guessVideoRate and guessAudioRate are the sample rates (per second)
	// a Writer assumes for a track's first staged fragment, to leave room
	// for its moof; later fragments go by the most samples one held.
	guessVideoRate, guessAudioRate = 30, 50
)

// Options configures a Writer.
type Options struct {
	// SegmentDuration is the target length of a segment: a segment ends at
	// the first keyframe at or after it. Zero means 60 s; 1 s to 30 min.
	SegmentDuration time.Duration
	// FragmentDuration bounds a fragment, and so what a crash can lose: a
	// fragment ends at a keyframe once it is half this long, or at any
	// frame once it is this long. Zero means 1 s; 100 ms up to
	// SegmentDuration.
	FragmentDuration time.Duration
	// Logger receives segment and error reports; nil discards them.
	Logger *slog.Logger
	// Buffers, when set, lends the buffers fragments are laid out in (as
	// *[]byte), so that the cameras of a Manager share a few instead of
	// each keeping one a fragment long; nil keeps one per Writer.
	Buffers *sync.Pool
}

// Writer records one camera. It is not safe for concurrent use: one
// goroutine (the camera's hub reader) calls WriteUnit and then Close.
type Writer struct {
	store   segment.Store
	camera  string
	segDur  time.Duration
	fragDur time.Duration
	log     *slog.Logger

	media  *hub.Media
	layout *layout // nil while the Media cannot be recorded
	// tracks is indexed like media.Tracks; frags points at the ft of the
	// recorded ones, in fMP4 track id order.
	tracks []track
	frags  []*fragTrack
	// Primary track constants, in its clock.
	segTicks, fragTicks, maxTicks int64

	// seg is the segment being written; nil while waiting for a keyframe.
	// size is its end: the init and the fragments committed.
	seg     segment.Writer
	size    int64
	startMs int64
	seq     uint32
	// endDTS is the end of the last primary sample in a fragment that
	// reached the store; written says whether one did.
	endDTS  int64
	written bool
	// The fragment being built: the first and end decode times of its
	// primary samples, whether it has any, and its mdat size.
	fragFirst, fragEnd int64
	fragPrimary        bool
	fragBytes          int
	buf                []byte     // the fragment's bytes, without bufs
	bufs               *sync.Pool // lends buf instead (Options.Buffers)
	// Staging (see Stage): once the fragment's first data is staged,
	// reserve is the room left before it for the moof and the mdat
	// header, and staged the primary track's bytes on disk after it.
	// expect[i] is the most samples frags[i] had in a fragment, and
	// counts is scratch for fits.
	reserve int
	staged  int64
	expect  []int
	counts  []int
	// Scratch for staged writes: the pieces of the data (iov), the bytes
	// among them the writer builds (NAL unit lengths, LPCM), and the moof
	// and mdat header.
	iov     [][]byte
	scratch []byte
	head    []byte

	// The timeline anchor: the primary decode time anchorDTS happened at
	// Unix millisecond anchorMs. Segment starts and ends are carried on
	// the media clock from it, so consecutive segments join exactly.
	anchored            bool
	anchorMs, anchorDTS int64
	anchorRate          int64
	lastStartMs         int64

	closed bool
}

// track is the state of one Media track.
type track struct {
	ft   fragTrack
	rate int64
	// zero is the decode time of the segment's time zero in this track's
	// clock; samples before it are not recorded.
	zero int64
	// pending is the last unit received: its duration is known only when
	// the next one arrives.
	pending     *hub.Unit
	pendingSize int
	lastDur     int64
	maxGap      int64
}

// NewWriter returns a Writer that records camera into store. Invalid
// options are an EINVALID *argus.Error naming the field.
func NewWriter(store segment.Store, camera string, opts Options) (*Writer, error) {
	if !argus.ValidID(camera) {
		return nil, argus.FieldErrorf("camera", "camera %q is not a valid id", camera)
	}
	w := &Writer{
		store:   store,
		camera:  camera,
		segDur:  cmp.Or(opts.SegmentDuration, DefaultSegmentDuration),
		fragDur: cmp.Or(opts.FragmentDuration, DefaultFragmentDuration),
		log:     opts.Logger,
		bufs:    opts.Buffers,
	}
	if w.segDur < time.Second || w.segDur > 30*time.Minute {
		return nil, argus.FieldErrorf("segment_duration", "segment duration %v is outside 1s..30m", w.segDur)
	}
	if w.fragDur < 100*time.Millisecond || w.fragDur > w.segDur {
		return nil, argus.FieldErrorf("fragment_duration", "fragment duration %v is outside 100ms..%v", w.fragDur, w.segDur)
	}
	if w.log == nil {
		w.log = slog.New(slog.DiscardHandler)
	}
	w.log = w.log.With("camera", camera)
	return w, nil
}

var errClosed = errors.New("record: writer is closed")

// WriteUnit records one access unit. Units before the first keyframe of a
// Media, units of tracks that fMP4 cannot carry and units whose decode time
// does not move forward are dropped. An error reports a store failure (the
// segment in flight is then finished at its last whole fragment, and
// recording resumes at the next keyframe) or a Media that cannot be
// recorded (reported once; its units are dropped until the next Media).
func (w *Writer) WriteUnit(ctx context.Context, u *hub.Unit) error {
	if w.closed {
		return errClosed
	}
	if u.Media == nil || u.Track < 0 || u.Track >= len(u.Media.Tracks) {
		return fmt.Errorf("record camera %s: unit for track %d of a media with none such", w.camera, u.Track)
	}
	if u.Media != w.media {
		if err := w.setMedia(ctx, u.Media); err != nil {
			return err
		}
	}
	if w.layout == nil {
		return nil
	}
	t := &w.tracks[u.Track]
	if t.ft.id == 0 {
		return nil
	}
	size := sampleSize(t.ft.codec, u)
	if size == 0 || uint64(size) > math.MaxUint32 {
		return nil
	}
	if u.Track == w.layout.primary {
		return w.writePrimary(ctx, t, u, size)
	}
	return w.writeOther(ctx, t, u, size)
}

// isKey reports whether a primary unit can start a segment: a video
// keyframe, or any unit of an audio-only Media.
func isKey(t *track, u *hub.Unit) bool { return u.Key || !t.ft.video }

func (w *Writer) writePrimary(ctx context.Context, t *track, u *hub.Unit, size int) error {
	if w.seg == nil {
		if !isKey(t, u) {
			return nil
		}
		return w.startSegment(ctx, u, size)
	}
	p := t.pending
	d := u.DTS - p.DTS
	switch {
	case d == 0 || (d < 0 && !u.Wall.After(p.Wall)):
		// Recorded already: a reader that was dropped and attached again
		// restarts on the hub's cached GOP, whose units are not newer.
		return nil
	case d < 0 || d > t.maxGap:
		w.log.Info("timestamp discontinuity, ending segment", "step", d, "clock_rate", t.rate)
		err := w.endSegment(ctx)
		w.anchored = false
		if isKey(t, u) {
			err = errors.Join(err, w.startSegment(ctx, u, size))
		}
		return err
	}
	t.lastDur = d
	if !w.fits() {
		if err := w.flush(ctx); err != nil {
			return errors.Join(err, w.restart(ctx, t, u, size))
		}
	}
	w.add(t, p, t.pendingSize, d)
	elapsed := u.DTS - t.zero
	if (isKey(t, u) && elapsed >= w.segTicks) || elapsed+d > w.maxTicks {
		if !isKey(t, u) {
			w.log.Warn("no keyframe for too long, cutting the segment at a non-keyframe", "max_duration", segment.MaxDuration)
		}
		w.takeOthers(u.DTS, t.rate)
		err := w.finishSegment(ctx)
		return errors.Join(err, w.startSegment(ctx, u, size))
	}
	// A fragment ends at a keyframe once it is half of FragmentDuration
	// long (so a fragment is a GOP when GOPs are short, without making
	// one per frame of an all-intra stream), or at any frame once it is
	// FragmentDuration long.
	fragElapsed := u.DTS - w.fragFirst
	if (u.Key && t.ft.video && 2*fragElapsed >= w.fragTicks) || fragElapsed >= w.fragTicks || w.fragBytes >= maxFragmentBytes {
		if err := w.flush(ctx); err != nil {
			return errors.Join(err, w.restart(ctx, t, u, size))
		}
	}
	t.pending, t.pendingSize = u, size
	return nil
}

// restart starts a segment at u, if it is a keyframe, after a failed write
// closed the last one.
func (w *Writer) restart(ctx context.Context, t *track, u *hub.Unit, size int) error {
	if w.seg != nil || !isKey(t, u) {
		return nil
	}
	return w.startSegment(ctx, u, size)
}

func (w *Writer) writeOther(ctx context.Context, t *track, u *hub.Unit, size int) error {
	if w.seg == nil || u.DTS < t.zero {
		return nil
	}
	if p := t.pending; p != nil {
		// A hole in an audio track (lost packets, a muted source) becomes
		// the pending sample's duration, which keeps what follows in place.
		d := u.DTS - p.DTS
		if d <= 0 || d > math.MaxUint32 {
			return nil
		}
		if d <= t.maxGap {
			t.lastDur = d
		}
		if !w.fits() {
			if err := w.flush(ctx); err != nil {
				return err
			}
		}
		w.add(t, p, t.pendingSize, d)
	}
	t.pending, t.pendingSize = u, size
	return nil
}

// usualDur is the duration given to a sample whose successor is unknown.
func (t *track) usualDur() int64 {
	if t.lastDur > 0 {
		return t.lastDur
	}
	if t.ft.video {
		return t.rate / 25
	}
	return t.rate / 50
}

// add appends a sample to the fragment being built.
func (w *Writer) add(t *track, u *hub.Unit, size int, d int64) {
	if len(t.ft.samples) == 0 {
		t.ft.base = uint64(u.DTS - t.zero)
	}
	t.ft.samples = append(t.ft.samples, sample{u: u, dur: uint32(d), size: uint32(size), key: u.Key, cto: int32(u.PTS - u.DTS)})
	w.fragBytes += size
	if &w.tracks[w.layout.primary] == t {
		if !w.fragPrimary {
			w.fragFirst, w.fragPrimary = u.DTS, true
		}
		w.fragEnd = u.DTS + d
	}
}

// takeOthers adds to the fragment the pending samples of the non-primary
// tracks that start before the cut at primary decode time cut; later ones
// stay pending for the next segment.
func (w *Writer) takeOthers(cut, rate int64) {
	for i := range w.tracks {
		t := &w.tracks[i]
		if i == w.layout.primary || t.pending == nil {
			continue
		}
		if t.pending.DTS < rescale(cut, rate, t.rate) {
			w.add(t, t.pending, t.pendingSize, t.usualDur())
			t.pending = nil
		}
	}
}

// startSegment creates a segment whose first primary sample is u.
func (w *Writer) startSegment(ctx context.Context, u *hub.Unit, size int) error {
	pt := &w.tracks[w.layout.primary]
	startMs := w.startTime(u, pt.rate)
	seg, err := w.store.Create(ctx, w.camera, time.UnixMilli(startMs))
	if err != nil {
		return fmt.Errorf("record camera %s: %w", w.camera, err)
	}
	if err := seg.Append(ctx, w.layout.init); err != nil {
		return errors.Join(fmt.Errorf("record camera %s: %w", w.camera, err), seg.Abort(ctx))
	}
	w.size = int64(len(w.layout.init))
	w.seg, w.startMs, w.lastStartMs, w.seq, w.written = seg, startMs, startMs, 0, false
	w.endDTS = u.DTS
	for i := range w.tracks {
		t := &w.tracks[i]
		t.zero = rescale(u.DTS, pt.rate, t.rate)
		if t.pending != nil && t.pending.DTS < t.zero {
			t.pending = nil
		}
	}
	pt.pending, pt.pendingSize = u, size
	return nil
}

// startTime returns the Unix millisecond at which a segment starting with
// u starts: carried forward on the media clock from the anchor, or u's wall
// clock when there is no anchor or the two differ by more than maxDrift.
func (w *Writer) startTime(u *hub.Unit, rate int64) int64 {
	wall := u.Wall
	if wall.IsZero() {
		wall = time.Now()
	}
	wallMs := wall.UnixMilli()
	var ms int64
	if w.anchored && w.anchorRate == rate {
		ms = w.anchorMs + rescale(u.DTS-w.anchorDTS, rate, 1000)
		if diff := ms - wallMs; diff > maxDrift.Milliseconds() || -diff > maxDrift.Milliseconds() {
			w.log.Info("media clock strayed from the wall clock, re-anchoring", "drift_ms", diff)
			w.anchored = false
		}
	}
	if !w.anchored || w.anchorRate != rate {
		w.anchored, w.anchorMs, w.anchorDTS, w.anchorRate = true, wallMs, u.DTS, rate
		ms = wallMs
	}
	return max(ms, w.lastStartMs+1)
}

// flush writes the fragment being built, if it holds any sample.
func (w *Writer) flush(ctx context.Context) error {
	empty := true
	for _, f := range w.frags {
		empty = empty && len(f.samples) == 0
	}
	if empty {
		return nil
	}
	w.seq++
	primary := &w.tracks[w.layout.primary].ft
	var err error
	if w.reserve == 0 {
		buf := w.lend()
		*buf = appendFragment((*buf)[:0], w.seq, w.frags, primary)
		if err = w.seg.Append(ctx, *buf); err == nil {
			w.size += int64(len(*buf))
		}
		w.giveBack(buf)
	} else {
		err = w.commit(ctx, primary)
	}
	for i, f := range w.frags {
		w.expect[i] = max(w.expect[i], len(f.samples))
		for _, s := range f.samples {
			if s.u != nil {
				// Copied into the fragment, or written: the unit's buffers
				// can go back to their source (when the recorder is its
				// only reader).
				s.u.Release()
			}
		}
		clear(f.samples) // drop the unit references
		f.samples, f.staged = f.samples[:0], 0
	}
	end, primaryDone := w.fragEnd, w.fragPrimary
	w.fragPrimary, w.fragBytes, w.reserve, w.staged = false, 0, 0, 0
	if err != nil {
		// The store left the segment at its last whole fragment: finish
		// it there and start again at the next keyframe.
		err = fmt.Errorf("record camera %s: %w", w.camera, err)
		return errors.Join(err, w.closeSegment(ctx))
	}
	w.written = true
	if primaryDone {
		w.endDTS = end
	}
	return nil
}

// commit ends a fragment whose data was staged in part: it stages the rest,
// then writes the moof and the mdat header in the room left for them.
func (w *Writer) commit(ctx context.Context, primary *fragTrack) error {
	m := moofSize(w.frags)
	if m+8 > w.reserve {
		return fmt.Errorf("fragment's moof of %d bytes outgrew the %d reserved for it", m, w.reserve)
	}
	dataAt := w.size + int64(w.reserve)
	w.iov, w.scratch = appendDataIov(w.iov[:0], w.scratch[:0], w.frags, primary, primary.staged)
	n := 0
	for _, b := range w.iov {
		n += len(b)
	}
	if n > 0 {
		err := w.seg.Stage(ctx, dataAt+w.staged, w.iov...)
		clear(w.iov) // drop the references to the units' bytes
		if err != nil {
			return err
		}
	}
	end := dataAt + w.staged + int64(n)
	// The mdat begins right after the moof; its first bytes, up to the
	// staged data, are unused.
	w.head = appendMoof(w.head[:0], w.seq, w.frags, primary, w.reserve)
	w.head = box(w.head, int(end-w.size)-m, "mdat")
	if err := w.seg.Commit(ctx, w.head, end); err != nil {
		return err
	}
	w.size = end
	return nil
}

// Stage writes the data of the primary track's samples gathered since the
// last call to the store ahead of the fragment's end (segment.Writer's
// Stage, straight from the units' buffers), and lets go of their units: a
// caller that calls it after each batch of units holds no more than a batch
// per camera in memory, instead of a fragment. The first call in a fragment
// leaves room before the data for the fragment's moof, sized by the most
// samples a fragment held so far (and a fragment ends early rather than
// outgrow it). A store failure ends the segment at its last whole fragment,
// like one of WriteUnit.
func (w *Writer) Stage(ctx context.Context) error {
	if w.closed || w.seg == nil {
		return nil
	}
	ft := &w.tracks[w.layout.primary].ft
	if ft.staged == len(ft.samples) {
		return nil
	}
	if w.reserve == 0 {
		w.reserve = w.reservation()
	}
	iov, scratch := w.iov[:0], w.scratch[:0]
	n := int64(0)
	for i := ft.staged; i < len(ft.samples); i++ {
		iov, scratch = appendIov(iov, scratch, ft.codec, ft.samples[i].u)
		n += int64(ft.samples[i].size)
	}
	err := w.seg.Stage(ctx, w.size+int64(w.reserve)+w.staged, iov...)
	clear(iov)
	w.iov, w.scratch = iov[:0], scratch[:0]
	for i := ft.staged; i < len(ft.samples); i++ {
		// Written (or failed): the unit's bytes are not needed any more.
		ft.samples[i].u.Release()
		ft.samples[i].u = nil
	}
	if err != nil {
		err = fmt.Errorf("record camera %s: %w", w.camera, err)
		return errors.Join(err, w.closeSegment(ctx))
	}
	w.staged += n
	ft.staged = len(ft.samples)
	return nil
}

// Unstaged returns how many bytes of the primary track's data Stage would
// write now.
func (w *Writer) Unstaged() int {
	if w.closed || w.seg == nil {
		return 0
	}
	ft := &w.tracks[w.layout.primary].ft
	n := 0
	for _, s := range ft.samples[ft.staged:] {
		n += int(s.size)
	}
	return n
}

// reservation returns the room to leave for the moof (and the mdat header)
// of the fragment being built: a quarter more samples per track than the
// most a fragment held so far (or than guessed from FragmentDuration for
// the first), and never less than fits needs now.
func (w *Writer) reservation() int {
	for i, f := range w.frags {
		n := w.expect[i]
		if n == 0 {
			rate := guessAudioRate
			if f.video {
				rate = guessVideoRate
			}
			n = int((w.fragDur*time.Duration(rate) + time.Second - 1) / time.Second)
		}
		w.counts[i] = max(n+n/4, len(f.samples)) + 2
	}
	return moofBound(w.frags, w.counts) + 8
}

// fits reports whether the fragment being built has room for two more
// samples in every track (the one about to be added, and the pending one
// that ending the segment adds): always, unless its data is being staged,
// when its moof must fit the room reserved for it.
func (w *Writer) fits() bool {
	if w.reserve == 0 {
		return true
	}
	for i, f := range w.frags {
		w.counts[i] = len(f.samples) + 2
	}
	return moofBound(w.frags, w.counts)+8 <= w.reserve
}

// lend returns a buffer to lay out fragment bytes in; giveBack returns it.
func (w *Writer) lend() *[]byte {
	if w.bufs == nil {
		return &w.buf
	}
	if b, ok := w.bufs.Get().(*[]byte); ok {
		return b
	}
	return new([]byte)
}

func (w *Writer) giveBack(b *[]byte) {
	if w.bufs != nil {
		w.bufs.Put(b)
	}
}

// finishSegment writes the fragment being built and finishes the segment.
func (w *Writer) finishSegment(ctx context.Context) error {
	if err := w.flush(ctx); err != nil {
		return err
	}
	return w.closeSegment(ctx)
}

// endSegment gives the pending samples their usual duration, then writes
// them and finishes the segment: for Close, a Media change or a
// discontinuity, when no next unit tells how long they last.
func (w *Writer) endSegment(ctx context.Context) error {
	if w.seg == nil {
		return nil
	}
	for i := range w.tracks {
		t := &w.tracks[i]
		if t.pending != nil {
			w.add(t, t.pending, t.pendingSize, t.usualDur())
			t.pending = nil
		}
	}
	return w.finishSegment(ctx)
}

// closeSegment finishes the segment at the end of its last fragment in the
// store, or removes it if it holds none.
func (w *Writer) closeSegment(ctx context.Context) error {
	seg := w.seg
	w.seg = nil
	for i := range w.tracks {
		w.tracks[i].pending = nil
		clear(w.tracks[i].ft.samples)
		w.tracks[i].ft.samples, w.tracks[i].ft.staged = w.tracks[i].ft.samples[:0], 0
	}
	w.fragPrimary, w.fragBytes, w.reserve, w.staged = false, 0, 0, 0
	if !w.written {
		if err := seg.Abort(ctx); err != nil {
			return fmt.Errorf("record camera %s: %w", w.camera, err)
		}
		return nil
	}
	pt := &w.tracks[w.layout.primary]
	endMs := w.anchorMs + rescale(w.endDTS-w.anchorDTS, pt.rate, 1000)
	ref, err := seg.Finish(ctx, time.Duration(max(endMs-w.startMs, 0))*time.Millisecond)
	if err != nil {
		return fmt.Errorf("record camera %s: %w", w.camera, err)
	}
	w.log.Debug("segment finished", "segment", ref.Path(), "size", ref.Size, "fragments", w.seq)
	return nil
}

// setMedia ends the segment of the previous Media and lays out the tracks
// of m.
func (w *Writer) setMedia(ctx context.Context, m *hub.Media) error {
	err := w.endSegment(ctx)
	w.media = m
	l, lerr := newLayout(m)
	if lerr != nil {
		w.layout = nil
		w.log.Error("media cannot be recorded", "err", lerr)
		return errors.Join(err, fmt.Errorf("record camera %s: %w", w.camera, lerr))
	}
	for _, s := range l.skipped {
		w.log.Warn("track not recorded", "track", s)
	}
	w.layout = l
	w.tracks = make([]track, len(m.Tracks))
	w.frags = w.frags[:0]
	for i, mt := range m.Tracks {
		t := &w.tracks[i]
		t.ft = fragTrack{id: l.ids[i], codec: mt.Codec, video: mt.Codec.IsVideo()}
		t.rate = int64(mt.ClockRate)
		t.maxGap = durToTicks(maxSampleGap, t.rate)
	}
	for i := range w.tracks { // ids were given in Media order
		if w.tracks[i].ft.id != 0 {
			w.frags = append(w.frags, &w.tracks[i].ft)
		}
	}
	w.expect, w.counts = make([]int, len(w.frags)), make([]int, len(w.frags))
	pt := &w.tracks[l.primary]
	w.segTicks = durToTicks(w.segDur, pt.rate)
	w.fragTicks = durToTicks(w.fragDur, pt.rate)
	w.maxTicks = durToTicks(segment.MaxDuration, pt.rate)
	return err
}

// Close finishes the segment in flight. The Writer cannot be used after.
func (w *Writer) Close(ctx context.Context) error {
	if w.closed {
		return nil
	}
	w.closed = true
	return w.endSegment(ctx)
}

// rescale converts v from one clock rate to another, rounding toward zero,
// without overflow for any realistic v.
func rescale(v, from, to int64) int64 {
	return v/from*to + v%from*to/from
}

func durToTicks(d time.Duration, rate int64) int64 {
	return rescale(int64(d), int64(time.Second), rate)
}
