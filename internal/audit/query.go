package audit

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"time"

	"argus"
)

// Query selects records, newest first. Zero fields do not filter.
type Query struct {
	// From and To keep the records with From <= Time < To.
	From, To time.Time
	// User keeps the records of the principal with this user id or
	// username.
	User string
	// Camera keeps the records about this camera.
	Camera string
	// Action keeps the records of this action.
	Action argus.Action
	// Orgs, when AllOrgs is false, keeps the records whose principal's or
	// resource's organisation is one of these; empty keeps nothing.
	Orgs    []string
	AllOrgs bool
	// Before keeps the records with Seq < Before (a page cursor); 0 means
	// from the newest.
	Before int64
	// Limit bounds the records returned; 0 means no bound.
	Limit int
}

// where returns q's WHERE clause and its arguments.
func (q Query) where() (string, []any) {
	var conds []string
	var args []any
	if !q.From.IsZero() {
		conds, args = append(conds, "time >= ?"), append(args, formatTime(q.From))
	}
	if !q.To.IsZero() {
		conds, args = append(conds, "time < ?"), append(args, formatTime(q.To))
	}
	if q.User != "" {
		conds, args = append(conds, "(user_id = ? OR username = ?)"), append(args, q.User, q.User)
	}
	if q.Camera != "" {
		conds, args = append(conds, "resource_kind = 'camera' AND resource_id = ?"), append(args, q.Camera)
	}
	if q.Action != "" {
		conds, args = append(conds, "action = ?"), append(args, string(q.Action))
	}
	if !q.AllOrgs {
		marks := strings.TrimSuffix(strings.Repeat("?, ", len(q.Orgs)), ", ")
		conds = append(conds, "(org_id IN ("+marks+") OR resource_org_id IN ("+marks+"))")
		for range 2 {
			for _, o := range q.Orgs {
				args = append(args, o)
			}
		}
	}
	if q.Before > 0 {
		conds, args = append(conds, "seq < ?"), append(args, q.Before)
	}
	if len(conds) == 0 {
		return "", nil
	}
	return " WHERE " + strings.Join(conds, " AND "), args
}

// Find returns the records q selects, newest first.
func (l *Log) Find(ctx context.Context, q Query) ([]*Record, error) {
	var out []*Record
	err := l.Each(ctx, q, func(r *Record) error {
		out = append(out, r)
		return nil
	})
	return out, err
}

// Each calls fn with every record q selects, newest first, while it reads
// them (for streaming exports); an error from fn stops it and is returned.
func (l *Log) Each(ctx context.Context, q Query, fn func(*Record) error) error {
	if !q.AllOrgs && len(q.Orgs) == 0 {
		return nil
	}
	where, args := q.where()
	stmt := `SELECT ` + recordColumns + ` FROM records` + where + ` ORDER BY seq DESC`
	if q.Limit > 0 {
		stmt += fmt.Sprintf(" LIMIT %d", q.Limit)
	}
	rows, err := l.r.QueryContext(ctx, stmt, args...)
	if err != nil {
		return fmt.Errorf("query audit log: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		r, err := scanRecord(rows)
		if err != nil {
			return err
		}
		if err := fn(r); err != nil {
			return err
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("query audit log: %w", err)
	}
	return nil
}

// malformedError is a stored record whose columns are not in their
// canonical form (a time that does not parse, allowed not 0 or 1).
type malformedError struct {
	seq  int64
	what string
}

func (e *malformedError) Error() string {
	return fmt.Sprintf("audit record %d: %s", e.seq, e.what)
}

// scanRecord reads one row of recordColumns.
func scanRecord(rows *sql.Rows) (*Record, error) {
	var (
		r                       Record
		role, action, t, rf, rt string
		allowed                 int64
	)
	err := rows.Scan(&r.Seq, &t, &r.Kind, &r.Principal.UserID, &r.Principal.Username, &r.Principal.OrgID, &role,
		&r.Principal.TokenID, &action, &r.Resource.Kind, &r.Resource.ID, &r.Resource.OrgID, &allowed, &r.Reason,
		&r.Purpose, &r.Grant, &r.Client, &rf, &rt, &r.Detail, &r.PrevHash, &r.Hash)
	if err != nil {
		return nil, fmt.Errorf("read audit record: %w", err)
	}
	r.Principal.Role, r.Action, r.Allowed = argus.Role(role), argus.Action(action), allowed == 1
	if allowed != 0 && allowed != 1 {
		return &r, &malformedError{r.Seq, fmt.Sprintf("allowed is %d, not 0 or 1", allowed)}
	}
	for _, f := range []struct {
		dst  *time.Time
		text string
		name string
	}{{&r.Time, t, "time"}, {&r.From, rf, "from"}, {&r.To, rt, "to"}} {
		if *f.dst, err = parseTime(f.text); err != nil || formatTime(*f.dst) != f.text {
			return &r, &malformedError{r.Seq, fmt.Sprintf("%s %q is not a UTC RFC 3339 time with nine fractional digits", f.name, f.text)}
		}
	}
	if len(r.Detail) == 0 {
		r.Detail = nil
	}
	return &r, nil
}
