package ingest

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/bluenviron/gortsplib/v5"
	"github.com/bluenviron/gortsplib/v5/pkg/base"
	"github.com/bluenviron/gortsplib/v5/pkg/description"
	"github.com/bluenviron/gortsplib/v5/pkg/format/rtph264"
	"github.com/bluenviron/gortsplib/v5/pkg/format/rtph265"
	"github.com/bluenviron/gortsplib/v5/pkg/format/rtpmpeg4audio"
	"github.com/bluenviron/gortsplib/v5/pkg/liberrors"
	"github.com/bluenviron/mediacommon/v2/pkg/codecs/mpeg4audio"
	"github.com/pion/rtp"

	"argus/internal/hub"
)

const (
	// rateWindow is the span over which FPS and bitrate are measured and
	// the metrics are updated.
	rateWindow = time.Second
	// errLogEvery spaces the warnings about decode errors.
	errLogEvery = 10 * time.Second
	// keyframeWaits is how many StallTimeouts a session may receive
	// frames without writing any (no keyframe yet, or none since a decode
	// error) before it is dropped as stalled: a new session makes most
	// cameras send a keyframe at once.
	keyframeWaits = 3
)

// errStalled marks a session dropped for delivering nothing.
var errStalled = errors.New("stalled")

// stateOf classifies the failure that ended a connection attempt or session.
func stateOf(err error) State {
	switch {
	case errors.Is(err, errStalled):
		return StateStalled
	case errors.Is(err, errUnsupportedCodec):
		return StateUnsupportedCodec
	}
	if e, ok := errors.AsType[liberrors.ErrClientBadStatusCode](err); ok &&
		(e.Code == base.StatusUnauthorized || e.Code == base.StatusForbidden) {
		return StateUnauthorised
	}
	if _, ok := errors.AsType[liberrors.ErrClientAuthSetup](err); ok {
		return StateUnauthorised
	}
	return StateOffline
}

// protocolOf maps Target.Transport to gortsplib's protocol (nil: UDP, then
// TCP).
func protocolOf(transport string) (*gortsplib.Protocol, error) {
	var p gortsplib.Protocol
	switch transport {
	case "", TransportTCP:
		p = gortsplib.ProtocolTCP
	case TransportUDP:
		p = gortsplib.ProtocolUDP
	case TransportAuto:
		return nil, nil
	default:
		return nil, fmt.Errorf("unknown transport %q (want tcp, udp or auto)", transport)
	}
	return &p, nil
}

// redactURL returns s fit for a log: without user information, and with
// the values of query parameters that look like credentials masked.
func redactURL(s string) string {
	u, err := url.Parse(s)
	if err != nil {
		return "(invalid URL)"
	}
	u.User = nil
	if u.RawQuery != "" {
		q := u.Query()
		for k := range q {
			lk := strings.ToLower(k)
			for _, w := range []string{"user", "pass", "pwd", "token", "auth", "key", "secret"} {
				if strings.Contains(lk, w) {
					q[k] = []string{"***"}
					break
				}
			}
		}
		u.RawQuery = q.Encode()
	}
	return u.String()
}

