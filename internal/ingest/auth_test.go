package ingest

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/bluenviron/gortsplib/v5/pkg/auth"

	"argus/internal/hub"
)

func TestAuth(t *testing.T) {
	t.Parallel()
	c := loadClip(t, "h264-192x112.h264")
	const user, pass = "operator", "s3cr3t-Pa55"
	digest := []auth.VerifyMethod{auth.VerifyMethodDigestMD5}
	basic := []auth.VerifyMethod{auth.VerifyMethodBasic}
	tests := []struct {
		name    string
		methods []auth.VerifyMethod
		// target builds the target from the camera's URL.
		target func(url string) Target
		// secret is the password that must never be logged.
		secret    string
		wantState State
	}{
		{"digest", digest, func(u string) Target { return Target{URL: u, Username: user, Password: pass} }, pass, StateOnline},
		{"basic", basic, func(u string) Target { return Target{URL: u, Username: user, Password: pass} }, pass, StateOnline},
		{"credentials in the URL", digest, func(u string) Target {
			return Target{URL: strings.Replace(u, "rtsp://", "rtsp://"+user+":"+pass+"@", 1)}
		}, pass, StateOnline},
		{"digest, wrong password", digest, func(u string) Target { return Target{URL: u, Username: user, Password: "wr0ng-Pa55"} }, "wr0ng-Pa55", StateUnauthorised},
		{"basic, wrong password", basic, func(u string) Target { return Target{URL: u, Username: user, Password: "wr0ng-Pa55"} }, "wr0ng-Pa55", StateUnauthorised},
		{"no credentials", digest, func(u string) Target { return Target{URL: u} }, pass, StateUnauthorised},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			cam := startTestCam(t, camConfig{clips: []*clip{c}, user: user, pass: pass, methods: tt.methods})
			const minWait, maxWait = 50 * time.Millisecond, 200 * time.Millisecond
			h := newHarness(t, staticResolver(tt.target(cam.url)), func(c *Config) {
				c.Backoff = Backoff{Min: minWait, Max: maxWait}
			})
			sink := &recSink{}
			stop := h.run(t, "cam", sink)
			if tt.wantState == StateOnline {
				waitFor(t, 10*time.Second, "units", func() bool { return sink.count(hub.CodecH264) >= 20 })
			} else {
				waitFor(t, 10*time.Second, string(tt.wantState), func() bool { return h.state("cam") == tt.wantState })
				// Refused logins back off like any failure, at the cap:
				// uniform waits up to 200 ms make about 10 attempts in a
				// second, never hundreds.
				n0, t0 := cam.describes.Load(), time.Now()
				time.Sleep(time.Second)
				if n := cam.describes.Load() - n0; n > 30 {
					t.Errorf("%d DESCRIBEs in %v after refusal: spinning", n, time.Since(t0))
				}
				// Between refusals the camera is retried: it may be caught
				// connecting, never anything else.
				if st := h.state("cam"); st != StateUnauthorised && st != StateConnecting {
					t.Errorf("state %s, want it to stay unauthorised (or retrying)", st)
				}
			}
			stop()
			hl, _ := h.in.Health("cam")
			var evErrs []string
			for _, e := range h.events.all() {
				evErrs = append(evErrs, e.Err)
			}
			_, _, off := sink.snapshot()
			var offErrs []string
			for _, e := range off {
				offErrs = append(offErrs, e.Error())
			}
			logs := h.logs.String()
			for what, text := range map[string]string{
				"logs": logs, "health": hl.LastError,
				"events": strings.Join(evErrs, "\n"), "offline errors": strings.Join(offErrs, "\n"),
			} {
				if strings.Contains(text, tt.secret) {
					t.Errorf("%s contain the password:\n%s", what, text)
				}
				if strings.Contains(text, user+":") {
					t.Errorf("%s contain a URL with credentials:\n%s", what, text)
				}
			}
			if !strings.Contains(logs, cam.url) {
				t.Errorf("logs do not name the camera URL %s:\n%s", cam.url, logs)
			}
		})
	}
}

func TestSecretsScrubbed(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		target Target
	}{
		{"unparseable URL with credentials", Target{URL: "rtsp://admin:hunter2-x@[::1"}},
		{"credential query parameters", Target{URL: "rtsp://127.0.0.1:1/stream?user=admin&password=hunter2-x", Password: "hunter2-x"}},
		{"unknown transport", Target{URL: "rtsp://admin:hunter2-x@127.0.0.1:1/x", Transport: "carrier-pigeon"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			h := newHarness(t, staticResolver(tt.target), nil)
			sink := &recSink{}
			h.run(t, "cam", sink)
			waitFor(t, 10*time.Second, "a failure", func() bool { return h.events.count("", StateOffline) > 0 })
			hl, _ := h.in.Health("cam")
			_, _, off := sink.snapshot()
			for what, text := range map[string]string{"logs": h.logs.String(), "health": hl.LastError, "offline": off[0].Error()} {
				if strings.Contains(text, "hunter2") {
					t.Errorf("%s contain the password:\n%s", what, text)
				}
			}
		})
	}
}

func TestRunTwice(t *testing.T) {
	t.Parallel()
	h := newHarness(t, func(context.Context, string) (Target, error) { return Target{}, errors.New("nowhere") }, nil)
	h.run(t, "cam", &recSink{})
	waitFor(t, 5*time.Second, "the first Run", func() bool { _, ok := h.in.Health("cam"); return ok })
	if err := h.in.Run(t.Context(), "cam", &recSink{}); err == nil {
		t.Errorf("second Run of one camera returned nil, want an error")
	}
	if _, ok := h.in.Health("other"); ok {
		t.Errorf("Health of a camera that is not running reported ok")
	}
}

func TestNewValidates(t *testing.T) {
	resolve := staticResolver(Target{})
	tests := []struct {
		name string
		cfg  Config
	}{
		{"no resolver", Config{}},
		{"negative stall timeout", Config{Resolve: resolve, StallTimeout: -1}},
		{"negative backoff", Config{Resolve: resolve, Backoff: Backoff{Min: -time.Second}}},
		{"min above max", Config{Resolve: resolve, Backoff: Backoff{Min: time.Minute, Max: time.Second}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := New(tt.cfg); err == nil {
				t.Errorf("New(%+v) succeeded, want an error", tt.cfg)
			}
		})
	}
	in, err := New(Config{Resolve: resolve})
	if err != nil {
		t.Fatal(err)
	}
	if c := in.cfg; c.StallTimeout != DefaultStallTimeout || c.ReadTimeout != DefaultReadTimeout ||
		c.Backoff != (Backoff{DefaultBackoffMin, DefaultBackoffMax, DefaultBackoffStable}) {
		t.Errorf("defaults not applied: %+v", c)
	}
}

// The hub's stream is a Sink, and Run serves as the hub's SourceFunc (the
// two Sink interfaces are distinct types with the same methods).
var (
	_ Sink           = (*hub.Stream)(nil)
	_ hub.SourceFunc = func(ctx context.Context, id string, s hub.Sink) error { return (*Ingest)(nil).Run(ctx, id, s) }
)
