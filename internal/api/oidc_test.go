package api_test

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"

	"argus"
	"argus/internal/access"
	"argus/internal/api"
)

// testIdP is an OpenID Connect provider for tests: discovery, JWKS, an
// authorisation endpoint that signs whoever asks in at once and redirects
// back with a code, and a token endpoint that checks the PKCE verifier and
// returns an RS256 ID token.
type testIdP struct {
	t        *testing.T
	srv      *httptest.Server
	key      *rsa.PrivateKey
	clientID string
	// argus is the URL of the argus server under test: the browser is
	// sent back there whatever host the redirect URL names (the server's
	// address is known only after its configuration is made).
	argus string

	mu sync.Mutex
	// claims are the next ID token's claims besides iss, aud, exp, iat and
	// nonce; edit sets or removes those too (a nil value removes).
	claims map[string]any
	edit   map[string]any
	codes  map[string]idpCode
}

// idpCode is an authorisation the token endpoint redeems once.
type idpCode struct {
	nonce, challenge, redirect string
}

func newTestIdP(t *testing.T) *testIdP {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	idp := &testIdP{t: t, key: key, clientID: "argus-test", codes: map[string]idpCode{}}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /.well-known/openid-configuration", func(w http.ResponseWriter, _ *http.Request) {
		u := idp.srv.URL
		_ = json.NewEncoder(w).Encode(map[string]any{
			"issuer": u, "authorization_endpoint": u + "/authorize", "token_endpoint": u + "/token", "jwks_uri": u + "/jwks",
			"id_token_signing_alg_values_supported": []string{"RS256"}, "response_types_supported": []string{"code"},
			"subject_types_supported": []string{"public"},
		})
	})
	mux.HandleFunc("GET /jwks", func(w http.ResponseWriter, _ *http.Request) {
		_ = json.NewEncoder(w).Encode(jose.JSONWebKeySet{Keys: []jose.JSONWebKey{
			{Key: &key.PublicKey, KeyID: "k1", Algorithm: "RS256", Use: "sig"}}})
	})
	mux.HandleFunc("GET /authorize", idp.authorize)
	mux.HandleFunc("POST /token", idp.token)
	idp.srv = httptest.NewServer(mux)
	t.Cleanup(idp.srv.Close)
	return idp
}

func (idp *testIdP) authorize(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	if q.Get("client_id") != idp.clientID || q.Get("response_type") != "code" || q.Get("code_challenge_method") != "S256" ||
		q.Get("code_challenge") == "" || q.Get("nonce") == "" || q.Get("state") == "" || !strings.Contains(q.Get("scope"), "openid") {
		http.Error(w, "bad authorisation request: "+r.URL.RawQuery, http.StatusBadRequest)
		return
	}
	code := fmt.Sprintf("code-%d", time.Now().UnixNano())
	idp.mu.Lock()
	idp.codes[code] = idpCode{nonce: q.Get("nonce"), challenge: q.Get("code_challenge"), redirect: q.Get("redirect_uri")}
	idp.mu.Unlock()
	back, err := url.Parse(q.Get("redirect_uri"))
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	http.Redirect(w, r, idp.argus+back.Path+"?"+url.Values{"code": {code}, "state": {q.Get("state")}}.Encode(), http.StatusFound)
}

func (idp *testIdP) token(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	idp.mu.Lock()
	c, ok := idp.codes[r.PostForm.Get("code")]
	delete(idp.codes, r.PostForm.Get("code"))
	claims := map[string]any{}
	for k, v := range idp.claims {
		claims[k] = v
	}
	edit := idp.edit
	idp.mu.Unlock()
	sum := sha256.Sum256([]byte(r.PostForm.Get("code_verifier")))
	user, _, _ := r.BasicAuth()
	switch {
	case !ok || r.PostForm.Get("grant_type") != "authorization_code" || r.PostForm.Get("redirect_uri") != c.redirect:
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusBadRequest)
		_, _ = io.WriteString(w, `{"error":"invalid_grant"}`)
		return
	case base64.RawURLEncoding.EncodeToString(sum[:]) != c.challenge:
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusBadRequest)
		_, _ = io.WriteString(w, `{"error":"invalid_grant","error_description":"PKCE verifier"}`)
		return
	case user != idp.clientID && r.PostForm.Get("client_id") != idp.clientID:
		http.Error(w, `{"error":"invalid_client"}`, http.StatusUnauthorized)
		return
	}
	now := time.Now()
	claims["iss"], claims["aud"], claims["nonce"] = idp.srv.URL, idp.clientID, c.nonce
	claims["iat"], claims["exp"] = now.Unix(), now.Add(time.Hour).Unix()
	for k, v := range edit {
		if v == nil {
			delete(claims, k)
		} else {
			claims[k] = v
		}
	}
	payload, err := json.Marshal(claims)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.RS256, Key: jose.JSONWebKey{Key: idp.key, KeyID: "k1"}},
		(&jose.SignerOptions{}).WithType("JWT"))
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	jws, err := signer.Sign(payload)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	raw, _ := jws.CompactSerialize()
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(map[string]any{"access_token": "at", "token_type": "Bearer", "expires_in": 3600, "id_token": raw})
}

