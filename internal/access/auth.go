package access

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"time"

	"argus"
)

// Token secrets look like "argus_" followed by 43 characters of base64url
// (32 random bytes).
const (
	tokenPrefix    = "argus_"
	tokenRandBytes = 32
	tokenLen       = len(tokenPrefix) + 43
)

// DefaultSessionTTL is the lifetime of a login session unless
// AuthConfig.SessionTTL says otherwise.
const DefaultSessionTTL = 12 * time.Hour

// touchInterval is how stale a token's LastUsedAt may get before a use
// writes it again, so that authentication is not a write per request.
const touchInterval = time.Minute

// AuthStore is the part of the metadata store that authentication needs.
type AuthStore interface {
	argus.UserStore
	argus.TokenStore
	argus.OrgStore
}

// AuthConfig configures an Auth.
type AuthConfig struct {
	// Store holds users and tokens. Required.
	Store AuthStore
	// Argon2 are the cost parameters for new password hashes; the zero value
	// means DefaultArgon2Params. Tests set them low to stay fast.
	Argon2 Argon2Params
	// SessionTTL is the lifetime of a login session; 0 means DefaultSessionTTL.
	SessionTTL time.Duration
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// Logger receives failures that do not reach the caller; nil discards.
	Logger *slog.Logger
}

// Auth signs users in and turns bearer secrets into principals. It is safe
// for concurrent use.
type Auth struct {
	store      AuthStore
	params     Argon2Params
	sessionTTL time.Duration
	now        func() time.Time
	log        *slog.Logger
	// dummyHash is checked against when the username is unknown, so that an
	// unknown user costs the same time as a wrong password.
	dummyHash string
	// guard slows and locks out password guessing (limiter.go).
	guard *throttle
}

// NewAuth returns an Auth over cfg.Store.
func NewAuth(cfg AuthConfig) (*Auth, error) {
	if cfg.Store == nil {
		return nil, fmt.Errorf("access: auth needs a store")
	}
	a := &Auth{
		store:      cfg.Store,
		params:     cfg.Argon2,
		sessionTTL: cfg.SessionTTL,
		now:        cfg.Now,
		log:        cfg.Logger,
	}
	if a.params == (Argon2Params{}) {
		a.params = DefaultArgon2Params()
	}
	if a.sessionTTL <= 0 {
		a.sessionTTL = DefaultSessionTTL
	}
	if a.now == nil {
		a.now = time.Now
	}
	if a.log == nil {
		a.log = slog.New(slog.DiscardHandler)
	}
	a.guard = newThrottle(a.now)
	var err error
	if a.dummyHash, err = a.params.Hash(GeneratePassword()); err != nil {
		return nil, fmt.Errorf("access: %w", err)
	}
	return a, nil
}

// HashPassword validates pw as a new password and hashes it with the Auth's
// Argon2 parameters.
func (a *Auth) HashPassword(pw string) (string, error) { return a.params.Hash(pw) }

// SessionTTL returns the lifetime of login sessions.
func (a *Auth) SessionTTL() time.Duration { return a.sessionTTL }

// HashToken returns the SHA-256 of a token secret, the only form in which a
// secret is stored.
func HashToken(secret string) []byte {
	h := sha256.Sum256([]byte(secret))
	return h[:]
}

// Scope narrows an API token (argus.Token): Actions, when not empty, are
// the only actions it may take; CameraIDs and Tags, when either is not
// empty, the only cameras it may act on. The zero Scope leaves the user's
// role to decide alone.
type Scope struct {
	Actions   []argus.Action
	CameraIDs []string
	Tags      []string
}

// IssueToken creates a token of the given kind for u, valid for ttl, and
// returns its secret ("argus_…", shown once; only its hash is stored) with the
// stored token.
func (a *Auth) IssueToken(ctx context.Context, u *argus.User, kind argus.TokenKind, name string, ttl time.Duration) (string, *argus.Token, error) {
	return a.IssueScopedToken(ctx, u, kind, name, ttl, Scope{})
}

