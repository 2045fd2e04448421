package api_test

import (
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"argus"
)

// send is e.call with extra request headers.
func (e *env) send(method, path, body string, headers map[string]string) response {
	e.t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequestWithContext(e.t.Context(), method, e.srv.URL+path, rd)
	if err != nil {
		e.t.Fatal(err)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	resp, err := e.srv.Client().Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		e.t.Fatal(err)
	}
	return response{status: resp.StatusCode, header: resp.Header, body: raw}
}

// TestSessionCookieCSRF: a request the session cookie authenticates may
// change things only when it does not come from another origin's page;
// bearer tokens, safe methods and non-browser clients are not affected.
func TestSessionCookieCSRF(t *testing.T) {
	e := newEnv(t)
	r := e.call("POST", "/api/v1/login", "", map[string]string{"username": "viewer", "password": testPassword})
	if r.status != http.StatusOK {
		t.Fatalf("login: %d %s", r.status, r.body)
	}
	cookie := "argus_session=" + sessionCookie(t, r).Value
	self := e.srv.URL // the Origin of argus's own pages
	const token = `{"name":"ci"}`
	for _, tc := range []struct {
		name, method, path, body string
		headers                  map[string]string
		status                   int
	}{
		{"cookie, cross-site fetch", "POST", "/api/v1/tokens", token,
			map[string]string{"Cookie": cookie, "Sec-Fetch-Site": "cross-site", "Origin": "https://evil.example"}, 403},
		{"cookie, sibling subdomain (same-site is not same-origin)", "POST", "/api/v1/tokens", token,
			map[string]string{"Cookie": cookie, "Sec-Fetch-Site": "same-site", "Origin": "https://blog.city.example"}, 403},
		{"cookie, foreign Origin without Sec-Fetch-Site", "POST", "/api/v1/tokens", token,
			map[string]string{"Cookie": cookie, "Origin": "https://evil.example"}, 403},
		{"cookie, foreign Origin on DELETE", "DELETE", "/api/v1/tokens/tok-none", "",
			map[string]string{"Cookie": cookie, "Origin": "https://evil.example"}, 403},
		{"cookie, foreign Origin on PATCH", "PATCH", "/api/v1/cameras/cam-none", `{}`,
			map[string]string{"Cookie": cookie, "Sec-Fetch-Site": "cross-site"}, 403},
		{"cookie, same-origin fetch", "POST", "/api/v1/tokens", token,
			map[string]string{"Cookie": cookie, "Sec-Fetch-Site": "same-origin", "Origin": self}, 201},
		{"cookie, own Origin without Sec-Fetch-Site", "POST", "/api/v1/tokens", token,
			map[string]string{"Cookie": cookie, "Origin": self}, 201},
		{"cookie, no browser headers (not a browser)", "POST", "/api/v1/tokens", token,
			map[string]string{"Cookie": cookie}, 201},
		{"cookie, cross-site GET (safe method)", "GET", "/api/v1/me", "",
			map[string]string{"Cookie": cookie, "Sec-Fetch-Site": "cross-site", "Origin": "https://evil.example"}, 200},
		{"bearer, cross-site (no ambient credential)", "POST", "/api/v1/tokens", token,
			map[string]string{"Authorization": "Bearer " + e.token["viewer"], "Cookie": cookie, "Sec-Fetch-Site": "cross-site"}, 201},
		{"login from another site", "POST", "/api/v1/login", `{"username":"viewer","password":"` + testPassword + `"}`,
			map[string]string{"Sec-Fetch-Site": "cross-site", "Origin": "https://evil.example"}, 403},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := e.send(tc.method, tc.path, tc.body, tc.headers)
			if r.status != tc.status {
				t.Fatalf("%s %s: %d %s, want %d", tc.method, tc.path, r.status, r.body, tc.status)
			}
			if tc.status == http.StatusForbidden {
				if code, msg, _, _ := r.apiError(t); code != argus.EFORBIDDEN || !strings.Contains(msg, "cross-origin request refused") {
					t.Fatalf("refusal %s", r.body)
				}
			}
		})
	}
	if n := len(e.logs.lines("cross-origin request refused")); n != 6 {
		t.Errorf("%d refusals logged, want 6", n)
	}
}

// TestLoginLockout: ten consecutive failures from one address lock the
// account out from that address for 15 minutes, even for the right
// password, with Retry-After; another address signs in.
func TestLoginLockout(t *testing.T) {
	e := newEnv(t)
	wrong := `{"username":"viewer","password":"not the password"}`
	right := `{"username":"viewer","password":"` + testPassword + `"}`
	for i := range 10 {
		if r := e.call("POST", "/api/v1/login", "", wrong); r.status != http.StatusUnauthorized {
			t.Fatalf("failure %d: %d %s", i+1, r.status, r.body)
		}
		e.clk.Advance(12 * time.Second)
	}
	r := e.call("POST", "/api/v1/login", "", right)
	code, msg, _, _ := r.apiError(t)
	if r.status != http.StatusTooManyRequests || code != argus.ERATELIMIT || !strings.Contains(msg, "locked out") {
		t.Fatalf("after 10 failures: %d %s, want 429 locked out", r.status, r.body)
	}
	if got, want := r.header.Get("Retry-After"), strconv.Itoa(15*60-12); got != want {
		t.Fatalf("Retry-After = %q, want %q", got, want)
	}
	if got := e.logs.lines("sign-in locked out after repeated failures", `"user":"viewer"`); len(got) != 1 {
		t.Fatalf("%d lock-out log lines, want 1", len(got))
	}
	if strings.Contains(e.logs.text(), "not the password") || strings.Contains(e.logs.text(), testPassword) {
		t.Fatal("the log holds a password")
	}
	e.clk.Advance(15 * time.Minute)
	if r := e.call("POST", "/api/v1/login", "", right); r.status != http.StatusOK {
		t.Fatalf("after the lock-out: %d %s", r.status, r.body)
	}
}

// text returns everything logged so far.
func (b *syncBuffer) text() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
