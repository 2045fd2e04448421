package sim

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/bluenviron/gortsplib/v5"
	"github.com/bluenviron/gortsplib/v5/pkg/base"
	"github.com/bluenviron/gortsplib/v5/pkg/description"
	"github.com/bluenviron/gortsplib/v5/pkg/format"
	"github.com/bluenviron/gortsplib/v5/pkg/headers"

	"argus/internal/sim/clips"
)

const (
	payloadType = 96
	clockRate   = 90000
	pathPrefix  = "/sim/"
)

// errClosed is the cause of the server's context after Close.
var errClosed = errors.New("sim server closed")

// Config configures a Server. The zero value of every optional field picks
// the default.
type Config struct {
	// Cameras is the number of cameras, served as /sim/1 … /sim/N.
	Cameras int
	// Listen is the RTSP (TCP) listen address, e.g. "127.0.0.1:8554"; port
	// 0 picks a free port, which Addr reports.
	Listen string
	// Clip is the name of the clip every camera streams (see clips.All);
	// it fixes the picture size and the GOP. Default clips.Default.
	Clip string
	// FPS is the output frame rate; 0 keeps the clip's rate. Other rates
	// re-time the clip's frames (the GOP in seconds scales accordingly).
	FPS int
	// Bitrate is the target in bits per second, counted in H.264 NAL unit
	// bytes; 0 keeps the clip's natural rate. Each frame is padded with a
	// filler-data NAL unit (type 12) of constant size so that the average
	// over the clip is the target; a target below the natural rate is
	// ignored with a warning.
	Bitrate int
	// Seek starts every camera this far into its clip (at the output rate),
	// on top of its own offset; tests use it to reach a loop boundary soon.
	Seek time.Duration
	// Failures are the scheduled fail modes (see ParseFailure).
	Failures []Failure
	// Logger receives the server's logs; nil discards them.
	Logger *slog.Logger
}

// Server serves simulated cameras over RTSP. Create it with New, then call
// Start, then Close.
type Server struct {
	cfg        Config
	log        *slog.Logger
	media      *media
	fps        int
	seekFrames int64
	filler     [][]byte // RTP payloads of the per-frame padding; nil = none
	cams       []*camera

	rtsp   *gortsplib.Server
	epoch  time.Time     // frame 0 of every camera; set before ready closes
	ready  chan struct{} // closed once streams exist and epoch is set
	cancel context.CancelCauseFunc
	wg     sync.WaitGroup
}

