package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"argus"
)

// CreateEmergencyGrant validates g and adds it.
func (db *DB) CreateEmergencyGrant(ctx context.Context, g *argus.EmergencyGrant) error {
	if err := g.Validate(); err != nil {
		return err
	}
	from, until := g.From.Truncate(time.Microsecond).UTC(), g.Until.Truncate(time.Microsecond).UTC()
	actions, err := json.Marshal(g.Actions)
	if err != nil {
		return fmt.Errorf("create emergency grant: %w", err)
	}
	now := db.stamp()
	err = db.write(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO emergency_grants (id, user_id, org_id, camera_id, owner_org_id, actions,
			reason, from_us, until_us, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			g.ID, g.UserID, g.OrgID, g.CameraID, g.OwnerOrgID, string(actions), g.Reason, micros(from), micros(until), micros(now))
		return constraint(err, "emergency grant", "", "")
	})
	if err != nil {
		return err
	}
	g.From, g.Until, g.CreatedAt = from, until, now
	return nil
}

const emergencyCols = `id, user_id, org_id, camera_id, owner_org_id, actions, reason, from_us, until_us, created_at`

func scanEmergencyGrant(row interface{ Scan(...any) error }) (*argus.EmergencyGrant, error) {
	var (
		g                    argus.EmergencyGrant
		actions              string
		from, until, created int64
	)
	if err := row.Scan(&g.ID, &g.UserID, &g.OrgID, &g.CameraID, &g.OwnerOrgID, &actions, &g.Reason, &from, &until, &created); err != nil {
		return nil, err
	}
	if err := json.Unmarshal([]byte(actions), &g.Actions); err != nil {
		return nil, fmt.Errorf("emergency grant %s: %w", g.ID, err)
	}
	g.From, g.Until, g.CreatedAt = fromMicros(from), fromMicros(until), fromMicros(created)
	return &g, nil
}

// EmergencyGrants returns the grants matching f, newest first.
func (db *DB) EmergencyGrants(ctx context.Context, f argus.EmergencyFilter) ([]*argus.EmergencyGrant, error) {
	var (
		where []string
		args  []any
	)
	if len(f.OrgIDs) > 0 {
		in := "(?" + strings.Repeat(", ?", len(f.OrgIDs)-1) + ")"
		where = append(where, "(owner_org_id IN "+in+" OR org_id IN "+in+")")
		for range 2 {
			for _, o := range f.OrgIDs {
				args = append(args, o)
			}
		}
	}
	if f.UserID != "" {
		where, args = append(where, "user_id = ?"), append(args, f.UserID)
	}
	if !f.CurrentAt.IsZero() {
		where, args = append(where, "until_us > ?"), append(args, micros(f.CurrentAt.Truncate(time.Microsecond)))
	}
	q := `SELECT ` + emergencyCols + ` FROM emergency_grants`
	if len(where) > 0 {
		q += ` WHERE ` + strings.Join(where, " AND ")
	}
	rows, err := db.r.QueryContext(ctx, q+` ORDER BY created_at DESC, id`, args...)
	if err != nil {
		return nil, fmt.Errorf("list emergency grants: %w", err)
	}
	defer rows.Close()
	out := []*argus.EmergencyGrant{}
	for rows.Next() {
		g, err := scanEmergencyGrant(rows)
		if err != nil {
			return nil, fmt.Errorf("list emergency grants: %w", err)
		}
		out = append(out, g)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list emergency grants: %w", err)
	}
	return out, nil
}
