package api

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"argus"
	"argus/internal/events"
)

// emergencyRequest is the body that opens emergency access to a camera.
type emergencyRequest struct {
	// Reason says what the emergency is: required, at most 1000
	// characters.
	Reason string `json:"reason"`
	// Minutes is how long the access lasts: 1..60, default 60.
	Minutes int `json:"minutes"`
}

// emergencyList is a listing of emergency grants, newest first.
type emergencyList struct {
	Items []*argus.EmergencyGrant `json:"items"`
}

// openEmergency opens a camera the caller may not otherwise watch, for
// the caller alone, for a short time, for a stated reason: an emergency
// grant. The gate decides (camera.emergency, by role) and flags the
// decision, and every later one the grant allows, for review; the owner is
// told (a warning "emergency access" in the log, and GET
// /api/v1/emergencies).
func (s *Server) openEmergency(w http.ResponseWriter, r *http.Request) error {
	ctx, p := r.Context(), principal(r)
	var req emergencyRequest
	if err := decodeJSON(r, &req); err != nil {
		return err
	}
	id, err := pathID(r)
	if err != nil {
		return err
	}
	req.Reason = strings.TrimSpace(req.Reason)
	switch {
	case req.Reason == "":
		return argus.FieldErrorf("reason", "reason is required: say what the emergency is")
	case len(req.Reason) > argus.MaxEmergencyReasonLen:
		return argus.FieldErrorf("reason", "reason is longer than %d characters", argus.MaxEmergencyReasonLen)
	case req.Minutes == 0:
		req.Minutes = int(argus.MaxEmergencySpan / time.Minute)
	case req.Minutes < 1 || req.Minutes > int(argus.MaxEmergencySpan/time.Minute):
		return argus.FieldErrorf("minutes", "minutes must be 1..%d", argus.MaxEmergencySpan/time.Minute)
	}
	c, err := s.store.Camera(ctx, id)
	if err != nil {
		return hidden(err, "camera", id)
	}
	res := cameraResource(c)
	// Emergency access is for a camera no other rule opens: whoever may
	// watch it live already (their own, or through a share or an earlier
	// grant) needs none.
	if d := s.gate.Can(ctx, p, argus.ActionLive, res); d.Allowed {
		return argus.Errorf(argus.ECONFLICT, "you may watch camera %s already (%s): no emergency access is needed", c.ID, d.Reason)
	}
	if err := s.gate.CheckFor(ctx, p, argus.ActionEmergency, res, argus.Intent{Purpose: req.Reason}); err != nil {
		if argus.ErrorCode(err) == argus.EFORBIDDEN {
			if verr := s.gate.Check(ctx, p, argus.ActionViewDirectory, res); verr != nil {
				return hidden(verr, "camera", id)
			}
		}
		return err
	}
	now := time.Now()
	g := &argus.EmergencyGrant{
		ID: argus.NewID("em"), UserID: p.UserID, OrgID: p.OrgID, CameraID: c.ID, OwnerOrgID: c.OrgID,
		Actions: slices.Clone(argus.EmergencyActions), Reason: req.Reason,
		From: now, Until: now.Add(time.Duration(req.Minutes) * time.Minute),
	}
	if err := g.Validate(); err != nil {
		return err
	}
	err = s.recordChange(ctx, p, argus.ActionEmergency, res, changeEmergencyAccess, change{
		"id": g.ID, "camera_id": g.CameraID, "owner_org_id": g.OwnerOrgID, "actions": g.Actions, "until": g.Until,
	})
	if err != nil {
		return err
	}
	if err := s.store.CreateEmergencyGrant(ctx, g); err != nil {
		return err
	}
	s.gate.InvalidateEmergencies()
	// The owning organisation is told: this warning, an emergency.opened
	// event on the camera, and the owner's GET /api/v1/emergencies.
	info(ctx).log.Warn("emergency access", "owner_org_id", g.OwnerOrgID, "camera_id", g.CameraID, "user_id", g.UserID,
		"username", p.Username, "org_id", g.OrgID, "reason", g.Reason, "until", g.Until, "grant", g.ID)
	s.publishEmergency(ctx, p, g)
	writeJSON(w, http.StatusCreated, g)
	return nil
}

