// Command liveload measures live video from a running argus node: WHEP
// (WebRTC) viewers on pion and RTSP viewers on gortsplib, all watching one
// camera of the simulator, whose frames carry SEI wall-clock stamps.
//
// Modes:
//
//	latency  K WHEP viewers for a window; receive latency = time the access
//	         unit's last packet arrived − its SEI stamp (median, p90, p99, max).
//	ttff     M fresh viewers one after another; WHEP: time from the offer POST
//	         to the first complete keyframe access unit (median, p99, max);
//	         RTSP: from the client's start (connect, DESCRIBE) to the same.
//	fanout   K viewers over WHEP or RTSP for a window: frames and bytes
//	         delivered against one reference RTSP client pulling the
//	         simulator directly in the same window, the viewers that got at
//	         least 90% of their frames (full), the CPU of -pid and of this
//	         process (the viewers themselves, on the same machine).
//
// It prints one plain table row per run (with a header unless -no-header).
//
//	go run ./bench/liveload -url http://127.0.0.1:8080 -camera cam-1 -mode latency -viewers 100
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/bluenviron/gortsplib/v5"
	"github.com/bluenviron/gortsplib/v5/pkg/base"
	"github.com/bluenviron/gortsplib/v5/pkg/description"
	"github.com/bluenviron/gortsplib/v5/pkg/format"
	"github.com/bluenviron/mediacommon/v2/pkg/codecs/h264"
	"github.com/pion/ice/v4"
	"github.com/pion/interceptor"
	"github.com/pion/rtp"
	"github.com/pion/rtp/codecs"
	"github.com/pion/webrtc/v4"

	"argus/internal/seiclock"
)

// options are the command line.
type options struct {
	base, user, password, camera string
	mode, proto                  string
	viewers, n, parallel         int
	window, warmup, connect      time.Duration
	rtspURL, refURL              string
	pid, hz                      int
	fps                          float64
	header                       bool
}

func main() {
	var o options
	flag.StringVar(&o.base, "url", "http://127.0.0.1:8080", "argus base URL")
	flag.StringVar(&o.user, "user", "admin", "username")
	flag.StringVar(&o.password, "password", os.Getenv("ARGUS_ADMIN_PASSWORD"), "password")
	flag.StringVar(&o.camera, "camera", "cam-1", "camera id")
	flag.StringVar(&o.mode, "mode", "latency", "latency, ttff or fanout")
	flag.StringVar(&o.proto, "proto", "whep", "fanout protocol: whep or rtsp")
	flag.IntVar(&o.viewers, "viewers", 1, "concurrent viewers (latency, fanout)")
	flag.IntVar(&o.n, "n", 20, "fresh viewers, one after another (ttff)")
	flag.IntVar(&o.parallel, "parallel", 16, "viewers connecting at once")
	flag.DurationVar(&o.window, "window", 15*time.Second, "measurement window")
	flag.DurationVar(&o.warmup, "warmup", 3*time.Second, "wait after the last viewer connected")
	flag.DurationVar(&o.connect, "connect-timeout", 60*time.Second, "time allowed for all viewers to connect")
	flag.StringVar(&o.rtspURL, "rtsp", "", "RTSP URL of the camera (-proto rtsp), with user:password; the password TOKEN is replaced by a fresh API token")
	flag.StringVar(&o.refURL, "ref", "", "RTSP URL of the simulator's camera: the reference for expected frames and bytes (fanout)")
	flag.IntVar(&o.pid, "pid", 0, "process whose CPU is sampled over the window (fanout)")
	flag.IntVar(&o.hz, "hz", 100, "clock ticks per second (getconf CLK_TCK)")
	flag.Float64Var(&o.fps, "fps", 25, "camera frame rate")
	noHeader := flag.Bool("no-header", false, "omit the table header")
	flag.Parse()
	o.header = !*noHeader
	if strings.Contains(o.rtspURL, ":TOKEN@") {
		c, err := newClient(o)
		if err != nil {
			fmt.Fprintln(os.Stderr, "liveload:", err)
			os.Exit(1)
		}
		o.rtspURL = strings.Replace(o.rtspURL, ":TOKEN@", ":"+c.token+"@", 1)
	}
	ctx := context.Background()
	var err error
	switch o.mode {
	case "latency":
		err = runLatency(ctx, o)
	case "ttff":
		err = runTTFF(ctx, o)
	case "fanout":
		err = runFanout(ctx, o)
	default:
		err = fmt.Errorf("unknown mode %q", o.mode)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "liveload:", err)
		os.Exit(1)
	}
}

