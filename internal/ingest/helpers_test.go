package ingest

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"math/rand/v2"
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
	"github.com/bluenviron/gortsplib/v5/pkg/auth"
	"github.com/bluenviron/gortsplib/v5/pkg/base"
	"github.com/bluenviron/gortsplib/v5/pkg/description"
	"github.com/bluenviron/gortsplib/v5/pkg/format"
	"github.com/bluenviron/gortsplib/v5/pkg/liberrors"
	"github.com/bluenviron/mediacommon/v2/pkg/codecs/mpeg4audio"
	"github.com/pion/rtp"

	"argus/internal/hub"
	"argus/internal/sim"
	"argus/internal/sim/clips"
)

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

// recSink records what a source writes.
type recSink struct {
	mu      sync.Mutex
	medias  []*hub.Media
	units   []*hub.Unit
	offline []error
}

func (r *recSink) SetMedia(m *hub.Media) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.medias = append(r.medias, m)
}

func (r *recSink) WriteUnit(u *hub.Unit) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.medias) == 0 || r.medias[len(r.medias)-1] != u.Media {
		panic("unit written with a Media that is not the last one set")
	}
	r.units = append(r.units, u)
}

func (r *recSink) SetOffline(err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.offline = append(r.offline, err)
}

// snapshot returns copies of what was recorded.
func (r *recSink) snapshot() ([]*hub.Media, []*hub.Unit, []error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]*hub.Media(nil), r.medias...), append([]*hub.Unit(nil), r.units...), append([]error(nil), r.offline...)
}

// count returns the number of units recorded whose track has codec c (any
// codec for "").
func (r *recSink) count(c hub.Codec) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := 0
	for _, u := range r.units {
		if c == "" || u.Media.Tracks[u.Track].Codec == c {
			n++
		}
	}
	return n
}

// eventLog records Events.
type eventLog struct {
	mu  sync.Mutex
	evs []Event
}

func (l *eventLog) add(e Event) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.evs = append(l.evs, e)
}

func (l *eventLog) all() []Event {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]Event(nil), l.evs...)
}

// count returns the number of changes from state from to state to; ""
// matches any state.
func (l *eventLog) count(from, to State) int {
	n := 0
	for _, e := range l.all() {
		if (from == "" || e.From == from) && (to == "" || e.To == to) {
			n++
		}
	}
	return n
}

// lockedBuffer is a bytes.Buffer safe for the concurrent writes of a
// slog handler.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

// harness is an Ingest under test with its events and logs.
type harness struct {
	in     *Ingest
	events *eventLog
	logs   *lockedBuffer
}

// staticResolver resolves every camera to t.
func staticResolver(t Target) Resolver {
	return func(context.Context, string) (Target, error) { return t, nil }
}

// newHarness builds an Ingest with fast test defaults, debug logs captured
// as JSON and events recorded; edit adjusts the config.
func newHarness(tb testing.TB, resolve Resolver, edit func(*Config)) *harness {
	tb.Helper()
	h := &harness{events: &eventLog{}, logs: &lockedBuffer{}}
	cfg := Config{
		Resolve:      resolve,
		StallTimeout: 2 * time.Second,
		ReadTimeout:  2 * time.Second,
		Backoff:      Backoff{Min: 20 * time.Millisecond, Max: 100 * time.Millisecond},
		Logger:       slog.New(slog.NewJSONHandler(h.logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
		Events:       h.events.add,
	}
	if edit != nil {
		edit(&cfg)
	}
	in, err := New(cfg)
	if err != nil {
		tb.Fatal(err)
	}
	h.in = in
	return h
}

// run starts Run for camera id into sink; the test's cleanup cancels it
// and checks that it returned nil.
func (h *harness) run(tb testing.TB, id string, sink Sink) (stop func()) {
	tb.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- h.in.Run(ctx, id, sink) }()
	var once sync.Once
	stop = func() {
		once.Do(func() {
			cancel()
			select {
			case err := <-done:
				if err != nil {
					tb.Errorf("Run returned %v", err)
				}
			case <-time.After(10 * time.Second):
				tb.Errorf("Run did not return after cancel")
			}
		})
	}
	tb.Cleanup(stop)
	return stop
}

// state returns the camera's current state ("" if not running).
func (h *harness) state(id string) State {
	hl, _ := h.in.Health(id)
	return hl.State
}

// startSim starts a simulator on a free loopback port and closes it when
// the test ends.
func startSim(tb testing.TB, cfg sim.Config) *sim.Server {
	tb.Helper()
	cfg.Listen = "127.0.0.1:0"
	s, err := sim.New(cfg)
	if err != nil {
		tb.Fatal(err)
	}
	if err := s.Start(tb.Context()); err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { _ = s.Close() })
	return s
}

