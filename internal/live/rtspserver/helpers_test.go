package rtspserver

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/bluenviron/gortsplib/v5"
	"github.com/bluenviron/gortsplib/v5/pkg/base"
	"github.com/bluenviron/gortsplib/v5/pkg/format"
	"github.com/bluenviron/gortsplib/v5/pkg/format/rtph264"
	"github.com/bluenviron/gortsplib/v5/pkg/format/rtph265"
	"github.com/bluenviron/gortsplib/v5/pkg/format/rtpmpeg4audio"
	"github.com/bluenviron/gortsplib/v5/pkg/liberrors"
	"github.com/pion/rtp"

	"argus"
	"argus/internal/hub"
	"argus/internal/ingest"
	"argus/internal/live"
	"argus/internal/sim"
	"argus/internal/sim/clips"
)

// The test directory: alice may watch every camera, bob none; the token
// stands for alice.
const (
	alicePW = "alice-secret"
	bobPW   = "bob-secret"
	token   = "argus_0123456789abcdefghijklmnopqrstuvwxyzABCDEFG"
)

var (
	alice = argus.Principal{UserID: "u-alice", Username: "alice", OrgID: "org-a", Role: argus.RoleViewer}
	bob   = argus.Principal{UserID: "u-bob", Username: "bob", OrgID: "org-b", Role: argus.RoleViewer}
)

// authenticate is the test's Config.Authenticate: the node's contract, a
// password or an API token given as the password.
func authenticate(_ context.Context, client, user, password string) (argus.Principal, error) {
	if net.ParseIP(client) == nil {
		return argus.Principal{}, fmt.Errorf("client %q is not an IP address", client)
	}
	switch {
	case strings.HasPrefix(password, "argus_"):
		if password == token {
			p := alice
			p.TokenID = "tok-1"
			return p, nil
		}
		return argus.Principal{}, argus.Errorf(argus.EUNAUTHORIZED, "invalid or expired token")
	case user == "throttled":
		return argus.Principal{}, argus.Errorf(argus.ERATELIMIT, "too many sign-in attempts; try again later")
	case user == "alice" && password == alicePW:
		return alice, nil
	case user == "bob" && password == bobPW:
		return bob, nil
	}
	return argus.Principal{}, argus.Errorf(argus.EUNAUTHORIZED, "invalid username or password")
}

// authorize is the test's Config.Authorize: only alice may watch.
func authorize(_ context.Context, p argus.Principal, cam *argus.Camera) error {
	if p.UserID != alice.UserID {
		return argus.Errorf(argus.EFORBIDDEN, "video.live is not allowed: no share for camera %s", cam.ID)
	}
	return nil
}

// directory is an in-memory camera directory.
type directory map[string]*argus.Camera

func (d directory) Camera(_ context.Context, id string) (*argus.Camera, error) {
	c, ok := d[id]
	if !ok {
		return nil, argus.Errorf(argus.ENOTFOUND, "camera %s not found", id)
	}
	return c, nil
}

// recorder collects what live.Sessions reports.
type recorder struct {
	mu             sync.Mutex
	started, ended []live.Session
}

func (r *recorder) SessionStarted(s live.Session) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.started = append(r.started, s)
}

func (r *recorder) SessionEnded(s live.Session) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.ended = append(r.ended, s)
}

func (r *recorder) snapshot() (started, ended []live.Session) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]live.Session(nil), r.started...), append([]live.Session(nil), r.ended...)
}

// closers closes what a test started, in reverse order; the leak test
// calls it before counting goroutines, other tests leave it to Cleanup.
type closers []func()

func (c *closers) add(f func()) { *c = append(*c, f) }

func (c *closers) close() {
	for i := len(*c) - 1; i >= 0; i-- {
		(*c)[i]()
	}
	*c = nil
}

// simHub starts the real chain behind camera "cam-1": a simulated camera
// streaming the default clip (H.264 640x360, 2 s GOP), ingest, the hub.
func simHub(tb testing.TB, cl *closers) *hub.Hub {
	tb.Helper()
	s, err := sim.New(sim.Config{Cameras: 1, Listen: "127.0.0.1:0"})
	if err != nil {
		tb.Fatal(err)
	}
	if err := s.Start(context.Background()); err != nil {
		tb.Fatal(err)
	}
	cl.add(func() { _ = s.Close() })
	in, err := ingest.New(ingest.Config{Resolve: func(context.Context, string) (ingest.Target, error) {
		return ingest.Target{URL: s.URL(1)}, nil
	}})
	if err != nil {
		tb.Fatal(err)
	}
	return newHub(tb, cl, func(ctx context.Context, id string, sink hub.Sink) error { return in.Run(ctx, id, sink) })
}

