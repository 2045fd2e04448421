package rtspserver

import (
	"bufio"
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/bluenviron/gortsplib/v5"
	"github.com/bluenviron/gortsplib/v5/pkg/base"
	"github.com/bluenviron/gortsplib/v5/pkg/description"
	"github.com/bluenviron/gortsplib/v5/pkg/format"
	"github.com/bluenviron/mediacommon/v2/pkg/codecs/mpeg4audio"

	"argus"
	"argus/internal/hub"
	"argus/internal/live"
	"argus/internal/seiclock"
)

func TestPlay(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		proto gortsplib.Protocol
		user  string
	}{
		{"tcp with a password", gortsplib.ProtocolTCP, "alice:" + alicePW},
		{"udp with a token", gortsplib.ProtocolUDP, "token:" + token},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var cl closers
			t.Cleanup(cl.close)
			e := startServer(t, &cl, simHub(t, &cl), tt.proto == gortsplib.ProtocolUDP, nil)
			p := play(t, e.url(tt.user, "cam-1"), tt.proto)
			if _, ok := p.video.(*format.H264); !ok {
				t.Fatalf("video format %T, want H.264", p.video)
			}
			waitFor(t, 10*time.Second, "50 access units", func() bool { return p.numAUs() >= 50 })
			// DESCRIBE, SETUP and PLAY carry the credentials; one check
			// (an Argon2id hash for a password) serves the connection.
			if n := e.authCalls.Load(); n != 1 {
				t.Errorf("Authenticate called %d times for one connection, want 1", n)
			}

			aus, _, decodeErrs := p.snapshot()
			if decodeErrs != 0 {
				t.Errorf("%d depacketisation errors", decodeErrs)
			}
			if !aus[0].key {
				t.Error("the first access unit is not a keyframe")
			}
			for i, a := range aus {
				stamp, ok := seiclock.ParseAccessUnit(a.au)
				if !ok {
					t.Fatalf("AU %d: no SEI wall-clock stamp", i)
				}
				if d := a.at.Sub(stamp); d < 0 || d > 3*time.Second {
					t.Errorf("AU %d: received %v after its SEI stamp", i, d)
				}
				if i > 0 && int32(a.ts-aus[i-1].ts) <= 0 {
					t.Errorf("AU %d: RTP timestamp %d does not follow %d", i, a.ts, aus[i-1].ts)
				}
			}

			open := e.sessions.List()
			if len(open) != 1 {
				t.Fatalf("%d open sessions, want 1", len(open))
			}
			s := open[0]
			if s.Protocol != live.ProtoRTSP || s.CameraID != "cam-1" || s.UserID != alice.UserID || s.OrgID != alice.OrgID ||
				s.Client == "" || s.Start.IsZero() || !s.End.IsZero() {
				t.Errorf("open session = %+v", s)
			}

			p.close()
			waitFor(t, 5*time.Second, "the session to end", func() bool { _, ended := e.rec.snapshot(); return len(ended) == 1 })
			_, ended := e.rec.snapshot()
			if got := ended[0]; got.ID != s.ID || got.End.Before(got.Start) || got.Reason != "closed by viewer" {
				t.Errorf("ended session = %+v, want %s ended by the viewer", got, s.ID)
			}
			if n := len(e.sessions.List()); n != 0 {
				t.Errorf("%d sessions still open", n)
			}
		})
	}
}

