package api_test

import (
	"net/http"
	"slices"
	"strings"
	"testing"

	"argus"
	"argus/internal/api"
)

// TestScopedTokens: a token created with scopes and cameras passes the gate
// for what its scope holds and is refused (403, with the scope's reason)
// for the rest, even where its user's role would allow it; a scope wider
// than the role is refused naming the field; listings show the scope; a
// scoped token cannot mint an unscoped one.
func TestScopedTokens(t *testing.T) {
	e := newEnv(t, func(c *api.Config) { c.HLS = fakeHLS{} })
	own := e.addCamera("cam-own", "police", 40.7, -74, "lobby")
	other := e.addCamera("cam-other", "police", 40.7, -74, "street")
	tagged := e.addCamera("cam-tagged", "police", 40.7, -74, "lobby", "street")

	r := e.call("POST", "/api/v1/tokens", "operator", map[string]any{
		"name": "ptz-bot", "scopes": []string{"directory.view", "camera.ptz"}, "camera_ids": []string{own.ID}, "tags": []string{"lobby"},
	})
	if r.status != http.StatusCreated {
		t.Fatalf("create: %d %s", r.status, r.body)
	}
	var created struct {
		Token     string         `json:"token"`
		ID        string         `json:"id"`
		Scopes    []argus.Action `json:"scopes"`
		CameraIDs []string       `json:"camera_ids"`
		Tags      []string       `json:"tags"`
	}
	r.decode(t, &created)
	if !slices.Equal(created.Scopes, []argus.Action{argus.ActionPTZ, argus.ActionViewDirectory}) ||
		!slices.Equal(created.CameraIDs, []string{own.ID}) || !slices.Equal(created.Tags, []string{"lobby"}) {
		t.Fatalf("created %s, want the scope sorted", r.body)
	}
	bearer := "Bearer " + created.Token
	for _, tc := range []struct {
		name, method, path string
		status             int
		reason             string
	}{
		{"camera by id, action in scope", "GET", "/api/v1/cameras/" + own.ID, http.StatusOK, ""},
		{"camera by tag, action in scope", "GET", "/api/v1/cameras/" + tagged.ID, http.StatusOK, ""},
		// The operator may watch live; the token may not.
		{"action out of scope", "GET", "/api/v1/cameras/" + own.ID + "/live/index.m3u8", http.StatusForbidden,
			"the token's scope does not include the action"},
		{"camera out of scope", "GET", "/api/v1/cameras/" + other.ID, http.StatusNotFound, ""},
		{"listing: no camera in particular", "GET", "/api/v1/cameras", http.StatusForbidden,
			"the token's scope does not include the camera"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := e.call(tc.method, tc.path, bearer, nil)
			if r.status != tc.status {
				t.Fatalf("%s %s: %d %s, want %d", tc.method, tc.path, r.status, r.body, tc.status)
			}
			if tc.reason != "" {
				if _, msg, _, _ := r.apiError(t); !strings.Contains(msg, tc.reason) {
					t.Fatalf("refusal %q does not give the reason %q", msg, tc.reason)
				}
			}
		})
	}
	if got := e.logs.lines("access decision", `"token_id":"`+created.ID+`"`, `"reason":"the token's scope does not include the camera"`); len(got) != 2 {
		t.Errorf("%d decisions denied for the token's cameras, want 2 (the hidden camera and the listing)", len(got))
	}

	t.Run("listing shows the scope", func(t *testing.T) {
		r := e.call("GET", "/api/v1/tokens", "operator", nil)
		var list struct {
			Items []struct {
				ID     string         `json:"id"`
				Scopes []argus.Action `json:"scopes"`
			} `json:"items"`
		}
		r.decode(t, &list)
		i := slices.IndexFunc(list.Items, func(it struct {
			ID     string         `json:"id"`
			Scopes []argus.Action `json:"scopes"`
		}) bool {
			return it.ID == created.ID
		})
		if i < 0 || len(list.Items[i].Scopes) != 2 {
			t.Fatalf("list %s does not show the token's scopes", r.body)
		}
	})
	t.Run("a scoped token cannot create tokens", func(t *testing.T) {
		r := e.call("POST", "/api/v1/tokens", bearer, map[string]any{"name": "escape"})
		if r.status != http.StatusForbidden {
			t.Fatalf("create with a scoped token: %d %s, want 403", r.status, r.body)
		}
	})
	for _, tc := range []struct {
		name  string
		body  map[string]any
		field string
	}{
		{"scope wider than the role", map[string]any{"name": "x", "scopes": []string{"video.live", "video.export"}}, "scopes"},
		{"unknown action", map[string]any{"name": "x", "scopes": []string{"video.everything"}}, "scopes"},
		{"bad camera id", map[string]any{"name": "x", "camera_ids": []string{"Not An Id"}}, "camera_ids"},
		{"bad tag", map[string]any{"name": "x", "tags": []string{"Not A Tag"}}, "tags"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := e.call("POST", "/api/v1/tokens", "operator", tc.body)
			code, _, field, _ := r.apiError(t)
			if r.status != http.StatusBadRequest || code != argus.EINVALID || field != tc.field {
				t.Fatalf("%d %s, want 400 EINVALID on %s", r.status, r.body, tc.field)
			}
		})
	}
	// An empty scope is the role, as before scopes existed.
	r = e.call("POST", "/api/v1/tokens", "operator", map[string]any{"name": "plain"})
	r.decode(t, &created)
	if r := e.call("GET", "/api/v1/cameras/"+other.ID, "Bearer "+created.Token, nil); r.status != http.StatusOK {
		t.Fatalf("unscoped token: %d %s", r.status, r.body)
	}
}
