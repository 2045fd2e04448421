package audit_test

import (
	"database/sql"
	"fmt"
	"sync"
	"testing"
	"time"

	"argus"
	"argus/internal/audit"
)

// record appends n decisions to l.
func record(t *testing.T, l *audit.Log, n int) {
	t.Helper()
	t0 := time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)
	for i := range n {
		if err := l.Record(t.Context(), decision(fmt.Sprintf("u%d", i%3), "police", fmt.Sprintf("cam-%d", i), argus.ActionLive, t0.Add(time.Duration(i)*time.Second))); err != nil {
			t.Fatal(err)
		}
	}
}

func TestLogVerify(t *testing.T) {
	for _, tc := range []struct {
		name        string
		tamper      string // SQL run on the open log's file; "" for none
		records     int64  // intact records reported
		checkpoints int
		sealed      int64
		problem     string // the problem reported; "" for none
	}{
		{name: "intact", records: 25, checkpoints: 2, sealed: 20},
		{name: "a reason rewritten", tamper: "UPDATE records SET reason = 'nothing to see' WHERE seq = 13",
			records: 12, checkpoints: 1, sealed: 10, problem: "record 13: altered: its content does not match its hash"},
		{name: "a sealed record deleted", tamper: "DELETE FROM records WHERE seq = 4",
			records: 3, problem: "record 4: removed: records 4 to 4 are missing"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			l, path, _ := openLog(t, audit.Options{CheckpointEvery: 10, CheckpointInterval: time.Hour})
			record(t, l, 25)
			if tc.tamper != "" {
				db, err := sql.Open("sqlite", path)
				if err != nil {
					t.Fatal(err)
				}
				_, err = db.Exec(tc.tamper)
				db.Close()
				if err != nil {
					t.Fatal(err)
				}
			}
			rep, err := l.Verify(t.Context())
			if err != nil {
				t.Fatal(err)
			}
			problem := ""
			if !rep.OK() {
				problem = rep.Problem.String()
			}
			if rep.Records != tc.records || rep.Checkpoints != tc.checkpoints || rep.Sealed != tc.sealed || problem != tc.problem {
				t.Fatalf("Verify = %d records, %d checkpoints, sealed %d, problem %q; want %d, %d, %d, %q",
					rep.Records, rep.Checkpoints, rep.Sealed, problem, tc.records, tc.checkpoints, tc.sealed, tc.problem)
			}
			if tc.checkpoints > 0 && rep.SealedAt.IsZero() {
				t.Fatal("Verify reported no time for the last checkpoint")
			}
		})
	}
}

// TestLogVerifyWhileAppending verifies the open log again and again while
// records are appended and checkpoints written: each verification sees one
// consistent snapshot, so none reports a problem (a checkpoint read after
// its records, or the reverse, would), and none holds the appends up.
func TestLogVerifyWhileAppending(t *testing.T) {
	l, _, _ := openLog(t, audit.Options{CheckpointEvery: 7, CheckpointInterval: time.Hour})
	record(t, l, 50)
	const appends = 300
	var wg sync.WaitGroup
	done := make(chan struct{})
	wg.Go(func() {
		defer close(done)
		for i := range appends {
			if err := l.Record(t.Context(), decision("writer", "police", fmt.Sprintf("cam-w%d", i), argus.ActionLive, time.Now())); err != nil {
				t.Error(err)
				return
			}
		}
	})
	var last int64
	verifications := 0
	for running := true; running; {
		select {
		case <-done:
			running = false
		default:
		}
		rep, err := l.Verify(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		if !rep.OK() {
			t.Fatalf("verification %d while appending found %v", verifications, rep.Problem)
		}
		if rep.Records < last {
			t.Fatalf("verification %d saw %d records, fewer than the %d before", verifications, rep.Records, last)
		}
		last = rep.Records
		verifications++
	}
	wg.Wait()
	rep, err := l.Verify(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if !rep.OK() || rep.Records != 50+appends {
		t.Fatalf("after the appends: %+v, want %d intact records", rep, 50+appends)
	}
	t.Logf("%d verifications while appending", verifications)
}
