package whep_test

import (
	"context"
	"errors"
	"net"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bluenviron/mediacommon/v2/pkg/codecs/h264"
	"github.com/pion/ice/v4"
	"github.com/pion/interceptor"
	"github.com/pion/rtcp"
	"github.com/pion/rtp"
	"github.com/pion/rtp/codecs"
	"github.com/pion/webrtc/v4"

	"argus"
	"argus/internal/hub"
	"argus/internal/ingest"
	"argus/internal/live"
	"argus/internal/live/whep"
	"argus/internal/seiclock"
	"argus/internal/sim"
)

// camera is the id of the one simulated camera.
const camera = "cam-1"

// alice and bob are viewers of two users.
var (
	alice = argus.Principal{UserID: "alice", Username: "alice", OrgID: "police", Role: argus.RoleViewer}
	bob   = argus.Principal{UserID: "bob", Username: "bob", OrgID: "police", Role: argus.RoleViewer}
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

// sessionLog records the registry's session starts and ends.
type sessionLog struct {
	mu             sync.Mutex
	started, ended []live.Session
}

func (l *sessionLog) SessionStarted(s live.Session) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.started = append(l.started, s)
}

func (l *sessionLog) SessionEnded(s live.Session) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.ended = append(l.ended, s)
}

// find returns the started and the ended record of session id.
func (l *sessionLog) find(id string) (started, ended *live.Session) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for i := range l.started {
		if l.started[i].ID == id {
			started = &l.started[i]
		}
	}
	for i := range l.ended {
		if l.ended[i].ID == id {
			ended = &l.ended[i]
		}
	}
	return started, ended
}

// chain is the real media path: a simulated camera, ingest, the hub, the
// session registry and the WHEP service on loopback.
type chain struct {
	sim  *sim.Server // nil for a synthetic source
	hub  *hub.Hub
	reg  *live.Sessions
	log  *sessionLog
	whep *whep.Service
	cam  *argus.Camera
}

// newChain starts the chain with the given clip; edit adjusts the WHEP
// config.
func newChain(t *testing.T, clip string, edit func(*whep.Config)) *chain {
	t.Helper()
	s, err := sim.New(sim.Config{Cameras: 1, Listen: "127.0.0.1:0", Clip: clip})
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
	c := newChainFrom(t, func(ctx context.Context, id string, sink hub.Sink) error { return in.Run(ctx, id, sink) }, edit)
	c.sim = s
	return c
}

// close closes the chain from the WHEP service down to the camera (the
// test's cleanups close it again, harmlessly).
func (c *chain) close() {
	c.whep.Close()
	c.hub.Close()
	if c.sim != nil {
		c.sim.Close()
	}
}

// newChainFrom starts the chain on a hub fed by src.
func newChainFrom(t *testing.T, src hub.SourceFunc, edit func(*whep.Config)) *chain {
	t.Helper()
	h, err := hub.New(hub.Config{Source: src})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { h.Close() })
	c := &chain{hub: h, log: &sessionLog{}, cam: &argus.Camera{ID: camera, OrgID: "police"}}
	c.reg = live.NewSessions(c.log, nil)
	cfg := whep.Config{Hub: h, Sessions: c.reg, ListenIP: "127.0.0.1"}
	if edit != nil {
		edit(&cfg)
	}
	var err2 error
	if c.whep, err2 = whep.New(cfg); err2 != nil {
		t.Fatal(err2)
	}
	t.Cleanup(func() { c.whep.Close() })
	return c
}

// warmUp attaches a reader, as a recorder would, and waits until the hub
// holds a GOP whose keyframe is at least age old. The reader stays until
// the test ends.
func (c *chain) warmUp(t *testing.T, age time.Duration) {
	t.Helper()
	r, err := c.hub.Attach(t.Context(), camera, hub.ReaderOptions{Name: "warm-up"})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	defer cancel()
	var key time.Time
	for {
		u, err := r.Read(ctx)
		if err != nil {
			t.Fatalf("warm-up read: %v", err)
		}
		if u.Key {
			key = u.Wall
		}
		if !key.IsZero() && u.Wall.Sub(key) >= age {
			break
		}
	}
	// Keep the warm-up reader drained so that it is never dropped.
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			if _, err := r.Read(t.Context()); err != nil {
				return
			}
		}
	}()
	t.Cleanup(func() { r.Close(); <-done })
}

// frame is one access unit the viewer received.
type frame struct {
	at    time.Time // when its last packet arrived
	ts    uint32    // RTP timestamp
	key   bool      // it holds an IDR slice
	sps   bool      // it holds an SPS
	stamp time.Time // its SEI wall-clock stamp (zero if none)
}

