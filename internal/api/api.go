// Package api serves the argus HTTP JSON API under /api/v1, with /healthz,
// /readyz and /metrics beside it.
//
// Every route is declared once, in the table in routes.go: the ServeMux is
// built from it and so is the OpenAPI document served at
// /api/v1/openapi.json, so the two cannot drift. Every handler returns an
// error; one table (httpStatus) turns argus error codes into HTTP statuses,
// and internal errors reach the client only as "internal error" and a
// request id that is also in the log.
package api

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"runtime/debug"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"argus"
	"argus/internal/access"
	"argus/internal/evidence"
)

// DefaultMaxBodyBytes limits a JSON request body unless a route allows more.
const DefaultMaxBodyBytes = 1 << 20

// DefaultMaxImportBytes limits the CSV body of a camera import: a
// 500,000-camera file is about 150 MiB.
const DefaultMaxImportBytes = 256 << 20

// Config configures a Server.
type Config struct {
	// Store is the metadata store. Required.
	Store argus.Store
	// Gate decides every request. Required.
	Gate *access.Gate
	// Auth signs users in and resolves bearer tokens. Required.
	Auth *access.Auth
	// OIDC signs users in through an identity provider
	// (/api/v1/oidc/login and /callback); nil answers them 404.
	OIDC *access.OIDC
	// Logger receives one line per request and the causes of internal
	// errors; nil discards.
	Logger *slog.Logger
	// Registerer receives the HTTP metrics; nil means a private registry.
	Registerer prometheus.Registerer
	// Gatherer is what /metrics serves; nil means Registerer when it is
	// also a Gatherer (a *prometheus.Registry), else the private registry.
	Gatherer prometheus.Gatherer
	// Version is reported by /healthz.
	Version string
	// Ready, when set, is asked by /readyz besides the store's Ping; a
	// non-nil error makes the node not ready.
	Ready func(ctx context.Context) error
	// Health, when set, reports the media health of a camera this node is
	// pulling, and false when it is not; GET /api/v1/cameras/{id}/health
	// then answers state "idle". It is called on the request goroutine, so
	// it must be safe for concurrent use and must not block. Nil means no
	// camera is ever pulled (a node without the media core).
	Health func(cameraID string) (CameraHealth, bool)
	// Troubled, when set, lists the cameras this node pulls whose ingest
	// state is a failure (anything but online and connecting): the camera
	// grid counts them per cell ("offline") without a query. It is called
	// once per grid request on the request goroutine, so it must be safe
	// for concurrent use, cheap and must not block. Nil means none.
	Troubled func() []TroubledCamera
	// Alerting, when set, reports whether a camera has an unacknowledged
	// alert (events.IsAlert, of the last 24 hours): camera listings then mark it
	// ("alerting": true). It is called once per listed camera and must not
	// block. Nil means no camera is alerting.
	Alerting func(cameraID string) bool
	// AlertingCameras, when set, lists the ids of the cameras Alerting
	// reports; the camera grid counts them per cell ("alerting"), looking
	// each up in the store unless Troubled gave it, so the list should be
	// the few cameras with unacknowledged alerts. Nil means none.
	AlertingCameras func() []string
	// HLS serves live video as LL-HLS under
	// /api/v1/cameras/{id}/live/; nil answers 503 (live video is not
	// enabled on this node).
	HLS HLSService
	// MetricsPublic serves /metrics without authentication. By default a
	// scraper needs a bearer token (any active user's API token).
	MetricsPublic bool
	// WHEP serves live video over WebRTC (POST /api/v1/cameras/{id}/whep
	// and the session routes); nil answers them 503.
	WHEP WHEPService
	// Playback serves timelines and recorded video
	// (/api/v1/cameras/{id}/timeline and /playback/); nil answers 503.
	Playback PlaybackService
	// Exports runs evidence exports (/api/v1/exports); nil answers 503.
	Exports ExportService
	// Audit is the audit log that GET /api/v1/audit, /api/v1/audit/export
	// and /api/v1/audit/report read (nil answers them 503), and that
	// administrative changes are recorded in before they are written (nil
	// logs them instead).
	Audit AuditLog
	// SigningKeys are the public keys GET /api/v1/keys lists: the node's
	// export-signing key.
	SigningKeys []evidence.PublicKeyInfo
	// Events is the event bus the /api/v1/events routes read and
	// acknowledge on, and emergency grants are published to; nil answers
	// those routes 503.
	Events EventBus
	// EventPing is how often an event stream sends ": ping" and checks
	// that the caller's session is still valid; 0 means
	// DefaultEventPing.
	EventPing time.Duration
	// MaxBodyBytes limits JSON request bodies; 0 means DefaultMaxBodyBytes.
	MaxBodyBytes int64
	// MaxImportBytes limits the CSV body of POST /api/v1/cameras/import;
	// 0 means DefaultMaxImportBytes. The body is spooled to a temporary
	// file before the import starts, so this much disk may be used per
	// import in flight.
	MaxImportBytes int64
	// Now is the clock that the cached district summary ages by; nil
	// means time.Now.
	Now func() time.Time
}

