package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"argus"
)

// CreateShare validates s and adds it once both organisations exist.
func (db *DB) CreateShare(ctx context.Context, s *argus.Share) error {
	if err := s.Validate(); err != nil {
		return err
	}
	from, until := s.ValidFrom.Truncate(time.Microsecond).UTC(), s.ValidUntil.Truncate(time.Microsecond).UTC()
	cams, err := json.Marshal(s.CameraIDs)
	if err != nil {
		return fmt.Errorf("create share: %w", err)
	}
	tags, err := json.Marshal(s.Tags)
	if err != nil {
		return fmt.Errorf("create share: %w", err)
	}
	actions, err := json.Marshal(s.Actions)
	if err != nil {
		return fmt.Errorf("create share: %w", err)
	}
	var area sql.NullString
	if s.Area != nil {
		b, err := json.Marshal(s.Area)
		if err != nil {
			return fmt.Errorf("create share: %w", err)
		}
		area = sql.NullString{String: string(b), Valid: true}
	}
	now := db.stamp()
	err = db.write(ctx, func(tx *sql.Tx) error {
		for _, o := range []struct{ field, id string }{{"owner_org_id", s.OwnerOrgID}, {"grantee_org_id", s.GranteeOrgID}} {
			var one int
			err := tx.QueryRowContext(ctx, `SELECT 1 FROM orgs WHERE id = ?`, o.id).Scan(&one)
			if errors.Is(err, sql.ErrNoRows) {
				return argus.FieldErrorf(o.field, "organisation %q does not exist", o.id)
			}
			if err != nil {
				return fmt.Errorf("create share: %w", err)
			}
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO shares (id, owner_org_id, grantee_org_id, camera_ids, tags, area,
			actions, valid_from, valid_until, purpose, created_by, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			s.ID, s.OwnerOrgID, s.GranteeOrgID, string(cams), string(tags), area, string(actions),
			micros(from), micros(until), s.Purpose, s.CreatedBy, micros(now))
		return constraint(err, "share", "", "")
	})
	if err != nil {
		return err
	}
	s.ValidFrom, s.ValidUntil, s.CreatedAt = from, until, now
	s.RevokedAt, s.RevokedBy, s.RevokeReason = time.Time{}, "", ""
	return nil
}

const shareCols = `id, owner_org_id, grantee_org_id, camera_ids, tags, area, actions, valid_from, valid_until, purpose,
	created_by, created_at, revoked_at, revoked_by, revoke_reason`

func scanShare(row interface{ Scan(...any) error }) (*argus.Share, error) {
	var (
		s                    argus.Share
		cams, tags, actions  string
		area                 sql.NullString
		from, until, created int64
		revoked              sql.NullInt64
	)
	if err := row.Scan(&s.ID, &s.OwnerOrgID, &s.GranteeOrgID, &cams, &tags, &area, &actions, &from, &until,
		&s.Purpose, &s.CreatedBy, &created, &revoked, &s.RevokedBy, &s.RevokeReason); err != nil {
		return nil, err
	}
	if err := errors.Join(json.Unmarshal([]byte(cams), &s.CameraIDs), json.Unmarshal([]byte(tags), &s.Tags),
		json.Unmarshal([]byte(actions), &s.Actions)); err != nil {
		return nil, fmt.Errorf("share %s: %w", s.ID, err)
	}
	if area.Valid {
		s.Area = &argus.Area{}
		if err := json.Unmarshal([]byte(area.String), s.Area); err != nil {
			return nil, fmt.Errorf("share %s area: %w", s.ID, err)
		}
	}
	s.ValidFrom, s.ValidUntil, s.CreatedAt = fromMicros(from), fromMicros(until), fromMicros(created)
	if revoked.Valid {
		s.RevokedAt = fromMicros(revoked.Int64)
	}
	return &s, nil
}

// Share returns one share.
func (db *DB) Share(ctx context.Context, id string) (*argus.Share, error) {
	s, err := scanShare(db.r.QueryRowContext(ctx, `SELECT `+shareCols+` FROM shares WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, notFound("share", id)
	}
	if err != nil {
		return nil, fmt.Errorf("read share: %w", err)
	}
	return s, nil
}

// Shares returns the shares matching f, newest first.
func (db *DB) Shares(ctx context.Context, f argus.ShareFilter) ([]*argus.Share, error) {
	var (
		where []string
		args  []any
	)
	if len(f.OrgIDs) > 0 {
		in := "(?" + strings.Repeat(", ?", len(f.OrgIDs)-1) + ")"
		where = append(where, "(owner_org_id IN "+in+" OR grantee_org_id IN "+in+")")
		for range 2 {
			for _, o := range f.OrgIDs {
				args = append(args, o)
			}
		}
	}
	if f.OwnerOrgID != "" {
		where, args = append(where, "owner_org_id = ?"), append(args, f.OwnerOrgID)
	}
	if f.GranteeOrgID != "" {
		where, args = append(where, "grantee_org_id = ?"), append(args, f.GranteeOrgID)
	}
	if !f.CurrentAt.IsZero() {
		where = append(where, "revoked_at IS NULL AND valid_until > ?")
		args = append(args, micros(f.CurrentAt.Truncate(time.Microsecond)))
	}
	q := `SELECT ` + shareCols + ` FROM shares`
	if len(where) > 0 {
		q += ` WHERE ` + strings.Join(where, " AND ")
	}
	rows, err := db.r.QueryContext(ctx, q+` ORDER BY created_at DESC, id`, args...)
	if err != nil {
		return nil, fmt.Errorf("list shares: %w", err)
	}
	defer rows.Close()
	shares := []*argus.Share{}
	for rows.Next() {
		s, err := scanShare(rows)
		if err != nil {
			return nil, fmt.Errorf("list shares: %w", err)
		}
		shares = append(shares, s)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list shares: %w", err)
	}
	return shares, nil
}

// RevokeShare revokes a share and returns it.
func (db *DB) RevokeShare(ctx context.Context, id, by, reason string) (*argus.Share, error) {
	if err := argus.ValidateRelease(&reason); err != nil {
		return nil, err
	}
	if !argus.ValidID(by) {
		return nil, argus.FieldErrorf("revoked_by", "revoked_by %q is not a valid user id", by)
	}
	now := db.stamp()
	var s *argus.Share
	err := db.write(ctx, func(tx *sql.Tx) error {
		var err error
		s, err = scanShare(tx.QueryRowContext(ctx, `SELECT `+shareCols+` FROM shares WHERE id = ?`, id))
		switch {
		case errors.Is(err, sql.ErrNoRows):
			return notFound("share", id)
		case err != nil:
			return fmt.Errorf("revoke share: %w", err)
		case s.Revoked():
			return argus.Errorf(argus.ECONFLICT, "share %q was revoked at %s", id, s.RevokedAt.Format(time.RFC3339))
		}
		_, err = tx.ExecContext(ctx, `UPDATE shares SET revoked_at = ?, revoked_by = ?, revoke_reason = ? WHERE id = ?`,
			micros(now), by, reason, id)
		if err != nil {
			return fmt.Errorf("revoke share: %w", err)
		}
		s.RevokedAt, s.RevokedBy, s.RevokeReason = now, by, reason
		return nil
	})
	if err != nil {
		return nil, err
	}
	return s, nil
}
