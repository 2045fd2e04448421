package access

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	"argus"
)

// OIDCConfig configures sign-in through an OpenID Connect identity provider
// (docs/oidc.md).
type OIDCConfig struct {
	// Issuer is the provider's issuer URL. Required.
	Issuer string
	// ClientID and ClientSecret are argus's client at the provider;
	// ClientID is required.
	ClientID     string
	ClientSecret string
	// RedirectURL is this node's /api/v1/oidc/callback. Required.
	RedirectURL string
	// Scopes are asked for; nil means openid and profile.
	Scopes []string
	// OrgClaim and RoleClaim name the ID token claims that hold the user's
	// organisation and role; empty means "argus_org" and "argus_role".
	OrgClaim, RoleClaim string
	// RoleMap maps the role claim's values to roles. Empty: a value must
	// be a role itself, and admin is refused.
	RoleMap map[string]argus.Role
	// AllowedOrgs, when not empty, are the only organisations a sign-in
	// may land in.
	AllowedOrgs []string
	// ButtonLabel is the text of the web UI's sign-in button.
	ButtonLabel string
	// Auth supplies the store (organisations), the clock, the log and the
	// sign-in throttle. Required.
	Auth *Auth
	// Client makes the requests to the provider; nil means a client with
	// a 10 s timeout.
	Client *http.Client
}

// OIDC signs users in through an OpenID Connect provider: the
// authorisation code flow with PKCE (S256), state and nonce. The provider
// is discovered at the first sign-in, and again after a failed discovery.
// It is safe for concurrent use.
type OIDC struct {
	cfg    OIDCConfig
	client *http.Client

	// mu guards provider.
	mu       sync.Mutex
	provider *oidc.Provider
}

// NewOIDC returns an OIDC for cfg; nothing is fetched yet.
func NewOIDC(cfg OIDCConfig) (*OIDC, error) {
	if cfg.Issuer == "" || cfg.ClientID == "" || cfg.RedirectURL == "" || cfg.Auth == nil {
		return nil, errors.New("access: oidc needs an issuer, a client id, a redirect URL and an auth")
	}
	for from, to := range cfg.RoleMap {
		if !to.Valid() {
			return nil, fmt.Errorf("access: oidc role map: %q maps to %q, which is not a role", from, to)
		}
	}
	if cfg.Scopes == nil {
		cfg.Scopes = []string{oidc.ScopeOpenID, "profile"}
	}
	if cfg.OrgClaim == "" {
		cfg.OrgClaim = "argus_org"
	}
	if cfg.RoleClaim == "" {
		cfg.RoleClaim = "argus_role"
	}
	o := &OIDC{cfg: cfg, client: cfg.Client}
	if o.client == nil {
		o.client = &http.Client{Timeout: 10 * time.Second}
	}
	return o, nil
}

// ButtonLabel is the text of the web UI's sign-in button.
func (o *OIDC) ButtonLabel() string { return o.cfg.ButtonLabel }

// OIDCLogin is a sign-in in progress, kept by the browser between the
// redirect to the provider and the callback: the state, nonce and PKCE
// verifier the callback must match.
type OIDCLogin struct {
	State, Nonce, Verifier string
}

// Encode returns l as one cookie-safe string.
func (l OIDCLogin) Encode() string { return l.State + "." + l.Nonce + "." + l.Verifier }

// ParseOIDCLogin reverses Encode; ok is false for anything else.
func ParseOIDCLogin(s string) (l OIDCLogin, ok bool) {
	parts := strings.Split(s, ".")
	if len(parts) != 3 || parts[0] == "" || parts[1] == "" || parts[2] == "" {
		return OIDCLogin{}, false
	}
	return OIDCLogin{State: parts[0], Nonce: parts[1], Verifier: parts[2]}, true
}

// OIDCIdentity is who a verified ID token says the user is, mapped to
// argus: the username "oidc.<subject>" (a digest of the subject when it is
// not a valid username), their organisation and role.
type OIDCIdentity struct {
	Subject     string
	Username    string
	DisplayName string
	OrgID       string
	Role        argus.Role
}

