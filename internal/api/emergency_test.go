package api_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"argus"
	"argus/internal/access"
	"argus/internal/api"
	"argus/internal/audit"
	"argus/internal/evidence"
)

// flakyAudit is the audit log the API appends change records to; it fails
// them while fail is set. The gate records its decisions into the log
// itself, so only the change records fail.
type flakyAudit struct {
	*audit.Log
	fail atomic.Bool
}

func (f *flakyAudit) Append(ctx context.Context, r *audit.Record) error {
	if f.fail.Load() {
		return errors.New("disk full")
	}
	return f.Log.Append(ctx, r)
}

// emergencyEnv is shareEnv whose gate records into a real audit log and
// reads shares and emergency grants, with a fire auditor.
func emergencyEnv(t *testing.T) (*env, *flakyAudit) {
	t.Helper()
	dir := t.TempDir()
	key, err := evidence.LoadOrCreateKey(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	l, err := audit.Open(t.Context(), filepath.Join(dir, audit.FileName), audit.Options{Key: key})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	fa := &flakyAudit{Log: l}
	e := newEnv(t, withRecordings(t), func(c *api.Config) {
		g, err := access.NewGate(access.GateConfig{Orgs: c.Store, Shares: c.Store, Emergencies: c.Store, Recorder: l})
		if err != nil {
			t.Fatal(err)
		}
		c.Gate, c.Audit = g, fa
	})
	e.token["fireadmin"] = e.addUser("fireadmin", argus.RoleOrgAdmin, "fire")
	e.token["fireauditor"] = e.addUser("fireauditor", argus.RoleAuditor, "fire")
	e.addCamera("cam-1", "fire", 40.71, -74.01, "school")
	e.addCamera("cam-police", "police", 40.7, -74.0)
	return e, fa
}

// records returns the audit records matching q, newest first.
func records(t *testing.T, l *flakyAudit, q audit.Query) []*audit.Record {
	t.Helper()
	q.AllOrgs = true
	recs, err := l.Find(t.Context(), q)
	if err != nil {
		t.Fatal(err)
	}
	return recs
}

func TestEmergencyAccess(t *testing.T) {
	e, l := emergencyEnv(t)
	const open = "/api/v1/cameras/cam-1/emergency"
	body := map[string]any{"reason": "  building fire at 12 Main St ", "minutes": 30}
	playback := "/api/v1/cameras/cam-1/playback/index.m3u8?" + rangeQuery(rec0.Add(30*time.Second), rec0.Add(90*time.Second)) +
		"&reason=" + url.QueryEscape("fire at 12 Main St")
	if r := e.call("GET", "/api/v1/cameras/cam-1", "investigator", nil); r.status != http.StatusNotFound {
		t.Fatalf("before: %d, want 404", r.status)
	}
	for _, tc := range []struct {
		name   string
		user   string
		path   string
		body   any
		status int
		field  string
	}{
		{"a viewer may not, and does not see the camera", "viewer", open, body, http.StatusNotFound, ""},
		{"an auditor may not", "auditor", open, body, http.StatusNotFound, ""},
		{"no reason", "investigator", open, map[string]any{"reason": " "}, http.StatusBadRequest, "reason"},
		{"too long a reason", "investigator", open, map[string]any{"reason": strings.Repeat("x", 1001)}, http.StatusBadRequest, "reason"},
		{"too long", "investigator", open, map[string]any{"reason": "fire", "minutes": 61}, http.StatusBadRequest, "minutes"},
		{"too short", "investigator", open, map[string]any{"reason": "fire", "minutes": -1}, http.StatusBadRequest, "minutes"},
		{"an unknown camera", "investigator", "/api/v1/cameras/cam-none/emergency", body, http.StatusNotFound, ""},
		{"a camera the caller may watch already", "investigator", "/api/v1/cameras/cam-police/emergency", body, http.StatusConflict, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := e.call("POST", tc.path, tc.user, tc.body)
			if r.status != tc.status {
				t.Fatalf("%d %s, want %d", r.status, r.body, tc.status)
			}
			if _, _, field, _ := r.apiError(t); field != tc.field {
				t.Fatalf("field %q, want %q", field, tc.field)
			}
		})
	}

	before := time.Now()
	r := e.call("POST", open, "investigator", body)
	if r.status != http.StatusCreated {
		t.Fatalf("open: %d %s", r.status, r.body)
	}
	var g argus.EmergencyGrant
	r.decode(t, &g)
	if !strings.HasPrefix(g.ID, "em-") || g.UserID != "investigator" || g.OrgID != "police" || g.CameraID != "cam-1" ||
		g.OwnerOrgID != "fire" || !slices.Equal(g.Actions, argus.EmergencyActions) || g.Reason != "building fire at 12 Main St" ||
		g.From.Before(before.Add(-time.Second)) || g.Until.Sub(g.From) != 30*time.Minute {
		t.Fatalf("opened %s: want the caller's grant on cam-1 of fire, live and playback, for 30 minutes", r.body)
	}
	// The owner is told.
	if len(e.logs.lines(`"msg":"emergency access"`, `"level":"WARN"`, `"owner_org_id":"fire"`, `"camera_id":"cam-1"`,
		`"user_id":"investigator"`, `"reason":"building fire at 12 Main St"`, `"until":"`)) != 1 {
		t.Fatal("no warning \"emergency access\" naming the owner, camera, user, reason and end")
	}
	// The caller sees and plays back the camera, but may not export it;
	// their colleagues gain nothing.
	if r := e.call("GET", "/api/v1/cameras/cam-1", "investigator", nil); r.status != http.StatusOK {
		t.Fatalf("the camera through the grant: %d %s", r.status, r.body)
	}
	if r := e.call("GET", playback, "investigator", nil); r.status != http.StatusOK {
		t.Fatalf("playback through the grant: %d %s", r.status, r.body)
	}
	exp := map[string]any{"camera_ids": []string{"cam-1"}, "from": rec0.Format(time.RFC3339), "to": rec0.Add(time.Minute).Format(time.RFC3339), "reason": "fire"}
	if r := e.call("POST", "/api/v1/exports", "investigator", exp); r.status != http.StatusForbidden {
		t.Fatalf("export through the grant: %d %s, want 403", r.status, r.body)
	}
	if r := e.call("GET", "/api/v1/cameras/cam-1", "orgadmin", nil); r.status != http.StatusNotFound {
		t.Fatalf("a colleague: %d, want 404", r.status)
	}
	if r := e.call("POST", open, "investigator", body); r.status != http.StatusConflict {
		t.Fatalf("opening it twice: %d %s, want 409", r.status, r.body)
	}

	// The audit log holds the decision that opened it (flagged, with the
	// reason), the change record before the grant was written, and the
	// playback it allowed (flagged, with its grant and range).
	opened := records(t, l, audit.Query{Action: argus.ActionEmergency, Camera: "cam-1"})
	var decision, change *audit.Record
	for _, rec := range opened {
		switch {
		case rec.Kind == audit.KindDecision && rec.Allowed:
			decision = rec
		case rec.Kind == audit.KindChange:
			change = rec
		}
	}
	if decision == nil || !decision.Review() || decision.Purpose != "building fire at 12 Main St" || decision.Principal.UserID != "investigator" {
		t.Fatalf("emergency decision %+v, want allowed, flagged for review, with the reason", decision)
	}
	if change == nil || change.Seq <= decision.Seq || !strings.Contains(string(change.Detail), `"change":"emergency.grant"`) ||
		!strings.Contains(string(change.Detail), `"id":"`+g.ID+`"`) {
		t.Fatalf("change record %+v, want emergency.grant naming %s after the decision", change, g.ID)
	}
	var pb *audit.Record
	for _, rec := range records(t, l, audit.Query{Action: argus.ActionPlayback, Camera: "cam-1"}) {
		if rec.Allowed && rec.Purpose != "" {
			pb = rec
			break
		}
	}
	if pb == nil || pb.Grant != "emergency:"+g.ID || !pb.Review() || !pb.From.Equal(rec0.Add(30*time.Second)) || !pb.To.Equal(rec0.Add(90*time.Second)) {
		t.Fatalf("playback decision %+v, want the grant, the review flag and the range", pb)
	}

	// The owner's admins and auditors, and the user's organisation's,
	// list it; others may not.
	for _, tc := range []struct {
		user   string
		query  string
		status int
		want   []string
	}{
		{"fireadmin", "", http.StatusOK, []string{g.ID}},
		{"fireauditor", "?current=true", http.StatusOK, []string{g.ID}},
		{"auditor", "", http.StatusOK, []string{g.ID}},
		{"admin", "", http.StatusOK, []string{g.ID}},
		{"fireviewer", "", http.StatusForbidden, nil},
		{"investigator", "", http.StatusForbidden, nil},
		{"fireadmin", "?current=maybe", http.StatusBadRequest, nil},
	} {
		t.Run("list as "+tc.user+tc.query, func(t *testing.T) {
			r := e.call("GET", "/api/v1/emergencies"+tc.query, tc.user, nil)
			if r.status != tc.status {
				t.Fatalf("%d %s, want %d", r.status, r.body, tc.status)
			}
			if tc.status != http.StatusOK {
				return
			}
			var list struct{ Items []argus.EmergencyGrant }
			r.decode(t, &list)
			var got []string
			for _, it := range list.Items {
				got = append(got, it.ID)
			}
			if !slices.Equal(got, tc.want) {
				t.Fatalf("listed %v, want %v", got, tc.want)
			}
		})
	}
}

