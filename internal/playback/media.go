package playback

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/bluenviron/mediacommon/v2/pkg/formats/fmp4"
	"github.com/bluenviron/mediacommon/v2/pkg/formats/fmp4/seekablebuffer"

	"argus"
	"argus/internal/segment"
)

// ServeFile answers a request of user for a file a playlist of camera
// named: "seg/<start ms>/init.mp4" or "seg/<start ms>/<part>.m4s", with the
// playlist's session in the query (s, and k for a first part that starts
// at fragment k). It returns an *argus.Error, having written nothing, when
// it cannot answer: EFORBIDDEN for a session that is not the viewer's,
// has ended, or does not cover the segment; ENOTFOUND for a file that is
// not there (any more: retention may have deleted it).
func (s *Service) ServeFile(w http.ResponseWriter, r *http.Request, camera, user, name string) error {
	ss, err := s.use(r.URL.Query().Get("s"), camera, user)
	if err != nil {
		return err
	}
	rest, ok := strings.CutPrefix(name, "seg/")
	startStr, file, ok2 := strings.Cut(rest, "/")
	ms, err := strconv.ParseInt(startStr, 10, 64)
	if !ok || !ok2 || err != nil || ms < 0 {
		return argus.Errorf(argus.ENOTFOUND, "no playback file %q", name)
	}
	start := time.UnixMilli(ms).UTC()
	if !start.Before(ss.to) || start.Before(ss.from.Add(-segment.MaxDuration)) {
		return argus.Errorf(argus.EFORBIDDEN, "segment %s lies outside the playback session's range", start.Format(time.RFC3339Nano))
	}
	ctx := r.Context()
	ref, err := s.find(ctx, camera, start)
	if err != nil {
		return err
	}
	rd, err := s.cfg.Store.Open(ctx, ref)
	if err != nil {
		return err
	}
	defer rd.Close()
	l, err := segment.ReadLayout(rd, rd.Size())
	if err != nil {
		return fmt.Errorf("read segment %s: %w", ref.Path(), err)
	}
	if file == "init.mp4" {
		w.Header().Set("Content-Type", "video/mp4")
		w.Header().Set("Content-Length", strconv.FormatInt(l.InitSize, 10))
		w.Header().Set("Cache-Control", "private, max-age=3600")
		if _, err := io.Copy(w, io.NewSectionReader(rd, 0, l.InitSize)); err != nil {
			s.log.Debug("playback init not sent", "segment", ref.Path(), "err", err)
		}
		return nil
	}
	part, ok := strings.CutSuffix(file, ".m4s")
	wi, err := strconv.Atoi(part)
	if !ok || err != nil || wi < 0 {
		return argus.Errorf(argus.ENOTFOUND, "no playback file %q", name)
	}
	k := -1
	if v := r.URL.Query().Get("k"); v != "" {
		if k, err = strconv.Atoi(v); err != nil || k < 0 {
			return argus.FieldErrorf("k", "k must be a fragment index")
		}
	}
	dur := l.Duration
	if v := r.URL.Query().Get("d"); v != "" {
		ms, err := strconv.ParseInt(v, 10, 64)
		if err != nil || ms <= 0 {
			return argus.FieldErrorf("d", "d must be a duration in milliseconds")
		}
		dur = time.Duration(ms) * time.Millisecond
	}
	frags := s.partFragments(l, dur, wi, k)
	if len(frags) == 0 {
		return argus.Errorf(argus.ENOTFOUND, "segment %s has no part %d", ref.Path(), wi)
	}
	shift, err := shifts(rd, l.InitSize, start)
	if err != nil {
		return fmt.Errorf("read init of %s: %w", ref.Path(), err)
	}
	w.Header().Set("Content-Type", "video/mp4")
	w.Header().Set("Cache-Control", "private, max-age=3600")
	if err := writeFragments(w, rd, frags, shift); err != nil {
		s.log.Debug("playback part not sent", "segment", ref.Path(), "part", wi, "err", err)
	}
	return nil
}

// find returns camera's segment that starts at start, finished or partial.
func (s *Service) find(ctx context.Context, camera string, start time.Time) (segment.Ref, error) {
	refs, err := s.cfg.Store.List(ctx, camera, start, start.Add(time.Millisecond))
	if err != nil {
		return segment.Ref{}, fmt.Errorf("list recordings of %s: %w", camera, err)
	}
	for _, r := range refs {
		if r.Start.Equal(start) {
			return r, nil
		}
	}
	return segment.Ref{}, argus.Errorf(argus.ENOTFOUND, "camera %q has no segment starting at %s (retention may have deleted it)", camera, start.Format(time.RFC3339Nano))
}

// partFragments returns the fragments of part w of l, cut as a segment of
// duration dur: those that start in its window, from fragment index k on
// when k ≥ 0.
func (s *Service) partFragments(l segment.Layout, dur time.Duration, w, k int) []segment.Fragment {
	var out []segment.Fragment
	for _, f := range l.Fragments {
		if s.window(f.Start, dur) == w && f.Index >= k {
			out = append(out, f)
		}
	}
	return out
}

// shifts returns, per track id, the ticks that move a segment's decode
// times onto the Unix epoch: its start in the track's timescale.
func shifts(r io.ReaderAt, initSize int64, start time.Time) (map[int]uint64, error) {
	var init fmp4.Init
	if err := init.Unmarshal(io.NewSectionReader(r, 0, initSize)); err != nil {
		return nil, err
	}
	ms := uint64(start.UnixMilli())
	out := make(map[int]uint64, len(init.Tracks))
	for _, t := range init.Tracks {
		out[t.ID] = ms * uint64(t.TimeScale) / 1000
	}
	return out, nil
}

// writeFragments writes frags of r with their decode times shifted.
func writeFragments(w io.Writer, r io.ReaderAt, frags []segment.Fragment, shift map[int]uint64) error {
	var in []byte
	var out seekablebuffer.Buffer
	for _, f := range frags {
		if int64(cap(in)) < f.Size {
			in = make([]byte, f.Size)
		}
		in = in[:f.Size]
		if _, err := r.ReadAt(in, f.Offset); err != nil && !errors.Is(err, io.EOF) {
			return fmt.Errorf("read fragment %d: %w", f.Index, err)
		}
		var parts fmp4.Parts
		if err := parts.Unmarshal(in); err != nil {
			return fmt.Errorf("parse fragment %d: %w", f.Index, err)
		}
		for _, p := range parts {
			for _, t := range p.Tracks {
				t.BaseTime += shift[t.ID]
			}
			out.Reset()
			if err := p.Marshal(&out); err != nil {
				return fmt.Errorf("write fragment %d: %w", f.Index, err)
			}
			if _, err := w.Write(out.Bytes()); err != nil {
				return err
			}
		}
	}
	return nil
}