func newHub(tb testing.TB, cl *closers, src hub.SourceFunc) *hub.Hub {
	tb.Helper()
	h, err := hub.New(hub.Config{Source: src, Grace: 100 * time.Millisecond})
	if err != nil {
		tb.Fatal(err)
	}
	cl.add(func() { _ = h.Close() })
	return h
}

// env is a running server with its collaborators.
type env struct {
	srv      *Server
	hub      *hub.Hub
	sessions *live.Sessions
	rec      *recorder
	// authCalls counts the calls of Config.Authenticate.
	authCalls atomic.Int64
}

// url returns the RTSP URL of a camera with the given user information
// ("" for none).
func (e *env) url(userinfo, camera string) string {
	if userinfo != "" {
		userinfo += "@"
	}
	return "rtsp://" + userinfo + e.srv.Addr() + "/cameras/" + camera
}

// startServer serves h's camera "cam-1" over TCP, and UDP when udp is set.
func startServer(tb testing.TB, cl *closers, h *hub.Hub, udp bool, mod func(*Config)) *env {
	tb.Helper()
	e := &env{hub: h, rec: &recorder{}}
	e.sessions = live.NewSessions(e.rec, nil)
	for attempt := 0; ; attempt++ {
		cfg := Config{
			Listen:  "127.0.0.1:0",
			Hub:     h,
			Cameras: directory{"cam-1": {ID: "cam-1", OrgID: "org-a", Name: "Main St"}},
			Authenticate: func(ctx context.Context, client, user, password string) (argus.Principal, error) {
				e.authCalls.Add(1)
				return authenticate(ctx, client, user, password)
			},
			Authorize: authorize,
			Sessions:  e.sessions,
		}
		if udp {
			cfg.UDPRTPAddress, cfg.UDPRTCPAddress = udpPorts(tb)
		}
		if mod != nil {
			mod(&cfg)
		}
		srv, err := New(cfg)
		if err != nil {
			tb.Fatal(err)
		}
		if err := srv.Start(context.Background()); err != nil {
			if udp && attempt < 5 { // another test took the ports
				continue
			}
			tb.Fatal(err)
		}
		cl.add(func() { _ = srv.Close() })
		e.srv = srv
		return e
	}
}

// udpPorts returns a free pair of loopback UDP ports, even and even+1.
func udpPorts(tb testing.TB) (rtpAddr, rtcpAddr string) {
	tb.Helper()
	for range 50 {
		c, err := net.ListenPacket("udp", "127.0.0.1:0")
		if err != nil {
			tb.Fatal(err)
		}
		p := c.LocalAddr().(*net.UDPAddr).Port &^ 1
		c.Close()
		a, err := net.ListenPacket("udp", "127.0.0.1:"+strconv.Itoa(p))
		if err != nil {
			continue
		}
		b, err := net.ListenPacket("udp", "127.0.0.1:"+strconv.Itoa(p+1))
		a.Close()
		if err != nil {
			continue
		}
		b.Close()
		return "127.0.0.1:" + strconv.Itoa(p), "127.0.0.1:" + strconv.Itoa(p+1)
	}
	tb.Fatal("no free UDP port pair")
	return "", ""
}

