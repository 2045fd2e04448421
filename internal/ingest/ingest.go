// Package ingest pulls camera streams over RTSP into the stream hub.
//
// One Ingest serves every camera of a node, and Ingest.Run is the hub's
// SourceFunc: for one camera it resolves the stream URL and credentials,
// connects with gortsplib (TCP, UDP, or UDP falling back to TCP; Basic and
// Digest auth), depacketises H.264 and H.265 video into access units and
// passes AAC, G.711 and Opus audio through untouched, and writes them to the
// hub with timestamps taken from RTP. On any failure it reports the camera
// offline to the hub and reconnects after a capped, fully jittered
// exponential backoff; a stream that delivers no frame for StallTimeout (or
// no keyframe for three times as long) counts as lost. Per-camera health
// (state, fps, bitrate, last keyframe, reconnects, last error) is kept in
// memory for Health and announced through Events; Prometheus only gets
// totals, never a series per camera. docs/ingest.md has the details.
package ingest

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"argus/internal/hub"
)

// Defaults for the zero values of Config.
const (
	DefaultStallTimeout  = 20 * time.Second
	DefaultReadTimeout   = 10 * time.Second
	DefaultBackoffMin    = time.Second
	DefaultBackoffMax    = 60 * time.Second
	DefaultBackoffStable = 30 * time.Second
)

// Transports a Target may ask for.
const (
	// TransportTCP interleaves RTP in the RTSP connection; the default.
	TransportTCP = "tcp"
	// TransportUDP receives RTP and RTCP on a pair of UDP ports.
	TransportUDP = "udp"
	// TransportAuto tries UDP and falls back to TCP when the camera refuses
	// UDP or no packet arrives within a few seconds.
	TransportAuto = "auto"
)

// Target is where and how to pull one camera.
type Target struct {
	// URL is the rtsp:// or rtsps:// stream URL. It should carry no
	// credentials; if it does, they are used when Username is empty. It is
	// logged without them.
	URL string
	// Username and Password are the camera's credentials, decrypted; an
	// empty Username connects without authentication.
	Username, Password string
	// Transport is TransportTCP (also for ""), TransportUDP or
	// TransportAuto.
	Transport string
}

// Resolver returns the target of a camera; the node resolves it from the
// camera directory. It is called before every connection attempt, so a
// changed URL or password takes effect at the next reconnect.
type Resolver func(ctx context.Context, cameraID string) (Target, error)

// Sink receives one camera's media. *hub.Stream implements it.
type Sink interface {
	// SetMedia publishes the tracks; it is called before the first unit of
	// every connection (with the same *Media as before if nothing changed)
	// and again when the video parameters change, before a keyframe.
	SetMedia(m *hub.Media)
	// WriteUnit hands over one access unit, which is immutable from then on.
	WriteUnit(u *hub.Unit)
	// SetOffline reports that the camera was lost: once per outage, with
	// the first failure.
	SetOffline(err error)
}

// Backoff shapes the wait between connection attempts: before retry n
// (0-based) Run sleeps a uniformly random time in [0, min(Max, Min·2^n)]
// ("full jitter"), so that cameras that failed together do not retry
// together.
type Backoff struct {
	// Min is the ceiling of the first wait; 0 means DefaultBackoffMin.
	Min time.Duration
	// Max caps the ceiling; 0 means DefaultBackoffMax.
	Max time.Duration
	// Stable is how long a connection must stay up for the next failure to
	// start again from Min; 0 means DefaultBackoffStable.
	Stable time.Duration
}

// maxAttempt bounds the retry counter; any ceiling has reached Max by then.
const maxAttempt = 62

// Delay returns the wait before retry number attempt (0-based), drawn from r.
func (b Backoff) Delay(attempt int, r *rand.Rand) time.Duration {
	ceil := b.Max
	if attempt >= 0 && attempt < maxAttempt && b.Min <= b.Max>>attempt {
		ceil = b.Min << attempt
	}
	if ceil <= 0 {
		return 0
	}
	return time.Duration(r.Int64N(int64(ceil) + 1))
}

// Config configures an Ingest.
type Config struct {
	// Resolve finds a camera's target; required.
	Resolve Resolver
	// StallTimeout is how long a playing session may go without receiving
	// a frame before it is dropped as stalled; one that receives frames
	// but can write none (no keyframe) is dropped after three times as
	// long. 0 means DefaultStallTimeout.
	StallTimeout time.Duration
	// ReadTimeout bounds each RTSP request and the silence gortsplib
	// tolerates on the transport; 0 means DefaultReadTimeout.
	ReadTimeout time.Duration
	// Backoff shapes the waits between attempts.
	Backoff Backoff
	// Logger receives the logs; nil discards them. Passwords and URLs with
	// credentials are never logged.
	Logger *slog.Logger
	// Registerer receives the metrics; nil registers none.
	Registerer prometheus.Registerer
	// Now is the clock for health, events, Unit.Wall and the stall check;
	// nil means time.Now. It must keep pace with real time, as the stall
	// check measures it against timers.
	Now func() time.Time
	// Events, if set, is called on every state change of a camera, from
	// that camera's goroutines; it must not block.
	Events func(Event)
}

