package api_test

import (
	"database/sql"
	"net/http"
	"path/filepath"
	"testing"
	"time"

	"argus"
	"argus/internal/access"
	"argus/internal/api"
	"argus/internal/audit"
	"argus/internal/evidence"
)

// verification is the body of GET /api/v1/audit/verify.
type verification struct {
	OK             bool           `json:"ok"`
	Records        int64          `json:"records"`
	Checkpoints    int            `json:"checkpoints"`
	Sealed         int64          `json:"sealed"`
	LastCheckpoint time.Time      `json:"last_checkpoint"`
	DurationMS     *int64         `json:"duration_ms"`
	Problem        *audit.Problem `json:"problem"`
}

func verifyAs(t *testing.T, e *env, user string) (response, verification) {
	t.Helper()
	r := e.call("GET", "/api/v1/audit/verify", user, nil)
	var v verification
	if r.status == http.StatusOK {
		r.decode(t, &v)
	}
	return r, v
}

func TestAuditVerifyAPI(t *testing.T) {
	e, l, path := newAuditEnvAt(t)
	for range 20 {
		liveRecord(t, l, "viewer", "police", "cam-p", "police")
	}

	t.Run("an intact log verifies", func(t *testing.T) {
		before := lastSeq(t, l)
		r, v := verifyAs(t, e, "auditor")
		if r.status != http.StatusOK {
			t.Fatalf("status %d: %s", r.status, r.body)
		}
		// The call's own decision is in the log before the snapshot.
		if !v.OK || v.Problem != nil || v.Records != before+1 || v.DurationMS == nil {
			t.Fatalf("verify = %s, want ok with %d records", r.body, before+1)
		}
		// A checkpoint every 10 records.
		if sealed := (before + 1) / 10 * 10; v.Checkpoints != int(sealed/10) || v.Sealed != sealed || v.LastCheckpoint.IsZero() {
			t.Fatalf("verify = %s, want %d checkpoints, the last sealing record %d", r.body, sealed/10, sealed)
		}
	})

	t.Run("the call is audited", func(t *testing.T) {
		recs, err := l.Find(t.Context(), audit.Query{AllOrgs: true, User: "orgadmin", Action: argus.ActionViewAudit})
		if err != nil {
			t.Fatal(err)
		}
		n := len(recs)
		if r, _ := verifyAs(t, e, "orgadmin"); r.status != http.StatusOK {
			t.Fatalf("status %d: %s", r.status, r.body)
		}
		recs, err = l.Find(t.Context(), audit.Query{AllOrgs: true, User: "orgadmin", Action: argus.ActionViewAudit})
		if err != nil {
			t.Fatal(err)
		}
		if len(recs) != n+1 || recs[0].Resource.Kind != "audit" || recs[0].Resource.ID != "verify" || !recs[0].Allowed {
			t.Fatalf("records of the call: %d new, newest %+v; want one allowed audit/verify decision", len(recs)-n, recs[0])
		}
	})

	t.Run("callers who may not read the audit log may not verify it", func(t *testing.T) {
		for _, user := range []string{"viewer", "operator", "investigator"} {
			if r, _ := verifyAs(t, e, user); r.status != http.StatusForbidden {
				t.Fatalf("%s: status %d (%s), want 403", user, r.status, r.body)
			}
		}
		if r, _ := verifyAs(t, e, ""); r.status != http.StatusUnauthorized {
			t.Fatalf("anonymous: status %d, want 401", r.status)
		}
	})

	t.Run("a record altered in the file is named", func(t *testing.T) {
		db, err := sql.Open("sqlite", path)
		if err != nil {
			t.Fatal(err)
		}
		_, err = db.Exec(`UPDATE records SET allowed = 1 - allowed, reason = 'nothing happened' WHERE seq = 7`)
		db.Close()
		if err != nil {
			t.Fatal(err)
		}
		r, v := verifyAs(t, e, "admin")
		if r.status != http.StatusOK {
			t.Fatalf("status %d: %s", r.status, r.body)
		}
		want := audit.Problem{Seq: 7, Kind: audit.ProblemAltered, What: "its content does not match its hash"}
		if v.OK || v.Problem == nil || *v.Problem != want || v.Records != 6 {
			t.Fatalf("verify = %s, want record 7 altered after 6 intact records", r.body)
		}
	})
}

// newAuditEnvAt is newAuditEnv that also returns the log's file.
func newAuditEnvAt(t *testing.T) (*env, *audit.Log, string) {
	t.Helper()
	dir := t.TempDir()
	key, err := evidence.LoadOrCreateKey(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, audit.FileName)
	l, err := audit.Open(t.Context(), path, audit.Options{Key: key, CheckpointEvery: 10})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	e := newEnv(t, func(c *api.Config) {
		g, err := access.NewGate(access.GateConfig{Orgs: c.Store, Recorder: l})
		if err != nil {
			t.Fatal(err)
		}
		c.Gate, c.Audit = g, l
	})
	return e, l, path
}

// lastSeq returns the sequence number of the newest record.
func lastSeq(t *testing.T, l *audit.Log) int64 {
	t.Helper()
	recs, err := l.Find(t.Context(), audit.Query{AllOrgs: true, Limit: 1})
	if err != nil || len(recs) != 1 {
		t.Fatalf("newest record: %v, %v", recs, err)
	}
	return recs[0].Seq
}
