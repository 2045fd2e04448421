package api

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite openapi.json from the route table")

// TestOpenAPI keeps the committed (and embedded) openapi.json equal to what
// the route table generates.
func TestOpenAPI(t *testing.T) {
	got, err := openAPIDocument(routeTable())
	if err != nil {
		t.Fatal(err)
	}
	if *update {
		if err := os.WriteFile("openapi.json", got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	if !bytes.Equal(got, openapiJSON) {
		gl, wl := strings.Split(string(got), "\n"), strings.Split(string(openapiJSON), "\n")
		for i := range max(len(gl), len(wl)) {
			var g, w string
			if i < len(gl) {
				g = gl[i]
			}
			if i < len(wl) {
				w = wl[i]
			}
			if g != w {
				t.Fatalf("openapi.json is stale (first difference at line %d: committed %q, generated %q); "+
					"regenerate with: go test ./internal/api -run TestOpenAPI -update", i+1, w, g)
			}
		}
	}
}

// TestOpenAPIDescribesEveryRoute checks the generated document against the
// route table and the Go types it reflects.
func TestOpenAPIDescribesEveryRoute(t *testing.T) {
	raw, err := openAPIDocument(routeTable())
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		OpenAPI string                               `json:"openapi"`
		Paths   map[string]map[string]map[string]any `json:"paths"`
		Comps   struct {
			Schemas map[string]struct {
				Properties map[string]map[string]any `json:"properties"`
			} `json:"schemas"`
		} `json:"components"`
	}
	if err := json.Unmarshal(raw, &doc); err != nil {
		t.Fatal(err)
	}
	if doc.OpenAPI != "3.1.0" {
		t.Errorf("openapi = %q, want 3.1.0", doc.OpenAPI)
	}
	for _, rt := range routeTable() {
		if doc.Paths[rt.path][strings.ToLower(rt.method)] == nil {
			t.Errorf("%s %s is missing from the document", rt.method, rt.path)
		}
	}
	cam := doc.Comps.Schemas["Camera"].Properties
	for _, tc := range []struct {
		name, prop string
		want       map[string]any
	}{
		{"time is a date-time string", "created_at", map[string]any{"type": "string", "format": "date-time"}},
		{"float is a number", "lat", map[string]any{"type": "number"}},
		{"slice is an array", "tags", map[string]any{"type": "array", "items": map[string]any{"type": "string"}}},
		{"map is an object", "labels", map[string]any{"type": "object", "additionalProperties": map[string]any{"type": "string"}}},
		{"password is write-only", "password", map[string]any{"type": "string", "writeOnly": true}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, _ := json.Marshal(cam[tc.prop])
			want, _ := json.Marshal(tc.want)
			if !bytes.Equal(got, want) {
				t.Errorf("Camera.%s = %s, want %s", tc.prop, got, want)
			}
		})
	}
	if _, ok := doc.Comps.Schemas["User"].Properties["password_hash"]; ok {
		t.Error(`User exposes a json:"-" field`)
	}
	if _, ok := doc.Comps.Schemas["User"].Properties["PasswordHash"]; ok {
		t.Error(`User exposes a json:"-" field`)
	}
	// tokenCreated embeds *argus.Token: its fields are promoted.
	tc := doc.Comps.Schemas["TokenCreated"].Properties
	for _, p := range []string{"token", "id", "expires_at", "kind"} {
		if tc[p] == nil {
			t.Errorf("TokenCreated lacks %q (embedded fields not promoted?)", p)
		}
	}
}
