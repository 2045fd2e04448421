package api_test

import (
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"argus"
)

// shareEnv is newEnv with recordings of cam-1, which fire owns, a fire
// org admin and a fire investigator.
func shareEnv(t *testing.T) *env {
	t.Helper()
	e := newEnv(t, withRecordings(t))
	e.token["fireadmin"] = e.addUser("fireadmin", argus.RoleOrgAdmin, "fire")
	e.token["fireinvestigator"] = e.addUser("fireinvestigator", argus.RoleInvestigator, "fire")
	e.addCamera("cam-1", "fire", 40.71, -74.01, "school")
	e.addCamera("cam-2", "fire", 40.72, -74.02)
	e.addCamera("cam-police", "police", 40.7, -74.0)
	return e
}

// grant is a share of cam-1 from fire to police for live and playback,
// valid for a day.
func grant() map[string]any {
	return map[string]any{
		"grantee_org_id": "police", "camera_ids": []string{"cam-1"}, "actions": []string{"video.live", "video.playback"},
		"valid_until": time.Now().Add(24 * time.Hour).Format(time.RFC3339), "purpose": "  mutual aid, incident 2026-311 ",
	}
}

func with(body map[string]any, k string, v any) map[string]any {
	out := map[string]any{}
	for key, val := range body {
		out[key] = val
	}
	if v == nil {
		delete(out, k)
	} else {
		out[k] = v
	}
	return out
}

