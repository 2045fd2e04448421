package api

import (
	"net/http"
	"strings"

	"argus"
)

// HLSService serves a camera's live video as LL-HLS; *llhls.Service
// implements it.
type HLSService interface {
	// Serve answers one request of viewer for file (index.m3u8 or a file
	// it names) of cam, which the caller has authorised for live viewing.
	// It returns an *argus.Error, having written nothing, when it cannot
	// answer, and nil once it has written the answer.
	Serve(w http.ResponseWriter, r *http.Request, cam *argus.Camera, viewer argus.Principal, file string) error
	// Watching reports whether user has an open session of the camera:
	// its requests were authorised (and recorded) when it opened.
	Watching(user, camera string) bool
}

// hlsParams are the query parameters of LL-HLS playlist requests.
func hlsParams() []param {
	return []param{
		{name: "_HLS_msn", typ: "integer", desc: "blocking playlist reload: answer once this media sequence number exists"},
		{name: "_HLS_part", typ: "integer", desc: "blocking playlist reload: and this part of it (needs _HLS_msn)"},
		{name: "_HLS_skip", typ: "string", desc: "YES or v2: a playlist delta update"},
	}
}

// liveHLSFile reports whether name can be a file of a camera's LL-HLS
// stream: a plain name ending in .m3u8 or .mp4.
func liveHLSFile(name string) bool {
	if name == "" || len(name) > 128 || strings.ContainsAny(name, `/\`) || strings.HasPrefix(name, ".") {
		return false
	}
	return strings.HasSuffix(name, ".m3u8") || strings.HasSuffix(name, ".mp4")
}

// liveHLS serves GET /api/v1/cameras/{id}/live/{file}. The request that
// opens a viewer's session passes the gate for live viewing (a camera the
// caller may not even see in the directory is hidden as not found); the
// session's further requests, several a second, are covered by that
// decision, which the audit log holds once instead of per playlist reload.
// A session ended from outside (a revoked share) asks the gate again.
func (s *Server) liveHLS(w http.ResponseWriter, r *http.Request) error {
	if s.hls == nil {
		return argus.Errorf(argus.EUNAVAILABLE, "live video is not enabled on this node")
	}
	id, err := pathID(r)
	if err != nil {
		return err
	}
	file := r.PathValue("file")
	if !liveHLSFile(file) {
		return argus.Errorf(argus.ENOTFOUND, "no live file %q", file)
	}
	ctx, p := r.Context(), principal(r)
	c, err := s.store.Camera(ctx, id)
	if err != nil {
		return hidden(err, "camera", id)
	}
	if s.hls.Watching(p.UserID, c.ID) {
		return s.hls.Serve(w, r, c, p, file)
	}
	if err := s.gate.Check(ctx, p, argus.ActionLive, cameraResource(c)); err != nil {
		if argus.ErrorCode(err) == argus.EFORBIDDEN {
			if verr := s.gate.Check(ctx, p, argus.ActionViewDirectory, cameraResource(c)); verr != nil {
				return hidden(verr, "camera", id)
			}
		}
		return err
	}
	return s.hls.Serve(w, r, c, p, file)
}