// IssueScopedToken is IssueToken of a token narrowed to sc. Every action of
// sc must be one u's role allows (RoleAllows); an action that is not, a
// malformed camera id or tag is EINVALID naming the field (scopes,
// camera_ids, tags). The scope is stored sorted, without repeats.
func (a *Auth) IssueScopedToken(ctx context.Context, u *argus.User, kind argus.TokenKind, name string, ttl time.Duration, sc Scope) (string, *argus.Token, error) {
	if ttl <= 0 {
		return "", nil, argus.FieldErrorf("ttl", "token lifetime must be positive")
	}
	for _, act := range sc.Actions {
		if !act.Valid() {
			return "", nil, argus.FieldErrorf("scopes", "%q is not an action", act)
		}
		if !RoleAllows(u.Role, act) {
			return "", nil, argus.FieldErrorf("scopes", "%s is not allowed to the role %s: a token's scope cannot be wider than its user's role", act, u.Role)
		}
	}
	for _, id := range sc.CameraIDs {
		if !argus.ValidID(id) {
			return "", nil, argus.FieldErrorf("camera_ids", "camera id %q is not a valid id", id)
		}
	}
	for _, tag := range sc.Tags {
		if !argus.ValidTag(tag) {
			return "", nil, argus.FieldErrorf("tags", "tag %q must be 1-48 characters of a-z, 0-9, ':', '_', '.' or '-'", tag)
		}
	}
	b := make([]byte, tokenRandBytes)
	rand.Read(b) // never fails since Go 1.24
	secret := tokenPrefix + base64.RawURLEncoding.EncodeToString(b)
	now := a.now().UTC()
	t := &argus.Token{
		ID:        argus.NewID("tok"),
		UserID:    u.ID,
		Kind:      kind,
		Name:      name,
		Scopes:    sortedSet(sc.Actions),
		CameraIDs: sortedSet(sc.CameraIDs),
		Tags:      sortedSet(sc.Tags),
		Hash:      HashToken(secret),
		CreatedAt: now,
		ExpiresAt: now.Add(ttl),
	}
	if err := a.store.CreateToken(ctx, t); err != nil {
		return "", nil, fmt.Errorf("issue token: %w", err)
	}
	return secret, t, nil
}

// sortedSet returns list sorted without repeats, nil when empty.
func sortedSet[T ~string](list []T) []T {
	if len(list) == 0 {
		return nil
	}
	out := slices.Clone(list)
	slices.Sort(out)
	return slices.Compact(out)
}

// errBadToken is the one answer for every unusable bearer secret, so that
// callers cannot tell an unknown token from an expired one.
func errBadToken() error {
	return argus.Errorf(argus.EUNAUTHORIZED, "invalid or expired token")
}

// Authenticate returns the principal a token secret stands for. Unknown and
// expired tokens and disabled users are EUNAUTHORIZED. A use is recorded in
// the token's LastUsedAt at most once a minute.
func (a *Auth) Authenticate(ctx context.Context, secret string) (argus.Principal, error) {
	if len(secret) != tokenLen || !strings.HasPrefix(secret, tokenPrefix) {
		return argus.Principal{}, errBadToken()
	}
	t, err := a.store.TokenByHash(ctx, HashToken(secret))
	if argus.ErrorCode(err) == argus.ENOTFOUND {
		return argus.Principal{}, errBadToken()
	} else if err != nil {
		return argus.Principal{}, fmt.Errorf("authenticate: %w", err)
	}
	now := a.now()
	if !now.Before(t.ExpiresAt) {
		return argus.Principal{}, errBadToken()
	}
	u, err := a.store.User(ctx, t.UserID)
	if argus.ErrorCode(err) == argus.ENOTFOUND {
		return argus.Principal{}, errBadToken()
	} else if err != nil {
		return argus.Principal{}, fmt.Errorf("authenticate: %w", err)
	}
	if u.Disabled {
		return argus.Principal{}, argus.Errorf(argus.EUNAUTHORIZED, "user is disabled")
	}
	if now.Sub(t.LastUsedAt) >= touchInterval {
		if err := a.store.TouchToken(ctx, t.ID, now.UTC()); err != nil {
			a.log.WarnContext(ctx, "touch token", "token_id", t.ID, "err", err)
		}
	}
	p := PrincipalOf(u, t.ID)
	p.Scopes, p.CameraIDs, p.Tags = t.Scopes, t.CameraIDs, t.Tags
	return p, nil
}

// PrincipalOf returns the principal for user u acting through token tokenID,
// without the token's scope (Authenticate adds it).
func PrincipalOf(u *argus.User, tokenID string) argus.Principal {
	return argus.Principal{UserID: u.ID, Username: u.Username, OrgID: u.OrgID, Role: u.Role, TokenID: tokenID}
}

