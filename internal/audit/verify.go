package audit

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/sha256"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"os"
	"time"

	"argus/internal/evidence"
)

// The kinds of Problem.
const (
	ProblemAltered    = "altered"    // a record's content does not match its hash
	ProblemRemoved    = "removed"    // records are missing (a gap, or a checkpoint past the end)
	ProblemReordered  = "reordered"  // a record does not follow the one before it in the chain
	ProblemCheckpoint = "checkpoint" // a checkpoint is missing, forged, or does not match the chain
)

// VerifyOptions configures Verify.
type VerifyOptions struct {
	// Keys are the public keys checkpoints may be signed with: the node's.
	// At least one is required.
	Keys []ed25519.PublicKey
}

// Problem is the first thing wrong with a log: the record at fault (for a
// checkpoint, the record it seals), the kind of problem and a sentence.
type Problem struct {
	Seq  int64  `json:"seq"`
	Kind string `json:"kind"`
	What string `json:"what"`
}

// String returns the problem as "record N: kind: what".
func (p Problem) String() string { return fmt.Sprintf("record %d: %s: %s", p.Seq, p.Kind, p.What) }

// Report is the outcome of Verify.
type Report struct {
	// Records is how many records were found intact before the problem
	// (all of them when there is none).
	Records int64
	// Checkpoints is how many checkpoints were found intact.
	Checkpoints int
	// Sealed is the seq of the last intact checkpoint: records after it
	// are chained but not yet signed.
	Sealed int64
	// SealedAt is the time of that checkpoint; zero when there is none.
	SealedAt time.Time
	// Problem is the first bad record; nil when the log verifies.
	Problem *Problem
}

// OK reports whether the log verified.
func (r *Report) OK() bool { return r.Problem == nil }

// openReadOnly opens the audit log at path for reading only, offline: it
// must exist, and nothing is written to it.
func openReadOnly(path string) (*sql.DB, error) {
	if _, err := os.Stat(path); err != nil {
		return nil, err
	}
	q := url.Values{}
	q.Set("mode", "ro")
	q.Add("_pragma", "busy_timeout(10000)")
	q.Add("_pragma", "query_only(1)")
	return sql.Open("sqlite", "file:"+path+"?"+q.Encode())
}

// Verify walks the audit log at path offline, oldest record first, and
// reports the first record that was altered, removed or reordered, or the
// first checkpoint that is missing, forged or does not match the chain. An
// error means the log could not be read at all.
func Verify(ctx context.Context, path string, opts VerifyOptions) (*Report, error) {
	if len(opts.Keys) == 0 {
		return nil, errors.New("verify audit log: no public key to check the checkpoints with")
	}
	db, err := openReadOnly(path)
	if err != nil {
		return nil, fmt.Errorf("verify audit log: %w", err)
	}
	defer db.Close()
	rep, err := verifySnapshot(ctx, db, opts.Keys)
	if err != nil {
		return nil, fmt.Errorf("verify audit log %s: %w", path, err)
	}
	return rep, nil
}

// Verify is the package's Verify run on this open log, with the public
// half of its signing key. It reads one consistent snapshot of the log (a
// read transaction of the WAL database), so appends go on while it runs
// and are not part of its report; a record appended after the snapshot is
// neither counted nor checked.
func (l *Log) Verify(ctx context.Context) (*Report, error) {
	rep, err := verifySnapshot(ctx, l.r, []ed25519.PublicKey{l.key.Public})
	if err != nil {
		return nil, fmt.Errorf("verify audit log: %w", err)
	}
	return rep, nil
}

