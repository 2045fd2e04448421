package api

import (
	"context"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"time"

	"argus"
)

// shareRequest is the body that grants a share.
type shareRequest struct {
	// OwnerOrgID is the organisation that grants the share and owns the
	// cameras; the caller's own when omitted.
	OwnerOrgID   string         `json:"owner_org_id"`
	GranteeOrgID string         `json:"grantee_org_id"`
	CameraIDs    []string       `json:"camera_ids"`
	Tags         []string       `json:"tags"`
	Area         *argus.Area    `json:"area"`
	Actions      []argus.Action `json:"actions"`
	// ValidFrom is the time of the request when omitted.
	ValidFrom  rfc3339 `json:"valid_from"`
	ValidUntil rfc3339 `json:"valid_until"`
	Purpose    string  `json:"purpose"`
}

// revokeRequest is the body that revokes a share.
type revokeRequest struct {
	Reason string `json:"reason"`
}

// shareList is a listing of shares, newest first.
type shareList struct {
	Items []*argus.Share `json:"items"`
}

// cameraAccess says which organisations may act on a camera, and how:
// GET /api/v1/cameras/{id}/access.
type cameraAccess struct {
	CameraID   string         `json:"camera_id"`
	OwnerOrgID string         `json:"owner_org_id"`
	Holders    []accessHolder `json:"holders"`
}

// accessHolder is one organisation that may act on a camera; the
// organisations below it may too, as far as their users' roles allow.
type accessHolder struct {
	OrgID string `json:"org_id"`
	// Via is "owner", "ancestor" (an organisation above the owner) or
	// "share".
	Via string `json:"via"`
	// The share's id, actions, validity and purpose, for Via "share";
	// Active is false for a share that has not begun.
	ShareID    string         `json:"share_id,omitempty"`
	Actions    []argus.Action `json:"actions,omitempty"`
	ValidFrom  time.Time      `json:"valid_from,omitzero"`
	ValidUntil time.Time      `json:"valid_until,omitzero"`
	Purpose    string         `json:"purpose,omitempty"`
	Active     bool           `json:"active"`
}

// shareResource is a share as the gate sees it: managed by its owner.
func shareResource(s *argus.Share) argus.Resource {
	return argus.Resource{Kind: "share", ID: s.ID, OrgID: s.OwnerOrgID}
}

func (s *Server) createShare(w http.ResponseWriter, r *http.Request) error {
	ctx, p := r.Context(), principal(r)
	var req shareRequest
	if err := decodeJSON(r, &req); err != nil {
		return err
	}
	sh := &argus.Share{
		ID: argus.NewID("share"), OwnerOrgID: req.OwnerOrgID, GranteeOrgID: req.GranteeOrgID, CameraIDs: req.CameraIDs,
		Tags: req.Tags, Area: req.Area, Actions: req.Actions, Purpose: req.Purpose, CreatedBy: p.UserID,
	}
	if sh.OwnerOrgID == "" {
		sh.OwnerOrgID = p.OrgID
	}
	now := time.Now()
	var err error
	if sh.ValidFrom, err = parseTime("valid_from", req.ValidFrom); err != nil {
		return err
	}
	if sh.ValidFrom.IsZero() {
		sh.ValidFrom = now
	}
	if sh.ValidUntil, err = parseTime("valid_until", req.ValidUntil); err != nil {
		return err
	}
	if err := sh.Validate(); err != nil {
		return err
	}
	if !sh.ValidUntil.After(now) {
		return argus.FieldErrorf("valid_until", "valid_until %s has passed", sh.ValidUntil.Format(time.RFC3339))
	}
	if err := s.gate.Check(ctx, p, argus.ActionManageShare, shareResource(sh)); err != nil {
		return err
	}
	// A share names only cameras its owner owns: one it does not own would
	// never be covered, which is a mistake to report now.
	for _, id := range sh.CameraIDs {
		c, err := s.store.Camera(ctx, id)
		if argus.ErrorCode(err) == argus.ENOTFOUND || err == nil && c.OrgID != sh.OwnerOrgID {
			return argus.FieldErrorf("camera_ids", "camera %q is not a camera of %s", id, sh.OwnerOrgID)
		} else if err != nil {
			return err
		}
	}
	// The grantee must exist: checked before the change is recorded, so
	// that the audit log (and the transparency report) holds no grant that
	// the store then refuses.
	if _, err := s.store.Org(ctx, sh.GranteeOrgID); argus.ErrorCode(err) == argus.ENOTFOUND {
		return argus.FieldErrorf("grantee_org_id", "no organisation %q", sh.GranteeOrgID)
	} else if err != nil {
		return err
	}
	err = s.recordChange(ctx, p, argus.ActionManageShare, shareResource(sh), changeShareGrant, change{
		"id": sh.ID, "owner_org_id": sh.OwnerOrgID, "grantee_org_id": sh.GranteeOrgID, "actions": sh.Actions,
		"camera_ids": len(sh.CameraIDs), "tags": len(sh.Tags), "area": sh.Area != nil,
		"valid_from": sh.ValidFrom, "valid_until": sh.ValidUntil,
	})
	if err != nil {
		return err
	}
	if err := s.store.CreateShare(ctx, sh); err != nil {
		return err
	}
	s.gate.InvalidateShares()
	writeJSON(w, http.StatusCreated, sh)
	return nil
}