// Login checks a username (any case; usernames are stored in lower case)
// and password and issues a session token. Unknown users and wrong passwords
// get the same EUNAUTHORIZED answer after the same work; disabled users are
// refused.
func (a *Auth) Login(ctx context.Context, username, password string) (string, *argus.Token, *argus.User, error) {
	u, err := a.Verify(ctx, username, password)
	if err != nil {
		return "", nil, nil, err
	}
	secret, t, err := a.IssueToken(ctx, u, argus.TokenSession, "login", a.sessionTTL)
	if err != nil {
		return "", nil, nil, err
	}
	return secret, t, u, nil
}

// Verify checks a user name and password and returns the user, without
// issuing a session: for protocols that send credentials with every
// connection (RTSP). It fails with EUNAUTHORIZED, taking as long for an
// unknown user as for a wrong password.
//
// Attempts are throttled per account and client address (the address
// WithClient put in ctx) and per account (limiter.go): a throttled attempt
// fails with a *ThrottledError (ERATELIMIT) before the password is
// checked. Failures and lock-outs are logged, never the password.
func (a *Auth) Verify(ctx context.Context, username, password string) (*argus.User, error) {
	account, client := strings.ToLower(strings.TrimSpace(username)), ClientFrom(ctx)
	if err := a.guard.admit(account, client); err != nil {
		a.log.WarnContext(ctx, "sign-in refused: too many attempts", "user", account, "client", client, "err", err)
		return nil, err
	}
	u, err := a.verify(ctx, account, password)
	switch argus.ErrorCode(err) {
	case "":
		a.guard.succeeded(account, client)
	case argus.EUNAUTHORIZED:
		if d := a.guard.failed(account, client); d > 0 {
			a.log.WarnContext(ctx, "sign-in locked out after repeated failures", "user", account, "client", client, "for", d)
		} else {
			a.log.InfoContext(ctx, "sign-in failed", "user", account, "client", client, "err", err)
		}
	}
	return u, err
}

// verify checks account's password.
func (a *Auth) verify(ctx context.Context, account, password string) (*argus.User, error) {
	invalid := argus.Errorf(argus.EUNAUTHORIZED, "invalid username or password")
	u, err := a.store.UserByName(ctx, account)
	switch {
	case argus.ErrorCode(err) == argus.ENOTFOUND:
		_, _ = CheckPassword(a.dummyHash, password)
		return nil, invalid
	case err != nil:
		return nil, fmt.Errorf("login: %w", err)
	case u.PasswordHash == "":
		// A user an identity provider vouches for has no password here.
		_, _ = CheckPassword(a.dummyHash, password)
		return nil, invalid
	}
	ok, err := CheckPassword(u.PasswordHash, password)
	if err != nil {
		a.log.ErrorContext(ctx, "stored password hash is unusable", "user_id", u.ID, "err", err)
		return nil, invalid
	}
	if !ok {
		return nil, invalid
	}
	if u.Disabled {
		return nil, argus.Errorf(argus.EUNAUTHORIZED, "user is disabled")
	}
	return u, nil
}

// Bootstrap identities created by EnsureAdmin.
const (
	SystemOrgID = "system"
	AdminUserID = "admin"
)

// EnsureAdmin creates the organisation "system" and the administrator
// "admin" when the store has no user at all. An empty password is replaced by
// a generated one. It reports whether it created the user and the password it
// set, which the caller shows once.
func (a *Auth) EnsureAdmin(ctx context.Context, password string) (created bool, pw string, err error) {
	users, err := a.store.Users(ctx, "")
	if err != nil {
		return false, "", fmt.Errorf("ensure admin: %w", err)
	}
	if len(users) > 0 {
		return false, "", nil
	}
	if password == "" {
		password = GeneratePassword()
	}
	hash, err := a.HashPassword(password)
	if err != nil {
		return false, "", err
	}
	_, err = a.store.Org(ctx, SystemOrgID)
	if argus.ErrorCode(err) == argus.ENOTFOUND {
		err = a.store.CreateOrg(ctx, &argus.Org{ID: SystemOrgID, Name: "System", Kind: argus.OrgOther})
	}
	if err != nil {
		return false, "", fmt.Errorf("ensure admin: system organisation: %w", err)
	}
	u := &argus.User{
		ID:           AdminUserID,
		Username:     AdminUserID,
		DisplayName:  "Administrator",
		OrgID:        SystemOrgID,
		Role:         argus.RoleAdmin,
		PasswordHash: hash,
	}
	if err := a.store.CreateUser(ctx, u); err != nil {
		return false, "", fmt.Errorf("ensure admin: %w", err)
	}
	return true, password, nil
}
