package api

import (
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"

	"argus"
	"argus/internal/access"
)

// sessionCookie carries the session token for browsers.
const sessionCookie = "argus_session"

// API token lifetimes, in days.
const (
	defaultTokenDays = 90
	maxTokenDays     = 366
)

// authenticate resolves the bearer token (the Authorization header first,
// then the session cookie) into the request's principal. A request that
// the session cookie authenticates must not be a cross-origin browser
// request with an unsafe method (CSRF).
func (s *Server) authenticate(r *http.Request) error {
	var secret string
	if h := r.Header.Get("Authorization"); h != "" {
		scheme, tok, ok := strings.Cut(h, " ")
		if !ok || !strings.EqualFold(scheme, "Bearer") || strings.TrimSpace(tok) == "" {
			return argus.Errorf(argus.EUNAUTHORIZED, `the Authorization header must be "Bearer <token>"`)
		}
		secret = strings.TrimSpace(tok)
	} else if c, err := r.Cookie(sessionCookie); err == nil {
		if err := s.sameOrigin(r); err != nil {
			return err
		}
		secret = c.Value
	} else {
		return argus.Errorf(argus.EUNAUTHORIZED, "authentication required: send Authorization: Bearer <token>")
	}
	p, err := s.auth.Authenticate(r.Context(), secret)
	if err != nil {
		return err
	}
	info(r.Context()).principal = p
	return nil
}

// sameOrigin refuses a cross-origin browser request with an unsafe method
// (POST, PUT, PATCH, DELETE): net/http's CrossOriginProtection, which reads
// Sec-Fetch-Site and else compares Origin with Host. Requests without
// either header do not come from a browser and pass; so do GET and HEAD.
func (s *Server) sameOrigin(r *http.Request) error {
	if err := s.csrf.Check(r); err != nil {
		info(r.Context()).log.WarnContext(r.Context(), "cross-origin request refused",
			"origin", r.Header.Get("Origin"), "sec_fetch_site", r.Header.Get("Sec-Fetch-Site"))
		return argus.Errorf(argus.EFORBIDDEN, "cross-origin request refused: a browser session may change things only from argus's own pages")
	}
	return nil
}

// loginRequest is the body of POST /api/v1/login.
type loginRequest struct {
	Username string `json:"username"`
	Password string `json:"password"`
}

// loginResponse answers a successful sign-in. Token is the session secret,
// also set as the argus_session cookie.
type loginResponse struct {
	Token     string      `json:"token"`
	ExpiresAt time.Time   `json:"expires_at"`
	User      *argus.User `json:"user"`
}

func (s *Server) login(w http.ResponseWriter, r *http.Request) error {
	var in loginRequest
	if err := decodeJSON(r, &in); err != nil {
		return err
	}
	if in.Username == "" {
		return argus.FieldErrorf("username", "username is required")
	}
	if in.Password == "" {
		return argus.FieldErrorf("password", "password is required")
	}
	if err := s.sameOrigin(r); err != nil {
		return err
	}
	// The throttle keys attempts by the client address serveHTTP put in
	// the context.
	secret, tok, u, err := s.auth.Login(r.Context(), in.Username, in.Password)
	var te *access.ThrottledError
	if errors.As(err, &te) {
		w.Header().Set("Retry-After", strconv.Itoa(int((te.RetryAfter+time.Second-1)/time.Second)))
	}
	if err != nil {
		return err
	}
	info(r.Context()).principal = access.PrincipalOf(u, tok.ID)
	http.SetCookie(w, &http.Cookie{
		Name:     sessionCookie,
		Value:    secret,
		Path:     "/",
		Expires:  tok.ExpiresAt,
		MaxAge:   int(time.Until(tok.ExpiresAt).Seconds()),
		HttpOnly: true,
		Secure:   r.TLS != nil,
		SameSite: http.SameSiteStrictMode,
	})
	writeJSON(w, http.StatusOK, loginResponse{Token: secret, ExpiresAt: tok.ExpiresAt, User: u})
	return nil
}

