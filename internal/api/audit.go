package api

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"argus"
	"argus/internal/audit"
)

// AuditLog is the audit log the auditor routes read; *audit.Log
// implements it.
type AuditLog interface {
	// Find returns the records q selects, newest first.
	Find(ctx context.Context, q audit.Query) ([]*audit.Record, error)
	// Each calls fn with every record q selects, newest first.
	Each(ctx context.Context, q audit.Query, fn func(*audit.Record) error) error
	// Append writes a record (an administrative change) and returns once
	// it is durable.
	Append(ctx context.Context, r *audit.Record) error
	// Report summarises the records of [from, to) per organisation.
	Report(ctx context.Context, from, to time.Time) (*audit.TransparencyReport, error)
	// Verify checks the hash chain and the signed checkpoints of a
	// consistent snapshot of the log, without holding appends up.
	Verify(ctx context.Context) (*audit.Report, error)
}

// auditList is one page of audit records, newest first. Next, when set, is
// the cursor of the next (older) page.
type auditList struct {
	Items []*audit.Record `json:"items"`
	Next  string          `json:"next,omitempty"`
}

// auditParams returns the query parameters shared by the audit listing and
// the export.
func auditParams() []param {
	return []param{
		{name: "from", typ: "string", desc: "keep the records at or after this RFC 3339 time"},
		{name: "to", typ: "string", desc: "keep the records before this RFC 3339 time"},
		{name: "user", typ: "string", desc: "keep the records of this user (id or username)"},
		{name: "camera", typ: "string", desc: "keep the records about this camera"},
		{name: "action", typ: "string", desc: "keep the records of this action (e.g. video.playback)"},
	}
}

// auditQuery passes the gate for reading the audit log (itself recorded)
// and returns the query the request's filters and the caller's scope make:
// administrators see every record, org admins and auditors the records
// whose principal or resource belongs to their organisation or one below.
func (s *Server) auditQuery(r *http.Request) (audit.Query, error) {
	ctx, p, v := r.Context(), principal(r), r.URL.Query()
	q, err := parseAuditFilter(v)
	if err != nil {
		return q, err
	}
	if s.audit == nil {
		return q, argus.Errorf(argus.EUNAVAILABLE, "the audit log is not open on this node")
	}
	if err := s.gate.Check(ctx, p, argus.ActionViewAudit, argus.Resource{Kind: "audit", OrgID: p.OrgID}); err != nil {
		return q, err
	}
	orgs, all, err := s.gate.AuditOrgs(ctx, p)
	if err != nil {
		return q, err
	}
	q.Orgs, q.AllOrgs = orgs, all
	if q.Orgs == nil {
		q.Orgs = []string{}
	}
	return q, nil
}

// parseAuditFilter reads the filters shared by the listing and the export.
func parseAuditFilter(v url.Values) (audit.Query, error) {
	var q audit.Query
	var err error
	if q.From, err = parseTime("from", rfc3339(v.Get("from"))); err != nil {
		return q, err
	}
	if q.To, err = parseTime("to", rfc3339(v.Get("to"))); err != nil {
		return q, err
	}
	if !q.From.IsZero() && !q.To.IsZero() && !q.From.Before(q.To) {
		return q, argus.FieldErrorf("to", "to must be after from")
	}
	q.User, q.Camera, q.Action = v.Get("user"), v.Get("camera"), argus.Action(v.Get("action"))
	for _, f := range []struct{ name, val string }{{"user", q.User}, {"camera", q.Camera}} {
		if f.val != "" && !argus.ValidID(f.val) {
			return q, argus.FieldErrorf(f.name, "%s %q is not a valid id", f.name, clipText(f.val))
		}
	}
	if len(q.Action) > 64 {
		return q, argus.FieldErrorf("action", "action is longer than 64 characters")
	}
	return q, nil
}