// Server is the HTTP API. Build it with New and serve Handler().
type Server struct {
	store         argus.Store
	gate          *access.Gate
	auth          *access.Auth
	oidc          *access.OIDC
	log           *slog.Logger
	version       string
	ready         func(ctx context.Context) error
	health        func(cameraID string) (CameraHealth, bool)
	troubled      func() []TroubledCamera
	alerting      func(cameraID string) bool
	alertingCams  func() []string
	whep          WHEPService
	hls           HLSService
	playback      PlaybackService
	exports       ExportService
	audit         AuditLog
	signingKeys   []evidence.PublicKeyInfo
	events        EventBus
	eventPing     time.Duration
	streams       context.Context // ends the event streams (CloseStreams)
	closeStreams  context.CancelFunc
	metricsPublic bool
	maxBody       int64
	maxImport     int64
	now           func() time.Time
	districts     districtCache

	// verifying holds a token while an audit verification runs: one at a
	// time.
	verifying chan struct{}

	mux       *http.ServeMux
	promHTTP  http.Handler
	requests  *prometheus.CounterVec
	durations *prometheus.HistogramVec
	csrf      *http.CrossOriginProtection
}

// New returns a Server for cfg.
func New(cfg Config) (*Server, error) {
	if cfg.Store == nil || cfg.Gate == nil || cfg.Auth == nil {
		return nil, errors.New("api: config needs a store, a gate and an auth")
	}
	s := &Server{
		store:         cfg.Store,
		gate:          cfg.Gate,
		auth:          cfg.Auth,
		oidc:          cfg.OIDC,
		log:           cfg.Logger,
		version:       cfg.Version,
		ready:         cfg.Ready,
		health:        cfg.Health,
		troubled:      cfg.Troubled,
		alerting:      cfg.Alerting,
		alertingCams:  cfg.AlertingCameras,
		whep:          cfg.WHEP,
		hls:           cfg.HLS,
		playback:      cfg.Playback,
		exports:       cfg.Exports,
		audit:         cfg.Audit,
		signingKeys:   cfg.SigningKeys,
		events:        cfg.Events,
		eventPing:     cfg.EventPing,
		metricsPublic: cfg.MetricsPublic,
		maxBody:       cfg.MaxBodyBytes,
		maxImport:     cfg.MaxImportBytes,
		now:           cfg.Now,
		csrf:          http.NewCrossOriginProtection(),
		verifying:     make(chan struct{}, 1),
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if s.maxBody <= 0 {
		s.maxBody = DefaultMaxBodyBytes
	}
	if s.maxImport <= 0 {
		s.maxImport = DefaultMaxImportBytes
	}
	if s.eventPing <= 0 {
		s.eventPing = DefaultEventPing
	}
	if s.now == nil {
		s.now = time.Now
	}
	s.streams, s.closeStreams = context.WithCancel(context.Background())
	reg, gath := cfg.Registerer, cfg.Gatherer
	if reg == nil {
		r := prometheus.NewRegistry()
		reg = r
		if gath == nil {
			gath = r
		}
	}
	if gath == nil {
		g, ok := reg.(prometheus.Gatherer)
		if !ok {
			return nil, errors.New("api: config needs a Gatherer when the Registerer is not one")
		}
		gath = g
	}
	s.requests = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "argus_http_requests_total",
		Help: "HTTP requests served, by method, route pattern and status code.",
	}, []string{"method", "route", "status"})
	s.durations = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "argus_http_request_duration_seconds",
		Help:    "Time to serve HTTP requests, by method and route pattern.",
		Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10},
	}, []string{"method", "route"})
	for _, c := range []prometheus.Collector{s.requests, s.durations} {
		if err := reg.Register(c); err != nil {
			return nil, fmt.Errorf("api: register metrics: %w", err)
		}
	}
	s.promHTTP = promhttp.HandlerFor(gath, promhttp.HandlerOpts{ErrorLog: slog.NewLogLogger(s.log.Handler(), slog.LevelError)})

	s.mux = http.NewServeMux()
	for _, rt := range routeTable() {
		s.mux.Handle(rt.method+" "+rt.path, s.route(rt))
	}
	return s, nil
}

// Handler returns the HTTP handler serving every route.
func (s *Server) Handler() http.Handler { return http.HandlerFunc(s.serveHTTP) }

// reqInfo is what the outer handler and the route handlers share about one
// request; it travels in the request context.
type reqInfo struct {
	id        string
	log       *slog.Logger
	route     string // the route pattern's path, "" when none matched
	principal argus.Principal
}

