// Package rtspserver re-serves cameras over RTSP, for VLC, ffplay, ffprobe
// and other video management systems: rtsp://HOST:PORT/cameras/{id}, over
// TCP (interleaved) and, when configured, UDP.
//
// Every request that touches a camera is authenticated (RTSP Basic: a
// username and password, or an API token as the password) and authorised
// through the caller-supplied gate; every playing viewer is recorded in
// live.Sessions from PLAY until TEARDOWN or disconnect, and closing its
// session there (revocation) disconnects it.
//
// One hub reader per camera feeds all of the camera's RTSP viewers: each
// unit is packetised once. A new viewer is sent the packets of the cached
// GOP first, so it starts on a keyframe at once; then it gets the live
// packets with everybody else.
package rtspserver

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"strings"
	"sync"
	"time"

	"github.com/bluenviron/gortsplib/v5"
	"github.com/bluenviron/gortsplib/v5/pkg/auth"
	"github.com/bluenviron/gortsplib/v5/pkg/base"
	"github.com/bluenviron/gortsplib/v5/pkg/liberrors"

	"argus"
	"argus/internal/access"
	"argus/internal/hub"
	"argus/internal/live"
)

// DefaultLinger is how long a camera's feed outlives its last session
// unless Config.Linger says otherwise. It covers the gap between a
// client's DESCRIBE and its SETUP.
const DefaultLinger = 5 * time.Second

// writeQueueSize is each session's queue of outbound packets (gortsplib's
// default is 256): room for a catch-up GOP of 2048 packets, about 2.8 MB,
// and the live packets behind it. A power of two, as gortsplib requires.
const writeQueueSize = 4096

// authTimeout bounds one call of Config.Authenticate or Config.Authorize
// (and the camera lookup).
const authTimeout = 10 * time.Second

// pathPrefix is the RTSP path of the cameras: /cameras/{id}.
const pathPrefix = "/cameras/"

// errShutdown is the cause of the server's context after Close.
var errShutdown = errors.New("rtsp server closed")

// errIdle is the cause of a feed's context when it had no session for
// Linger.
var errIdle = errors.New("no viewers")

// Hub is where the server reads cameras from; *hub.Hub implements it.
type Hub interface {
	Attach(ctx context.Context, cameraID string, opts hub.ReaderOptions) (*hub.Reader, error)
}

// Cameras looks cameras up in the directory; argus.CameraStore implements
// it. Camera returns an ENOTFOUND *argus.Error for an unknown id.
type Cameras interface {
	Camera(ctx context.Context, id string) (*argus.Camera, error)
}

// Config configures a Server.
type Config struct {
	// Listen is the RTSP (TCP) address, e.g. "127.0.0.1:8554" or ":8554";
	// port 0 picks a free port, which Addr reports. Required.
	Listen string
	// UDPRTPAddress and UDPRTCPAddress enable the UDP transport: the
	// server's RTP and RTCP ports, e.g. ":8000" and ":8001" (an even port
	// and the next). Both or neither; empty means TCP only.
	UDPRTPAddress, UDPRTCPAddress string

	// Hub supplies the cameras' media. Required.
	Hub Hub
	// Cameras looks up the camera a request names. Required.
	Cameras Cameras
	// Authenticate turns RTSP Basic credentials into a principal: a
	// username and password, or an API token ("argus_…") given as the
	// password with any username. client is the caller's IP address, for
	// throttling password guesses as the API's sign-in does. Unknown or
	// wrong credentials are an EUNAUTHORIZED *argus.Error, a throttled
	// caller ERATELIMIT. Required.
	Authenticate func(ctx context.Context, client, user, password string) (argus.Principal, error)
	// Authorize decides whether p may watch cam live (the access gate's
	// Check with argus.ActionLive). EFORBIDDEN and ENOTFOUND are both
	// answered 404, so a camera the caller may not watch is
	// indistinguishable from one that does not exist. Required.
	Authorize func(ctx context.Context, p argus.Principal, cam *argus.Camera) error
	// Sessions records every viewer, and closing a session there
	// disconnects it. Required.
	Sessions *live.Sessions
	// Linger is how long a camera's hub reader stays open after its last
	// RTSP session ends; 0 means DefaultLinger.
	Linger time.Duration
	// Logger receives the server's logs; nil discards them.
	Logger *slog.Logger
}

