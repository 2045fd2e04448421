package llhls

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/bluenviron/gohlslib/v2"
	"github.com/bluenviron/gohlslib/v2/pkg/codecs"
	"github.com/bluenviron/mediacommon/v2/pkg/codecs/mpeg4audio"

	"argus"
	"argus/internal/hub"
	"argus/internal/live"
)

// errStalled ends a muxer whose camera sent nothing for too long.
var errStalled = errors.New("camera sent nothing")

// muxer serves one camera: one hub reader feeding one gohlslib muxer,
// replaced by a new one when the camera's tracks change.
type muxer struct {
	s      *Service
	cam    *argus.Camera
	log    *slog.Logger
	ctx    context.Context
	cancel context.CancelCauseFunc

	// hls is the gohlslib muxer requests are served from; set before ready
	// is closed.
	hls       atomic.Pointer[gohlslib.Muxer]
	ready     chan struct{}
	readyOnce sync.Once
	// source is what the muxer serves of the camera; set before ready is
	// closed.
	source live.Source
	// done is closed when run has returned; err is why, set before.
	done chan struct{}
	err  error

	// viewers and stopped are guarded by Service.mu.
	viewers map[viewerKey]*viewer
	stopped bool
}

// startMuxer creates cam's muxer and starts its goroutine. s.mu is held.
func (s *Service) startMuxer(cam *argus.Camera) *muxer {
	m := &muxer{
		s:       s,
		cam:     cam,
		log:     s.log.With("camera", cam.ID),
		ready:   make(chan struct{}),
		done:    make(chan struct{}),
		viewers: make(map[viewerKey]*viewer),
	}
	m.ctx, m.cancel = context.WithCancelCause(s.ctx)
	s.muxers[cam.ID] = m
	s.met.muxers.Inc()
	s.wg.Go(m.run)
	return m
}

// stopMuxer removes m from the service and cancels it; its goroutine closes
// the gohlslib muxer and the hub reader. s.mu is held.
func (s *Service) stopMuxer(m *muxer, cause error) {
	if m.stopped {
		return
	}
	m.stopped = true
	if s.muxers[m.cam.ID] == m {
		delete(s.muxers, m.cam.ID)
	}
	s.met.muxers.Dec()
	m.cancel(cause)
}

// run feeds the camera's units into the muxer until it is stopped or the
// hub fails it, then ends the viewers it still has.
func (m *muxer) run() {
	err := m.feed()
	switch cause := context.Cause(m.ctx); {
	case errors.Is(cause, errStalled):
		err = cause
		m.log.Info("llhls muxer stopped: the camera sent nothing")
	case cause != nil:
		m.log.Debug("llhls muxer stopped", "cause", cause)
	default:
		m.log.Warn("llhls muxer failed", "err", err)
	}
	m.err = err
	close(m.done)
	s := m.s
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, v := range m.viewers {
		s.endViewer(v, fmt.Sprintf("stream ended: %v", err))
	}
	s.stopMuxer(m, err)
}