func TestShareLifecycle(t *testing.T) {
	e := shareEnv(t)
	playback := "/api/v1/cameras/cam-1/playback/index.m3u8?" + rangeQuery(rec0.Add(30*time.Second), rec0.Add(90*time.Second)) +
		"&reason=" + url.QueryEscape("case 2026-77")
	if r := e.call("GET", "/api/v1/cameras/cam-1", "investigator", nil); r.status != http.StatusNotFound {
		t.Fatalf("an unshared camera of another organisation: %d, want 404", r.status)
	}
	if r := e.call("GET", playback, "investigator", nil); r.status != http.StatusNotFound {
		t.Fatalf("playback of an unshared camera: %d, want 404", r.status)
	}

	before := time.Now().Add(-time.Second)
	r := e.call("POST", "/api/v1/shares", "fireadmin", grant())
	if r.status != http.StatusCreated {
		t.Fatalf("grant: %d %s", r.status, r.body)
	}
	var sh argus.Share
	r.decode(t, &sh)
	if !strings.HasPrefix(sh.ID, "share-") || sh.OwnerOrgID != "fire" || sh.GranteeOrgID != "police" || sh.CreatedBy != "fireadmin" ||
		sh.Purpose != "mutual aid, incident 2026-311" || sh.ValidFrom.Before(before) || sh.ValidFrom.After(time.Now()) || sh.Revoked() {
		t.Fatalf("granted %s: want a generated id, fire → police, the caller, the purpose trimmed, valid from now", r.body)
	}

	// The grantee's investigator sees, watches and plays back cam-1, but
	// may not export it, and sees nothing else of fire's.
	if r := e.call("GET", "/api/v1/cameras/cam-1", "investigator", nil); r.status != http.StatusOK {
		t.Fatalf("a shared camera: %d %s", r.status, r.body)
	}
	if r := e.call("GET", playback, "investigator", nil); r.status != http.StatusOK {
		t.Fatalf("playback through the share: %d %s", r.status, r.body)
	}
	if len(e.logs.lines(`"access decision"`, `"action":"video.playback"`, `"allowed":true`, `"user_id":"investigator"`)) == 0 {
		t.Error("the playback decision was not recorded")
	}
	if r := e.call("GET", "/api/v1/cameras/cam-2", "investigator", nil); r.status != http.StatusNotFound {
		t.Errorf("a camera the share does not cover: %d, want 404", r.status)
	}
	exp := e.call("POST", "/api/v1/exports", "investigator", map[string]any{
		"camera_ids": []string{"cam-1"}, "from": rec0.Format(time.RFC3339), "to": rec0.Add(time.Minute).Format(time.RFC3339), "reason": "case 2026-77",
	})
	if exp.status != http.StatusForbidden {
		t.Errorf("export, which the share does not grant: %d %s, want 403", exp.status, exp.body)
	}
	if r := e.call("GET", playback, "viewer", nil); r.status != http.StatusForbidden {
		t.Errorf("playback by a viewer of the grantee: %d, want 403 (the role does not allow it)", r.status)
	}

	// Both sides see the share; the owner's admin sees who has access.
	for _, user := range []string{"fireadmin", "orgadmin", "viewer", "admin"} {
		r := e.call("GET", "/api/v1/shares/"+sh.ID, user, nil)
		if r.status != http.StatusOK {
			t.Errorf("get as %s: %d %s", user, r.status, r.body)
		}
		var list shareListBody
		e.call("GET", "/api/v1/shares", user, nil).decode(t, &list)
		if !slices.Equal(list.ids(), []string{sh.ID}) {
			t.Errorf("list as %s = %v, want the share", user, list.ids())
		}
	}
	if r := e.call("GET", "/api/v1/shares/"+sh.ID, "fireviewer", nil); r.status != http.StatusNotFound {
		t.Errorf("get as a viewer of the owner: %d, want 404", r.status)
	}
	var access struct {
		CameraID string `json:"camera_id"`
		Holders  []struct {
			OrgID   string         `json:"org_id"`
			Via     string         `json:"via"`
			ShareID string         `json:"share_id"`
			Actions []argus.Action `json:"actions"`
			Active  bool           `json:"active"`
		} `json:"holders"`
	}
	r = e.call("GET", "/api/v1/cameras/cam-1/access", "fireadmin", nil)
	r.decode(t, &access)
	if r.status != http.StatusOK || len(access.Holders) != 2 || access.Holders[0].OrgID != "fire" || access.Holders[0].Via != "owner" ||
		access.Holders[1].OrgID != "police" || access.Holders[1].ShareID != sh.ID || !access.Holders[1].Active ||
		!slices.Equal(access.Holders[1].Actions, []argus.Action{argus.ActionLive, argus.ActionPlayback}) {
		t.Fatalf("access of cam-1: %d %s; want fire as owner and police by the share", r.status, r.body)
	}
	if r := e.call("GET", "/api/v1/cameras/cam-1/access", "orgadmin", nil); r.status != http.StatusForbidden {
		t.Errorf("access of cam-1 for the grantee's admin: %d, want 403", r.status)
	}

	// Only the owner revokes; then the grantee is refused at once.
	if r := e.call("POST", "/api/v1/shares/"+sh.ID+"/revoke", "orgadmin", map[string]any{"reason": "not ours"}); r.status != http.StatusForbidden {
		t.Errorf("revoke by the grantee's admin: %d, want 403", r.status)
	}
	r = e.call("POST", "/api/v1/shares/"+sh.ID+"/revoke", "fireadmin", map[string]any{"reason": " incident closed "})
	var revoked argus.Share
	r.decode(t, &revoked)
	if r.status != http.StatusOK || !revoked.Revoked() || revoked.RevokedBy != "fireadmin" || revoked.RevokeReason != "incident closed" {
		t.Fatalf("revoke: %d %s", r.status, r.body)
	}
	if r := e.call("GET", playback, "investigator", nil); r.status != http.StatusNotFound {
		t.Errorf("playback after the revocation: %d, want 404", r.status)
	}
	if r := e.call("POST", "/api/v1/shares/"+sh.ID+"/revoke", "fireadmin", map[string]any{"reason": "again"}); r.status != http.StatusConflict {
		t.Errorf("revoke twice: %d, want 409", r.status)
	}
	r = e.call("GET", "/api/v1/cameras/cam-1/access", "fireadmin", nil)
	r.decode(t, &access)
	if len(access.Holders) != 1 {
		t.Errorf("access after the revocation: %s, want the owner only", r.body)
	}
	var current shareListBody
	e.call("GET", "/api/v1/shares?current=true", "fireadmin", nil).decode(t, &current)
	if len(current.Items) != 0 {
		t.Errorf("current shares after the revocation: %v", current.ids())
	}
}

type shareListBody struct {
	Items []argus.Share `json:"items"`
}

func (l shareListBody) ids() []string {
	out := []string{}
	for _, s := range l.Items {
		out = append(out, s.ID)
	}
	return out
}