// runSession makes one connection attempt and, if it starts playing, runs
// the session until it fails or ctx ends.
func (in *Ingest) runSession(ctx context.Context, c *camera, sink Sink) error {
	t, err := in.cfg.Resolve(ctx, c.id)
	if err != nil {
		return fmt.Errorf("resolve: %w", err)
	}
	logURL := redactURL(t.URL)
	u, err := base.ParseURL(t.URL)
	if err != nil {
		// The parser's error quotes the URL, credentials and all.
		return fmt.Errorf("invalid stream URL %s", logURL)
	}
	user, pass := t.Username, t.Password
	if u.User != nil && user == "" {
		user = u.User.Username()
		pass, _ = u.User.Password()
	}
	u.User = nil
	if user != "" {
		u.User = url.UserPassword(user, pass)
	}
	c.secret = pass
	proto, err := protocolOf(t.Transport)
	if err != nil {
		return err
	}
	if proto != nil && *proto == gortsplib.ProtocolTCP && u.Scheme == "rtsp" {
		return in.runSessionTCP(ctx, c, sink, u, user, pass, logURL)
	}

	s := &session{in: in, c: c, sink: sink}
	client := &gortsplib.Client{
		Scheme:        u.Scheme,
		Host:          u.Host,
		ReadTimeout:   in.cfg.ReadTimeout,
		WriteTimeout:  in.cfg.ReadTimeout,
		Protocol:      proto,
		DialContext:   dialBuffered,
		OnDecodeError: s.onDecodeError,
		OnPacketsLost: s.onPacketsLost,
		OnTransportSwitch: func(err error) {
			c.log.Info("switching transport", "reason", err.Error())
		},
	}
	c.log.Debug("connecting", "url", logURL, "transport", t.Transport)
	if err := client.Start(); err != nil {
		return fmt.Errorf("start client: %w", err)
	}
	s.close = client.Close
	stop := context.AfterFunc(ctx, client.Close)
	defer func() {
		stop()
		client.Close()
	}()

	desc, _, err := client.Describe(u)
	if err != nil {
		return fmt.Errorf("describe: %w", err)
	}
	plans, err := planTracks(desc)
	if err != nil {
		return err
	}
	for _, p := range plans {
		if _, err := client.Setup(desc.BaseURL, p.media, 0, 0); err != nil {
			return fmt.Errorf("setup %s: %w", p.track.Codec, err)
		}
	}
	s.plan(plans)
	for _, p := range plans {
		if p.track.Codec.IsVideo() {
			client.OnPacketRTP(p.media, p.format, s.onVideo)
		} else {
			client.OnPacketRTP(p.media, p.format, s.onAudio)
		}
	}
	if _, err := client.Play(nil); err != nil {
		return fmt.Errorf("play: %w", err)
	}
	transport := "?"
	if st := client.Transport().Session; st != nil {
		transport = st.Protocol.String()
	}
	s.online(logURL, transport)
	return s.wait(client.Wait)
}

// runSessionTCP is runSession over TCP on argus's own client (rtspconn.go).
func (in *Ingest) runSessionTCP(ctx context.Context, c *camera, sink Sink, u *base.URL, user, pass, logURL string) error {
	c.log.Debug("connecting", "url", logURL, "transport", TransportTCP)
	var (
		rc   *rtspConn
		desc *description.Session
	)
	for redirects := 0; ; redirects++ {
		plain := u.CloneWithoutCredentials()
		var err error
		if rc, err = dialRTSP(ctx, plain, user, pass, in.cfg.ReadTimeout); err != nil {
			return fmt.Errorf("start client: %w", err)
		}
		stop := context.AfterFunc(ctx, rc.close)
		desc, err = rc.describe(plain)
		stop()
		if rd, ok := errors.AsType[*redirectError](err); ok && redirects < maxRedirects {
			rc.close()
			c.log.Debug("redirected", "to", redactURL(rd.url.String()))
			u = rd.url
			continue
		}
		if err != nil {
			rc.close()
			if ctx.Err() != nil {
				return ctx.Err()
			}
			return fmt.Errorf("describe: %w", err)
		}
		break
	}
	stop := context.AfterFunc(ctx, rc.close)
	defer func() {
		stop()
		rc.close()
	}()
	plans, err := planTracks(desc)
	if err != nil {
		return err
	}
	byChannel, err := rc.setup(desc, plans)
	if err != nil {
		return err
	}
	s := &session{in: in, c: c, sink: sink, close: rc.close}
	s.plan(plans)
	if s.video != nil {
		s.depack.h265 = s.video.plan.track.Codec == hub.CodecH265
	}
	if err := rc.play(desc.BaseURL); err != nil {
		return err
	}
	s.online(logURL, "TCP")
	var idle func() bool
	if w, ok := sink.(interface{ Watched() bool }); ok {
		// The hub's stream: batch the reads while nobody watches.
		rc.pool = in.buffers
		s.depack.pool = &in.frames
		s.depack.frames = &in.units
		idle = func() bool {
			if w.Watched() {
				return false
			}
			// Called between reads: the last batch is parsed.
			s.depack.release()
			return true
		}
	}
	return s.wait(func() error {
		return rc.read(func(ch byte, pkt []byte) {
			if p := byChannel[ch]; p != nil {
				s.onPacket(p, pkt)
			}
		}, idle)
	})
}

