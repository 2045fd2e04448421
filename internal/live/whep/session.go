package whep

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"time"

	"github.com/pion/interceptor"
	"github.com/pion/rtcp"
	"github.com/pion/webrtc/v4"

	"argus"
	"argus/internal/hub"
	"argus/internal/live"
)

// session is one viewer's peer connection and the goroutine that feeds it
// from the hub.
type session struct {
	svc      *Service
	id       string
	cameraID string
	// streamID is the hub stream the session reads: the camera's, or its
	// sub-stream or transcode (live.BrowserStream).
	streamID   string
	source     live.Source
	userID     string
	offer      *offer
	audioCodec hub.Codec // "" without audio

	pc    *webrtc.PeerConnection
	video *boundTrack
	audio *boundTrack // nil without audio
	// senders are the tracks' senders, video first. They are read for
	// RTCP (keyframe requests; pion's NACK and report interceptors need
	// them read).
	senders []*webrtc.RTPSender

	// ctx is the session's life: cancelled by stop (with the reason), by
	// the registry (revocation, through unlink) or by Service.Close.
	ctx  context.Context
	stop context.CancelCauseFunc
	// end records the end in the registry, once; unlink stops passing
	// the registry's cancellation on to ctx.
	end    func(reason string)
	unlink func() bool
	// connected is closed when the peer connection is first connected
	// (ICE and DTLS up, so SRTP can start).
	connected     chan struct{}
	connectedOnce sync.Once
	// pli signals a viewer's keyframe request to the feeding loop.
	pli chan struct{}
	// done is closed once the session has ended.
	done chan struct{}
}

// boundTrack is a TrackLocalStaticRTP that reports when pion binds it to
// the connection: packets written before are lost, so the cached keyframe
// waits for it.
type boundTrack struct {
	*webrtc.TrackLocalStaticRTP
	once  sync.Once
	bound chan struct{}
}

// Bind implements webrtc.TrackLocal.
func (t *boundTrack) Bind(c webrtc.TrackLocalContext) (webrtc.RTPCodecParameters, error) {
	p, err := t.TrackLocalStaticRTP.Bind(c)
	if err == nil {
		t.once.Do(func() { close(t.bound) })
	}
	return p, err
}

// connect builds the peer connection for the chosen formats and answers
// the offer once ICE gathering is complete.
func (ss *session) connect(ctx context.Context, vf, af format, withAudio bool, offerSDP string) (string, error) {
	m := &webrtc.MediaEngine{}
	vcap := webrtc.RTPCodecCapability{
		MimeType: webrtc.MimeTypeH264, ClockRate: 90000, SDPFmtpLine: vf.fmtp,
		RTCPFeedback: []webrtc.RTCPFeedback{{Type: "ccm", Parameter: "fir"}},
	}
	if err := m.RegisterCodec(webrtc.RTPCodecParameters{RTPCodecCapability: vcap, PayloadType: webrtc.PayloadType(vf.pt)}, webrtc.RTPCodecTypeVideo); err != nil {
		return "", fmt.Errorf("register video codec: %w", err)
	}
	var acap webrtc.RTPCodecCapability
	if withAudio {
		ch, _ := strconv.ParseUint(af.channels, 10, 16)
		acap = webrtc.RTPCodecCapability{MimeType: af.mimeType("audio"), ClockRate: af.clockRate, Channels: uint16(ch), SDPFmtpLine: af.fmtp}
		if err := m.RegisterCodec(webrtc.RTPCodecParameters{RTPCodecCapability: acap, PayloadType: webrtc.PayloadType(af.pt)}, webrtc.RTPCodecTypeAudio); err != nil {
			return "", fmt.Errorf("register audio codec: %w", err)
		}
	}
	ir := &interceptor.Registry{}
	if err := webrtc.ConfigureNack(m, ir); err != nil {
		return "", fmt.Errorf("nack: %w", err)
	}
	if err := webrtc.ConfigureRTCPReports(ir); err != nil {
		return "", fmt.Errorf("rtcp reports: %w", err)
	}
	api := webrtc.NewAPI(webrtc.WithMediaEngine(m), webrtc.WithSettingEngine(ss.svc.se), webrtc.WithInterceptorRegistry(ir))
	pc, err := api.NewPeerConnection(webrtc.Configuration{Certificates: []webrtc.Certificate{ss.svc.cert}})
	if err != nil {
		return "", fmt.Errorf("new peer connection: %w", err)
	}
	ss.pc = pc
	answer, err := ss.negotiate(ctx, vcap, acap, withAudio, offerSDP)
	if err != nil {
		pc.Close()
		return "", err
	}
	return answer, nil
}

