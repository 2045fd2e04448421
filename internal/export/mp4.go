package export

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/bluenviron/mediacommon/v2/pkg/formats/fmp4"
	"github.com/bluenviron/mediacommon/v2/pkg/formats/pmp4"

	"argus/internal/segment"
)

// maxPartData bounds the media data of one MP4 file: the 32-bit chunk
// offsets of a plain MP4 reach 4 GiB. A longer export is cut into parts.
const maxPartData = 3 << 30

// source is one recorded segment an export reads.
type source struct {
	ref    segment.Ref
	layout segment.Layout
	init   []byte
	tracks map[int]uint32 // timescale by track id
	frags  []segment.Fragment
}

// trackOut collects one output track's samples and their absolute decode
// times (ticks since the Unix epoch in the track's timescale).
type trackOut struct {
	t   *pmp4.Track
	abs []uint64
}

// cameraWriter remuxes one camera's fragments into MP4 files.
type cameraWriter struct {
	ctx    context.Context
	store  segment.Store
	dir    string
	camera string
	from   time.Time
	to     time.Time

	// progress is called with the bytes of source fragments read.
	progress func(int64)

	files  []string // names written, in order
	actual [2]time.Time

	// The part being built.
	init   []byte
	tracks map[int]*trackOut
	order  []int
	data   int64
	origin time.Time // absolute time of the part's first video sample

	// One open segment and the last fragments parsed, for GetPayload.
	open  segment.Ref
	rd    segment.Reader
	cache [2]parsed
	next  int
}

// parsed is one fragment read and parsed.
type parsed struct {
	ref   segment.Ref
	off   int64
	parts fmp4.Parts
}

// plan returns the segments and fragments of the camera that cover [from,
// to): from the keyframe at or before from (or the first keyframe after it
// when nothing was recorded at from) to the last fragment that starts
// before to, and the bytes of those fragments.
func plan(ctx context.Context, store segment.Store, camera string, from, to time.Time) ([]*source, int64, error) {
	refs, err := store.List(ctx, camera, from, to)
	if err != nil {
		return nil, 0, fmt.Errorf("list recordings of %s: %w", camera, err)
	}
	var out []*source
	var total int64
	started := false
	for _, ref := range refs {
		src, err := readSource(ctx, store, ref)
		if err != nil {
			return nil, 0, err
		}
		start := 0
		if !started {
			k, ok := src.layout.At(from.Sub(ref.Start))
			if !ok {
				// from precedes this segment: start at its first keyframe.
				k = -1
				for i, f := range src.layout.Fragments {
					if f.Key {
						k = i
						break
					}
				}
				if k < 0 {
					continue
				}
			}
			start = k
		}
		for _, f := range src.layout.Fragments[start:] {
			if !ref.Start.Add(f.Start).Before(to) {
				break
			}
			src.frags = append(src.frags, f)
			total += f.Size
		}
		if len(src.frags) > 0 {
			started = true
			out = append(out, src)
		}
	}
	return out, total, nil
}

func readSource(ctx context.Context, store segment.Store, ref segment.Ref) (*source, error) {
	rd, err := store.Open(ctx, ref)
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", ref.Path(), err)
	}
	defer rd.Close()
	l, err := segment.ReadLayout(rd, rd.Size())
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", ref.Path(), err)
	}
	init := make([]byte, l.InitSize)
	if _, err := rd.ReadAt(init, 0); err != nil {
		return nil, fmt.Errorf("read init of %s: %w", ref.Path(), err)
	}
	var in fmp4.Init
	if err := in.Unmarshal(bytes.NewReader(init)); err != nil {
		return nil, fmt.Errorf("parse init of %s: %w", ref.Path(), err)
	}
	src := &source{ref: ref, layout: l, init: init, tracks: make(map[int]uint32)}
	for _, t := range in.Tracks {
		src.tracks[t.ID] = t.TimeScale
	}
	return src, nil
}

// write remuxes srcs into the camera's MP4 files in w.dir.
func (w *cameraWriter) write(srcs []*source) error {
	defer w.closeOpen()
	for _, src := range srcs {
		if w.init != nil && !bytes.Equal(w.init, src.init) {
			// New parameters: a new file with its own sample entries.
			if err := w.flush(); err != nil {
				return err
			}
		}
		if w.init == nil {
			if err := w.begin(src); err != nil {
				return err
			}
		}
		for _, f := range src.frags {
			if err := w.ctx.Err(); err != nil {
				return err
			}
			if w.data >= maxPartData && f.Key {
				if err := w.flush(); err != nil {
					return err
				}
				if err := w.begin(src); err != nil {
					return err
				}
			}
			if err := w.add(src, f); err != nil {
				return err
			}
			w.progress(f.Size)
		}
	}
	return w.flush()
}

// begin starts a part with src's tracks.
func (w *cameraWriter) begin(src *source) error {
	var in fmp4.Init
	if err := in.Unmarshal(bytes.NewReader(src.init)); err != nil {
		return fmt.Errorf("parse init of %s: %w", src.ref.Path(), err)
	}
	w.init, w.tracks, w.order, w.data, w.origin = src.init, make(map[int]*trackOut), nil, 0, time.Time{}
	for _, t := range in.Tracks {
		w.tracks[t.ID] = &trackOut{t: &pmp4.Track{ID: t.ID, TimeScale: t.TimeScale, Codec: t.Codec}}
		w.order = append(w.order, t.ID)
	}
	return nil
}