// A viewer who joins mid-GOP gets the cached GOP's keyframe first, at
// once, from the same feed (one hub reader for every viewer).
func TestLateJoinerStartsOnCachedKeyframe(t *testing.T) {
	t.Parallel()
	var cl closers
	t.Cleanup(cl.close)
	e := startServer(t, &cl, simHub(t, &cl), false, nil)
	url := e.url("alice:"+alicePW, "cam-1")
	p1 := play(t, url, gortsplib.ProtocolTCP)

	// Wait until p1 is 10 frames into a GOP (of 50): the cache holds a
	// keyframe from 0.4 s ago.
	var lastKey uint32
	waitFor(t, 10*time.Second, "p1 10 frames past a keyframe", func() bool {
		aus, _, _ := p1.snapshot()
		for i := len(aus) - 1; i >= 0; i-- {
			if aus[i].key {
				lastKey = aus[i].ts
				return len(aus)-i > 10 && len(aus)-i < 40
			}
		}
		return false
	})
	start := time.Now()
	p2 := play(t, url, gortsplib.ProtocolTCP)
	waitFor(t, 2*time.Second, "p2's first frame", func() bool { return p2.numAUs() > 0 })
	aus, _, _ := p2.snapshot()
	ttff := aus[0].at.Sub(start)
	t.Logf("time to first frame (DESCRIBE to first AU): %v", ttff)
	if !aus[0].key {
		t.Fatal("the late joiner's first access unit is not a keyframe")
	}
	if aus[0].ts != lastKey {
		t.Errorf("the late joiner started at RTP time %d, want the cached keyframe's %d", aus[0].ts, lastKey)
	}
	if ttff > time.Second {
		t.Errorf("first frame after %v, want well under a second", ttff)
	}
	if st, ok := e.hub.Stats("cam-1"); !ok || st.Readers != 1 {
		t.Errorf("hub readers of cam-1 = %d (open %v), want 1 for both viewers", st.Readers, ok)
	}
	waitFor(t, 5*time.Second, "p2 to catch up with live", func() bool {
		aus, _, _ := p2.snapshot()
		return len(aus) > 60
	})
	aus, _, decodeErrs := p2.snapshot()
	if decodeErrs != 0 {
		t.Errorf("%d depacketisation errors", decodeErrs)
	}
	for i := 1; i < len(aus); i++ {
		if d := aus[i].ts - aus[i-1].ts; d != 90000/25 {
			t.Fatalf("AU %d: RTP timestamp advanced by %d, want %d (a frame lost or repeated)", i, d, 90000/25)
		}
	}
}

func TestRefusals(t *testing.T) {
	t.Parallel()
	var cl closers
	t.Cleanup(cl.close)
	e := startServer(t, &cl, simHub(t, &cl), false, nil)
	tests := []struct {
		name     string
		userinfo string
		camera   string
		want     base.StatusCode
	}{
		{"no credentials", "", "cam-1", base.StatusUnauthorized},
		{"wrong password", "alice:wrong", "cam-1", base.StatusUnauthorized},
		{"unknown user", "mallory:" + alicePW, "cam-1", base.StatusUnauthorized},
		{"invalid token", "token:argus_0000000000000000000000000000000000000000000", "cam-1", base.StatusUnauthorized},
		{"unknown camera", "alice:" + alicePW, "cam-9", base.StatusNotFound},
		{"not allowed", "bob:" + bobPW, "cam-1", base.StatusNotFound},
		{"unknown camera, no credentials", "", "cam-9", base.StatusUnauthorized},
		{"not a camera path", "alice:" + alicePW, "../x", base.StatusNotFound},
		{"throttled", "throttled:x", "cam-1", base.StatusServiceUnavailable},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := dial(t, e.url(tt.userinfo, tt.camera), gortsplib.ProtocolTCP)
			if got := statusCode(err); got != tt.want {
				t.Fatalf("got %v (status %d), want status %d", err, got, tt.want)
			}
		})
	}
	t.Run("setup without describe, not allowed", func(t *testing.T) {
		u, err := base.ParseURL(e.url("bob:"+bobPW, "cam-1"))
		if err != nil {
			t.Fatal(err)
		}
		c := &gortsplib.Client{Scheme: u.Scheme, Host: u.Host}
		if err := c.Start(); err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		medi := &description.Media{
			Type: description.MediaTypeVideo, Control: "trackID=0",
			Formats: []format.Format{&format.H264{PayloadTyp: 96, PacketizationMode: 1}},
		}
		if _, err := c.Setup(u, medi, 0, 0); statusCode(err) != base.StatusNotFound {
			t.Fatalf("SETUP as bob: %v, want status 404", err)
		}
	})
	// Nothing was started or recorded for a refused request.
	if _, ok := e.hub.Stats("cam-1"); ok {
		t.Error("the camera was opened in the hub for refused requests")
	}
	if started, _ := e.rec.snapshot(); len(started) != 0 {
		t.Errorf("%d live sessions recorded for refused requests", len(started))
	}
}