// online marks the session playing.
func (s *session) online(logURL, transport string) {
	c := s.c
	c.onlineAt = s.in.now()
	s.lastFrame.Store(c.onlineAt.UnixNano())
	s.lastUnit.Store(c.onlineAt.UnixNano())
	c.setState(StateOnline, nil)
	c.log.Info("camera online", "url", logURL, "transport", transport, "tracks", s.tracksText())
}

// wait runs the play loop under the stall check and returns why it ended.
func (s *session) wait(loop func() error) error {
	s.startStallCheck()
	err := loop()
	s.stopStallCheck()
	s.finish()
	if why := s.stalled.Load(); why != nil {
		return fmt.Errorf("%w: %s", errStalled, *why)
	}
	return err
}

// onPacket handles one RTP packet of track p on the TCP path, in place:
// pkt is valid only during the call.
func (s *session) onPacket(p *trackPlan, pkt []byte) {
	h, payload, err := parseRTP(pkt)
	if err != nil {
		s.mu.Lock()
		s.noteErr(s.in.now(), err)
		s.mu.Unlock()
		return
	}
	if h.pt != p.format.PayloadType() {
		return // a format the session did not plan on
	}
	if s.video != nil && p == s.video.plan {
		vi := s.video
		if vi.haveSeq && h.seq != vi.nextSeq {
			if gap := h.seq - vi.nextSeq; gap < 0x8000 {
				s.mu.Lock()
				s.lost += int64(gap)
				s.mu.Unlock()
			}
		}
		vi.nextSeq, vi.haveSeq = h.seq+1, true
		if err := s.depack.push(h, payload, s.onVideoFrame); err != nil {
			s.mu.Lock()
			s.noteErr(s.in.now(), err)
			s.mu.Unlock()
		}
		return
	}
	// Audio is a few packets a second: gortsplib's decoders take a copy.
	var rp rtp.Packet
	if err := rp.Unmarshal(bytes.Clone(pkt)); err != nil {
		s.mu.Lock()
		s.noteErr(s.in.now(), err)
		s.mu.Unlock()
		return
	}
	s.onAudio(&rp)
}

// onVideoFrame handles an access unit of the TCP path's depacketiser.
func (s *session) onVideoFrame(ts uint32, au [][]byte) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.videoUnit(ts, au, s.depack.lent)
}

// readBufferSize is the read buffer of an RTSP connection: large enough
// to take a frame's burst of interleaved packets in one read. gortsplib's
// own reader buffers only 4 KiB, a syscall per two or three packets.
const readBufferSize = 32 << 10

// dialBuffered dials an RTSP connection whose reads are buffered by
// readBufferSize.
func dialBuffered(ctx context.Context, network, addr string) (net.Conn, error) {
	c, err := (&net.Dialer{}).DialContext(ctx, network, addr)
	if err != nil {
		return nil, err
	}
	return &bufferedConn{Conn: c, r: bufio.NewReaderSize(c, readBufferSize)}, nil
}

// bufferedConn is a net.Conn with buffered reads.
type bufferedConn struct {
	net.Conn
	r *bufio.Reader
}

// Read implements net.Conn.
func (c *bufferedConn) Read(p []byte) (int, error) { return c.r.Read(p) }

