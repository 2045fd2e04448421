package api_test

import (
	"net/http"
	"slices"
	"strings"
	"testing"

	"argus"
)

func listIDs(t *testing.T, r response) []string {
	t.Helper()
	var list struct {
		Items []struct {
			ID string `json:"id"`
		} `json:"items"`
	}
	r.decode(t, &list)
	out := []string{}
	for _, it := range list.Items {
		out = append(out, it.ID)
	}
	return out
}

func TestOrgs(t *testing.T) {
	e := newEnv(t)
	for _, tc := range []struct {
		user string
		want []string
	}{
		{"admin", []string{"city", "fire", "police", "precinct-1", "system"}},
		{"viewer", []string{"police", "precinct-1"}},
		{"fireviewer", []string{"fire"}},
	} {
		t.Run("list/"+tc.user, func(t *testing.T) {
			r := e.call("GET", "/api/v1/orgs", tc.user, nil)
			if got := listIDs(t, r); r.status != http.StatusOK || !slices.Equal(got, tc.want) {
				t.Fatalf("%d %v, want %v", r.status, got, tc.want)
			}
		})
	}

	// An org admin creates a precinct below their organisation (id
	// generated), sees it at once, renames and deletes it.
	r := e.call("POST", "/api/v1/orgs", "orgadmin", map[string]any{"name": "Precinct 2", "kind": "police", "parent_id": "police"})
	var o argus.Org
	r.decode(t, &o)
	if r.status != http.StatusCreated || !strings.HasPrefix(o.ID, "org-") || o.ParentID != "police" || o.CreatedAt.IsZero() {
		t.Fatalf("create: %d %s", r.status, r.body)
	}
	if r := e.call("GET", "/api/v1/orgs/"+o.ID, "viewer", nil); r.status != http.StatusOK {
		t.Fatalf("the new org is not visible to police at once: %d", r.status)
	}
	r = e.call("PUT", "/api/v1/orgs/"+o.ID, "orgadmin", map[string]any{"name": "Second Precinct", "kind": "police", "parent_id": "precinct-1"})
	if r.status != http.StatusOK {
		t.Fatalf("update: %d %s", r.status, r.body)
	}
	if got, _ := e.db.Org(t.Context(), o.ID); got.Name != "Second Precinct" || got.ParentID != "precinct-1" {
		t.Fatalf("stored %+v", got)
	}
	// Moving it out of the org admin's tree is refused.
	before := e.snapshot()
	r = e.call("PUT", "/api/v1/orgs/"+o.ID, "orgadmin", map[string]any{"name": "Second Precinct", "kind": "police", "parent_id": "fire"})
	if r.status != http.StatusForbidden || e.snapshot() != before {
		t.Fatalf("move out of the tree: %d %s", r.status, r.body)
	}
	if r := e.call("DELETE", "/api/v1/orgs/"+o.ID, "orgadmin", nil); r.status != http.StatusNoContent {
		t.Fatalf("delete: %d %s", r.status, r.body)
	}
	if _, err := e.db.Org(t.Context(), o.ID); argus.ErrorCode(err) != argus.ENOTFOUND {
		t.Fatalf("deleted org still stored: %v", err)
	}
}

func TestUsers(t *testing.T) {
	e := newEnv(t)
	r := e.call("GET", "/api/v1/users", "orgadmin", nil)
	if got, want := listIDs(t, r), []string{"auditor", "investigator", "operator", "orgadmin", "viewer"}; !slices.Equal(got, want) {
		t.Fatalf("org admin lists %v, want the police users %v", got, want)
	}
	r = e.call("GET", "/api/v1/users?org=fire", "admin", nil)
	if got := listIDs(t, r); !slices.Equal(got, []string{"fireviewer"}) {
		t.Fatalf("admin lists fire users as %v", got)
	}

	r = e.call("POST", "/api/v1/users", "orgadmin", map[string]any{
		"username": "newbie", "display_name": "New Bie", "org_id": "precinct-1", "role": "viewer", "password": "the first password",
	})
	var u map[string]any
	r.decode(t, &u)
	if r.status != http.StatusCreated || u["username"] != "newbie" || !strings.HasPrefix(u["id"].(string), "usr-") {
		t.Fatalf("create: %d %s", r.status, r.body)
	}
	if strings.Contains(string(r.body), "password") || strings.Contains(string(r.body), "argon2") {
		t.Fatalf("the response shows password material: %s", r.body)
	}
	id := u["id"].(string)
	if r := e.call("POST", "/api/v1/login", "", map[string]string{"username": "newbie", "password": "the first password"}); r.status != http.StatusOK {
		t.Fatalf("the new user cannot sign in: %d", r.status)
	}

	r = e.call("PUT", "/api/v1/users/"+id, "orgadmin", map[string]any{
		"username": "newbie", "org_id": "precinct-1", "role": "operator", "password": "the second password",
	})
	if r.status != http.StatusOK {
		t.Fatalf("update: %d %s", r.status, r.body)
	}
	if got, _ := e.db.User(t.Context(), id); got.Role != argus.RoleOperator || got.DisplayName != "" {
		t.Fatalf("stored %+v", got)
	}
	if r := e.call("POST", "/api/v1/login", "", map[string]string{"username": "newbie", "password": "the second password"}); r.status != http.StatusOK {
		t.Fatalf("the changed password does not work: %d", r.status)
	}
	// An update without a password keeps it.
	if r := e.call("PUT", "/api/v1/users/"+id, "orgadmin", map[string]any{"username": "newbie", "org_id": "precinct-1", "role": "viewer"}); r.status != http.StatusOK {
		t.Fatalf("update: %d %s", r.status, r.body)
	}
	if r := e.call("POST", "/api/v1/login", "", map[string]string{"username": "newbie", "password": "the second password"}); r.status != http.StatusOK {
		t.Fatalf("an update without a password changed it: %d", r.status)
	}

	if r := e.call("DELETE", "/api/v1/users/"+id, "orgadmin", nil); r.status != http.StatusNoContent {
		t.Fatalf("delete: %d %s", r.status, r.body)
	}
	if _, err := e.db.User(t.Context(), id); argus.ErrorCode(err) != argus.ENOTFOUND {
		t.Fatalf("deleted user still stored: %v", err)
	}

	// Only an administrator manages administrators.
	if r := e.call("POST", "/api/v1/users", "admin", map[string]any{
		"username": "admin2", "org_id": "system", "role": "admin", "password": "the admin password",
	}); r.status != http.StatusCreated {
		t.Fatalf("admin creates admin: %d %s", r.status, r.body)
	}
}
