package access_test

import (
	"errors"
	"slices"
	"testing"
	"time"

	"argus"
	"argus/internal/access"
)

// TestGateTokenScope: a scoped token's principal is refused what its scope
// leaves out, before any other rule (an administrator's token included),
// and otherwise decided by its role as an unscoped one is.
func TestGateTokenScope(t *testing.T) {
	g, rec, _, _ := gateTree(t)
	cam := func(id string, tags ...string) argus.Resource {
		return argus.Resource{Kind: "camera", ID: id, OrgID: "police", Tags: tags}
	}
	live := []argus.Action{argus.ActionViewDirectory, argus.ActionLive}
	for _, tc := range []struct {
		name   string
		role   argus.Role
		scopes []argus.Action
		cams   []string
		tags   []string
		action argus.Action
		res    argus.Resource
		reason string
	}{
		{"unscoped token: the role decides", argus.RoleOperator, nil, nil, nil, argus.ActionPTZ, cam("cam-1"), access.ReasonOwnOrg},
		{"action in scope", argus.RoleOperator, live, nil, nil, argus.ActionLive, cam("cam-1"), access.ReasonOwnOrg},
		{"action out of scope", argus.RoleOperator, live, nil, nil, argus.ActionPTZ, cam("cam-1"), access.ReasonTokenScope},
		{"scope does not widen the role", argus.RoleViewer, []argus.Action{argus.ActionPlayback}, nil, nil,
			argus.ActionPlayback, cam("cam-1"), access.ReasonRole},
		{"scoped admin token, action out of scope", argus.RoleAdmin, live, nil, nil, argus.ActionManageUser,
			argus.Resource{Kind: "user", ID: "u2", OrgID: "fire"}, access.ReasonTokenScope},
		{"scoped admin token, action in scope", argus.RoleAdmin, live, nil, nil, argus.ActionLive, cam("cam-9"), access.ReasonAdmin},
		{"camera named by id", argus.RoleViewer, nil, []string{"cam-1"}, nil, argus.ActionLive, cam("cam-1"), access.ReasonOwnOrg},
		{"camera by one of its tags", argus.RoleViewer, nil, nil, []string{"lobby"}, argus.ActionLive, cam("cam-2", "street", "lobby"), access.ReasonOwnOrg},
		{"camera outside the scope", argus.RoleViewer, nil, []string{"cam-1"}, []string{"lobby"}, argus.ActionLive, cam("cam-2", "street"),
			access.ReasonTokenCamera},
		{"no camera in particular", argus.RoleViewer, nil, []string{"cam-1"}, nil, argus.ActionViewDirectory,
			argus.Resource{Kind: "camera", OrgID: "police"}, access.ReasonTokenCamera},
		{"cameras scope admin tokens too", argus.RoleAdmin, nil, []string{"cam-1"}, nil, argus.ActionLive, cam("cam-2"), access.ReasonTokenCamera},
		{"camera scope leaves other resources to the role", argus.RoleOrgAdmin, nil, []string{"cam-1"}, nil, argus.ActionManageUser,
			argus.Resource{Kind: "user", ID: "u2", OrgID: "police"}, access.ReasonOwnOrg},
		{"action and camera both in scope", argus.RoleOperator, []argus.Action{argus.ActionPTZ}, []string{"cam-1"}, nil,
			argus.ActionPTZ, cam("cam-1"), access.ReasonOwnOrg},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := argus.Principal{UserID: "u1", Username: "u1", OrgID: "police", Role: tc.role, TokenID: "tok-1",
				Scopes: tc.scopes, CameraIDs: tc.cams, Tags: tc.tags}
			d := g.Can(t.Context(), p, tc.action, tc.res)
			allowed := tc.reason == access.ReasonOwnOrg || tc.reason == access.ReasonAdmin
			if d.Allowed != allowed || d.Reason != tc.reason {
				t.Fatalf("Can = %v %q, want %v %q", d.Allowed, d.Reason, allowed, tc.reason)
			}
			last := rec.list()[len(rec.list())-1]
			if last.Principal.TokenID != "tok-1" || last.Reason != tc.reason {
				t.Fatalf("recorded %+v, want the token id and reason %q", last, tc.reason)
			}
		})
	}
}

// TestRoleAllows: what a scoped token of each role may be given.
func TestRoleAllows(t *testing.T) {
	for _, tc := range []struct {
		role   argus.Role
		action argus.Action
		want   bool
	}{
		{argus.RoleViewer, argus.ActionLive, true},
		{argus.RoleViewer, argus.ActionPTZ, false},
		{argus.RoleAuditor, argus.ActionViewAudit, true},
		{argus.RoleOrgAdmin, argus.ActionAdmin, false},
		{argus.RoleAdmin, argus.ActionAdmin, true},
		{argus.RoleAdmin, "video.everything", false},
	} {
		t.Run(string(tc.role)+"/"+string(tc.action), func(t *testing.T) {
			if got := access.RoleAllows(tc.role, tc.action); got != tc.want {
				t.Fatalf("RoleAllows = %v, want %v", got, tc.want)
			}
		})
	}
}

// TestIssueScopedToken: a scope within the role is stored sorted and
// comes back with the principal; one wider than the role, an unknown
// action or a malformed camera id or tag is refused naming the field.
func TestIssueScopedToken(t *testing.T) {
	a, db, _ := newAuth(t)
	ann := addUser(t, a, db, "ann", "ann's long password", argus.RoleOperator, false)
	ctx := t.Context()
	sc := access.Scope{Actions: []argus.Action{argus.ActionPTZ, argus.ActionLive, argus.ActionLive},
		CameraIDs: []string{"cam-2", "cam-1"}, Tags: []string{"lobby"}}
	secret, tok, err := a.IssueScopedToken(ctx, ann, argus.TokenAPI, "ptz-bot", time.Hour, sc)
	if err != nil {
		t.Fatal(err)
	}
	wantScopes := []argus.Action{argus.ActionPTZ, argus.ActionLive}
	slices.Sort(wantScopes)
	if !slices.Equal(tok.Scopes, wantScopes) || !slices.Equal(tok.CameraIDs, []string{"cam-1", "cam-2"}) {
		t.Fatalf("token scope %v %v, want sorted without repeats", tok.Scopes, tok.CameraIDs)
	}
	p, err := a.Authenticate(ctx, secret)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(p.Scopes, wantScopes) || !slices.Equal(p.CameraIDs, tok.CameraIDs) || !slices.Equal(p.Tags, []string{"lobby"}) {
		t.Fatalf("principal %+v does not carry the token's scope", p)
	}
	for _, tc := range []struct {
		name  string
		sc    access.Scope
		field string
	}{
		{"wider than the role", access.Scope{Actions: []argus.Action{argus.ActionLive, argus.ActionExport}}, "scopes"},
		{"unknown action", access.Scope{Actions: []argus.Action{"video.everything"}}, "scopes"},
		{"bad camera id", access.Scope{CameraIDs: []string{"Cam 1"}}, "camera_ids"},
		{"bad tag", access.Scope{Tags: []string{"Lobby!"}}, "tags"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, _, err := a.IssueScopedToken(ctx, ann, argus.TokenAPI, "bad", time.Hour, tc.sc)
			var e *argus.Error
			if !errors.As(err, &e) || e.Code != argus.EINVALID || e.Field != tc.field {
				t.Fatalf("IssueScopedToken = %v, want EINVALID on %s", err, tc.field)
			}
		})
	}
}
