package access_test

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"argus"
	"argus/internal/access"
	"argus/internal/sqlite"
)

// emergencyTree is shareTree whose gate also reads emergency grants.
func emergencyTree(t *testing.T) (*access.Gate, *sqlite.DB, *clock, *decisions) {
	t.Helper()
	_, db, clk, _ := shareTree(t)
	rec := &decisions{}
	g, err := access.NewGate(access.GateConfig{Orgs: db, Shares: db, Emergencies: db, Recorder: rec, Now: clk.Now})
	if err != nil {
		t.Fatal(err)
	}
	return g, db, clk, rec
}

// mustEmergency opens an emergency grant for user (of police) on fire's
// camera cam, live and playback, from the test clock's now for d.
func mustEmergency(t *testing.T, db *sqlite.DB, clk *clock, id, user, cam string, d time.Duration) {
	t.Helper()
	err := db.CreateEmergencyGrant(t.Context(), &argus.EmergencyGrant{ID: id, UserID: user, OrgID: "police", CameraID: cam,
		OwnerOrgID: "fire", Actions: argus.EmergencyActions, Reason: "building fire", From: clk.Now(), Until: clk.Now().Add(d)})
	if err != nil {
		t.Fatal(err)
	}
}

func TestGateEmergencyRoles(t *testing.T) {
	g, _, _, rec := emergencyTree(t)
	cam := argus.Resource{Kind: "camera", ID: "cam-1", OrgID: "fire"}
	for _, tc := range []struct {
		role   argus.Role
		allow  bool
		reason string
	}{
		{argus.RoleViewer, false, access.ReasonRole},
		{argus.RoleAuditor, false, access.ReasonRole},
		{argus.RoleOperator, true, access.ReasonEmergencyRole},
		{argus.RoleInvestigator, true, access.ReasonEmergencyRole},
		{argus.RoleOrgAdmin, true, access.ReasonEmergencyRole},
		{argus.RoleAdmin, true, access.ReasonAdmin},
	} {
		t.Run(string(tc.role), func(t *testing.T) {
			p := argus.Principal{UserID: "u-" + string(tc.role), OrgID: "police", Role: tc.role}
			err := g.CheckFor(t.Context(), p, argus.ActionEmergency, cam, argus.Intent{Purpose: "building fire"})
			if (err == nil) != tc.allow {
				t.Fatalf("CheckFor(camera.emergency) = %v, want allowed %v", err, tc.allow)
			}
			all := rec.list()
			d := all[len(all)-1]
			if d.Reason != tc.reason || d.Purpose != "building fire" || d.Review != tc.allow {
				t.Fatalf("decision %+v, want reason %q, the purpose, and review %v", d, tc.reason, tc.allow)
			}
		})
	}
}