// viewerOptions shape a test viewer.
type viewerOptions struct {
	// formats are the H.264 fmtp lines offered, one payload type each
	// from 102 on; nil offers what Chrome offers.
	formats []string
	// vp8Only offers VP8 and no H.264.
	vp8Only bool
	// tcp restricts the viewer's ICE to TCP.
	tcp bool
	// audio adds a recvonly audio transceiver (Opus, PCMU).
	audio bool
}

// chromeFormats is the H.264 part of a Chrome offer.
var chromeFormats = []string{
	"level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42001f",
	"level-asymmetry-allowed=1;packetization-mode=0;profile-level-id=42001f",
	"level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f",
	"level-asymmetry-allowed=1;packetization-mode=0;profile-level-id=42e01f",
	"level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=4d001f",
	"level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=f4001f",
	"level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=64001f",
}

// viewer is a WHEP client on pion that depacketises the H.264 it receives
// into access units.
type viewer struct {
	t  *testing.T
	pc *webrtc.PeerConnection

	mu     sync.Mutex
	frames []frame
	state  webrtc.PeerConnectionState
	audio  []audioPacket
	ssrc   uint32
	cands  []string // candidates gathered, for trickling
}

// audioPacket is one audio RTP packet the viewer received.
type audioPacket struct {
	pt      uint8
	ts      uint32
	payload []byte
}

// newViewer returns a viewer whose ICE runs on loopback only.
func newViewer(t *testing.T, o viewerOptions) *viewer {
	t.Helper()
	m := &webrtc.MediaEngine{}
	fb := []webrtc.RTCPFeedback{{Type: "nack"}, {Type: "nack", Parameter: "pli"}, {Type: "ccm", Parameter: "fir"}}
	if o.vp8Only {
		must(t, m.RegisterCodec(webrtc.RTPCodecParameters{
			RTPCodecCapability: webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeVP8, ClockRate: 90000, RTCPFeedback: fb},
			PayloadType:        96,
		}, webrtc.RTPCodecTypeVideo))
	} else {
		formats := o.formats
		if formats == nil {
			formats = chromeFormats
		}
		for i, f := range formats {
			must(t, m.RegisterCodec(webrtc.RTPCodecParameters{
				RTPCodecCapability: webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeH264, ClockRate: 90000, SDPFmtpLine: f, RTCPFeedback: fb},
				PayloadType:        webrtc.PayloadType(102 + i),
			}, webrtc.RTPCodecTypeVideo))
		}
	}
	if o.audio {
		must(t, m.RegisterCodec(webrtc.RTPCodecParameters{
			RTPCodecCapability: webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeOpus, ClockRate: 48000, Channels: 2, SDPFmtpLine: "minptime=10;useinbandfec=1"},
			PayloadType:        111,
		}, webrtc.RTPCodecTypeAudio))
		must(t, m.RegisterCodec(webrtc.RTPCodecParameters{
			RTPCodecCapability: webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypePCMU, ClockRate: 8000},
			PayloadType:        0,
		}, webrtc.RTPCodecTypeAudio))
	}
	ir := &interceptor.Registry{}
	must(t, webrtc.RegisterDefaultInterceptors(m, ir))
	se := webrtc.SettingEngine{}
	se.SetIncludeLoopbackCandidate(true)
	se.SetIPFilter(func(ip net.IP) bool { return ip.IsLoopback() })
	se.SetICEMulticastDNSMode(ice.MulticastDNSModeDisabled)
	if o.tcp {
		se.SetNetworkTypes([]webrtc.NetworkType{webrtc.NetworkTypeTCP4})
	} else {
		se.SetNetworkTypes([]webrtc.NetworkType{webrtc.NetworkTypeUDP4})
	}
	pc, err := webrtc.NewAPI(webrtc.WithMediaEngine(m), webrtc.WithInterceptorRegistry(ir), webrtc.WithSettingEngine(se)).
		NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		t.Fatal(err)
	}
	v := &viewer{t: t, pc: pc}
	t.Cleanup(func() { pc.Close() })
	recv := webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionRecvonly}
	if _, err := pc.AddTransceiverFromKind(webrtc.RTPCodecTypeVideo, recv); err != nil {
		t.Fatal(err)
	}
	if o.audio {
		if _, err := pc.AddTransceiverFromKind(webrtc.RTPCodecTypeAudio, recv); err != nil {
			t.Fatal(err)
		}
	}
	pc.OnConnectionStateChange(func(s webrtc.PeerConnectionState) {
		v.mu.Lock()
		v.state = s
		v.mu.Unlock()
	})
	pc.OnICECandidate(func(c *webrtc.ICECandidate) {
		if c != nil {
			v.mu.Lock()
			v.cands = append(v.cands, c.ToJSON().Candidate)
			v.mu.Unlock()
		}
	})
	pc.OnTrack(func(tr *webrtc.TrackRemote, _ *webrtc.RTPReceiver) {
		if tr.Kind() == webrtc.RTPCodecTypeVideo {
			v.receiveVideo(tr)
			return
		}
		for {
			p, _, err := tr.ReadRTP()
			if err != nil {
				return
			}
			v.mu.Lock()
			v.audio = append(v.audio, audioPacket{pt: p.PayloadType, ts: p.Timestamp, payload: slices.Clone(p.Payload)})
			v.mu.Unlock()
		}
	})
	return v
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// offer creates the viewer's offer; with gather it waits for every
// candidate to be in it (non-trickle WHEP).
func (v *viewer) offer(gather bool) string {
	v.t.Helper()
	o, err := v.pc.CreateOffer(nil)
	if err != nil {
		v.t.Fatal(err)
	}
	done := webrtc.GatheringCompletePromise(v.pc)
	if err := v.pc.SetLocalDescription(o); err != nil {
		v.t.Fatal(err)
	}
	if !gather {
		return o.SDP
	}
	<-done
	return v.pc.LocalDescription().SDP
}