// set makes the next ID tokens carry claims, edited by edit.
func (idp *testIdP) set(claims, edit map[string]any) {
	idp.mu.Lock()
	idp.claims, idp.edit = claims, edit
	idp.mu.Unlock()
}

// withOIDC configures the server for idp; change adjusts the configuration.
func withOIDC(idp *testIdP, change func(*access.OIDCConfig)) envOption {
	return func(c *api.Config) {
		// The env's Auth is made before the options run: read it back
		// from the configuration.
		cfg := access.OIDCConfig{
			Issuer: idp.srv.URL, ClientID: idp.clientID, ClientSecret: "idp-client-secret",
			RedirectURL: "http://argus.invalid/api/v1/oidc/callback", ButtonLabel: "Sign in with City ID",
			Auth: c.Auth, Client: idp.srv.Client(),
		}
		if change != nil {
			change(&cfg)
		}
		o, err := access.NewOIDC(cfg)
		if err != nil {
			idp.t.Fatal(err)
		}
		c.OIDC = o
	}
}

// newOIDCEnv returns an env whose server signs in through a test IdP.
func newOIDCEnv(t *testing.T, change func(*access.OIDCConfig)) (*env, *testIdP) {
	t.Helper()
	idp := newTestIdP(t)
	return envFor(t, idp, change), idp
}

// envFor returns an env whose server signs in through idp, and sends idp's
// callbacks to it.
func envFor(t *testing.T, idp *testIdP, change func(*access.OIDCConfig)) *env {
	t.Helper()
	e := newEnv(t, withOIDC(idp, change))
	idp.argus = e.srv.URL
	return e
}

// browser is an HTTP client with a cookie jar that stops at redirects to
// argus's own pages (/), which the API tests do not serve.
func browser(t *testing.T) *http.Client {
	t.Helper()
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	return &http.Client{Jar: jar, CheckRedirect: func(req *http.Request, _ []*http.Request) error {
		if req.URL.Path == "/" {
			return http.ErrUseLastResponse
		}
		return nil
	}}
}

// get sends GET url with c and returns the answer.
func get(t *testing.T, c *http.Client, u string) response {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), "GET", u, nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return response{status: resp.StatusCode, header: resp.Header, body: raw}
}

// signIn runs the whole flow in a fresh browser and returns the callback's
// answer and the browser.
func signIn(t *testing.T, e *env) (response, *http.Client) {
	t.Helper()
	b := browser(t)
	return get(t, b, e.srv.URL+"/api/v1/oidc/login"), b
}

