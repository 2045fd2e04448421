package node

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"

	"github.com/prometheus/client_golang/prometheus"

	"argus"
	"argus/internal/access"
	"argus/internal/audit"
	"argus/internal/config"
	"argus/internal/hub"
	"argus/internal/live"
	"argus/internal/live/llhls"
	"argus/internal/live/rtspserver"
	"argus/internal/live/whep"
)

// liveVideo is the node's live-video protocols, all reading from the hub and
// recording their viewers in one session registry.
type liveVideo struct {
	sessions *live.Sessions
	whep     *whep.Service
	hls      *llhls.Service
	rtsp     *rtspserver.Server // nil when rtsp.listen is empty
}

func newLive(cfg config.Config, h *hub.Hub, tc *live.Transcoder, store argus.Store, auth *access.Auth, gate *access.Gate,
	log *audit.Log, logger *slog.Logger, reg prometheus.Registerer) (*liveVideo, error) {
	rec := auditSessions{log: log, next: live.NewSlogRecorder(logger.With("role", "live")), logger: logger.With("role", "live")}
	lv := &liveVideo{sessions: live.NewSessions(rec, nil)}
	var err error
	lv.whep, err = whep.New(whep.Config{
		Hub:        h,
		Sessions:   lv.sessions,
		UDPPort:    cfg.Live.WebRTC.UDPPort,
		TCPPort:    cfg.Live.WebRTC.TCPPort,
		ListenIP:   cfg.Live.WebRTC.ListenIP,
		PublicIPs:  cfg.Live.WebRTC.PublicIPs,
		Transcoder: tc,
		Logger:     logger.With("role", "whep"),
	})
	if err != nil {
		return nil, fmt.Errorf("webrtc: %w", err)
	}
	lv.hls, err = llhls.New(llhls.Config{
		Hub:         h,
		Sessions:    lv.sessions,
		IdleTimeout: cfg.Live.HLS.IdleTimeout,
		MaxMuxers:   cfg.Live.HLS.MaxMuxers,
		Transcoder:  tc,
		Logger:      logger.With("role", "llhls"),
		Registerer:  reg,
	})
	if err != nil {
		_ = lv.whep.Close()
		return nil, fmt.Errorf("ll-hls: %w", err)
	}
	if cfg.RTSP.Listen == "" {
		return lv, nil
	}
	lv.rtsp, err = rtspserver.New(rtspserver.Config{
		Listen:         cfg.RTSP.Listen,
		UDPRTPAddress:  cfg.RTSP.UDPRTP,
		UDPRTCPAddress: cfg.RTSP.UDPRTCP,
		Hub:            h,
		Cameras:        store,
		Authenticate:   rtspAuthenticate(auth),
		Authorize: func(ctx context.Context, p argus.Principal, c *argus.Camera) error {
			return gate.Check(ctx, p, argus.ActionLive, argus.CameraResource(c))
		},
		Sessions: lv.sessions,
		Logger:   logger.With("role", "rtsp"),
	})
	if err != nil {
		_ = lv.hls.Close()
		_ = lv.whep.Close()
		return nil, fmt.Errorf("rtsp re-serve: %w", err)
	}
	return lv, nil
}

// rtspAuthenticate accepts an API token as the password (any user name), or
// a user's name and password, checked without issuing a session and
// throttled per client address as the API's sign-in is.
func rtspAuthenticate(auth *access.Auth) func(ctx context.Context, client, user, pw string) (argus.Principal, error) {
	return func(ctx context.Context, client, user, pw string) (argus.Principal, error) {
		if strings.HasPrefix(pw, "argus_") {
			return auth.Authenticate(ctx, pw)
		}
		u, err := auth.Verify(access.WithClient(ctx, client), user, pw)
		if err != nil {
			return argus.Principal{}, err
		}
		return access.PrincipalOf(u, ""), nil
	}
}

func (lv *liveVideo) start(ctx context.Context) error {
	if lv == nil || lv.rtsp == nil {
		return nil
	}
	return lv.rtsp.Start(ctx)
}

// close ends every live session ("shutdown"), answering LL-HLS requests
// that wait in a muxer; call it before the HTTP server drains.
func (lv *liveVideo) close() error {
	if lv == nil {
		return nil
	}
	err := errors.Join(lv.whep.Close(), lv.hls.Close())
	if lv.rtsp != nil {
		err = errors.Join(err, lv.rtsp.Close())
	}
	return err
}

// rtspAddr is the RTSP re-serve's address, "" when it is off.
func (lv *liveVideo) rtspAddr() string {
	if lv == nil || lv.rtsp == nil {
		return ""
	}
	return lv.rtsp.Addr()
}
