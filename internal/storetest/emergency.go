package storetest

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"argus"
)

func emergencyGrant(id, user, org, camera, owner string, from time.Duration) *argus.EmergencyGrant {
	return &argus.EmergencyGrant{ID: id, UserID: user, OrgID: org, CameraID: camera, OwnerOrgID: owner,
		Actions: []argus.Action{argus.ActionLive}, Reason: "fire at " + camera,
		From: shareT0.Add(from), Until: shareT0.Add(from + time.Hour)}
}

func emergencyIDs(gs []*argus.EmergencyGrant) []string {
	out := []string{}
	for _, g := range gs {
		out = append(out, g.ID)
	}
	return out
}

func testEmergencyGrants(t *testing.T, s argus.Store) {
	ctx := t.Context()
	before := time.Now().Add(-time.Second)
	// Created c, b, a: newest first is also id order, so ties in
	// CreatedAt cannot change the expected order.
	gc := emergencyGrant("em-c", "ann", "police", "cam-1", "fire", 0)
	gc.From = gc.From.Add(1500 * time.Nanosecond)
	gc.Actions = []argus.Action{argus.ActionPlayback, argus.ActionLive, argus.ActionLive}
	gc.Reason = "  building fire, 12 Main St  "
	must(t, s.CreateEmergencyGrant(ctx, gc))
	if !gc.From.Equal(shareT0.Add(time.Microsecond)) || gc.CreatedAt.Before(before) || gc.CreatedAt.After(time.Now().Add(time.Second)) ||
		!slices.Equal(gc.Actions, []argus.Action{argus.ActionLive, argus.ActionPlayback}) || gc.Reason != "building fire, 12 Main St" {
		t.Fatalf("CreateEmergencyGrant set %+v; want from truncated to the microsecond, CreatedAt about now, actions sorted, the reason trimmed", *gc)
	}
	must(t, s.CreateEmergencyGrant(ctx, emergencyGrant("em-b", "bob", "fire", "cam-2", "police", 2*time.Hour)))
	must(t, s.CreateEmergencyGrant(ctx, emergencyGrant("em-a", "ann", "police", "cam-3", "resident-9", -2*time.Hour)))

	all, err := s.EmergencyGrants(ctx, argus.EmergencyFilter{})
	must(t, err)
	if len(all) != 3 || all[2].ID != "em-c" {
		t.Fatalf("EmergencyGrants = %v, want three, em-c last", emergencyIDs(all))
	}
	if got, want := fmt.Sprintf("%+v", *all[2]), fmt.Sprintf("%+v", *gc); got != want {
		t.Fatalf("stored grant\n got %s\nwant %s", got, want)
	}
	for _, tc := range []struct {
		name string
		f    argus.EmergencyFilter
		want []string
	}{
		{"all, newest first", argus.EmergencyFilter{}, []string{"em-a", "em-b", "em-c"}},
		{"owner or user's org", argus.EmergencyFilter{OrgIDs: []string{"fire"}}, []string{"em-b", "em-c"}},
		{"owner only", argus.EmergencyFilter{OrgIDs: []string{"resident-9"}}, []string{"em-a"}},
		{"user", argus.EmergencyFilter{UserID: "ann"}, []string{"em-a", "em-c"}},
		{"current, including not yet begun", argus.EmergencyFilter{CurrentAt: shareT0}, []string{"em-b", "em-c"}},
		{"current ends exclusive", argus.EmergencyFilter{CurrentAt: gc.Until}, []string{"em-b"}},
		{"current and user", argus.EmergencyFilter{CurrentAt: shareT0, UserID: "ann"}, []string{"em-c"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := s.EmergencyGrants(ctx, tc.f)
			must(t, err)
			if ids := emergencyIDs(got); !slices.Equal(ids, tc.want) {
				t.Fatalf("EmergencyGrants(%+v) = %v, want %v", tc.f, ids, tc.want)
			}
		})
	}
}

func testEmergencyGrantErrors(t *testing.T, s argus.Store) {
	ctx := t.Context()
	must(t, s.CreateEmergencyGrant(ctx, emergencyGrant("em-1", "ann", "police", "cam-1", "fire", 0)))
	with := func(f func(g *argus.EmergencyGrant)) func() error {
		return func() error {
			g := emergencyGrant("em-new", "ann", "police", "cam-1", "fire", 0)
			f(g)
			return s.CreateEmergencyGrant(ctx, g)
		}
	}
	for _, tc := range []struct {
		name  string
		op    func() error
		code  string
		field string
	}{
		{"duplicate id", with(func(g *argus.EmergencyGrant) { g.ID = "em-1" }), argus.ECONFLICT, ""},
		{"bad id", with(func(g *argus.EmergencyGrant) { g.ID = "Em 1" }), argus.EINVALID, "id"},
		{"no user", with(func(g *argus.EmergencyGrant) { g.UserID = "" }), argus.EINVALID, "user_id"},
		{"no org", with(func(g *argus.EmergencyGrant) { g.OrgID = "" }), argus.EINVALID, "org_id"},
		{"no camera", with(func(g *argus.EmergencyGrant) { g.CameraID = "" }), argus.EINVALID, "camera_id"},
		{"no owner", with(func(g *argus.EmergencyGrant) { g.OwnerOrgID = "" }), argus.EINVALID, "owner_org_id"},
		{"no action", with(func(g *argus.EmergencyGrant) { g.Actions = nil }), argus.EINVALID, "actions"},
		{"export", with(func(g *argus.EmergencyGrant) { g.Actions = []argus.Action{argus.ActionExport} }), argus.EINVALID, "actions"},
		{"ptz", with(func(g *argus.EmergencyGrant) { g.Actions = []argus.Action{argus.ActionPTZ} }), argus.EINVALID, "actions"},
		{"no reason", with(func(g *argus.EmergencyGrant) { g.Reason = "  " }), argus.EINVALID, "reason"},
		{"long reason", with(func(g *argus.EmergencyGrant) { g.Reason = string(make([]byte, argus.MaxEmergencyReasonLen+1)) }), argus.EINVALID, "reason"},
		{"no from", with(func(g *argus.EmergencyGrant) { g.From = time.Time{} }), argus.EINVALID, "from"},
		{"until before from", with(func(g *argus.EmergencyGrant) { g.From, g.Until = g.Until, g.From }), argus.EINVALID, "until"},
		{"longer than an hour", with(func(g *argus.EmergencyGrant) { g.Until = g.From.Add(argus.MaxEmergencySpan + time.Second) }), argus.EINVALID, "until"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before, err := s.EmergencyGrants(ctx, argus.EmergencyFilter{})
			must(t, err)
			wantError(t, tc.op(), tc.code, tc.field)
			after, err := s.EmergencyGrants(ctx, argus.EmergencyFilter{})
			must(t, err)
			if !slices.Equal(emergencyIDs(before), emergencyIDs(after)) {
				t.Fatalf("grants changed: %v → %v", emergencyIDs(before), emergencyIDs(after))
			}
		})
	}
}