// answer applies the service's answer.
func (v *viewer) answer(sdp string) {
	v.t.Helper()
	if err := v.pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeAnswer, SDP: sdp}); err != nil {
		v.t.Fatal(err)
	}
}

// receiveVideo reads the video track until it ends, assembling access
// units on the marker bit in sequence-number order, as a browser's jitter
// buffer does: a packet lost in a burst comes back late through NACK, and
// a duplicate or a late packet must not make a frame of its own.
func (v *viewer) receiveVideo(tr *webrtc.TrackRemote) {
	v.mu.Lock()
	v.ssrc = uint32(tr.SSRC())
	v.mu.Unlock()
	var (
		jb      = make(map[uint16]*rtp.Packet)
		next    uint16
		started bool
		waiting time.Time // since when next has been missing
		depack  codecs.H264Packet
		au      []byte
		broken  bool // the frame in progress lost a packet: drop it
	)
	emit := func(p *rtp.Packet) {
		if broken {
			if p.Marker {
				broken, au = false, au[:0]
			}
			return
		}
		b, err := depack.Unmarshal(p.Payload)
		if err == nil {
			au = append(au, b...)
		}
		if !p.Marker {
			return
		}
		f := frame{at: time.Now(), ts: p.Timestamp}
		var nalus h264.AnnexB
		if err := nalus.Unmarshal(au); err == nil {
			for _, n := range nalus {
				switch h264.NALUType(n[0] & 0x1f) {
				case h264.NALUTypeIDR:
					f.key = true
				case h264.NALUTypeSPS:
					f.sps = true
				}
			}
			f.stamp, _ = seiclock.ParseAccessUnit(nalus)
		}
		au = au[:0]
		v.mu.Lock()
		v.frames = append(v.frames, f)
		v.mu.Unlock()
	}
	for {
		p, _, err := tr.ReadRTP()
		if err != nil {
			return
		}
		if !started {
			next, started = p.SequenceNumber, true
		}
		if int16(p.SequenceNumber-next) < 0 {
			continue // a duplicate, or a retransmission after giving up
		}
		jb[p.SequenceNumber] = p
		for {
			q := jb[next]
			if q == nil {
				break
			}
			delete(jb, next)
			next++
			waiting = time.Time{}
			emit(q)
		}
		if len(jb) == 0 {
			continue
		}
		// A hole: wait up to 500 ms for its retransmission, then drop the
		// frame it was in and go on from the next packet held.
		if waiting.IsZero() {
			waiting = time.Now()
		} else if time.Since(waiting) > 500*time.Millisecond {
			lowest := next
			for sq := range jb {
				if lowest == next || int16(sq-lowest) < 0 {
					lowest = sq
				}
			}
			next, au, waiting, broken = lowest, au[:0], time.Time{}, true
		}
	}
}

// audioReceived returns a copy of the audio packets so far.
func (v *viewer) audioReceived() []audioPacket {
	v.mu.Lock()
	defer v.mu.Unlock()
	return slices.Clone(v.audio)
}

