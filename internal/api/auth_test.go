package api_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"argus"
	"argus/internal/api"
)

// sessionCookie returns the argus_session cookie a response sets.
func sessionCookie(t *testing.T, r response) *http.Cookie {
	t.Helper()
	for _, c := range (&http.Response{Header: r.header}).Cookies() {
		if c.Name == "argus_session" {
			return c
		}
	}
	t.Fatalf("no argus_session cookie in %v", r.header)
	return nil
}

func TestLoginMeLogout(t *testing.T) {
	e := newEnv(t)
	r := e.call("POST", "/api/v1/login", "", map[string]string{"username": "viewer", "password": testPassword})
	if r.status != http.StatusOK {
		t.Fatalf("login: %d %s", r.status, r.body)
	}
	var login struct {
		Token     string         `json:"token"`
		ExpiresAt time.Time      `json:"expires_at"`
		User      map[string]any `json:"user"`
	}
	r.decode(t, &login)
	if !strings.HasPrefix(login.Token, "argus_") || login.User["username"] != "viewer" || login.User["role"] != "viewer" {
		t.Fatalf("login body %s", r.body)
	}
	if _, ok := login.User["password_hash"]; ok || strings.Contains(string(r.body), "argon2") {
		t.Fatalf("login body leaks the password hash: %s", r.body)
	}
	if want := e.clk.Now().Add(12 * time.Hour); !login.ExpiresAt.Equal(want) {
		t.Fatalf("expires_at %v, want %v", login.ExpiresAt, want)
	}
	c := sessionCookie(t, r)
	if c.Value != login.Token || !c.HttpOnly || c.SameSite != http.SameSiteStrictMode || c.Secure || c.Path != "/" {
		t.Fatalf("cookie %+v: want the token, HttpOnly, SameSite=Strict, not Secure over plain HTTP, Path=/", c)
	}

	for _, tc := range []struct{ name, auth string }{
		{"bearer", "Bearer " + login.Token},
		{"cookie", "Cookie argus_session=" + login.Token},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := e.call("GET", "/api/v1/me", tc.auth, nil)
			var me struct {
				User    argus.User `json:"user"`
				TokenID string     `json:"token_id"`
			}
			r.decode(t, &me)
			if r.status != http.StatusOK || me.User.Username != "viewer" || me.TokenID == "" {
				t.Fatalf("me: %d %s", r.status, r.body)
			}
		})
	}

	r = e.call("POST", "/api/v1/logout", "Cookie argus_session="+login.Token, nil)
	if r.status != http.StatusNoContent {
		t.Fatalf("logout: %d %s", r.status, r.body)
	}
	if c := sessionCookie(t, r); c.MaxAge >= 0 || c.Value != "" {
		t.Fatalf("logout cookie %+v does not clear the session", c)
	}
	r = e.call("GET", "/api/v1/me", "Bearer "+login.Token, nil)
	if code, msg, _, _ := r.apiError(t); r.status != http.StatusUnauthorized || code != argus.EUNAUTHORIZED || msg != "invalid or expired token" {
		t.Fatalf("me after logout: %d %s", r.status, r.body)
	}
}

func TestLoginCookieSecureOverTLS(t *testing.T) {
	e := newEnv(t)
	srv, err := api.New(api.Config{Store: e.db, Gate: e.gate, Auth: e.auth})
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewTLSServer(srv.Handler())
	defer ts.Close()
	resp, err := ts.Client().Post(ts.URL+"/api/v1/login", "application/json",
		strings.NewReader(`{"username":"viewer","password":"`+testPassword+`"}`))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.TLS == nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("login over TLS: %d (tls %v)", resp.StatusCode, resp.TLS != nil)
	}
	for _, c := range resp.Cookies() {
		if c.Name == "argus_session" && !c.Secure {
			t.Fatalf("cookie over TLS is not Secure: %+v", c)
		}
	}
}