func (ss *session) negotiate(ctx context.Context, vcap, acap webrtc.RTPCodecCapability, withAudio bool, offerSDP string) (string, error) {
	pc := ss.pc
	vt, err := webrtc.NewTrackLocalStaticRTP(vcap, "video", "argus-"+ss.cameraID)
	if err != nil {
		return "", fmt.Errorf("video track: %w", err)
	}
	ss.video = &boundTrack{TrackLocalStaticRTP: vt, bound: make(chan struct{})}
	tr, err := pc.AddTransceiverFromTrack(ss.video, webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionSendonly})
	if err != nil {
		return "", fmt.Errorf("video transceiver: %w", err)
	}
	ss.senders = append(ss.senders, tr.Sender())
	if withAudio {
		at, err := webrtc.NewTrackLocalStaticRTP(acap, "audio", "argus-"+ss.cameraID)
		if err != nil {
			return "", fmt.Errorf("audio track: %w", err)
		}
		ss.audio = &boundTrack{TrackLocalStaticRTP: at, bound: make(chan struct{})}
		tr, err := pc.AddTransceiverFromTrack(ss.audio, webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionSendonly})
		if err != nil {
			return "", fmt.Errorf("audio transceiver: %w", err)
		}
		ss.senders = append(ss.senders, tr.Sender())
	}
	pc.OnConnectionStateChange(func(st webrtc.PeerConnectionState) {
		switch st {
		case webrtc.PeerConnectionStateConnected:
			ss.connectedOnce.Do(func() { close(ss.connected) })
		case webrtc.PeerConnectionStateFailed:
			ss.stop(errICEFailed)
		case webrtc.PeerConnectionStateClosed:
			ss.stop(errPeerClosed)
		}
	})
	if err := pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeOffer, SDP: offerSDP}); err != nil {
		return "", argus.Errorf(argus.EINVALID, "the offer was refused: %v", err)
	}
	answer, err := pc.CreateAnswer(nil)
	if err != nil {
		return "", argus.Errorf(argus.EINVALID, "no answer to the offer: %v", err)
	}
	gathered := webrtc.GatheringCompletePromise(pc)
	if err := pc.SetLocalDescription(answer); err != nil {
		return "", fmt.Errorf("set local description: %w", err)
	}
	select {
	case <-gathered:
	case <-ctx.Done():
		return "", ctx.Err()
	}
	return pc.LocalDescription().SDP, nil
}

// run is the session's goroutine: it feeds the viewer until the session
// ends, then closes the peer connection and records the end.
func (ss *session) run() {
	defer ss.svc.wg.Done()
	var rtcpWG sync.WaitGroup
	for _, snd := range ss.senders {
		rtcpWG.Go(func() { ss.readRTCP(snd) })
	}
	if err := ss.feed(); err != nil {
		ss.stop(err)
	}
	cause := context.Cause(ss.ctx)
	if err := ss.pc.Close(); err != nil {
		ss.svc.log.Debug("close peer connection", "session", ss.id, "err", err)
	}
	rtcpWG.Wait()
	ss.svc.remove(ss)
	ss.unlink()
	ss.end(reason(cause))
	close(ss.done)
}

// reason turns the cause of a session's end into the registry's reason.
func reason(cause error) string {
	switch {
	case cause == nil:
		return "ended"
	case errors.Is(cause, context.Canceled):
		return "revoked" // the registry closed it without a cause
	}
	return cause.Error()
}

// readRTCP reads a sender's RTCP until the connection closes and turns
// keyframe requests into a signal to the feeding loop.
func (ss *session) readRTCP(snd *webrtc.RTPSender) {
	for {
		pkts, _, err := snd.ReadRTCP()
		if err != nil {
			return
		}
		for _, p := range pkts {
			switch p.(type) {
			case *rtcp.PictureLossIndication, *rtcp.FullIntraRequest:
				select {
				case ss.pli <- struct{}{}:
				default:
				}
			}
		}
	}
}

