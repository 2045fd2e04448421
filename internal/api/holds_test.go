package api_test

import (
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"argus"
)

func TestHoldLifecycle(t *testing.T) {
	e := newEnv(t)
	e.addCamera("cam-1", "precinct-1", 40.7, -74.0)
	r := e.call("POST", "/api/v1/holds", "investigator", map[string]any{
		"camera_id": "cam-1", "from": "2026-03-01T10:00:00.0000015Z", "to": "2026-03-01T11:30:00+01:00",
		"reason": "  robbery, case 2026-0117  ",
	})
	if r.status != http.StatusCreated {
		t.Fatalf("place: %d %s", r.status, r.body)
	}
	var placed argus.Hold
	r.decode(t, &placed)
	from := time.Date(2026, 3, 1, 10, 0, 0, 1000, time.UTC)
	to := time.Date(2026, 3, 1, 10, 30, 0, 0, time.UTC)
	if !strings.HasPrefix(placed.ID, "hold-") || placed.CameraID != "cam-1" || placed.OrgID != "precinct-1" ||
		placed.CreatedBy != "investigator" || placed.Reason != "robbery, case 2026-0117" ||
		!placed.From.Equal(from) || !placed.To.Equal(to) || placed.CreatedAt.IsZero() || !placed.Active() {
		t.Fatalf("placed %s: want a generated id, the camera's org, the caller, the reason trimmed, the range in UTC", r.body)
	}
	if strings.Contains(string(r.body), "released") {
		t.Fatalf("an active hold shows release fields: %s", r.body)
	}

	path := "/api/v1/holds/" + placed.ID
	for _, user := range []string{"auditor", "orgadmin", "admin"} {
		r = e.call("GET", path, user, nil)
		var got argus.Hold
		r.decode(t, &got)
		if r.status != http.StatusOK || got.ID != placed.ID || !got.From.Equal(from) {
			t.Fatalf("get as %s: %d %s", user, r.status, r.body)
		}
	}
	listed := func(query string) []string {
		t.Helper()
		r := e.call("GET", "/api/v1/holds"+query, "auditor", nil)
		var list struct {
			Items []argus.Hold `json:"items"`
		}
		r.decode(t, &list)
		if r.status != http.StatusOK {
			t.Fatalf("list %s: %d %s", query, r.status, r.body)
		}
		out := []string{}
		for _, h := range list.Items {
			out = append(out, h.ID)
		}
		return out
	}
	for _, q := range []string{"", "?camera_id=cam-1", "?active=true", "?from=2026-03-01T10:29:00Z&to=2026-03-01T10:31:00Z"} {
		if got := listed(q); !slices.Equal(got, []string{placed.ID}) {
			t.Fatalf("list %q = %v, want the hold", q, got)
		}
	}
	for _, q := range []string{"?camera_id=cam-2", "?from=2026-03-01T10:30:00Z", "?to=2026-03-01T10:00:00.000001Z"} {
		if got := listed(q); len(got) != 0 {
			t.Fatalf("list %q = %v, want none", q, got)
		}
	}

	r = e.call("POST", path+"/release", "orgadmin", map[string]any{"reason": " suspect charged; video exported "})
	var released argus.Hold
	r.decode(t, &released)
	if r.status != http.StatusOK || released.Active() || released.ReleasedBy != "orgadmin" ||
		released.ReleaseReason != "suspect charged; video exported" || released.Reason != placed.Reason {
		t.Fatalf("release: %d %s", r.status, r.body)
	}
	stored, err := e.db.Hold(t.Context(), placed.ID)
	if err != nil || stored.Active() || stored.ReleasedBy != "orgadmin" {
		t.Fatalf("stored after release: %+v, %v; want the row kept and released", stored, err)
	}
	if got := listed("?active=true"); len(got) != 0 {
		t.Fatalf("active holds after release = %v, want none", got)
	}
	if got := listed("?active=false"); !slices.Equal(got, []string{placed.ID}) {
		t.Fatalf("all holds after release = %v, want the released one kept", got)
	}
	if r := e.call("POST", path+"/release", "admin", map[string]any{"reason": "again"}); r.status != http.StatusConflict {
		t.Fatalf("second release: %d %s, want 409", r.status, r.body)
	}
}