func TestLoginFailures(t *testing.T) {
	e := newEnv(t)
	if err := e.db.UpdateUser(t.Context(), &argus.User{ID: "auditor", Username: "auditor", OrgID: "police", Role: argus.RoleAuditor, Disabled: true, PasswordHash: mustHash(t, e)}); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, body      string
		status          int
		code, msg, fild string
	}{
		{"wrong password", `{"username":"viewer","password":"not the password"}`, 401, argus.EUNAUTHORIZED, "invalid username or password", ""},
		{"unknown user", `{"username":"nobody","password":"` + testPassword + `"}`, 401, argus.EUNAUTHORIZED, "invalid username or password", ""},
		{"disabled user", `{"username":"auditor","password":"` + testPassword + `"}`, 401, argus.EUNAUTHORIZED, "user is disabled", ""},
		{"missing password", `{"username":"viewer"}`, 400, argus.EINVALID, "password is required", "password"},
		{"missing username", `{"password":"x"}`, 400, argus.EINVALID, "username is required", "username"},
		{"unknown field", `{"username":"viewer","password":"x","otp":"1"}`, 400, argus.EINVALID, `unknown field "otp"`, "otp"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := e.snapshot()
			r := e.call("POST", "/api/v1/login", "", tc.body)
			code, msg, field, _ := r.apiError(t)
			if r.status != tc.status || code != tc.code || msg != tc.msg || field != tc.fild {
				t.Fatalf("got %d %s", r.status, r.body)
			}
			if r.status == 401 && r.header.Get("WWW-Authenticate") == "" {
				t.Error("401 without WWW-Authenticate")
			}
			if len(r.header.Values("Set-Cookie")) != 0 {
				t.Error("a failed login set a cookie")
			}
			if after := e.snapshot(); after != before {
				t.Fatalf("store changed:\n%s\n---\n%s", before, after)
			}
		})
	}
}

func mustHash(t *testing.T, e *env) string {
	t.Helper()
	h, err := e.auth.HashPassword(testPassword)
	if err != nil {
		t.Fatal(err)
	}
	return h
}

func TestLoginRateLimit(t *testing.T) {
	e := newEnv(t)
	wrong := `{"username":"viewer","password":"not the password"}`
	for i := range 5 {
		if r := e.call("POST", "/api/v1/login", "", wrong); r.status != http.StatusUnauthorized {
			t.Fatalf("attempt %d: %d %s", i+1, r.status, r.body)
		}
	}
	r := e.call("POST", "/api/v1/login", "", `{"username":"viewer","password":"`+testPassword+`"}`)
	code, msg, _, _ := r.apiError(t)
	if r.status != http.StatusTooManyRequests || code != argus.ERATELIMIT || msg != "too many sign-in attempts; try again later" {
		t.Fatalf("6th attempt: %d %s", r.status, r.body)
	}
	if ra := r.header.Get("Retry-After"); ra == "" || ra == "0" {
		t.Fatalf("Retry-After = %q", ra)
	}
	// Another username from the same address is not affected.
	if r := e.call("POST", "/api/v1/login", "", `{"username":"operator","password":"`+testPassword+`"}`); r.status != http.StatusOK {
		t.Fatalf("other user: %d %s", r.status, r.body)
	}
}

