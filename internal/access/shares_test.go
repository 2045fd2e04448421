package access_test

import (
	"context"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"argus"
	"argus/internal/access"
	"argus/internal/sqlite"
)

// shareTree is gateTree with shares: fire owns cameras and shares them with
// police (city → police → precinct-1 → unit-7).
func shareTree(t *testing.T) (*access.Gate, *sqlite.DB, *clock, *decisions) {
	t.Helper()
	db := openStore(t)
	mustOrgs(t, db, [2]string{"city", ""}, [2]string{"police", "city"}, [2]string{"precinct-1", "police"},
		[2]string{"unit-7", "precinct-1"}, [2]string{"fire", ""}, [2]string{"resident-9", ""})
	rec, clk := &decisions{}, newClock()
	g, err := access.NewGate(access.GateConfig{Orgs: db, Shares: db, Recorder: rec, Now: clk.Now})
	if err != nil {
		t.Fatal(err)
	}
	return g, db, clk, rec
}

// mustShare grants s (fire → police unless set), valid for a day from the
// test clock's now unless set.
func mustShare(t *testing.T, db *sqlite.DB, clk *clock, s *argus.Share) *argus.Share {
	t.Helper()
	if s.OwnerOrgID == "" {
		s.OwnerOrgID = "fire"
	}
	if s.GranteeOrgID == "" {
		s.GranteeOrgID = "police"
	}
	if s.ValidFrom.IsZero() {
		s.ValidFrom, s.ValidUntil = clk.Now(), clk.Now().Add(24*time.Hour)
	}
	s.Purpose, s.CreatedBy = "mutual aid "+s.ID, "fire-admin"
	if err := db.CreateShare(t.Context(), s); err != nil {
		t.Fatal(err)
	}
	return s
}

