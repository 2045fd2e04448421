package access_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"argus"
	"argus/internal/access"
)

// The test tree: city → police → precinct-1 → unit-7, and fire on its own.
// The principal always belongs to police.
func gateTree(t *testing.T) (*access.Gate, *decisions, *clock, argus.OrgStore) {
	t.Helper()
	db := openStore(t)
	mustOrgs(t, db, [2]string{"city", ""}, [2]string{"police", "city"}, [2]string{"precinct-1", "police"},
		[2]string{"unit-7", "precinct-1"}, [2]string{"fire", ""})
	rec, clk := &decisions{}, newClock()
	g, err := access.NewGate(access.GateConfig{Orgs: db, Recorder: rec, Now: clk.Now})
	if err != nil {
		t.Fatal(err)
	}
	return g, rec, clk, db
}

func TestGateMatrix(t *testing.T) {
	g, rec, clk, _ := gateTree(t)
	allActions := []argus.Action{
		argus.ActionViewDirectory, argus.ActionLive, argus.ActionPlayback, argus.ActionExport, argus.ActionPTZ,
		argus.ActionManageCamera, argus.ActionManageOrg, argus.ActionManageUser, argus.ActionViewAudit,
		argus.ActionHoldView, argus.ActionHoldPlace, argus.ActionHoldRelease, argus.ActionManageShare, argus.ActionAdmin,
	}
	// What each role may do at all, written out from the specification.
	roleActions := map[argus.Role][]argus.Action{
		argus.RoleViewer:   {argus.ActionViewDirectory, argus.ActionLive},
		argus.RoleOperator: {argus.ActionViewDirectory, argus.ActionLive, argus.ActionPTZ},
		argus.RoleInvestigator: {argus.ActionViewDirectory, argus.ActionLive, argus.ActionPTZ, argus.ActionPlayback, argus.ActionExport,
			argus.ActionHoldView, argus.ActionHoldPlace},
		argus.RoleOrgAdmin: {argus.ActionViewDirectory, argus.ActionLive, argus.ActionPTZ, argus.ActionPlayback, argus.ActionExport,
			argus.ActionManageCamera, argus.ActionManageUser, argus.ActionManageOrg, argus.ActionViewAudit,
			argus.ActionHoldView, argus.ActionHoldPlace, argus.ActionHoldRelease, argus.ActionManageShare},
		argus.RoleAuditor: {argus.ActionViewDirectory, argus.ActionViewAudit, argus.ActionHoldView},
		argus.RoleAdmin:   allActions,
	}
	// Where the resource is, seen from police, and the reason a permitted
	// action gets there.
	places := []struct {
		name   string
		org    string // the owning organisation of a camera or user
		parent string // the parent of org, which decides org.manage
		reason string
	}{
		{"own", "police", "city", access.ReasonOwnOrg},
		{"child", "precinct-1", "police", access.ReasonDescendantOrg},
		{"grandchild", "unit-7", "precinct-1", access.ReasonDescendantOrg},
		{"parent", "city", "", access.ReasonScope},
		{"foreign", "fire", "", access.ReasonScope},
	}
	// org.manage is decided by the organisation's parent: an org admin
	// manages the organisations below their own, not their own.
	manageOrgReason := map[string]string{
		"own":        access.ReasonScope,
		"child":      access.ReasonOwnOrg,
		"grandchild": access.ReasonDescendantOrg,
		"parent":     access.ReasonScope,
		"foreign":    access.ReasonScope,
	}
	for _, role := range argus.Roles {
		for _, action := range allActions {
			for _, pl := range places {
				t.Run(string(role)+"/"+string(action)+"/"+pl.name, func(t *testing.T) {
					p := argus.Principal{UserID: "u1", Username: "u1", OrgID: "police", Role: role, TokenID: "tok-1"}
					res := argus.Resource{Kind: "camera", ID: "cam-1", OrgID: pl.org}
					if action == argus.ActionManageOrg {
						res = argus.Resource{Kind: "org", ID: pl.org, OrgID: pl.parent}
					}
					var want argus.Decision
					want.Principal, want.Action, want.Resource = p, action, res
					want.Time, want.Client = clk.Now(), "192.0.2.7"
					switch {
					case role == argus.RoleAdmin:
						want.Allowed, want.Reason = true, access.ReasonAdmin
					case !slices.Contains(roleActions[role], action):
						want.Reason = access.ReasonRole
					case action == argus.ActionManageOrg:
						want.Reason = manageOrgReason[pl.name]
						want.Allowed = want.Reason != access.ReasonScope
					default:
						want.Reason = pl.reason
						want.Allowed = pl.reason != access.ReasonScope
					}
					n := len(rec.list())
					got := g.Can(access.WithClient(t.Context(), "192.0.2.7"), p, action, res)
					if !reflect.DeepEqual(got, want) {
						t.Fatalf("Can = %+v\nwant %+v", got, want)
					}
					recorded := rec.list()
					if len(recorded) != n+1 || !reflect.DeepEqual(recorded[n], got) {
						t.Fatalf("recorded %d new decisions (%+v), want exactly the returned one", len(recorded)-n, recorded[n:])
					}
				})
			}
		}
	}
}

