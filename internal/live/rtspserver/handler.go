package rtspserver

import (
	"context"

	"github.com/bluenviron/gortsplib/v5"
	"github.com/bluenviron/gortsplib/v5/pkg/base"
	"github.com/bluenviron/gortsplib/v5/pkg/headers"

	"argus"
	"argus/internal/live"
)

// handler answers gortsplib's callbacks; it keeps them off Server's API.
type handler struct {
	s *Server
}

var (
	_ gortsplib.ServerHandlerOnConnOpen     = (*handler)(nil)
	_ gortsplib.ServerHandlerOnDescribe     = (*handler)(nil)
	_ gortsplib.ServerHandlerOnSetup        = (*handler)(nil)
	_ gortsplib.ServerHandlerOnPlay         = (*handler)(nil)
	_ gortsplib.ServerHandlerOnPause        = (*handler)(nil)
	_ gortsplib.ServerHandlerOnResponse     = (*handler)(nil)
	_ gortsplib.ServerHandlerOnSessionClose = (*handler)(nil)
	_ gortsplib.ServerHandlerOnDecodeError  = (*handler)(nil)
	_ gortsplib.ServerHandlerOnPacketsLost  = (*handler)(nil)
)

// basicCredentials returns the user and password of a Basic Authorization
// header.
func basicCredentials(v base.HeaderValue) (user, password string, ok bool) {
	var h headers.Authorization
	if err := h.Unmarshal(v); err != nil || h.Method != headers.AuthMethodBasic {
		return "", "", false
	}
	return h.Username, h.BasicPass, true
}

// OnConnOpen implements gortsplib.ServerHandlerOnConnOpen.
func (h *handler) OnConnOpen(ctx *gortsplib.ServerHandlerOnConnOpenCtx) {
	ctx.Conn.SetUserData(&connState{})
}

// OnDescribe implements gortsplib.ServerHandlerOnDescribe: authenticate,
// authorise, and answer with the camera's stream description, starting its
// feed if needed.
func (h *handler) OnDescribe(ctx *gortsplib.ServerHandlerOnDescribeCtx) (*base.Response, *gortsplib.ServerStream, error) {
	s := h.s
	p, res, err := s.authenticate(ctx.Conn, ctx.Request)
	if res != nil {
		return res, nil, err
	}
	cam, res := s.lookup(ctx.Conn, p, ctx.Path)
	if res != nil {
		return res, nil, nil
	}
	actx, cancel := context.WithTimeout(s.ctx, startTimeout)
	defer cancel()
	f, err := s.acquire(actx, cam.ID)
	if err != nil {
		s.log.Info("rtsp describe failed", "camera", cam.ID, "err", err)
		return refusal(err), nil, nil
	}
	// The feed lingers for the SETUP that usually follows.
	defer s.release(f)
	return &base.Response{StatusCode: base.StatusOK}, f.stream, nil
}

// OnSetup implements gortsplib.ServerHandlerOnSetup. The first SETUP of a
// session binds it to its camera's feed (holding a reference until the
// session closes); later ones must name the same camera.
func (h *handler) OnSetup(ctx *gortsplib.ServerHandlerOnSetupCtx) (*base.Response, *gortsplib.ServerStream, error) {
	s := h.s
	p, res, err := s.authenticate(ctx.Conn, ctx.Request)
	if res != nil {
		return res, nil, err
	}
	if sess := sessionFor(ctx.Session); sess != nil {
		if id, _ := cameraID(ctx.Path); id != sess.camera.ID || p.UserID != sess.principal.UserID {
			return &base.Response{StatusCode: base.StatusBadRequest}, nil, nil
		}
		return &base.Response{StatusCode: base.StatusOK}, sess.feed.stream, nil
	}
	cam, res := s.lookup(ctx.Conn, p, ctx.Path)
	if res != nil {
		return res, nil, nil
	}
	actx, cancel := context.WithTimeout(s.ctx, startTimeout)
	defer cancel()
	f, err := s.acquire(actx, cam.ID)
	if err != nil {
		s.log.Info("rtsp setup failed", "camera", cam.ID, "err", err)
		return refusal(err), nil, nil
	}
	ctx.Session.SetUserData(&session{
		ss:        ctx.Session,
		id:        argus.NewID("rtsp"),
		principal: p,
		camera:    cam,
		feed:      f,
		client:    clientAddr(ctx.Conn),
	})
	return &base.Response{StatusCode: base.StatusOK}, f.stream, nil
}

