// Package node is argus's one wiring point: it builds the parts a node runs
// (metadata store, authentication, the authorisation gate, the HTTP API) from
// the configuration, starts them, and stops them in a documented order. Only
// the cli package imports it.
package node

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"argus"
	"argus/internal/access"
	"argus/internal/api"
	"argus/internal/audit"
	"argus/internal/config"
	"argus/internal/events"
	"argus/internal/evidence"
	"argus/web"
)

// ShutdownTimeout bounds how long in-flight HTTP requests may take to finish
// once the node is asked to stop.
const ShutdownTimeout = 5 * time.Second

// Options configure a Node.
type Options struct {
	// Config is the validated configuration.
	Config config.Config
	// Environ is the process environment (ARGUS_ADMIN_PASSWORD,
	// ARGUS_CREDENTIALS_KEY).
	Environ []string
	// Logger is the process logger; nil discards.
	Logger *slog.Logger
	// Version is reported by /healthz.
	Version string
	// Notice receives what an operator must see once, such as the bootstrap
	// admin password; nil discards it.
	Notice io.Writer
	// Argon2 overrides the password hashing cost (tests); zero means the
	// default.
	Argon2 access.Argon2Params
	// NoRecord leaves out the media core (ingest, hub, recorders): the node
	// serves the API and the directory only (the "api" role alone).
	NoRecord bool
}

// Node is one running argus process: every role on the embedded defaults.
type Node struct {
	logger *slog.Logger
	store  argus.Store
	key    *evidence.Key
	audit  *audit.Log
	auth   *access.Auth
	gate   *access.Gate
	ln     net.Listener
	srv    *http.Server
	media  *media
	live   *liveVideo
	rec    *recorded
	// bus is the event bus; events the queue the media core publishes
	// into it through.
	bus    *events.Bus
	events *events.Queue
}

// New opens the store, makes sure the bootstrap admin exists, builds the API
// and binds the HTTP listener. The caller must call Run (or Close, if it
// gives up before running).
func New(ctx context.Context, opts Options) (*Node, error) {
	logger := opts.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	cfg := opts.Config
	store, err := OpenStore(ctx, cfg, opts.Environ, logger)
	if err != nil {
		return nil, err
	}
	n := &Node{logger: logger, store: store}
	// The node key signs exports and the audit log's checkpoints; the
	// audit log opens before the gate, which records into it.
	if n.key, err = evidence.LoadOrCreateKey(cfg.Data, logger); err != nil {
		_ = store.Close()
		return nil, fmt.Errorf("signing key: %w", err)
	}
	n.audit, err = audit.Open(ctx, filepath.Join(cfg.Data, audit.FileName), audit.Options{
		Key: n.key, Logger: logger.With("role", "audit"),
	})
	if err != nil {
		_ = store.Close()
		return nil, err
	}
	n.bus, err = events.Open(ctx, events.Config{
		URL: cfg.Events.NATSURL, Dir: filepath.Join(cfg.Data, "nats"), Retention: cfg.Events.Retention,
		Logger: logger.With("role", "events"),
	})
	if err != nil {
		_ = store.Close()
		_ = n.audit.Close()
		return nil, fmt.Errorf("event bus: %w", err)
	}
	if err := n.build(ctx, opts); err != nil {
		_ = store.Close()
		_ = n.bus.Close()
		_ = n.audit.Close()
		return nil, err
	}
	return n, nil
}

