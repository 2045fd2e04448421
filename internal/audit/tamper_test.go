package audit

import (
	"context"
	"crypto/ed25519"
	"database/sql"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"argus"
	"argus/internal/evidence"
)

// writeTestLog writes a closed log of n decisions at path, checkpointed
// every 10 records, signed by key.
func writeTestLog(t testing.TB, path string, key *evidence.Key, n int) {
	t.Helper()
	t0 := time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)
	l, err := Open(context.Background(), path, Options{Key: key, CheckpointEvery: 10})
	if err != nil {
		t.Fatal(err)
	}
	for i := range n {
		d := argus.Decision{
			Principal: argus.Principal{UserID: fmt.Sprintf("u%d", i%3), OrgID: "police", Role: argus.RoleViewer},
			Action:    argus.ActionLive, Resource: argus.Resource{Kind: "camera", ID: fmt.Sprintf("cam-%d", i), OrgID: "police"},
			Allowed: i%4 != 0, Reason: "role allows the action in the principal's organisation", Purpose: "patrol",
			Time: t0.Add(time.Duration(i) * time.Second), Client: "192.0.2.1",
		}
		if err := l.Record(context.Background(), d); err != nil {
			t.Fatal(err)
		}
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
}

// tamperSQL runs statements on the log's database file directly.
func tamperSQL(t *testing.T, path string, stmts ...string) {
	t.Helper()
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for _, s := range stmts {
		if _, err := db.Exec(s); err != nil {
			t.Fatalf("%s: %v", s, err)
		}
	}
}

// flipByte flips the lowest bit of byte i of a column of one row.
func flipByte(t *testing.T, path, table, column string, seq int64, i int) {
	t.Helper()
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var b []byte
	if err := db.QueryRow(fmt.Sprintf("SELECT %s FROM %s WHERE seq = ?", column, table), seq).Scan(&b); err != nil {
		t.Fatal(err)
	}
	b[i] ^= 0x01
	// Text stays text, so that only the byte differs.
	val := any(b)
	var typ string
	if err := db.QueryRow(fmt.Sprintf("SELECT typeof(%s) FROM %s WHERE seq = ?", column, table), seq).Scan(&typ); err != nil {
		t.Fatal(err)
	}
	if typ == "text" {
		val = string(b)
	}
	if _, err := db.Exec(fmt.Sprintf("UPDATE %s SET %s = ? WHERE seq = ?", table, column), val, seq); err != nil {
		t.Fatal(err)
	}
}

// rewriteFrom changes record from's reason and recomputes the hashes of it
// and of every record after it, as someone without the key would.
func rewriteFrom(t *testing.T, path string, from int64) {
	t.Helper()
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	rows, err := db.Query(`SELECT `+recordColumns+` FROM records WHERE seq >= ? ORDER BY seq`, from)
	if err != nil {
		t.Fatal(err)
	}
	var recs []*Record
	for rows.Next() {
		r, err := scanRecord(rows)
		if err != nil {
			t.Fatal(err)
		}
		recs = append(recs, r)
	}
	rows.Close()
	prev := recs[0].PrevHash
	recs[0].Reason = "nothing to see"
	for _, r := range recs {
		r.PrevHash = prev
		r.Hash, _ = recordHash(nil, prev, r)
		if _, err := db.Exec(`UPDATE records SET reason = ?, prev_hash = ?, hash = ? WHERE seq = ?`, r.Reason, r.PrevHash, r.Hash, r.Seq); err != nil {
			t.Fatal(err)
		}
		prev = r.Hash
	}
}