func TestGateEdgeCases(t *testing.T) {
	g, _, _, _ := gateTree(t)
	for _, tc := range []struct {
		name    string
		p       argus.Principal
		action  argus.Action
		res     argus.Resource
		allowed bool
		reason  string
	}{
		{"no principal", argus.Principal{}, argus.ActionViewDirectory,
			argus.Resource{Kind: "camera", OrgID: "police"}, false, access.ReasonNoPrincipal},
		{"unknown role", argus.Principal{UserID: "u", OrgID: "police", Role: "janitor"}, argus.ActionViewDirectory,
			argus.Resource{Kind: "camera", OrgID: "police"}, false, access.ReasonRole},
		{"unknown action", argus.Principal{UserID: "u", OrgID: "police", Role: argus.RoleOrgAdmin}, "camera.paint",
			argus.Resource{Kind: "camera", OrgID: "police"}, false, access.ReasonRole},
		{"resource without owner", argus.Principal{UserID: "u", OrgID: "police", Role: argus.RoleOrgAdmin}, argus.ActionViewDirectory,
			argus.Resource{Kind: "system"}, false, access.ReasonScope},
		{"unknown organisation", argus.Principal{UserID: "u", OrgID: "police", Role: argus.RoleViewer}, argus.ActionViewDirectory,
			argus.Resource{Kind: "camera", OrgID: "nowhere"}, false, access.ReasonScope},
		{"viewing own org", argus.Principal{UserID: "u", OrgID: "police", Role: argus.RoleViewer}, argus.ActionViewDirectory,
			argus.Resource{Kind: "org", ID: "police", OrgID: "city"}, true, access.ReasonOwnOrg},
		{"viewing parent org", argus.Principal{UserID: "u", OrgID: "police", Role: argus.RoleViewer}, argus.ActionViewDirectory,
			argus.Resource{Kind: "org", ID: "city"}, false, access.ReasonScope},
		{"creating a child org", argus.Principal{UserID: "u", OrgID: "police", Role: argus.RoleOrgAdmin}, argus.ActionManageOrg,
			argus.Resource{Kind: "org", ID: "new-precinct", OrgID: "police"}, true, access.ReasonOwnOrg},
		{"creating a root org", argus.Principal{UserID: "u", OrgID: "police", Role: argus.RoleOrgAdmin}, argus.ActionManageOrg,
			argus.Resource{Kind: "org", ID: "new-root"}, false, access.ReasonScope},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := g.Can(t.Context(), tc.p, tc.action, tc.res)
			if d.Allowed != tc.allowed || d.Reason != tc.reason {
				t.Fatalf("Can = %v %q, want %v %q", d.Allowed, d.Reason, tc.allowed, tc.reason)
			}
		})
	}
}