// nalType returns the NAL unit type of n for codec c.
func nalType(c hub.Codec, n []byte) int {
	if c == hub.CodecH265 {
		return int(n[0] >> 1 & 0x3f)
	}
	return int(n[0] & 0x1f)
}

// hasKeyNALU reports whether au holds an IDR (H.264) or IRAP (H.265) slice.
func hasKeyNALU(c hub.Codec, au [][]byte) bool {
	for _, n := range au {
		t := nalType(c, n)
		if (c == hub.CodecH264 && t == 5) || (c == hub.CodecH265 && t >= 16 && t <= 21) {
			return true
		}
	}
	return false
}

// videoUnits returns the video units of us.
func videoUnits(us []*hub.Unit) []*hub.Unit {
	var out []*hub.Unit
	for _, u := range us {
		if u.Media.Tracks[u.Track].Codec.IsVideo() {
			out = append(out, u)
		}
	}
	return out
}

// checkGoroutines fails the test unless the number of goroutines drops
// back to before within a few seconds.
func checkGoroutines(tb testing.TB, before int) {
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

// clipFrame is one access unit of a test clip with its times in 90 kHz
// ticks from the clip's first DTS.
type clipFrame struct {
	au       [][]byte
	pts, dts int64
}

// clip is a test clip from testdata (see testdata/gen.sh).
type clip struct {
	codec         hub.Codec
	frames        []clipFrame
	vps, sps, pps []byte
}

// loadClip reads testdata/name and its .pts sidecar and splits it into
// access units at the access unit delimiters.
func loadClip(tb testing.TB, name string) *clip {
	tb.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		tb.Fatal(err)
	}
	c := &clip{codec: hub.CodecH264}
	aud := 9
	if strings.HasSuffix(name, ".hevc") {
		c.codec, aud = hub.CodecH265, 35
	}
	var aus [][][]byte
	for _, n := range clips.SplitAnnexB(data) {
		if len(n) == 0 {
			continue
		}
		switch t := nalType(c.codec, n); {
		case t == aud || len(aus) == 0:
			aus = append(aus, nil)
		case c.codec == hub.CodecH264 && t == 7 || c.codec == hub.CodecH265 && t == 33:
			c.sps = n
		case c.codec == hub.CodecH264 && t == 8 || c.codec == hub.CodecH265 && t == 34:
			c.pps = n
		case c.codec == hub.CodecH265 && t == 32:
			c.vps = n
		}
		aus[len(aus)-1] = append(aus[len(aus)-1], n)
	}
	side, err := os.ReadFile(filepath.Join("testdata", strings.TrimSuffix(name, filepath.Ext(name))+".pts"))
	if err != nil {
		tb.Fatal(err)
	}
	lines := strings.Fields(string(side))
	if len(lines) != len(aus) {
		tb.Fatalf("%s: %d access units, %d timestamps", name, len(aus), len(lines))
	}
	var first int64
	for i, l := range lines {
		f := strings.Split(l, ",")
		pts, err1 := strconv.ParseInt(f[0], 10, 64)
		dts, err2 := strconv.ParseInt(f[1], 10, 64)
		if err := errors.Join(err1, err2); err != nil {
			tb.Fatalf("%s line %d: %v", name, i+1, err)
		}
		if i == 0 {
			first = dts
		}
		c.frames = append(c.frames, clipFrame{au: aus[i], pts: pts - first, dts: dts - first})
	}
	return c
}

// duration returns the clip's length in 90 kHz ticks.
func (c *clip) duration() int64 { return int64(len(c.frames)) * 3600 }

// stripParams returns the clip with the in-band parameter sets removed.
func (c *clip) stripParams() *clip {
	out := *c
	out.frames = nil
	for _, f := range c.frames {
		var au [][]byte
		for _, n := range f.au {
			if k := naluKindOf(c.codec, n); k != naluVPS && k != naluSPS && k != naluPPS {
				au = append(au, n)
			}
		}
		f.au = au
		out.frames = append(out.frames, f)
	}
	return &out
}

// camConfig configures a testCam.
type camConfig struct {
	// clips play in turn, in a loop; none for an audio-only camera.
	clips []*clip
	// noSDPParams leaves the parameter sets out of the SDP.
	noSDPParams bool
	// audio adds an audio track of that codec.
	audio hub.Codec
	// only, if set, is the camera's only format (clips and audio unused).
	only format.Format
	// user and pass, if set, are required with methods (default Digest).
	user, pass string
	methods    []auth.VerifyMethod
	// udp serves UDP as well as TCP.
	udp bool
	// fps paces the frames (default 50).
	fps int
}