func TestVerifyTampered(t *testing.T) {
	key, err := evidence.LoadOrCreateKey(t.TempDir(), nil)
	if err != nil {
		t.Fatal(err)
	}
	other, err := evidence.LoadOrCreateKey(t.TempDir(), nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name   string
		tamper func(t *testing.T, path string)
		seq    int64  // the first bad record; 0: the log verifies
		kind   string // the kind of problem
	}{
		{"unmodified", func(*testing.T, string) {}, 0, ""},
		{"byte of reason flipped", func(t *testing.T, p string) { flipByte(t, p, "records", "reason", 7, 3) }, 7, ProblemAltered},
		{"byte of user flipped", func(t *testing.T, p string) { flipByte(t, p, "records", "user_id", 12, 0) }, 12, ProblemAltered},
		{"byte of time flipped", func(t *testing.T, p string) { flipByte(t, p, "records", "time", 7, 18) }, 7, ProblemAltered},
		{"byte of time made non-canonical", func(t *testing.T, p string) { flipByte(t, p, "records", "time", 7, 10) }, 7, ProblemAltered},
		{"byte of hash flipped", func(t *testing.T, p string) { flipByte(t, p, "records", "hash", 7, 0) }, 7, ProblemAltered},
		{"byte of prev_hash flipped", func(t *testing.T, p string) { flipByte(t, p, "records", "prev_hash", 7, 31) }, 7, ProblemAltered},
		{"deny turned into allow", func(t *testing.T, p string) {
			tamperSQL(t, p, "UPDATE records SET allowed = 1 WHERE seq = 9")
		}, 9, ProblemAltered},
		{"allowed not a boolean", func(t *testing.T, p string) {
			tamperSQL(t, p, "UPDATE records SET allowed = 2 WHERE seq = 8")
		}, 8, ProblemAltered},
		{"record deleted", func(t *testing.T, p string) { tamperSQL(t, p, "DELETE FROM records WHERE seq = 7") }, 7, ProblemRemoved},
		{"first record deleted", func(t *testing.T, p string) { tamperSQL(t, p, "DELETE FROM records WHERE seq = 1") }, 1, ProblemRemoved},
		{"record deleted and the rest renumbered", func(t *testing.T, p string) {
			tamperSQL(t, p, "DELETE FROM records WHERE seq = 7", "UPDATE records SET seq = seq - 1 + 1000 WHERE seq > 7",
				"UPDATE records SET seq = seq - 1000 WHERE seq > 1000")
		}, 7, ProblemReordered},
		{"tail deleted past a checkpoint", func(t *testing.T, p string) {
			tamperSQL(t, p, "DELETE FROM records WHERE seq > 16")
		}, 17, ProblemRemoved},
		{"two records swapped", func(t *testing.T, p string) {
			tamperSQL(t, p, "UPDATE records SET seq = -1 WHERE seq = 7", "UPDATE records SET seq = 7 WHERE seq = 8",
				"UPDATE records SET seq = 8 WHERE seq = -1")
		}, 7, ProblemReordered},
		{"chain rewritten without the key", func(t *testing.T, p string) { rewriteFrom(t, p, 13) }, 20, ProblemCheckpoint},
		{"checkpoint deleted", func(t *testing.T, p string) { tamperSQL(t, p, "DELETE FROM checkpoints WHERE seq = 10") }, 10, ProblemCheckpoint},
		{"checkpoint hash moved", func(t *testing.T, p string) {
			tamperSQL(t, p, "UPDATE checkpoints SET hash = (SELECT hash FROM records WHERE seq = 19), seq = 19 WHERE seq = 20")
		}, 19, ProblemCheckpoint},
		{"checkpoint signature flipped", func(t *testing.T, p string) { flipByte(t, p, "checkpoints", "signature", 20, 5) }, 20, ProblemCheckpoint},
		{"checkpoint forged with another key", func(t *testing.T, p string) {
			cp := &Checkpoint{Seq: 15, PrevSeq: 10, Time: time.Now(), KeyID: other.ID}
			db, err := sql.Open("sqlite", p)
			if err != nil {
				t.Fatal(err)
			}
			defer db.Close()
			if err := db.QueryRow("SELECT hash FROM records WHERE seq = 15").Scan(&cp.Hash); err != nil {
				t.Fatal(err)
			}
			cp.Signature = other.Sign(checkpointMessage(cp))
			if _, err := db.Exec("INSERT INTO checkpoints VALUES (?, ?, ?, ?, ?, ?)", cp.Seq, cp.PrevSeq, cp.Hash,
				formatTime(cp.Time), cp.KeyID, cp.Signature); err != nil {
				t.Fatal(err)
			}
		}, 15, ProblemCheckpoint},
		// The documented limit: records after the last checkpoint can be
		// cut from the tail without a trace.
		{"unsealed tail deleted (undetectable)", func(t *testing.T, p string) {
			tamperSQL(t, p, "DELETE FROM records WHERE seq > 20")
		}, 0, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), FileName)
			n := 30
			if strings.Contains(tc.name, "unsealed") {
				// Close seals the last record; keep a tail past the
				// checkpoint by sealing by hand only to 20.
				n = 25
			}
			writeTestLog(t, path, key, n)
			if strings.Contains(tc.name, "unsealed") {
				tamperSQL(t, path, "DELETE FROM checkpoints WHERE seq = 25")
			}
			tc.tamper(t, path)
			rep, err := Verify(t.Context(), path, VerifyOptions{Keys: []ed25519.PublicKey{key.Public}})
			if err != nil {
				t.Fatal(err)
			}
			switch {
			case tc.seq == 0 && !rep.OK():
				t.Fatalf("Verify found %v, want an intact log", rep.Problem)
			case tc.seq == 0:
				return
			case rep.OK():
				t.Fatalf("Verify found nothing wrong (%+v), want record %d %s", rep, tc.seq, tc.kind)
			case rep.Problem.Seq != tc.seq || rep.Problem.Kind != tc.kind:
				t.Fatalf("Verify found %v, want record %d %s", rep.Problem, tc.seq, tc.kind)
			}
		})
	}
}

func TestVerifyNeedsAKey(t *testing.T) {
	if _, err := Verify(t.Context(), filepath.Join(t.TempDir(), FileName), VerifyOptions{}); err == nil {
		t.Fatal("Verify without keys succeeded")
	}
}

func TestVerifyMissingFile(t *testing.T) {
	key, err := evidence.LoadOrCreateKey(t.TempDir(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Verify(t.Context(), filepath.Join(t.TempDir(), FileName), VerifyOptions{Keys: []ed25519.PublicKey{key.Public}}); err == nil {
		t.Fatal("Verify of a missing file succeeded")
	}
}