// A request without credentials is challenged with Basic only: Digest would
// need the plaintext password on the server.
func TestChallenge(t *testing.T) {
	t.Parallel()
	var cl closers
	t.Cleanup(cl.close)
	e := startServer(t, &cl, newHub(t, &cl, func(ctx context.Context, _ string, _ hub.Sink) error {
		<-ctx.Done()
		return nil
	}), false, nil)
	conn, err := net.Dial("tcp", e.srv.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := conn.Write([]byte("DESCRIBE " + e.url("", "cam-1") + " RTSP/1.0\r\nCSeq: 1\r\n\r\n")); err != nil {
		t.Fatal(err)
	}
	var res base.Response
	if err := res.Unmarshal(bufio.NewReader(conn)); err != nil {
		t.Fatal(err)
	}
	if res.StatusCode != base.StatusUnauthorized {
		t.Fatalf("status %d, want 401", res.StatusCode)
	}
	if got := res.Header["WWW-Authenticate"]; len(got) != 1 || !strings.HasPrefix(got[0], "Basic realm=") {
		t.Fatalf("WWW-Authenticate %q, want one Basic challenge", got)
	}
}

// A viewer whose connection drops without TEARDOWN has its session ended
// as such.
func TestConnectionLost(t *testing.T) {
	t.Parallel()
	var cl closers
	t.Cleanup(cl.close)
	e := startServer(t, &cl, simHub(t, &cl), false, nil)
	conn, err := net.Dial("tcp", e.srv.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	r := bufio.NewReader(conn)
	url := e.url("", "cam-1")
	authz := "Basic " + base64.StdEncoding.EncodeToString([]byte("alice:"+alicePW))
	session := ""
	for i, req := range []string{
		"DESCRIBE " + url + " RTSP/1.0\r\nCSeq: 1\r\nAuthorization: " + authz + "\r\n\r\n",
		"SETUP " + url + "/trackID=0 RTSP/1.0\r\nCSeq: 2\r\nAuthorization: " + authz +
			"\r\nTransport: RTP/AVP/TCP;unicast;interleaved=0-1\r\n\r\n",
		"PLAY " + url + " RTSP/1.0\r\nCSeq: 3\r\nAuthorization: " + authz + "\r\nSession: %s\r\n\r\n",
	} {
		if strings.Contains(req, "%s") {
			req = strings.Replace(req, "%s", session, 1)
		}
		if _, err := conn.Write([]byte(req)); err != nil {
			t.Fatal(err)
		}
		var res base.Response
		if err := res.Unmarshal(r); err != nil {
			t.Fatal(err)
		}
		if res.StatusCode != base.StatusOK {
			t.Fatalf("request %d: status %d", i+1, res.StatusCode)
		}
		if v := res.Header["Session"]; len(v) == 1 {
			session, _, _ = strings.Cut(v[0], ";")
		}
	}
	waitFor(t, 5*time.Second, "the session to open", func() bool { return len(e.sessions.List()) == 1 })
	conn.Close()
	waitFor(t, 5*time.Second, "the session to end", func() bool { _, ended := e.rec.snapshot(); return len(ended) == 1 })
	if _, ended := e.rec.snapshot(); ended[0].Reason != "connection lost" {
		t.Errorf("reason %q, want %q", ended[0].Reason, "connection lost")
	}
}

func TestRevocation(t *testing.T) {
	t.Parallel()
	var cl closers
	t.Cleanup(cl.close)
	e := startServer(t, &cl, simHub(t, &cl), false, nil)
	p := play(t, e.url("alice:"+alicePW, "cam-1"), gortsplib.ProtocolTCP)
	waitFor(t, 10*time.Second, "frames", func() bool { return p.numAUs() > 0 })

	n := e.sessions.Close(func(s live.Session) bool { return s.CameraID == "cam-1" }, errors.New("share revoked"))
	if n != 1 {
		t.Fatalf("closed %d sessions, want 1", n)
	}
	select {
	case <-p.done:
	case <-time.After(5 * time.Second):
		t.Fatal("the revoked viewer is still connected")
	}
	waitFor(t, 5*time.Second, "the session to end", func() bool { _, ended := e.rec.snapshot(); return len(ended) == 1 })
	if _, ended := e.rec.snapshot(); ended[0].Reason != "revoked: share revoked" {
		t.Errorf("reason %q, want %q", ended[0].Reason, "revoked: share revoked")
	}
}

// The feed, and its hub reader, go once the last viewer has left for
// Linger.
func TestFeedReleased(t *testing.T) {
	t.Parallel()
	var cl closers
	t.Cleanup(cl.close)
	e := startServer(t, &cl, simHub(t, &cl), false, func(c *Config) { c.Linger = 50 * time.Millisecond })
	p := play(t, e.url("alice:"+alicePW, "cam-1"), gortsplib.ProtocolTCP)
	waitFor(t, 10*time.Second, "frames", func() bool { return p.numAUs() > 0 })
	p.close()
	waitFor(t, 5*time.Second, "the hub reader to close", func() bool {
		st, ok := e.hub.Stats("cam-1")
		return !ok || st.Readers == 0
	})
	e.srv.mu.Lock()
	n := len(e.srv.byCamera)
	e.srv.mu.Unlock()
	if n != 0 {
		t.Errorf("%d feeds left", n)
	}
	// A new viewer starts a new feed.
	p = play(t, e.url("alice:"+alicePW, "cam-1"), gortsplib.ProtocolTCP)
	waitFor(t, 10*time.Second, "frames again", func() bool { return p.numAUs() > 0 })
}

// Close disconnects every viewer, ends their sessions and leaves no
// goroutine behind. Not parallel: it counts goroutines.
func TestCloseEndsEverything(t *testing.T) {
	before := runtime.NumGoroutine()
	var cl closers
	e := startServer(t, &cl, simHub(t, &cl), true, nil)
	url := e.url("alice:"+alicePW, "cam-1")
	players := []*player{play(t, url, gortsplib.ProtocolTCP), play(t, url, gortsplib.ProtocolUDP)}
	for _, p := range players {
		waitFor(t, 10*time.Second, "frames", func() bool { return p.numAUs() > 0 })
	}
	if err := e.srv.Close(); err != nil {
		t.Fatal(err)
	}
	_, ended := e.rec.snapshot()
	if len(ended) != 2 {
		t.Fatalf("%d sessions ended by Close, want 2", len(ended))
	}
	for _, s := range ended {
		if s.Reason != "shutdown" {
			t.Errorf("session %s ended with %q, want shutdown", s.ID, s.Reason)
		}
	}
	if st, ok := e.hub.Stats("cam-1"); ok && st.Readers != 0 {
		t.Errorf("%d hub readers left", st.Readers)
	}
	for _, p := range players {
		select {
		case <-p.done:
		case <-time.After(15 * time.Second): // a UDP client notices by its read timeout
			t.Error("a viewer is still connected")
		}
		p.close()
	}
	cl.close()
	waitGoroutines(t, before)
}

func TestFFprobe(t *testing.T) {
	t.Parallel()
	ffprobe, err := exec.LookPath("ffprobe")
	if err != nil {
		if os.Getenv("ARGUS_REQUIRE_TOOLS") == "1" {
			t.Fatalf("ffprobe required: %v", err)
		}
		t.Skip("ffprobe not on PATH")
	}
	h265 := loadH265(t)
	tests := []struct {
		name      string
		h265      bool
		transport string
		user      string
		codec     string
		w, h      int
	}{
		{"h264 over tcp", false, "tcp", "alice:" + alicePW, "h264", 640, 360},
		{"h264 over udp", false, "udp", "alice:" + alicePW, "h264", 640, 360},
		{"h265 over tcp with a token", true, "tcp", "token:" + token, "hevc", 160, 96},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var cl closers
			t.Cleanup(cl.close)
			h := simHub(t, &cl)
			if tt.h265 {
				h = newHub(t, &cl, clipSource(h265, nil, 0))
			}
			e := startServer(t, &cl, h, tt.transport == "udp", nil)
			ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
			defer cancel()
			cmd := exec.CommandContext(ctx, ffprobe, "-v", "error", "-rtsp_transport", tt.transport,
				"-select_streams", "v:0", "-show_entries", "stream=codec_name,width,height",
				"-of", "json", e.url(tt.user, "cam-1"))
			var stderr bytes.Buffer
			cmd.Stderr = &stderr
			out, err := cmd.Output()
			if err != nil {
				t.Fatalf("ffprobe: %v\n%s", err, stderr.Bytes())
			}
			var got struct {
				Streams []struct {
					CodecName string `json:"codec_name"`
					Width     int    `json:"width"`
					Height    int    `json:"height"`
				} `json:"streams"`
			}
			if err := json.Unmarshal(out, &got); err != nil {
				t.Fatalf("ffprobe output %q: %v", out, err)
			}
			if len(got.Streams) != 1 {
				t.Fatalf("ffprobe found %d video streams: %s", len(got.Streams), out)
			}
			if st := got.Streams[0]; st.CodecName != tt.codec || st.Width != tt.w || st.Height != tt.h {
				t.Fatalf("ffprobe: %+v, want %s %dx%d", st, tt.codec, tt.w, tt.h)
			}
			waitFor(t, 5*time.Second, "ffprobe's session to end", func() bool { _, ended := e.rec.snapshot(); return len(ended) == 1 })
			if _, ended := e.rec.snapshot(); ended[0].UserID != alice.UserID || ended[0].CameraID != "cam-1" {
				t.Errorf("ended session %+v, want alice on cam-1", ended[0])
			}
		})
	}
	t.Run("refused without credentials", func(t *testing.T) {
		t.Parallel()
		var cl closers
		t.Cleanup(cl.close)
		e := startServer(t, &cl, simHub(t, &cl), false, nil)
		ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
		defer cancel()
		out, err := exec.CommandContext(ctx, ffprobe, "-v", "error", "-rtsp_transport", "tcp", e.url("", "cam-1")).CombinedOutput()
		if err == nil || !strings.Contains(string(out), "401") {
			t.Fatalf("ffprobe without credentials: %v\n%s", err, out)
		}
	})
}