func TestGateCheck(t *testing.T) {
	g, rec, _, _ := gateTree(t)
	p := argus.Principal{UserID: "u", OrgID: "police", Role: argus.RoleViewer}
	if err := g.Check(t.Context(), p, argus.ActionLive, argus.Resource{Kind: "camera", OrgID: "precinct-1"}); err != nil {
		t.Fatalf("Check(allowed) = %v", err)
	}
	err := g.Check(t.Context(), p, argus.ActionPTZ, argus.Resource{Kind: "camera", OrgID: "police"})
	if argus.ErrorCode(err) != argus.EFORBIDDEN || argus.ErrorMessage(err) != "camera.ptz is not allowed: "+access.ReasonRole {
		t.Fatalf("Check(denied) = %v (%s), want EFORBIDDEN naming the action and reason", err, argus.ErrorCode(err))
	}
	if d := rec.list(); len(d) != 2 || !d[0].Allowed || d[1].Allowed {
		t.Fatalf("recorded %+v, want one allow then one deny", d)
	}
}

func TestGateOrgCache(t *testing.T) {
	g, _, clk, db := gateTree(t)
	ctx := t.Context()
	p := argus.Principal{UserID: "u", OrgID: "police", Role: argus.RoleViewer}
	cam := func(org string) argus.Resource { return argus.Resource{Kind: "camera", OrgID: org} }
	can := func(org string) bool { return g.Can(ctx, p, argus.ActionViewDirectory, cam(org)).Allowed }

	if !can("unit-7") {
		t.Fatal("unit-7 is below police but denied")
	}
	// Another node moves unit-7 under fire: the cache may be stale until
	// the TTL passes, and not after.
	if err := db.UpdateOrg(ctx, &argus.Org{ID: "unit-7", Name: "unit-7", Kind: argus.OrgCity, ParentID: "fire"}); err != nil {
		t.Fatal(err)
	}
	clk.Advance(access.DefaultOrgTTL - time.Second)
	if !can("unit-7") {
		t.Fatal("cache reloaded before its TTL")
	}
	clk.Advance(time.Second)
	if can("unit-7") {
		t.Fatal("unit-7 moved under fire but is still allowed after the TTL")
	}

	// A local change is seen at once after InvalidateOrgs.
	if err := db.UpdateOrg(ctx, &argus.Org{ID: "unit-7", Name: "unit-7", Kind: argus.OrgCity, ParentID: "police"}); err != nil {
		t.Fatal(err)
	}
	g.InvalidateOrgs()
	if !can("unit-7") {
		t.Fatal("InvalidateOrgs did not drop the cached tree")
	}

	// An organisation the cache does not know is looked up again, but at
	// most once a second.
	mustOrgs(t, db, [2]string{"precinct-2", "police"})
	if can("precinct-2") {
		t.Fatal("reloaded for an unknown org within a second of the last load")
	}
	clk.Advance(time.Second)
	if !can("precinct-2") {
		t.Fatal("a new organisation below police is denied after the reload interval")
	}
}

func TestVisibleOrgs(t *testing.T) {
	g, _, _, _ := gateTree(t)
	for _, tc := range []struct {
		name string
		p    argus.Principal
		orgs []string
		all  bool
	}{
		{"admin sees all", argus.Principal{UserID: "a", OrgID: "system", Role: argus.RoleAdmin}, nil, true},
		{"viewer sees own subtree", argus.Principal{UserID: "v", OrgID: "police", Role: argus.RoleViewer},
			[]string{"police", "precinct-1", "unit-7"}, false},
		{"auditor at the root sees everything below", argus.Principal{UserID: "v", OrgID: "city", Role: argus.RoleAuditor},
			[]string{"city", "police", "precinct-1", "unit-7"}, false},
		{"leaf sees itself", argus.Principal{UserID: "v", OrgID: "fire", Role: argus.RoleOperator}, []string{"fire"}, false},
		{"unknown role sees nothing", argus.Principal{UserID: "v", OrgID: "police", Role: "janitor"}, nil, false},
		{"no principal sees nothing", argus.Principal{}, nil, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			orgs, all, err := g.VisibleOrgs(t.Context(), tc.p)
			if err != nil {
				t.Fatal(err)
			}
			want := slices.Clone(tc.orgs)
			slices.Sort(want)
			if all != tc.all || !slices.Equal(orgs, want) {
				t.Fatalf("VisibleOrgs = %v, %v; want %v, %v", orgs, all, want, tc.all)
			}
		})
	}
}

