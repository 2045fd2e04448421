package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"argus"
)

func orgMissing(id string) string { return fmt.Sprintf("organisation %q does not exist", id) }

// CreateUser adds u and sets its CreatedAt.
func (db *DB) CreateUser(ctx context.Context, u *argus.User) error {
	if err := u.Validate(); err != nil {
		return err
	}
	now := db.stamp()
	err := db.write(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO users
			(id, username, display_name, org_id, role, disabled, provider, password_hash, created_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			u.ID, u.Username, u.DisplayName, u.OrgID, string(u.Role), u.Disabled, u.Provider, u.PasswordHash, micros(now))
		return constraint(err, "user", "org_id", orgMissing(u.OrgID))
	})
	if err != nil {
		return err
	}
	u.CreatedAt = now
	return nil
}

const userCols = `id, username, display_name, org_id, role, disabled, provider, password_hash, created_at`

func scanUser(row interface{ Scan(...any) error }) (*argus.User, error) {
	var u argus.User
	var created int64
	if err := row.Scan(&u.ID, &u.Username, &u.DisplayName, &u.OrgID, &u.Role, &u.Disabled, &u.Provider, &u.PasswordHash, &created); err != nil {
		return nil, err
	}
	u.CreatedAt = fromMicros(created)
	return &u, nil
}

func (db *DB) userWhere(ctx context.Context, col, v string) (*argus.User, error) {
	u, err := scanUser(db.r.QueryRowContext(ctx, `SELECT `+userCols+` FROM users WHERE `+col+` = ?`, v))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, notFound("user", v)
	}
	if err != nil {
		return nil, fmt.Errorf("read user: %w", err)
	}
	return u, nil
}

// User returns one user by id.
func (db *DB) User(ctx context.Context, id string) (*argus.User, error) {
	return db.userWhere(ctx, "id", id)
}

// UserByName returns one user by username.
func (db *DB) UserByName(ctx context.Context, username string) (*argus.User, error) {
	return db.userWhere(ctx, "username", username)
}

// Users returns the users of an organisation ("" for all) ordered by id.
func (db *DB) Users(ctx context.Context, orgID string) ([]*argus.User, error) {
	q, args := `SELECT `+userCols+` FROM users ORDER BY id`, []any{}
	if orgID != "" {
		q, args = `SELECT `+userCols+` FROM users WHERE org_id = ? ORDER BY id`, []any{orgID}
	}
	rows, err := db.r.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("list users: %w", err)
	}
	defer rows.Close()
	users := []*argus.User{}
	for rows.Next() {
		u, err := scanUser(rows)
		if err != nil {
			return nil, fmt.Errorf("list users: %w", err)
		}
		users = append(users, u)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list users: %w", err)
	}
	return users, nil
}

// UpdateUser replaces every field of u but ID and CreatedAt, and fills in
// its CreatedAt.
func (db *DB) UpdateUser(ctx context.Context, u *argus.User) error {
	if err := u.Validate(); err != nil {
		return err
	}
	return db.write(ctx, func(tx *sql.Tx) error {
		var created int64
		err := tx.QueryRowContext(ctx, `UPDATE users SET username = ?, display_name = ?, org_id = ?, role = ?,
			disabled = ?, provider = ?, password_hash = ? WHERE id = ? RETURNING created_at`,
			u.Username, u.DisplayName, u.OrgID, string(u.Role), u.Disabled, u.Provider, u.PasswordHash, u.ID).Scan(&created)
		if errors.Is(err, sql.ErrNoRows) {
			return notFound("user", u.ID)
		}
		if err != nil {
			return constraint(err, "user", "org_id", orgMissing(u.OrgID))
		}
		u.CreatedAt = fromMicros(created)
		return nil
	})
}

// DeleteUser removes a user and their tokens.
func (db *DB) DeleteUser(ctx context.Context, id string) error {
	return db.write(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `DELETE FROM tokens WHERE user_id = ?`, id); err != nil {
			return fmt.Errorf("delete user tokens: %w", err)
		}
		res, err := tx.ExecContext(ctx, `DELETE FROM users WHERE id = ?`, id)
		if err != nil {
			return fmt.Errorf("delete user: %w", err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return notFound("user", id)
		}
		return nil
	})
}

