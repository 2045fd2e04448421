package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"os"
	"regexp"
	"strings"
	"testing"

	"argus"
	"argus/internal/api"
)

func TestHealthAndReady(t *testing.T) {
	var readyErr error
	e := newEnv(t, func(c *api.Config) {
		c.Ready = func(context.Context) error { return readyErr }
	})
	for _, tc := range []struct {
		name      string
		path      string
		readyErr  error
		closeDB   bool
		status    int
		body, msg string
	}{
		{name: "healthz", path: "/healthz", status: 200, body: `{"status":"ok","version":"test"}`},
		{name: "ready", path: "/readyz", status: 200, body: `{"status":"ready","version":"test"}`},
		{name: "node not ready", path: "/readyz", readyErr: argus.Errorf(argus.EUNAVAILABLE, "recorders still starting"),
			status: 503, msg: "not ready: recorders still starting"},
		{name: "node not ready, internal cause", path: "/readyz", readyErr: errors.New("dial tcp 10.0.0.1:4222: refused"),
			status: 503, msg: "not ready: internal error"},
		{name: "store closed", path: "/readyz", closeDB: true, status: 503, msg: "not ready: the metadata store does not answer"},
		{name: "healthz while not ready", path: "/healthz", status: 200, body: `{"status":"ok","version":"test"}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			readyErr = tc.readyErr
			if tc.closeDB {
				e.db.Close()
			}
			r := e.call("GET", tc.path, "", nil)
			if r.status != tc.status {
				t.Fatalf("%d %s", r.status, r.body)
			}
			if tc.body != "" && strings.TrimSpace(string(r.body)) != tc.body {
				t.Fatalf("body %s, want %s", r.body, tc.body)
			}
			if tc.msg != "" {
				if code, msg, _, _ := r.apiError(t); code != argus.EUNAVAILABLE || msg != tc.msg {
					t.Fatalf("error %s %q, want unavailable %q", code, msg, tc.msg)
				}
			}
		})
	}
}

func TestInternalErrorsStayInTheLog(t *testing.T) {
	e := newEnv(t)
	e.db.Close() // every store call now fails with a driver error
	r := e.call("GET", "/api/v1/orgs", "Bearer "+e.token["admin"], nil)
	code, msg, _, rid := r.apiError(t)
	// Authentication itself needs the store: the failure is internal, not 401.
	if r.status != http.StatusInternalServerError || code != argus.EINTERNAL || msg != "internal error" {
		t.Fatalf("%d %s", r.status, r.body)
	}
	if strings.Contains(string(r.body), "sql") || strings.Contains(string(r.body), "closed") {
		t.Fatalf("the response shows the cause: %s", r.body)
	}
	lines := e.logs.lines(`"msg":"internal error"`, rid)
	if len(lines) != 1 || !strings.Contains(lines[0]["err"].(string), "closed") {
		t.Fatalf("log lines for request %s: %v; want the cause with the request id", rid, lines)
	}
}

func TestRequestID(t *testing.T) {
	e := newEnv(t)
	for _, tc := range []struct {
		name, sent string
		kept       bool
	}{
		{"sane id is kept", "trace-42:abc.DEF_9", true},
		{"none sent", "", false},
		{"spaces", "hello world", false},
		{"too long", strings.Repeat("a", 65), false},
		{"markup", "<script>alert(1)</script>", false},
		{"log injection", `a","user":"admin`, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req, err := http.NewRequestWithContext(t.Context(), "GET", e.srv.URL+"/api/v1/me", nil)
			if err != nil {
				t.Fatal(err)
			}
			req.Header.Set("Authorization", "Bearer "+e.token["viewer"])
			if tc.sent != "" {
				req.Header["X-Request-Id"] = []string{tc.sent}
			}
			resp, err := e.srv.Client().Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			got := resp.Header.Get("X-Request-ID")
			if tc.kept && got != tc.sent || !tc.kept && !regexp.MustCompile(`^req-[a-z2-7]{16}$`).MatchString(got) {
				t.Fatalf("X-Request-ID %q (sent %q)", got, tc.sent)
			}
			lines := e.logs.lines(`"msg":"http request"`, `"request_id":"`+got+`"`)
			if len(lines) != 1 {
				t.Fatalf("%d access log lines carry the request id, want 1", len(lines))
			}
			l := lines[0]
			if l["method"] != "GET" || l["path"] != "/api/v1/me" || l["route"] != "/api/v1/me" || l["status"] != 200.0 || l["user"] != "viewer" || l["duration"] == nil {
				t.Fatalf("access log line %v", l)
			}
		})
	}
}

func TestMetrics(t *testing.T) {
	e := newEnv(t)
	e.addCamera("cam-1", "police", 40.7, -74)
	e.addCamera("cam-2", "police", 40.7, -74)
	e.call("GET", "/api/v1/cameras/cam-1", "viewer", nil)
	e.call("GET", "/api/v1/cameras/cam-2", "viewer", nil)
	e.call("GET", "/api/v1/cameras/cam-9", "viewer", nil)
	e.call("GET", "/no/such/thing", "viewer", nil)

	if r := e.call("GET", "/metrics", "", nil); r.status != http.StatusUnauthorized {
		t.Fatalf("metrics without a token: %d; want 401 unless MetricsPublic", r.status)
	}
	r := e.call("GET", "/metrics", "viewer", nil)
	if r.status != http.StatusOK {
		t.Fatalf("metrics: %d %s", r.status, r.body)
	}
	body := string(r.body)
	for _, want := range []string{
		`argus_http_requests_total{method="GET",route="/api/v1/cameras/{id}",status="200"} 2`,
		`argus_http_requests_total{method="GET",route="/api/v1/cameras/{id}",status="404"} 1`,
		`argus_http_requests_total{method="GET",route="unmatched",status="404"} 1`,
		`argus_http_request_duration_seconds_count{method="GET",route="/api/v1/cameras/{id}"} 3`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("metrics lack %s", want)
		}
	}
	for _, raw := range []string{"cam-1", "cam-9", "/no/such/thing"} {
		if strings.Contains(body, raw) {
			t.Errorf("metrics carry the raw path element %q", raw)
		}
	}

	public := newEnv(t, func(c *api.Config) { c.MetricsPublic = true })
	if r := public.call("GET", "/metrics", "", nil); r.status != http.StatusOK {
		t.Fatalf("public metrics without a token: %d", r.status)
	}
}

func TestOpenAPIServed(t *testing.T) {
	e := newEnv(t)
	r := e.call("GET", "/api/v1/openapi.json", "", nil)
	want, err := os.ReadFile("openapi.json")
	if err != nil {
		t.Fatal(err)
	}
	if r.status != http.StatusOK || !bytes.Equal(r.body, want) || r.header.Get("Content-Type") != "application/json" {
		t.Fatalf("%d, %d bytes (%s); want the committed openapi.json", r.status, len(r.body), r.header.Get("Content-Type"))
	}
	var doc struct {
		Paths map[string]map[string]json.RawMessage `json:"paths"`
	}
	if err := json.Unmarshal(r.body, &doc); err != nil {
		t.Fatal(err)
	}
	// Every documented operation is served: none answers 404 or 405.
	for path, ops := range doc.Paths {
		for method := range ops {
			p := strings.ReplaceAll(path, "{id}", "x")
			r := e.call(strings.ToUpper(method), p, "admin", nil)
			if r.status == http.StatusNotFound && strings.Contains(string(r.body), "no such endpoint") || r.status == http.StatusMethodNotAllowed {
				t.Errorf("%s %s is documented but not routed: %d", method, path, r.status)
			}
		}
	}
}