// feed waits for the connection, then sends the camera's units from the
// hub until the session ends. It returns nil when ss.ctx ends it.
func (ss *session) feed() error {
	// Packets written before the connection is up (SRTP keyed) and the
	// tracks are bound are dropped by pion without an error, and the
	// cached keyframe with them.
	t := time.NewTimer(connectTimeout)
	defer t.Stop()
	for _, ready := range []chan struct{}{ss.connected, ss.video.bound, ss.audioBound()} {
		select {
		case <-ready:
		case <-ss.ctx.Done():
			return nil
		case <-t.C:
			return errNotConnected
		}
	}
	// pion binds a track inside RTPSender.Send, under the sender's lock,
	// and connects the track to the transport after Bind returns;
	// Transport takes that lock, so once it returns the path is complete.
	for _, snd := range ss.senders {
		snd.Transport()
	}
	f := &feeder{
		ss:    ss,
		video: &videoSender{rtpTrack: newRTPTrack(ss.video, 90000)},
	}
	if ss.audio != nil {
		rate := 8000
		if ss.audioCodec == hub.CodecOpus {
			rate = 48000
		}
		f.audio = newRTPTrack(ss.audio, rate)
	}
	if err := f.attach(); err != nil {
		return err
	}
	defer func() { f.r.Close() }()
	for {
		u, err := f.r.Read(ss.ctx)
		switch {
		case ss.ctx.Err() != nil:
			return nil
		case errors.Is(err, hub.ErrDropped):
			ss.svc.log.Info("whep viewer fell behind; restarting from the cached keyframe", "session", ss.id, "camera", ss.cameraID)
			if err := f.reattach(); err != nil {
				return err
			}
			continue
		case err != nil:
			return fmt.Errorf("camera stream: %w", err)
		}
		select {
		case <-ss.pli:
			if f.lastPLI.IsZero() || time.Since(f.lastPLI) >= minPLIInterval {
				ss.svc.log.Debug("keyframe request; restarting from the cached keyframe", "session", ss.id)
				f.lastPLI = time.Now()
				if err := f.reattach(); err != nil {
					return err
				}
				continue // u belongs to the old reader
			}
		default:
		}
		if err := f.send(u); err != nil {
			return err
		}
	}
}

// audioBound returns the audio track's bound channel, or a closed one
// without audio.
func (ss *session) audioBound() chan struct{} {
	if ss.audio == nil {
		c := make(chan struct{})
		close(c)
		return c
	}
	return ss.audio.bound
}

// feeder is the state of feed: the reader, the timeline and the tracks.
type feeder struct {
	ss       *session
	r        *hub.Reader
	lastPLI  time.Time // when a keyframe request last restarted the reader
	tl       timeline
	media    *hub.Media // of the last video unit
	needKey  bool       // skip until the next video keyframe
	video    *videoSender
	audio    *rtpTrack // nil without audio
	sendErrs int
}

// attach attaches a reader that starts on the cached keyframe.
func (f *feeder) attach() error {
	r, err := f.ss.svc.cfg.Hub.Attach(f.ss.ctx, f.ss.streamID, hub.ReaderOptions{Name: "whep"})
	if err != nil {
		if errors.Is(err, hub.ErrClosed) {
			return errShutdown
		}
		return fmt.Errorf("attach stream %s: %w", f.ss.streamID, err)
	}
	f.r, f.needKey = r, true
	return nil
}

// reattach replaces the reader with one that starts on the cached
// keyframe.
func (f *feeder) reattach() error {
	f.r.Close()
	return f.attach()
}

// send sends one unit: video from a keyframe on, audio once the video has
// started.
func (f *feeder) send(u *hub.Unit) error {
	if u.Track < 0 || u.Track >= len(u.Media.Tracks) {
		return nil
	}
	tr := u.Media.Tracks[u.Track]
	now := time.Now()
	var err error
	switch {
	case tr == u.Media.Video():
		if tr.Codec != hub.CodecH264 {
			return fmt.Errorf("the camera switched to %s", tr.Codec)
		}
		if u.Media != f.media {
			f.media, f.needKey = u.Media, true // a new source session: rebase
		}
		if f.needKey {
			if !u.Key {
				return nil
			}
			f.tl.rebase(u, tr.ClockRate, now)
			f.needKey = false
		}
		err = f.video.send(u, tr, f.tl.video(u.PTS, tr.ClockRate, now))
	case f.audio != nil && tr.Codec == f.ss.audioCodec && !f.needKey:
		ns, ok := f.tl.audio(u.PTS, tr.ClockRate)
		if !ok {
			return nil
		}
		err = f.audio.write(u.Payload, ns, false)
	}
	if err != nil {
		// A write fails when the transport is gone; the connection
		// state ends the session. Log the first few only.
		if f.sendErrs++; f.sendErrs <= 3 {
			f.ss.svc.log.Debug("whep send", "session", f.ss.id, "err", err)
		}
	}
	return nil
}
