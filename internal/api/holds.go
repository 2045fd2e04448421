package api

import (
	"context"
	"net/http"
	"net/url"
	"strconv"
	"time"
	"unicode/utf8"

	"argus"
)

// holdRequest is the body that places an evidence hold.
type holdRequest struct {
	CameraID string  `json:"camera_id"`
	From     rfc3339 `json:"from"`
	To       rfc3339 `json:"to"`
	Reason   string  `json:"reason"`
}

// rfc3339 is a time sent as an RFC 3339 string. The handler parses it, so
// that a malformed one is reported with its field.
type rfc3339 string

// parseTime reads the time of field; "" is the zero time (for Validate to
// call missing).
func parseTime(field string, v rfc3339) (time.Time, error) {
	if v == "" {
		return time.Time{}, nil
	}
	t, err := time.Parse(time.RFC3339Nano, string(v))
	if err != nil {
		return time.Time{}, argus.FieldErrorf(field, "%s must be an RFC 3339 time such as 2026-03-01T10:00:00Z, not %q", field, clipText(string(v)))
	}
	return t, nil
}

// clipText shortens user text quoted in a message to 64 bytes, on a rune
// boundary.
func clipText(s string) string {
	n := 64
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "…"
}

// releaseRequest is the body that releases an evidence hold.
type releaseRequest struct {
	Reason string `json:"reason"`
}

// holdList is a listing of evidence holds, newest first.
type holdList struct {
	Items []*argus.Hold `json:"items"`
}

// holdResource is a hold as the gate sees it: owned by the organisation
// that owned its camera when it was placed.
func holdResource(h *argus.Hold) argus.Resource {
	return argus.Resource{Kind: "hold", ID: h.ID, OrgID: h.OrgID}
}

func (s *Server) createHold(w http.ResponseWriter, r *http.Request) error {
	ctx, p := r.Context(), principal(r)
	var req holdRequest
	if err := decodeJSON(r, &req); err != nil {
		return err
	}
	h := &argus.Hold{ID: argus.NewID("hold"), CameraID: req.CameraID, Reason: req.Reason, CreatedBy: p.UserID}
	var err error
	if h.From, err = parseTime("from", req.From); err != nil {
		return err
	}
	if h.To, err = parseTime("to", req.To); err != nil {
		return err
	}
	if err := h.Validate(); err != nil {
		return err
	}
	// A camera the caller may not see does not exist, as far as it knows.
	missing := argus.FieldErrorf("camera_id", "camera %q does not exist", h.CameraID)
	c, err := s.store.Camera(ctx, h.CameraID)
	if argus.ErrorCode(err) == argus.ENOTFOUND {
		return missing
	} else if err != nil {
		return err
	}
	if err := s.gate.Check(ctx, p, argus.ActionViewDirectory, cameraResource(c)); err != nil {
		if argus.ErrorCode(err) == argus.EFORBIDDEN {
			return missing
		}
		return err
	}
	if err := s.gate.Check(ctx, p, argus.ActionHoldPlace, cameraResource(c)); err != nil {
		return err
	}
	err = s.recordChange(ctx, p, argus.ActionHoldPlace, cameraResource(c), changeHoldPlace,
		change{"id": h.ID, "camera_id": h.CameraID, "from": h.From, "to": h.To})
	if err != nil {
		return err
	}
	if err := s.store.CreateHold(ctx, h); err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, h)
	return nil
}

// parseHoldFilter reads the query of a hold listing. OrgIDs is left for
// the caller's scope.
func parseHoldFilter(q url.Values) (argus.HoldFilter, error) {
	var f argus.HoldFilter
	if q.Has("camera_id") {
		f.CameraID = q.Get("camera_id")
		if !argus.ValidID(f.CameraID) {
			return f, argus.FieldErrorf("camera_id", "camera_id %q is not a valid id", f.CameraID)
		}
	}
	if q.Has("active") {
		b, err := strconv.ParseBool(q.Get("active"))
		if err != nil {
			return f, argus.FieldErrorf("active", "active must be true or false, not %q", q.Get("active"))
		}
		f.ActiveOnly = b
	}
	var err error
	if f.From, err = parseTime("from", rfc3339(q.Get("from"))); err != nil {
		return f, err
	}
	if f.To, err = parseTime("to", rfc3339(q.Get("to"))); err != nil {
		return f, err
	}
	if !f.From.IsZero() && !f.To.IsZero() && !f.From.Before(f.To) {
		return f, argus.FieldErrorf("to", "to must be after from")
	}
	return f, nil
}

func (s *Server) listHolds(w http.ResponseWriter, r *http.Request) error {
	ctx, p := r.Context(), principal(r)
	f, err := parseHoldFilter(r.URL.Query())
	if err != nil {
		return err
	}
	if err := s.gate.Check(ctx, p, argus.ActionHoldView, argus.Resource{Kind: "hold", OrgID: p.OrgID}); err != nil {
		return err
	}
	orgs, none, err := s.scopeOrgs(ctx, p, nil)
	if err != nil {
		return err
	}
	out := holdList{Items: []*argus.Hold{}}
	if !none {
		f.OrgIDs = orgs
		if out.Items, err = s.store.Holds(ctx, f); err != nil {
			return err
		}
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

// visibleHold loads the hold named in the URL if the caller may see its
// organisation's directory; others are ENOTFOUND.
func (s *Server) visibleHold(ctx context.Context, r *http.Request) (*argus.Hold, error) {
	id, err := pathID(r)
	if err != nil {
		return nil, err
	}
	h, err := s.store.Hold(ctx, id)
	if err != nil {
		return nil, hidden(err, "hold", id)
	}
	res := holdResource(h)
	if err := s.gate.Check(ctx, principal(r), argus.ActionViewDirectory, res); err != nil {
		return nil, hidden(err, "hold", id)
	}
	return h, nil
}

func (s *Server) getHold(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	h, err := s.visibleHold(ctx, r)
	if err != nil {
		return err
	}
	if err := s.gate.Check(ctx, principal(r), argus.ActionHoldView, holdResource(h)); err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, h)
	return nil
}

func (s *Server) releaseHold(w http.ResponseWriter, r *http.Request) error {
	ctx, p := r.Context(), principal(r)
	var req releaseRequest
	if err := decodeJSON(r, &req); err != nil {
		return err
	}
	h, err := s.visibleHold(ctx, r)
	if err != nil {
		return err
	}
	if err := argus.ValidateRelease(&req.Reason); err != nil {
		return err
	}
	if err := s.gate.Check(ctx, p, argus.ActionHoldRelease, holdResource(h)); err != nil {
		return err
	}
	err = s.recordChange(ctx, p, argus.ActionHoldRelease, holdResource(h), changeHoldRelease, change{"id": h.ID, "camera_id": h.CameraID})
	if err != nil {
		return err
	}
	released, err := s.store.ReleaseHold(ctx, h.ID, p.UserID, req.Reason)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, released)
	return nil
}