func TestGateOrgLookupFailure(t *testing.T) {
	db := openStore(t)
	rec := &decisions{}
	g, err := access.NewGate(access.GateConfig{Orgs: db, Recorder: rec})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	p := argus.Principal{UserID: "u", OrgID: "police", Role: argus.RoleViewer}
	err = g.Check(ctx, p, argus.ActionLive, argus.Resource{Kind: "camera", OrgID: "precinct-1"})
	if err == nil || argus.ErrorCode(err) != argus.EINTERNAL {
		t.Fatalf("Check with a failing store = %v, want an internal error", err)
	}
	if d := rec.list(); len(d) != 1 || d[0].Allowed || d[0].Reason != access.ReasonOrgLookup {
		t.Fatalf("recorded %+v, want one deny for %q", d, access.ReasonOrgLookup)
	}
}

func TestSlogRecorder(t *testing.T) {
	var buf bytes.Buffer
	r := access.NewSlogRecorder(slog.New(slog.NewJSONHandler(&buf, nil)))
	r.Record(t.Context(), argus.Decision{
		Principal: argus.Principal{UserID: "u1", Username: "ann", OrgID: "police", Role: argus.RoleViewer, TokenID: "tok-1"},
		Action:    argus.ActionLive,
		Resource:  argus.Resource{Kind: "camera", ID: "cam-1", OrgID: "fire"},
		Reason:    access.ReasonScope,
	})
	var got map[string]any
	if err := json.Unmarshal(buf.Bytes(), &got); err != nil {
		t.Fatalf("log line %q: %v", buf.String(), err)
	}
	want := map[string]any{
		"level": "INFO", "msg": "access decision", "allowed": false, "action": "video.live", "reason": access.ReasonScope,
		"user_id": "u1", "username": "ann", "org_id": "police", "role": "viewer", "token_id": "tok-1",
		"resource_kind": "camera", "resource_id": "cam-1", "resource_org_id": "fire",
	}
	delete(got, "time")
	if len(got) != len(want) {
		t.Errorf("logged keys %v, want %v", got, want)
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s = %v, want %v", k, got[k], v)
		}
	}
}

func TestGateRefusesUnrecorded(t *testing.T) {
	g, rec, _, _ := gateTree(t)
	rec.fail = errors.New("disk full")
	admin := argus.Principal{UserID: "u1", OrgID: "police", Role: argus.RoleAdmin}
	res := argus.Resource{Kind: "camera", ID: "cam-1", OrgID: "police"}
	t.Run("check", func(t *testing.T) {
		err := g.Check(t.Context(), admin, argus.ActionLive, res)
		if argus.ErrorCode(err) != argus.EUNAVAILABLE || !strings.Contains(argus.ErrorMessage(err), "audit log") {
			t.Fatalf("Check = %v (%s), want an unavailable error about the audit log", err, argus.ErrorCode(err))
		}
		if !strings.Contains(err.Error(), "disk full") {
			t.Fatalf("Check = %v, want the cause wrapped", err)
		}
	})
	t.Run("can", func(t *testing.T) {
		if d := g.Can(t.Context(), admin, argus.ActionLive, res); d.Allowed || d.Reason != access.ReasonUnrecorded {
			t.Fatalf("Can = %+v, want a deny for %q", d, access.ReasonUnrecorded)
		}
	})
}