// Each hub codec is described and packetised so that a client gets back
// exactly the units the hub carried. H.265 stays H.265.
func TestCodecs(t *testing.T) {
	t.Parallel()
	h265 := loadH265(t)
	aac, err := mpeg4audio.AudioSpecificConfig{Type: mpeg4audio.ObjectTypeAACLC, SampleRate: 48000, ChannelConfig: 2}.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name  string
		audio hub.Track
		size  int
		check func(t *testing.T, f format.Format)
	}{
		{"aac", hub.Track{Codec: hub.CodecAAC, ClockRate: 48000, SampleRate: 48000, Channels: 2, AudioConfig: aac}, 300,
			func(t *testing.T, f format.Format) {
				m, ok := f.(*format.MPEG4Audio)
				if !ok || m.Config.SampleRate != 48000 || m.Config.ChannelConfig != 2 {
					t.Errorf("audio format %#v, want AAC 48 kHz stereo", f)
				}
			}},
		{"pcmu", hub.Track{Codec: hub.CodecPCMU, ClockRate: 8000, SampleRate: 8000, Channels: 1}, 320,
			func(t *testing.T, f format.Format) {
				if g, ok := f.(*format.G711); !ok || !g.MULaw || g.SampleRate != 8000 || g.PayloadTyp != 0 {
					t.Errorf("audio format %#v, want PCMU/8000 on payload type 0", f)
				}
			}},
		{"pcma 16 kHz", hub.Track{Codec: hub.CodecPCMA, ClockRate: 16000, SampleRate: 16000, Channels: 1}, 640,
			func(t *testing.T, f format.Format) {
				if g, ok := f.(*format.G711); !ok || g.MULaw || g.SampleRate != 16000 || g.PayloadTyp < 96 {
					t.Errorf("audio format %#v, want PCMA/16000 on a dynamic payload type", f)
				}
			}},
		{"opus", hub.Track{Codec: hub.CodecOpus, ClockRate: 48000, SampleRate: 48000, Channels: 2}, 120,
			func(t *testing.T, f format.Format) {
				if o, ok := f.(*format.Opus); !ok || o.ChannelCount != 2 {
					t.Errorf("audio format %#v, want Opus stereo", f)
				}
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var cl closers
			t.Cleanup(cl.close)
			e := startServer(t, &cl, newHub(t, &cl, clipSource(h265, &tt.audio, tt.size)), false, nil)
			p := play(t, e.url("alice:"+alicePW, "cam-1"), gortsplib.ProtocolTCP)
			if v, ok := p.video.(*format.H265); !ok || !bytes.Equal(v.VPS, h265.vps) || !bytes.Equal(v.SPS, h265.sps) || !bytes.Equal(v.PPS, h265.pps) {
				t.Fatalf("video format %#v, want H.265 with the clip's parameter sets", p.video)
			}
			tt.check(t, p.audio)
			waitFor(t, 10*time.Second, "30 video and audio frames", func() bool {
				aus, frames, _ := p.snapshot()
				return len(aus) >= 30 && len(frames) >= 30
			})
			aus, frames, decodeErrs := p.snapshot()
			if decodeErrs != 0 {
				t.Errorf("%d depacketisation errors", decodeErrs)
			}
			if !aus[0].key {
				t.Error("the first access unit is not a keyframe")
			}
			// Every AU is one of the clip's, byte for byte.
			for i, a := range aus {
				found := false
				for _, f := range h265.frames {
					if equalAU(f.au, a.au) {
						found = true
						break
					}
				}
				if !found {
					t.Fatalf("AU %d (%d NAL units) is not one of the clip's", i, len(a.au))
				}
			}
			// Audio frames arrive whole and in order, timed by their PTS.
			step := uint32(tt.audio.ClockRate / 25)
			first := -1
			for n := range 256 {
				if bytes.Equal(frames[0].frame, audioPayload(n, tt.size)) {
					first = n
				}
			}
			if first < 0 {
				t.Fatalf("audio frame 0 (%d bytes) is not one the source wrote", len(frames[0].frame))
			}
			for i, f := range frames {
				if !bytes.Equal(f.frame, audioPayload(first+i, tt.size)) {
					t.Fatalf("audio frame %d differs from source frame %d", i, first+i)
				}
				if i > 0 && f.ts-frames[i-1].ts != step {
					t.Fatalf("audio frame %d: RTP timestamp advanced by %d, want %d", i, f.ts-frames[i-1].ts, step)
				}
			}
		})
	}
}

