// Package llhls serves live video as Low-Latency HLS (fMP4 parts) for
// clients without WebRTC: hls.js in browsers, Safari, ffmpeg/ffprobe.
//
// One gohlslib muxer per camera is created on the first request for it and
// shared by every viewer; it reads the camera from the stream hub through
// one reader named "llhls", starting on the hub's cached GOP so that the
// first segment is ready one keyframe after the request. An H.265
// camera's muxer reads the H.264 stream live.BrowserStream picks instead
// (its sub-stream or, with Config.Transcoder, a transcode), and every
// answer names it in the live.SourceHeader. Each viewer (a
// user watching a camera) is a live.Session from its first request until it
// stops requesting for Config.IdleTimeout; when a camera's last viewer has
// gone, its muxer is torn down and its hub reader closed.
package llhls

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"argus"
	"argus/internal/hub"
	"argus/internal/live"
)

// Defaults for the zero values of Config.
const (
	DefaultIdleTimeout     = 30 * time.Second
	DefaultSegmentCount    = 7 // the least LL-HLS allows
	DefaultSegmentDuration = time.Second
	DefaultPartDuration    = 200 * time.Millisecond
	DefaultMaxMuxers       = 1000
	DefaultStartTimeout    = 10 * time.Second
)

// Hub is the part of the stream hub the service uses; *hub.Hub implements
// it.
type Hub interface {
	Attach(ctx context.Context, cameraID string, opts hub.ReaderOptions) (*hub.Reader, error)
}

// Config configures a Service.
type Config struct {
	// Hub supplies the cameras' media. Required.
	Hub Hub
	// Sessions records every viewer. Required.
	Sessions *live.Sessions
	// IdleTimeout ends a viewer's session when it has made no request for
	// this long, and tears a camera's muxer down with its last viewer; 0
	// means DefaultIdleTimeout. hls.js reloads the playlist at least every
	// part, so a few seconds are enough to tell a closed player.
	IdleTimeout time.Duration
	// SegmentCount is how many whole segments a playlist lists; 0 means
	// DefaultSegmentCount, and LL-HLS needs at least 7.
	SegmentCount int
	// SegmentDuration is the least duration of a segment; segments are cut
	// at the first keyframe after it, so with a GOP longer than this a
	// segment is one GOP. 0 means DefaultSegmentDuration.
	SegmentDuration time.Duration
	// PartDuration is the least duration of a part (an LL-HLS partial
	// segment); 0 means DefaultPartDuration.
	PartDuration time.Duration
	// MaxMuxers caps the cameras this node serves over LL-HLS at once; a
	// request for one more camera is refused as unavailable. 0 means
	// DefaultMaxMuxers.
	MaxMuxers int
	// StartTimeout bounds how long a viewer's request waits for a camera
	// that has not sent any media yet before it is refused as
	// unavailable; 0 means DefaultStartTimeout.
	StartTimeout time.Duration
	// Transcoder makes the H.264 transcodes browsers are served of H.265
	// cameras without a sub-stream (see live.BrowserStream); nil serves
	// such cameras as H.265.
	Transcoder *live.Transcoder
	// Logger receives the logs; nil discards them.
	Logger *slog.Logger
	// Registerer receives the metrics; nil registers none.
	Registerer prometheus.Registerer
}

// errClosed is the cause given to everything the service ends in Close.
var errClosed = errors.New("llhls: service closed")

// Service serves LL-HLS for every camera of a node. Build it with New; it
// is safe for concurrent use.
type Service struct {
	cfg Config
	log *slog.Logger
	met metrics

	// ctx is the parent of every muxer's context; wg counts the muxers'
	// goroutines.
	ctx    context.Context
	cancel context.CancelCauseFunc
	wg     sync.WaitGroup

	// mu guards closed, muxers, every muxer's viewers and stopped flag,
	// every viewer's fields, and refused. Lock order: mu, then the
	// live.Sessions registry's own lock (taken by a session's end).
	mu      sync.Mutex
	closed  bool
	muxers  map[string]*muxer
	refused map[viewerKey]*refusal
}