// Server serves cameras over RTSP. Create it with New, then Start, then
// Close.
type Server struct {
	cfg  Config
	log  *slog.Logger
	rtsp *gortsplib.Server

	// ctx is the server's lifetime (from Start); feeds and calls to
	// Authenticate and Authorize derive from it.
	ctx    context.Context
	cancel context.CancelCauseFunc
	// feeds counts the feed goroutines; done is closed once Start's
	// shutdown goroutine has closed everything.
	feeds sync.WaitGroup
	done  chan struct{}

	// mu guards closed, byCamera and every feed's refs and linger fields.
	mu       sync.Mutex
	closed   bool
	byCamera map[string]*feed
}

// New validates cfg and returns a Server that is not yet listening.
func New(cfg Config) (*Server, error) {
	switch {
	case cfg.Listen == "":
		return nil, errors.New("rtspserver: config needs a listen address")
	case (cfg.UDPRTPAddress == "") != (cfg.UDPRTCPAddress == ""):
		return nil, errors.New("rtspserver: UDP RTP and RTCP addresses go together")
	case cfg.Hub == nil, cfg.Cameras == nil, cfg.Authenticate == nil, cfg.Authorize == nil, cfg.Sessions == nil:
		return nil, errors.New("rtspserver: config needs a hub, cameras, authenticate, authorize and sessions")
	case cfg.Linger < 0:
		return nil, fmt.Errorf("rtspserver: negative linger %v", cfg.Linger)
	}
	if cfg.Linger == 0 {
		cfg.Linger = DefaultLinger
	}
	s := &Server{cfg: cfg, log: cfg.Logger, byCamera: map[string]*feed{}, done: make(chan struct{})}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	return s, nil
}

// Start listens and serves until ctx ends or Close is called; in both
// cases Close waits for everything to stop.
func (s *Server) Start(ctx context.Context) error {
	if s.rtsp != nil {
		return errors.New("rtspserver: already started")
	}
	s.rtsp = &gortsplib.Server{
		Handler:        &handler{s: s},
		RTSPAddress:    s.cfg.Listen,
		UDPRTPAddress:  s.cfg.UDPRTPAddress,
		UDPRTCPAddress: s.cfg.UDPRTCPAddress,
		WriteQueueSize: writeQueueSize,
		// Basic only: Digest needs the plaintext password on the server,
		// and argus keeps only Argon2id hashes.
		AuthMethods: []auth.VerifyMethod{auth.VerifyMethodBasic},
	}
	// The handlers use ctx as soon as the first connection comes in.
	s.ctx, s.cancel = context.WithCancelCause(ctx)
	if err := s.rtsp.Start(); err != nil {
		s.cancel(err)
		s.rtsp, s.cancel = nil, nil
		return fmt.Errorf("rtspserver: listen on %s: %w", s.cfg.Listen, err)
	}
	go func() {
		defer close(s.done)
		<-s.ctx.Done()
		s.mu.Lock()
		s.closed = true
		for _, f := range s.byCamera {
			if f.linger != nil {
				f.linger.Stop()
			}
		}
		s.mu.Unlock()
		s.feeds.Wait() // each feed closes its stream and so its sessions
		s.rtsp.Close() // closes the connections and waits for them
	}()
	s.log.Info("rtsp serving", "addr", s.Addr(), "udp", s.cfg.UDPRTPAddress != "")
	return nil
}

// Addr returns the RTSP address, with the real port once started.
func (s *Server) Addr() string {
	if s.rtsp == nil {
		return s.cfg.Listen
	}
	return s.rtsp.NetListener().Addr().String()
}

// Close disconnects every viewer (their live sessions end with reason
// "shutdown"), releases the hub readers and stops listening; it returns
// once every goroutine has exited. It is safe to call more than once, and
// without Start.
func (s *Server) Close() error {
	if s.cancel == nil {
		return nil
	}
	s.cancel(errShutdown)
	<-s.done
	return nil
}