// State is a camera's ingest state.
type State string

// The states of a camera.
const (
	// StateConnecting is resolving, dialling, DESCRIBE, SETUP and PLAY.
	StateConnecting State = "connecting"
	// StateOnline is a playing session.
	StateOnline State = "online"
	// StateStalled is a reconnect pending after a session stalled (see
	// Config.StallTimeout).
	StateStalled State = "stalled"
	// StateOffline is a reconnect pending after an attempt or a session
	// failed.
	StateOffline State = "offline"
	// StateUnauthorised is a reconnect pending after the camera refused
	// the credentials (401 or 403).
	StateUnauthorised State = "unauthorised"
	// StateUnsupportedCodec is a reconnect pending after the camera
	// offered no codec argus carries.
	StateUnsupportedCodec State = "unsupported_codec"
)

// allStates lists the states in a fixed order, for the metrics.
func allStates() []State {
	return []State{StateConnecting, StateOnline, StateStalled, StateOffline, StateUnauthorised, StateUnsupportedCodec}
}

// Health is a snapshot of one camera's ingest.
type Health struct {
	// State is the current state.
	State State
	// FPS is video frames (audio frames for audio-only cameras) per second
	// and Bitrate the access-unit payload in bits per second, both measured
	// over about the last second; 0 unless online.
	FPS, Bitrate float64
	// LastKeyframe is when the last keyframe was received.
	LastKeyframe time.Time
	// Reconnects counts the connection attempts after the first since Run
	// started.
	Reconnects int
	// LastError is the last failure, credentials removed.
	LastError string
	// Since is when State was entered.
	Since time.Time
}

// Event is a change of a camera's state.
type Event struct {
	// CameraID is the camera that changed.
	CameraID string
	// From is the previous state ("" for the first event of a Run) and To
	// the new one.
	From, To State
	// Err is the failure that caused the change, if any, credentials
	// removed.
	Err string
	// At is when the change happened.
	At time.Time
}

// Ingest pulls cameras into the hub. Build it with New; it is safe for
// concurrent use.
type Ingest struct {
	cfg Config
	log *slog.Logger
	now func() time.Time
	met *metrics
	// session runs one connection; a test seam, runSession otherwise.
	session func(ctx context.Context, c *camera, sink Sink) error

	// mu guards cams: the cameras whose Run is executing.
	mu   sync.Mutex
	cams map[string]*camera
	// buffers lends the TCP play loops of unwatched cameras their read
	// buffer (batchBufferSize) for the time of a read; frames lends their
	// depacketisers' frame buffers between batches; units lends the
	// buffers of the units they hand to the hub, which the hub's only
	// reader gives back (see videoUnit).
	buffers *lender
	frames  sync.Pool
	units   framePool
}

// New validates cfg, fills in the defaults and registers the metrics.
func New(cfg Config) (*Ingest, error) {
	switch {
	case cfg.Resolve == nil:
		return nil, errors.New("ingest: config needs a resolver")
	case cfg.StallTimeout < 0, cfg.ReadTimeout < 0:
		return nil, fmt.Errorf("ingest: negative stall or read timeout (%v, %v)", cfg.StallTimeout, cfg.ReadTimeout)
	case cfg.Backoff.Min < 0, cfg.Backoff.Max < 0, cfg.Backoff.Stable < 0:
		return nil, fmt.Errorf("ingest: negative backoff %+v", cfg.Backoff)
	}
	if cfg.StallTimeout == 0 {
		cfg.StallTimeout = DefaultStallTimeout
	}
	if cfg.ReadTimeout == 0 {
		cfg.ReadTimeout = DefaultReadTimeout
	}
	if cfg.Backoff.Min == 0 {
		cfg.Backoff.Min = DefaultBackoffMin
	}
	if cfg.Backoff.Max == 0 {
		cfg.Backoff.Max = max(DefaultBackoffMax, cfg.Backoff.Min)
	}
	if cfg.Backoff.Stable == 0 {
		cfg.Backoff.Stable = DefaultBackoffStable
	}
	if cfg.Backoff.Min > cfg.Backoff.Max {
		return nil, fmt.Errorf("ingest: backoff min %v above max %v", cfg.Backoff.Min, cfg.Backoff.Max)
	}
	in := &Ingest{cfg: cfg, log: cfg.Logger, now: cfg.Now, cams: make(map[string]*camera)}
	in.buffers = newLender(batchBufferSize)
	if in.log == nil {
		in.log = slog.New(slog.DiscardHandler)
	}
	if in.now == nil {
		in.now = time.Now
	}
	in.session = in.runSession
	met, err := newMetrics(cfg.Registerer)
	if err != nil {
		return nil, err
	}
	in.met = met
	return in, nil
}