func TestShareByTagAndAreaThroughTheAPI(t *testing.T) {
	e := shareEnv(t)
	body := with(grant(), "camera_ids", nil)
	body = with(body, "tags", []string{"SCHOOL"})
	if r := e.call("POST", "/api/v1/shares", "fireadmin", body); r.status != http.StatusCreated {
		t.Fatalf("grant by tag: %d %s", r.status, r.body)
	}
	if r := e.call("GET", "/api/v1/cameras/cam-1", "viewer", nil); r.status != http.StatusOK {
		t.Errorf("cam-1 (tagged school): %d, want 200", r.status)
	}
	if r := e.call("GET", "/api/v1/cameras/cam-2", "viewer", nil); r.status != http.StatusNotFound {
		t.Errorf("cam-2 (untagged): %d, want 404", r.status)
	}
	// cam-2 stands at (-74.02, 40.72): a triangle around it.
	body = with(with(grant(), "camera_ids", nil), "area", map[string]any{"polygon": [][]float64{{-74.03, 40.715}, {-74.01, 40.715}, {-74.02, 40.73}}})
	if r := e.call("POST", "/api/v1/shares", "fireadmin", body); r.status != http.StatusCreated {
		t.Fatalf("grant by area: %d %s", r.status, r.body)
	}
	if r := e.call("GET", "/api/v1/cameras/cam-2", "viewer", nil); r.status != http.StatusOK {
		t.Errorf("cam-2 inside the polygon: %d, want 200", r.status)
	}
}

func TestShareRefused(t *testing.T) {
	e := shareEnv(t)
	day := time.Now().Add(24 * time.Hour).Format(time.RFC3339)
	for _, tc := range []struct {
		name   string
		user   string
		body   map[string]any
		status int
		field  string
	}{
		{"org admin of another organisation", "orgadmin", with(grant(), "owner_org_id", "fire"), http.StatusForbidden, ""},
		{"viewer of the owner", "fireviewer", grant(), http.StatusForbidden, ""},
		{"investigator of the owner", "fireinvestigator", grant(), http.StatusForbidden, ""},
		{"without valid_until", "fireadmin", with(grant(), "valid_until", nil), http.StatusBadRequest, "valid_until"},
		{"longer than 365 days", "fireadmin", with(grant(), "valid_until", time.Now().Add(366*24*time.Hour).Format(time.RFC3339)), http.StatusBadRequest, "valid_until"},
		{"ended already", "fireadmin", with(with(grant(), "valid_from", time.Now().Add(-2*time.Hour).Format(time.RFC3339)),
			"valid_until", time.Now().Add(-time.Hour).Format(time.RFC3339)), http.StatusBadRequest, "valid_until"},
		{"malformed valid_until", "fireadmin", with(grant(), "valid_until", "tomorrow"), http.StatusBadRequest, "valid_until"},
		{"covers nothing", "fireadmin", with(grant(), "camera_ids", nil), http.StatusBadRequest, "camera_ids"},
		{"a camera of another owner", "fireadmin", with(grant(), "camera_ids", []string{"cam-police"}), http.StatusBadRequest, "camera_ids"},
		{"an unknown camera", "fireadmin", with(grant(), "camera_ids", []string{"cam-9"}), http.StatusBadRequest, "camera_ids"},
		{"no purpose", "fireadmin", with(grant(), "purpose", " "), http.StatusBadRequest, "purpose"},
		{"no action", "fireadmin", with(grant(), "actions", []string{}), http.StatusBadRequest, "actions"},
		{"an action that cannot be shared", "fireadmin", with(grant(), "actions", []string{"camera.manage"}), http.StatusBadRequest, "actions"},
		{"unknown grantee", "fireadmin", with(grant(), "grantee_org_id", "nobody"), http.StatusBadRequest, "grantee_org_id"},
		{"to itself", "fireadmin", with(grant(), "grantee_org_id", "fire"), http.StatusBadRequest, "grantee_org_id"},
		{"bad bbox", "fireadmin", with(grant(), "area", map[string]any{"bbox": []float64{1, 2, 3}}), http.StatusBadRequest, "area"},
		{"no token", "", grant(), http.StatusUnauthorized, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := e.snapshot()
			r := e.call("POST", "/api/v1/shares", tc.user, tc.body)
			if r.status != tc.status {
				t.Fatalf("status = %d %s, want %d", r.status, r.body, tc.status)
			}
			if _, _, field, _ := r.apiError(t); field != tc.field {
				t.Errorf("field = %q, want %q", field, tc.field)
			}
			if after := e.snapshot(); after != before {
				t.Errorf("a refused grant changed the store")
			}
			shares, err := e.db.Shares(t.Context(), argus.ShareFilter{})
			if err != nil || len(shares) != 0 {
				t.Errorf("shares after a refused grant: %d, %v", len(shares), err)
			}
		})
	}
	// An admin may grant for any owner.
	if r := e.call("POST", "/api/v1/shares", "admin", with(with(grant(), "owner_org_id", "fire"), "valid_until", day)); r.status != http.StatusCreated {
		t.Errorf("grant by the admin: %d %s", r.status, r.body)
	}
}
