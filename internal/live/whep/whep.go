// Package whep serves live video to browsers over WebRTC, signalled with
// WHEP (the egress twin of RFC 9725's WHIP): a viewer POSTs an SDP offer,
// gets an answer with every ICE candidate in it, may trickle its own
// candidates with PATCH, and ends the session with DELETE.
//
// Video is the camera's H.264 as it arrives, on the payload type of the
// offer whose profile fits the camera's SPS; an H.265 camera is served its
// H.264 sub-stream or, with a live.Transcoder, an H.264 transcode
// (live.BrowserStream picks, Service.Source tells which); Opus or
// G.711 audio goes along when the camera has it and the offer takes it. A
// session starts on the hub's cached keyframe, catches up to the live edge
// at once, and answers a viewer's keyframe request (PLI/FIR) by starting
// again from the hub's cache, never by asking the camera. ICE runs on one
// UDP port shared by every session, plus optional ICE-TCP on one TCP port,
// so a firewall needs one or two ports open. Every session is recorded in
// the live.Sessions registry from its answer to its end.
//
// pion types stay inside this package: the API reaches it through strings.
package whep

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"sync"
	"time"

	"github.com/pion/ice/v4"
	"github.com/pion/webrtc/v4"

	"argus"
	"argus/internal/hub"
	"argus/internal/live"
)

// Timeouts of a session.
const (
	// startTimeout bounds the wait in Offer for the camera's first unit
	// (a camera pulled on demand connects and sends its first keyframe).
	startTimeout = 10 * time.Second
	// connectTimeout bounds the time from the answer to a connected
	// peer; a viewer that never connects is ended after it.
	connectTimeout = 20 * time.Second
	// minPLIInterval is the least time between two restarts from the
	// cached keyframe that a viewer's PLI/FIR asks for; requests in
	// between are ignored.
	minPLIInterval = 2 * time.Second
	// ICE consent: a peer silent for iceDisconnected is disconnected,
	// and failed (the session ends) after iceFailed.
	iceDisconnected = 5 * time.Second
	iceFailed       = 10 * time.Second
	iceKeepalive    = 2 * time.Second
)

// Reasons a session ends with, as the registry records them.
var (
	errClosedByViewer = errors.New("closed by viewer")
	errPeerClosed     = errors.New("peer connection closed")
	errICEFailed      = errors.New("ice failed")
	errNotConnected   = fmt.Errorf("not connected within %s", connectTimeout)
	errShutdown       = errors.New("shutdown")
)

// Hub is the part of the stream hub a session reads from; *hub.Hub
// implements it.
type Hub interface {
	Attach(ctx context.Context, cameraID string, opts hub.ReaderOptions) (*hub.Reader, error)
}

// Config configures a Service.
type Config struct {
	// Hub is the stream hub the sessions read. Required.
	Hub Hub
	// Sessions records every session and ends them on revocation.
	// Required.
	Sessions *live.Sessions
	// UDPPort is the one UDP port every session's ICE runs on; 0 picks a
	// free port (tests), which UDPAddr reports.
	UDPPort int
	// TCPPort is the port of ICE-TCP (passive candidates), for viewers
	// whose network lets no UDP through; 0 turns ICE-TCP off, a negative
	// value picks a free port (tests).
	TCPPort int
	// ListenIP is the address both ports are bound to and the only one
	// offered as a host candidate; empty means every IPv4 address of the
	// host except loopback. Set it to an IPv6 address to serve IPv6.
	ListenIP string
	// PublicIPs are offered as host candidates besides the host's own
	// addresses, on the same ports: the public addresses of a 1:1 NAT
	// (a cloud VM's elastic IP) in front of this node.
	PublicIPs []string
	// Transcoder makes the H.264 transcodes browsers are served of H.265
	// cameras without a sub-stream (see live.BrowserStream); nil refuses
	// such cameras.
	Transcoder *live.Transcoder
	// Logger receives the logs; nil discards them.
	Logger *slog.Logger
}

