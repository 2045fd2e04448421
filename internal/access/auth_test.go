package access_test

import (
	"bytes"
	"crypto/sha256"
	"reflect"
	"regexp"
	"testing"
	"time"

	"argus"
	"argus/internal/access"
	"argus/internal/sqlite"
)

func newAuth(t *testing.T) (*access.Auth, *sqlite.DB, *clock) {
	t.Helper()
	db := openStore(t)
	clk := newClock()
	a, err := access.NewAuth(access.AuthConfig{Store: db, Argon2: fastArgon2(), Now: clk.Now})
	if err != nil {
		t.Fatal(err)
	}
	return a, db, clk
}

// addUser creates a user in org "police" (created if needed).
func addUser(t *testing.T, a *access.Auth, db *sqlite.DB, name, pw string, role argus.Role, disabled bool) *argus.User {
	t.Helper()
	if _, err := db.Org(t.Context(), "police"); argus.ErrorCode(err) == argus.ENOTFOUND {
		mustOrgs(t, db, [2]string{"police", ""})
	}
	hash, err := a.HashPassword(pw)
	if err != nil {
		t.Fatal(err)
	}
	u := &argus.User{ID: "u-" + name, Username: name, OrgID: "police", Role: role, Disabled: disabled, PasswordHash: hash}
	if err := db.CreateUser(t.Context(), u); err != nil {
		t.Fatal(err)
	}
	return u
}