// testCam is an in-process RTSP camera: a gortsplib server and a goroutine
// that writes the configured media in real time.
type testCam struct {
	cfg       camConfig
	srv       *gortsplib.Server
	stream    *gortsplib.ServerStream
	videoMed  *description.Media
	audioMed  *description.Media
	url       string
	describes atomic.Int32
	// sentAudio holds the audio frames written, in order.
	mu        sync.Mutex
	sentAudio [][]byte
}

// audioFormat returns the format of a test audio track.
func audioFormat(c hub.Codec) format.Format {
	switch c {
	case hub.CodecAAC:
		return &format.MPEG4Audio{
			PayloadTyp: 97,
			Config:     &mpeg4audio.AudioSpecificConfig{Type: mpeg4audio.ObjectTypeAACLC, SampleRate: 48000, ChannelConfig: 2},
			SizeLength: 13, IndexLength: 3, IndexDeltaLength: 3,
		}
	case hub.CodecPCMU:
		return &format.G711{PayloadTyp: 0, MULaw: true, SampleRate: 8000, ChannelCount: 1}
	case hub.CodecPCMA:
		return &format.G711{PayloadTyp: 8, SampleRate: 8000, ChannelCount: 1}
	case hub.CodecOpus:
		return &format.Opus{PayloadTyp: 111, ChannelCount: 2}
	}
	panic("no test format for " + c)
}

// audioFrameTicks is the duration of one test audio frame in clock ticks.
func audioFrameTicks(c hub.Codec) int64 {
	switch c {
	case hub.CodecAAC:
		return mpeg4audio.SamplesPerAccessUnit
	case hub.CodecOpus:
		return 960 // 20 ms at 48 kHz
	}
	return 160 // 20 ms at 8 kHz
}

// startTestCam starts a test camera; it stops when the test ends.
func startTestCam(tb testing.TB, cfg camConfig) *testCam {
	tb.Helper()
	if cfg.fps == 0 {
		cfg.fps = 50
	}
	if cfg.user != "" && cfg.methods == nil {
		cfg.methods = []auth.VerifyMethod{auth.VerifyMethodDigestMD5}
	}
	tc := &testCam{cfg: cfg}
	desc := &description.Session{}
	switch {
	case cfg.only != nil:
		desc.Medias = append(desc.Medias, &description.Media{Type: description.MediaTypeVideo, Formats: []format.Format{cfg.only}})
	case len(cfg.clips) > 0:
		c := cfg.clips[0]
		var f format.Format
		if c.codec == hub.CodecH265 {
			h := &format.H265{PayloadTyp: 96}
			if !cfg.noSDPParams {
				h.VPS, h.SPS, h.PPS = c.vps, c.sps, c.pps
			}
			f = h
		} else {
			h := &format.H264{PayloadTyp: 96, PacketizationMode: 1}
			if !cfg.noSDPParams {
				h.SPS, h.PPS = c.sps, c.pps
			}
			f = h
		}
		tc.videoMed = &description.Media{Type: description.MediaTypeVideo, Formats: []format.Format{f}}
		desc.Medias = append(desc.Medias, tc.videoMed)
	}
	if cfg.audio != "" && cfg.only == nil {
		tc.audioMed = &description.Media{Type: description.MediaTypeAudio, Formats: []format.Format{audioFormat(cfg.audio)}}
		desc.Medias = append(desc.Medias, tc.audioMed)
	}

	for try := 0; ; try++ {
		tc.srv = &gortsplib.Server{Handler: tc, RTSPAddress: "127.0.0.1:0", AuthMethods: cfg.methods}
		if cfg.udp {
			p := 20000 + 2*rand.IntN(15000)
			tc.srv.UDPRTPAddress = "127.0.0.1:" + strconv.Itoa(p)
			tc.srv.UDPRTCPAddress = "127.0.0.1:" + strconv.Itoa(p+1)
		}
		err := tc.srv.Start()
		if err == nil {
			break
		}
		if !cfg.udp || try == 20 {
			tb.Fatal(err)
		}
	}
	tc.stream = &gortsplib.ServerStream{Server: tc.srv, Desc: desc}
	if err := tc.stream.Initialize(); err != nil {
		tb.Fatal(err)
	}
	tc.url = "rtsp://" + tc.srv.NetListener().Addr().String() + "/cam"

	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		tc.write(ctx)
	}()
	tb.Cleanup(func() {
		cancel()
		<-done
		tc.stream.Close()
		tc.srv.Close()
	})
	return tc
}