// CreateToken adds t, setting CreatedAt when it is zero. Times are kept to
// the microsecond.
func (db *DB) CreateToken(ctx context.Context, t *argus.Token) error {
	switch {
	case !argus.ValidID(t.ID):
		return argus.FieldErrorf("id", "token id %q is not a valid id", t.ID)
	case len(t.Hash) == 0:
		return argus.FieldErrorf("hash", "token hash is required")
	case t.Kind != argus.TokenSession && t.Kind != argus.TokenAPI:
		return argus.FieldErrorf("kind", "token kind %q is not session or api", t.Kind)
	}
	for _, a := range t.Scopes {
		if !a.Valid() {
			return argus.FieldErrorf("scopes", "%q is not an action", a)
		}
	}
	for _, id := range t.CameraIDs {
		if !argus.ValidID(id) {
			return argus.FieldErrorf("camera_ids", "camera id %q is not a valid id", id)
		}
	}
	for _, tag := range t.Tags {
		if !argus.ValidTag(tag) {
			return argus.FieldErrorf("tags", "tag %q is not a valid tag", tag)
		}
	}
	if t.CreatedAt.IsZero() {
		t.CreatedAt = db.stamp()
	}
	return db.write(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO tokens
			(id, user_id, kind, name, scopes, camera_ids, tags, hash, created_at, expires_at, last_used_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			t.ID, t.UserID, string(t.Kind), t.Name, jsonList(t.Scopes), jsonList(t.CameraIDs), jsonList(t.Tags),
			t.Hash, micros(t.CreatedAt), nullTime(t.ExpiresAt), nullTime(t.LastUsedAt))
		return constraint(err, "token", "user_id", fmt.Sprintf("user %q does not exist", t.UserID))
	})
}

const tokenCols = `id, user_id, kind, name, scopes, camera_ids, tags, hash, created_at, expires_at, last_used_at`

func scanToken(row interface{ Scan(...any) error }) (*argus.Token, error) {
	var t argus.Token
	var created int64
	var scopes, cams, tags string
	var expires, used sql.NullInt64
	if err := row.Scan(&t.ID, &t.UserID, &t.Kind, &t.Name, &scopes, &cams, &tags, &t.Hash, &created, &expires, &used); err != nil {
		return nil, err
	}
	if err := errors.Join(json.Unmarshal([]byte(scopes), &t.Scopes), json.Unmarshal([]byte(cams), &t.CameraIDs),
		json.Unmarshal([]byte(tags), &t.Tags)); err != nil {
		return nil, fmt.Errorf("token %s scope: %w", t.ID, err)
	}
	// An empty scope reads as nil, as it was written.
	if len(t.Scopes) == 0 {
		t.Scopes = nil
	}
	if len(t.CameraIDs) == 0 {
		t.CameraIDs = nil
	}
	if len(t.Tags) == 0 {
		t.Tags = nil
	}
	t.CreatedAt = fromMicros(created)
	if expires.Valid {
		t.ExpiresAt = fromMicros(expires.Int64)
	}
	if used.Valid {
		t.LastUsedAt = fromMicros(used.Int64)
	}
	return &t, nil
}

// TokenByHash returns the token whose secret hashes to hash, expired or not.
func (db *DB) TokenByHash(ctx context.Context, hash []byte) (*argus.Token, error) {
	t, err := scanToken(db.r.QueryRowContext(ctx, `SELECT `+tokenCols+` FROM tokens WHERE hash = ?`, hash))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, argus.Errorf(argus.ENOTFOUND, "token not found")
	}
	if err != nil {
		return nil, fmt.Errorf("read token: %w", err)
	}
	return t, nil
}

// Tokens lists a user's tokens, newest first.
func (db *DB) Tokens(ctx context.Context, userID string) ([]*argus.Token, error) {
	rows, err := db.r.QueryContext(ctx,
		`SELECT `+tokenCols+` FROM tokens WHERE user_id = ? ORDER BY created_at DESC, id`, userID)
	if err != nil {
		return nil, fmt.Errorf("list tokens: %w", err)
	}
	defer rows.Close()
	tokens := []*argus.Token{}
	for rows.Next() {
		t, err := scanToken(rows)
		if err != nil {
			return nil, fmt.Errorf("list tokens: %w", err)
		}
		tokens = append(tokens, t)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list tokens: %w", err)
	}
	return tokens, nil
}

// TouchToken records a use of the token at t.
func (db *DB) TouchToken(ctx context.Context, id string, t time.Time) error {
	return db.write(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE tokens SET last_used_at = ? WHERE id = ?`, micros(t), id)
		if err != nil {
			return fmt.Errorf("touch token: %w", err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return notFound("token", id)
		}
		return nil
	})
}

// DeleteToken removes a token.
func (db *DB) DeleteToken(ctx context.Context, id string) error {
	return db.write(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM tokens WHERE id = ?`, id)
		if err != nil {
			return fmt.Errorf("delete token: %w", err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return notFound("token", id)
		}
		return nil
	})
}

// DeleteExpiredTokens removes the tokens that expired before now; tokens
// with a zero ExpiresAt never expire.
func (db *DB) DeleteExpiredTokens(ctx context.Context, now time.Time) (int, error) {
	var n int64
	err := db.write(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM tokens WHERE expires_at < ?`, micros(now))
		if err != nil {
			return fmt.Errorf("delete expired tokens: %w", err)
		}
		n, err = res.RowsAffected()
		return err
	})
	return int(n), err
}

// jsonList encodes a list as a JSON array, nil as [].
func jsonList[T any](list []T) string {
	if len(list) == 0 {
		return "[]"
	}
	b, _ := json.Marshal(list) // strings never fail to encode
	return string(b)
}

func nullTime(t time.Time) sql.NullInt64 {
	return sql.NullInt64{Int64: micros(t), Valid: !t.IsZero()}
}