// session is one playing connection. Its packet callbacks run on
// gortsplib's reader goroutine (TCP) or on one goroutine per media (UDP);
// mu serialises them.
type session struct {
	in   *Ingest
	c    *camera
	sink Sink
	// close ends the connection; the stall check calls it.
	close func()
	// depack is the TCP path's video depacketiser (its reader goroutine's
	// alone).
	depack depacketiser

	// lastFrame and lastUnit are when the last frame was received (video
	// if there is any, else audio) and the last unit written, in Unix ns,
	// both starting when PLAY was answered. stalled says why the stall
	// check closed the client.
	lastFrame, lastUnit atomic.Int64
	stalled             atomic.Pointer[string]
	// stallMu guards stallTimer and stallDone.
	stallMu    sync.Mutex
	stallTimer *time.Timer
	stallDone  bool

	// mu guards everything below.
	mu     sync.Mutex
	plans  []*trackPlan
	video  *videoIn
	audio  *audioIn
	media  *hub.Media // published in this session; nil before the first
	t0     time.Time  // when the session's first packet arrived
	t0NS   int64      // its media time, ns since camera.epoch
	haveT0 bool
	// The current rate window.
	winStart                    time.Time
	winFrames, winUnits, winLen int64
	// Decode problems since the last warning.
	errs, lost int64
	lastErr    error
	errLogged  time.Time
}

// videoIn is the session's video track.
type videoIn struct {
	plan     *trackPlan
	v        *videoTrack
	clock    rtpClock
	prevTS   uint32
	havePrev bool
	// nextSeq is the next RTP sequence number expected on the TCP path.
	nextSeq uint16
	haveSeq bool
}

// audioIn is the session's audio track.
type audioIn struct {
	plan      *trackPlan
	clock     rtpClock
	adj, last int64
	step      int64
	haveLast  bool
	maxPTS    int64
}

// rtpClock unwraps a track's 32-bit RTP timestamps into int64 ticks.
type rtpClock struct {
	started bool
	last    uint32
	ticks   int64
}

// begin starts the clock: timestamp ts is at start ticks.
func (k *rtpClock) begin(ts uint32, start int64) {
	k.started, k.last, k.ticks = true, ts, start
}

// unwrap returns the ticks of ts, taking the shorter way round from the
// previous timestamp (so a wrap of the 32-bit counter continues forwards).
func (k *rtpClock) unwrap(ts uint32) int64 {
	k.ticks += int64(int32(ts - k.last))
	k.last = ts
	return k.ticks
}

// plan sets up the session's tracks.
func (s *session) plan(plans []*trackPlan) {
	s.plans = plans
	for _, p := range plans {
		if p.track.Codec.IsVideo() {
			s.video = &videoIn{plan: p, v: newVideoTrack(&p.track)}
		} else {
			s.audio = &audioIn{plan: p, step: int64(p.track.ClockRate / 50)}
		}
	}
}

// startTicks returns the media time, in ticks of clockRate, of a track
// whose first packet arrives now. The first track of a session starts at
// the wall time since the camera's Run began (never before where the last
// session ended); later tracks start by the wall clock after it.
func (s *session) startTicks(now time.Time, clockRate int) int64 {
	if !s.haveT0 {
		s.t0, s.haveT0 = now, true
		s.t0NS = max(int64(now.Sub(s.c.epoch)), s.c.endNS+int64(time.Millisecond))
	}
	return nsToTicks(s.t0NS+int64(now.Sub(s.t0)), clockRate)
}

// nsToTicks converts ns nanoseconds into ticks of clockRate without
// overflowing.
func nsToTicks(ns int64, clockRate int) int64 {
	r := int64(clockRate)
	return ns/1e9*r + ns%1e9*r/1e9
}

// ticksToNS converts ticks of clockRate into nanoseconds without
// overflowing.
func ticksToNS(ticks int64, clockRate int) int64 {
	r := int64(clockRate)
	return ticks/r*1e9 + ticks%r*1e9/r
}