func (n *Node) build(ctx context.Context, opts Options) error {
	cfg := opts.Config
	auth, err := access.NewAuth(access.AuthConfig{
		Store:      n.store,
		Argon2:     opts.Argon2,
		SessionTTL: cfg.Auth.SessionTTL,
		Logger:     n.logger,
	})
	if err != nil {
		return fmt.Errorf("authentication: %w", err)
	}
	created, pw, err := auth.EnsureAdmin(ctx, lookupEnv(opts.Environ, "ARGUS_ADMIN_PASSWORD"))
	if err != nil {
		return err
	}
	if created {
		n.logger.Info("created the bootstrap admin user", "user", access.AdminUserID)
		if lookupEnv(opts.Environ, "ARGUS_ADMIN_PASSWORD") == "" && opts.Notice != nil {
			fmt.Fprintf(opts.Notice, "\nCreated user %q with password %s\nIt is shown only this once: sign in and change it, or set ARGUS_ADMIN_PASSWORD before the first start.\n\n", access.AdminUserID, pw)
		}
	}
	var oidc *access.OIDC
	if o := cfg.Auth.OIDC; o.Issuer != "" {
		roles := make(map[string]argus.Role, len(o.RoleMap))
		for from, to := range o.RoleMap {
			roles[from] = argus.Role(to)
		}
		oidc, err = access.NewOIDC(access.OIDCConfig{
			Issuer: o.Issuer, ClientID: o.ClientID, ClientSecret: string(o.ClientSecret), RedirectURL: o.RedirectURL,
			Scopes: o.Scopes, OrgClaim: o.OrgClaim, RoleClaim: o.RoleClaim, RoleMap: roles, AllowedOrgs: o.AllowedOrgs,
			ButtonLabel: o.ButtonLabel, Auth: auth,
		})
		if err != nil {
			return fmt.Errorf("oidc: %w", err)
		}
		n.logger.Info("oidc sign-in enabled", "issuer", o.Issuer, "client_id", o.ClientID)
	}
	gate, err := access.NewGate(access.GateConfig{Orgs: n.store, Shares: n.store, Emergencies: n.store, Recorder: auditRecorder{n.audit, access.NewSlogRecorder(n.logger)}})
	if err != nil {
		return fmt.Errorf("authorisation gate: %w", err)
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	queue, err := events.NewQueue(events.QueueConfig{
		Bus: n.bus, OrgOf: cameraOrg(n.store), Logger: n.logger.With("role", "events"), Registerer: reg,
	})
	if err != nil {
		return fmt.Errorf("event queue: %w", err)
	}
	var (
		m   *media
		lv  *liveVideo
		rec *recorded
	)
	if !opts.NoRecord {
		if m, err = newMedia(ctx, cfg, n.store, queue.Send, n.logger, reg); err != nil {
			queue.Close()
			return err
		}
		if lv, err = newLive(cfg, m.hub, m.transcoder, n.store, auth, gate, n.audit, n.logger, reg); err != nil {
			_ = m.close()
			return err
		}
		if rec, err = newRecorded(cfg, n.key, m.segments, n.store, n.bus, n.logger); err != nil {
			_ = lv.close()
			_ = m.close()
			return err
		}
	}
	fail := func(err error) error {
		rec.close()
		_ = lv.close()
		_ = m.close()
		queue.Close()
		return err
	}
	acfg := api.Config{
		Store:           n.store,
		Gate:            gate,
		Auth:            auth,
		OIDC:            oidc,
		Logger:          n.logger,
		Registerer:      reg,
		Version:         opts.Version,
		MetricsPublic:   cfg.HTTP.MetricsPublic,
		Health:          n.cameraHealth,
		Troubled:        n.troubledCameras,
		Audit:           n.audit,
		Events:          n.bus,
		Alerting:        n.bus.Alerting,
		AlertingCameras: n.bus.AlertingCameras,
	}
	if lv != nil {
		acfg.HLS, acfg.WHEP = lv.hls, lv.whep
	}
	if rec != nil {
		acfg.Playback, acfg.Exports = rec.playback, rec.exports
		acfg.SigningKeys = []evidence.PublicKeyInfo{rec.key.Info(rec.nodeID)}
	}
	srv, err := api.New(acfg)
	if err != nil {
		return fail(fmt.Errorf("http api: %w", err))
	}
	if err := lv.start(ctx); err != nil {
		return fail(fmt.Errorf("rtsp re-serve: %w", err))
	}
	ln, err := (&net.ListenConfig{}).Listen(ctx, "tcp", cfg.HTTP.Listen)
	if err != nil {
		return fail(fmt.Errorf("http listen: %w", err))
	}
	n.live, n.rec, n.events = lv, rec, queue
	n.auth, n.gate, n.ln, n.media = auth, gate, ln, m
	n.srv = &http.Server{
		Handler:           routes(srv.Handler()),
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          slog.NewLogLogger(n.logger.Handler(), slog.LevelWarn),
	}
	// Event streams (SSE) never go idle: they end when shutdown begins.
	n.srv.RegisterOnShutdown(srv.CloseStreams)
	return nil
}

// routes puts the API and the web UI on one listener: the API owns /api/,
// the health endpoints and /metrics; the UI's static files answer the rest.
func routes(apiHandler http.Handler) http.Handler {
	mux := http.NewServeMux()
	for _, p := range []string{"/api/", "/healthz", "/readyz", "/metrics"} {
		mux.Handle(p, apiHandler)
	}
	mux.Handle("/", web.Handler())
	return mux
}

// Addr is the HTTP listener's address (host:port), useful when the
// configuration asked for port 0.
func (n *Node) Addr() string { return n.ln.Addr().String() }

// RTSPAddr is the RTSP re-serve's address, "" when it is off.
func (n *Node) RTSPAddr() string { return n.live.rtspAddr() }

// URL is the base URL of the HTTP API.
func (n *Node) URL() string { return "http://" + n.Addr() }

// Store is the node's metadata store.
func (n *Node) Store() argus.Store { return n.store }

// Auth is the node's authentication service.
func (n *Node) Auth() *access.Auth { return n.auth }

// Run serves and records until ctx is cancelled, then stops in this order:
// live sessions end; the HTTP listener stops accepting (event streams end)
// while, at the same time, every recorder finishes its segment in flight
// (both within ShutdownTimeout); then the camera sources close, then the
// event queue publishes what it holds and the event bus closes, then the
// store, and last the audit log (which seals itself with a final
// checkpoint), once nothing can ask the gate any more. It returns nil
// after a clean stop.
func (n *Node) Run(ctx context.Context) error {
	errc := make(chan error, 1)
	go func() { errc <- n.srv.Serve(n.ln) }()
	mctx, stopMedia := context.WithCancel(context.WithoutCancel(ctx))
	mediaDone := make(chan error, 1)
	go func() { mediaDone <- n.media.run(mctx) }()
	stopShareWatch := n.startShareWatch(ctx)
	n.logger.Info("serving", "http", n.URL())
	var serveErr error
	select {
	case <-ctx.Done():
	case serveErr = <-errc:
	}
	stopShareWatch()
	stopMedia()
	return errors.Join(serveErr, n.shutdown(mediaDone))
}

// Close releases what New acquired, for a node that never ran.
func (n *Node) Close() error {
	n.rec.close()
	err := errors.Join(n.ln.Close(), n.live.close(), n.media.close())
	n.events.Close()
	return errors.Join(err, n.bus.Close(), n.store.Close(), n.audit.Close())
}

func (n *Node) shutdown(mediaDone <-chan error) error {
	ctx, cancel := context.WithTimeout(context.Background(), ShutdownTimeout)
	defer cancel()
	var errs []error
	// Live sessions end first ("shutdown"): LL-HLS requests waiting in a
	// muxer are answered, so the HTTP server can drain.
	if err := n.live.close(); err != nil {
		errs = append(errs, fmt.Errorf("close live video: %w", err))
	}
	if err := n.srv.Shutdown(ctx); err != nil && !errors.Is(err, http.ErrServerClosed) {
		errs = append(errs, fmt.Errorf("http shutdown: %w", err))
		_ = n.srv.Close()
	}
	// Running exports stop (the next start marks them failed).
	n.rec.close()
	if err := <-mediaDone; err != nil {
		errs = append(errs, fmt.Errorf("recorders: %w", err))
	}
	if err := n.media.close(); err != nil {
		errs = append(errs, fmt.Errorf("close camera sources: %w", err))
	}
	// The events the media core raised while stopping are published
	// (the queue looks cameras up in the store), then the bus closes.
	n.events.Close()
	if err := n.bus.Close(); err != nil {
		errs = append(errs, fmt.Errorf("close event bus: %w", err))
	}
	if err := n.store.Close(); err != nil {
		errs = append(errs, fmt.Errorf("close store: %w", err))
	}
	// Last: live sessions ended and HTTP requests drained above have
	// written their records.
	if err := n.audit.Close(); err != nil {
		errs = append(errs, fmt.Errorf("close audit log: %w", err))
	}
	n.logger.Info("stopped")
	return errors.Join(errs...)
}

// lookupEnv returns the last value of name in environ, or "".
func lookupEnv(environ []string, name string) string {
	for i := len(environ) - 1; i >= 0; i-- {
		if v, ok := strings.CutPrefix(environ[i], name+"="); ok {
			return v
		}
	}
	return ""
}

// cameraHealth reports a camera's ingest health and its readers in the hub
// for the API; false while the camera is not being pulled, and always on a
// node without the media core. n.media is set before the API serves.
func (n *Node) cameraHealth(id string) (api.CameraHealth, bool) {
	if n.media == nil {
		return api.CameraHealth{}, false
	}
	h, ok := n.media.ingest.Health(id)
	if !ok {
		return api.CameraHealth{}, false
	}
	st, _ := n.media.hub.Stats(id)
	return api.CameraHealth{
		State: string(h.State), Since: h.Since, FPS: h.FPS, Bitrate: h.Bitrate, LastKeyframe: h.LastKeyframe,
		Reconnects: h.Reconnects, LastError: h.LastError, Readers: st.Readers,
	}, true
}