// add appends the samples of fragment f of src that lie in the export.
func (w *cameraWriter) add(src *source, f segment.Fragment) error {
	parts, err := w.fragment(src.ref, f.Offset, f.Size)
	if err != nil {
		return err
	}
	startMs := uint64(src.ref.Start.UnixMilli())
	for pi, p := range parts {
		for _, pt := range p.Tracks {
			out := w.tracks[pt.ID]
			ts := src.tracks[pt.ID]
			if out == nil || ts == 0 {
				continue
			}
			video := out.t.Codec.IsVideo()
			dts := startMs*uint64(ts)/1000 + pt.BaseTime
			toTicks := uint64(w.to.UnixMilli()) * uint64(ts) / 1000
			for si, s := range pt.Samples {
				at := dts
				dts += uint64(s.Duration)
				if at >= toTicks {
					break
				}
				if w.origin.IsZero() {
					if !video {
						continue // the part starts with the first video sample
					}
					w.origin = tickTime(at, ts)
				}
				if at < timeTicks(w.origin, ts) {
					continue
				}
				ref, off, pi, id, si := src.ref, f.Offset, pi, pt.ID, si
				out.t.Samples = append(out.t.Samples, &pmp4.Sample{
					Duration:        s.Duration,
					PTSOffset:       s.PTSOffset,
					IsNonSyncSample: s.IsNonSyncSample,
					PayloadSize:     uint32(len(s.Payload)),
					GetPayload: func() ([]byte, error) {
						ps, err := w.fragment(ref, off, f.Size)
						if err != nil {
							return nil, err
						}
						for _, t := range ps[pi].Tracks {
							if t.ID == id {
								return t.Samples[si].Payload, nil
							}
						}
						return nil, errors.New("sample vanished from its fragment")
					},
				})
				out.abs = append(out.abs, at)
				w.data += int64(len(s.Payload))
				if end := tickTime(dts, ts); video && end.After(w.actual[1]) {
					w.actual[1] = end
				}
			}
		}
	}
	return nil
}

// flush writes the part being built, if it has samples.
func (w *cameraWriter) flush() error {
	defer func() { w.init, w.tracks = nil, nil }()
	var p pmp4.Presentation
	for _, id := range w.order {
		out := w.tracks[id]
		n := len(out.t.Samples)
		if n == 0 {
			continue
		}
		// Durations follow the decode times: a gap lengthens the sample
		// before it, as in the recordings.
		for i := range n - 1 {
			out.t.Samples[i].Duration = uint32(min(out.abs[i+1]-out.abs[i], 1<<31))
		}
		first := tickTime(out.abs[0], out.t.TimeScale)
		out.t.TimeOffset = int32(min(timeTicks(first, out.t.TimeScale)-timeTicks(w.origin, out.t.TimeScale), 1<<30))
		p.Tracks = append(p.Tracks, out.t)
	}
	if len(p.Tracks) == 0 {
		return nil
	}
	if w.actual[0].IsZero() {
		w.actual[0] = w.origin
	}
	name := w.camera + ".mp4"
	if len(w.files) > 0 {
		name = fmt.Sprintf("%s-%d.mp4", w.camera, len(w.files)+1)
	}
	path := filepath.Join(w.dir, name)
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o640)
	if err != nil {
		return fmt.Errorf("create %s: %w", name, err)
	}
	bw := bufio.NewWriterSize(f, 1<<20)
	err = p.Marshal(bw)
	if err == nil {
		err = bw.Flush()
	}
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(path)
		return fmt.Errorf("write %s: %w", name, err)
	}
	w.files = append(w.files, name)
	return nil
}

// fragment returns the parsed fragment of ref at off, reading it unless it
// is one of the last two parsed.
func (w *cameraWriter) fragment(ref segment.Ref, off, size int64) (fmp4.Parts, error) {
	for _, c := range w.cache {
		if c.parts != nil && c.off == off && c.ref == ref {
			return c.parts, nil
		}
	}
	if w.rd == nil || w.open != ref {
		w.closeOpen()
		rd, err := w.store.Open(w.ctx, ref)
		if err != nil {
			return nil, fmt.Errorf("open %s: %w", ref.Path(), err)
		}
		w.rd, w.open = rd, ref
	}
	buf := make([]byte, size)
	if _, err := w.rd.ReadAt(buf, off); err != nil && !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("read %s at %d: %w", ref.Path(), off, err)
	}
	var parts fmp4.Parts
	if err := parts.Unmarshal(buf); err != nil {
		return nil, fmt.Errorf("parse %s at %d: %w", ref.Path(), off, err)
	}
	w.cache[w.next] = parsed{ref: ref, off: off, parts: parts}
	w.next = (w.next + 1) % len(w.cache)
	return parts, nil
}

func (w *cameraWriter) closeOpen() {
	if w.rd != nil {
		w.rd.Close()
		w.rd = nil
	}
}

// tickTime converts ticks since the Unix epoch to a time.
func tickTime(ticks uint64, timescale uint32) time.Time {
	sec := ticks / uint64(timescale)
	rem := ticks % uint64(timescale)
	return time.Unix(int64(sec), int64(rem*uint64(time.Second)/uint64(timescale))).UTC()
}

// timeTicks converts a time to ticks since the Unix epoch.
func timeTicks(t time.Time, timescale uint32) uint64 {
	return uint64(t.Unix())*uint64(timescale) + uint64(t.Nanosecond())*uint64(timescale)/uint64(time.Second)
}