type infoKey struct{}

func info(ctx context.Context) *reqInfo {
	if ri, ok := ctx.Value(infoKey{}).(*reqInfo); ok {
		return ri
	}
	return &reqInfo{log: slog.New(slog.DiscardHandler)}
}

// principal returns the authenticated principal of the request.
func principal(r *http.Request) argus.Principal { return info(r.Context()).principal }

// serveHTTP assigns the request id, dispatches, and then logs and counts the
// request by its route pattern (never the raw path).
func (s *Server) serveHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	id := requestID(r.Header.Get("X-Request-ID"))
	w.Header().Set("X-Request-ID", id)
	w.Header().Set("X-Content-Type-Options", "nosniff")
	ri := &reqInfo{id: id, log: s.log.With("request_id", id)}
	ctx := context.WithValue(r.Context(), infoKey{}, ri)
	// The gate records the client's address with each decision: the
	// connection's peer (X-Forwarded-For is not trusted).
	client := r.RemoteAddr
	if host, _, err := net.SplitHostPort(client); err == nil {
		client = host
	}
	r = r.WithContext(access.WithClient(ctx, client))
	sw := &statusWriter{ResponseWriter: w}

	if _, pattern := s.mux.Handler(r); pattern == "" {
		s.unrouted(sw, r)
	} else {
		s.mux.ServeHTTP(sw, r)
	}

	elapsed := time.Since(start)
	route := ri.route
	if route == "" {
		route = "unmatched"
	}
	status := sw.status
	if status == 0 {
		status = http.StatusOK
	}
	s.requests.WithLabelValues(r.Method, route, strconv.Itoa(status)).Inc()
	s.durations.WithLabelValues(r.Method, route).Observe(elapsed.Seconds())
	ri.log.LogAttrs(r.Context(), slog.LevelInfo, "http request",
		slog.String("method", r.Method),
		slog.String("path", r.URL.Path),
		slog.String("route", route),
		slog.Int("status", status),
		slog.Int64("bytes", sw.bytes),
		slog.Duration("duration", elapsed),
		slog.String("user", ri.principal.Username),
		slog.String("remote", r.RemoteAddr),
	)
}

// unrouted answers a request no pattern matched: 405 with an Allow header
// when the path exists under other methods, else 404, both as JSON errors.
func (s *Server) unrouted(w http.ResponseWriter, r *http.Request) {
	var allow []string
	for _, m := range []string{http.MethodGet, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete} {
		probe := r.Clone(r.Context())
		probe.Method = m
		if _, pattern := s.mux.Handler(probe); pattern != "" {
			allow = append(allow, m)
		}
	}
	if len(allow) == 0 {
		s.writeError(w, r, argus.Errorf(argus.ENOTFOUND, "no such endpoint: %s", r.URL.Path))
		return
	}
	allowed := strings.Join(allow, ", ")
	w.Header().Set("Allow", allowed)
	s.writeError(w, r, errMethod(r.Method, allowed))
}

// route wraps one table entry: authentication unless public, the body limit,
// panic recovery, and error rendering.
func (s *Server) route(rt route) http.Handler {
	public := rt.auth == authNone || (rt.auth == authMetrics && s.metricsPublic)
	limit := rt.maxBody
	switch {
	case rt.largeBody:
		limit = s.maxImport
	case limit == 0:
		limit = s.maxBody
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ri := info(r.Context())
		ri.route = rt.path
		r.Body = http.MaxBytesReader(w, r.Body, limit)
		err := func() (err error) {
			defer func() {
				if p := recover(); p != nil {
					if p == http.ErrAbortHandler {
						panic(p)
					}
					err = fmt.Errorf("panic: %v\n%s", p, debug.Stack())
				}
			}()
			if !public {
				if err := s.authenticate(r); err != nil {
					return err
				}
			}
			if !rt.looseQuery {
				if err := checkParams(r.URL.Query(), rt.query); err != nil {
					return err
				}
			}
			return rt.handle(s, w, r)
		}()
		if err != nil {
			s.writeError(w, r, err)
		}
	})
}

// statusWriter remembers the status and size of a response.
type statusWriter struct {
	http.ResponseWriter
	status int
	bytes  int64
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	n, err := w.ResponseWriter.Write(b)
	w.bytes += int64(n)
	return n, err
}

// Unwrap lets http.ResponseController reach the underlying writer.
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// requestID returns the client's X-Request-ID when it is sane (1–64
// characters of letters, digits, '-', '_', '.', ':'), else a new random id.
func requestID(h string) string {
	if len(h) >= 1 && len(h) <= 64 {
		ok := true
		for _, c := range []byte(h) {
			if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.' || c == ':') {
				ok = false
				break
			}
		}
		if ok {
			return h
		}
	}
	return argus.NewID("req")
}
