package cli

import (
	"database/sql"
	"encoding/base64"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"argus"
	"argus/internal/audit"
	"argus/internal/evidence"
)

// writeAuditLog writes a closed audit log of 30 decisions, checkpointed
// every 10, in a new data directory with its node key, and returns the
// directory.
func writeAuditLog(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	key, err := evidence.LoadOrCreateKey(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	l, err := audit.Open(t.Context(), filepath.Join(dir, audit.FileName), audit.Options{Key: key, CheckpointEvery: 10})
	if err != nil {
		t.Fatal(err)
	}
	t0 := time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)
	for i := range 30 {
		d := argus.Decision{
			Principal: argus.Principal{UserID: "ann", OrgID: "police", Role: argus.RoleViewer},
			Action:    argus.ActionLive, Resource: argus.Resource{Kind: "camera", ID: fmt.Sprintf("cam-%d", i), OrgID: "police"},
			Allowed: true, Reason: "role allows the action in the principal's organisation", Time: t0.Add(time.Duration(i) * time.Second),
		}
		if err := l.Record(t.Context(), d); err != nil {
			t.Fatal(err)
		}
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	return dir
}

func TestAuditVerify(t *testing.T) {
	other, err := evidence.LoadOrCreateKey(t.TempDir(), nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		sql  []string
		args []string
		code int
		want string
	}{
		{"unmodified", nil, nil, 0, "OK: 30 records, 3 checkpoints; signed up to record 30"},
		{"altered", []string{"UPDATE records SET reason = 'role allowt the action' WHERE seq = 7"}, nil, 1, "FAILED: record 7: altered"},
		{"deleted", []string{"DELETE FROM records WHERE seq = 12"}, nil, 1, "FAILED: record 12: removed"},
		{"reordered", []string{"UPDATE records SET seq = -1 WHERE seq = 4", "UPDATE records SET seq = 4 WHERE seq = 5",
			"UPDATE records SET seq = 5 WHERE seq = -1"}, nil, 1, "FAILED: record 4: reordered"},
		{"checkpoint deleted", []string{"DELETE FROM checkpoints WHERE seq = 20"}, nil, 1, "FAILED: record 20: checkpoint"},
		{"tail deleted", []string{"DELETE FROM records WHERE seq > 25"}, nil, 1, "FAILED: record 26: removed"},
		{"another key pinned", nil, []string{"--key", base64.StdEncoding.EncodeToString(other.Public)}, 1, "FAILED: record 10: checkpoint"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := writeAuditLog(t)
			db, err := sql.Open("sqlite", filepath.Join(dir, audit.FileName))
			if err != nil {
				t.Fatal(err)
			}
			for _, s := range tc.sql {
				if _, err := db.Exec(s); err != nil {
					t.Fatalf("%s: %v", s, err)
				}
			}
			db.Close()
			code, out, errs := run(t, dir, "", append([]string{"audit", "verify"}, tc.args...)...)
			if code != tc.code || !strings.Contains(out, tc.want) {
				t.Fatalf("argus audit verify: exit %d, stdout %q, stderr %q; want exit %d and %q", code, out, errs, tc.code, tc.want)
			}
		})
	}
}

func TestAuditVerifyWithoutKey(t *testing.T) {
	code, _, errs := run(t, t.TempDir(), "", "audit", "verify")
	if code == 0 || !strings.Contains(errs, "node key") {
		t.Fatalf("argus audit verify without a node key: exit %d, stderr %q; want a failure naming the node key", code, errs)
	}
}

func TestReport(t *testing.T) {
	dir := writeAuditLog(t)
	for _, tc := range []struct {
		name string
		args []string
		code int
		want []string
	}{
		{"table", nil, 0, []string{"30 records", "police"}},
		{"range", []string{"--from", "2026-03-01T10:00:10Z", "--to", "2026-03-01T10:00:20Z"}, 0, []string{"10 records"}},
		{"json", []string{"--json"}, 0, []string{`"records": 30`, `"org_id": "police"`}},
		{"bad from", []string{"--from", "yesterday"}, 1, nil},
		{"to before from", []string{"--from", "2026-03-02T00:00:00Z", "--to", "2026-03-01T00:00:00Z"}, 1, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, out, errs := run(t, dir, "", append([]string{"report"}, tc.args...)...)
			if code != tc.code {
				t.Fatalf("argus report: exit %d, stdout %q, stderr %q; want exit %d", code, out, errs, tc.code)
			}
			for _, w := range tc.want {
				if !strings.Contains(out, w) {
					t.Fatalf("argus report printed %q, want %q in it", out, w)
				}
			}
		})
	}
	// The log is read, never written: it still verifies, and a missing
	// one is an error rather than a new, empty log.
	if code, out, errs := run(t, dir, "", "audit", "verify"); code != 0 {
		t.Fatalf("after the report, verify: %d %q %q", code, out, errs)
	}
	if code, _, _ := run(t, t.TempDir(), "", "report"); code == 0 {
		t.Fatal("argus report without an audit log succeeded")
	}
}
