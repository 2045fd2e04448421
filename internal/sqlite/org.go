package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"argus"
)

// CreateOrg adds o and sets its CreatedAt.
func (db *DB) CreateOrg(ctx context.Context, o *argus.Org) error {
	if err := o.Validate(); err != nil {
		return err
	}
	now := db.stamp()
	err := db.write(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx,
			`INSERT INTO orgs (id, name, kind, parent_id, quota_bytes, created_at) VALUES (?, ?, ?, ?, ?, ?)`,
			o.ID, o.Name, string(o.Kind), nullString(o.ParentID), o.QuotaBytes, micros(now))
		return constraint(err, "organisation", "parent_id", parentMissing(o.ParentID))
	})
	if err != nil {
		return err
	}
	o.CreatedAt = now
	return nil
}

func parentMissing(id string) string { return fmt.Sprintf("parent organisation %q does not exist", id) }

const orgCols = `id, name, kind, coalesce(parent_id, ''), quota_bytes, created_at`

func scanOrg(row interface{ Scan(...any) error }) (*argus.Org, error) {
	var o argus.Org
	var created int64
	if err := row.Scan(&o.ID, &o.Name, &o.Kind, &o.ParentID, &o.QuotaBytes, &created); err != nil {
		return nil, err
	}
	o.CreatedAt = fromMicros(created)
	return &o, nil
}

// Org returns one organisation.
func (db *DB) Org(ctx context.Context, id string) (*argus.Org, error) {
	o, err := scanOrg(db.r.QueryRowContext(ctx, `SELECT `+orgCols+` FROM orgs WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, notFound("organisation", id)
	}
	if err != nil {
		return nil, fmt.Errorf("read organisation: %w", err)
	}
	return o, nil
}

// Orgs returns every organisation ordered by id.
func (db *DB) Orgs(ctx context.Context) ([]*argus.Org, error) {
	rows, err := db.r.QueryContext(ctx, `SELECT `+orgCols+` FROM orgs ORDER BY id`)
	if err != nil {
		return nil, fmt.Errorf("list organisations: %w", err)
	}
	defer rows.Close()
	orgs := []*argus.Org{}
	for rows.Next() {
		o, err := scanOrg(rows)
		if err != nil {
			return nil, fmt.Errorf("list organisations: %w", err)
		}
		orgs = append(orgs, o)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list organisations: %w", err)
	}
	return orgs, nil
}

// UpdateOrg replaces the name, kind, parent and quota of o and fills in its
// CreatedAt.
func (db *DB) UpdateOrg(ctx context.Context, o *argus.Org) error {
	if err := o.Validate(); err != nil {
		return err
	}
	return db.write(ctx, func(tx *sql.Tx) error {
		if o.ParentID != "" {
			// Walk up from the new parent: meeting o means a cycle.
			var cycle bool
			err := tx.QueryRowContext(ctx, `
				WITH RECURSIVE up(id) AS (
					SELECT ?
					UNION
					SELECT orgs.parent_id FROM orgs JOIN up ON orgs.id = up.id WHERE orgs.parent_id IS NOT NULL
				)
				SELECT EXISTS (SELECT 1 FROM up WHERE id = ?)`, o.ParentID, o.ID).Scan(&cycle)
			if err != nil {
				return fmt.Errorf("update organisation: %w", err)
			}
			if cycle {
				return argus.FieldErrorf("parent_id", "organisation %q cannot be placed under its own descendant %q", o.ID, o.ParentID)
			}
		}
		var created int64
		err := tx.QueryRowContext(ctx,
			`UPDATE orgs SET name = ?, kind = ?, parent_id = ?, quota_bytes = ? WHERE id = ? RETURNING created_at`,
			o.Name, string(o.Kind), nullString(o.ParentID), o.QuotaBytes, o.ID).Scan(&created)
		if errors.Is(err, sql.ErrNoRows) {
			return notFound("organisation", o.ID)
		}
		if err != nil {
			return constraint(err, "organisation", "parent_id", parentMissing(o.ParentID))
		}
		o.CreatedAt = fromMicros(created)
		return nil
	})
}

// DeleteOrg removes an organisation that owns no cameras or users and has no
// child organisations.
func (db *DB) DeleteOrg(ctx context.Context, id string) error {
	return db.write(ctx, func(tx *sql.Tx) error {
		var exists, children, cameras, users bool
		err := tx.QueryRowContext(ctx, `SELECT
			EXISTS (SELECT 1 FROM orgs WHERE id = ?1),
			EXISTS (SELECT 1 FROM orgs WHERE parent_id = ?1),
			EXISTS (SELECT 1 FROM cameras WHERE org_id = ?1),
			EXISTS (SELECT 1 FROM users WHERE org_id = ?1)`, id).Scan(&exists, &children, &cameras, &users)
		switch {
		case err != nil:
			return fmt.Errorf("delete organisation: %w", err)
		case !exists:
			return notFound("organisation", id)
		case children:
			return argus.Errorf(argus.ECONFLICT, "organisation %q still has child organisations", id)
		case cameras:
			return argus.Errorf(argus.ECONFLICT, "organisation %q still owns cameras", id)
		case users:
			return argus.Errorf(argus.ECONFLICT, "organisation %q still has users", id)
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM orgs WHERE id = ?`, id); err != nil {
			return fmt.Errorf("delete organisation: %w", err)
		}
		return nil
	})
}

func nullString(s string) sql.NullString { return sql.NullString{String: s, Valid: s != ""} }