// feed attaches a hub reader and writes every unit it reads into the
// current gohlslib muxer. The camera's first unit says its main stream's
// codec: a browser of an H.265 camera is served the stream
// live.BrowserStream picks (the sub-stream or a transcode) instead.
func (m *muxer) feed() error {
	streamID := m.cam.ID
	attach := func() (*hub.Reader, error) {
		return m.s.cfg.Hub.Attach(m.ctx, streamID, hub.ReaderOptions{Name: "llhls"})
	}
	rd, err := attach()
	if err != nil {
		return fmt.Errorf("attach to hub: %w", err)
	}
	// A camera that sends nothing for StartTimeout at first, IdleTimeout
	// later, stops the muxer, which answers the requests it blocks
	// (players retry and start anew).
	stall := time.AfterFunc(max(m.s.cfg.StartTimeout, m.s.cfg.IdleTimeout), func() { m.cancel(errStalled) })
	var w *writer
	defer func() {
		stall.Stop()
		if rd != nil {
			rd.Close()
		}
		if w != nil {
			w.hls.Close()
		}
	}()
	u, err := rd.Read(m.ctx)
	if err != nil {
		return fmt.Errorf("read hub: %w", err)
	}
	id, src := live.BrowserStream(m.cam, u.Media)
	switch {
	case src == live.SourceTranscode && m.s.cfg.Transcoder == nil:
		m.log.Warn("llhls serves H.265 as is: this node has no transcoder; give the camera an H.264 sub-stream for browsers")
		src = live.SourceMain
	case src != live.SourceMain:
		if src == live.SourceTranscode {
			if err := m.s.cfg.Transcoder.Admit(m.cam.ID); err != nil {
				return err
			}
		}
		m.log.Info("llhls serves an H.265 camera's H.264 stream", "source", src, "stream", id)
		rd.Close()
		streamID = id
		if rd, err = attach(); err != nil {
			return fmt.Errorf("attach to hub: %w", err)
		}
		u = nil
	}
	m.source = src
	for ; ; u = nil {
		if u == nil {
			u, err = rd.Read(m.ctx)
		}
		if errors.Is(err, hub.ErrDropped) {
			// Start again on the current GOP; the writer skips what it
			// has written already and resumes video on a keyframe.
			m.log.Warn("llhls reader fell behind; attaching again")
			rd.Close()
			if rd, err = attach(); err != nil {
				return fmt.Errorf("attach to hub again: %w", err)
			}
			if w != nil {
				w.resync()
			}
			continue
		}
		if err != nil {
			return fmt.Errorf("read hub: %w", err)
		}
		stall.Reset(m.s.cfg.IdleTimeout)
		if w == nil || u.Media != w.media {
			nw, err := m.newWriter(u.Media)
			if err != nil {
				return err
			}
			old := w
			w = nw
			m.hls.Store(w.hls)
			if old != nil {
				// The init segment cannot change: players reload the
				// playlist and continue on the new muxer.
				old.hls.Close()
				m.log.Info("llhls muxer restarted for new tracks")
			}
			m.readyOnce.Do(func() { close(m.ready) })
		}
		w.write(u)
	}
}

// writer is one gohlslib muxer with the hub tracks it carries.
type writer struct {
	media  *hub.Media
	hls    *gohlslib.Muxer
	tracks []*outTrack // by hub track index; nil for a track not carried
	log    *slog.Logger
	failed bool // a write failed already (logged once at warning level)
}

// outTrack is a hub track as the muxer carries it.
type outTrack struct {
	t     *gohlslib.Track
	codec hub.Codec
	// in and out are the hub's and the muxer's clock rates (they differ
	// only for AAC announced at another RTP clock rate).
	in, out int64
	// lastDTS is the last DTS written; units at or before it are dropped
	// after the reader attached again.
	lastDTS int64
	written bool
	// resync is set when the reader attached again; needKey drops video
	// until the next keyframe.
	resync, needKey bool
}

// newWriter starts a gohlslib muxer for media's first video and first
// audio track that LL-HLS carries (H.264, H.265; AAC, Opus: G.711 has no
// place in fMP4 HLS).
func (m *muxer) newWriter(media *hub.Media) (*writer, error) {
	if media == nil {
		return nil, errors.New("unit without media")
	}
	w := &writer{media: media, tracks: make([]*outTrack, len(media.Tracks)), log: m.log}
	var tracks []*gohlslib.Track
	var haveVideo, haveAudio bool
	for i, t := range media.Tracks {
		var ot *outTrack
		switch {
		case t.Codec.IsVideo() && !haveVideo:
			ot = videoTrack(t)
			haveVideo = ot != nil
		case !t.Codec.IsVideo() && !haveAudio:
			ot = audioTrack(t)
			haveAudio = ot != nil
		}
		if ot == nil {
			m.log.Debug("llhls skips a track", "track", t.ID, "codec", t.Codec)
			continue
		}
		w.tracks[i] = ot
		tracks = append(tracks, ot.t)
	}
	if len(tracks) == 0 {
		return nil, fmt.Errorf("no track LL-HLS can carry in %v", codecNames(media))
	}
	w.hls = &gohlslib.Muxer{
		Tracks:             tracks,
		Variant:            gohlslib.MuxerVariantLowLatency,
		SegmentCount:       m.s.cfg.SegmentCount,
		SegmentMinDuration: m.s.cfg.SegmentDuration,
		PartMinDuration:    m.s.cfg.PartDuration,
		OnEncodeError: func(err error) {
			m.log.Debug("llhls muxer", "err", err)
		},
	}
	if err := w.hls.Start(); err != nil {
		return nil, fmt.Errorf("start muxer: %w", err)
	}
	return w, nil
}