// received returns a copy of the frames so far.
func (v *viewer) received() []frame {
	v.mu.Lock()
	defer v.mu.Unlock()
	return slices.Clone(v.frames)
}

// connState returns the peer connection's state.
func (v *viewer) connState() webrtc.PeerConnectionState {
	v.mu.Lock()
	defer v.mu.Unlock()
	return v.state
}

// waitFrame waits for a frame after the first n that satisfies cond and
// returns its index.
func (v *viewer) waitFrame(timeout time.Duration, what string, n int, cond func(frame) bool) int {
	v.t.Helper()
	found := -1
	waitFor(v.t, timeout, what, func() bool {
		fs := v.received()
		for i := n; i < len(fs); i++ {
			if cond(fs[i]) {
				found = i
				return true
			}
		}
		return false
	})
	return found
}

// pli sends a keyframe request.
func (v *viewer) pli() {
	v.t.Helper()
	v.mu.Lock()
	ssrc := v.ssrc
	v.mu.Unlock()
	if err := v.pc.WriteRTCP([]rtcp.Packet{&rtcp.PictureLossIndication{MediaSSRC: ssrc}}); err != nil {
		v.t.Fatal(err)
	}
}

// closed reports whether the viewer's connection has ended.
func (v *viewer) closed() bool {
	s := v.connState()
	return s == webrtc.PeerConnectionStateClosed || s == webrtc.PeerConnectionStateFailed ||
		s == webrtc.PeerConnectionStateDisconnected
}

// videoFormats returns the payload types of the answer's video section.
func videoFormats(answer string) []string {
	for line := range strings.SplitSeq(answer, "\n") {
		if rest, ok := strings.CutPrefix(strings.TrimSpace(line), "m=video "); ok {
			f := strings.Fields(rest)
			if len(f) > 2 {
				return f[2:]
			}
		}
	}
	return nil
}

// errCode returns the argus code of err ("" for nil).
func errCode(err error) string {
	var e *argus.Error
	if errors.As(err, &e) {
		return e.Code
	}
	return argus.ErrorCode(err)
}

// synthSPS and synthPPS are the parameter sets of a 640x360 Constrained
// Baseline stream.
var (
	synthSPS = []byte{0x67, 0x42, 0xc0, 0x1e, 0xda, 0x02, 0x80, 0xbf, 0xe5, 0x84, 0x00, 0x00, 0x03, 0x00, 0x04, 0x00, 0x00, 0x03, 0x00, 0xca, 0x3c, 0x58, 0xba, 0x80}
	synthPPS = []byte{0x68, 0xce, 0x0f, 0xc8}
)

// synthSource is a camera with audio, written straight into the hub in
// real time: 25 fps H.264 (a keyframe a second, placeholder slices with
// SEI stamps) and an audio frame of codec every 20 ms.
func synthSource(codec hub.Codec) hub.SourceFunc {
	rate := 8000
	if codec == hub.CodecOpus || codec == hub.CodecAAC {
		rate = 48000
	}
	return func(ctx context.Context, _ string, sink hub.Sink) error {
		m := &hub.Media{Tracks: []*hub.Track{
			{ID: 0, Codec: hub.CodecH264, ClockRate: 90000, SPS: synthSPS, PPS: synthPPS, Width: 640, Height: 360},
			{ID: 1, Codec: codec, ClockRate: rate, SampleRate: rate, Channels: 1},
		}}
		sink.SetMedia(m)
		tick := time.NewTicker(20 * time.Millisecond)
		defer tick.Stop()
		for n := int64(0); ; n++ {
			var now time.Time
			select {
			case <-ctx.Done():
				return nil
			case now = <-tick.C:
			}
			if n%2 == 0 {
				u := &hub.Unit{Media: m, Track: 0, PTS: n / 2 * 3600, DTS: n / 2 * 3600, Wall: now, Key: n%50 == 0}
				if u.Key {
					u.NALUs = [][]byte{synthSPS, synthPPS, seiclock.Marshal(now), {0x65, 0x88, 0x84, 0x21, 0xa0}}
				} else {
					u.NALUs = [][]byte{seiclock.Marshal(now), {0x41, 0x9a, 0x02, 0x04}}
				}
				u.Size = 64
				sink.WriteUnit(u)
			}
			payload := []byte{0xfc, byte(n), byte(n >> 8), 0x55} // an Opus TOC byte (CELT FB 20 ms), then data
			sink.WriteUnit(&hub.Unit{Media: m, Track: 1, PTS: n * int64(rate) / 50, DTS: n * int64(rate) / 50, Wall: now, Payload: payload, Size: len(payload)})
		}
	}
}
