package playback

import (
	"bytes"
	"context"
	"fmt"
	"math"
	"strconv"
	"time"

	"argus"
	"argus/internal/segment"
)

// file is one segment of a playlist with its media duration.
type file struct {
	ref segment.Ref
	dur time.Duration
}

func (f file) end() time.Time { return f.ref.Start.Add(f.dur) }

// windows returns how many parts a segment of duration d is cut into: the
// last part takes the remainder, so every part is at least one window long
// and holds a fragment.
func (s *Service) windows(d time.Duration) int {
	return max(1, int(d/s.cfg.PartDuration))
}

// window returns the part of a segment of duration d that a fragment
// starting at t belongs to.
func (s *Service) window(t, d time.Duration) int {
	return min(max(0, int(t/s.cfg.PartDuration)), s.windows(d)-1)
}

// partEnd returns where part w of a segment of duration d ends.
func (s *Service) partEnd(w int, d time.Duration) time.Duration {
	if w == s.windows(d)-1 {
		return d
	}
	return time.Duration(w+1) * s.cfg.PartDuration
}

// files lists camera's segments that overlap [from, to) with their
// durations; a partial segment's comes from its complete fragments.
func (s *Service) files(ctx context.Context, camera string, from, to time.Time) ([]file, error) {
	refs, err := s.cfg.Store.List(ctx, camera, from, to)
	if err != nil {
		return nil, fmt.Errorf("list recordings of %s: %w", camera, err)
	}
	out := make([]file, 0, len(refs))
	for _, r := range refs {
		f := file{ref: r, dur: r.Duration}
		if r.Partial {
			l, err := s.layout(ctx, r)
			if err != nil {
				s.log.Debug("playback skips a partial segment it cannot read", "segment", r.Path(), "err", err)
				continue
			}
			f.dur = l.Duration
		}
		if f.dur <= 0 || !f.end().After(from) || !f.ref.Start.Before(to) {
			continue
		}
		out = append(out, f)
	}
	return out, nil
}

// layout reads the layout of one segment.
func (s *Service) layout(ctx context.Context, r segment.Ref) (segment.Layout, error) {
	rd, err := s.cfg.Store.Open(ctx, r)
	if err != nil {
		return segment.Layout{}, err
	}
	defer rd.Close()
	return segment.ReadLayout(rd, rd.Size())
}

// Playlist opens a playback session for user over camera's [from, to) and
// returns its HLS VOD playlist. Part and init URIs are relative to the
// playlist's own URL: "seg/<start ms>/init.mp4" and
// "seg/<start ms>/<part>.m4s", with the session as query parameter s.
// ENOTFOUND when nothing was recorded in the range.
func (s *Service) Playlist(ctx context.Context, camera, user string, from, to time.Time) ([]byte, error) {
	if err := CheckRange(from, to); err != nil {
		return nil, err
	}
	from, to = from.UTC(), to.UTC()
	files, err := s.files(ctx, camera, from, to)
	if err != nil {
		return nil, err
	}
	if len(files) == 0 {
		return nil, argus.Errorf(argus.ENOTFOUND, "camera %q recorded nothing from %s to %s", camera, from.Format(time.RFC3339), to.Format(time.RFC3339))
	}
	// The first part starts at the keyframe at or before from.
	var k *segment.Fragment
	if f := files[0]; from.After(f.ref.Start) {
		l, err := s.layout(ctx, f.ref)
		if err != nil {
			return nil, fmt.Errorf("read segment %s: %w", f.ref.Path(), err)
		}
		if i, ok := l.At(from.Sub(f.ref.Start)); ok {
			k = &l.Fragments[i]
		}
	}
	return s.render(camera, user, from, to, files, k)
}

// render writes the playlist of files, starting the first at fragment k
// when it is not nil.
func (s *Service) render(camera, user string, from, to time.Time, files []file, k *segment.Fragment) ([]byte, error) {
	ss, err := s.open(camera, user, from, to)
	if err != nil {
		return nil, err
	}
	type part struct {
		uri  string
		dur  time.Duration
		at   time.Time // wall time of its first sample
		mapU string    // EXT-X-MAP to emit before it, if any
		disc bool
	}
	var parts []part
	target := time.Duration(0)
	q := "?s=" + ss.id
	for i, f := range files {
		base := "seg/" + strconv.FormatInt(f.ref.Start.UnixMilli(), 10) + "/"
		w0, startAt := 0, time.Duration(0)
		kq := ""
		if i == 0 && k != nil {
			w0, startAt = s.window(k.Start, f.dur), k.Start
			kq = "&k=" + strconv.Itoa(k.Index)
		}
		last := s.windows(f.dur) - 1
		if f.end().After(to) {
			last = s.window(to.Sub(f.ref.Start)-1, f.dur)
		}
		// A segment still being written grows: its parts are cut by the
		// duration it had when the playlist was made (d), so that a part
		// the playlist lists keeps the fragments it was listed with.
		pq := q
		if f.ref.Partial {
			pq += "&d=" + strconv.FormatInt(f.dur.Milliseconds(), 10)
		}
		for w := w0; w <= last; w++ {
			p := part{uri: base + strconv.Itoa(w) + ".m4s" + pq, dur: s.partEnd(w, f.dur) - time.Duration(w)*s.cfg.PartDuration}
			if w == w0 {
				p.mapU = base + "init.mp4" + q
				p.at = f.ref.Start.Add(time.Duration(w) * s.cfg.PartDuration)
				if kq != "" {
					p.uri += kq
					p.dur = s.partEnd(w, f.dur) - startAt
					p.at = f.ref.Start.Add(startAt)
				}
				p.disc = i > 0 && !f.ref.Start.Equal(files[i-1].end())
			}
			target = max(target, p.dur)
			parts = append(parts, p)
		}
	}
	var b bytes.Buffer
	fmt.Fprintf(&b, "#EXTM3U\n#EXT-X-VERSION:7\n#EXT-X-TARGETDURATION:%d\n#EXT-X-MEDIA-SEQUENCE:0\n#EXT-X-PLAYLIST-TYPE:VOD\n", int(math.Ceil(target.Seconds())))
	for i, p := range parts {
		if p.disc {
			b.WriteString("#EXT-X-DISCONTINUITY\n")
		}
		if i == 0 || p.disc {
			fmt.Fprintf(&b, "#EXT-X-PROGRAM-DATE-TIME:%s\n", p.at.UTC().Format("2006-01-02T15:04:05.000Z07:00"))
		}
		if p.mapU != "" {
			fmt.Fprintf(&b, "#EXT-X-MAP:URI=%q\n", p.mapU)
		}
		fmt.Fprintf(&b, "#EXTINF:%.3f,\n%s\n", p.dur.Seconds(), p.uri)
	}
	b.WriteString("#EXT-X-ENDLIST\n")
	return b.Bytes(), nil
}
