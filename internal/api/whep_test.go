package api_test

import (
	"context"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pion/ice/v4"
	"github.com/pion/webrtc/v4"

	"argus"
	"argus/internal/api"
	"argus/internal/hub"
	"argus/internal/ingest"
	"argus/internal/live"
	"argus/internal/live/whep"
	"argus/internal/sim"
)

// sessionRecorder keeps the live sessions the registry reports.
type sessionRecorder struct {
	mu             sync.Mutex
	started, ended []live.Session
}

func (r *sessionRecorder) SessionStarted(s live.Session) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.started = append(r.started, s)
}

func (r *sessionRecorder) SessionEnded(s live.Session) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.ended = append(r.ended, s)
}

func (r *sessionRecorder) counts() (started, ended int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.started), len(r.ended)
}

// withWHEP gives the server a WHEP service on loopback whose hub pulls
// every camera from one simulated camera.
func withWHEP(t *testing.T, rec live.Recorder) envOption {
	t.Helper()
	s, err := sim.New(sim.Config{Cameras: 1, Listen: "127.0.0.1:0", Clip: "360p-gop2"})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	in, err := ingest.New(ingest.Config{
		Resolve: func(context.Context, string) (ingest.Target, error) { return ingest.Target{URL: s.URL(1)}, nil },
	})
	if err != nil {
		t.Fatal(err)
	}
	h, err := hub.New(hub.Config{Source: func(ctx context.Context, id string, sink hub.Sink) error { return in.Run(ctx, id, sink) }})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { h.Close() })
	w, err := whep.New(whep.Config{Hub: h, Sessions: live.NewSessions(rec, nil), ListenIP: "127.0.0.1"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { w.Close() })
	return func(c *api.Config) { c.WHEP = w }
}

// newOffer returns a WHEP offer (recvonly H.264 video, every candidate
// gathered) from a pion peer on loopback.
func newOffer(t *testing.T) string {
	t.Helper()
	m := &webrtc.MediaEngine{}
	if err := m.RegisterDefaultCodecs(); err != nil {
		t.Fatal(err)
	}
	se := webrtc.SettingEngine{}
	se.SetIncludeLoopbackCandidate(true)
	se.SetIPFilter(func(ip net.IP) bool { return ip.IsLoopback() })
	se.SetICEMulticastDNSMode(ice.MulticastDNSModeDisabled)
	se.SetNetworkTypes([]webrtc.NetworkType{webrtc.NetworkTypeUDP4})
	pc, err := webrtc.NewAPI(webrtc.WithMediaEngine(m), webrtc.WithSettingEngine(se)).NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pc.Close() })
	if _, err := pc.AddTransceiverFromKind(webrtc.RTPCodecTypeVideo, webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionRecvonly}); err != nil {
		t.Fatal(err)
	}
	o, err := pc.CreateOffer(nil)
	if err != nil {
		t.Fatal(err)
	}
	done := webrtc.GatheringCompletePromise(pc)
	if err := pc.SetLocalDescription(o); err != nil {
		t.Fatal(err)
	}
	<-done
	return pc.LocalDescription().SDP
}

// sdpCall sends body with the given Content-Type ("" for none) as user
// ("" for nobody).
func (e *env) sdpCall(method, path, user, contentType, body string) response {
	e.t.Helper()
	req, err := http.NewRequestWithContext(e.t.Context(), method, e.srv.URL+path, strings.NewReader(body))
	if err != nil {
		e.t.Fatal(err)
	}
	if user != "" {
		req.Header.Set("Authorization", "Bearer "+e.token[user])
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	resp, err := e.srv.Client().Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		e.t.Fatal(err)
	}
	return response{status: resp.StatusCode, header: resp.Header, body: raw}
}