type metrics struct {
	muxers  prometheus.Gauge
	viewers prometheus.Gauge
	capped  prometheus.Counter
}

// viewerKey identifies a viewer: one user watching one camera, from however
// many players.
type viewerKey struct{ user, camera string }

// viewer is one viewer's open session.
type viewer struct {
	key   viewerKey
	m     *muxer
	end   func(reason string)
	timer *time.Timer // fires IdleTimeout after the last request
	last  time.Time   // the start or end of the last request
	// active counts the requests in flight; they keep the viewer from
	// going idle. (They cannot block for long: a muxer whose camera sends
	// nothing for IdleTimeout stops, which answers them.)
	active int
	// stopRevoke unregisters the callback that ends the viewer when the
	// session is closed from outside.
	stopRevoke func() bool
	ended      bool
}

// refusal remembers a viewer whose session was closed from outside
// (revoked): its requests are refused until it has been quiet for
// IdleTimeout.
type refusal struct {
	last   time.Time
	reason string
}

// New returns a Service for cfg.
func New(cfg Config) (*Service, error) {
	switch {
	case cfg.Hub == nil || cfg.Sessions == nil:
		return nil, errors.New("llhls: config needs a hub and a session registry")
	case cfg.IdleTimeout < 0, cfg.SegmentDuration < 0, cfg.PartDuration < 0, cfg.StartTimeout < 0:
		return nil, fmt.Errorf("llhls: negative duration in config (idle %v, segment %v, part %v, start %v)",
			cfg.IdleTimeout, cfg.SegmentDuration, cfg.PartDuration, cfg.StartTimeout)
	case cfg.MaxMuxers < 0:
		return nil, fmt.Errorf("llhls: negative max muxers %d", cfg.MaxMuxers)
	case cfg.SegmentCount != 0 && cfg.SegmentCount < DefaultSegmentCount:
		return nil, fmt.Errorf("llhls: segment count %d is below the %d LL-HLS needs", cfg.SegmentCount, DefaultSegmentCount)
	}
	if cfg.IdleTimeout == 0 {
		cfg.IdleTimeout = DefaultIdleTimeout
	}
	if cfg.SegmentCount == 0 {
		cfg.SegmentCount = DefaultSegmentCount
	}
	if cfg.SegmentDuration == 0 {
		cfg.SegmentDuration = DefaultSegmentDuration
	}
	if cfg.PartDuration == 0 {
		cfg.PartDuration = DefaultPartDuration
	}
	if cfg.PartDuration > cfg.SegmentDuration {
		return nil, fmt.Errorf("llhls: part duration %v is longer than the segment duration %v", cfg.PartDuration, cfg.SegmentDuration)
	}
	if cfg.MaxMuxers == 0 {
		cfg.MaxMuxers = DefaultMaxMuxers
	}
	if cfg.StartTimeout == 0 {
		cfg.StartTimeout = DefaultStartTimeout
	}
	s := &Service{
		cfg:     cfg,
		log:     cfg.Logger,
		muxers:  make(map[string]*muxer),
		refused: make(map[viewerKey]*refusal),
		met: metrics{
			muxers: prometheus.NewGauge(prometheus.GaugeOpts{
				Name: "argus_llhls_muxers",
				Help: "Cameras served over LL-HLS by this node (one muxer and one hub reader each).",
			}),
			viewers: prometheus.NewGauge(prometheus.GaugeOpts{
				Name: "argus_llhls_viewers",
				Help: "Open LL-HLS viewer sessions (one per user and camera).",
			}),
			capped: prometheus.NewCounter(prometheus.CounterOpts{
				Name: "argus_llhls_refused_total",
				Help: "LL-HLS requests for a new camera refused because the node serves its maximum of muxers.",
			}),
		},
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if cfg.Registerer != nil {
		for _, c := range []prometheus.Collector{s.met.muxers, s.met.viewers, s.met.capped} {
			if err := cfg.Registerer.Register(c); err != nil {
				return nil, fmt.Errorf("llhls: register metrics: %w", err)
			}
		}
	}
	s.ctx, s.cancel = context.WithCancelCause(context.Background())
	return s, nil
}

// filePattern matches the names the muxer serves: index.m3u8, the media
// playlists (video1_stream.m3u8) and the init files, segments and parts
// (<prefix>_video1_part42.mp4).
var filePattern = regexp.MustCompile(`^[a-z0-9_]{1,64}\.(m3u8|mp4)$`)

// validFile reports whether name can be one of the files a camera's LL-HLS
// muxer serves: a plain name (no directory) ending in .m3u8 or .mp4.
func validFile(name string) bool { return filePattern.MatchString(name) }

// Serve answers one LL-HLS request of viewer for file of cam: index.m3u8
// (the multivariant playlist) or a file it names. The caller has
// authenticated the viewer and authorised argus.ActionLive on cam.
//
// The first request for a camera creates its muxer and waits (at most
// StartTimeout) for the camera's media; a playlist request then blocks until
// the first segment is complete, and blocking playlist reloads
// (_HLS_msn/_HLS_part) and preload-hinted parts block until they exist, as
// LL-HLS prescribes. The first request of a viewer opens its live.Session.
//
// Serve returns an *argus.Error, having written nothing, when it cannot
// answer: ENOTFOUND for a file the muxer does not have, EFORBIDDEN for a
// viewer whose session was closed from outside (until it has been quiet for
// IdleTimeout), EUNAVAILABLE when the node serves MaxMuxers cameras already,
// the camera sends nothing, or the service is closed. It returns nil once it
// has written the answer.
func (s *Service) Serve(w http.ResponseWriter, r *http.Request, cam *argus.Camera, viewer argus.Principal, file string) error {
	if !validFile(file) {
		return argus.Errorf(argus.ENOTFOUND, "no live file %q", file)
	}
	v, err := s.admit(r, cam, viewer)
	if err != nil {
		return err
	}
	defer s.done(v)
	m := v.m
	t := time.NewTimer(s.cfg.StartTimeout)
	defer t.Stop()
	select {
	case <-m.ready:
	case <-m.done:
		if ae := (*argus.Error)(nil); errors.As(m.err, &ae) {
			return ae
		}
		return argus.Errorf(argus.EUNAVAILABLE, "live video of camera %q is not available; retry", cam.ID)
	case <-t.C:
		return argus.Errorf(argus.EUNAVAILABLE, "camera %q has sent no video for %v; retry", cam.ID, s.cfg.StartTimeout)
	case <-r.Context().Done():
		return argus.Errorf(argus.EUNAVAILABLE, "request cancelled")
	}
	w.Header().Set(live.SourceHeader, string(m.source))
	aw := &answerWriter{ResponseWriter: w}
	m.hls.Load().Handle(aw, r)
	if !aw.answered {
		return argus.Errorf(argus.ENOTFOUND, "no live file %q", file)
	}
	return nil
}

// Watching reports whether user has an open LL-HLS session of camera on
// this node. The decision that opened the session covers its further
// requests (a player makes several a second); a session ended from
// outside, by a revoked share for one, is no longer watching.
func (s *Service) Watching(user, camera string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	m := s.muxers[camera]
	if m == nil {
		return false
	}
	v := m.viewers[viewerKey{user: user, camera: camera}]
	return v != nil && !v.ended
}

// admit finds or creates cam's muxer and the viewer's session, and notes
// the request as in flight until done.
func (s *Service) admit(r *http.Request, cam *argus.Camera, p argus.Principal) (*viewer, error) {
	key := viewerKey{user: p.UserID, camera: cam.ID}
	now := time.Now()
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil, argus.Errorf(argus.EUNAVAILABLE, "live video is shutting down on this node")
	}
	if ref := s.refused[key]; ref != nil {
		if now.Sub(ref.last) < s.cfg.IdleTimeout {
			ref.last = now
			return nil, argus.Errorf(argus.EFORBIDDEN, "this live session was ended (%s); stop the player and open the camera again", ref.reason)
		}
		delete(s.refused, key)
	}
	m := s.muxers[cam.ID]
	if m == nil {
		if len(s.muxers) >= s.cfg.MaxMuxers {
			s.met.capped.Inc()
			return nil, argus.Errorf(argus.EUNAVAILABLE, "this node serves its maximum of %d cameras over LL-HLS; retry later", s.cfg.MaxMuxers)
		}
		m = s.startMuxer(cam)
	}
	v := m.viewers[key]
	if v == nil {
		v = s.openViewer(m, key, p, r.RemoteAddr)
	}
	v.last = now
	v.active++
	v.timer.Reset(s.cfg.IdleTimeout)
	return v, nil
}