func TestGateShares(t *testing.T) {
	g, db, clk, rec := shareTree(t)
	now := clk.Now()
	live := []argus.Action{argus.ActionLive}
	mustShare(t, db, clk, &argus.Share{ID: "by-id", CameraIDs: []string{"cam-id"}, Actions: []argus.Action{argus.ActionLive, argus.ActionPlayback}})
	mustShare(t, db, clk, &argus.Share{ID: "by-tag", Tags: []string{"school"}, Actions: live})
	mustShare(t, db, clk, &argus.Share{ID: "by-bbox", Area: &argus.Area{BBox: []float64{10, 50, 11, 51}}, Actions: live})
	// A triangle inside its own bounding box: (20,60) (22,60) (20,62).
	mustShare(t, db, clk, &argus.Share{ID: "by-polygon", Area: &argus.Area{Polygon: [][]float64{{20, 60}, {22, 60}, {20, 62}}}, Actions: live})
	mustShare(t, db, clk, &argus.Share{ID: "expired", CameraIDs: []string{"cam-expired"}, Actions: live,
		ValidFrom: now.Add(-48 * time.Hour), ValidUntil: now.Add(-time.Second)})
	mustShare(t, db, clk, &argus.Share{ID: "ends-now", CameraIDs: []string{"cam-ends"}, Actions: live,
		ValidFrom: now.Add(-time.Hour), ValidUntil: now})
	mustShare(t, db, clk, &argus.Share{ID: "future", CameraIDs: []string{"cam-future"}, Actions: live,
		ValidFrom: now.Add(time.Second), ValidUntil: now.Add(time.Hour)})
	mustShare(t, db, clk, &argus.Share{ID: "revoked", CameraIDs: []string{"cam-revoked"}, Actions: live})
	if _, err := db.RevokeShare(t.Context(), "revoked", "fire-admin", "no longer needed"); err != nil {
		t.Fatal(err)
	}
	mustShare(t, db, clk, &argus.Share{ID: "to-precinct", GranteeOrgID: "precinct-1", CameraIDs: []string{"cam-precinct"}, Actions: live})
	mustShare(t, db, clk, &argus.Share{ID: "from-resident", OwnerOrgID: "resident-9", CameraIDs: []string{"cam-home"}, Actions: live})

	cam := func(id, org string, tags []string, at *argus.GeoPoint) argus.Resource {
		return argus.Resource{Kind: "camera", ID: id, OrgID: org, Tags: tags, Point: at}
	}
	pt := func(lon, lat float64) *argus.GeoPoint { return &argus.GeoPoint{Lat: lat, Lon: lon} }
	for _, tc := range []struct {
		name   string
		org    string // the principal's
		role   argus.Role
		action argus.Action
		res    argus.Resource
		reason string
		grant  string // "" when denied or allowed without a share
	}{
		{"own camera", "police", argus.RoleViewer, argus.ActionLive, cam("cam-own", "police", nil, nil), access.ReasonOwnOrg, ""},
		{"shared by id", "police", argus.RoleViewer, argus.ActionLive, cam("cam-id", "fire", nil, nil), access.ReasonShare, "share:by-id"},
		{"shared by id, second action", "police", argus.RoleInvestigator, argus.ActionPlayback, cam("cam-id", "fire", nil, nil), access.ReasonShare, "share:by-id"},
		{"shared by tag", "police", argus.RoleViewer, argus.ActionLive, cam("cam-x", "fire", []string{"park", "school"}, nil), access.ReasonShare, "share:by-tag"},
		{"other tags", "police", argus.RoleViewer, argus.ActionLive, cam("cam-x", "fire", []string{"park"}, nil), access.ReasonScope, ""},
		{"in the bbox", "police", argus.RoleViewer, argus.ActionLive, cam("cam-x", "fire", nil, pt(10.5, 50.5)), access.ReasonShare, "share:by-bbox"},
		{"on the bbox edge", "police", argus.RoleViewer, argus.ActionLive, cam("cam-x", "fire", nil, pt(11, 50)), access.ReasonShare, "share:by-bbox"},
		{"outside the bbox", "police", argus.RoleViewer, argus.ActionLive, cam("cam-x", "fire", nil, pt(11.01, 50.5)), access.ReasonScope, ""},
		{"in the polygon", "police", argus.RoleViewer, argus.ActionLive, cam("cam-x", "fire", nil, pt(20.5, 60.5)), access.ReasonShare, "share:by-polygon"},
		{"in the polygon's box, outside it", "police", argus.RoleViewer, argus.ActionLive, cam("cam-x", "fire", nil, pt(21.5, 61.5)), access.ReasonScope, ""},
		{"position unknown", "police", argus.RoleViewer, argus.ActionLive, cam("cam-x", "fire", nil, nil), access.ReasonScope, ""},
		{"expired", "police", argus.RoleViewer, argus.ActionLive, cam("cam-expired", "fire", nil, nil), access.ReasonScope, ""},
		{"ends now (until is exclusive)", "police", argus.RoleViewer, argus.ActionLive, cam("cam-ends", "fire", nil, nil), access.ReasonScope, ""},
		{"not yet valid", "police", argus.RoleViewer, argus.ActionLive, cam("cam-future", "fire", nil, nil), access.ReasonScope, ""},
		{"revoked", "police", argus.RoleViewer, argus.ActionLive, cam("cam-revoked", "fire", nil, nil), access.ReasonScope, ""},
		{"action not granted", "police", argus.RoleInvestigator, argus.ActionExport, cam("cam-id", "fire", nil, nil), access.ReasonScope, ""},
		{"ptz not granted", "police", argus.RoleOperator, argus.ActionPTZ, cam("cam-id", "fire", nil, nil), access.ReasonScope, ""},
		{"role does not allow a granted action", "police", argus.RoleViewer, argus.ActionPlayback, cam("cam-id", "fire", nil, nil), access.ReasonRole, ""},
		{"management is never shared", "police", argus.RoleOrgAdmin, argus.ActionManageCamera, cam("cam-id", "fire", nil, nil), access.ReasonScope, ""},
		{"directory view of a shared camera", "police", argus.RoleAuditor, argus.ActionViewDirectory, cam("cam-tagged", "fire", []string{"school"}, nil), access.ReasonShare, "share:by-tag"},
		{"camera moved to another owner", "police", argus.RoleViewer, argus.ActionLive, cam("cam-id", "city", nil, nil), access.ReasonScope, ""},
		{"camera of another owner", "police", argus.RoleViewer, argus.ActionLive, cam("cam-id", "resident-9", nil, nil), access.ReasonScope, ""},
		{"wrong grantee", "fire", argus.RoleViewer, argus.ActionLive, cam("cam-home", "resident-9", nil, nil), access.ReasonScope, ""},
		{"resident's share", "police", argus.RoleViewer, argus.ActionLive, cam("cam-home", "resident-9", nil, nil), access.ReasonShare, "share:from-resident"},
		{"descendant of the grantee", "precinct-1", argus.RoleViewer, argus.ActionLive, cam("cam-id", "fire", nil, nil), access.ReasonShare, "share:by-id"},
		{"two levels below the grantee", "unit-7", argus.RoleViewer, argus.ActionLive, cam("cam-id", "fire", nil, nil), access.ReasonShare, "share:by-id"},
		{"above the grantee", "city", argus.RoleViewer, argus.ActionLive, cam("cam-id", "fire", nil, nil), access.ReasonScope, ""},
		{"share to a precinct, asked by it", "precinct-1", argus.RoleViewer, argus.ActionLive, cam("cam-precinct", "fire", nil, nil), access.ReasonShare, "share:to-precinct"},
		{"share to a precinct, asked by its parent", "police", argus.RoleViewer, argus.ActionLive, cam("cam-precinct", "fire", nil, nil), access.ReasonScope, ""},
		{"not a camera", "police", argus.RoleOrgAdmin, argus.ActionHoldView, argus.Resource{Kind: "hold", ID: "cam-id", OrgID: "fire"}, access.ReasonScope, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := argus.Principal{UserID: "u1", Username: "u1", OrgID: tc.org, Role: tc.role}
			d := g.Can(t.Context(), p, tc.action, tc.res)
			wantAllowed := tc.reason == access.ReasonShare || tc.reason == access.ReasonOwnOrg
			if d.Allowed != wantAllowed || d.Reason != tc.reason || d.Grant != tc.grant {
				t.Fatalf("Can = allowed %v, %q, grant %q; want %v, %q, grant %q", d.Allowed, d.Reason, d.Grant, wantAllowed, tc.reason, tc.grant)
			}
			all := rec.list()
			if last := all[len(all)-1]; last.Grant != tc.grant || last.Allowed != wantAllowed {
				t.Fatalf("recorded %+v, want the grant %q", last, tc.grant)
			}
		})
	}
}