// TestChangeRecords checks that every administrative change is in the
// audit log before it is written, naming ids and changed fields but never
// a password, and that a change whose record cannot be written is refused.
func TestChangeRecords(t *testing.T) {
	e, l := emergencyEnv(t)
	const password = "a secret password 123"
	var share argus.Share
	var hold argus.Hold
	for _, tc := range []struct {
		name   string
		method string
		path   func() string
		user   string
		body   any
		change string
		fields []string // the detail's "fields", when it has them
		after  func(r response)
	}{
		{"org create", "POST", path("/api/v1/orgs"), "admin", map[string]any{"id": "traffic", "name": "Traffic", "kind": "traffic"}, "org.create", nil, nil},
		{"org update", "PUT", path("/api/v1/orgs/traffic"), "admin", map[string]any{"name": "Traffic dept", "kind": "traffic"}, "org.update", []string{"name"}, nil},
		{"user create", "POST", path("/api/v1/users"), "orgadmin",
			map[string]any{"id": "newbie", "username": "newbie", "org_id": "police", "role": "viewer", "password": password}, "user.create", nil, nil},
		{"user update", "PUT", path("/api/v1/users/newbie"), "orgadmin",
			map[string]any{"username": "newbie", "display_name": "New Bie", "org_id": "police", "role": "viewer", "password": password + "!"},
			"user.update", []string{"display_name", "password"}, nil},
		{"user delete", "DELETE", path("/api/v1/users/newbie"), "orgadmin", nil, "user.delete", nil, nil},
		{"camera create", "POST", path("/api/v1/cameras"), "orgadmin",
			map[string]any{"id": "cam-new", "name": "New", "org_id": "police", "lat": 40.7, "lon": -74, "stream_url": "rtsp://u:p@10.0.0.9/s"}, "camera.create", nil, nil},
		{"camera patch", "PATCH", path("/api/v1/cameras/cam-new"), "orgadmin", map[string]any{"name": "Renamed", "password": "cam-pass"},
			"camera.update", []string{"name", "password"}, nil},
		{"camera delete", "DELETE", path("/api/v1/cameras/cam-new"), "orgadmin", nil, "camera.delete", nil, nil},
		{"share grant", "POST", path("/api/v1/shares"), "fireadmin", grant(), "share.grant", nil, func(r response) { r.decode(t, &share) }},
		{"share revoke", "POST", func() string { return "/api/v1/shares/" + share.ID + "/revoke" }, "fireadmin", map[string]any{"reason": "done"}, "share.revoke", nil, nil},
		{"hold place", "POST", path("/api/v1/holds"), "orgadmin",
			map[string]any{"camera_id": "cam-police", "from": rec0.Format(time.RFC3339), "to": rec0.Add(time.Hour).Format(time.RFC3339), "reason": "case 9"},
			"hold.place", nil, func(r response) { r.decode(t, &hold) }},
		{"hold release", "POST", func() string { return "/api/v1/holds/" + hold.ID + "/release" }, "orgadmin", map[string]any{"reason": "closed"}, "hold.release", nil, nil},
		{"org delete", "DELETE", path("/api/v1/orgs/traffic"), "admin", nil, "org.delete", nil, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := e.call(tc.method, tc.path(), tc.user, tc.body)
			if r.status >= 300 {
				t.Fatalf("%d %s", r.status, r.body)
			}
			if tc.after != nil {
				tc.after(r)
			}
			var rec *audit.Record
			for _, x := range records(t, l, audit.Query{Limit: 20}) {
				if x.Kind == audit.KindChange {
					rec = x
					break
				}
			}
			var d struct {
				Change string   `json:"change"`
				Fields []string `json:"fields"`
			}
			if rec == nil || json.Unmarshal(rec.Detail, &d) != nil || d.Change != tc.change || rec.Principal.UserID != tc.user || !rec.Allowed {
				t.Fatalf("latest change record %+v, want %s by %s", rec, tc.change, tc.user)
			}
			if tc.fields != nil && !slices.Equal(d.Fields, tc.fields) {
				t.Fatalf("changed fields %v, want %v", d.Fields, tc.fields)
			}
		})
	}
	// Nothing secret reached the log.
	for _, rec := range records(t, l, audit.Query{}) {
		raw, _ := json.Marshal(rec)
		for _, secret := range []string{password, "cam-pass", "u:p@"} {
			if strings.Contains(string(raw), secret) {
				t.Fatalf("record %d holds %q: %s", rec.Seq, secret, raw)
			}
		}
	}

	// A change whose record cannot be written is refused and not made.
	l.fail.Store(true)
	snap := e.snapshot()
	for _, tc := range []struct {
		name, method, path, user string
		body                     any
	}{
		{"org", "POST", "/api/v1/orgs", "admin", map[string]any{"id": "parks", "name": "Parks", "kind": "other"}},
		{"camera", "PATCH", "/api/v1/cameras/cam-police", "orgadmin", map[string]any{"name": "Renamed"}},
		{"share", "POST", "/api/v1/shares", "fireadmin", grant()},
		{"emergency", "POST", "/api/v1/cameras/cam-1/emergency", "investigator", map[string]any{"reason": "fire"}},
	} {
		t.Run("refused: "+tc.name, func(t *testing.T) {
			if r := e.call(tc.method, tc.path, tc.user, tc.body); r.status != http.StatusServiceUnavailable {
				t.Fatalf("%d %s, want 503", r.status, r.body)
			}
		})
	}
	if got := e.snapshot(); got != snap {
		t.Fatalf("refused changes changed the store:\n%s\nwant\n%s", got, snap)
	}
	if g, _ := e.db.EmergencyGrants(t.Context(), argus.EmergencyFilter{}); len(g) != 0 {
		t.Fatalf("a refused emergency grant was written: %+v", g)
	}
	if s, _ := e.db.Shares(t.Context(), argus.ShareFilter{}); len(s) != 1 {
		t.Fatalf("%d shares, want only the first (revoked) one", len(s))
	}
}

