package api_test

import (
	"bytes"
	"encoding/json"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"argus"
	"argus/internal/access"
	"argus/internal/api"
	"argus/internal/audit"
	"argus/internal/evidence"
)

// newAuditEnv is newEnv whose gate records into a real audit log, which
// the API also reads.
func newAuditEnv(t *testing.T) (*env, *audit.Log) {
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
	e := newEnv(t, func(c *api.Config) {
		g, err := access.NewGate(access.GateConfig{Orgs: c.Store, Recorder: l})
		if err != nil {
			t.Fatal(err)
		}
		c.Gate, c.Audit = g, l
	})
	return e, l
}

// liveRecord appends a live decision of user (of org) on camera cam of
// camOrg.
func liveRecord(t *testing.T, l *audit.Log, user, org, cam, camOrg string) {
	t.Helper()
	err := l.Record(t.Context(), argus.Decision{
		Principal: argus.Principal{UserID: user, Username: user, OrgID: org, Role: argus.RoleViewer},
		Action:    argus.ActionLive, Resource: argus.Resource{Kind: "camera", ID: cam, OrgID: camOrg},
		Allowed: true, Reason: "test", Time: time.Now(),
	})
	if err != nil {
		t.Fatal(err)
	}
}

func auditItems(t *testing.T, r response) ([]audit.Record, string) {
	t.Helper()
	if r.status != http.StatusOK {
		t.Fatalf("status %d (%s), want 200", r.status, r.body)
	}
	var page struct {
		Items []audit.Record `json:"items"`
		Next  string         `json:"next"`
	}
	r.decode(t, &page)
	return page.Items, page.Next
}

func cameras(recs []audit.Record) string {
	var ids []string
	for _, r := range recs {
		ids = append(ids, r.Resource.ID)
	}
	return strings.Join(ids, ",")
}

func TestAuditAPI(t *testing.T) {
	e, l := newAuditEnv(t)
	// The platform's own organisation's auditor: the city's oversight.
	e.token["oversight"] = e.addUser("oversight", argus.RoleAuditor, access.SystemOrgID)
	liveRecord(t, l, "fireviewer", "fire", "cam-f", "fire")
	liveRecord(t, l, "viewer", "police", "cam-p", "police")
	liveRecord(t, l, "fireviewer", "fire", "cam-p1", "precinct-1")

	t.Run("scope", func(t *testing.T) {
		for _, tc := range []struct{ user, want string }{
			{"admin", "cam-p1,cam-p,cam-f"},
			{"auditor", "cam-p1,cam-p"}, // police's own and below, by principal or camera
			{"oversight", "cam-p1,cam-p,cam-f"},
			{"orgadmin", "cam-p1,cam-p"},
		} {
			t.Run(tc.user, func(t *testing.T) {
				recs, _ := auditItems(t, e.call("GET", "/api/v1/audit?action=video.live", tc.user, nil))
				if got := cameras(recs); got != tc.want {
					t.Fatalf("cameras %q, want %q", got, tc.want)
				}
			})
		}
	})
	t.Run("roles without audit access", func(t *testing.T) {
		for _, user := range []string{"viewer", "investigator", "fireviewer"} {
			if r := e.call("GET", "/api/v1/audit", user, nil); r.status != http.StatusForbidden {
				t.Fatalf("%s: status %d, want 403", user, r.status)
			}
		}
	})
	t.Run("filters", func(t *testing.T) {
		for _, tc := range []struct{ query, want string }{
			{"user=fireviewer&action=video.live", "cam-p1,cam-f"},
			{"camera=cam-p", "cam-p"},
			{"from=2000-01-01T00:00:00Z&to=2000-01-02T00:00:00Z", ""},
		} {
			recs, _ := auditItems(t, e.call("GET", "/api/v1/audit?"+tc.query, "admin", nil))
			if got := cameras(recs); got != tc.want {
				t.Fatalf("%s: cameras %q, want %q", tc.query, got, tc.want)
			}
		}
		r := e.call("GET", "/api/v1/audit?from=yesterday", "admin", nil)
		if code, _, field, _ := r.apiError(t); r.status != http.StatusBadRequest || code != argus.EINVALID || field != "from" {
			t.Fatalf("from=yesterday: status %d, code %s, field %s; want 400 invalid from", r.status, code, field)
		}
	})
	t.Run("pages", func(t *testing.T) {
		first, next := auditItems(t, e.call("GET", "/api/v1/audit?action=video.live&limit=2", "admin", nil))
		if cameras(first) != "cam-p1,cam-p" || next == "" {
			t.Fatalf("first page %q next %q, want cam-p1,cam-p and a cursor", cameras(first), next)
		}
		rest, next := auditItems(t, e.call("GET", "/api/v1/audit?action=video.live&limit=2&cursor="+next, "admin", nil))
		if cameras(rest) != "cam-f" || next != "" {
			t.Fatalf("second page %q next %q, want cam-f and no cursor", cameras(rest), next)
		}
	})
	t.Run("reading the audit is audited", func(t *testing.T) {
		recs, _ := auditItems(t, e.call("GET", "/api/v1/audit?user=auditor&action=audit.view", "admin", nil))
		if len(recs) == 0 || !recs[0].Allowed || recs[0].Client != "127.0.0.1" || recs[0].Principal.Role != argus.RoleAuditor {
			t.Fatalf("records of the auditor reading the log: %+v; want allowed ones from 127.0.0.1", recs)
		}
		denied, _ := auditItems(t, e.call("GET", "/api/v1/audit?user=viewer&action=audit.view", "admin", nil))
		if len(denied) == 0 || denied[0].Allowed {
			t.Fatalf("records of the viewer trying: %+v; want a deny", denied)
		}
	})
	t.Run("export", func(t *testing.T) {
		r := e.call("GET", "/api/v1/audit/export?action=video.live", "auditor", nil)
		if r.status != http.StatusOK || r.header.Get("Content-Type") != "application/x-ndjson" {
			t.Fatalf("status %d, content type %q; want 200 application/x-ndjson", r.status, r.header.Get("Content-Type"))
		}
		lines := bytes.Split(bytes.TrimSpace(r.body), []byte("\n"))
		var recs []audit.Record
		for _, line := range lines {
			var rec audit.Record
			if err := json.Unmarshal(line, &rec); err != nil {
				t.Fatalf("line %q: %v", line, err)
			}
			recs = append(recs, rec)
		}
		if cameras(recs) != "cam-p1,cam-p" || len(recs[0].Hash) != 32 {
			t.Fatalf("exported %q, want cam-p1,cam-p with their hashes", cameras(recs))
		}
	})
}

