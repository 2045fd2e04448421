package audit_test

import (
	"context"
	"encoding/json"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	"argus"
	"argus/internal/access"
	"argus/internal/audit"
	"argus/internal/secret"
	"argus/internal/sqlite"
)

// TestReport builds a log through the access gate (and the session and
// change records the node and the API append) and checks the transparency
// report counts it per organisation, from the log alone.
func TestReport(t *testing.T) {
	l, path, key := openLog(t, audit.Options{})
	sealer, err := secret.New(make([]byte, secret.KeySize))
	if err != nil {
		t.Fatal(err)
	}
	db, err := sqlite.Open(t.Context(), filepath.Join(t.TempDir(), "argus.db"), sqlite.Options{Sealer: sealer})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	for _, o := range []string{"police", "fire"} {
		if err := db.CreateOrg(t.Context(), &argus.Org{ID: o, Name: o, Kind: argus.OrgOther}); err != nil {
			t.Fatal(err)
		}
	}
	t0 := time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)
	now := t0
	g, err := access.NewGate(access.GateConfig{Orgs: db, Shares: db, Emergencies: db, Recorder: l, Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	ann := argus.Principal{UserID: "ann", OrgID: "police", Role: argus.RoleInvestigator}
	fred := argus.Principal{UserID: "fred", OrgID: "fire", Role: argus.RoleOrgAdmin}
	policeCam := argus.Resource{Kind: "camera", ID: "cam-p", OrgID: "police"}
	fireCam := argus.Resource{Kind: "camera", ID: "cam-f", OrgID: "fire"}
	rng := argus.Intent{From: t0.Add(-time.Hour), To: t0}
	check := func(p argus.Principal, a argus.Action, res argus.Resource, in argus.Intent) {
		t.Helper()
		_ = g.CheckFor(ctx, p, a, res, in)
	}
	appendRec := func(r *audit.Record) {
		t.Helper()
		r.Time = now
		if err := l.Append(ctx, r); err != nil {
			t.Fatal(err)
		}
	}
	// Police: two live views, a playback (with a purpose) and a timeline
	// (without), an export and its download, a denied export of fire's
	// camera, an emergency opened and used once.
	check(ann, argus.ActionLive, policeCam, argus.Intent{})
	appendRec(&audit.Record{Kind: audit.KindSessionStart, Principal: ann, Action: argus.ActionLive, Resource: policeCam, Allowed: true})
	appendRec(&audit.Record{Kind: audit.KindSessionStart, Principal: ann, Action: argus.ActionLive, Resource: policeCam, Allowed: true})
	appendRec(&audit.Record{Kind: audit.KindSessionEnd, Principal: ann, Action: argus.ActionLive, Resource: policeCam, Allowed: true})
	check(ann, argus.ActionPlayback, policeCam, argus.Intent{Purpose: "case 1", From: rng.From, To: rng.To})
	check(ann, argus.ActionPlayback, policeCam, rng)
	check(ann, argus.ActionExport, policeCam, argus.Intent{Purpose: "case 1", From: rng.From, To: rng.To})
	check(ann, argus.ActionExport, policeCam, argus.Intent{Purpose: audit.DownloadPurpose + "exp-1: case 1"})
	check(ann, argus.ActionExport, fireCam, argus.Intent{Purpose: "case 1"})
	check(ann, argus.ActionEmergency, fireCam, argus.Intent{Purpose: "building fire"})
	if err := db.CreateEmergencyGrant(ctx, &argus.EmergencyGrant{ID: "em-1", UserID: "ann", OrgID: "police", CameraID: "cam-f",
		OwnerOrgID: "fire", Actions: argus.EmergencyActions, Reason: "building fire", From: now, Until: now.Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	g.InvalidateEmergencies()
	check(ann, argus.ActionLive, fireCam, argus.Intent{})
	// Fire: a share granted and one revoked, a PTZ move, and a denied
	// change of a police user.
	shareChange := func(change string) *audit.Record {
		return &audit.Record{Kind: audit.KindChange, Principal: fred, Action: argus.ActionManageShare,
			Resource: argus.Resource{Kind: "share", ID: "share-1", OrgID: "fire"}, Allowed: true,
			Detail: json.RawMessage(`{"change":"` + change + `","id":"share-1"}`)}
	}
	appendRec(shareChange(audit.ChangeShareGrant))
	appendRec(shareChange(audit.ChangeShareRevoke))
	check(fred, argus.ActionPTZ, fireCam, argus.Intent{})
	check(fred, argus.ActionManageUser, argus.Resource{Kind: "user", ID: "ann", OrgID: "police"}, argus.Intent{})
	// Outside the range: not counted.
	now = t0.Add(2 * time.Hour)
	check(ann, argus.ActionPlayback, policeCam, argus.Intent{Purpose: "later"})

	want := &audit.TransparencyReport{
		From: t0, To: t0.Add(time.Hour), Records: 15,
		Orgs: []*audit.OrgActivity{
			{OrgID: "fire", PTZSessions: 1, SharesGranted: 1, SharesRevoked: 1, Denied: 1,
				DeniedByAction: map[argus.Action]int{argus.ActionManageUser: 1}},
			{OrgID: "police", LiveViews: 2, Playbacks: 1, Exports: 1, ExportDownloads: 1, EmergencyAccesses: 1, EmergencyUses: 1,
				Denied: 1, DeniedByAction: map[argus.Action]int{argus.ActionExport: 1}},
		},
	}
	got, err := l.Report(ctx, t0, t0.Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, want) {
		gj, _ := json.Marshal(got)
		wj, _ := json.Marshal(want)
		t.Fatalf("Report =\n%s\nwant\n%s", gj, wj)
	}
	offline, err := audit.ReportFile(ctx, path, t0, t0.Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(offline, want) {
		t.Fatalf("ReportFile = %+v, want what Report says", offline)
	}
	got.Only([]string{"fire"})
	if len(got.Orgs) != 1 || got.Orgs[0].OrgID != "fire" {
		t.Fatalf("Only(fire) kept %+v", got.Orgs)
	}
	// The emergency decisions are flagged in their detail, the playback
	// carries its range, and the log still verifies.
	recs, err := l.Find(ctx, audit.Query{AllOrgs: true, Camera: "cam-f"})
	if err != nil {
		t.Fatal(err)
	}
	flagged := 0
	for _, r := range recs {
		if r.Review() {
			flagged++
			if string(r.Detail) != `{"review":true}` {
				t.Errorf("record %d detail %s", r.Seq, r.Detail)
			}
		}
	}
	if flagged != 2 {
		t.Fatalf("%d records flagged for review, want 2 (the emergency opened, then used)", flagged)
	}
	pb, err := l.Find(ctx, audit.Query{AllOrgs: true, Action: argus.ActionPlayback, To: t0.Add(time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	if len(pb) != 2 || !pb[0].From.Equal(rng.From) || !pb[0].To.Equal(rng.To) {
		t.Fatalf("playback records %+v, want 2 carrying their range", pb)
	}
	if rep := verify(t, path, key); !rep.OK() {
		t.Fatalf("Verify = %+v", rep.Problem)
	}
}

func TestReportFileMissing(t *testing.T) {
	if _, err := audit.ReportFile(context.Background(), filepath.Join(t.TempDir(), "none.db"), time.Time{}, time.Time{}); err == nil {
		t.Fatal("ReportFile of a missing log succeeded")
	}
}