// TestOIDCSignIn: the whole flow through the test IdP ends signed in with
// the organisation and role its claims name, as a user made for the
// subject (recorded as a change); a later sign-in brings the user up to
// date; the user has no password to sign in with.
func TestOIDCSignIn(t *testing.T) {
	e, idp := newOIDCEnv(t, nil)
	r := e.call("GET", "/api/v1/auth/providers", "", nil)
	var prov struct {
		Password bool `json:"password"`
		OIDC     struct {
			Enabled     bool   `json:"enabled"`
			ButtonLabel string `json:"button_label"`
			LoginURL    string `json:"login_url"`
		} `json:"oidc"`
	}
	r.decode(t, &prov)
	if r.status != http.StatusOK || !prov.Password || !prov.OIDC.Enabled || prov.OIDC.ButtonLabel != "Sign in with City ID" ||
		prov.OIDC.LoginURL != "/api/v1/oidc/login" {
		t.Fatalf("providers: %d %s", r.status, r.body)
	}

	idp.set(map[string]any{"sub": "alice-1", "name": "Alice Example", "argus_org": "police", "argus_role": "investigator"}, nil)
	r, b := signIn(t, e)
	if r.status != http.StatusFound || r.header.Get("Location") != "/" {
		t.Fatalf("callback: %d %s (Location %q), want 302 to /", r.status, r.body, r.header.Get("Location"))
	}
	me := get(t, b, e.srv.URL+"/api/v1/me")
	var who struct {
		User argus.User `json:"user"`
	}
	me.decode(t, &who)
	if me.status != http.StatusOK || who.User.Username != "oidc.alice-1" || who.User.OrgID != "police" ||
		who.User.Role != argus.RoleInvestigator || who.User.Provider != argus.ProviderOIDC || who.User.DisplayName != "Alice Example" {
		t.Fatalf("signed in as %d %s", me.status, me.body)
	}
	for _, c := range b.Jar.Cookies(mustURL(t, e.srv.URL+"/api/v1/oidc/callback")) {
		if c.Name == "argus_oidc" {
			t.Fatal("the sign-in cookie outlived the callback")
		}
	}

	// The IdP now says operator: the same user is updated.
	idp.set(map[string]any{"sub": "alice-1", "argus_org": "police", "argus_role": "operator"}, nil)
	r, b = signIn(t, e)
	if r.status != http.StatusFound {
		t.Fatalf("second sign-in: %d %s", r.status, r.body)
	}
	var again struct {
		User argus.User `json:"user"`
	}
	get(t, b, e.srv.URL+"/api/v1/me").decode(t, &again)
	if again.User.ID != who.User.ID || again.User.Role != argus.RoleOperator {
		t.Fatalf("second sign-in: %+v, want user %s as operator", again.User, who.User.ID)
	}
	changes := e.logs.lines("administrative change", `"change":"user.oidc"`, who.User.ID)
	if len(changes) != 2 {
		t.Fatalf("%d user.oidc changes recorded, want 2 (created, role changed)", len(changes))
	}
	if strings.Contains(e.logs.text(), "idp-client-secret") {
		t.Fatal("the log holds the client secret")
	}
	// No password: the password sign-in refuses the user.
	if r := e.call("POST", "/api/v1/login", "", map[string]string{"username": "oidc.alice-1", "password": "anything at all"}); r.status != http.StatusUnauthorized {
		t.Fatalf("password sign-in of an OIDC user: %d %s", r.status, r.body)
	}
}

func mustURL(t *testing.T, s string) *url.URL {
	t.Helper()
	u, err := url.Parse(s)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

// TestOIDCRefusals: each way a sign-in can be wrong is refused with a
// clear error and signs no one in. Each case has a server of its own, so
// that the sign-in throttle does not answer for it.
func TestOIDCRefusals(t *testing.T) {
	idp := newTestIdP(t)
	allowed := func(c *access.OIDCConfig) { c.AllowedOrgs = []string{"police", "fire", "nowhere"} }
	good := map[string]any{"sub": "bob", "argus_org": "police", "argus_role": "viewer"}
	for _, tc := range []struct {
		name   string
		claims map[string]any
		edit   map[string]any
		status int
		msg    string
	}{
		{"wrong audience", good, map[string]any{"aud": "someone-else"}, 401, "the ID token is not valid"},
		{"expired token", good, map[string]any{"exp": time.Now().Add(-time.Hour).Unix(), "iat": time.Now().Add(-2 * time.Hour).Unix()}, 401,
			"the ID token is not valid"},
		{"wrong nonce", good, map[string]any{"nonce": "replayed"}, 401, "nonce does not match"},
		{"wrong issuer", good, map[string]any{"iss": "https://evil.example"}, 401, "the ID token is not valid"},
		{"unknown organisation", good, map[string]any{"argus_org": "nowhere"}, 403, `organisation "nowhere" (claim "argus_org") does not exist`},
		{"organisation not allowed", good, map[string]any{"argus_org": "precinct-1"}, 403, `organisation "precinct-1" may not sign in`},
		{"no organisation", good, map[string]any{"argus_org": nil}, 403, "names no organisation"},
		{"missing role", good, map[string]any{"argus_role": nil}, 403, `names no role (claim "argus_role")`},
		{"unknown role", good, map[string]any{"argus_role": "janitor"}, 403, "is not one argus grants"},
		{"admin from a claim", good, map[string]any{"argus_role": "admin"}, 403, "is not one argus grants"},
		{"a local user's name", map[string]any{"sub": "mallory", "argus_org": "police", "argus_role": "viewer"}, nil, 409,
			"does not sign in through the identity provider"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := envFor(t, idp, allowed)
			// A local user whose name an IdP subject would take.
			e.addUser("oidc.mallory", argus.RoleViewer, "police")
			idp.set(tc.claims, tc.edit)
			r, b := signIn(t, e)
			code, msg, _, _ := r.apiError(t)
			if r.status != tc.status || !strings.Contains(msg, tc.msg) {
				t.Fatalf("%d %s %q, want %d with %q", r.status, code, msg, tc.status, tc.msg)
			}
			if me := get(t, b, e.srv.URL+"/api/v1/me"); me.status != http.StatusUnauthorized {
				t.Fatalf("refused sign-in left a session: %d %s", me.status, me.body)
			}
		})
	}
	t.Run("bad state", func(t *testing.T) {
		e := envFor(t, idp, allowed)
		idp.set(good, nil)
		b := browser(t)
		b.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
		toIdP := get(t, b, e.srv.URL+"/api/v1/oidc/login")
		back := get(t, b, toIdP.header.Get("Location"))
		u := mustURL(t, back.header.Get("Location"))
		q := u.Query()
		q.Set("state", "forged")
		u.RawQuery = q.Encode()
		r := get(t, b, u.String())
		if _, msg, _, _ := r.apiError(t); r.status != http.StatusUnauthorized || !strings.Contains(msg, "state does not match") {
			t.Fatalf("forged state: %d %s", r.status, r.body)
		}
	})
	t.Run("no sign-in cookie", func(t *testing.T) {
		e := envFor(t, idp, allowed)
		r := get(t, browser(t), e.srv.URL+"/api/v1/oidc/callback?state=x&code=y")
		if r.status != http.StatusUnauthorized {
			t.Fatalf("callback without a sign-in: %d %s", r.status, r.body)
		}
	})
}