func TestGateEmergencyGrant(t *testing.T) {
	g, db, clk, rec := emergencyTree(t)
	ann := argus.Principal{UserID: "ann", OrgID: "police", Role: argus.RoleInvestigator}
	cam1 := argus.Resource{Kind: "camera", ID: "cam-1", OrgID: "fire"}
	// The gate loads the (empty) grants; a grant opened afterwards counts
	// once the cache is dropped, as the API does.
	if d := g.Can(t.Context(), ann, argus.ActionLive, cam1); d.Allowed {
		t.Fatalf("before any grant: %+v", d)
	}
	mustEmergency(t, db, clk, "em-1", "ann", "cam-1", 30*time.Minute)
	g.InvalidateEmergencies()
	for _, tc := range []struct {
		name   string
		p      argus.Principal
		action argus.Action
		res    argus.Resource
		allow  bool
	}{
		{"live", ann, argus.ActionLive, cam1, true},
		{"playback", ann, argus.ActionPlayback, cam1, true},
		{"directory", ann, argus.ActionViewDirectory, cam1, true},
		{"export is not opened", ann, argus.ActionExport, cam1, false},
		{"ptz is not opened", ann, argus.ActionPTZ, cam1, false},
		{"another camera", ann, argus.ActionLive, argus.Resource{Kind: "camera", ID: "cam-2", OrgID: "fire"}, false},
		{"a colleague", argus.Principal{UserID: "bob", OrgID: "police", Role: argus.RoleInvestigator}, argus.ActionLive, cam1, false},
		{"the role still limits: an operator's grant", argus.Principal{UserID: "ann", OrgID: "police", Role: argus.RoleOperator}, argus.ActionPlayback, cam1, false},
		{"camera management", ann, argus.ActionManageCamera, cam1, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := g.Can(t.Context(), tc.p, tc.action, tc.res)
			if d.Allowed != tc.allow {
				t.Fatalf("Can = %+v, want allowed %v", d, tc.allow)
			}
			if tc.allow && (d.Grant != "emergency:em-1" || !d.Review || d.Reason != access.ReasonEmergency) {
				t.Fatalf("Can = %+v, want grant emergency:em-1, flagged for review", d)
			}
			if !tc.allow && d.Review {
				t.Fatalf("a denied decision is flagged for review: %+v", d)
			}
		})
	}
	// The grant ends by the clock, without a reload.
	clk.Advance(30 * time.Minute)
	if d := g.Can(t.Context(), ann, argus.ActionLive, cam1); d.Allowed || d.Reason != access.ReasonScope {
		t.Fatalf("after the grant ended: %+v, want denied", d)
	}
	if n := len(rec.list()); n == 0 {
		t.Fatal("no decision was recorded")
	}
}

func TestGateIntentRecordsRange(t *testing.T) {
	g, _, _, rec := emergencyTree(t)
	from := time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)
	p := argus.Principal{UserID: "u1", OrgID: "fire", Role: argus.RoleInvestigator}
	in := argus.Intent{Purpose: "case 7", From: from, To: from.Add(time.Hour)}
	if err := g.CheckFor(t.Context(), p, argus.ActionPlayback, argus.Resource{Kind: "camera", ID: "cam-1", OrgID: "fire"}, in); err != nil {
		t.Fatal(err)
	}
	d := rec.list()[0]
	if d.Purpose != in.Purpose || !d.From.Equal(in.From) || !d.To.Equal(in.To) || d.Review {
		t.Fatalf("decision %+v, want the purpose and the range of %+v, not flagged", d, in)
	}
}

// TestWatchSharesReportsEndedEmergencies checks that the watcher that ends
// live sessions also notices an emergency grant running out.
func TestWatchSharesReportsEndedEmergencies(t *testing.T) {
	_, db, clk, _ := shareTree(t)
	loads := &countingEmergencies{EmergencyStore: db}
	g, err := access.NewGate(access.GateConfig{Orgs: db, Emergencies: loads, Recorder: &decisions{}, Now: clk.Now})
	if err != nil {
		t.Fatal(err)
	}
	mustEmergency(t, db, clk, "em-1", "ann", "cam-1", time.Minute)
	mustEmergency(t, db, clk, "em-2", "bob", "cam-2", time.Hour)
	ctx, cancel := context.WithCancel(t.Context())
	var calls atomic.Int32
	done := make(chan struct{})
	go func() {
		defer close(done)
		g.WatchShares(ctx, time.Millisecond, func(context.Context) { calls.Add(1) })
	}()
	t.Cleanup(func() { cancel(); <-done })
	for deadline := time.Now().Add(5 * time.Second); loads.n.Load() == 0; time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the watcher never loaded the grants")
		}
	}
	clk.Advance(time.Minute)
	for deadline := time.Now().Add(5 * time.Second); calls.Load() == 0; time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("lost was not called when the grant ended")
		}
	}
	if n := calls.Load(); n != 1 {
		t.Fatalf("lost called %d times, want 1", n)
	}
}

// countingEmergencies counts the grant listings that have returned.
type countingEmergencies struct {
	argus.EmergencyStore
	n atomic.Int32
}

func (c *countingEmergencies) EmergencyGrants(ctx context.Context, f argus.EmergencyFilter) ([]*argus.EmergencyGrant, error) {
	defer c.n.Add(1)
	return c.EmergencyStore.EmergencyGrants(ctx, f)
}
