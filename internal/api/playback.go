package api

import (
	"context"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"argus"
	"argus/internal/audit"
	"argus/internal/evidence"
	"argus/internal/export"
	"argus/internal/playback"
)

// PlaybackService serves timelines and recorded video; *playback.Service
// implements it.
type PlaybackService interface {
	// Timeline returns the camera's recorded ranges and gaps in [from, to).
	Timeline(ctx context.Context, camera string, from, to time.Time) (*playback.Timeline, error)
	// Playlist opens a playback session of user and returns its HLS VOD
	// playlist.
	Playlist(ctx context.Context, camera, user string, from, to time.Time) ([]byte, error)
	// ServeFile answers a request for a file a playlist named.
	ServeFile(w http.ResponseWriter, r *http.Request, camera, user, name string) error
}

// ExportService runs exports; *export.Manager implements it.
type ExportService interface {
	// Start starts an export of cams, authorised by the caller.
	Start(ctx context.Context, p argus.Principal, cams []*argus.Camera, req export.Request) (*export.Job, error)
	// Get returns one export.
	Get(id string) (*export.Job, error)
	// List returns every export, newest first.
	List() []*export.Job
	// WriteBundle writes a finished export as a zip; it writes nothing
	// when it fails before the zip starts.
	WriteBundle(w io.Writer, id string) error
}

// exportRequest is the body of POST /api/v1/exports.
type exportRequest struct {
	CameraIDs []string `json:"camera_ids"`
	From      rfc3339  `json:"from"`
	To        rfc3339  `json:"to"`
	Reason    string   `json:"reason"`
}

// exportList is a listing of exports, newest first.
type exportList struct {
	Items []*export.Job `json:"items"`
}

// keyList is what GET /api/v1/keys answers.
type keyList struct {
	Keys []evidence.PublicKeyInfo `json:"keys"`
}

// rangeParams are the query parameters of a time range.
func rangeParams() []param {
	return []param{
		{name: "from", typ: "string", desc: "start, RFC 3339 (required)"},
		{name: "to", typ: "string", desc: "end, RFC 3339, after from and at most 31 days later (required)"},
	}
}

// queryRange parses the from and to query parameters.
func queryRange(q url.Values) (from, to time.Time, err error) {
	if from, err = parseTime("from", rfc3339(q.Get("from"))); err != nil {
		return
	}
	to, err = parseTime("to", rfc3339(q.Get("to")))
	if err == nil {
		err = playback.CheckRange(from, to)
	}
	return
}

// recordedCamera finds camera id and authorises action on it for p, with
// what p says (the purpose and the range of recorded video); a camera p
// may not even see in the directory is hidden as not found.
func (s *Server) recordedCamera(ctx context.Context, p argus.Principal, id string, action argus.Action, in argus.Intent) (*argus.Camera, error) {
	c, err := s.store.Camera(ctx, id)
	if err != nil {
		return nil, hidden(err, "camera", id)
	}
	if err := s.gate.CheckFor(ctx, p, action, cameraResource(c), in); err != nil {
		if argus.ErrorCode(err) == argus.EFORBIDDEN {
			if verr := s.gate.Check(ctx, p, argus.ActionViewDirectory, cameraResource(c)); verr != nil {
				return nil, hidden(verr, "camera", id)
			}
		}
		return nil, err
	}
	return c, nil
}

func (s *Server) timeline(w http.ResponseWriter, r *http.Request) error {
	if s.playback == nil {
		return argus.Errorf(argus.EUNAVAILABLE, "playback is not enabled on this node")
	}
	id, err := pathID(r)
	if err != nil {
		return err
	}
	from, to, err := queryRange(r.URL.Query())
	if err != nil {
		return err
	}
	ctx := r.Context()
	if _, err := s.recordedCamera(ctx, principal(r), id, argus.ActionPlayback, argus.Intent{From: from, To: to}); err != nil {
		return err
	}
	tl, err := s.playback.Timeline(ctx, id, from, to)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, tl)
	return nil
}

// purposeOf reads and checks the stated reason of a playback or export.
func purposeOf(reason string) (string, error) {
	reason = strings.TrimSpace(reason)
	switch {
	case reason == "":
		return "", argus.FieldErrorf("reason", "reason is required: say why recorded video is watched (a case or incident number)")
	case len(reason) > argus.MaxHoldReasonLen:
		return "", argus.FieldErrorf("reason", "reason is longer than %d characters", argus.MaxHoldReasonLen)
	}
	return reason, nil
}

func (s *Server) playbackPlaylist(w http.ResponseWriter, r *http.Request) error {
	if s.playback == nil {
		return argus.Errorf(argus.EUNAVAILABLE, "playback is not enabled on this node")
	}
	id, err := pathID(r)
	if err != nil {
		return err
	}
	q := r.URL.Query()
	from, to, err := queryRange(q)
	if err != nil {
		return err
	}
	reason, err := purposeOf(q.Get("reason"))
	if err != nil {
		return err
	}
	ctx, p := r.Context(), principal(r)
	if _, err := s.recordedCamera(ctx, p, id, argus.ActionPlayback, argus.Intent{Purpose: reason, From: from, To: to}); err != nil {
		return err
	}
	pl, err := s.playback.Playlist(ctx, id, p.UserID, from, to)
	if err != nil {
		return err
	}
	w.Header().Set("Content-Type", "application/vnd.apple.mpegurl")
	w.Header().Set("Cache-Control", "no-store")
	_, _ = w.Write(pl)
	return nil
}

