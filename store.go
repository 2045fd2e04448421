package argus

import (
	"context"
	"time"
)

// Sealer encrypts small secrets (camera credentials) for storage. The key
// lives outside the database; ad binds a ciphertext to its owner (the camera
// id) so sealed values cannot be swapped between rows.
type Sealer interface {
	Seal(plaintext, ad []byte) ([]byte, error)
	Open(sealed, ad []byte) ([]byte, error)
}

// OrgStore persists organisations.
type OrgStore interface {
	// CreateOrg adds o, setting CreatedAt. ECONFLICT if the id is taken;
	// EINVALID (field parent_id) if the parent does not exist.
	CreateOrg(ctx context.Context, o *Org) error
	// Org returns one organisation; ENOTFOUND if there is none.
	Org(ctx context.Context, id string) (*Org, error)
	// Orgs returns every organisation ordered by id.
	Orgs(ctx context.Context) ([]*Org, error)
	// UpdateOrg replaces name, kind, parent and quota. ENOTFOUND if absent;
	// EINVALID if the new parent does not exist or would make a cycle.
	UpdateOrg(ctx context.Context, o *Org) error
	// DeleteOrg removes an organisation. ENOTFOUND if absent; ECONFLICT while
	// it still owns cameras or users or has child organisations.
	DeleteOrg(ctx context.Context, id string) error
}

// CameraStore persists the camera directory. Implementations keep Username
// and Password sealed at rest with the Sealer they were opened with.
type CameraStore interface {
	// CreateCamera adds c, setting CreatedAt and UpdatedAt. ECONFLICT if the
	// id is taken; EINVALID (field org_id) if the organisation does not exist.
	CreateCamera(ctx context.Context, c *Camera) error
	// Camera returns one camera with its credentials unsealed; ENOTFOUND if
	// there is none.
	Camera(ctx context.Context, id string) (*Camera, error)
	// UpdateCamera replaces every field but ID and CreatedAt, setting
	// UpdatedAt. ENOTFOUND if absent; EINVALID (org_id) for an unknown org.
	UpdateCamera(ctx context.Context, c *Camera) error
	// DeleteCamera removes a camera. ENOTFOUND if absent.
	DeleteCamera(ctx context.Context, id string) error
	// FindCameras returns one page of cameras matching q, ordered by id.
	// Items carry no credentials (Username and Password are empty). EINVALID
	// (field after) for a malformed cursor.
	FindCameras(ctx context.Context, q CameraQuery) (CameraPage, error)
	// CountCameras returns how many cameras match f.
	CountCameras(ctx context.Context, f CameraFilter) (int, error)
	// CameraGrid aggregates the cameras matching q (q.BBox is required) into
	// cells of GridCellDeg(q.Zoom) degrees, aligned on (-90, -180). EINVALID
	// (field bbox) without a box, (field zoom) for a zoom outside 0..22.
	CameraGrid(ctx context.Context, q GridQuery) ([]GridCell, error)
	// BeginCameraBulk starts a bulk insert (one transaction) for imports.
	BeginCameraBulk(ctx context.Context) (CameraBulk, error)
	// Districts summarises the directory by district, in name order,
	// leaving out the cameras that have none.
	Districts(ctx context.Context) ([]District, error)
}

// District is a district of the camera directory as the store summarises
// it: its name, how many cameras each organisation owns in it, and points
// whose convex hull is its outline. The hull contains every camera of the
// district and lies at most one row of grid cells (GridCellDeg(16), about
// 76 m of latitude) outside the hull of the cameras themselves; a camera
// alone in its row is one of the points exactly.
type District struct {
	Name   string         `json:"name"`
	ByOrg  map[string]int `json:"by_org"`
	Points []GeoPoint     `json:"points"`
}

// CameraBulk is an open bulk insert. Add reports a per-camera *Error
// (ECONFLICT for a duplicate id, EINVALID for an unknown org) without spoiling
// the rest; nothing is visible to others until Commit. Rollback after Commit
// is a no-op, so `defer b.Rollback()` is safe.
type CameraBulk interface {
	Add(ctx context.Context, c *Camera) error
	Commit() error
	Rollback() error
}

// UserStore persists users.
type UserStore interface {
	// CreateUser adds u, setting CreatedAt. ECONFLICT if the id or the
	// username is taken; EINVALID (org_id) for an unknown organisation.
	CreateUser(ctx context.Context, u *User) error
	// User returns one user by id; ENOTFOUND if there is none.
	User(ctx context.Context, id string) (*User, error)
	// UserByName returns one user by username; ENOTFOUND if there is none.
	UserByName(ctx context.Context, username string) (*User, error)
	// Users returns the users of an organisation ("" = all), ordered by id.
	Users(ctx context.Context, orgID string) ([]*User, error)
	// UpdateUser replaces every field but ID and CreatedAt.
	UpdateUser(ctx context.Context, u *User) error
	// DeleteUser removes a user and their tokens. ENOTFOUND if absent.
	DeleteUser(ctx context.Context, id string) error
}

// TokenStore persists sessions and API tokens by the hash of their secret.
type TokenStore interface {
	// CreateToken adds t. ECONFLICT if the id or hash is taken.
	CreateToken(ctx context.Context, t *Token) error
	// TokenByHash returns the token whose secret hashes to hash; ENOTFOUND if
	// none. It does not check expiry.
	TokenByHash(ctx context.Context, hash []byte) (*Token, error)
	// Tokens lists a user's tokens, newest first.
	Tokens(ctx context.Context, userID string) ([]*Token, error)
	// TouchToken records a use of the token at t.
	TouchToken(ctx context.Context, id string, t time.Time) error
	// DeleteToken removes a token. ENOTFOUND if absent.
	DeleteToken(ctx context.Context, id string) error
	// DeleteExpiredTokens removes tokens that expired before now and returns
	// how many it removed. A token with a zero ExpiresAt never expires.
	DeleteExpiredTokens(ctx context.Context, now time.Time) (int, error)
}

// Store is the whole metadata store a node opens: the embedded SQLite file or
// a PostgreSQL cluster.
type Store interface {
	OrgStore
	CameraStore
	UserStore
	TokenStore
	HoldStore
	ShareStore
	EmergencyStore
	// Ping checks that the store answers (for /readyz).
	Ping(ctx context.Context) error
	// Close releases the store.
	Close() error
}