// Health returns the health of a camera whose Run is executing.
func (in *Ingest) Health(cameraID string) (Health, bool) {
	in.mu.Lock()
	c, ok := in.cams[cameraID]
	in.mu.Unlock()
	if !ok {
		return Health{}, false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	h := c.h
	if h.State != StateOnline {
		h.FPS, h.Bitrate = 0, 0
	}
	return h, true
}

// Run pulls cameraID into sink until ctx is cancelled, reconnecting after
// every failure, and then returns nil. It is the hub's SourceFunc. Only one
// Run per camera may execute at a time; a second one returns an error at
// once.
func (in *Ingest) Run(ctx context.Context, cameraID string, sink Sink) error {
	c, err := in.add(cameraID)
	if err != nil {
		return err
	}
	defer in.remove(c)
	rnd := rand.New(rand.NewPCG(rand.Uint64(), rand.Uint64()))
	b := in.cfg.Backoff
	c.epoch = in.now()
	attempt := 0
	// lost is set once the current outage has been reported to the sink.
	lost := false
	for first := true; ; first = false {
		if !first {
			c.mu.Lock()
			c.h.Reconnects++
			c.mu.Unlock()
			in.met.reconnects.Inc()
		}
		c.onlineAt = time.Time{}
		c.setState(StateConnecting, nil)
		err := in.session(ctx, c, sink)
		if ctx.Err() != nil {
			return nil
		}
		if err == nil {
			err = errors.New("session ended")
		}
		state := stateOf(err)
		err = c.scrubErr(err)
		c.setState(state, err)
		if !c.onlineAt.IsZero() {
			lost = false
			if in.now().Sub(c.onlineAt) >= b.Stable {
				attempt = 0
			}
		}
		if state == StateUnauthorised || state == StateUnsupportedCodec {
			// Neither fixes itself soon: wait as long as the cap allows.
			attempt = maxAttempt
		}
		wait := b.Delay(attempt, rnd)
		attempt = min(attempt+1, maxAttempt)
		// The sink and the log at Warn hear of each outage once; the
		// attempts within it are in Health and at Debug.
		level := slog.LevelDebug
		if !lost {
			lost = true
			level = slog.LevelWarn
			sink.SetOffline(fmt.Errorf("camera %s: %w", state, err))
		}
		c.log.Log(ctx, level, "camera connection failed", "state", string(state), "error", err.Error(),
			"retry_in", wait.Round(time.Millisecond).String())
		if !sleep(ctx, wait) {
			return nil
		}
	}
}

// sleep waits d or until ctx ends; it reports whether d elapsed.
func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

func (in *Ingest) add(id string) (*camera, error) {
	in.mu.Lock()
	defer in.mu.Unlock()
	if _, ok := in.cams[id]; ok {
		return nil, fmt.Errorf("ingest: camera %s is already running", id)
	}
	c := &camera{id: id, in: in, log: in.log.With("camera", id)}
	in.cams[id] = c
	return c, nil
}

func (in *Ingest) remove(c *camera) {
	in.mu.Lock()
	delete(in.cams, c.id)
	in.mu.Unlock()
	c.mu.Lock()
	st := c.h.State
	c.mu.Unlock()
	in.met.transition(st, "")
}

// camera is one camera whose Run is executing.
type camera struct {
	id  string
	in  *Ingest
	log *slog.Logger

	// mu guards h.
	mu sync.Mutex
	h  Health

	// Owned by the Run goroutine and the session it runs (whose packet
	// callbacks end before the session returns).
	epoch    time.Time  // when Run started: media time 0
	endNS    int64      // media time reached so far, ns since epoch
	media    *hub.Media // the last Media published, reused when equal
	secret   string     // the password in use, scrubbed from errors
	onlineAt time.Time  // when the current session started playing
}

// setState moves the camera to state to, recording err as the last error.
func (c *camera) setState(to State, err error) {
	now := c.in.now()
	c.mu.Lock()
	from := c.h.State
	if err != nil {
		c.h.LastError = err.Error()
	}
	if from == to {
		c.mu.Unlock()
		return
	}
	c.h.State, c.h.Since = to, now
	c.mu.Unlock()
	c.in.met.transition(from, to)
	if c.in.cfg.Events != nil {
		ev := Event{CameraID: c.id, From: from, To: to, At: now}
		if err != nil {
			ev.Err = err.Error()
		}
		c.in.cfg.Events(ev)
	}
}

// scrubErr returns err, or a copy of its text without the password if the
// text contains it.
func (c *camera) scrubErr(err error) error {
	if c.secret == "" || !strings.Contains(err.Error(), c.secret) {
		return err
	}
	return errors.New(strings.ReplaceAll(err.Error(), c.secret, "***"))
}