// lineage returns org and the organisations above it: a share to any of
// them serves org.
func (s *Server) lineage(ctx context.Context, org string) ([]string, error) {
	up, err := s.gate.Ancestors(ctx, org)
	if err != nil {
		return nil, err
	}
	return append([]string{org}, up...), nil
}

// parseShareFilter reads the query of a share listing.
func parseShareFilter(q url.Values) (argus.ShareFilter, error) {
	var f argus.ShareFilter
	if q.Has("current") {
		b, err := strconv.ParseBool(q.Get("current"))
		if err != nil {
			return f, argus.FieldErrorf("current", "current must be true or false, not %q", q.Get("current"))
		}
		if b {
			f.CurrentAt = time.Now()
		}
	}
	return f, nil
}

// listShares lists, for those who manage shares, the shares granted or
// received by the organisations they may see; for everyone else, the
// shares that serve them (received by their organisation or one above it).
func (s *Server) listShares(w http.ResponseWriter, r *http.Request) error {
	ctx, p := r.Context(), principal(r)
	f, err := parseShareFilter(r.URL.Query())
	if err != nil {
		return err
	}
	if err := s.gate.Check(ctx, p, argus.ActionViewDirectory, argus.Resource{Kind: "share", OrgID: p.OrgID}); err != nil {
		return err
	}
	out := shareList{Items: []*argus.Share{}}
	manager := s.gate.Check(ctx, p, argus.ActionManageShare, argus.Resource{Kind: "share", OrgID: p.OrgID}) == nil
	if manager {
		orgs, none, err := s.scopeOrgs(ctx, p, nil)
		if err != nil {
			return err
		}
		if !none {
			f.OrgIDs = orgs
			if out.Items, err = s.store.Shares(ctx, f); err != nil {
				return err
			}
		}
		writeJSON(w, http.StatusOK, out)
		return nil
	}
	if f.OrgIDs, err = s.lineage(ctx, p.OrgID); err != nil {
		return err
	}
	all, err := s.store.Shares(ctx, f)
	if err != nil {
		return err
	}
	for _, sh := range all {
		if slices.Contains(f.OrgIDs, sh.GranteeOrgID) {
			out.Items = append(out.Items, sh)
		}
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

// visibleShare loads the share named in the URL if the caller manages the
// shares of its owner or grantee, or the share serves the caller's
// organisation; others are ENOTFOUND.
func (s *Server) visibleShare(ctx context.Context, r *http.Request) (*argus.Share, error) {
	id, err := pathID(r)
	if err != nil {
		return nil, err
	}
	sh, err := s.store.Share(ctx, id)
	if err != nil {
		return nil, hidden(err, "share", id)
	}
	p := principal(r)
	err = s.gate.Check(ctx, p, argus.ActionManageShare, shareResource(sh))
	if argus.ErrorCode(err) == argus.EFORBIDDEN {
		err = s.gate.Check(ctx, p, argus.ActionManageShare, argus.Resource{Kind: "share", ID: sh.ID, OrgID: sh.GranteeOrgID})
	}
	if argus.ErrorCode(err) == argus.EFORBIDDEN {
		lineage, lerr := s.lineage(ctx, p.OrgID)
		if lerr != nil {
			return nil, lerr
		}
		if slices.Contains(lineage, sh.GranteeOrgID) {
			err = s.gate.Check(ctx, p, argus.ActionViewDirectory, argus.Resource{Kind: "share", ID: sh.ID, OrgID: p.OrgID})
		}
	}
	if err != nil {
		return nil, hidden(err, "share", id)
	}
	return sh, nil
}

func (s *Server) getShare(w http.ResponseWriter, r *http.Request) error {
	sh, err := s.visibleShare(r.Context(), r)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, sh)
	return nil
}

// revokeShare revokes a share for its owner; the gate forgets it at once,
// and the node ends the live sessions it allowed.
func (s *Server) revokeShare(w http.ResponseWriter, r *http.Request) error {
	ctx, p := r.Context(), principal(r)
	var req revokeRequest
	if err := decodeJSON(r, &req); err != nil {
		return err
	}
	sh, err := s.visibleShare(ctx, r)
	if err != nil {
		return err
	}
	if err := argus.ValidateRelease(&req.Reason); err != nil {
		return err
	}
	if err := s.gate.Check(ctx, p, argus.ActionManageShare, shareResource(sh)); err != nil {
		return err
	}
	err = s.recordChange(ctx, p, argus.ActionManageShare, shareResource(sh), changeShareRevoke,
		change{"id": sh.ID, "owner_org_id": sh.OwnerOrgID, "grantee_org_id": sh.GranteeOrgID})
	if err != nil {
		return err
	}
	revoked, err := s.store.RevokeShare(ctx, sh.ID, p.UserID, req.Reason)
	if err != nil {
		return err
	}
	s.gate.InvalidateShares()
	writeJSON(w, http.StatusOK, revoked)
	return nil
}

// cameraAccessList answers who may act on a camera: its owner, the
// organisations above the owner, and the organisations it is shared with.
// It is for those who manage the owner's shares.
func (s *Server) cameraAccessList(w http.ResponseWriter, r *http.Request) error {
	ctx, p := r.Context(), principal(r)
	c, err := s.visibleCamera(r)
	if err != nil {
		return err
	}
	res := cameraResource(c)
	if err := s.gate.Check(ctx, p, argus.ActionManageShare, res); err != nil {
		return err
	}
	out := cameraAccess{CameraID: c.ID, OwnerOrgID: c.OrgID, Holders: []accessHolder{{OrgID: c.OrgID, Via: "owner", Active: true}}}
	up, err := s.gate.Ancestors(ctx, c.OrgID)
	if err != nil {
		return err
	}
	for _, o := range up {
		out.Holders = append(out.Holders, accessHolder{OrgID: o, Via: "ancestor", Active: true})
	}
	shares, err := s.gate.SharesCovering(ctx, res)
	if err != nil {
		return err
	}
	now := time.Now()
	for _, sh := range shares {
		out.Holders = append(out.Holders, accessHolder{
			OrgID: sh.GranteeOrgID, Via: "share", ShareID: sh.ID, Actions: sh.Actions,
			ValidFrom: sh.ValidFrom, ValidUntil: sh.ValidUntil, Purpose: sh.Purpose, Active: sh.ActiveAt(now),
		})
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}