// publishEmergency publishes the emergency.opened event of a grant, on its
// camera and with its owner's organisation. The grant stands whether or
// not the bus takes the event: a failure is logged.
func (s *Server) publishEmergency(ctx context.Context, p argus.Principal, g *argus.EmergencyGrant) {
	if s.events == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	_, err := s.events.Publish(ctx, events.Event{
		Time: g.CreatedAt, Type: events.TypeEmergencyOpened, Severity: events.SeverityWarning, CameraID: g.CameraID, OrgID: g.OwnerOrgID,
		Message: fmt.Sprintf("Emergency access opened by %s (%s) until %s: %s", p.Username, g.OrgID, g.Until.UTC().Format(time.RFC3339), clipText(g.Reason)),
		Data:    map[string]any{"user": p.Username, "org_id": g.OrgID, "reason": g.Reason, "until": g.Until.UTC(), "grant": g.ID},
	})
	if err != nil {
		info(ctx).log.Error("emergency access: the event was not published", "grant", g.ID, "err", err)
	}
}

// listEmergencies lists the emergency grants on the cameras of, or opened
// by users of, the organisations the caller may see: for org admins and
// auditors (audit.view), and every grant for administrators.
func (s *Server) listEmergencies(w http.ResponseWriter, r *http.Request) error {
	ctx, p := r.Context(), principal(r)
	var f argus.EmergencyFilter
	if q := r.URL.Query(); q.Has("current") {
		b, err := strconv.ParseBool(q.Get("current"))
		if err != nil {
			return argus.FieldErrorf("current", "current must be true or false, not %q", clipText(q.Get("current")))
		}
		if b {
			f.CurrentAt = time.Now()
		}
	}
	if err := s.gate.Check(ctx, p, argus.ActionViewAudit, argus.Resource{Kind: "emergency", OrgID: p.OrgID}); err != nil {
		return err
	}
	orgs, all, err := s.gate.AuditOrgs(ctx, p)
	if err != nil {
		return err
	}
	out := emergencyList{Items: []*argus.EmergencyGrant{}}
	if all || len(orgs) > 0 {
		f.OrgIDs = orgs
		if out.Items, err = s.store.EmergencyGrants(ctx, f); err != nil {
			return err
		}
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

// reportAudit answers the transparency report of from..to, computed from
// the audit log alone: for administrators every organisation, for org
// admins and auditors the organisations they may see.
func (s *Server) reportAudit(w http.ResponseWriter, r *http.Request) error {
	ctx, p, v := r.Context(), principal(r), r.URL.Query()
	from, err := parseTime("from", rfc3339(v.Get("from")))
	if err != nil {
		return err
	}
	to, err := parseTime("to", rfc3339(v.Get("to")))
	if err != nil {
		return err
	}
	if !from.IsZero() && !to.IsZero() && !from.Before(to) {
		return argus.FieldErrorf("to", "to must be after from")
	}
	if s.audit == nil {
		return argus.Errorf(argus.EUNAVAILABLE, "the audit log is not open on this node")
	}
	if err := s.gate.Check(ctx, p, argus.ActionViewAudit, argus.Resource{Kind: "audit", OrgID: p.OrgID}); err != nil {
		return err
	}
	orgs, all, err := s.gate.AuditOrgs(ctx, p)
	if err != nil {
		return err
	}
	rep, err := s.audit.Report(ctx, from, to)
	if err != nil {
		return err
	}
	if !all {
		rep.Only(orgs)
	}
	writeJSON(w, http.StatusOK, rep)
	return nil
}