// OnPlay implements gortsplib.ServerHandlerOnPlay: the viewer's live
// session starts here; packets flow once the response is on its way
// (OnResponse).
func (h *handler) OnPlay(ctx *gortsplib.ServerHandlerOnPlayCtx) (*base.Response, error) {
	s := h.s
	p, res, err := s.authenticate(ctx.Conn, ctx.Request)
	if res != nil {
		return res, err
	}
	sess := sessionFor(ctx.Session)
	if sess == nil {
		return &base.Response{StatusCode: base.StatusSessionNotFound}, nil
	}
	if p.UserID != sess.principal.UserID {
		return &base.Response{StatusCode: base.StatusNotFound}, nil
	}
	if sess.end == nil {
		sess.ctx, sess.end = s.cfg.Sessions.Open(s.ctx, live.Session{
			ID:       sess.id,
			Protocol: live.ProtoRTSP,
			CameraID: sess.camera.ID,
			UserID:   sess.principal.UserID,
			OrgID:    sess.principal.OrgID,
			Client:   sess.client,
		})
		sess.stop = context.AfterFunc(sess.ctx, sess.ss.Close) // revocation
	}
	ctx.Conn.UserData().(*connState).played = sess
	return &base.Response{StatusCode: base.StatusOK}, nil
}

// OnResponse implements gortsplib.ServerHandlerOnResponse. For a PLAY,
// gortsplib calls it once the session is in the PLAY state and before the
// response is written: over TCP the packets queued now follow the response;
// over UDP they may overtake it, which clients absorb (their sockets are
// open since SETUP).
func (h *handler) OnResponse(sc *gortsplib.ServerConn, res *base.Response) {
	cs, _ := sc.UserData().(*connState)
	if cs == nil || cs.played == nil {
		return
	}
	sess := cs.played
	cs.played = nil
	switch {
	case res.StatusCode == base.StatusOK && !sess.playing:
		// A viewer resuming after PAUSE has had part of the cached GOP
		// already: it waits for the next keyframe rather than see time go
		// backwards.
		sess.feed.addViewer(sess.ss, !sess.resumed)
		sess.playing, sess.resumed = true, true
	case res.StatusCode != base.StatusOK && !sess.playing:
		h.s.closeLive(sess, "play failed")
	}
}

// OnPause implements gortsplib.ServerHandlerOnPause: the viewer stops
// receiving; its live session stays open, and a new PLAY resumes it at the
// next keyframe.
func (h *handler) OnPause(ctx *gortsplib.ServerHandlerOnPauseCtx) (*base.Response, error) {
	if sess := sessionFor(ctx.Session); sess != nil && sess.playing {
		sess.playing = false
		sess.feed.removeViewer(sess.ss)
	}
	return &base.Response{StatusCode: base.StatusOK}, nil
}

// OnSessionClose implements gortsplib.ServerHandlerOnSessionClose: the
// viewer's live session ends and its feed reference is released.
func (h *handler) OnSessionClose(ctx *gortsplib.ServerHandlerOnSessionCloseCtx) {
	sess := sessionFor(ctx.Session)
	if sess == nil {
		return
	}
	sess.feed.removeViewer(sess.ss)
	h.s.closeLive(sess, h.s.endReason(sess, ctx.Error))
	h.s.release(sess.feed)
}

// closeLive ends sess's live session, if it has one.
func (s *Server) closeLive(sess *session, reason string) {
	if sess.end == nil {
		return
	}
	sess.stop()
	sess.end(reason)
	sess.end, sess.stop = nil, nil
}

// OnDecodeError implements gortsplib.ServerHandlerOnDecodeError (a
// malformed RTCP packet from a viewer), so that gortsplib does not log.
func (h *handler) OnDecodeError(ctx *gortsplib.ServerHandlerOnDecodeErrorCtx) {
	h.s.log.Debug("rtsp decode error", "err", ctx.Error)
}

// OnPacketsLost implements gortsplib.ServerHandlerOnPacketsLost.
func (h *handler) OnPacketsLost(ctx *gortsplib.ServerHandlerOnPacketsLostCtx) {
	h.s.log.Debug("rtsp packets lost", "lost", ctx.Lost)
}
