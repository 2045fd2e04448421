package api

import (
	"context"
	"net/http"
	"slices"

	"argus"
)

// userRequest is the body that creates or replaces a user. Password is
// required on create and, on replace, changes the password only when given.
type userRequest struct {
	ID          string     `json:"id,omitempty"`
	Username    string     `json:"username"`
	DisplayName string     `json:"display_name,omitempty"`
	OrgID       string     `json:"org_id"`
	Role        argus.Role `json:"role"`
	Disabled    bool       `json:"disabled"`
	Password    string     `json:"password,omitempty"`
}

// userList is a listing of users.
type userList struct {
	Items []*argus.User `json:"items"`
}

func userResource(u *argus.User) argus.Resource {
	return argus.Resource{Kind: "user", ID: u.ID, OrgID: u.OrgID}
}

// checkAdminRole passes the gate for system.admin when any of users is an
// administrator: making, changing or removing one needs it, so that an
// organisation admin cannot mint an administrator.
func (s *Server) checkAdminRole(ctx context.Context, p argus.Principal, users ...*argus.User) error {
	for _, u := range users {
		if u.Role == argus.RoleAdmin {
			return s.gate.Check(ctx, p, argus.ActionAdmin, argus.Resource{Kind: "system"})
		}
	}
	return nil
}

func (s *Server) listUsers(w http.ResponseWriter, r *http.Request) error {
	ctx, p := r.Context(), principal(r)
	org := r.URL.Query().Get("org")
	if org != "" && !argus.ValidID(org) {
		return argus.FieldErrorf("org", "org %q is not a valid id", org)
	}
	if err := s.gate.Check(ctx, p, argus.ActionManageUser, argus.Resource{Kind: "user", OrgID: p.OrgID}); err != nil {
		return err
	}
	users, err := s.store.Users(ctx, org)
	if err != nil {
		return err
	}
	visible, all, err := s.gate.VisibleOrgs(ctx, p)
	if err != nil {
		return err
	}
	if !all {
		users = slices.DeleteFunc(users, func(u *argus.User) bool {
			_, found := slices.BinarySearch(visible, u.OrgID)
			return !found
		})
	}
	if users == nil {
		users = []*argus.User{}
	}
	writeJSON(w, http.StatusOK, userList{Items: users})
	return nil
}

// managedUser loads a user the caller may manage; others are ENOTFOUND.
func (s *Server) managedUser(r *http.Request) (*argus.User, error) {
	id, err := pathID(r)
	if err != nil {
		return nil, err
	}
	ctx := r.Context()
	u, err := s.store.User(ctx, id)
	if err != nil {
		return nil, hidden(err, "user", id)
	}
	if err := s.gate.Check(ctx, principal(r), argus.ActionManageUser, userResource(u)); err != nil {
		return nil, hidden(err, "user", id)
	}
	return u, nil
}

func (s *Server) createUser(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	var in userRequest
	if err := decodeJSON(r, &in); err != nil {
		return err
	}
	u := &argus.User{ID: in.ID, Username: in.Username, DisplayName: in.DisplayName, OrgID: in.OrgID, Role: in.Role, Disabled: in.Disabled}
	if u.ID == "" {
		u.ID = argus.NewID("usr")
	}
	if err := u.Validate(); err != nil {
		return err
	}
	if in.Password == "" {
		return argus.FieldErrorf("password", "password is required")
	}
	p := principal(r)
	if err := s.gate.Check(ctx, p, argus.ActionManageUser, userResource(u)); err != nil {
		return err
	}
	if err := s.checkAdminRole(ctx, p, u); err != nil {
		return err
	}
	hash, err := s.auth.HashPassword(in.Password)
	if err != nil {
		return err
	}
	u.PasswordHash = hash
	err = s.recordChange(ctx, p, argus.ActionManageUser, userResource(u), changeUserCreate,
		change{"id": u.ID, "org_id": u.OrgID, "role": u.Role})
	if err != nil {
		return err
	}
	if err := s.store.CreateUser(ctx, u); err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, u)
	return nil
}

func (s *Server) getUser(w http.ResponseWriter, r *http.Request) error {
	u, err := s.managedUser(r)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, u)
	return nil
}

func (s *Server) updateUser(w http.ResponseWriter, r *http.Request) error {
	ctx, p := r.Context(), principal(r)
	var in userRequest
	if err := decodeJSON(r, &in); err != nil {
		return err
	}
	cur, err := s.managedUser(r)
	if err != nil {
		return err
	}
	if err := bodyID(cur.ID, in.ID); err != nil {
		return err
	}
	u := &argus.User{
		ID: cur.ID, Username: in.Username, DisplayName: in.DisplayName, OrgID: in.OrgID, Role: in.Role,
		Disabled: in.Disabled, Provider: cur.Provider, PasswordHash: cur.PasswordHash, CreatedAt: cur.CreatedAt,
	}
	if err := u.Validate(); err != nil {
		return err
	}
	if u.OrgID != cur.OrgID {
		if err := s.gate.Check(ctx, p, argus.ActionManageUser, userResource(u)); err != nil {
			return err
		}
	}
	if err := s.checkAdminRole(ctx, p, cur, u); err != nil {
		return err
	}
	// The password's hash never shows in JSON: a new one is named apart.
	fields := changedFields(cur, u)
	if in.Password != "" {
		if u.PasswordHash, err = s.auth.HashPassword(in.Password); err != nil {
			return err
		}
		fields = append(fields, "password")
	}
	if err := s.recordChange(ctx, p, argus.ActionManageUser, userResource(cur), changeUserUpdate, change{"id": u.ID, "fields": fields}); err != nil {
		return err
	}
	if err := s.store.UpdateUser(ctx, u); err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, u)
	return nil
}

func (s *Server) deleteUser(w http.ResponseWriter, r *http.Request) error {
	ctx, p := r.Context(), principal(r)
	cur, err := s.managedUser(r)
	if err != nil {
		return err
	}
	if cur.ID == p.UserID {
		return argus.Errorf(argus.ECONFLICT, "you cannot delete yourself")
	}
	if err := s.checkAdminRole(ctx, p, cur); err != nil {
		return err
	}
	if err := s.recordChange(ctx, p, argus.ActionManageUser, userResource(cur), changeUserDelete, change{"id": cur.ID}); err != nil {
		return err
	}
	if err := s.store.DeleteUser(ctx, cur.ID); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