func path(p string) func() string { return func() string { return p } }

func TestAuditReportAPI(t *testing.T) {
	e, _ := emergencyEnv(t)
	from := time.Now().Add(-time.Minute).UTC().Format(time.RFC3339)
	if r := e.call("POST", "/api/v1/cameras/cam-1/emergency", "investigator", map[string]any{"reason": "fire"}); r.status != http.StatusCreated {
		t.Fatalf("open: %d %s", r.status, r.body)
	}
	if r := e.call("POST", "/api/v1/shares", "fireadmin", grant()); r.status != http.StatusCreated {
		t.Fatalf("grant: %d %s", r.status, r.body)
	}
	e.call("GET", "/api/v1/cameras/cam-police", "fireviewer", nil) // denied
	to := time.Now().Add(time.Minute).UTC().Format(time.RFC3339)
	q := "/api/v1/audit/report?from=" + url.QueryEscape(from) + "&to=" + url.QueryEscape(to)
	report := func(user string) map[string]audit.OrgActivity {
		t.Helper()
		r := e.call("GET", q, user, nil)
		if r.status != http.StatusOK {
			t.Fatalf("report as %s: %d %s", user, r.status, r.body)
		}
		var rep audit.TransparencyReport
		r.decode(t, &rep)
		out := map[string]audit.OrgActivity{}
		for _, a := range rep.Orgs {
			out[a.OrgID] = *a
		}
		return out
	}
	all := report("admin")
	if all["police"].EmergencyAccesses != 1 || all["fire"].SharesGranted != 1 || all["fire"].DeniedByAction[argus.ActionViewDirectory] == 0 {
		t.Fatalf("admin's report %+v: want police's emergency access, fire's share and fire's denied directory view", all)
	}
	police := report("auditor")
	if _, ok := police["fire"]; ok || police["police"].EmergencyAccesses != 1 {
		t.Fatalf("police auditor's report %+v: want police only", police)
	}
	for _, tc := range []struct {
		name, user, query string
		status            int
	}{
		{"a viewer", "viewer", q, http.StatusForbidden},
		{"an investigator", "investigator", q, http.StatusForbidden},
		{"a bad from", "admin", "/api/v1/audit/report?from=yesterday", http.StatusBadRequest},
		{"to before from", "admin", "/api/v1/audit/report?from=" + url.QueryEscape(to) + "&to=" + url.QueryEscape(from), http.StatusBadRequest},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if r := e.call("GET", tc.query, tc.user, nil); r.status != tc.status {
				t.Fatalf("%d %s, want %d", r.status, r.body, tc.status)
			}
		})
	}
}