// providerFor returns the discovered provider, discovering it when needed.
func (o *OIDC) providerFor(ctx context.Context) (*oidc.Provider, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.provider != nil {
		return o.provider, nil
	}
	p, err := oidc.NewProvider(oidc.ClientContext(ctx, o.client), o.cfg.Issuer)
	if err != nil {
		o.cfg.Auth.log.ErrorContext(ctx, "oidc discovery failed", "issuer", o.cfg.Issuer, "err", err)
		return nil, fmt.Errorf("%w: %w", argus.Errorf(argus.EUNAVAILABLE, "the identity provider cannot be reached; try again later"), err)
	}
	o.provider = p
	return p, nil
}

func (o *OIDC) oauth2Config(p *oidc.Provider) *oauth2.Config {
	return &oauth2.Config{
		ClientID: o.cfg.ClientID, ClientSecret: o.cfg.ClientSecret, RedirectURL: o.cfg.RedirectURL,
		Endpoint: p.Endpoint(), Scopes: o.cfg.Scopes,
	}
}

// randomString returns 32 random bytes in base64url.
func randomString() string {
	b := make([]byte, 32)
	rand.Read(b) // never fails since Go 1.24
	return base64.RawURLEncoding.EncodeToString(b)
}

// Begin starts a sign-in: the provider's authorisation URL to send the
// browser to, and the login the callback must match.
func (o *OIDC) Begin(ctx context.Context) (string, OIDCLogin, error) {
	p, err := o.providerFor(ctx)
	if err != nil {
		return "", OIDCLogin{}, err
	}
	l := OIDCLogin{State: randomString(), Nonce: randomString(), Verifier: oauth2.GenerateVerifier()}
	u := o.oauth2Config(p).AuthCodeURL(l.State, oauth2.S256ChallengeOption(l.Verifier), oidc.Nonce(l.Nonce))
	return u, l, nil
}

// oidcAccount is the throttle's account key for OIDC callbacks, which are
// throttled per client address (the address WithClient put in ctx).
const oidcAccount = "\x00oidc"

// Finish completes a sign-in at the callback: state and code are the
// callback's parameters, l the login Begin made. It checks the state,
// exchanges the code (with the PKCE verifier), verifies the ID token
// (signature, issuer, audience, expiry, nonce) and maps its claims to an
// organisation that exists (and is allowed) and a role. Failures are
// EUNAUTHORIZED (the sign-in itself) or EFORBIDDEN (the claims), and count
// against the client address in the sign-in throttle, which refuses
// further attempts with a *ThrottledError.
func (o *OIDC) Finish(ctx context.Context, l OIDCLogin, state, code string) (*OIDCIdentity, error) {
	a, client := o.cfg.Auth, ClientFrom(ctx)
	if err := a.guard.admit(oidcAccount, client); err != nil {
		a.log.WarnContext(ctx, "oidc sign-in refused: too many attempts", "client", client, "err", err)
		return nil, err
	}
	id, err := o.finish(ctx, l, state, code)
	switch argus.ErrorCode(err) {
	case "":
		a.guard.succeeded(oidcAccount, client)
		a.log.InfoContext(ctx, "oidc sign-in", "user", id.Username, "org_id", id.OrgID, "role", id.Role, "client", client)
	case argus.EUNAUTHORIZED, argus.EFORBIDDEN:
		if d := a.guard.failedPair(oidcAccount, client); d > 0 {
			a.log.WarnContext(ctx, "oidc sign-in locked out after repeated failures", "client", client, "for", d)
		}
		a.log.InfoContext(ctx, "oidc sign-in failed", "client", client, "err", err)
	}
	return id, err
}

func (o *OIDC) finish(ctx context.Context, l OIDCLogin, state, code string) (*OIDCIdentity, error) {
	if l.State == "" || subtle.ConstantTimeCompare([]byte(state), []byte(l.State)) != 1 {
		return nil, argus.Errorf(argus.EUNAUTHORIZED, "the sign-in's state does not match: start again from the sign-in page")
	}
	if code == "" {
		return nil, argus.Errorf(argus.EUNAUTHORIZED, "the identity provider sent no authorisation code")
	}
	p, err := o.providerFor(ctx)
	if err != nil {
		return nil, err
	}
	ctx = oidc.ClientContext(ctx, o.client)
	tok, err := o.oauth2Config(p).Exchange(ctx, code, oauth2.VerifierOption(l.Verifier))
	if err != nil {
		return nil, fmt.Errorf("%w: %w", argus.Errorf(argus.EUNAUTHORIZED, "the identity provider refused the authorisation code"), err)
	}
	raw, _ := tok.Extra("id_token").(string)
	if raw == "" {
		return nil, argus.Errorf(argus.EUNAUTHORIZED, "the identity provider sent no ID token")
	}
	idt, err := p.Verifier(&oidc.Config{ClientID: o.cfg.ClientID, Now: o.cfg.Auth.now}).Verify(ctx, raw)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", argus.Errorf(argus.EUNAUTHORIZED, "the ID token is not valid: %v", err), err)
	}
	if subtle.ConstantTimeCompare([]byte(idt.Nonce), []byte(l.Nonce)) != 1 {
		return nil, argus.Errorf(argus.EUNAUTHORIZED, "the ID token's nonce does not match this sign-in")
	}
	var claims map[string]any
	if err := idt.Claims(&claims); err != nil {
		return nil, fmt.Errorf("%w: %w", argus.Errorf(argus.EUNAUTHORIZED, "the ID token's claims cannot be read"), err)
	}
	return o.identity(ctx, idt.Subject, claims)
}