// New validates cfg, loads and packetizes the clip, and returns a Server
// that is not yet listening.
func New(cfg Config) (*Server, error) {
	if cfg.Clip == "" {
		cfg.Clip = clips.Default
	}
	if err := cfg.validate(); err != nil {
		return nil, fmt.Errorf("invalid sim config: %w", err)
	}
	clip, _ := clips.Lookup(cfg.Clip)
	annexB, err := clip.AnnexB()
	if err != nil {
		return nil, fmt.Errorf("load clip: %w", err)
	}
	m, err := newMedia(clip, annexB)
	if err != nil {
		return nil, fmt.Errorf("load clip: %w", err)
	}
	s := &Server{
		cfg:   cfg,
		log:   cfg.Logger,
		media: m,
		fps:   cfg.FPS,
		ready: make(chan struct{}),
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if s.fps == 0 {
		s.fps = clip.FPS
	}
	s.seekFrames = int64(cfg.Seek) * int64(s.fps) / int64(time.Second)
	if cfg.Bitrate > 0 {
		target := float64(cfg.Bitrate) / 8 / float64(s.fps)
		pad := int(target - m.naturalBytes + 0.5)
		s.filler = fillerPayloads(pad)
		if s.filler == nil {
			s.log.Warn("clip's natural bitrate is above the target, not padding",
				"clip", clip.Name, "natural_bps", int(m.naturalBytes*8*float64(s.fps)), "target_bps", cfg.Bitrate)
		}
	}
	s.cams = make([]*camera, cfg.Cameras)
	for i := range s.cams {
		s.cams[i] = newCamera(s, i+1)
	}
	return s, nil
}

func (cfg *Config) validate() error {
	if cfg.Cameras < 1 {
		return fmt.Errorf("Cameras: must be at least 1, got %d", cfg.Cameras)
	}
	if cfg.Listen == "" {
		return errors.New("Listen: missing address")
	}
	if _, ok := clips.Lookup(cfg.Clip); !ok {
		names := make([]string, 0, 4)
		for _, c := range clips.All() {
			names = append(names, c.Name)
		}
		return fmt.Errorf("Clip: unknown clip %q (have %s)", cfg.Clip, strings.Join(names, ", "))
	}
	if cfg.FPS < 0 || cfg.FPS > 120 {
		return fmt.Errorf("FPS: must be 0 (the clip's rate) or 1..120, got %d", cfg.FPS)
	}
	if cfg.Bitrate < 0 {
		return fmt.Errorf("Bitrate: must not be negative, got %d", cfg.Bitrate)
	}
	if cfg.Seek < 0 {
		return fmt.Errorf("Seek: must not be negative, got %s", cfg.Seek)
	}
	for i, f := range cfg.Failures {
		if err := f.validate(); err != nil {
			return fmt.Errorf("Failures[%d]: %w", i, err)
		}
		if f.Camera > cfg.Cameras {
			return fmt.Errorf("Failures[%d]: camera %d out of range 1..%d", i, f.Camera, cfg.Cameras)
		}
	}
	return nil
}

// Start listens and starts the cameras; it returns once the server accepts
// connections. The server runs until ctx ends or Close is called; in both
// cases Close waits for it.
func (s *Server) Start(ctx context.Context) error {
	if s.rtsp != nil {
		return errors.New("sim server already started")
	}
	s.rtsp = &gortsplib.Server{
		Handler:     &handler{s: s},
		RTSPAddress: s.cfg.Listen,
		Listen: func(network, address string) (net.Listener, error) {
			ln, err := net.Listen(network, address)
			if err != nil {
				return nil, err
			}
			return listener{ln}, nil
		},
	}
	if err := s.rtsp.Start(); err != nil {
		s.rtsp = nil
		return fmt.Errorf("start rtsp server on %s: %w", s.cfg.Listen, err)
	}
	for _, c := range s.cams {
		c.medi = &description.Media{
			Type: description.MediaTypeVideo,
			Formats: []format.Format{&format.H264{
				PayloadTyp:        payloadType,
				PacketizationMode: 1,
				SPS:               s.media.sps,
				PPS:               s.media.pps,
			}},
		}
		c.stream = &gortsplib.ServerStream{
			Server: s.rtsp,
			Desc:   &description.Session{Medias: []*description.Media{c.medi}},
		}
		if err := c.stream.Initialize(); err != nil {
			s.rtsp.Close()
			s.rtsp = nil
			return fmt.Errorf("camera %d: init stream: %w", c.n, err)
		}
		for _, m := range c.stream.Stats().Medias {
			for _, f := range m.Formats {
				c.ssrc = f.LocalSSRC
			}
		}
	}

	ctx, s.cancel = context.WithCancelCause(ctx)
	s.epoch = time.Now()
	close(s.ready)

	var cams sync.WaitGroup
	for _, c := range s.cams {
		cams.Go(func() { c.run(ctx) })
	}
	s.wg.Go(func() {
		<-ctx.Done()
		// Stop the writers before the streams and the server go away.
		cams.Wait()
		for _, c := range s.cams {
			c.stream.Close()
		}
		s.rtsp.Close()
	})
	s.log.Info("sim serving", "addr", s.Addr(), "cameras", s.cfg.Cameras, "clip", s.media.clip.Name,
		"fps", s.fps, "bitrate", s.cfg.Bitrate, "failures", len(s.cfg.Failures))
	return nil
}

// Addr returns the address the server listens on, with the real port once
// started.
func (s *Server) Addr() string {
	if s.rtsp == nil {
		return s.cfg.Listen
	}
	return s.rtsp.NetListener().Addr().String()
}

// URL returns the RTSP URL of camera n (1-based).
func (s *Server) URL(n int) string {
	return "rtsp://" + s.Addr() + pathPrefix + strconv.Itoa(n)
}

// Close stops the cameras and the RTSP server and waits for every goroutine
// to exit. It is safe to call more than once, and without Start.
func (s *Server) Close() error {
	if s.cancel != nil {
		s.cancel(errClosed)
	}
	s.wg.Wait()
	return nil
}

// frameAt returns the number of the frame due at d after a camera's first
// frame, or -1 before it.
func (s *Server) frameAt(d time.Duration) int64 {
	if d < 0 {
		return -1
	}
	return int64(d) * int64(s.fps) / int64(time.Second)
}

// frameTime returns when frame k is due, relative to a camera's first frame.
func (s *Server) frameTime(k int64) time.Duration {
	return time.Duration(k * int64(time.Second) / int64(s.fps))
}

// handler answers gortsplib's callbacks; it keeps them off Server's API.
type handler struct {
	s *Server
}

// camera resolves a request path to a camera that may be served now, or to
// the response that refuses it.
func (h *handler) camera(path string) (*camera, *base.Response) {
	select {
	case <-h.s.ready:
	default:
		return nil, &base.Response{StatusCode: base.StatusServiceUnavailable}
	}
	c := h.s.cameraByPath(path)
	if c == nil {
		return nil, &base.Response{StatusCode: base.StatusNotFound}
	}
	if c.activeModes(time.Since(h.s.epoch))&setDrop != 0 {
		return nil, &base.Response{StatusCode: base.StatusServiceUnavailable}
	}
	return c, nil
}

func (s *Server) cameraByPath(path string) *camera {
	rest, ok := strings.CutPrefix(path, pathPrefix)
	if !ok {
		return nil
	}
	n, err := strconv.Atoi(rest)
	if err != nil || n < 1 || n > len(s.cams) || strconv.Itoa(n) != rest {
		return nil
	}
	return s.cams[n-1]
}

// OnDescribe implements gortsplib.ServerHandlerOnDescribe.
func (h *handler) OnDescribe(ctx *gortsplib.ServerHandlerOnDescribeCtx) (*base.Response, *gortsplib.ServerStream, error) {
	c, res := h.camera(ctx.Path)
	if res != nil {
		return res, nil, nil
	}
	return &base.Response{StatusCode: base.StatusOK}, c.stream, nil
}

// OnSetup implements gortsplib.ServerHandlerOnSetup.
func (h *handler) OnSetup(ctx *gortsplib.ServerHandlerOnSetupCtx) (*base.Response, *gortsplib.ServerStream, error) {
	c, res := h.camera(ctx.Path)
	if res != nil {
		return res, nil, nil
	}
	ctx.Session.SetUserData(interleavedChannel(ctx.Request.Header["Transport"]))
	return &base.Response{StatusCode: base.StatusOK}, c.stream, nil
}

// interleavedChannel returns the RTP channel a SETUP's Transport header asks
// for over TCP. Without one, gortsplib picks the first free pair: 0 for
// the simulator's single track.
func interleavedChannel(v base.HeaderValue) byte {
	var ths headers.Transports
	if err := ths.Unmarshal(v); err != nil {
		return 0
	}
	for _, th := range ths {
		if th.Protocol == headers.TransportProtocolTCP && th.InterleavedIDs != nil {
			return byte(th.InterleavedIDs[0])
		}
	}
	return 0
}

// OnPlay implements gortsplib.ServerHandlerOnPlay.
func (h *handler) OnPlay(ctx *gortsplib.ServerHandlerOnPlayCtx) (*base.Response, error) {
	c, res := h.camera(ctx.Path)
	if res != nil {
		return res, nil
	}
	tc, ok := ctx.Conn.NetConn().(*tcpConn)
	if !ok || ctx.Session.Transport() == nil || ctx.Session.Transport().Protocol != gortsplib.ProtocolTCP {
		return &base.Response{StatusCode: base.StatusUnsupportedTransport}, nil
	}
	ch, _ := ctx.Session.UserData().(byte)
	r := &reader{ss: ctx.Session, conn: tc, channel: ch}
	// Frames go out only once the PLAY response has.
	tc.onPlayed(func() { c.addReader(r) })
	c.log.Debug("session playing", "remote", tc.RemoteAddr().String())
	return &base.Response{StatusCode: base.StatusOK}, nil
}

// OnSessionClose implements gortsplib.ServerHandlerOnSessionClose.
func (h *handler) OnSessionClose(ctx *gortsplib.ServerHandlerOnSessionCloseCtx) {
	if c := h.s.cameraByPath(ctx.Session.Path()); c != nil {
		c.removeReader(ctx.Session)
		c.log.Debug("session closed", "error", ctx.Error)
	}
}
