package api

import (
	"errors"
	"net/http"
	"strconv"
	"time"

	"argus"
	"argus/internal/access"
)

// oidcCookie keeps an OIDC sign-in in progress (state, nonce, PKCE
// verifier) between the redirect to the identity provider and the
// callback. It is SameSite=Lax: the callback is a top-level navigation
// from the provider's site.
const (
	oidcCookie     = "argus_oidc"
	oidcCookiePath = "/api/v1/oidc/"
	oidcCookieTTL  = 10 * time.Minute
)

// changeUserOIDC records a user created or changed by an OIDC sign-in.
const changeUserOIDC = "user.oidc"

// providersResponse tells the sign-in page how users may sign in.
type providersResponse struct {
	// Password is true: users with a password sign in with POST
	// /api/v1/login.
	Password bool `json:"password"`
	// OIDC is sign-in through the identity provider.
	OIDC oidcProvider `json:"oidc"`
}

// oidcProvider describes OIDC sign-in to the sign-in page.
type oidcProvider struct {
	// Enabled is true when this node is configured for OIDC.
	Enabled bool `json:"enabled"`
	// ButtonLabel is the sign-in button's text.
	ButtonLabel string `json:"button_label,omitempty"`
	// LoginURL is where the button sends the browser.
	LoginURL string `json:"login_url,omitempty"`
}

func (s *Server) authProviders(w http.ResponseWriter, _ *http.Request) error {
	out := providersResponse{Password: true}
	if s.oidc != nil {
		out.OIDC = oidcProvider{Enabled: true, ButtonLabel: s.oidc.ButtonLabel(), LoginURL: "/api/v1/oidc/login"}
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

func (s *Server) oidcOff() error {
	return argus.Errorf(argus.ENOTFOUND, "OIDC sign-in is not configured on this node")
}

// oidcLogin redirects the browser to the identity provider, keeping the
// sign-in's state, nonce and verifier in a short-lived HttpOnly cookie.
func (s *Server) oidcLogin(w http.ResponseWriter, r *http.Request) error {
	if s.oidc == nil {
		return s.oidcOff()
	}
	target, l, err := s.oidc.Begin(r.Context())
	if err != nil {
		return err
	}
	http.SetCookie(w, &http.Cookie{
		Name: oidcCookie, Value: l.Encode(), Path: oidcCookiePath, MaxAge: int(oidcCookieTTL.Seconds()),
		HttpOnly: true, Secure: r.TLS != nil, SameSite: http.SameSiteLaxMode,
	})
	w.Header().Set("Cache-Control", "no-store")
	http.Redirect(w, r, target, http.StatusFound)
	return nil
}

// oidcCallback completes a sign-in: the identity provider's answer is
// checked against the cookie oidcLogin set, the user is created or
// updated from the ID token's claims (recorded as a change first), and a
// session is issued as POST /api/v1/login does; the browser goes to /.
func (s *Server) oidcCallback(w http.ResponseWriter, r *http.Request) error {
	if s.oidc == nil {
		return s.oidcOff()
	}
	ctx, q := r.Context(), r.URL.Query()
	// The cookie serves one callback, whatever its outcome.
	http.SetCookie(w, &http.Cookie{
		Name: oidcCookie, Value: "", Path: oidcCookiePath, MaxAge: -1,
		HttpOnly: true, Secure: r.TLS != nil, SameSite: http.SameSiteLaxMode,
	})
	var l access.OIDCLogin
	if c, err := r.Cookie(oidcCookie); err == nil {
		l, _ = access.ParseOIDCLogin(c.Value)
	}
	if e := q.Get("error"); e != "" && l.State != "" && q.Get("state") == l.State {
		return argus.Errorf(argus.EUNAUTHORIZED, "the identity provider refused the sign-in: %.200s", e)
	}
	id, err := s.oidc.Finish(ctx, l, q.Get("state"), q.Get("code"))
	var te *access.ThrottledError
	if errors.As(err, &te) {
		w.Header().Set("Retry-After", strconv.Itoa(int((te.RetryAfter+time.Second-1)/time.Second)))
	}
	if err != nil {
		return err
	}
	u, err := s.oidcUser(r, id)
	if err != nil {
		return err
	}
	secret, tok, err := s.auth.IssueToken(ctx, u, argus.TokenSession, "oidc", s.auth.SessionTTL())
	if err != nil {
		return err
	}
	info(ctx).principal = access.PrincipalOf(u, tok.ID)
	http.SetCookie(w, &http.Cookie{
		Name: sessionCookie, Value: secret, Path: "/", Expires: tok.ExpiresAt, MaxAge: int(time.Until(tok.ExpiresAt).Seconds()),
		HttpOnly: true, Secure: r.TLS != nil, SameSite: http.SameSiteStrictMode,
	})
	w.Header().Set("Cache-Control", "no-store")
	http.Redirect(w, r, "/", http.StatusFound)
	return nil
}

// oidcUser creates the user id stands for, or brings their organisation,
// role and display name up to date, recording the change first. A user
// of the same name who signs in with a password, or who is disabled, is
// refused.
func (s *Server) oidcUser(r *http.Request, id *access.OIDCIdentity) (*argus.User, error) {
	ctx := r.Context()
	cur, err := s.store.UserByName(ctx, id.Username)
	switch {
	case argus.ErrorCode(err) == argus.ENOTFOUND:
		u := &argus.User{ID: argus.NewID("usr"), Username: id.Username, DisplayName: id.DisplayName, OrgID: id.OrgID,
			Role: id.Role, Provider: argus.ProviderOIDC}
		if err := u.Validate(); err != nil {
			return nil, err
		}
		if err := s.recordChange(ctx, access.PrincipalOf(u, ""), argus.ActionManageUser, userResource(u), changeUserOIDC,
			change{"id": u.ID, "org_id": u.OrgID, "role": u.Role, "provider": u.Provider, "created": true}); err != nil {
			return nil, err
		}
		if err := s.store.CreateUser(ctx, u); err != nil {
			return nil, err
		}
		return u, nil
	case err != nil:
		return nil, err
	case cur.Provider != argus.ProviderOIDC:
		return nil, argus.Errorf(argus.ECONFLICT, "user %q exists and does not sign in through the identity provider", id.Username)
	case cur.Disabled:
		return nil, argus.Errorf(argus.EUNAUTHORIZED, "user is disabled")
	}
	u := *cur
	u.OrgID, u.Role = id.OrgID, id.Role
	if id.DisplayName != "" {
		u.DisplayName = id.DisplayName
	}
	fields := changedFields(cur, &u)
	if len(fields) == 0 {
		return cur, nil
	}
	if err := u.Validate(); err != nil {
		return nil, err
	}
	if err := s.recordChange(ctx, access.PrincipalOf(&u, ""), argus.ActionManageUser, userResource(&u), changeUserOIDC,
		change{"id": u.ID, "fields": fields, "org_id": u.OrgID, "role": u.Role}); err != nil {
		return nil, err
	}
	if err := s.store.UpdateUser(ctx, &u); err != nil {
		return nil, err
	}
	return &u, nil
}