// acquire returns camera's running feed, starting it if needed, with a
// reference held for the caller, who must release it.
func (s *Server) acquire(ctx context.Context, camera string) (*feed, error) {
	for range 2 { // a feed can end between the lookup and its use: once more
		s.mu.Lock()
		if s.closed {
			s.mu.Unlock()
			return nil, errShutdown
		}
		f := s.byCamera[camera]
		if f == nil {
			f = &feed{srv: s, camera: camera, ready: make(chan struct{}), viewers: map[*gortsplib.ServerSession]*viewer{}}
			f.ctx, f.cancel = context.WithCancelCause(s.ctx)
			s.byCamera[camera] = f
			s.feeds.Go(f.run)
		}
		f.refs++
		f.lingerGen++
		if f.linger != nil {
			f.linger.Stop()
			f.linger = nil
		}
		s.mu.Unlock()

		select {
		case <-f.ready:
		case <-ctx.Done():
			s.release(f)
			return nil, &argus.Error{Code: argus.EUNAVAILABLE, Message: fmt.Sprintf("camera %s is not streaming", camera)}
		}
		if f.err != nil {
			s.release(f)
			return nil, f.err
		}
		if f.ctx.Err() == nil {
			return f, nil
		}
		s.release(f)
	}
	return nil, &argus.Error{Code: argus.EUNAVAILABLE, Message: fmt.Sprintf("camera %s is not streaming", camera)}
}

// release drops a reference to f; the last one starts its linger timer.
func (s *Server) release(f *feed) {
	s.mu.Lock()
	defer s.mu.Unlock()
	f.refs--
	if f.refs > 0 || s.closed || s.byCamera[f.camera] != f {
		return
	}
	f.lingerGen++
	gen := f.lingerGen
	f.linger = time.AfterFunc(s.cfg.Linger, func() {
		s.mu.Lock()
		defer s.mu.Unlock()
		if gen != f.lingerGen || f.refs > 0 || s.byCamera[f.camera] != f {
			return
		}
		delete(s.byCamera, f.camera)
		f.cancel(errIdle)
	})
}

// forget removes f from the camera map, once it has ended.
func (s *Server) forget(f *feed) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.byCamera[f.camera] == f {
		delete(s.byCamera, f.camera)
	}
	f.lingerGen++
	if f.linger != nil {
		f.linger.Stop()
		f.linger = nil
	}
}

// cameraID returns the camera id of an RTSP path, /cameras/{id}.
func cameraID(path string) (string, bool) {
	id, ok := strings.CutPrefix(strings.TrimSuffix(path, "/"), pathPrefix)
	return id, ok && argus.ValidID(id)
}

// session is what the server keeps about one RTSP session from its first
// SETUP on. The gortsplib callbacks that touch it run one at a time (on the
// session's goroutine, or on a connection's while the session waits).
type session struct {
	ss        *gortsplib.ServerSession
	id        string
	principal argus.Principal
	camera    *argus.Camera
	feed      *feed
	client    string

	// ctx and end are set by the first PLAY (live.Sessions.Open); stop
	// cancels the revocation hook.
	ctx  context.Context
	end  func(reason string)
	stop func() bool
	// playing is true between a PLAY and a PAUSE; resumed once the session
	// has played.
	playing, resumed bool
}

// connState is what the server keeps about one RTSP connection.
type connState struct {
	// authz and principal cache the last credentials that authenticated on
	// this connection: clients repeat them on every request, and checking
	// a password costs an Argon2id hash.
	authz     string
	principal argus.Principal
	// played is the session whose PLAY this connection is answering; the
	// response hook starts writing to it once the PLAY succeeded.
	played *session
}