// TestWHEPRefusals checks who may not start a WHEP session, and what a
// malformed request gets, before any video flows.
func TestWHEPRefusals(t *testing.T) {
	rec := &sessionRecorder{}
	e := newEnv(t, withWHEP(t, rec))
	off := newEnv(t)
	for _, env := range []*env{e, off} {
		env.addCamera("cam-1", "police", 40.75, -73.98)
	}
	offer := newOffer(t)
	noH264 := strings.ReplaceAll(offer, "H264/90000", "H263/90000")
	for _, tc := range []struct {
		name        string
		env         *env
		path        string
		user        string
		contentType string
		body        string
		status      int
		code        string
	}{
		{"no credentials", e, "/api/v1/cameras/cam-1/whep", "", "application/sdp", offer, 401, argus.EUNAUTHORIZED},
		{"another organisation's camera", e, "/api/v1/cameras/cam-1/whep", "fireviewer", "application/sdp", offer, 404, argus.ENOTFOUND},
		{"a role without live video", e, "/api/v1/cameras/cam-1/whep", "auditor", "application/sdp", offer, 403, argus.EFORBIDDEN},
		{"no such camera", e, "/api/v1/cameras/cam-9/whep", "viewer", "application/sdp", offer, 404, argus.ENOTFOUND},
		{"json body", e, "/api/v1/cameras/cam-1/whep", "viewer", "application/json", offer, 415, "unsupported_media_type"},
		{"no content type", e, "/api/v1/cameras/cam-1/whep", "viewer", "", offer, 415, "unsupported_media_type"},
		{"empty offer", e, "/api/v1/cameras/cam-1/whep", "viewer", "application/sdp", "", 400, argus.EINVALID},
		{"offer without h264", e, "/api/v1/cameras/cam-1/whep", "viewer", "application/sdp", noH264, 400, argus.EINVALID},
		{"offer too large", e, "/api/v1/cameras/cam-1/whep", "viewer", "application/sdp", offer + strings.Repeat("a=x\r\n", 20000), 413, argus.ETOOLARGE},
		{"live video not enabled", off, "/api/v1/cameras/cam-1/whep", "viewer", "application/sdp", offer, 503, argus.EUNAVAILABLE},
		{"patch when not enabled", off, "/api/v1/whep/whep-x", "viewer", "application/trickle-ice-sdpfrag", "a=end-of-candidates\r\n", 503, argus.EUNAVAILABLE},
		{"patch of no session", e, "/api/v1/whep/whep-x", "viewer", "application/trickle-ice-sdpfrag", "a=end-of-candidates\r\n", 404, argus.ENOTFOUND},
	} {
		t.Run(tc.name, func(t *testing.T) {
			method := "POST"
			if strings.HasPrefix(tc.path, "/api/v1/whep/") {
				method = "PATCH"
			}
			r := tc.env.sdpCall(method, tc.path, tc.user, tc.contentType, tc.body)
			if r.status != tc.status {
				t.Fatalf("status %d, want %d: %s", r.status, tc.status, r.body)
			}
			if code, _, _, _ := r.apiError(t); code != tc.code {
				t.Errorf("code %q, want %q", code, tc.code)
			}
		})
	}
	if started, _ := rec.counts(); started != 0 {
		t.Errorf("%d sessions started by refused requests", started)
	}
}

// TestWHEPSession runs a session through the API: the offer gets 201,
// an SDP answer and the session's Location; only its own user may PATCH
// (trickle ICE) and DELETE it; the registry records who watched which
// camera, from its start to its end.
func TestWHEPSession(t *testing.T) {
	rec := &sessionRecorder{}
	e := newEnv(t, withWHEP(t, rec))
	e.addCamera("cam-1", "police", 40.75, -73.98)

	r := e.sdpCall("POST", "/api/v1/cameras/cam-1/whep", "viewer", "application/sdp", newOffer(t))
	if r.status != 201 {
		t.Fatalf("POST: status %d, want 201: %s", r.status, r.body)
	}
	loc := r.header.Get("Location")
	if !strings.HasPrefix(loc, "/api/v1/whep/whep-") {
		t.Fatalf("Location %q, want /api/v1/whep/whep-…", loc)
	}
	if ct := r.header.Get("Content-Type"); ct != "application/sdp" {
		t.Errorf("Content-Type %q, want application/sdp", ct)
	}
	if src := r.header.Get("X-Argus-Source"); src != "main" {
		t.Errorf("X-Argus-Source %q, want main (an H.264 camera plays its main stream)", src)
	}
	if !strings.HasPrefix(string(r.body), "v=0") || !strings.Contains(string(r.body), "a=candidate:") {
		t.Errorf("answer is not an SDP answer with candidates:\n%s", r.body)
	}
	rec.mu.Lock()
	started := rec.started
	rec.mu.Unlock()
	if len(started) != 1 || started[0].UserID != "viewer" || started[0].OrgID != "police" || started[0].CameraID != "cam-1" ||
		started[0].Protocol != live.ProtoWHEP || started[0].Client == "" || loc != "/api/v1/whep/"+started[0].ID {
		t.Fatalf("registry started %+v", started)
	}

	for _, tc := range []struct {
		name, method, user, contentType, body string
		status                                int
	}{
		{"patch by another user", "PATCH", "operator", "application/trickle-ice-sdpfrag", "a=end-of-candidates\r\n", 404},
		{"patch with a json body", "PATCH", "viewer", "application/json", "{}", 415},
		{"patch", "PATCH", "viewer", "application/trickle-ice-sdpfrag", "a=end-of-candidates\r\n", 204},
		{"delete by another user", "DELETE", "operator", "", "", 404},
		{"delete", "DELETE", "viewer", "", "", 204},
		{"delete again", "DELETE", "viewer", "", "", 404},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if r := e.sdpCall(tc.method, loc, tc.user, tc.contentType, tc.body); r.status != tc.status {
				t.Fatalf("status %d, want %d: %s", r.status, tc.status, r.body)
			}
		})
	}
	rec.mu.Lock()
	defer rec.mu.Unlock()
	if len(rec.ended) != 1 || rec.ended[0].ID != started[0].ID || rec.ended[0].Reason != "closed by viewer" ||
		rec.ended[0].End.Before(rec.ended[0].Start) || time.Since(rec.ended[0].End) > time.Minute {
		t.Fatalf("registry ended %+v", rec.ended)
	}
}