// TestGateShareChangesTakeEffect checks that a revocation made here takes
// effect at the next decision (InvalidateShares), one made elsewhere within
// the TTL, and that expiry needs no reload at all.
func TestGateShareChangesTakeEffect(t *testing.T) {
	g, db, clk, _ := shareTree(t)
	p := argus.Principal{UserID: "u1", OrgID: "police", Role: argus.RoleViewer}
	res := argus.Resource{Kind: "camera", ID: "cam-1", OrgID: "fire"}
	allowed := func() bool { return g.Can(t.Context(), p, argus.ActionLive, res).Allowed }
	if allowed() {
		t.Fatal("allowed before any share")
	}
	s := mustShare(t, db, clk, &argus.Share{ID: "s1", CameraIDs: []string{"cam-1"}, Actions: []argus.Action{argus.ActionLive}})
	if allowed() {
		t.Fatal("a new share took effect before the cache was invalidated or expired; the test no longer tests the TTL")
	}
	g.InvalidateShares()
	if !allowed() {
		t.Fatal("a new share did not take effect once invalidated")
	}
	if _, err := db.RevokeShare(t.Context(), s.ID, "fire-admin", "done"); err != nil {
		t.Fatal(err)
	}
	if !allowed() {
		t.Fatal("a revocation on another node took effect before the TTL; the test no longer tests the TTL")
	}
	clk.Advance(access.DefaultShareTTL)
	if allowed() {
		t.Fatal("a revocation on another node did not take effect within the TTL")
	}

	mustShare(t, db, clk, &argus.Share{ID: "s2", CameraIDs: []string{"cam-1"}, Actions: []argus.Action{argus.ActionLive},
		ValidFrom: clk.Now(), ValidUntil: clk.Now().Add(time.Second)})
	g.InvalidateShares()
	if !allowed() {
		t.Fatal("s2 does not allow")
	}
	clk.Advance(time.Second)
	if allowed() {
		t.Fatal("an expired share still allows")
	}
}