// counters are what a viewer received; updated from its reading goroutine.
type counters struct {
	frames, bytes atomic.Int64
	media         atomic.Int64 // NALU bytes except filler data (reference client only)
}

// sum totals the frames and bytes of a viewer set.
func sum(cs []*counters) (frames, bytes int64) {
	for _, c := range cs {
		frames += c.frames.Load()
		bytes += c.bytes.Load()
	}
	return frames, bytes
}

// client holds the login token and the HTTP client.
type client struct {
	o     options
	token string
	http  *http.Client
	api   *webrtc.API
}

// newClient signs in and prepares the pion API the WHEP viewers share.
func newClient(o options) (*client, error) {
	c := &client{o: o, http: &http.Client{Timeout: 30 * time.Second}}
	body, _ := json.Marshal(map[string]string{"username": o.user, "password": o.password})
	resp, err := c.http.Post(o.base+"/api/v1/login", "application/json", bytes.NewReader(body))
	if err != nil {
		return nil, fmt.Errorf("login: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(resp.Body)
		return nil, fmt.Errorf("login: %d %s", resp.StatusCode, b)
	}
	var out struct {
		Token string `json:"token"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		return nil, fmt.Errorf("login: %w", err)
	}
	c.token = out.Token

	m := &webrtc.MediaEngine{}
	fb := []webrtc.RTCPFeedback{{Type: "nack"}, {Type: "nack", Parameter: "pli"}, {Type: "ccm", Parameter: "fir"}}
	for i, f := range []string{
		"level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f",
		"level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=4d001f",
		"level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=64001f",
	} {
		if err := m.RegisterCodec(webrtc.RTPCodecParameters{
			RTPCodecCapability: webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeH264, ClockRate: 90000, SDPFmtpLine: f, RTCPFeedback: fb},
			PayloadType:        webrtc.PayloadType(102 + i),
		}, webrtc.RTPCodecTypeVideo); err != nil {
			return nil, err
		}
	}
	ir := &interceptor.Registry{}
	if err := webrtc.RegisterDefaultInterceptors(m, ir); err != nil {
		return nil, err
	}
	se := webrtc.SettingEngine{}
	se.SetIncludeLoopbackCandidate(true)
	se.SetIPFilter(func(ip net.IP) bool { return ip.IsLoopback() })
	se.SetICEMulticastDNSMode(ice.MulticastDNSModeDisabled)
	se.SetNetworkTypes([]webrtc.NetworkType{webrtc.NetworkTypeUDP4})
	c.api = webrtc.NewAPI(webrtc.WithMediaEngine(m), webrtc.WithInterceptorRegistry(ir), webrtc.WithSettingEngine(se))
	return c, nil
}

// frameEvent is one complete access unit a WHEP viewer received.
type frameEvent struct {
	at    time.Time
	key   bool
	stamp time.Time
}

// whepViewer is one WHEP session.
type whepViewer struct {
	pc       *webrtc.PeerConnection
	location string
	posted   time.Time // when the offer POST started
	cnt      counters
}

// dialWHEP opens a WHEP session. With parse, every access unit is
// depacketised and passed to onFrame; otherwise only packets, bytes and
// marker bits are counted.
func (c *client) dialWHEP(ctx context.Context, parse bool, onFrame func(frameEvent)) (*whepViewer, error) {
	pc, err := c.api.NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		return nil, err
	}
	v := &whepViewer{pc: pc}
	if _, err := pc.AddTransceiverFromKind(webrtc.RTPCodecTypeVideo, webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionRecvonly}); err != nil {
		pc.Close()
		return nil, err
	}
	pc.OnTrack(func(tr *webrtc.TrackRemote, _ *webrtc.RTPReceiver) {
		if parse {
			v.receiveParsed(tr, onFrame)
		} else {
			v.receiveCounted(tr)
		}
	})
	offer, err := pc.CreateOffer(nil)
	if err != nil {
		pc.Close()
		return nil, err
	}
	gathered := webrtc.GatheringCompletePromise(pc)
	if err := pc.SetLocalDescription(offer); err != nil {
		pc.Close()
		return nil, err
	}
	select {
	case <-gathered:
	case <-ctx.Done():
		pc.Close()
		return nil, ctx.Err()
	}
	v.posted = time.Now()
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, c.o.base+"/api/v1/cameras/"+c.o.camera+"/whep", strings.NewReader(pc.LocalDescription().SDP))
	req.Header.Set("Content-Type", "application/sdp")
	req.Header.Set("Authorization", "Bearer "+c.token)
	resp, err := c.http.Do(req)
	if err != nil {
		pc.Close()
		return nil, fmt.Errorf("whep offer: %w", err)
	}
	answer, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusCreated {
		pc.Close()
		return nil, fmt.Errorf("whep offer: %d %s", resp.StatusCode, bytes.TrimSpace(answer))
	}
	v.location = resp.Header.Get("Location")
	if err := pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeAnswer, SDP: string(answer)}); err != nil {
		pc.Close()
		return nil, fmt.Errorf("whep answer: %w", err)
	}
	return v, nil
}

// closeWHEP ends the session: DELETE, then the peer connection.
func (c *client) closeWHEP(v *whepViewer) {
	if v.location != "" {
		loc := v.location
		if strings.HasPrefix(loc, "/") {
			loc = c.o.base + loc
		}
		req, _ := http.NewRequest(http.MethodDelete, loc, nil)
		req.Header.Set("Authorization", "Bearer "+c.token)
		if resp, err := c.http.Do(req); err == nil {
			resp.Body.Close()
		}
	}
	v.pc.Close()
}

// receiveParsed assembles access units on the marker bit and reports each.
func (v *whepViewer) receiveParsed(tr *webrtc.TrackRemote, onFrame func(frameEvent)) {
	var depack codecs.H264Packet
	var au []byte
	for {
		p, _, err := tr.ReadRTP()
		if err != nil {
			return
		}
		v.cnt.bytes.Add(int64(len(p.Payload)))
		b, err := depack.Unmarshal(p.Payload)
		if err != nil {
			continue
		}
		au = append(au, b...)
		if !p.Marker {
			continue
		}
		v.cnt.frames.Add(1)
		f := frameEvent{at: time.Now()}
		var nalus h264.AnnexB
		if err := nalus.Unmarshal(au); err == nil {
			for _, n := range nalus {
				if len(n) > 0 && h264.NALUType(n[0]&0x1f) == h264.NALUTypeIDR {
					f.key = true
				}
			}
			f.stamp, _ = seiclock.ParseAccessUnit(nalus)
		}
		au = au[:0]
		onFrame(f)
	}
}

// receiveCounted counts payload bytes and frames (marker bits) only.
func (v *whepViewer) receiveCounted(tr *webrtc.TrackRemote) {
	buf := make([]byte, 1600)
	var p rtp.Packet
	for {
		n, _, err := tr.Read(buf)
		if err != nil {
			return
		}
		if p.Unmarshal(buf[:n]) != nil {
			continue
		}
		v.cnt.bytes.Add(int64(len(p.Payload)))
		if p.Marker {
			v.cnt.frames.Add(1)
		}
	}
}

// rtspViewer is one RTSP session counting payload bytes and frames.
type rtspViewer struct {
	c        *gortsplib.Client
	cnt      counters
	firstKey chan time.Time // receives the arrival of the first keyframe (media only)
}

// dialRTSP plays rawURL over TCP. With media, it also depacketises H.264
// and counts the bytes of its NAL units other than filler data.
func dialRTSP(rawURL string, media bool) (*rtspViewer, error) {
	u, err := base.ParseURL(rawURL)
	if err != nil {
		return nil, err
	}
	tcp := gortsplib.ProtocolTCP
	v := &rtspViewer{c: &gortsplib.Client{Scheme: u.Scheme, Host: u.Host, Protocol: &tcp}, firstKey: make(chan time.Time, 1)}
	if err := v.c.Start(); err != nil {
		return nil, err
	}
	desc, _, err := v.c.Describe(u)
	if err != nil {
		v.c.Close()
		return nil, err
	}
	for _, m := range desc.Medias {
		if _, err := v.c.Setup(desc.BaseURL, m, 0, 0); err != nil {
			v.c.Close()
			return nil, err
		}
		if m.Type != description.MediaTypeVideo {
			continue
		}
		var decode func(*rtp.Packet) ([][]byte, error)
		if f, ok := m.Formats[0].(*format.H264); ok && media {
			d, err := f.CreateDecoder()
			if err != nil {
				v.c.Close()
				return nil, err
			}
			decode = d.Decode
		}
		v.c.OnPacketRTP(m, m.Formats[0], func(p *rtp.Packet) {
			v.cnt.bytes.Add(int64(len(p.Payload)))
			if p.Marker {
				v.cnt.frames.Add(1)
			}
			if decode == nil {
				return
			}
			au, err := decode(p)
			if err != nil {
				return
			}
			for _, n := range au {
				if len(n) == 0 {
					continue
				}
				switch h264.NALUType(n[0] & 0x1f) {
				case h264.NALUTypeFillerData:
					continue
				case h264.NALUTypeIDR:
					select {
					case v.firstKey <- time.Now():
					default:
					}
				}
				v.cnt.media.Add(int64(len(n)))
			}
		})
	}
	if _, err := v.c.Play(nil); err != nil {
		v.c.Close()
		return nil, err
	}
	return v, nil
}

// connectAll runs dial for n viewers, parallel at a time, within timeout;
// it returns the closers and counters of those that connected and the
// first error.
func connectAll(ctx context.Context, n, parallel int, timeout time.Duration, dial func(ctx context.Context) (*counters, func(), error)) ([]*counters, []func(), int, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	var (
		mu      sync.Mutex
		cs      []*counters
		closers []func()
		failed  int
		first   error
		wg      sync.WaitGroup
	)
	sem := make(chan struct{}, parallel)
	for range n {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			c, closeFn, err := dial(ctx)
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				failed++
				if first == nil {
					first = err
				}
				return
			}
			cs = append(cs, c)
			closers = append(closers, closeFn)
		}()
	}
	wg.Wait()
	return cs, closers, failed, first
}

// closeAll runs every closer, parallel at a time.
func closeAll(closers []func(), parallel int) {
	var wg sync.WaitGroup
	sem := make(chan struct{}, parallel)
	for _, f := range closers {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			f()
		}()
	}
	wg.Wait()
}

// receiving waits until every counter has seen a frame, or timeout.
func receiving(cs []*counters, timeout time.Duration) int {
	deadline := time.Now().Add(timeout)
	for {
		n := 0
		for _, c := range cs {
			if c.frames.Load() > 0 {
				n++
			}
		}
		if n == len(cs) || time.Now().After(deadline) {
			return n
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func runLatency(ctx context.Context, o options) error {
	c, err := newClient(o)
	if err != nil {
		return err
	}
	var (
		mu        sync.Mutex
		measuring atomic.Bool
		lat       []float64
		unstamped int
	)
	onFrame := func(f frameEvent) {
		if !measuring.Load() {
			return
		}
		mu.Lock()
		defer mu.Unlock()
		if f.stamp.IsZero() {
			unstamped++
			return
		}
		lat = append(lat, float64(f.at.Sub(f.stamp))/1e6)
	}
	cs, closers, failed, ferr := connectAll(ctx, o.viewers, o.parallel, o.connect, func(ctx context.Context) (*counters, func(), error) {
		v, err := c.dialWHEP(ctx, true, onFrame)
		if err != nil {
			return nil, nil, err
		}
		return &v.cnt, func() { c.closeWHEP(v) }, nil
	})
	defer closeAll(closers, o.parallel)
	if ferr != nil {
		fmt.Fprintf(os.Stderr, "liveload: %d of %d viewers failed to connect; first: %v\n", failed, o.viewers, ferr)
	}
	live := receiving(cs, o.connect)
	time.Sleep(o.warmup)
	f0, _ := sum(cs)
	measuring.Store(true)
	start := time.Now()
	time.Sleep(o.window)
	measuring.Store(false)
	wall := time.Since(start).Seconds()
	f1, _ := sum(cs)
	mu.Lock()
	defer mu.Unlock()
	slices.Sort(lat)
	if o.header {
		fmt.Printf("%-8s %8s %8s %9s %9s %9s %9s %9s %10s %10s\n", "viewers", "live", "samples", "p50_ms", "p90_ms", "p99_ms", "max_ms", "min_ms", "frames", "expected")
	}
	fmt.Printf("%-8d %8d %8d %9.1f %9.1f %9.1f %9.1f %9.1f %10d %10.0f\n", o.viewers, live, len(lat),
		pct(lat, 50), pct(lat, 90), pct(lat, 99), pct(lat, 100), pct(lat, 0), f1-f0, float64(len(cs))*o.fps*wall)
	if unstamped > 0 {
		fmt.Fprintf(os.Stderr, "liveload: %d frames without an SEI stamp\n", unstamped)
	}
	return nil
}

// runTTFFRTSP measures new RTSP viewers: from the client's start (TCP
// connect, DESCRIBE) to the first complete keyframe access unit.
func runTTFFRTSP(o options) error {
	var ttff []float64
	for range o.n {
		start := time.Now()
		v, err := dialRTSP(o.rtspURL, true)
		if err != nil {
			return err
		}
		select {
		case at := <-v.firstKey:
			ttff = append(ttff, float64(at.Sub(start))/1e6)
		case <-time.After(10 * time.Second):
			v.c.Close()
			return errors.New("ttff: no keyframe within 10 s")
		}
		v.c.Close()
	}
	slices.Sort(ttff)
	if o.header {
		fmt.Printf("%-5s %8s %12s %12s %12s %12s\n", "proto", "viewers", "key_p50_ms", "key_p99_ms", "key_max_ms", "key_min_ms")
	}
	fmt.Printf("%-5s %8d %12.1f %12.1f %12.1f %12.1f\n", "rtsp", len(ttff), pct(ttff, 50), pct(ttff, 99), pct(ttff, 100), pct(ttff, 0))
	return nil
}

func runTTFF(ctx context.Context, o options) error {
	if o.proto == "rtsp" {
		return runTTFFRTSP(o)
	}
	c, err := newClient(o)
	if err != nil {
		return err
	}
	var ttff, first []float64
	notKey := 0
	for range o.n {
		got := make(chan frameEvent, 1)
		v, err := c.dialWHEP(ctx, true, func(f frameEvent) {
			select {
			case got <- f:
			default:
			}
		})
		if err != nil {
			return err
		}
		// The first frame; if it is not a keyframe (it should be: the hub
		// starts a viewer on its cached GOP), wait on for one.
		deadline := time.After(10 * time.Second)
		var firstAt time.Time
	wait:
		for {
			select {
			case f := <-got:
				if firstAt.IsZero() {
					firstAt = f.at
					first = append(first, float64(f.at.Sub(v.posted))/1e6)
				}
				if f.key {
					ttff = append(ttff, float64(f.at.Sub(v.posted))/1e6)
					break wait
				}
				notKey++
			case <-deadline:
				c.closeWHEP(v)
				return errors.New("ttff: no keyframe within 10 s")
			}
		}
		c.closeWHEP(v)
	}
	slices.Sort(ttff)
	slices.Sort(first)
	if o.header {
		fmt.Printf("%-5s %8s %12s %12s %12s %12s %14s %10s\n", "proto", "viewers", "key_p50_ms", "key_p99_ms", "key_max_ms", "key_min_ms", "first_p50_ms", "not_key")
	}
	fmt.Printf("%-5s %8d %12.1f %12.1f %12.1f %12.1f %14.1f %10d\n", "whep", len(ttff), pct(ttff, 50), pct(ttff, 99), pct(ttff, 100), pct(ttff, 0), pct(first, 50), notKey)
	return nil
}

func runFanout(ctx context.Context, o options) error {
	var (
		dial func(ctx context.Context) (*counters, func(), error)
		wc   *client
	)
	switch o.proto {
	case "whep":
		var err error
		if wc, err = newClient(o); err != nil {
			return err
		}
		dial = func(ctx context.Context) (*counters, func(), error) {
			v, err := wc.dialWHEP(ctx, false, nil)
			if err != nil {
				return nil, nil, err
			}
			return &v.cnt, func() { wc.closeWHEP(v) }, nil
		}
	case "rtsp":
		dial = func(context.Context) (*counters, func(), error) {
			v, err := dialRTSP(o.rtspURL, false)
			if err != nil {
				return nil, nil, err
			}
			return &v.cnt, v.c.Close, nil
		}
	default:
		return fmt.Errorf("unknown protocol %q", o.proto)
	}
	var ref *rtspViewer
	if o.refURL != "" {
		var err error
		if ref, err = dialRTSP(o.refURL, true); err != nil {
			return fmt.Errorf("reference: %w", err)
		}
		defer ref.c.Close()
	}
	t0 := time.Now()
	cs, closers, failed, ferr := connectAll(ctx, o.viewers, o.parallel, o.connect, dial)
	connectS := time.Since(t0).Seconds()
	defer closeAll(closers, o.parallel)
	if ferr != nil {
		fmt.Fprintf(os.Stderr, "liveload: %d of %d viewers failed to connect; first: %v\n", failed, o.viewers, ferr)
	}
	live := receiving(cs, o.connect)
	time.Sleep(o.warmup)

	f0, b0 := sum(cs)
	per0 := make([]int64, len(cs))
	for i, c := range cs {
		per0[i] = c.frames.Load()
	}
	var rf0, rb0, rm0 int64
	if ref != nil {
		rf0, rb0, rm0 = ref.cnt.frames.Load(), ref.cnt.bytes.Load(), ref.cnt.media.Load()
	}
	c0, s0 := ticks(o.pid), ticks(os.Getpid())
	start := time.Now()
	time.Sleep(o.window)
	c1, s1 := ticks(o.pid), ticks(os.Getpid())
	wall := time.Since(start).Seconds()
	f1, b1 := sum(cs)
	perExp := o.fps * wall
	if ref != nil {
		perExp = float64(ref.cnt.frames.Load() - rf0)
	}
	full := 0 // viewers that got at least 90% of their frames
	for i, c := range cs {
		if float64(c.frames.Load()-per0[i]) >= 0.9*perExp {
			full++
		}
	}
	self := float64(s1-s0) / float64(o.hz) / wall * 100
	expFrames := float64(len(cs)) * o.fps * wall
	expBytes, expMedia := math.NaN(), math.NaN()
	if ref != nil {
		rf, rb, rm := ref.cnt.frames.Load()-rf0, ref.cnt.bytes.Load()-rb0, ref.cnt.media.Load()-rm0
		expFrames = float64(len(cs)) * float64(rf)
		expBytes = float64(len(cs)) * float64(rb)
		expMedia = float64(len(cs)) * float64(rm)
	}
	cpu := math.NaN()
	if o.pid > 0 {
		cpu = float64(c1-c0) / float64(o.hz) / wall * 100
	}
	perViewer := math.NaN()
	if len(cs) > 0 {
		perViewer = cpu / float64(len(cs))
	}
	if o.header {
		fmt.Printf("%-5s %8s %6s %6s %9s %11s %11s %7s %13s %13s %7s %13s %7s %8s %10s %5s %12s\n", "proto", "viewers", "conn", "live", "connect_s",
			"frames", "exp_frames", "frm_%", "bytes", "exp_bytes", "byte_%", "exp_media", "med_%", "cpu_%", "cpu_%/view", "full", "client_cpu_%")
	}
	fmt.Printf("%-5s %8d %6d %6d %9.1f %11d %11.0f %7.1f %13d %13.0f %7.1f %13.0f %7.1f %8.1f %10.3f %5d %12.1f\n", o.proto, o.viewers, len(cs), live, connectS,
		f1-f0, expFrames, 100*float64(f1-f0)/expFrames, b1-b0, expBytes, 100*float64(b1-b0)/expBytes,
		expMedia, 100*float64(b1-b0)/expMedia, cpu, perViewer, full, self)
	return nil
}

// ticks returns utime+stime of pid in clock ticks (0 without a pid).
func ticks(pid int) int64 {
	if pid <= 0 {
		return 0
	}
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	// The command name (field 2) may hold spaces: fields count from after ')'.
	s := string(b)
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
	if len(f) < 13 {
		return 0
	}
	u, _ := strconv.ParseInt(f[11], 10, 64)
	k, _ := strconv.ParseInt(f[12], 10, 64)
	return u + k
}

// pct returns the p-th percentile (nearest rank) of sorted xs; NaN if empty.
func pct(xs []float64, p float64) float64 {
	if len(xs) == 0 {
		return math.NaN()
	}
	i := int(math.Ceil(p/100*float64(len(xs)))) - 1
	return xs[min(max(i, 0), len(xs)-1)]
}