// onVideo handles one RTP packet of the video track.
func (s *session) onVideo(pkt *rtp.Packet) {
	s.mu.Lock()
	defer s.mu.Unlock()
	vi := s.video
	var au [][]byte
	var err error
	if vi.plan.h265 != nil {
		au, err = vi.plan.h265.Decode(pkt)
	} else {
		au, err = vi.plan.h264.Decode(pkt)
	}
	prev, hadPrev := vi.prevTS, vi.havePrev
	vi.prevTS, vi.havePrev = pkt.Timestamp, true
	if err != nil {
		if !errors.Is(err, rtph264.ErrMorePacketsNeeded) && !errors.Is(err, rtph265.ErrMorePacketsNeeded) &&
			!errors.Is(err, rtph264.ErrNonStartingPacketAndNoPrevious) &&
			!errors.Is(err, rtph265.ErrNonStartingPacketAndNoPrevious) {
			s.noteErr(s.in.now(), err)
		}
		return
	}
	// A unit completes on its marker bit, or (cameras that set none) when
	// a packet with the next timestamp arrives: then it is the previous
	// packet's.
	ts := pkt.Timestamp
	if !pkt.Marker && hadPrev {
		ts = prev
	}
	s.videoUnit(ts, au, nil)
}

// videoUnit hands a video access unit with RTP timestamp ts to the sink;
// s.mu must be held. lent, when set, is the
// buffer of au, lent by in.units: the unit then gives it back once its
// only reader is done with it (hub.Unit.Recycle), unless it is a keyframe
// or carries parameter sets, which the video track's DTS extractor may hold
// on to. A unit dropped here leaves its buffer to the garbage collector for
// the same reason.
func (s *session) videoUnit(ts uint32, au [][]byte, lent *[]byte) {
	vi := s.video
	now := s.in.now()
	s.lastFrame.Store(now.UnixNano())
	if !vi.clock.started {
		vi.clock.begin(ts, s.startTicks(now, vi.plan.track.ClockRate))
	}
	nalus, pts, dts, key, err := vi.v.accessUnit(au, vi.clock.unwrap(ts))
	if err != nil {
		s.noteErr(now, err)
	}
	if nalus == nil {
		return
	}
	if key && (s.media == nil || vi.v.changed) {
		s.publish()
	}
	size := 0
	for _, n := range nalus {
		size += len(n)
	}
	u := &hub.Unit{
		Media: s.media, Track: vi.plan.track.ID,
		PTS: pts, DTS: dts, Wall: now, Key: key,
		NALUs: nalus, Size: size,
	}
	if lent != nil && !key && !holdsParams(vi.plan.track.Codec, au) {
		units := &s.in.units
		u.Recycle = func() { units.put(lent) }
	}
	s.sink.WriteUnit(u)
	if key {
		s.c.mu.Lock()
		s.c.h.LastKeyframe = now
		s.c.mu.Unlock()
	}
	s.account(now, size, true)
}

// onAudio handles one RTP packet of the audio track.
func (s *session) onAudio(pkt *rtp.Packet) {
	s.mu.Lock()
	defer s.mu.Unlock()
	a := s.audio
	now := s.in.now()
	if !a.clock.started {
		a.clock.begin(pkt.Timestamp, s.startTicks(now, a.plan.track.ClockRate))
	}
	pts := a.clock.unwrap(pkt.Timestamp)
	if s.video == nil {
		s.lastFrame.Store(now.UnixNano())
	}
	var aus [][]byte
	if a.plan.aac != nil {
		var err error
		if aus, err = a.plan.aac.Decode(pkt); err != nil {
			if !errors.Is(err, rtpmpeg4audio.ErrMorePacketsNeeded) {
				s.noteErr(now, err)
			}
			return
		}
	} else if len(pkt.Payload) == 0 {
		s.noteErr(now, errors.New("empty audio payload"))
		return
	}
	if s.media == nil {
		if s.video != nil {
			return // audio starts with the first video keyframe
		}
		s.publish()
	}
	if aus == nil {
		s.writeAudio(now, pts, pkt.Payload)
		return
	}
	for i, au := range aus {
		s.writeAudio(now, pts+int64(i)*mpeg4audio.SamplesPerAccessUnit, au)
	}
}