// done notes the end of one of v's requests, which restarts its idle timer.
func (s *Service) done(v *viewer) {
	s.mu.Lock()
	defer s.mu.Unlock()
	v.active--
	if !v.ended {
		v.last = time.Now()
		v.timer.Reset(s.cfg.IdleTimeout)
	}
}

// openViewer opens the session of a new viewer of m. s.mu is held.
func (s *Service) openViewer(m *muxer, key viewerKey, p argus.Principal, client string) *viewer {
	v := &viewer{key: key, m: m}
	ctx, end := s.cfg.Sessions.Open(s.ctx, live.Session{
		ID: argus.NewID("hls"), Protocol: live.ProtoHLS, CameraID: key.camera,
		UserID: p.UserID, OrgID: p.OrgID, Client: client,
	})
	v.end = end
	v.stopRevoke = context.AfterFunc(ctx, func() { s.revoke(v, context.Cause(ctx)) })
	v.timer = time.AfterFunc(s.cfg.IdleTimeout, func() { s.expire(v) })
	m.viewers[key] = v
	s.met.viewers.Inc()
	return v
}

// expire ends v if it has made no request for IdleTimeout.
func (s *Service) expire(v *viewer) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !v.ended && v.active == 0 && time.Since(v.last) >= s.cfg.IdleTimeout {
		s.endViewer(v, "idle")
	}
}