func equalAU(a, b [][]byte) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if !bytes.Equal(a[i], b[i]) {
			return false
		}
	}
	return true
}

func TestNewValidates(t *testing.T) {
	t.Parallel()
	valid := func() Config {
		return Config{
			Listen: "127.0.0.1:0", Hub: &hub.Hub{}, Cameras: directory{},
			Authenticate: authenticate, Authorize: authorize, Sessions: live.NewSessions(nil, nil),
		}
	}
	tests := []struct {
		name string
		mod  func(*Config)
	}{
		{"no listen address", func(c *Config) { c.Listen = "" }},
		{"rtp without rtcp", func(c *Config) { c.UDPRTPAddress = ":8000" }},
		{"no hub", func(c *Config) { c.Hub = nil }},
		{"no cameras", func(c *Config) { c.Cameras = nil }},
		{"no authenticate", func(c *Config) { c.Authenticate = nil }},
		{"no authorize", func(c *Config) { c.Authorize = nil }},
		{"no sessions", func(c *Config) { c.Sessions = nil }},
		{"negative linger", func(c *Config) { c.Linger = -time.Second }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := valid()
			tt.mod(&cfg)
			if _, err := New(cfg); err == nil {
				t.Fatal("New accepted an invalid config")
			}
		})
	}
	if _, err := New(valid()); err != nil {
		t.Fatalf("New(valid config): %v", err)
	}
}

func TestCameraID(t *testing.T) {
	t.Parallel()
	tests := []struct {
		path string
		id   string
		ok   bool
	}{
		{"/cameras/cam-1", "cam-1", true},
		{"/cameras/cam-1/", "cam-1", true},
		{"/cameras/", "", false},
		{"/cameras/a/b", "", false},
		{"/cameras/CAM", "", false},
		{"/sim/1", "", false},
		{"/", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			id, ok := cameraID(tt.path)
			if ok != tt.ok || (ok && id != tt.id) {
				t.Fatalf("cameraID(%q) = %q, %v; want %q, %v", tt.path, id, ok, tt.id, tt.ok)
			}
		})
	}
}

var _ Cameras = argus.CameraStore(nil)