// waitFor polls cond every 5 ms until it holds or timeout passes.
func waitFor(tb testing.TB, timeout time.Duration, what string, cond func() bool) {
	tb.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			tb.Fatalf("timed out after %s waiting for %s", timeout, what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// waitGoroutines fails unless the number of goroutines drops back to
// before within a few seconds.
func waitGoroutines(tb testing.TB, before int) {
	tb.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for runtime.NumGoroutine() > before {
		if time.Now().After(deadline) {
			buf := make([]byte, 1<<20)
			tb.Fatalf("%d goroutines before, %d after:\n%s", before, runtime.NumGoroutine(), buf[:runtime.Stack(buf, true)])
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// auRecord is one video access unit a player received.
type auRecord struct {
	at  time.Time
	ts  uint32
	au  [][]byte
	key bool
}

// frameRecord is one audio frame a player received.
type frameRecord struct {
	ts    uint32
	frame []byte
}

// player is a gortsplib client playing every media of a camera and
// recording what it receives.
type player struct {
	c      *gortsplib.Client
	video  format.Format
	audio  format.Format
	done   chan error // the client's Wait error
	closed sync.Once

	mu         sync.Mutex
	aus        []auRecord
	frames     []frameRecord
	decodeErrs int
}

// dial plays url over proto; it returns the DESCRIBE/SETUP/PLAY error
// instead of failing, for tests that expect refusals.
func dial(tb testing.TB, url string, proto gortsplib.Protocol) (*player, error) {
	tb.Helper()
	u, err := base.ParseURL(url)
	if err != nil {
		tb.Fatal(err)
	}
	p := &player{
		c:    &gortsplib.Client{Scheme: u.Scheme, Host: u.Host, Protocol: &proto},
		done: make(chan error, 1),
	}
	if err := p.c.Start(); err != nil {
		return nil, err
	}
	desc, _, err := p.c.Describe(u)
	if err != nil {
		p.c.Close()
		return nil, err
	}
	for _, m := range desc.Medias {
		if _, err := p.c.Setup(desc.BaseURL, m, 0, 0); err != nil {
			p.c.Close()
			return nil, err
		}
		f := m.Formats[0]
		onPacket, err := p.decoder(f)
		if err != nil {
			tb.Fatal(err)
		}
		p.c.OnPacketRTP(m, f, onPacket)
	}
	if _, err := p.c.Play(nil); err != nil {
		p.c.Close()
		return nil, err
	}
	go func() { p.done <- p.c.Wait() }()
	tb.Cleanup(p.close)
	return p, nil
}

// play is dial for tests that expect success.
func play(tb testing.TB, url string, proto gortsplib.Protocol) *player {
	tb.Helper()
	p, err := dial(tb, url, proto)
	if err != nil {
		tb.Fatalf("play %s: %v", url, err)
	}
	return p
}

// decoder returns the packet callback that depacketises format f into the
// player's records.
func (p *player) decoder(f format.Format) (func(*rtp.Packet), error) {
	more := func(err error) bool {
		return errors.Is(err, rtph264.ErrMorePacketsNeeded) || errors.Is(err, rtph264.ErrNonStartingPacketAndNoPrevious) ||
			errors.Is(err, rtph265.ErrMorePacketsNeeded) || errors.Is(err, rtph265.ErrNonStartingPacketAndNoPrevious) ||
			errors.Is(err, rtpmpeg4audio.ErrMorePacketsNeeded)
	}
	video := func(decode func(*rtp.Packet) ([][]byte, error), isKey func([][]byte) bool) func(*rtp.Packet) {
		return func(pkt *rtp.Packet) {
			au, err := decode(pkt)
			p.mu.Lock()
			defer p.mu.Unlock()
			switch {
			case err == nil:
				p.aus = append(p.aus, auRecord{at: time.Now(), ts: pkt.Timestamp, au: au, key: isKey(au)})
			case more(err):
			default:
				p.decodeErrs++
			}
		}
	}
	audio := func(decode func(*rtp.Packet) ([][]byte, error)) func(*rtp.Packet) {
		return func(pkt *rtp.Packet) {
			frames, err := decode(pkt)
			p.mu.Lock()
			defer p.mu.Unlock()
			switch {
			case err == nil:
				for _, fr := range frames {
					p.frames = append(p.frames, frameRecord{ts: pkt.Timestamp, frame: fr})
				}
			case more(err):
			default:
				p.decodeErrs++
			}
		}
	}
	switch f := f.(type) {
	case *format.H264:
		p.video = f
		dec, err := f.CreateDecoder()
		if err != nil {
			return nil, err
		}
		return video(dec.Decode, func(au [][]byte) bool { return hasNALU(au, func(n []byte) bool { return n[0]&0x1f == 5 }) }), nil
	case *format.H265:
		p.video = f
		dec, err := f.CreateDecoder()
		if err != nil {
			return nil, err
		}
		return video(dec.Decode, func(au [][]byte) bool {
			return hasNALU(au, func(n []byte) bool { t := (n[0] >> 1) & 0x3f; return t >= 16 && t <= 21 })
		}), nil
	case *format.MPEG4Audio:
		p.audio = f
		dec, err := f.CreateDecoder()
		if err != nil {
			return nil, err
		}
		return audio(dec.Decode), nil
	case *format.G711:
		p.audio = f
		dec, err := f.CreateDecoder()
		if err != nil {
			return nil, err
		}
		return audio(func(pkt *rtp.Packet) ([][]byte, error) { b, err := dec.Decode(pkt); return [][]byte{b}, err }), nil
	case *format.Opus:
		p.audio = f
		dec, err := f.CreateDecoder()
		if err != nil {
			return nil, err
		}
		return audio(func(pkt *rtp.Packet) ([][]byte, error) { b, err := dec.Decode(pkt); return [][]byte{b}, err }), nil
	}
	return nil, fmt.Errorf("unexpected format %T", f)
}

func hasNALU(au [][]byte, match func([]byte) bool) bool {
	for _, n := range au {
		if len(n) > 0 && match(n) {
			return true
		}
	}
	return false
}

func (p *player) close() { p.closed.Do(p.c.Close) }

func (p *player) numAUs() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.aus)
}

func (p *player) snapshot() ([]auRecord, []frameRecord, int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]auRecord(nil), p.aus...), append([]frameRecord(nil), p.frames...), p.decodeErrs
}

// statusCode returns the RTSP status of a refused request, or 0.
func statusCode(err error) base.StatusCode {
	if e, ok := errors.AsType[liberrors.ErrClientBadStatusCode](err); ok {
		return e.Code
	}
	return 0
}

// clip is an Annex-B test clip with its timestamps (testdata/gen.sh in
// internal/ingest made it).
type clip struct {
	codec         hub.Codec
	vps, sps, pps []byte
	frames        []clipFrame
	duration      int64 // 90 kHz
}

type clipFrame struct {
	au       [][]byte
	pts, dts int64
	key      bool
}

// loadH265 loads testdata/h265-160x96-bframes: 50 frames at 25 fps, a
// keyframe every 25, two B-frames.
func loadH265(tb testing.TB) *clip {
	tb.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", "h265-160x96-bframes.hevc"))
	if err != nil {
		tb.Fatal(err)
	}
	side, err := os.ReadFile(filepath.Join("testdata", "h265-160x96-bframes.pts"))
	if err != nil {
		tb.Fatal(err)
	}
	c := &clip{codec: hub.CodecH265}
	var aus [][][]byte
	for _, n := range clips.SplitAnnexB(data) {
		switch t := (n[0] >> 1) & 0x3f; {
		case t == 35 || len(aus) == 0: // access unit delimiter
			aus = append(aus, nil)
		case t == 32:
			c.vps = n
		case t == 33:
			c.sps = n
		case t == 34:
			c.pps = n
		}
		aus[len(aus)-1] = append(aus[len(aus)-1], n)
	}
	lines := strings.Fields(string(side))
	if len(lines) != len(aus) {
		tb.Fatalf("%d access units, %d timestamps", len(aus), len(lines))
	}
	var first int64
	for i, l := range lines {
		f := strings.Split(l, ",")
		pts, err1 := strconv.ParseInt(f[0], 10, 64)
		dts, err2 := strconv.ParseInt(f[1], 10, 64)
		if err := errors.Join(err1, err2); err != nil {
			tb.Fatalf("line %d: %v", i+1, err)
		}
		if i == 0 {
			first = dts
		}
		c.frames = append(c.frames, clipFrame{au: aus[i], pts: pts - first, dts: dts - first, key: strings.HasPrefix(f[2], "K")})
	}
	c.duration = int64(len(c.frames)) * 90000 / 25
	return c
}

// audioPayload is the test's audio frame n: distinct, recognisable bytes.
func audioPayload(n, size int) []byte {
	b := make([]byte, size)
	for i := range b {
		b[i] = byte(n + i)
	}
	return b
}

// clipSource is a hub source that plays c in a loop at 25 fps, with one
// audio frame of audio's codec per video frame when audio is set.
func clipSource(c *clip, audio *hub.Track, audioSize int) hub.SourceFunc {
	return func(ctx context.Context, _ string, sink hub.Sink) error {
		m := &hub.Media{Tracks: []*hub.Track{{
			ID: 0, Codec: c.codec, ClockRate: 90000, VPS: c.vps, SPS: c.sps, PPS: c.pps, Width: 160, Height: 96,
		}}}
		if audio != nil {
			a := *audio
			a.ID = 1
			m.Tracks = append(m.Tracks, &a)
		}
		sink.SetMedia(m)
		tick := time.NewTicker(40 * time.Millisecond)
		defer tick.Stop()
		for n := 0; ; n++ {
			select {
			case <-ctx.Done():
				return nil
			case <-tick.C:
			}
			f := c.frames[n%len(c.frames)]
			loop := int64(n/len(c.frames)) * c.duration
			size := 0
			for _, nalu := range f.au {
				size += len(nalu)
			}
			now := time.Now()
			sink.WriteUnit(&hub.Unit{Media: m, Track: 0, PTS: f.pts + loop, DTS: f.dts + loop, Wall: now, Key: f.key, NALUs: f.au, Size: size})
			if audio != nil {
				pts := int64(n) * int64(audio.ClockRate) / 25
				sink.WriteUnit(&hub.Unit{Media: m, Track: 1, PTS: pts, DTS: pts, Wall: now, Payload: audioPayload(n, audioSize), Size: audioSize})
			}
		}
	}
}
