package llhls_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"argus"
	"argus/internal/hub"
	"argus/internal/ingest"
	"argus/internal/live"
	"argus/internal/live/llhls"
	"argus/internal/sim"
)

// chain is the real media path behind an HTTP server: simulated cameras
// cam-1 … cam-N over RTSP on loopback, ingest, the hub and the LL-HLS
// service. The server serves /cam/{id}/{file} as the user named by the
// X-User header, and answers a Serve error as its code.
type chain struct {
	t        *testing.T
	sim      *sim.Server
	hub      *hub.Hub
	svc      *llhls.Service
	sessions *live.Sessions
	rec      *memRecorder
	srv      *httptest.Server
}

func newChain(t *testing.T, cameras int, cfg llhls.Config) *chain {
	t.Helper()
	c := &chain{t: t, rec: &memRecorder{}}
	s, err := sim.New(sim.Config{Cameras: cameras, Listen: "127.0.0.1:0", Clip: "360p-gop2"})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	c.sim = s
	in, err := ingest.New(ingest.Config{Resolve: func(_ context.Context, id string) (ingest.Target, error) {
		n, err := strconv.Atoi(strings.TrimPrefix(id, "cam-"))
		if err != nil || n < 1 || n > cameras {
			return ingest.Target{}, errors.New("no such camera")
		}
		return ingest.Target{URL: s.URL(n)}, nil
	}})
	if err != nil {
		t.Fatal(err)
	}
	if c.hub, err = hub.New(hub.Config{Source: func(ctx context.Context, id string, sink hub.Sink) error {
		return in.Run(ctx, id, sink)
	}}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.hub.Close() })
	c.sessions = live.NewSessions(c.rec, nil)
	cfg.Hub, cfg.Sessions = c.hub, c.sessions
	if c.svc, err = llhls.New(cfg); err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /cam/{id}/{file}", func(w http.ResponseWriter, r *http.Request) {
		cam := &argus.Camera{ID: r.PathValue("id"), OrgID: "police"}
		p := argus.Principal{UserID: r.Header.Get("X-User"), OrgID: "police", Role: argus.RoleViewer}
		if err := c.svc.Serve(w, r, cam, p, r.PathValue("file")); err != nil {
			http.Error(w, argus.ErrorCode(err)+": "+argus.ErrorMessage(err), codeStatus(argus.ErrorCode(err)))
		}
	})
	c.srv = httptest.NewServer(mux)
	t.Cleanup(c.srv.Close)
	// Closed first: it ends the requests blocked in the muxers.
	t.Cleanup(func() { c.svc.Close() })
	return c
}

func codeStatus(code string) int {
	switch code {
	case argus.ENOTFOUND:
		return http.StatusNotFound
	case argus.EFORBIDDEN:
		return http.StatusForbidden
	case argus.EUNAVAILABLE:
		return http.StatusServiceUnavailable
	}
	return http.StatusInternalServerError
}

// get fetches path as user and returns the status and body.
func (c *chain) get(user, path string) (int, string) {
	c.t.Helper()
	ctx, cancel := context.WithTimeout(c.t.Context(), 20*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.srv.URL+path, nil)
	if err != nil {
		c.t.Fatal(err)
	}
	req.Header.Set("X-User", user)
	resp, err := c.srv.Client().Do(req)
	if err != nil {
		c.t.Fatalf("GET %s: %v", path, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		c.t.Fatalf("GET %s: %v", path, err)
	}
	return resp.StatusCode, string(body)
}

// readers returns how many hub readers camera has.
func (c *chain) readers(camera string) int {
	st, ok := c.hub.Stats(camera)
	if !ok {
		return 0
	}
	return st.Readers
}

// waitFor polls cond until it holds or 20 s have passed.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// close stops everything in the order a node would: the service (which
// answers the requests it blocks), the HTTP server, the hub, the cameras.
func (c *chain) close() {
	c.svc.Close()
	c.srv.Close()
	c.hub.Close()
	c.sim.Close()
}

// memRecorder keeps the sessions started and ended.
type memRecorder struct {
	mu             sync.Mutex
	started, ended []live.Session
}

func (m *memRecorder) SessionStarted(s live.Session) {
	m.mu.Lock()
	m.started = append(m.started, s)
	m.mu.Unlock()
}

func (m *memRecorder) SessionEnded(s live.Session) {
	m.mu.Lock()
	m.ended = append(m.ended, s)
	m.mu.Unlock()
}

func (m *memRecorder) snapshot() (started, ended []live.Session) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]live.Session(nil), m.started...), append([]live.Session(nil), m.ended...)
}

// probeResult is what ffprobe reports of a stream.
type probeResult struct {
	Streams []struct {
		CodecName string `json:"codec_name"`
		Width     int    `json:"width"`
		Height    int    `json:"height"`
	} `json:"streams"`
}

// ffprobe runs ffprobe on url with the given extra request header and
// returns its report; it skips the test without ffprobe unless
// ARGUS_REQUIRE_TOOLS is set.
func ffprobe(t *testing.T, url, header string) probeResult {
	t.Helper()
	bin, err := exec.LookPath("ffprobe")
	if err != nil {
		if os.Getenv("ARGUS_REQUIRE_TOOLS") != "" {
			t.Fatalf("ffprobe required: %v", err)
		}
		t.Skip("ffprobe not on PATH")
	}
	ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, "-v", "error", "-headers", header+"\r\n",
		"-show_streams", "-of", "json", url)
	out, err := cmd.Output()
	if err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			t.Fatalf("ffprobe %s: %v\n%s", url, err, ee.Stderr)
		}
		t.Fatalf("ffprobe %s: %v", url, err)
	}
	var p probeResult
	if err := json.Unmarshal(out, &p); err != nil {
		t.Fatalf("ffprobe output %q: %v", out, err)
	}
	return p
}