func TestTokens(t *testing.T) {
	e := newEnv(t)
	r := e.call("POST", "/api/v1/tokens", "operator", map[string]any{"name": "prometheus", "expires_in_days": 30})
	if r.status != http.StatusCreated {
		t.Fatalf("create: %d %s", r.status, r.body)
	}
	var created struct {
		Token     string    `json:"token"`
		ID        string    `json:"id"`
		Kind      string    `json:"kind"`
		Name      string    `json:"name"`
		ExpiresAt time.Time `json:"expires_at"`
	}
	r.decode(t, &created)
	if !strings.HasPrefix(created.Token, "argus_") || created.Kind != "api" || created.Name != "prometheus" ||
		!created.ExpiresAt.Equal(e.clk.Now().Add(30*24*time.Hour)) {
		t.Fatalf("created %s", r.body)
	}
	if r := e.call("GET", "/api/v1/me", "Bearer "+created.Token, nil); r.status != http.StatusOK {
		t.Fatalf("new token does not authenticate: %d", r.status)
	}

	r = e.call("GET", "/api/v1/tokens", "operator", nil)
	if r.status != http.StatusOK || strings.Contains(string(r.body), created.Token) || strings.Contains(string(r.body), "argus_") {
		t.Fatalf("list: %d %s (must not show secrets)", r.status, r.body)
	}
	var list struct {
		Items []struct {
			ID string `json:"id"`
		} `json:"items"`
	}
	r.decode(t, &list)
	if len(list.Items) != 2 {
		t.Fatalf("list has %d tokens, want 2 (the test token and the new one): %s", len(list.Items), r.body)
	}

	// Someone else's token is not found, and stays.
	r = e.call("DELETE", "/api/v1/tokens/"+created.ID, "viewer", nil)
	if code, _, _, _ := r.apiError(t); r.status != http.StatusNotFound || code != argus.ENOTFOUND {
		t.Fatalf("delete other's token: %d %s", r.status, r.body)
	}
	if r := e.call("DELETE", "/api/v1/tokens/"+created.ID, "operator", nil); r.status != http.StatusNoContent {
		t.Fatalf("delete: %d %s", r.status, r.body)
	}
	if r := e.call("GET", "/api/v1/me", "Bearer "+created.Token, nil); r.status != http.StatusUnauthorized {
		t.Fatalf("deleted token still authenticates: %d", r.status)
	}
}

func TestAuthRequired(t *testing.T) {
	e := newEnv(t)
	expired := e.addUser("shortlived", argus.RoleViewer, "police")
	e.clk.Advance(25 * time.Hour) // test tokens live 24 h
	// Fresh tokens for the users the other cases use.
	e.token["viewer"] = e.addUser("viewer2", argus.RoleViewer, "police")
	for _, tc := range []struct{ name, auth, msg string }{
		{"no credentials", "", "authentication required: send Authorization: Bearer <token>"},
		{"wrong token", "Bearer argus_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", "invalid or expired token"},
		{"garbage token", "Bearer hello", "invalid or expired token"},
		{"expired token", "Bearer " + expired, "invalid or expired token"},
		{"basic auth", "Basic dXNlcjpwYXNz", `the Authorization header must be "Bearer <token>"`},
		{"empty bearer", "Bearer ", `the Authorization header must be "Bearer <token>"`},
		{"bad cookie", "Cookie argus_session=argus_nope", "invalid or expired token"},
	} {
		for _, path := range []string{"/api/v1/me", "/api/v1/cameras", "/api/v1/orgs", "/api/v1/users", "/api/v1/tokens", "/metrics"} {
			t.Run(tc.name+path, func(t *testing.T) {
				r := e.call("GET", path, tc.auth, nil)
				code, msg, _, rid := r.apiError(t)
				if r.status != http.StatusUnauthorized || code != argus.EUNAUTHORIZED || msg != tc.msg {
					t.Fatalf("got %d %s", r.status, r.body)
				}
				if got := r.header.Get("WWW-Authenticate"); got != `Bearer realm="argus"` {
					t.Fatalf("WWW-Authenticate = %q", got)
				}
				if rid == "" || rid != r.header.Get("X-Request-ID") {
					t.Fatalf("request_id %q does not match the header %q", rid, r.header.Get("X-Request-ID"))
				}
			})
		}
	}
	if r := e.call("GET", "/api/v1/me", "viewer", nil); r.status != http.StatusOK {
		t.Fatalf("a valid token is refused: %d", r.status)
	}
}