func videoTrack(t *hub.Track) *outTrack {
	ot := &outTrack{codec: t.Codec, in: int64(t.ClockRate), out: 90000}
	switch t.Codec {
	case hub.CodecH264:
		ot.t = &gohlslib.Track{Codec: &codecs.H264{SPS: slices.Clone(t.SPS), PPS: slices.Clone(t.PPS)}}
	case hub.CodecH265:
		ot.t = &gohlslib.Track{Codec: &codecs.H265{VPS: slices.Clone(t.VPS), SPS: slices.Clone(t.SPS), PPS: slices.Clone(t.PPS)}}
	default:
		return nil
	}
	if ot.in <= 0 {
		ot.in = ot.out
	}
	ot.t.ClockRate = int(ot.out)
	return ot
}

func audioTrack(t *hub.Track) *outTrack {
	ot := &outTrack{codec: t.Codec, in: int64(t.ClockRate)}
	switch t.Codec {
	case hub.CodecAAC:
		var conf mpeg4audio.AudioSpecificConfig
		if err := conf.Unmarshal(t.AudioConfig); err != nil || conf.SampleRate <= 0 {
			return nil
		}
		ot.t = &gohlslib.Track{Codec: &codecs.MPEG4Audio{Config: conf}}
		ot.out = int64(conf.SampleRate)
	case hub.CodecOpus:
		ch := t.Channels
		if ch <= 0 {
			ch = 2
		}
		ot.t = &gohlslib.Track{Codec: &codecs.Opus{ChannelCount: ch}}
		ot.out = 48000
	default:
		return nil
	}
	if ot.in <= 0 {
		ot.in = ot.out
	}
	ot.t.ClockRate = int(ot.out)
	return ot
}

func codecNames(m *hub.Media) []hub.Codec {
	var out []hub.Codec
	for _, t := range m.Tracks {
		out = append(out, t.Codec)
	}
	return out
}

// resync prepares for a reader attached again. It starts on the cached
// GOP: if that GOP is the one being written, the units after the last one
// written continue it without a gap; if it is a newer one, writing goes on
// from its keyframe. Only when the cache was empty (the reader then starts
// on a live unit that may not be a keyframe) does video wait for the next
// keyframe.
func (w *writer) resync() {
	for _, ot := range w.tracks {
		if ot != nil && ot.codec.IsVideo() {
			ot.resync = true
		}
	}
}

// write hands u to the muxer. The muxer derives video DTS from the
// bitstream itself and takes the PTS in the track's clock.
func (w *writer) write(u *hub.Unit) {
	if u.Track < 0 || u.Track >= len(w.tracks) || w.tracks[u.Track] == nil {
		return
	}
	ot := w.tracks[u.Track]
	if ot.resync {
		ot.resync = false
		ot.needKey = !u.Key && u.DTS > ot.lastDTS
	}
	if ot.written && u.DTS <= ot.lastDTS {
		return
	}
	if ot.needKey {
		if !u.Key {
			return
		}
		ot.needKey = false
	}
	pts := u.PTS
	if ot.in != ot.out {
		pts = pts * ot.out / ot.in
	}
	var err error
	switch ot.codec {
	case hub.CodecH264:
		err = w.hls.WriteH264(ot.t, u.Wall, pts, u.NALUs)
	case hub.CodecH265:
		err = w.hls.WriteH265(ot.t, u.Wall, pts, u.NALUs)
	case hub.CodecAAC:
		err = w.hls.WriteMPEG4Audio(ot.t, u.Wall, pts, [][]byte{u.Payload})
	case hub.CodecOpus:
		err = w.hls.WriteOpus(ot.t, u.Wall, pts, [][]byte{u.Payload})
	}
	ot.lastDTS, ot.written = u.DTS, true
	if err != nil {
		if !w.failed {
			w.failed = true
			w.log.Warn("llhls muxer refused a unit (further refusals are logged at debug level)", "codec", ot.codec, "err", err)
		} else {
			w.log.Debug("llhls muxer refused a unit", "codec", ot.codec, "err", err)
		}
	}
}
