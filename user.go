package argus

import (
	"strings"
	"time"
)

// Role is what a user may do inside their organisation (and, through shares,
// on other organisations' cameras).
type Role string

// The roles, from least to most privileged within an organisation. RoleAdmin
// is the system administrator of the whole installation.
const (
	RoleViewer       Role = "viewer"       // watch live video
	RoleOperator     Role = "operator"     // viewer + PTZ control
	RoleInvestigator Role = "investigator" // operator + playback and export
	RoleAuditor      Role = "auditor"      // read the audit log and configuration, no video
	RoleOrgAdmin     Role = "org_admin"    // manage the organisation's cameras, users and shares
	RoleAdmin        Role = "admin"        // everything, everywhere
)

// Roles lists every valid Role.
var Roles = []Role{RoleViewer, RoleOperator, RoleInvestigator, RoleAuditor, RoleOrgAdmin, RoleAdmin}

// Valid reports whether r is one of Roles.
func (r Role) Valid() bool {
	for _, v := range Roles {
		if r == v {
			return true
		}
	}
	return false
}

// User is a person (or a service) that signs in. PasswordHash is the encoded
// argon2id hash; it never leaves the server. Provider says who vouches for
// the user: "" for a password kept by argus, ProviderOIDC for a user made by
// an OIDC sign-in (who has no password).
type User struct {
	ID           string    `json:"id"`
	Username     string    `json:"username"`
	DisplayName  string    `json:"display_name,omitempty"`
	OrgID        string    `json:"org_id"`
	Role         Role      `json:"role"`
	Disabled     bool      `json:"disabled"`
	Provider     string    `json:"provider,omitempty"`
	PasswordHash string    `json:"-"`
	CreatedAt    time.Time `json:"created_at"`
}

// ProviderOIDC is the Provider of users made by an OIDC sign-in.
const ProviderOIDC = "oidc"

// Validate checks the user's fields; the store checks that the organisation
// exists and that the username is free.
func (u *User) Validate() error {
	u.Username = strings.TrimSpace(u.Username)
	switch {
	case !ValidID(u.ID):
		return FieldErrorf("id", "id %q must be 1-64 characters of a-z, 0-9, '.', '_' or '-'", u.ID)
	case !ValidID(u.Username):
		return FieldErrorf("username", "username %q must be 1-64 characters of a-z, 0-9, '.', '_' or '-'", u.Username)
	case len(u.DisplayName) > maxTextLen:
		return FieldErrorf("display_name", "display_name is longer than %d characters", maxTextLen)
	case !ValidID(u.OrgID):
		return FieldErrorf("org_id", "org_id %q is not a valid id", u.OrgID)
	case !u.Role.Valid():
		return FieldErrorf("role", "role %q is not one of viewer, operator, investigator, auditor, org_admin, admin", u.Role)
	case u.Provider != "" && u.Provider != ProviderOIDC:
		return FieldErrorf("provider", "provider %q is not empty or %q", u.Provider, ProviderOIDC)
	}
	return nil
}

// TokenKind says how a token was issued.
type TokenKind string

// The token kinds.
const (
	TokenSession TokenKind = "session" // issued by login, short-lived, also set as a cookie
	TokenAPI     TokenKind = "api"     // issued on request for scripts and integrations
)

// Token is a bearer credential. Only the SHA-256 of the secret is stored
// (Hash); the secret itself is shown once, when the token is issued.
//
// An API token may be scoped: Scopes, when not empty, are the only actions
// it may take (a subset of what its user's role allows), and CameraIDs and
// Tags, when either is not empty, the only cameras it may act on (those
// with one of the ids or carrying one of the tags). Both are sorted.
type Token struct {
	ID         string    `json:"id"`
	UserID     string    `json:"user_id"`
	Kind       TokenKind `json:"kind"`
	Name       string    `json:"name,omitempty"`
	Scopes     []Action  `json:"scopes,omitempty"`
	CameraIDs  []string  `json:"camera_ids,omitempty"`
	Tags       []string  `json:"tags,omitempty"`
	Hash       []byte    `json:"-"`
	CreatedAt  time.Time `json:"created_at"`
	ExpiresAt  time.Time `json:"expires_at"`
	LastUsedAt time.Time `json:"last_used_at"`
}