// writeAudio writes one audio frame with RTP time pts, keeping the track's
// timeline monotonic.
func (s *session) writeAudio(now time.Time, pts int64, payload []byte) {
	a := s.audio
	pts += a.adj
	if a.haveLast && pts < a.last {
		shift := a.last - pts + a.step
		a.adj += shift
		pts += shift
		s.noteErr(now, errClockBackward)
	}
	if a.haveLast && pts > a.last {
		a.step = pts - a.last
	}
	a.last, a.haveLast = pts, true
	a.maxPTS = max(a.maxPTS, pts)
	s.sink.WriteUnit(&hub.Unit{
		Media: s.media, Track: a.plan.track.ID,
		PTS: pts, DTS: pts, Wall: now,
		Payload: payload, Size: len(payload),
	})
	s.account(now, len(payload), false)
}

// publish hands the sink the session's Media: the video track with its
// current parameters and the audio track as described. A Media equal to
// the camera's last one is reused, so readers see no change.
func (s *session) publish() {
	tracks := make([]*hub.Track, len(s.plans))
	for i, p := range s.plans {
		if s.video != nil && p == s.video.plan {
			tracks[i] = s.video.v.track(i)
			continue
		}
		t := p.track
		tracks[i] = &t
	}
	m := &hub.Media{Tracks: tracks}
	if s.video != nil {
		s.video.v.changed = false
	}
	if old := s.c.media; old != nil && mediaEqual(old, m) {
		if old == s.media {
			return // parameters changed and changed back
		}
		m = old
	} else if old != nil {
		s.c.log.Info("stream parameters changed", "tracks", tracksText(m.Tracks))
	}
	s.c.media, s.media = m, m
	s.sink.SetMedia(m)
}

// account counts a written unit: the stall clock, the rate window and,
// once per window, the health figures and the metrics.
func (s *session) account(now time.Time, size int, video bool) {
	s.lastUnit.Store(now.UnixNano())
	if s.winStart.IsZero() {
		s.winStart = now
	}
	s.winUnits++
	s.winLen += int64(size)
	if video || s.video == nil {
		s.winFrames++
	}
	if d := now.Sub(s.winStart); d >= rateWindow {
		sec := d.Seconds()
		s.c.mu.Lock()
		s.c.h.FPS = float64(s.winFrames) / sec
		s.c.h.Bitrate = float64(s.winLen) * 8 / sec
		s.c.mu.Unlock()
		s.flushCounts()
		s.winStart = now
	}
}

// flushCounts adds the window's units and bytes to the metrics.
func (s *session) flushCounts() {
	s.in.met.frames.Add(float64(s.winUnits))
	s.in.met.bytes.Add(float64(s.winLen))
	s.winFrames, s.winUnits, s.winLen = 0, 0, 0
}

// finish runs after the client has stopped: it flushes the counters and
// records where the session's media time ended.
func (s *session) finish() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.flushCounts()
	if s.errs > 0 || s.lost > 0 {
		s.logErrs()
	}
	if vi := s.video; vi != nil && vi.v.haveDTS {
		s.c.endNS = max(s.c.endNS, ticksToNS(vi.v.maxPTS, vi.plan.track.ClockRate))
	}
	if a := s.audio; a != nil && a.haveLast {
		s.c.endNS = max(s.c.endNS, ticksToNS(a.maxPTS, a.plan.track.ClockRate))
	}
}

// onDecodeError counts a packet gortsplib could not decode.
func (s *session) onDecodeError(err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.noteErr(s.in.now(), err)
}