// TestWatchSharesReportsLostShares checks that WatchShares calls lost when
// a share in effect is revoked or expires, and not otherwise.
func TestWatchSharesReportsLostShares(t *testing.T) {
	_, db, clk, _ := shareTree(t)
	loads := &countingShares{ShareStore: db}
	g, err := access.NewGate(access.GateConfig{Orgs: db, Shares: loads, Recorder: &decisions{}, Now: clk.Now})
	if err != nil {
		t.Fatal(err)
	}
	mustShare(t, db, clk, &argus.Share{ID: "s1", CameraIDs: []string{"cam-1"}, Actions: []argus.Action{argus.ActionLive}})
	mustShare(t, db, clk, &argus.Share{ID: "s2", CameraIDs: []string{"cam-2"}, Actions: []argus.Action{argus.ActionLive},
		ValidFrom: clk.Now(), ValidUntil: clk.Now().Add(time.Minute)})
	ctx, cancel := context.WithCancel(t.Context())
	var calls atomic.Int32
	done := make(chan struct{})
	go func() {
		defer close(done)
		g.WatchShares(ctx, time.Millisecond, func(context.Context) { calls.Add(1) })
	}()
	t.Cleanup(func() { cancel(); <-done })
	waitCalls := func(want int32, what string) {
		t.Helper()
		deadline := time.Now().Add(5 * time.Second)
		for calls.Load() < want {
			if time.Now().After(deadline) {
				t.Fatalf("%s: lost called %d times, want %d", what, calls.Load(), want)
			}
			time.Sleep(time.Millisecond)
		}
	}
	// The watcher has taken its first look once it has loaded the shares.
	for deadline := time.Now().Add(5 * time.Second); loads.n.Load() == 0; time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the watcher never loaded the shares")
		}
	}
	// A new share is no loss.
	mustShare(t, db, clk, &argus.Share{ID: "s3", CameraIDs: []string{"cam-3"}, Actions: []argus.Action{argus.ActionLive}})
	g.InvalidateShares()
	if _, err := db.RevokeShare(t.Context(), "s1", "fire-admin", "done"); err != nil {
		t.Fatal(err)
	}
	g.InvalidateShares()
	waitCalls(1, "after a revocation")
	clk.Advance(time.Minute)
	waitCalls(2, "after an expiry")
	if n := calls.Load(); n != 2 {
		t.Fatalf("lost called %d times, want 2", n)
	}
}

// countingShares counts the share listings that have returned.
type countingShares struct {
	argus.ShareStore
	n atomic.Int32
}

func (c *countingShares) Shares(ctx context.Context, f argus.ShareFilter) ([]*argus.Share, error) {
	defer c.n.Add(1)
	return c.ShareStore.Shares(ctx, f)
}

func TestGateShareLookupFailureDenies(t *testing.T) {
	g, db, clk, _ := shareTree(t)
	mustShare(t, db, clk, &argus.Share{ID: "s1", CameraIDs: []string{"cam-1"}, Actions: []argus.Action{argus.ActionLive}})
	p := argus.Principal{UserID: "u1", OrgID: "police", Role: argus.RoleViewer}
	res := argus.Resource{Kind: "camera", ID: "cam-1", OrgID: "fire"}
	if !g.Can(t.Context(), p, argus.ActionLive, res).Allowed { // loads the organisation tree
		t.Fatal("the share does not allow")
	}
	db.Close()
	g.InvalidateShares()
	d := g.Can(t.Context(), p, argus.ActionLive, res)
	if d.Allowed || d.Reason != access.ReasonShareLookup {
		t.Fatalf("Can with an unreadable share store = %+v, want a deny for %q", d, access.ReasonShareLookup)
	}
	if err := g.Check(t.Context(), p, argus.ActionLive, res); err == nil || argus.ErrorCode(err) != argus.EINTERNAL {
		t.Fatalf("Check with an unreadable share store = %v, want an internal error", err)
	}
}

