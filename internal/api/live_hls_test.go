package api_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"argus/internal/api"
	"argus/internal/hub"
	"argus/internal/ingest"
	"argus/internal/live"
	"argus/internal/live/llhls"
	"argus/internal/sim"
)

// newLiveHLS starts the real media path for the API tests: a simulated
// camera (every camera id resolves to it) over RTSP on loopback, ingest,
// the hub and the LL-HLS service.
func newLiveHLS(t *testing.T) (*llhls.Service, *live.Sessions) {
	t.Helper()
	s, err := sim.New(sim.Config{Cameras: 1, Listen: "127.0.0.1:0", Clip: "360p-gop2"})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	in, err := ingest.New(ingest.Config{Resolve: func(context.Context, string) (ingest.Target, error) {
		return ingest.Target{URL: s.URL(1)}, nil
	}})
	if err != nil {
		t.Fatal(err)
	}
	h, err := hub.New(hub.Config{Source: func(ctx context.Context, id string, sink hub.Sink) error { return in.Run(ctx, id, sink) }})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { h.Close() })
	sessions := live.NewSessions(nil, nil)
	svc, err := llhls.New(llhls.Config{Hub: h, Sessions: sessions, IdleTimeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	// The caller registers Close again once it has started the HTTP server,
	// so that it runs before the server's Close and ends the requests the
	// muxers block; this one covers a test that fails before that.
	t.Cleanup(func() { svc.Close() })
	return svc, sessions
}

func TestLiveHLS(t *testing.T) {
	svc, sessions := newLiveHLS(t)
	e := newEnv(t, func(c *api.Config) { c.HLS = svc })
	t.Cleanup(func() { svc.Close() }) // before the server's Close: see newLiveHLS
	e.addCamera("cam-1", "police", 40.7, -74.0)
	e.addCamera("cam-fire", "fire", 40.7, -74.0)
	const index = "/api/v1/cameras/cam-1/live/index.m3u8"

	t.Run("viewer gets the playlist", func(t *testing.T) {
		r := e.call("GET", index, "viewer", nil)
		if r.status != http.StatusOK || !strings.HasPrefix(string(r.body), "#EXTM3U") {
			t.Fatalf("GET %s = %d %q", index, r.status, r.body)
		}
		if ct := r.header.Get("Content-Type"); ct != "application/vnd.apple.mpegurl" {
			t.Errorf("Content-Type = %q", ct)
		}
		open := sessions.List()
		if len(open) != 1 || open[0].UserID != "viewer" || open[0].CameraID != "cam-1" || open[0].Protocol != live.ProtoHLS {
			t.Errorf("open sessions = %+v, want the viewer's LL-HLS session of cam-1", open)
		}
	})

	t.Run("one decision per viewer session", func(t *testing.T) {
		// The viewer's session is open: its further requests (a player
		// reloads several times a second) are covered by the decision
		// that opened it, not asked and recorded again.
		before := len(e.logs.lines(`"access decision"`, `"action":"video.live"`, `"user_id":"viewer"`))
		for range 3 {
			if r := e.call("GET", "/api/v1/cameras/cam-1/live/video1_stream.m3u8", "viewer", nil); r.status != http.StatusOK {
				t.Fatalf("media playlist: %d %q", r.status, r.body)
			}
		}
		if after := len(e.logs.lines(`"access decision"`, `"action":"video.live"`, `"user_id":"viewer"`)); after != before {
			t.Errorf("%d more live decisions for requests of an open session, want none", after-before)
		}
	})

	t.Run("ffprobe reads it with a bearer token", func(t *testing.T) {
		bin, err := exec.LookPath("ffprobe")
		if err != nil {
			if os.Getenv("ARGUS_REQUIRE_TOOLS") != "" {
				t.Fatalf("ffprobe required: %v", err)
			}
			t.Skip("ffprobe not on PATH")
		}
		ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
		defer cancel()
		out, err := exec.CommandContext(ctx, bin, "-v", "error",
			"-headers", "Authorization: Bearer "+e.token["operator"]+"\r\n",
			"-show_streams", "-of", "json", e.srv.URL+index).Output()
		if err != nil {
			var ee *exec.ExitError
			if errors.As(err, &ee) {
				t.Fatalf("ffprobe: %v\n%s", err, ee.Stderr)
			}
			t.Fatalf("ffprobe: %v", err)
		}
		var p struct {
			Streams []struct {
				CodecName string `json:"codec_name"`
				Width     int    `json:"width"`
				Height    int    `json:"height"`
			} `json:"streams"`
		}
		if err := json.Unmarshal(out, &p); err != nil {
			t.Fatalf("ffprobe output %q: %v", out, err)
		}
		if len(p.Streams) != 1 || p.Streams[0].CodecName != "h264" || p.Streams[0].Width != 640 || p.Streams[0].Height != 360 {
			t.Fatalf("ffprobe streams = %+v, want one h264 640x360", p.Streams)
		}
	})

	t.Run("browser session cookie", func(t *testing.T) {
		login := e.call("POST", "/api/v1/login", "", map[string]string{"username": "investigator", "password": testPassword})
		var tok struct {
			Token string `json:"token"`
		}
		login.decode(t, &tok)
		if r := e.call("GET", "/api/v1/cameras/cam-1/live/video1_stream.m3u8", "Cookie argus_session="+tok.Token, nil); r.status != http.StatusOK {
			t.Fatalf("media playlist with the session cookie: %d %q", r.status, r.body)
		}
	})

	for _, tc := range []struct {
		name, path, user string
		status           int
		code             string
	}{
		{"unauthenticated", index, "", 401, "unauthorized"},
		{"bad token", index, "Bearer nope", 401, "unauthorized"},
		{"camera of another organisation is hidden", "/api/v1/cameras/cam-fire/live/index.m3u8", "viewer", 404, "not_found"},
		{"auditor may see but not watch", index, "auditor", 403, "forbidden"},
		{"unknown camera", "/api/v1/cameras/cam-none/live/index.m3u8", "viewer", 404, "not_found"},
		{"file that is no HLS file", "/api/v1/cameras/cam-1/live/index.html", "viewer", 404, "not_found"},
		{"file the muxer does not have", "/api/v1/cameras/cam-1/live/nothing_here.mp4", "viewer", 404, "not_found"},
		{"unknown query parameter", index + "?token=x", "viewer", 400, "invalid"},
		{"bad blocking reload", "/api/v1/cameras/cam-1/live/video1_stream.m3u8?_HLS_msn=x", "viewer", 400, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := e.call("GET", tc.path, tc.user, nil)
			if r.status != tc.status {
				t.Fatalf("GET %s as %q = %d %q, want %d", tc.path, tc.user, r.status, r.body, tc.status)
			}
			if tc.code != "" {
				if code, _, _, _ := r.apiError(t); code != tc.code {
					t.Fatalf("code = %q, want %q", code, tc.code)
				}
			}
		})
	}

	t.Run("refused requests open no session", func(t *testing.T) {
		for _, s := range sessions.List() {
			if s.UserID != "viewer" && s.UserID != "operator" && s.UserID != "investigator" {
				t.Errorf("session of %q opened", s.UserID)
			}
		}
	})
}

func TestLiveHLSNotEnabled(t *testing.T) {
	e := newEnv(t)
	e.addCamera("cam-1", "police", 40.7, -74.0)
	r := e.call("GET", "/api/v1/cameras/cam-1/live/index.m3u8", "viewer", nil)
	if r.status != http.StatusServiceUnavailable {
		t.Fatalf("status = %d %q, want 503", r.status, r.body)
	}
	if code, msg, _, _ := r.apiError(t); code != "unavailable" || msg != "live video is not enabled on this node" {
		t.Errorf("error = %s %q", code, msg)
	}
	if r := e.call("GET", "/api/v1/cameras/cam-1/live/index.m3u8", "", nil); r.status != http.StatusUnauthorized {
		t.Errorf("unauthenticated: %d, want 401", r.status)
	}
}