func (s *Server) listAudit(w http.ResponseWriter, r *http.Request) error {
	v := r.URL.Query()
	limit, err := parseLimit(v)
	if err != nil {
		return err
	}
	var before int64
	if c := v.Get("cursor"); c != "" {
		if before, err = strconv.ParseInt(c, 10, 64); err != nil || before < 1 {
			return argus.FieldErrorf("cursor", "cursor must be the next value of the previous page")
		}
	}
	q, err := s.auditQuery(r)
	if err != nil {
		return err
	}
	q.Before, q.Limit = before, limit
	out := auditList{Items: []*audit.Record{}}
	recs, err := s.audit.Find(r.Context(), q)
	if err != nil {
		return err
	}
	if recs != nil {
		out.Items = recs
	}
	if len(recs) == limit {
		out.Next = strconv.FormatInt(recs[len(recs)-1].Seq, 10)
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

// exportAudit streams the selected records as JSON lines, newest first.
// Once the first line is out, a failure can only cut the stream short; it
// is logged.
func (s *Server) exportAudit(w http.ResponseWriter, r *http.Request) error {
	q, err := s.auditQuery(r)
	if err != nil {
		return err
	}
	w.Header().Set("Content-Type", "application/x-ndjson")
	w.Header().Set("Content-Disposition", `attachment; filename="audit.jsonl"`)
	w.WriteHeader(http.StatusOK)
	rc := http.NewResponseController(w)
	enc := json.NewEncoder(w)
	n := 0
	err = s.audit.Each(r.Context(), q, func(rec *audit.Record) error {
		if err := enc.Encode(rec); err != nil {
			return err
		}
		if n++; n%256 == 0 {
			return rc.Flush()
		}
		return nil
	})
	if err != nil {
		info(r.Context()).log.Warn("audit export cut short", "records", n, "err", err)
	}
	return nil
}

// auditVerification is the outcome of GET /api/v1/audit/verify: the
// verification of the whole log as `argus audit verify` makes it, on a
// snapshot taken when it starts.
type auditVerification struct {
	// OK reports that every record and checkpoint verified.
	OK bool `json:"ok"`
	// Records is how many records verified: all of them when OK, else
	// those before the problem.
	Records int64 `json:"records"`
	// Checkpoints is how many signed checkpoints verified.
	Checkpoints int `json:"checkpoints"`
	// Sealed is the record the last verified checkpoint seals; the records
	// after it are chained but not yet signed.
	Sealed int64 `json:"sealed"`
	// LastCheckpoint is when that checkpoint was signed; absent when none
	// verified.
	LastCheckpoint time.Time `json:"last_checkpoint,omitzero"`
	// DurationMS is how long the verification took, in milliseconds.
	DurationMS int64 `json:"duration_ms"`
	// Problem is the first record found altered, removed or reordered, or
	// the first checkpoint missing, forged or not matching; absent when OK.
	Problem *audit.Problem `json:"problem,omitempty"`
}

// verifyAudit verifies the whole audit log. The caller passes the gate for
// reading the audit log (administrators, organisation admins and auditors;
// the decision is the call's own audit record, resource "audit" "verify"),
// whatever part of the log it may read: the answer names a record by its
// sequence number and the kind of fault, never another organisation's
// content. One verification runs at a time; others wait for it.
func (s *Server) verifyAudit(w http.ResponseWriter, r *http.Request) error {
	ctx, p := r.Context(), principal(r)
	if s.audit == nil {
		return argus.Errorf(argus.EUNAVAILABLE, "the audit log is not open on this node")
	}
	if err := s.gate.Check(ctx, p, argus.ActionViewAudit, argus.Resource{Kind: "audit", ID: "verify", OrgID: p.OrgID}); err != nil {
		return err
	}
	select {
	case s.verifying <- struct{}{}:
		defer func() { <-s.verifying }()
	case <-ctx.Done():
		return context.Cause(ctx)
	}
	start := time.Now()
	rep, err := s.audit.Verify(ctx)
	if err != nil {
		return err
	}
	out := auditVerification{
		OK: rep.OK(), Records: rep.Records, Checkpoints: rep.Checkpoints, Sealed: rep.Sealed,
		LastCheckpoint: rep.SealedAt, DurationMS: time.Since(start).Milliseconds(), Problem: rep.Problem,
	}
	if !out.OK {
		info(ctx).log.Warn("audit log verification failed", "problem", rep.Problem.String(), "user", p.Username)
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}
