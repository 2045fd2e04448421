package api

import (
	"context"
	"net/http"
	"slices"

	"argus"
)

// pathID returns the {id} path value, which must be a well-formed id.
func pathID(r *http.Request) (string, error) {
	id := r.PathValue("id")
	if !argus.ValidID(id) {
		return "", argus.FieldErrorf("id", "id %q in the URL is not a valid id", id)
	}
	return id, nil
}

// bodyID reconciles the id in a request body with the one in the URL.
func bodyID(urlID, body string) error {
	if body != "" && body != urlID {
		return argus.FieldErrorf("id", "id %q in the body does not match %q in the URL", body, urlID)
	}
	return nil
}

// orgResource is an organisation as the gate sees it: its own id, and its
// parent as the owner (managing an organisation is decided by its parent).
func orgResource(o *argus.Org) argus.Resource {
	return argus.Resource{Kind: "org", ID: o.ID, OrgID: o.ParentID}
}

// hidden turns a missing thing and a denied read into the same ENOTFOUND,
// so that the ids of things the caller may not see do not leak.
func hidden(err error, what, id string) error {
	switch argus.ErrorCode(err) {
	case argus.EFORBIDDEN, argus.ENOTFOUND:
		return argus.Errorf(argus.ENOTFOUND, "%s %q not found", what, id)
	}
	return err
}

// orgList is a listing of organisations.
type orgList struct {
	Items []*argus.Org `json:"items"`
}

func (s *Server) listOrgs(w http.ResponseWriter, r *http.Request) error {
	ctx, p := r.Context(), principal(r)
	if err := s.gate.Check(ctx, p, argus.ActionViewDirectory, argus.Resource{Kind: "org", ID: p.OrgID}); err != nil {
		return err
	}
	orgs, err := s.store.Orgs(ctx)
	if err != nil {
		return err
	}
	visible, all, err := s.gate.VisibleOrgs(ctx, p)
	if err != nil {
		return err
	}
	if !all {
		orgs = slices.DeleteFunc(orgs, func(o *argus.Org) bool {
			_, found := slices.BinarySearch(visible, o.ID)
			return !found
		})
	}
	if orgs == nil {
		orgs = []*argus.Org{}
	}
	writeJSON(w, http.StatusOK, orgList{Items: orgs})
	return nil
}

// visibleOrg loads an organisation the caller may see; others are ENOTFOUND.
func (s *Server) visibleOrg(ctx context.Context, p argus.Principal, id string) (*argus.Org, error) {
	o, err := s.store.Org(ctx, id)
	if err != nil {
		return nil, hidden(err, "organisation", id)
	}
	if err := s.gate.Check(ctx, p, argus.ActionViewDirectory, orgResource(o)); err != nil {
		return nil, hidden(err, "organisation", id)
	}
	return o, nil
}

func (s *Server) createOrg(w http.ResponseWriter, r *http.Request) error {
	ctx, p := r.Context(), principal(r)
	var o argus.Org
	if err := decodeJSON(r, &o); err != nil {
		return err
	}
	if o.ID == "" {
		o.ID = argus.NewID("org")
	}
	if err := o.Validate(); err != nil {
		return err
	}
	if err := s.gate.Check(ctx, p, argus.ActionManageOrg, orgResource(&o)); err != nil {
		return err
	}
	if err := s.recordChange(ctx, p, argus.ActionManageOrg, orgResource(&o), changeOrgCreate, change{"id": o.ID, "parent_id": o.ParentID}); err != nil {
		return err
	}
	if err := s.store.CreateOrg(ctx, &o); err != nil {
		return err
	}
	s.gate.InvalidateOrgs()
	writeJSON(w, http.StatusCreated, &o)
	return nil
}

func (s *Server) getOrg(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	o, err := s.visibleOrg(r.Context(), principal(r), id)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, o)
	return nil
}

func (s *Server) updateOrg(w http.ResponseWriter, r *http.Request) error {
	ctx, p := r.Context(), principal(r)
	id, err := pathID(r)
	if err != nil {
		return err
	}
	var o argus.Org
	if err := decodeJSON(r, &o); err != nil {
		return err
	}
	if err := bodyID(id, o.ID); err != nil {
		return err
	}
	o.ID = id
	cur, err := s.visibleOrg(ctx, p, id)
	if err != nil {
		return err
	}
	if err := o.Validate(); err != nil {
		return err
	}
	if err := s.gate.Check(ctx, p, argus.ActionManageOrg, orgResource(cur)); err != nil {
		return err
	}
	if o.ParentID != cur.ParentID {
		if err := s.gate.Check(ctx, p, argus.ActionManageOrg, orgResource(&o)); err != nil {
			return err
		}
	}
	o.CreatedAt = cur.CreatedAt
	err = s.recordChange(ctx, p, argus.ActionManageOrg, orgResource(cur), changeOrgUpdate,
		change{"id": o.ID, "fields": changedFields(cur, &o)})
	if err != nil {
		return err
	}
	if err := s.store.UpdateOrg(ctx, &o); err != nil {
		return err
	}
	s.gate.InvalidateOrgs()
	o.CreatedAt = cur.CreatedAt
	writeJSON(w, http.StatusOK, &o)
	return nil
}

func (s *Server) deleteOrg(w http.ResponseWriter, r *http.Request) error {
	ctx, p := r.Context(), principal(r)
	id, err := pathID(r)
	if err != nil {
		return err
	}
	cur, err := s.visibleOrg(ctx, p, id)
	if err != nil {
		return err
	}
	if err := s.gate.Check(ctx, p, argus.ActionManageOrg, orgResource(cur)); err != nil {
		return err
	}
	if err := s.recordChange(ctx, p, argus.ActionManageOrg, orgResource(cur), changeOrgDelete, change{"id": id}); err != nil {
		return err
	}
	if err := s.store.DeleteOrg(ctx, id); err != nil {
		return err
	}
	s.gate.InvalidateOrgs()
	w.WriteHeader(http.StatusNoContent)
	return nil
}