func TestHoldAccessByRole(t *testing.T) {
	e := newEnv(t)
	e.addCamera("cam-own", "police", 40.7, -74.0)
	e.addCamera("cam-child", "precinct-1", 40.7, -74.0)
	e.addCamera("cam-parent", "city", 40.7, -74.0)
	e.addCamera("cam-foreign", "fire", 40.7, -74.0)
	e.token["fireinvestigator"] = e.addUser("fireinvestigator", argus.RoleInvestigator, "fire")
	e.token["fireadmin"] = e.addUser("fireadmin", argus.RoleOrgAdmin, "fire")

	body := func(camera string) map[string]any {
		return map[string]any{"camera_id": camera, "from": "2026-03-01T10:00:00Z", "to": "2026-03-01T11:00:00Z", "reason": "case"}
	}
	// Who may place a hold on which camera: investigators, org admins and
	// admins, on the cameras of their organisation tree; a camera outside
	// it does not exist for them.
	for _, tc := range []struct {
		user, camera string
		status       int
	}{
		{"investigator", "cam-own", http.StatusCreated},
		{"investigator", "cam-child", http.StatusCreated},
		{"orgadmin", "cam-child", http.StatusCreated},
		{"admin", "cam-foreign", http.StatusCreated},
		{"fireinvestigator", "cam-foreign", http.StatusCreated},
		{"investigator", "cam-parent", http.StatusBadRequest},
		{"investigator", "cam-foreign", http.StatusBadRequest},
		{"viewer", "cam-own", http.StatusForbidden},
		{"operator", "cam-own", http.StatusForbidden},
		{"auditor", "cam-own", http.StatusForbidden},
		{"fireviewer", "cam-foreign", http.StatusForbidden},
	} {
		t.Run("place/"+tc.user+"/"+tc.camera, func(t *testing.T) {
			before := e.snapshot()
			r := e.call("POST", "/api/v1/holds", tc.user, body(tc.camera))
			if r.status != tc.status {
				t.Fatalf("%d %s, want %d", r.status, r.body, tc.status)
			}
			if changed := e.snapshot() != before; changed != (tc.status == http.StatusCreated) {
				t.Fatalf("store changed = %v after a %d", changed, r.status)
			}
		})
	}

	all, err := e.db.Holds(t.Context(), argus.HoldFilter{})
	if err != nil {
		t.Fatal(err)
	}
	holdOf := map[string]string{} // camera → a hold on it
	for _, h := range all {
		holdOf[h.CameraID] = h.ID
	}
	// Listings are scoped to the caller's organisation tree.
	for _, tc := range []struct {
		user    string
		cameras []string
	}{
		{"investigator", []string{"cam-child", "cam-child", "cam-own"}},
		{"auditor", []string{"cam-child", "cam-child", "cam-own"}},
		{"fireinvestigator", []string{"cam-foreign", "cam-foreign"}},
		{"admin", []string{"cam-child", "cam-child", "cam-foreign", "cam-foreign", "cam-own"}},
	} {
		t.Run("list/"+tc.user, func(t *testing.T) {
			r := e.call("GET", "/api/v1/holds", tc.user, nil)
			var list struct {
				Items []argus.Hold `json:"items"`
			}
			r.decode(t, &list)
			got := []string{}
			for _, h := range list.Items {
				got = append(got, h.CameraID)
			}
			slices.Sort(got)
			if r.status != http.StatusOK || !slices.Equal(got, tc.cameras) {
				t.Fatalf("%d: holds on %v, want %v", r.status, got, tc.cameras)
			}
		})
	}

	// Only org admins (in their tree) and admins may release.
	for _, tc := range []struct {
		user, camera string
		status       int
	}{
		{"investigator", "cam-own", http.StatusForbidden},
		{"auditor", "cam-own", http.StatusForbidden},
		{"viewer", "cam-own", http.StatusForbidden},
		{"fireinvestigator", "cam-foreign", http.StatusForbidden},
		{"fireadmin", "cam-own", http.StatusNotFound},
		{"orgadmin", "cam-foreign", http.StatusNotFound},
		{"orgadmin", "cam-own", http.StatusOK},
		{"fireadmin", "cam-foreign", http.StatusOK},
		{"admin", "cam-child", http.StatusOK},
	} {
		t.Run("release/"+tc.user+"/"+tc.camera, func(t *testing.T) {
			id := holdOf[tc.camera]
			r := e.call("POST", "/api/v1/holds/"+id+"/release", tc.user, map[string]any{"reason": "done"})
			if r.status != tc.status {
				t.Fatalf("%d %s, want %d", r.status, r.body, tc.status)
			}
			h, err := e.db.Hold(t.Context(), id)
			if err != nil {
				t.Fatal(err)
			}
			if released := !h.Active() && h.ReleasedBy == tc.user; released != (tc.status == http.StatusOK) {
				t.Fatalf("hold %+v after a %d", *h, r.status)
			}
		})
	}
}

// TestQuotaFields checks that the byte quotas of cameras and organisations
// pass through the API.
func TestQuotaFields(t *testing.T) {
	e := newEnv(t)
	cam := goodCamera(func(c map[string]any) { c["retention_bytes"] = 2 << 40 })
	if r := e.call("POST", "/api/v1/cameras", "orgadmin", cam); r.status != http.StatusCreated {
		t.Fatalf("create camera: %d %s", r.status, r.body)
	}
	r := e.call("PATCH", "/api/v1/cameras/cam-new", "orgadmin", map[string]any{"name": "Renamed"})
	var c argus.Camera
	r.decode(t, &c)
	if r.status != http.StatusOK || c.RetentionBytes != 2<<40 {
		t.Fatalf("patch kept retention_bytes? %d %s", r.status, r.body)
	}
	if stored, err := e.db.Camera(t.Context(), "cam-new"); err != nil || stored.RetentionBytes != 2<<40 {
		t.Fatalf("stored camera %+v, %v", stored, err)
	}

	r = e.call("PUT", "/api/v1/orgs/precinct-1", "orgadmin", map[string]any{
		"name": "Precinct 1", "kind": "police", "parent_id": "police", "quota_bytes": 50 << 40,
	})
	var o argus.Org
	r.decode(t, &o)
	if r.status != http.StatusOK || o.QuotaBytes != 50<<40 {
		t.Fatalf("set quota: %d %s", r.status, r.body)
	}
	r = e.call("GET", "/api/v1/orgs/precinct-1", "viewer", nil)
	r.decode(t, &o)
	if r.status != http.StatusOK || o.QuotaBytes != 50<<40 {
		t.Fatalf("get org: %d %s", r.status, r.body)
	}
	// Managing an organisation is decided by its parent: an org admin may
	// not give its own organisation more room.
	if r := e.call("PUT", "/api/v1/orgs/police", "orgadmin", map[string]any{
		"name": "Police", "kind": "police", "parent_id": "city", "quota_bytes": 1 << 50,
	}); r.status != http.StatusForbidden {
		t.Fatalf("org admin raised its own quota: %d %s", r.status, r.body)
	}
}