// TestOIDCThrottle: failed callbacks from one address are throttled as
// password sign-ins are: ten failures lock the address out, with
// Retry-After, even for a good sign-in.
func TestOIDCThrottle(t *testing.T) {
	e, idp := newOIDCEnv(t, nil)
	idp.set(map[string]any{"sub": "bob", "argus_org": "police", "argus_role": "viewer"}, map[string]any{"nonce": "replayed"})
	for i := range 10 {
		if r, _ := signIn(t, e); r.status != http.StatusUnauthorized {
			t.Fatalf("failure %d: %d %s", i+1, r.status, r.body)
		}
		e.clk.Advance(12 * time.Second)
	}
	idp.set(map[string]any{"sub": "bob", "argus_org": "police", "argus_role": "viewer"}, nil)
	r, _ := signIn(t, e)
	if code, msg, _, _ := r.apiError(t); r.status != http.StatusTooManyRequests || code != argus.ERATELIMIT || !strings.Contains(msg, "locked out") ||
		r.header.Get("Retry-After") == "" {
		t.Fatalf("after 10 failures: %d %s, want 429 locked out with Retry-After", r.status, r.body)
	}
	e.clk.Advance(15 * time.Minute)
	if r, _ := signIn(t, e); r.status != http.StatusFound {
		t.Fatalf("after the lock-out: %d %s", r.status, r.body)
	}
}

// TestOIDCRoleMap: with a role map, the role claim's values (here a list
// of groups) map to roles, the most privileged wins, and admin comes only
// from the map.
func TestOIDCRoleMap(t *testing.T) {
	e, idp := newOIDCEnv(t, func(c *access.OIDCConfig) {
		c.RoleClaim = "groups"
		c.RoleMap = map[string]argus.Role{"cctv-ops": argus.RoleOperator, "cctv-leads": argus.RoleInvestigator, "it-root": argus.RoleAdmin}
	})
	for _, tc := range []struct {
		name   string
		groups []string
		status int
		role   argus.Role
	}{
		{"one mapped group", []string{"staff", "cctv-ops"}, http.StatusFound, argus.RoleOperator},
		{"the most privileged wins", []string{"cctv-ops", "cctv-leads"}, http.StatusFound, argus.RoleInvestigator},
		{"admin through the map", []string{"it-root"}, http.StatusFound, argus.RoleAdmin},
		{"a role name the map does not hold", []string{"viewer"}, http.StatusForbidden, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e.clk.Advance(12 * time.Second)
			idp.set(map[string]any{"sub": "carol", "argus_org": "police", "groups": tc.groups}, nil)
			r, b := signIn(t, e)
			if r.status != tc.status {
				t.Fatalf("%d %s, want %d", r.status, r.body, tc.status)
			}
			if tc.role == "" {
				return
			}
			var who struct {
				User argus.User `json:"user"`
			}
			get(t, b, e.srv.URL+"/api/v1/me").decode(t, &who)
			if who.User.Role != tc.role {
				t.Fatalf("role %q, want %q", who.User.Role, tc.role)
			}
		})
	}
}

// TestOIDCOff: without OIDC the providers say so and the routes are 404.
func TestOIDCOff(t *testing.T) {
	e := newEnv(t)
	if r := e.call("GET", "/api/v1/auth/providers", "", nil); r.status != http.StatusOK || !strings.Contains(string(r.body), `"enabled":false`) {
		t.Fatalf("providers: %d %s", r.status, r.body)
	}
	for _, path := range []string{"/api/v1/oidc/login", "/api/v1/oidc/callback?state=x&code=y"} {
		if r := e.call("GET", path, "", nil); r.status != http.StatusNotFound {
			t.Fatalf("%s: %d %s, want 404", path, r.status, r.body)
		}
	}
}