func TestGateVisibleShares(t *testing.T) {
	g, db, clk, _ := shareTree(t)
	now := clk.Now()
	live := []argus.Action{argus.ActionLive}
	mustShare(t, db, clk, &argus.Share{ID: "s-ids", CameraIDs: []string{"cam-2", "cam-1"}, Actions: live})
	mustShare(t, db, clk, &argus.Share{ID: "s-area", Tags: []string{"school"}, Area: &argus.Area{BBox: []float64{10, 50, 11, 51}},
		Actions: live, ValidUntil: now.Add(time.Hour), ValidFrom: now})
	mustShare(t, db, clk, &argus.Share{ID: "s-home", OwnerOrgID: "resident-9", CameraIDs: []string{"cam-home"}, Actions: live})
	mustShare(t, db, clk, &argus.Share{ID: "s-precinct", GranteeOrgID: "precinct-1", CameraIDs: []string{"cam-p"}, Actions: live})
	mustShare(t, db, clk, &argus.Share{ID: "s-expired", CameraIDs: []string{"cam-x"}, Actions: live,
		ValidFrom: now.Add(-48 * time.Hour), ValidUntil: now.Add(-time.Second)})
	mustShare(t, db, clk, &argus.Share{ID: "s-future", CameraIDs: []string{"cam-f"}, Actions: live,
		ValidFrom: now.Add(time.Second), ValidUntil: now.Add(time.Hour)})
	mustShare(t, db, clk, &argus.Share{ID: "s-revoked", CameraIDs: []string{"cam-r"}, Actions: live})
	if _, err := db.RevokeShare(t.Context(), "s-revoked", "fire-admin", "done"); err != nil {
		t.Fatal(err)
	}

	scopeIDs := func(t *testing.T, p argus.Principal) []string {
		t.Helper()
		scopes, err := g.VisibleShares(t.Context(), p)
		if err != nil {
			t.Fatal(err)
		}
		out := []string{}
		for _, sc := range scopes {
			out = append(out, sc.ShareID)
		}
		return out
	}
	for _, tc := range []struct {
		name string
		p    argus.Principal
		want []string
	}{
		{"the grantee's viewer", argus.Principal{UserID: "u1", OrgID: "police", Role: argus.RoleViewer},
			[]string{"s-area", "s-home", "s-ids"}},
		{"a unit below the grantee, with its own share", argus.Principal{UserID: "u1", OrgID: "unit-7", Role: argus.RoleOperator},
			[]string{"s-area", "s-home", "s-ids", "s-precinct"}},
		{"an auditor of the grantee", argus.Principal{UserID: "u1", OrgID: "police", Role: argus.RoleAuditor},
			[]string{"s-area", "s-home", "s-ids"}},
		{"the organisation above the grantee", argus.Principal{UserID: "u1", OrgID: "city", Role: argus.RoleOrgAdmin}, []string{}},
		{"the owner", argus.Principal{UserID: "u1", OrgID: "fire", Role: argus.RoleOrgAdmin}, []string{}},
		{"an administrator, who sees everything anyway", argus.Principal{UserID: "u1", OrgID: "police", Role: argus.RoleAdmin}, []string{}},
		{"a role that may not view the directory", argus.Principal{UserID: "u1", OrgID: "police", Role: "nobody"}, []string{}},
		{"no principal", argus.Principal{OrgID: "police", Role: argus.RoleViewer}, []string{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := scopeIDs(t, tc.p); !slices.Equal(got, tc.want) {
				t.Fatalf("VisibleShares = %v, want %v", got, tc.want)
			}
		})
	}

	t.Run("scopes carry what the share selects", func(t *testing.T) {
		scopes, err := g.VisibleShares(t.Context(), argus.Principal{UserID: "u1", OrgID: "police", Role: argus.RoleViewer})
		if err != nil {
			t.Fatal(err)
		}
		area, ids := scopes[0], scopes[2]
		if area.OwnerOrgID != "fire" || !slices.Equal(area.Tags, []string{"school"}) || area.Area == nil ||
			!slices.Equal(area.Area.BBox, []float64{10, 50, 11, 51}) || len(area.CameraIDs) != 0 {
			t.Fatalf("scope of s-area = %+v", area)
		}
		if ids.OwnerOrgID != "fire" || !slices.Equal(ids.CameraIDs, []string{"cam-1", "cam-2"}) {
			t.Fatalf("scope of s-ids = %+v", ids)
		}
	})
	t.Run("expiry and revocation take effect at once", func(t *testing.T) {
		viewer := argus.Principal{UserID: "u1", OrgID: "police", Role: argus.RoleViewer}
		if _, err := db.RevokeShare(t.Context(), "s-home", "resident-admin", "moved away"); err != nil {
			t.Fatal(err)
		}
		g.InvalidateShares()
		if got, want := scopeIDs(t, viewer), []string{"s-area", "s-ids"}; !slices.Equal(got, want) {
			t.Fatalf("after revoking s-home: %v, want %v", got, want)
		}
		clk.Advance(time.Hour) // s-area ends; the cache is not reloaded
		if got, want := scopeIDs(t, viewer), []string{"s-ids"}; !slices.Equal(got, want) {
			t.Fatalf("after s-area ended: %v, want %v", got, want)
		}
	})
}