func TestIssueToken(t *testing.T) {
	a, db, clk := newAuth(t)
	u := addUser(t, a, db, "ann", "ann's long password", argus.RoleViewer, false)
	secret, tok, err := a.IssueToken(t.Context(), u, argus.TokenAPI, "grafana", time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if !regexp.MustCompile(`^argus_[A-Za-z0-9_-]{43}$`).MatchString(secret) {
		t.Fatalf("secret %q is not argus_ + 43 base64url characters", secret)
	}
	sum := sha256.Sum256([]byte(secret))
	stored, err := db.TokenByHash(t.Context(), sum[:])
	if err != nil {
		t.Fatalf("token not found by the SHA-256 of its secret: %v", err)
	}
	if bytes.Contains(stored.Hash, []byte(secret)) || stored.ID != tok.ID || stored.Kind != argus.TokenAPI || stored.Name != "grafana" {
		t.Fatalf("stored token %+v does not match the issued %+v", stored, tok)
	}
	if !tok.ExpiresAt.Equal(clk.Now().Add(time.Hour)) {
		t.Fatalf("ExpiresAt = %v, want issue time + 1h", tok.ExpiresAt)
	}
	other, _, err := a.IssueToken(t.Context(), u, argus.TokenAPI, "grafana", time.Hour)
	if err != nil || other == secret {
		t.Fatalf("second token = %q, %v; want a different secret", other, err)
	}
	if _, _, err := a.IssueToken(t.Context(), u, argus.TokenAPI, "x", 0); argus.ErrorCode(err) != argus.EINVALID {
		t.Fatalf("IssueToken with ttl 0 = %v, want EINVALID", err)
	}
}

func TestAuthenticate(t *testing.T) {
	a, db, clk := newAuth(t)
	ann := addUser(t, a, db, "ann", "ann's long password", argus.RoleOperator, false)
	secret, tok, err := a.IssueToken(t.Context(), ann, argus.TokenSession, "login", time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	p, err := a.Authenticate(t.Context(), secret)
	want := argus.Principal{UserID: ann.ID, Username: "ann", OrgID: "police", Role: argus.RoleOperator, TokenID: tok.ID}
	if err != nil || !reflect.DeepEqual(p, want) {
		t.Fatalf("Authenticate = %+v, %v; want %+v", p, err, want)
	}

	bob := addUser(t, a, db, "bob", "bob's long password", argus.RoleViewer, false)
	bobSecret, _, err := a.IssueToken(t.Context(), bob, argus.TokenAPI, "script", time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	bob.Disabled = true
	if err := db.UpdateUser(t.Context(), bob); err != nil {
		t.Fatal(err)
	}
	unknown := []byte(secret)
	unknown[len(unknown)-1] ^= 1 // still base64url, another secret
	for _, tc := range []struct {
		name, secret, msg string
		advance           time.Duration
	}{
		{"empty", "", "invalid or expired token", 0},
		{"wrong prefix", "bearer" + secret[6:], "invalid or expired token", 0},
		{"unknown", string(unknown), "invalid or expired token", 0},
		{"truncated", secret[:20], "invalid or expired token", 0},
		{"disabled user", bobSecret, "user is disabled", 0},
		{"expired", secret, "invalid or expired token", time.Hour},
	} {
		t.Run(tc.name, func(t *testing.T) {
			clk.Advance(tc.advance)
			_, err := a.Authenticate(t.Context(), tc.secret)
			if argus.ErrorCode(err) != argus.EUNAUTHORIZED || argus.ErrorMessage(err) != tc.msg {
				t.Fatalf("Authenticate = %v (%s), want EUNAUTHORIZED %q", err, argus.ErrorCode(err), tc.msg)
			}
		})
	}
}

func TestAuthenticateTouchesOncePerMinute(t *testing.T) {
	a, db, clk := newAuth(t)
	u := addUser(t, a, db, "ann", "ann's long password", argus.RoleViewer, false)
	secret, _, err := a.IssueToken(t.Context(), u, argus.TokenAPI, "t", time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	lastUsed := func() time.Time {
		t.Helper()
		sum := sha256.Sum256([]byte(secret))
		tok, err := db.TokenByHash(t.Context(), sum[:])
		if err != nil {
			t.Fatal(err)
		}
		return tok.LastUsedAt
	}
	first := clk.Now()
	for _, step := range []struct {
		advance time.Duration
		want    time.Time
	}{
		{0, first},                                 // never used: touched
		{30 * time.Second, first},                  // 30 s later: not written again
		{29 * time.Second, first},                  // 59 s after the touch: still not
		{time.Second, first.Add(time.Minute)},      // a minute after: touched
		{10 * time.Second, first.Add(time.Minute)}, // and quiet again
		{5 * time.Minute, first.Add(6*time.Minute + 10*time.Second)},
	} {
		clk.Advance(step.advance)
		if _, err := a.Authenticate(t.Context(), secret); err != nil {
			t.Fatal(err)
		}
		if got := lastUsed(); !got.Equal(step.want) {
			t.Fatalf("at %v: LastUsedAt = %v, want %v", clk.Now().Sub(first), got, step.want)
		}
	}
}

func TestLogin(t *testing.T) {
	a, db, clk := newAuth(t)
	addUser(t, a, db, "ann", "ann's long password", argus.RoleViewer, false)
	addUser(t, a, db, "gone", "gone's long password", argus.RoleViewer, true)

	secret, tok, u, err := a.Login(t.Context(), "ann", "ann's long password")
	if err != nil {
		t.Fatal(err)
	}
	if u.Username != "ann" || tok.Kind != argus.TokenSession || !tok.ExpiresAt.Equal(clk.Now().Add(access.DefaultSessionTTL)) {
		t.Fatalf("Login = user %q, token %+v; want ann's session for %v", u.Username, tok, access.DefaultSessionTTL)
	}
	if p, err := a.Authenticate(t.Context(), secret); err != nil || p.Username != "ann" {
		t.Fatalf("session secret authenticates as %+v, %v", p, err)
	}
	if _, _, u, err := a.Login(t.Context(), " ANN ", "ann's long password"); err != nil || u.Username != "ann" {
		t.Fatalf("Login with the username in capitals = %v, %v; want ann", u, err)
	}

	for _, tc := range []struct{ name, user, pw, msg string }{
		{"wrong password", "ann", "not ann's password", "invalid username or password"},
		{"unknown user", "nobody", "ann's long password", "invalid username or password"},
		{"empty password", "ann", "", "invalid username or password"},
		{"disabled user", "gone", "gone's long password", "user is disabled"},
		{"disabled user, wrong password", "gone", "wrong password!!", "invalid username or password"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before, _ := db.Tokens(t.Context(), "u-"+tc.user)
			secret, tok, u, err := a.Login(t.Context(), tc.user, tc.pw)
			if argus.ErrorCode(err) != argus.EUNAUTHORIZED || argus.ErrorMessage(err) != tc.msg {
				t.Fatalf("Login = %v (%s), want EUNAUTHORIZED %q", err, argus.ErrorCode(err), tc.msg)
			}
			if secret != "" || tok != nil || u != nil {
				t.Fatal("a failed login returned credentials")
			}
			if after, _ := db.Tokens(t.Context(), "u-"+tc.user); len(after) != len(before) {
				t.Fatal("a failed login issued a token")
			}
		})
	}
}

func TestEnsureAdmin(t *testing.T) {
	t.Run("generated password", func(t *testing.T) {
		a, db, _ := newAuth(t)
		created, pw, err := a.EnsureAdmin(t.Context(), "")
		if err != nil || !created || len(pw) < access.MinPasswordLen {
			t.Fatalf("EnsureAdmin = %v, %q, %v; want created with a generated password", created, pw, err)
		}
		u, err := db.User(t.Context(), access.AdminUserID)
		if err != nil || u.Role != argus.RoleAdmin || u.OrgID != access.SystemOrgID {
			t.Fatalf("admin user = %+v, %v", u, err)
		}
		if o, err := db.Org(t.Context(), access.SystemOrgID); err != nil || o.Kind != argus.OrgOther {
			t.Fatalf("system org = %+v, %v", o, err)
		}
		if _, _, _, err := a.Login(t.Context(), "admin", pw); err != nil {
			t.Fatalf("cannot sign in with the generated password: %v", err)
		}
		created, pw2, err := a.EnsureAdmin(t.Context(), "")
		if err != nil || created || pw2 != "" {
			t.Fatalf("second EnsureAdmin = %v, %q, %v; want nothing created", created, pw2, err)
		}
	})
	t.Run("given password", func(t *testing.T) {
		a, _, _ := newAuth(t)
		created, pw, err := a.EnsureAdmin(t.Context(), "the operator's choice")
		if err != nil || !created || pw != "the operator's choice" {
			t.Fatalf("EnsureAdmin = %v, %q, %v", created, pw, err)
		}
		if _, _, _, err := a.Login(t.Context(), "admin", "the operator's choice"); err != nil {
			t.Fatalf("cannot sign in with the given password: %v", err)
		}
	})
	t.Run("short password", func(t *testing.T) {
		a, db, _ := newAuth(t)
		_, _, err := a.EnsureAdmin(t.Context(), "short")
		if argus.ErrorCode(err) != argus.EINVALID || argus.ErrorField(err) != "password" {
			t.Fatalf("EnsureAdmin(short) = %v, want EINVALID on password", err)
		}
		if users, _ := db.Users(t.Context(), ""); len(users) != 0 {
			t.Fatal("a user was created despite the bad password")
		}
	})
	t.Run("users exist", func(t *testing.T) {
		a, db, _ := newAuth(t)
		addUser(t, a, db, "ann", "ann's long password", argus.RoleOrgAdmin, false)
		created, _, err := a.EnsureAdmin(t.Context(), "")
		if err != nil || created {
			t.Fatalf("EnsureAdmin with users present = %v, %v; want nothing created", created, err)
		}
	})
}

func TestVerifyIssuesNoSession(t *testing.T) {
	a, db, _ := newAuth(t)
	addUser(t, a, db, "ann", "ann's long password", argus.RoleViewer, false)
	u, err := a.Verify(t.Context(), "ann", "ann's long password")
	if err != nil || u.Username != "ann" {
		t.Fatalf("Verify = %v, %v; want ann", u, err)
	}
	if toks, _ := db.Tokens(t.Context(), u.ID); len(toks) != 0 {
		t.Fatalf("Verify issued %d tokens, want none", len(toks))
	}
	if _, err := a.Verify(t.Context(), "ann", "not ann's password"); argus.ErrorCode(err) != argus.EUNAUTHORIZED {
		t.Fatalf("Verify with a wrong password = %v, want EUNAUTHORIZED", err)
	}
}