// Service is the WHEP endpoint of one node. Build it with New; it is safe
// for concurrent use. Close ends every session.
type Service struct {
	cfg    Config
	log    *slog.Logger
	se     webrtc.SettingEngine
	cert   webrtc.Certificate
	udp    net.PacketConn
	udpMux ice.UDPMux
	tcp    net.Listener // nil without ICE-TCP
	tcpMux ice.TCPMux

	// ctx is the parent of every session; Close cancels it with
	// errShutdown.
	ctx    context.Context
	cancel context.CancelCauseFunc
	// wg counts the sessions' goroutines.
	wg sync.WaitGroup

	closeOnce sync.Once

	// mu guards closed and sessions.
	mu       sync.Mutex
	closed   bool
	sessions map[string]*session
}

// New opens the ICE ports and returns a Service for cfg.
func New(cfg Config) (*Service, error) {
	switch {
	case cfg.Hub == nil || cfg.Sessions == nil:
		return nil, errors.New("whep: config needs a hub and a session registry")
	case cfg.UDPPort < 0 || cfg.UDPPort > 65535 || cfg.TCPPort > 65535:
		return nil, fmt.Errorf("whep: port out of range (udp %d, tcp %d)", cfg.UDPPort, cfg.TCPPort)
	}
	s := &Service{cfg: cfg, log: cfg.Logger, sessions: map[string]*session{}}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	ip := net.IPv4zero
	if cfg.ListenIP != "" {
		if ip = net.ParseIP(cfg.ListenIP); ip == nil {
			return nil, fmt.Errorf("whep: listen IP %q is not an IP address", cfg.ListenIP)
		}
	}
	for _, p := range cfg.PublicIPs {
		if net.ParseIP(p) == nil {
			return nil, fmt.Errorf("whep: public IP %q is not an IP address", p)
		}
	}
	v4 := ip.To4() != nil
	udpNet, tcpNet, nets := "udp4", "tcp4", []webrtc.NetworkType{webrtc.NetworkTypeUDP4}
	if !v4 {
		udpNet, tcpNet, nets = "udp6", "tcp6", []webrtc.NetworkType{webrtc.NetworkTypeUDP6}
	}

	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("whep: dtls key: %w", err)
	}
	cert, err := webrtc.GenerateCertificate(key)
	if err != nil {
		return nil, fmt.Errorf("whep: dtls certificate: %w", err)
	}
	s.cert = *cert

	plog := pionLogs{s.log}
	udp, err := net.ListenUDP(udpNet, &net.UDPAddr{IP: ip, Port: cfg.UDPPort})
	if err != nil {
		return nil, fmt.Errorf("whep: ice udp port: %w", err)
	}
	s.udp = udp
	s.udpMux = webrtc.NewICEUDPMux(plog.NewLogger("udpmux"), udp)
	if cfg.TCPPort != 0 {
		tcp, err := net.ListenTCP(tcpNet, &net.TCPAddr{IP: ip, Port: max(cfg.TCPPort, 0)})
		if err != nil {
			s.udpMux.Close()
			return nil, fmt.Errorf("whep: ice tcp port: %w", err)
		}
		s.tcp = tcp
		s.tcpMux = webrtc.NewICETCPMux(plog.NewLogger("tcpmux"), tcp, 8)
		if v4 {
			nets = append(nets, webrtc.NetworkTypeTCP4)
		} else {
			nets = append(nets, webrtc.NetworkTypeTCP6)
		}
	}

	se := webrtc.SettingEngine{LoggerFactory: plog}
	se.SetICEMulticastDNSMode(ice.MulticastDNSModeDisabled)
	se.SetICETimeouts(iceDisconnected, iceFailed, iceKeepalive)
	se.SetNetworkTypes(nets)
	se.SetICEUDPMux(s.udpMux)
	if s.tcpMux != nil {
		se.SetICETCPMux(s.tcpMux)
		se.DisableActiveTCP(true) // viewers connect to us, never the reverse
	}
	if cfg.ListenIP != "" {
		se.SetIPFilter(func(a net.IP) bool { return a.Equal(ip) })
		se.SetIncludeLoopbackCandidate(ip.IsLoopback())
	}
	if len(cfg.PublicIPs) > 0 {
		err := se.SetICEAddressRewriteRules(webrtc.ICEAddressRewriteRule{
			External:        cfg.PublicIPs,
			AsCandidateType: webrtc.ICECandidateTypeHost,
			Mode:            webrtc.ICEAddressRewriteAppend,
		})
		if err != nil {
			s.closePorts()
			return nil, fmt.Errorf("whep: public IPs: %w", err)
		}
	}
	s.se = se
	s.ctx, s.cancel = context.WithCancelCause(context.Background())
	return s, nil
}