// onPacketsLost counts RTP packets lost in transit.
func (s *session) onPacketsLost(n uint64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.lost += int64(n)
}

// noteErr counts a decode problem and logs a summary at most every
// errLogEvery. s.mu must be held.
func (s *session) noteErr(now time.Time, err error) {
	s.errs++
	s.lastErr = err
	if now.Sub(s.errLogged) >= errLogEvery {
		s.errLogged = now
		s.logErrs()
	}
}

func (s *session) logErrs() {
	last := ""
	if s.lastErr != nil {
		last = s.c.scrubErr(s.lastErr).Error()
	}
	s.c.log.Warn("stream errors", "decode_errors", s.errs, "packets_lost", s.lost, "last_error", last)
	s.errs, s.lost = 0, 0
}

// startStallCheck arms the stall check.
func (s *session) startStallCheck() {
	s.stallMu.Lock()
	defer s.stallMu.Unlock()
	s.stallTimer = time.AfterFunc(s.in.cfg.StallTimeout, s.checkStall)
}

// checkStall closes the client if no frame arrived for StallTimeout or
// none was written for keyframeWaits of them, and otherwise checks again
// when that could first be the case.
func (s *session) checkStall() {
	now, limit := s.in.now(), s.in.cfg.StallTimeout
	frameLeft := limit - now.Sub(time.Unix(0, s.lastFrame.Load()))
	unitLeft := keyframeWaits*limit - now.Sub(time.Unix(0, s.lastUnit.Load()))
	s.stallMu.Lock()
	if s.stallDone {
		s.stallMu.Unlock()
		return
	}
	if frameLeft > 0 && unitLeft > 0 {
		s.stallTimer = time.AfterFunc(min(frameLeft, unitLeft), s.checkStall)
		s.stallMu.Unlock()
		return
	}
	why := fmt.Sprintf("no frame for %v", limit)
	if frameLeft > 0 {
		why = fmt.Sprintf("frames but no keyframe for %v", keyframeWaits*limit)
	}
	s.stallDone = true
	s.stalled.Store(&why)
	s.stallMu.Unlock()
	s.close()
}

// stopStallCheck disarms the stall check.
func (s *session) stopStallCheck() {
	s.stallMu.Lock()
	defer s.stallMu.Unlock()
	s.stallDone = true
	s.stallTimer.Stop()
}

// tracksText describes the planned tracks for a log line.
func (s *session) tracksText() string {
	ts := make([]*hub.Track, len(s.plans))
	for i, p := range s.plans {
		ts[i] = &p.track
	}
	return tracksText(ts)
}

// tracksText describes tracks for a log line, e.g. "h264 640x360, aac 48000Hz".
func tracksText(ts []*hub.Track) string {
	var b strings.Builder
	for i, t := range ts {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(string(t.Codec))
		if t.Codec.IsVideo() {
			fmt.Fprintf(&b, " %dx%d", t.Width, t.Height)
		} else {
			fmt.Fprintf(&b, " %dHz", t.SampleRate)
		}
	}
	return b.String()
}

// mediaEqual reports whether a and b describe the same tracks.
func mediaEqual(a, b *hub.Media) bool {
	if len(a.Tracks) != len(b.Tracks) {
		return false
	}
	for i, x := range a.Tracks {
		y := b.Tracks[i]
		if x.ID != y.ID || x.Codec != y.Codec || x.ClockRate != y.ClockRate ||
			x.Width != y.Width || x.Height != y.Height ||
			x.SampleRate != y.SampleRate || x.Channels != y.Channels ||
			!bytes.Equal(x.VPS, y.VPS) || !bytes.Equal(x.SPS, y.SPS) || !bytes.Equal(x.PPS, y.PPS) ||
			!bytes.Equal(x.AudioConfig, y.AudioConfig) {
			return false
		}
	}
	return true
}