func TestAuditAPIWithoutLog(t *testing.T) {
	e := newEnv(t)
	r := e.call("GET", "/api/v1/audit", "admin", nil)
	if code, _, _, _ := r.apiError(t); r.status != http.StatusServiceUnavailable || code != argus.EUNAVAILABLE {
		t.Fatalf("status %d code %s, want 503 unavailable", r.status, code)
	}
}

func TestUnwritableAuditLogRefuses(t *testing.T) {
	e, l := newAuditEnv(t)
	e.addCamera("cam-1", "police", 52.5, 13.4)
	if r := e.call("GET", "/api/v1/cameras/cam-1", "viewer", nil); r.status != http.StatusOK {
		t.Fatalf("with the log open: status %d, want 200", r.status)
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	before := e.snapshot()
	for _, c := range []struct{ method, path, user string }{
		{"GET", "/api/v1/cameras/cam-1", "viewer"},
		{"DELETE", "/api/v1/cameras/cam-1", "admin"},
	} {
		r := e.call(c.method, c.path, c.user, nil)
		code, msg, _, _ := r.apiError(t)
		if r.status != http.StatusServiceUnavailable || code != argus.EUNAVAILABLE || !strings.Contains(msg, "audit log") {
			t.Fatalf("%s %s: status %d, %s %q; want 503 about the audit log", c.method, c.path, r.status, code, msg)
		}
	}
	if after := e.snapshot(); after != before {
		t.Fatal("a refused request changed the store")
	}
}

// TestRefusedChangeIsNotRecorded: a share the store would refuse (its
// grantee does not exist) is refused before its change record is written,
// so the log holds no grant that never happened.
func TestRefusedChangeIsNotRecorded(t *testing.T) {
	e, _ := newAuditEnv(t)
	e.addCamera("cam-1", "police", 40.7, -74)
	r := e.call("POST", "/api/v1/shares", "orgadmin", map[string]any{
		"owner_org_id": "police", "grantee_org_id": "no-such-org", "camera_ids": []string{"cam-1"},
		"actions": []string{"video.live"}, "valid_until": time.Now().Add(time.Hour).Format(time.RFC3339), "purpose": "mutual aid",
	})
	if _, _, field, _ := r.apiError(t); r.status != http.StatusBadRequest || field != "grantee_org_id" {
		t.Fatalf("share to a missing organisation: %d %s, want 400 on grantee_org_id", r.status, r.body)
	}
	recs, _ := auditItems(t, e.call("GET", "/api/v1/audit?action=share.manage", "admin", nil))
	for _, rec := range recs {
		if rec.Kind == audit.KindChange {
			t.Errorf("a change was recorded for the refused share: %+v", rec)
		}
	}
}