// authenticate checks a request's credentials. On failure it returns the
// response to send and the error for gortsplib: ErrServerAuth makes it
// challenge a request without credentials (WWW-Authenticate: Basic) and
// close the connection after wrong ones.
func (s *Server) authenticate(sc *gortsplib.ServerConn, req *base.Request) (argus.Principal, *base.Response, error) {
	cs := sc.UserData().(*connState)
	raw := req.Header["Authorization"]
	key := strings.Join(raw, "\n")
	if len(raw) == 0 {
		return argus.Principal{}, &base.Response{StatusCode: base.StatusUnauthorized}, liberrors.ErrServerAuth{}
	}
	if cs.authz != "" && key == cs.authz {
		return cs.principal, nil, nil
	}
	user, password, ok := basicCredentials(raw)
	if !ok {
		return argus.Principal{}, &base.Response{StatusCode: base.StatusUnauthorized}, liberrors.ErrServerAuth{}
	}
	ctx, cancel := context.WithTimeout(s.ctx, authTimeout)
	defer cancel()
	host, _, err := net.SplitHostPort(clientAddr(sc))
	if err != nil {
		host = clientAddr(sc)
	}
	p, err := s.cfg.Authenticate(ctx, host, user, password)
	if err != nil {
		s.log.Info("rtsp authentication failed", "client", clientAddr(sc), "user", user, "err", err)
		if argus.ErrorCode(err) == argus.EUNAUTHORIZED {
			return argus.Principal{}, &base.Response{StatusCode: base.StatusUnauthorized}, liberrors.ErrServerAuth{}
		}
		return argus.Principal{}, refusal(err), nil
	}
	cs.authz, cs.principal = key, p
	return p, nil, nil
}

// lookup resolves path to a camera p, connected from sc, may watch live.
// The gate records the client's address (the TCP peer's host) with its
// decision.
func (s *Server) lookup(sc *gortsplib.ServerConn, p argus.Principal, path string) (*argus.Camera, *base.Response) {
	id, ok := cameraID(path)
	if !ok {
		return nil, &base.Response{StatusCode: base.StatusNotFound}
	}
	host, _, err := net.SplitHostPort(clientAddr(sc))
	if err != nil {
		host = clientAddr(sc)
	}
	ctx, cancel := context.WithTimeout(access.WithClient(s.ctx, host), authTimeout)
	defer cancel()
	cam, err := s.cfg.Cameras.Camera(ctx, id)
	if err == nil {
		err = s.cfg.Authorize(ctx, p, cam)
	}
	if err != nil {
		s.log.Info("rtsp request refused", "camera", id, "user", p.UserID, "err", err)
		return nil, refusal(err)
	}
	return cam, nil
}

// refusal is the RTSP answer to a failed lookup, authorisation or start.
func refusal(err error) *base.Response {
	if errors.Is(err, errShutdown) {
		return &base.Response{StatusCode: base.StatusServiceUnavailable}
	}
	code := base.StatusInternalServerError
	switch argus.ErrorCode(err) {
	case argus.ENOTFOUND, argus.EFORBIDDEN:
		code = base.StatusNotFound
	case argus.EUNAUTHORIZED:
		code = base.StatusUnauthorized
	case argus.EUNAVAILABLE, argus.ERATELIMIT:
		code = base.StatusServiceUnavailable
	}
	return &base.Response{StatusCode: code}
}

func clientAddr(sc *gortsplib.ServerConn) string {
	if a := sc.NetConn().RemoteAddr(); a != nil {
		return a.String()
	}
	return ""
}

// sessionFor returns the server's record of ss, or nil before its first
// successful SETUP.
func sessionFor(ss *gortsplib.ServerSession) *session {
	sess, _ := ss.UserData().(*session)
	return sess
}

// endReason says why sess's gortsplib session closed with err.
func (s *Server) endReason(sess *session, err error) string {
	switch {
	case s.ctx.Err() != nil:
		return "shutdown"
	case sess.ctx != nil && sess.ctx.Err() != nil:
		return "revoked: " + context.Cause(sess.ctx).Error()
	case sess.feed.ctx.Err() != nil:
		return "stream ended: " + context.Cause(sess.feed.ctx).Error()
	}
	if _, ok := errors.AsType[liberrors.ErrServerSessionTornDown](err); ok {
		return "closed by viewer"
	}
	if ne, ok := errors.AsType[net.Error](err); ok && ne.Timeout() {
		return "stalled" // the viewer stopped reading
	}
	if _, ok := errors.AsType[liberrors.ErrServerSessionNotInUse](err); ok ||
		errors.Is(err, io.EOF) || errors.Is(err, net.ErrClosed) || errors.As(err, new(*net.OpError)) {
		return "connection lost" // closed or reset without TEARDOWN
	}
	if _, ok := errors.AsType[liberrors.ErrServerSessionTimedOut](err); ok {
		return "timed out" // a UDP viewer sent neither RTCP nor keepalives
	}
	if err == nil {
		return "closed"
	}
	return err.Error()
}
