package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"argus"
)

// CreateHold validates h and adds it with the organisation that owns its
// camera now.
func (db *DB) CreateHold(ctx context.Context, h *argus.Hold) error {
	if err := h.Validate(); err != nil {
		return err
	}
	from, to := h.From.Truncate(time.Microsecond).UTC(), ceilMicro(h.To)
	now := db.stamp()
	var orgID string
	err := db.write(ctx, func(tx *sql.Tx) error {
		err := tx.QueryRowContext(ctx, `SELECT org_id FROM cameras WHERE id = ?`, h.CameraID).Scan(&orgID)
		if errors.Is(err, sql.ErrNoRows) {
			return argus.FieldErrorf("camera_id", "camera %q does not exist", h.CameraID)
		}
		if err != nil {
			return fmt.Errorf("create hold: %w", err)
		}
		_, err = tx.ExecContext(ctx, `INSERT INTO holds (id, camera_id, org_id, from_us, to_us, reason, created_by, created_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
			h.ID, h.CameraID, orgID, micros(from), micros(to), h.Reason, h.CreatedBy, micros(now))
		return constraint(err, "hold", "", "")
	})
	if err != nil {
		return err
	}
	h.From, h.To, h.OrgID, h.CreatedAt = from, to, orgID, now
	h.ReleasedAt, h.ReleasedBy, h.ReleaseReason = time.Time{}, "", ""
	return nil
}

// ceilMicro rounds t up to the microsecond, in UTC, so that a stored hold
// covers at least the range it was asked for.
func ceilMicro(t time.Time) time.Time {
	r := t.Truncate(time.Microsecond)
	if r.Before(t) {
		r = r.Add(time.Microsecond)
	}
	return r.UTC()
}

const holdCols = `id, camera_id, org_id, from_us, to_us, reason, created_by, created_at, released_at, released_by, release_reason`

func scanHold(row interface{ Scan(...any) error }) (*argus.Hold, error) {
	var h argus.Hold
	var from, to, created int64
	var released sql.NullInt64
	if err := row.Scan(&h.ID, &h.CameraID, &h.OrgID, &from, &to, &h.Reason, &h.CreatedBy, &created,
		&released, &h.ReleasedBy, &h.ReleaseReason); err != nil {
		return nil, err
	}
	h.From, h.To, h.CreatedAt = fromMicros(from), fromMicros(to), fromMicros(created)
	if released.Valid {
		h.ReleasedAt = fromMicros(released.Int64)
	}
	return &h, nil
}

// Hold returns one hold.
func (db *DB) Hold(ctx context.Context, id string) (*argus.Hold, error) {
	h, err := scanHold(db.r.QueryRowContext(ctx, `SELECT `+holdCols+` FROM holds WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, notFound("hold", id)
	}
	if err != nil {
		return nil, fmt.Errorf("read hold: %w", err)
	}
	return h, nil
}

// Holds returns the holds matching f, newest first.
func (db *DB) Holds(ctx context.Context, f argus.HoldFilter) ([]*argus.Hold, error) {
	var (
		where []string
		args  []any
	)
	if f.CameraID != "" {
		where, args = append(where, "camera_id = ?"), append(args, f.CameraID)
	}
	if len(f.OrgIDs) > 0 {
		where = append(where, "org_id IN (?"+strings.Repeat(", ?", len(f.OrgIDs)-1)+")")
		for _, o := range f.OrgIDs {
			args = append(args, o)
		}
	}
	if f.ActiveOnly {
		where = append(where, "released_at IS NULL")
	}
	if !f.From.IsZero() {
		where, args = append(where, "to_us > ?"), append(args, micros(f.From))
	}
	if !f.To.IsZero() {
		where, args = append(where, "from_us < ?"), append(args, micros(ceilMicro(f.To)))
	}
	q := `SELECT ` + holdCols + ` FROM holds`
	if len(where) > 0 {
		q += ` WHERE ` + strings.Join(where, " AND ")
	}
	rows, err := db.r.QueryContext(ctx, q+` ORDER BY created_at DESC, id`, args...)
	if err != nil {
		return nil, fmt.Errorf("list holds: %w", err)
	}
	defer rows.Close()
	holds := []*argus.Hold{}
	for rows.Next() {
		h, err := scanHold(rows)
		if err != nil {
			return nil, fmt.Errorf("list holds: %w", err)
		}
		holds = append(holds, h)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list holds: %w", err)
	}
	return holds, nil
}

// ReleaseHold releases an active hold and returns it.
func (db *DB) ReleaseHold(ctx context.Context, id, by, reason string) (*argus.Hold, error) {
	if err := argus.ValidateRelease(&reason); err != nil {
		return nil, err
	}
	if !argus.ValidID(by) {
		return nil, argus.FieldErrorf("released_by", "released_by %q is not a valid user id", by)
	}
	now := db.stamp()
	var h *argus.Hold
	err := db.write(ctx, func(tx *sql.Tx) error {
		var err error
		h, err = scanHold(tx.QueryRowContext(ctx, `SELECT `+holdCols+` FROM holds WHERE id = ?`, id))
		switch {
		case errors.Is(err, sql.ErrNoRows):
			return notFound("hold", id)
		case err != nil:
			return fmt.Errorf("release hold: %w", err)
		case !h.Active():
			return argus.Errorf(argus.ECONFLICT, "hold %q was released at %s", id, h.ReleasedAt.Format(time.RFC3339))
		}
		_, err = tx.ExecContext(ctx, `UPDATE holds SET released_at = ?, released_by = ?, release_reason = ? WHERE id = ?`,
			micros(now), by, reason, id)
		if err != nil {
			return fmt.Errorf("release hold: %w", err)
		}
		h.ReleasedAt, h.ReleasedBy, h.ReleaseReason = now, by, reason
		return nil
	})
	if err != nil {
		return nil, err
	}
	return h, nil
}