// UDPAddr returns the address of the ICE UDP port.
func (s *Service) UDPAddr() net.Addr { return s.udp.LocalAddr() }

// TCPAddr returns the address of the ICE-TCP port, or nil without one.
func (s *Service) TCPAddr() net.Addr {
	if s.tcp == nil {
		return nil
	}
	return s.tcp.Addr()
}

// Offer starts a session of viewer watching cam from the network address
// client: it answers offerSDP, which must receive H.264 video, and returns
// the answer (with every candidate, ICE gathering being complete) and the
// session's id. The caller has authorised viewer for argus.ActionLive on
// cam. The session runs until Delete, an ICE failure, revocation through
// the registry, or Close.
func (s *Service) Offer(ctx context.Context, cam *argus.Camera, viewer argus.Principal, client, offerSDP string) (answer, sessionID string, err error) {
	o, err := parseOffer(offerSDP)
	if err != nil {
		return "", "", err
	}
	if s.ctx.Err() != nil {
		return "", "", errUnavailable()
	}
	m, err := s.probe(ctx, cam.ID)
	if err != nil {
		return "", "", err
	}
	// An H.265 camera is served its H.264 sub-stream or a transcode.
	streamID, src := live.BrowserStream(cam, m)
	switch {
	case src == live.SourceTranscode && s.cfg.Transcoder == nil:
		streamID, src = cam.ID, live.SourceMain // refused below
	case src != live.SourceMain:
		if src == live.SourceTranscode {
			if err := s.cfg.Transcoder.Admit(cam.ID); err != nil {
				return "", "", err
			}
		}
		if m, err = s.probe(ctx, streamID); err != nil {
			return "", "", err
		}
	}
	vt := m.Video()
	switch {
	case vt == nil:
		return "", "", argus.Errorf(argus.EUNAVAILABLE, "camera %q has no video track", cam.ID)
	case vt.Codec != hub.CodecH264:
		return "", "", argus.Errorf(argus.EINVALID,
			"camera %q sends %s, which browsers cannot decode over WebRTC, and this node does not transcode; watch it over LL-HLS or RTSP, or give it an H.264 sub-stream", cam.ID, vt.Codec)
	}
	vf, err := chooseVideo(o.video, vt.SPS)
	if err != nil {
		return "", "", err
	}
	var at *hub.Track
	for _, t := range m.Tracks {
		if !t.Codec.IsVideo() {
			at = t
			break
		}
	}
	af, withAudio := chooseAudio(o.audio, at)

	ss := &session{
		svc:       s,
		id:        argus.NewID("whep"),
		cameraID:  cam.ID,
		streamID:  streamID,
		source:    src,
		userID:    viewer.UserID,
		offer:     o,
		connected: make(chan struct{}),
		pli:       make(chan struct{}, 1),
		done:      make(chan struct{}),
	}
	if withAudio {
		ss.audioCodec = at.Codec
	}
	ss.ctx, ss.stop = context.WithCancelCause(s.ctx)
	answer, err = ss.connect(ctx, vf, af, withAudio, offerSDP)
	if err != nil {
		ss.stop(err)
		return "", "", err
	}

	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		ss.stop(errShutdown)
		ss.pc.Close()
		return "", "", errUnavailable()
	}
	regCtx, end := s.cfg.Sessions.Open(s.ctx, live.Session{
		ID: ss.id, Protocol: live.ProtoWHEP, CameraID: cam.ID, UserID: viewer.UserID, OrgID: viewer.OrgID, Client: client,
	})
	ss.end = end
	ss.unlink = context.AfterFunc(regCtx, func() { ss.stop(context.Cause(regCtx)) })
	s.sessions[ss.id] = ss
	s.wg.Add(1)
	s.mu.Unlock()
	go ss.run()
	s.log.Debug("whep session started", "session", ss.id, "camera", cam.ID, "user", viewer.UserID,
		"source", src, "video_pt", vf.pt, "video_fmtp", vf.fmtp, "audio", ss.audioCodec)
	return answer, ss.id, nil
}

