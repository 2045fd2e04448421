package web

import (
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
)

func get(t *testing.T, method, path string) *http.Response {
	t.Helper()
	rec := httptest.NewRecorder()
	Handler().ServeHTTP(rec, httptest.NewRequestWithContext(t.Context(), method, path, nil))
	return rec.Result()
}

func TestHandlerServesTheApp(t *testing.T) {
	res := get(t, http.MethodGet, "/")
	body, _ := io.ReadAll(res.Body)
	if res.StatusCode != http.StatusOK {
		t.Fatalf("GET / = %d", res.StatusCode)
	}
	if got := res.Header.Get("Content-Security-Policy"); !strings.Contains(got, "default-src 'self'") {
		t.Errorf("Content-Security-Policy = %q, want default-src 'self'", got)
	}
	if got := res.Header.Get("X-Content-Type-Options"); got != "nosniff" {
		t.Errorf("X-Content-Type-Options = %q", got)
	}
	// Every script and stylesheet the page names is embedded, with a type
	// the browser accepts under nosniff.
	refs := regexp.MustCompile(`(?:src|href)="(/assets/[^"]+)"`).FindAllStringSubmatch(string(body), -1)
	if len(refs) == 0 {
		t.Fatalf("index.html names no assets:\n%s", body)
	}
	for _, m := range refs {
		t.Run(m[1], func(t *testing.T) {
			res := get(t, http.MethodGet, m[1])
			if res.StatusCode != http.StatusOK {
				t.Fatalf("GET %s = %d", m[1], res.StatusCode)
			}
			want := "text/javascript"
			if strings.HasSuffix(m[1], ".css") {
				want = "text/css"
			}
			if ct := res.Header.Get("Content-Type"); !strings.HasPrefix(ct, want) {
				t.Errorf("Content-Type = %q, want %s", ct, want)
			}
		})
	}
}

func TestHandlerServesMaplibreWorker(t *testing.T) {
	res := get(t, http.MethodGet, "/assets/maplibre-gl-worker.mjs")
	if res.StatusCode != http.StatusOK {
		t.Fatalf("GET the map worker = %d", res.StatusCode)
	}
	if ct := res.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/javascript") {
		t.Errorf("Content-Type = %q, want text/javascript (module workers need a JavaScript type)", ct)
	}
}

func TestHandlerRefuses(t *testing.T) {
	for _, tc := range []struct {
		name, method, path string
		want               int
	}{
		{"post", http.MethodPost, "/", http.StatusMethodNotAllowed},
		{"delete an asset", http.MethodDelete, "/assets/index.js", http.StatusMethodNotAllowed},
		{"unknown path", http.MethodGet, "/no/such/file.js", http.StatusNotFound},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := get(t, tc.method, tc.path).StatusCode; got != tc.want {
				t.Errorf("%s %s = %d, want %d", tc.method, tc.path, got, tc.want)
			}
		})
	}
}