// revoke ends v because its session was closed from outside, and refuses
// its requests until it has been quiet for IdleTimeout.
func (s *Service) revoke(v *viewer, cause error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if v.ended {
		return
	}
	reason := "revoked"
	if cause != nil && !errors.Is(cause, context.Canceled) {
		reason += ": " + cause.Error()
	}
	now := time.Now()
	for k, ref := range s.refused {
		if now.Sub(ref.last) >= s.cfg.IdleTimeout {
			delete(s.refused, k)
		}
	}
	s.refused[v.key] = &refusal{last: now, reason: reason}
	s.endViewer(v, reason)
}

// endViewer ends v's session with reason, and tears its muxer down when v
// was the last viewer. s.mu is held.
func (s *Service) endViewer(v *viewer, reason string) {
	if v.ended {
		return
	}
	v.ended = true
	v.stopRevoke()
	v.timer.Stop()
	delete(v.m.viewers, v.key)
	s.met.viewers.Dec()
	v.end(reason)
	if len(v.m.viewers) == 0 {
		s.stopMuxer(v.m, errors.New("no viewers"))
	}
}

// Close ends every viewer's session ("shutdown"), tears every muxer down,
// refuses further requests and waits for the muxers' goroutines.
func (s *Service) Close() error {
	s.mu.Lock()
	s.closed = true
	for _, m := range s.muxers {
		for _, v := range m.viewers {
			s.endViewer(v, "shutdown")
		}
		s.stopMuxer(m, errClosed)
	}
	s.mu.Unlock()
	s.cancel(errClosed)
	s.wg.Wait()
	return nil
}

// answerWriter notes whether the muxer answered a request at all (it
// writes nothing for a name it does not know), and makes the muxer's
// "public" caching private: every answer is for an authenticated viewer.
type answerWriter struct {
	http.ResponseWriter
	answered bool
}

func (w *answerWriter) WriteHeader(code int) {
	w.answered = true
	h := w.Header()
	if cc, ok := strings.CutPrefix(h.Get("Cache-Control"), "public"); ok {
		h.Set("Cache-Control", "private"+cc)
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *answerWriter) Write(b []byte) (int, error) {
	if !w.answered {
		w.WriteHeader(http.StatusOK)
	}
	return w.ResponseWriter.Write(b)
}