func (s *Server) logout(w http.ResponseWriter, r *http.Request) error {
	p := principal(r)
	if err := s.store.DeleteToken(r.Context(), p.TokenID); err != nil && argus.ErrorCode(err) != argus.ENOTFOUND {
		return err
	}
	http.SetCookie(w, &http.Cookie{
		Name: sessionCookie, Value: "", Path: "/", MaxAge: -1,
		HttpOnly: true, Secure: r.TLS != nil, SameSite: http.SameSiteStrictMode,
	})
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// meResponse describes the caller.
type meResponse struct {
	User    *argus.User `json:"user"`
	TokenID string      `json:"token_id"`
}

func (s *Server) me(w http.ResponseWriter, r *http.Request) error {
	p := principal(r)
	u, err := s.store.User(r.Context(), p.UserID)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, meResponse{User: u, TokenID: p.TokenID})
	return nil
}

// tokenRequest is the body of POST /api/v1/tokens.
type tokenRequest struct {
	// Name says what the token is for, e.g. "prometheus".
	Name string `json:"name"`
	// ExpiresInDays is the lifetime, 1..366; 0 means 90.
	ExpiresInDays int `json:"expires_in_days,omitempty"`
	// Scopes are the only actions the token may take, each one the
	// caller's role allows; empty means whatever the role allows.
	Scopes []argus.Action `json:"scopes,omitempty"`
	// CameraIDs and Tags narrow the cameras the token may act on to those
	// with one of these ids or carrying one of these tags; both empty
	// means every camera the caller may act on.
	CameraIDs []string `json:"camera_ids,omitempty"`
	Tags      []string `json:"tags,omitempty"`
}

// tokenCreated is a new API token with its secret, shown only once.
type tokenCreated struct {
	Secret string `json:"token"`
	*argus.Token
}

// tokenList is the caller's tokens.
type tokenList struct {
	Items []*argus.Token `json:"items"`
}

// The caller's own tokens are self-service: they act only on the caller's
// identity, so these handlers need no gate action.

func (s *Server) createToken(w http.ResponseWriter, r *http.Request) error {
	var in tokenRequest
	if err := decodeJSON(r, &in); err != nil {
		return err
	}
	in.Name = strings.TrimSpace(in.Name)
	switch {
	case in.Name == "":
		return argus.FieldErrorf("name", "name is required")
	case len(in.Name) > 200:
		return argus.FieldErrorf("name", "name is longer than 200 characters")
	case in.ExpiresInDays < 0 || in.ExpiresInDays > maxTokenDays:
		return argus.FieldErrorf("expires_in_days", "expires_in_days %d is outside 1..%d", in.ExpiresInDays, maxTokenDays)
	case in.ExpiresInDays == 0:
		in.ExpiresInDays = defaultTokenDays
	}
	p := principal(r)
	if len(p.Scopes) > 0 || len(p.CameraIDs) > 0 || len(p.Tags) > 0 {
		// Else a scoped token could mint an unscoped one.
		return argus.Errorf(argus.EFORBIDDEN, "a scoped token cannot create tokens")
	}
	u, err := s.store.User(r.Context(), p.UserID)
	if err != nil {
		return err
	}
	secret, tok, err := s.auth.IssueScopedToken(r.Context(), u, argus.TokenAPI, in.Name, time.Duration(in.ExpiresInDays)*24*time.Hour,
		access.Scope{Actions: in.Scopes, CameraIDs: in.CameraIDs, Tags: in.Tags})
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, tokenCreated{Secret: secret, Token: tok})
	return nil
}

func (s *Server) listTokens(w http.ResponseWriter, r *http.Request) error {
	toks, err := s.store.Tokens(r.Context(), principal(r).UserID)
	if err != nil {
		return err
	}
	if toks == nil {
		toks = []*argus.Token{}
	}
	writeJSON(w, http.StatusOK, tokenList{Items: toks})
	return nil
}

func (s *Server) deleteToken(w http.ResponseWriter, r *http.Request) error {
	id := r.PathValue("id")
	toks, err := s.store.Tokens(r.Context(), principal(r).UserID)
	if err != nil {
		return err
	}
	for _, t := range toks {
		if t.ID == id {
			if err := s.store.DeleteToken(r.Context(), id); err != nil {
				return err
			}
			w.WriteHeader(http.StatusNoContent)
			return nil
		}
	}
	return argus.Errorf(argus.ENOTFOUND, "token %q not found", id)
}