// probe attaches to the camera until its first unit arrives and returns
// the camera's Media. The reader is closed again: the session attaches
// anew once the viewer is connected, so nothing queues up meanwhile.
func (s *Service) probe(ctx context.Context, cameraID string) (*hub.Media, error) {
	ctx, cancel := context.WithTimeout(ctx, startTimeout)
	defer cancel()
	r, err := s.cfg.Hub.Attach(ctx, cameraID, hub.ReaderOptions{Name: "whep"})
	if err != nil {
		if errors.Is(err, hub.ErrClosed) {
			return nil, errUnavailable()
		}
		return nil, fmt.Errorf("attach camera %s: %w", cameraID, err)
	}
	defer r.Close()
	u, err := r.Read(ctx)
	switch {
	case err == nil:
		return u.Media, nil
	case errors.Is(err, context.DeadlineExceeded):
		return nil, argus.Errorf(argus.EUNAVAILABLE, "camera %q sent no video within %s; it may be offline", cameraID, startTimeout)
	case errors.Is(err, hub.ErrClosed):
		return nil, errUnavailable()
	}
	return nil, fmt.Errorf("read camera %s: %w", cameraID, err)
}

func errUnavailable() error {
	return argus.Errorf(argus.EUNAVAILABLE, "live video is shutting down on this node")
}

// Patch adds the ICE candidates of an RFC 8840 SDP fragment (trickle ICE)
// to viewer's session. ICE restarts (a new ufrag) are refused: the viewer
// starts a new session instead.
func (s *Service) Patch(_ context.Context, sessionID string, viewer argus.Principal, sdpFrag string) error {
	ss, err := s.session(sessionID, viewer)
	if err != nil {
		return err
	}
	f, err := parseFragment(sdpFrag)
	if err != nil {
		return err
	}
	if f.ufrag != "" && f.ufrag != remoteUfrag(&ss.offer.parsed) {
		return argus.Errorf(argus.EINVALID, "ICE restarts are not supported; end this session and start a new one")
	}
	for i, c := range f.candidates {
		mid := c.mid
		if mid == "" {
			mid = firstMid(&ss.offer.parsed)
		}
		if err := ss.pc.AddICECandidate(webrtc.ICECandidateInit{Candidate: c.candidate, SDPMid: &mid}); err != nil {
			return argus.Errorf(argus.EINVALID, "candidate %d of the fragment: %v", i+1, err)
		}
	}
	return nil
}

// Delete ends viewer's session and returns once it has ended.
func (s *Service) Delete(ctx context.Context, sessionID string, viewer argus.Principal) error {
	ss, err := s.session(sessionID, viewer)
	if err != nil {
		return err
	}
	ss.stop(errClosedByViewer)
	select {
	case <-ss.done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// session returns viewer's session sessionID; a session of another user
// is as absent as one that never existed.
func (s *Service) session(id string, viewer argus.Principal) (*session, error) {
	s.mu.Lock()
	ss := s.sessions[id]
	s.mu.Unlock()
	if ss == nil || ss.userID != viewer.UserID || viewer.UserID == "" {
		return nil, argus.Errorf(argus.ENOTFOUND, "WHEP session %q not found", id)
	}
	return ss, nil
}

// Source returns what session sessionID is served of its camera (the main
// stream, the sub-stream or a transcode; see live.BrowserStream), for the
// live.SourceHeader of the answer; "" for an unknown session.
func (s *Service) Source(sessionID string) live.Source {
	s.mu.Lock()
	defer s.mu.Unlock()
	if ss := s.sessions[sessionID]; ss != nil {
		return ss.source
	}
	return ""
}

// Sessions returns the number of sessions running.
func (s *Service) Sessions() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.sessions)
}

// Close ends every session (reason "shutdown"), refuses new offers, waits
// for the sessions to end and closes the ICE ports. It is safe to call
// more than once.
func (s *Service) Close() error {
	s.mu.Lock()
	s.closed = true
	s.mu.Unlock()
	s.cancel(errShutdown)
	s.wg.Wait()
	s.closeOnce.Do(s.closePorts)
	return nil
}

func (s *Service) closePorts() {
	if s.tcpMux != nil {
		s.tcpMux.Close()
		s.tcp.Close()
	}
	s.udpMux.Close()
	s.udp.Close()
}

// remove forgets a session that has ended.
func (s *Service) remove(ss *session) {
	s.mu.Lock()
	delete(s.sessions, ss.id)
	s.mu.Unlock()
}