// playbackFile serves the inits and parts a playlist names. The playlist
// request was authorised (and recorded) for the session they carry; the
// service serves them only to the same user, for that camera and range.
func (s *Server) playbackFile(w http.ResponseWriter, r *http.Request) error {
	if s.playback == nil {
		return argus.Errorf(argus.EUNAVAILABLE, "playback is not enabled on this node")
	}
	id, err := pathID(r)
	if err != nil {
		return err
	}
	name := "seg/" + r.PathValue("start") + "/" + r.PathValue("file")
	return s.playback.ServeFile(w, r, id, principal(r).UserID, name)
}

func (s *Server) createExport(w http.ResponseWriter, r *http.Request) error {
	if s.exports == nil {
		return argus.Errorf(argus.EUNAVAILABLE, "export is not enabled on this node")
	}
	var body exportRequest
	if err := decodeJSON(r, &body); err != nil {
		return err
	}
	req := export.Request{CameraIDs: body.CameraIDs, Reason: body.Reason}
	var err error
	if req.From, err = parseTime("from", body.From); err != nil {
		return err
	}
	if req.To, err = parseTime("to", body.To); err != nil {
		return err
	}
	if err := req.Validate(); err != nil {
		return err
	}
	ctx, p := r.Context(), principal(r)
	cams := make([]*argus.Camera, 0, len(req.CameraIDs))
	for _, id := range req.CameraIDs {
		c, err := s.recordedCamera(ctx, p, id, argus.ActionExport, argus.Intent{Purpose: req.Reason, From: req.From, To: req.To})
		if err != nil {
			return err
		}
		cams = append(cams, c)
	}
	j, err := s.exports.Start(ctx, p, cams, req)
	if err != nil {
		return err
	}
	w.Header().Set("Location", "/api/v1/exports/"+j.ID)
	writeJSON(w, http.StatusAccepted, j)
	return nil
}

// ownExport returns export id when p started it or administers the
// installation; others get ENOTFOUND, as if it did not exist.
func (s *Server) ownExport(p argus.Principal, id string) (*export.Job, error) {
	if s.exports == nil {
		return nil, argus.Errorf(argus.EUNAVAILABLE, "export is not enabled on this node")
	}
	j, err := s.exports.Get(id)
	if err != nil {
		return nil, err
	}
	if j.UserID != p.UserID && p.Role != argus.RoleAdmin {
		return nil, argus.Errorf(argus.ENOTFOUND, "no export %q", id)
	}
	return j, nil
}

func (s *Server) listExports(w http.ResponseWriter, r *http.Request) error {
	if s.exports == nil {
		return argus.Errorf(argus.EUNAVAILABLE, "export is not enabled on this node")
	}
	p := principal(r)
	out := exportList{Items: []*export.Job{}}
	for _, j := range s.exports.List() {
		if j.UserID == p.UserID || p.Role == argus.RoleAdmin {
			out.Items = append(out.Items, j)
		}
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

func (s *Server) getExport(w http.ResponseWriter, r *http.Request) error {
	j, err := s.ownExport(principal(r), r.PathValue("id"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, j)
	return nil
}

// exportBundle serves the zip of a finished export. The download passes
// the gate again for every camera, with the export's reason: who took the
// evidence out, and when, is on record.
func (s *Server) exportBundle(w http.ResponseWriter, r *http.Request) error {
	ctx, p := r.Context(), principal(r)
	j, err := s.ownExport(p, r.PathValue("id"))
	if err != nil {
		return err
	}
	if j.State != export.StateDone {
		return argus.Errorf(argus.ECONFLICT, "export %s is %s, not done", j.ID, j.State)
	}
	for _, id := range j.CameraIDs {
		if _, err := s.recordedCamera(ctx, p, id, argus.ActionExport,
			argus.Intent{Purpose: audit.DownloadPurpose + j.ID + ": " + j.Reason, From: j.From, To: j.To}); err != nil {
			return err
		}
	}
	cw := &countingWriter{w: w, header: func() {
		w.Header().Set("Content-Type", "application/zip")
		w.Header().Set("Content-Disposition", `attachment; filename="`+j.ID+`.zip"`)
		w.Header().Set("Cache-Control", "no-store")
	}}
	if err := s.exports.WriteBundle(cw, j.ID); err != nil {
		if cw.n == 0 {
			return err
		}
		s.log.Warn("export bundle cut short", "export", j.ID, "err", err)
	}
	return nil
}

// countingWriter sets the response headers at the first write and counts
// what was written.
type countingWriter struct {
	w      http.ResponseWriter
	header func()
	n      int64
}

func (c *countingWriter) Write(p []byte) (int, error) {
	if c.n == 0 && c.header != nil {
		c.header()
		c.header = nil
	}
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}

func (s *Server) keys(w http.ResponseWriter, r *http.Request) error {
	writeJSON(w, http.StatusOK, keyList{Keys: append([]evidence.PublicKeyInfo{}, s.signingKeys...)})
	return nil
}