// identity maps a verified token's claims to argus.
func (o *OIDC) identity(ctx context.Context, sub string, claims map[string]any) (*OIDCIdentity, error) {
	org, _ := claims[o.cfg.OrgClaim].(string)
	switch {
	case sub == "":
		return nil, argus.Errorf(argus.EUNAUTHORIZED, "the ID token has no subject")
	case org == "":
		return nil, argus.Errorf(argus.EFORBIDDEN, "the ID token names no organisation (claim %q)", o.cfg.OrgClaim)
	}
	if _, err := o.cfg.Auth.store.Org(ctx, org); argus.ErrorCode(err) == argus.ENOTFOUND {
		return nil, argus.Errorf(argus.EFORBIDDEN, "organisation %q (claim %q) does not exist in argus", org, o.cfg.OrgClaim)
	} else if err != nil {
		return nil, fmt.Errorf("oidc sign-in: %w", err)
	}
	if len(o.cfg.AllowedOrgs) > 0 && !slices.Contains(o.cfg.AllowedOrgs, org) {
		return nil, argus.Errorf(argus.EFORBIDDEN, "organisation %q may not sign in through this identity provider", org)
	}
	role, err := o.role(claims[o.cfg.RoleClaim])
	if err != nil {
		return nil, err
	}
	id := &OIDCIdentity{Subject: sub, Username: oidcUsername(sub), OrgID: org, Role: role}
	for _, c := range []string{"name", "preferred_username", "email"} {
		if s, _ := claims[c].(string); s != "" {
			id.DisplayName = truncate(s, 200)
			break
		}
	}
	return id, nil
}

// role maps the role claim (a string or a list of strings) to a role.
// With a role map, the values it maps are candidates; without, the values
// that are roles, admin excepted. The most privileged candidate (the last
// in argus.Roles) wins.
func (o *OIDC) role(claim any) (argus.Role, error) {
	var values []string
	switch v := claim.(type) {
	case string:
		values = []string{v}
	case []any:
		for _, e := range v {
			if s, ok := e.(string); ok {
				values = append(values, s)
			}
		}
	}
	if len(values) == 0 {
		return "", argus.Errorf(argus.EFORBIDDEN, "the ID token names no role (claim %q)", o.cfg.RoleClaim)
	}
	best := -1
	for _, v := range values {
		r := argus.Role(v)
		if len(o.cfg.RoleMap) > 0 {
			var ok bool
			if r, ok = o.cfg.RoleMap[v]; !ok {
				continue
			}
		} else if r == argus.RoleAdmin {
			continue // only the role map grants admin
		}
		best = max(best, slices.Index(argus.Roles, r))
	}
	if best < 0 {
		return "", argus.Errorf(argus.EFORBIDDEN, "the ID token's role %q (claim %q) is not one argus grants through this identity provider",
			strings.Join(values, ","), o.cfg.RoleClaim)
	}
	return argus.Roles[best], nil
}

// oidcUsername is the argus username of the subject sub: "oidc." and the
// subject when that is a valid username, else "oidc." and a digest of it.
func oidcUsername(sub string) string {
	if name := "oidc." + sub; argus.ValidID(name) {
		return name
	}
	h := sha256.Sum256([]byte(sub))
	return "oidc." + hex.EncodeToString(h[:16])
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8Start(s[n]) {
		n--
	}
	return s[:n]
}

// utf8Start reports whether b starts a UTF-8 sequence.
func utf8Start(b byte) bool { return b&0xC0 != 0x80 }