// write sends the clips and audio in real time until ctx ends.
func (tc *testCam) write(ctx context.Context) {
	var venc interface {
		Encode([][]byte) ([]*rtp.Packet, error)
	}
	if tc.videoMed != nil {
		switch f := tc.videoMed.Formats[0].(type) {
		case *format.H264:
			e, _ := f.CreateEncoder()
			venc = e
		case *format.H265:
			e, _ := f.CreateEncoder()
			venc = e
		}
	}
	var aenc func(frame []byte) ([]*rtp.Packet, error)
	if tc.audioMed != nil {
		switch f := tc.audioMed.Formats[0].(type) {
		case *format.MPEG4Audio:
			e, _ := f.CreateEncoder()
			aenc = func(b []byte) ([]*rtp.Packet, error) { return e.Encode([][]byte{b}) }
		case *format.G711:
			e, _ := f.CreateEncoder()
			aenc = e.Encode
		case *format.Opus:
			e, _ := f.CreateEncoder()
			aenc = func(b []byte) ([]*rtp.Packet, error) {
				p, err := e.Encode(b)
				return []*rtp.Packet{p}, err
			}
		}
	}
	tick := time.NewTicker(time.Second / time.Duration(tc.cfg.fps))
	defer tick.Stop()
	const tsBase = 1<<32 - 90000 // the 32-bit timestamp wraps after a second
	var base, audioTicks int64
	clipIdx, frame, audioN := 0, 0, 0
	for k := int64(0); ; k++ {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		videoNow := k * 3600 // 90 kHz ticks of the frame being sent
		if venc != nil {
			c := tc.cfg.clips[clipIdx]
			f := c.frames[frame]
			pkts, err := venc.Encode(f.au)
			if err == nil {
				for _, p := range pkts {
					p.Timestamp = uint32(tsBase + base + f.pts)
					_ = tc.stream.WritePacketRTP(tc.videoMed, p)
				}
			}
			if frame++; frame == len(c.frames) {
				base += c.duration()
				frame, clipIdx = 0, (clipIdx+1)%len(tc.cfg.clips)
			}
		}
		if aenc == nil {
			continue
		}
		rate := int64(tc.audioMed.Formats[0].ClockRate())
		for audioTicks*90000/rate <= videoNow {
			payload := make([]byte, 40+audioN%7)
			for i := range payload {
				payload[i] = byte(audioN + i)
			}
			if tc.cfg.audio == hub.CodecPCMU || tc.cfg.audio == hub.CodecPCMA {
				payload = bytes.Repeat([]byte{byte(audioN)}, 160)
			}
			pkts, err := aenc(payload)
			if err == nil {
				for _, p := range pkts {
					p.Timestamp = uint32(audioTicks)
					_ = tc.stream.WritePacketRTP(tc.audioMed, p)
				}
				tc.mu.Lock()
				tc.sentAudio = append(tc.sentAudio, payload)
				tc.mu.Unlock()
			}
			audioTicks += audioFrameTicks(tc.cfg.audio)
			audioN++
		}
	}
}

// checkAuth answers 401 unless the request carries the camera's
// credentials.
func (tc *testCam) checkAuth(conn *gortsplib.ServerConn, req *base.Request) (*base.Response, error) {
	if tc.cfg.user == "" || conn.VerifyCredentials(req, tc.cfg.user, tc.cfg.pass) {
		return nil, nil
	}
	return &base.Response{StatusCode: base.StatusUnauthorized}, liberrors.ErrServerAuth{}
}

// OnDescribe implements gortsplib.ServerHandlerOnDescribe.
func (tc *testCam) OnDescribe(ctx *gortsplib.ServerHandlerOnDescribeCtx) (*base.Response, *gortsplib.ServerStream, error) {
	tc.describes.Add(1)
	if res, err := tc.checkAuth(ctx.Conn, ctx.Request); res != nil {
		return res, nil, err
	}
	return &base.Response{StatusCode: base.StatusOK}, tc.stream, nil
}

// OnSetup implements gortsplib.ServerHandlerOnSetup.
func (tc *testCam) OnSetup(ctx *gortsplib.ServerHandlerOnSetupCtx) (*base.Response, *gortsplib.ServerStream, error) {
	if res, err := tc.checkAuth(ctx.Conn, ctx.Request); res != nil {
		return res, nil, err
	}
	return &base.Response{StatusCode: base.StatusOK}, tc.stream, nil
}

// OnPlay implements gortsplib.ServerHandlerOnPlay.
func (tc *testCam) OnPlay(ctx *gortsplib.ServerHandlerOnPlayCtx) (*base.Response, error) {
	if res, err := tc.checkAuth(ctx.Conn, ctx.Request); res != nil {
		return res, err
	}
	return &base.Response{StatusCode: base.StatusOK}, nil
}

// audioSent returns the audio frames written so far.
func (tc *testCam) audioSent() [][]byte {
	tc.mu.Lock()
	defer tc.mu.Unlock()
	return append([][]byte(nil), tc.sentAudio...)
}