// verifySnapshot walks the log in db inside one read transaction, so the
// checkpoints and the records it reads are of the same moment.
func verifySnapshot(ctx context.Context, db *sql.DB, keys []ed25519.PublicKey) (*Report, error) {
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return nil, fmt.Errorf("begin: %w", err)
	}
	defer tx.Rollback()
	cps, err := loadCheckpoints(ctx, tx)
	if err != nil {
		return nil, err
	}
	rows, err := tx.QueryContext(ctx, `SELECT `+recordColumns+` FROM records ORDER BY seq`)
	if err != nil {
		return nil, fmt.Errorf("read records: %w", err)
	}
	defer rows.Close()

	rep := &Report{}
	v := verifier{keys: keys, prev: make([]byte, sha256.Size)}
	next, ci := int64(1), 0
	for rows.Next() {
		r, err := scanRecord(rows)
		var bad *malformedError
		switch {
		case errors.As(err, &bad):
			rep.Problem = &Problem{Seq: bad.seq, Kind: ProblemAltered, What: bad.what}
			return rep, nil
		case err != nil:
			return nil, err
		}
		if rep.Problem = v.record(r, next); rep.Problem != nil {
			return rep, nil
		}
		if ci < len(cps) && cps[ci].Seq == r.Seq {
			if rep.Problem = v.checkpoint(cps[ci], r); rep.Problem != nil {
				return rep, nil
			}
			rep.Checkpoints++
			rep.Sealed, rep.SealedAt = r.Seq, cps[ci].Time
			ci++
		}
		rep.Records++
		next++
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read records: %w", err)
	}
	if ci < len(cps) {
		rep.Problem = &Problem{Seq: next, Kind: ProblemRemoved, What: fmt.Sprintf(
			"the log ends at record %d but a checkpoint seals record %d: records from %d on were removed", next-1, cps[ci].Seq, next)}
	}
	return rep, nil
}

// verifier carries the walk's state from one record to the next.
type verifier struct {
	keys    []ed25519.PublicKey
	prev    []byte // the previous record's hash
	prevCP  int64  // the previous checkpoint's seq
	scratch []byte
}

// record checks r, expected to be record want.
func (v *verifier) record(r *Record, want int64) *Problem {
	if r.Seq != want {
		return &Problem{Seq: want, Kind: ProblemRemoved, What: fmt.Sprintf("records %d to %d are missing", want, r.Seq-1)}
	}
	var h []byte
	h, v.scratch = recordHash(v.scratch, r.PrevHash, r)
	if !bytes.Equal(h, r.Hash) {
		return &Problem{Seq: r.Seq, Kind: ProblemAltered, What: "its content does not match its hash"}
	}
	if !bytes.Equal(r.PrevHash, v.prev) {
		what := "its prev_hash is not the hash of the record before it"
		if r.Seq == 1 {
			what = "the first record's prev_hash is not 32 zero bytes"
		}
		return &Problem{Seq: r.Seq, Kind: ProblemReordered, What: what}
	}
	v.prev = r.Hash
	return nil
}

// checkpoint checks cp, which seals record r.
func (v *verifier) checkpoint(cp *Checkpoint, r *Record) *Problem {
	bad := func(format string, args ...any) *Problem {
		return &Problem{Seq: r.Seq, Kind: ProblemCheckpoint, What: fmt.Sprintf(format, args...)}
	}
	if cp.PrevSeq != v.prevCP {
		if cp.PrevSeq > v.prevCP {
			return &Problem{Seq: cp.PrevSeq, Kind: ProblemCheckpoint, What: fmt.Sprintf(
				"the checkpoint of this record was removed (the checkpoint of record %d names it as its predecessor)", r.Seq)}
		}
		return bad("the checkpoint names record %d as the previous checkpoint, not %d", cp.PrevSeq, v.prevCP)
	}
	if !bytes.Equal(cp.Hash, r.Hash) {
		return bad("the checkpoint's hash is not the record's: records after %d were rewritten", v.prevCP)
	}
	msg := checkpointMessage(cp)
	signed := false
	for _, k := range v.keys {
		if evidence.KeyID(k) == cp.KeyID && ed25519.Verify(k, msg, cp.Signature) {
			signed = true
			break
		}
	}
	if !signed {
		return bad("the checkpoint's signature does not verify with the trusted key (key id %q)", cp.KeyID)
	}
	v.prevCP = cp.Seq
	return nil
}

// loadCheckpoints reads every checkpoint, oldest first.
func loadCheckpoints(ctx context.Context, tx *sql.Tx) ([]*Checkpoint, error) {
	rows, err := tx.QueryContext(ctx, `SELECT seq, prev_seq, hash, time, key_id, signature FROM checkpoints ORDER BY seq`)
	if err != nil {
		return nil, fmt.Errorf("read checkpoints: %w", err)
	}
	defer rows.Close()
	var cps []*Checkpoint
	for rows.Next() {
		var (
			cp Checkpoint
			t  string
		)
		if err := rows.Scan(&cp.Seq, &cp.PrevSeq, &cp.Hash, &t, &cp.KeyID, &cp.Signature); err != nil {
			return nil, fmt.Errorf("read checkpoints: %w", err)
		}
		// A time that does not parse leaves the zero time, whose encoding
		// differs from the signed one: the signature check reports it.
		cp.Time, _ = parseTime(t)
		cps = append(cps, &cp)
	}
	return cps, rows.Err()
}
