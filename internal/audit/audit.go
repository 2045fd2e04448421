// Package audit is argus's tamper-evident audit log: every decision of the
// access gate, allow or deny, every live session and every administrative
// change is appended to a hash chain kept in its own SQLite database
// (<data>/audit.db), and the chain is sealed by checkpoints signed with the
// node's Ed25519 key.
//
// An append is durable (fsynced) when Append returns, and the gate refuses an
// action whose record could not be written. Concurrent appends are committed
// together (group commit): one transaction and one fsync per batch. Verify
// walks a log offline and names the first record that was altered, removed
// or reordered. docs/format/audit.md specifies the hashed and signed bytes;
// docs/audit.md says what is recorded and how to read it.
package audit

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"time"

	_ "modernc.org/sqlite" // database/sql driver "sqlite"

	"argus"
	"argus/internal/evidence"
)

// FileName is the audit log's file in the data directory.
const FileName = "audit.db"

// Record kinds.
const (
	KindDecision     = "decision"      // the access gate decided a request
	KindSessionStart = "session.start" // a live viewing session started
	KindSessionEnd   = "session.end"   // a live viewing session ended (From..To is its span)
	KindChange       = "change"        // an administrative change, about to be written (Detail says what)
)

// reviewDetail is the Detail of a decision flagged for review (an
// emergency grant opened or used): the flag lives in the detail so that
// the record format, and every older record's hash, stay as they are.
var reviewDetail = json.RawMessage(`{"review":true}`)

// Defaults of Options.
const (
	DefaultCheckpointEvery    = 1000
	DefaultCheckpointInterval = time.Minute
)

// maxBatch bounds the records one transaction commits.
const maxBatch = 1024

// ErrClosed is returned by Append after Close.
var ErrClosed = errors.New("audit log is closed")

// Record is one entry of the log. Seq, PrevHash and Hash are set by Append.
type Record struct {
	// Seq numbers the records 1, 2, … without gaps.
	Seq int64 `json:"seq"`
	// Time is when the decision or event happened.
	Time time.Time `json:"time"`
	// Kind is KindDecision, KindSessionStart, KindSessionEnd, ….
	Kind      string          `json:"kind"`
	Principal argus.Principal `json:"principal"`
	Action    argus.Action    `json:"action,omitempty"`
	Resource  argus.Resource  `json:"resource"`
	Allowed   bool            `json:"allowed"`
	// Reason is the gate's reason for its decision.
	Reason string `json:"reason,omitempty"`
	// Purpose is why the principal said they acted.
	Purpose string `json:"purpose,omitempty"`
	// Grant is the share or emergency grant that allowed the action.
	Grant string `json:"grant,omitempty"`
	// Client is the network address the request came from.
	Client string `json:"client,omitempty"`
	// From and To bound the video concerned (a playback or export range, a
	// live session's span), when known.
	From time.Time `json:"from,omitzero"`
	To   time.Time `json:"to,omitzero"`
	// Detail is small JSON saying what changed, for administrative records.
	Detail json.RawMessage `json:"detail,omitempty"`
	// PrevHash is the previous record's Hash (32 zero bytes for the first);
	// Hash is SHA-256 over PrevHash and the record's canonical encoding.
	PrevHash []byte `json:"prev_hash"`
	Hash     []byte `json:"hash"`
}

// Checkpoint seals the chain up to Seq: the node key signs Seq, the hash of
// record Seq, the previous checkpoint's Seq (0 for the first), Time and
// KeyID.
type Checkpoint struct {
	Seq       int64     `json:"seq"`
	PrevSeq   int64     `json:"prev_seq"`
	Hash      []byte    `json:"hash"`
	Time      time.Time `json:"time"`
	KeyID     string    `json:"key_id"`
	Signature []byte    `json:"signature"`
}

// Options configures Open.
type Options struct {
	// Key signs the checkpoints: the node key. Required.
	Key *evidence.Key
	// CheckpointEvery is how many records at most go unsealed before a
	// checkpoint; 0 means DefaultCheckpointEvery.
	CheckpointEvery int
	// CheckpointInterval is how long at most a record goes unsealed; 0
	// means DefaultCheckpointInterval.
	CheckpointInterval time.Duration
	// Logger receives write failures; nil discards.
	Logger *slog.Logger
	// Now is the clock for records without a time and for checkpoints;
	// nil means time.Now.
	Now func() time.Time
}

// Log is an open audit log. It is safe for concurrent use.
type Log struct {
	w, r     *sql.DB // the one writing connection; a read-only pool
	insert   *sql.Stmt
	key      *evidence.Key
	every    int
	interval time.Duration
	log      *slog.Logger
	now      func() time.Time

	reqs     chan *appendReq
	closing  chan struct{}
	done     chan struct{}
	closeErr error

	// Owned by the writer goroutine (and by Open before it starts).
	seq     int64
	hash    []byte
	cpSeq   int64 // the last checkpoint's seq
	scratch []byte
}

type appendReq struct {
	rec  *Record
	done chan error
}

// Open opens (creating if needed) the audit log at path and starts its
// writer. Close it when done.
func Open(ctx context.Context, path string, opts Options) (*Log, error) {
	if opts.Key == nil {
		return nil, errors.New("open audit log: a signing key is required")
	}
	l := &Log{
		key: opts.Key, every: opts.CheckpointEvery, interval: opts.CheckpointInterval, log: opts.Logger, now: opts.Now,
		reqs: make(chan *appendReq), closing: make(chan struct{}), done: make(chan struct{}),
	}
	if l.every <= 0 {
		l.every = DefaultCheckpointEvery
	}
	if l.interval <= 0 {
		l.interval = DefaultCheckpointInterval
	}
	if l.log == nil {
		l.log = slog.New(slog.DiscardHandler)
	}
	if l.now == nil {
		l.now = time.Now
	}
	var err error
	if l.w, err = sql.Open("sqlite", dsn(path, false)); err != nil {
		return nil, fmt.Errorf("open audit log: %w", err)
	}
	l.w.SetMaxOpenConns(1)
	l.w.SetConnMaxIdleTime(0)
	if err := l.init(ctx); err != nil {
		l.w.Close()
		return nil, fmt.Errorf("open audit log %s: %w", path, err)
	}
	if l.r, err = sql.Open("sqlite", dsn(path, true)); err != nil {
		l.insert.Close()
		l.w.Close()
		return nil, fmt.Errorf("open audit log: %w", err)
	}
	l.r.SetMaxOpenConns(4)
	go l.run()
	return l, nil
}

// dsn returns the connection string: WAL, and synchronous=FULL so that a
// committed transaction is on disk when Commit returns.
func dsn(path string, readOnly bool) string {
	q := url.Values{}
	q.Set("_txlock", "immediate")
	q.Add("_pragma", "busy_timeout(10000)")
	q.Add("_pragma", "journal_mode(WAL)")
	q.Add("_pragma", "synchronous(FULL)")
	if readOnly {
		q.Set("_txlock", "deferred")
		q.Add("_pragma", "query_only(1)")
	}
	return path + "?" + q.Encode()
}

const schema = `
CREATE TABLE IF NOT EXISTS records (
	seq             INTEGER PRIMARY KEY,
	time            TEXT NOT NULL,
	kind            TEXT NOT NULL,
	user_id         TEXT NOT NULL,
	username        TEXT NOT NULL,
	org_id          TEXT NOT NULL,
	role            TEXT NOT NULL,
	token_id        TEXT NOT NULL,
	action          TEXT NOT NULL,
	resource_kind   TEXT NOT NULL,
	resource_id     TEXT NOT NULL,
	resource_org_id TEXT NOT NULL,
	allowed         INTEGER NOT NULL,
	reason          TEXT NOT NULL,
	purpose         TEXT NOT NULL,
	grant_ref       TEXT NOT NULL,
	client          TEXT NOT NULL,
	range_from      TEXT NOT NULL,
	range_to        TEXT NOT NULL,
	detail          BLOB NOT NULL,
	prev_hash       BLOB NOT NULL,
	hash            BLOB NOT NULL
);
CREATE INDEX IF NOT EXISTS records_time ON records (time);
CREATE INDEX IF NOT EXISTS records_user ON records (user_id);
CREATE INDEX IF NOT EXISTS records_resource ON records (resource_id);
CREATE TABLE IF NOT EXISTS checkpoints (
	seq       INTEGER PRIMARY KEY,
	prev_seq  INTEGER NOT NULL,
	hash      BLOB NOT NULL,
	time      TEXT NOT NULL,
	key_id    TEXT NOT NULL,
	signature BLOB NOT NULL
);
`

// recordColumns lists the records table's columns in the order scanRecord
// and the insert statement use.
const recordColumns = `seq, time, kind, user_id, username, org_id, role, token_id, action, resource_kind,
	resource_id, resource_org_id, allowed, reason, purpose, grant_ref, client, range_from, range_to, detail,
	prev_hash, hash`

// init creates the schema and loads the chain's head and the last
// checkpoint.
func (l *Log) init(ctx context.Context) error {
	if _, err := l.w.ExecContext(ctx, schema); err != nil {
		return fmt.Errorf("create schema: %w", err)
	}
	l.hash = make([]byte, sha256.Size)
	err := l.w.QueryRowContext(ctx, `SELECT seq, hash FROM records ORDER BY seq DESC LIMIT 1`).Scan(&l.seq, &l.hash)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("read the last record: %w", err)
	}
	if err := l.w.QueryRowContext(ctx, `SELECT COALESCE(MAX(seq), 0) FROM checkpoints`).Scan(&l.cpSeq); err != nil {
		return fmt.Errorf("read the last checkpoint: %w", err)
	}
	l.insert, err = l.w.PrepareContext(ctx, `INSERT INTO records (`+recordColumns+`)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`)
	if err != nil {
		return fmt.Errorf("prepare: %w", err)
	}
	return nil
}

// Append writes r to the log and returns once it is durable, setting its
// Seq, PrevHash and Hash (and Time, when zero). An error means the record
// is not in the log, except when ctx ended while it was being written:
// then it may be.
func (l *Log) Append(ctx context.Context, r *Record) error {
	if r.Time.IsZero() {
		r.Time = l.now()
	}
	if len(r.Detail) > 0 && !json.Valid(r.Detail) {
		return errors.New("audit record detail is not valid JSON")
	}
	req := &appendReq{rec: r, done: make(chan error, 1)}
	select {
	case l.reqs <- req:
	case <-l.closing:
		return ErrClosed
	case <-ctx.Done():
		return context.Cause(ctx)
	}
	select {
	case err := <-req.done:
		return err
	case <-ctx.Done():
		return context.Cause(ctx)
	}
}

// Record appends the gate's decision d; it implements access.Recorder. A
// decision flagged for review gets the detail {"review":true}.
func (l *Log) Record(ctx context.Context, d argus.Decision) error {
	r := &Record{
		Time: d.Time, Kind: KindDecision, Principal: d.Principal, Action: d.Action, Resource: d.Resource,
		Allowed: d.Allowed, Reason: d.Reason, Purpose: d.Purpose, Grant: d.Grant, Client: d.Client,
		From: d.From, To: d.To,
	}
	if d.Review {
		r.Detail = reviewDetail
	}
	return l.Append(ctx, r)
}

// Review reports whether r is flagged for review (its detail says
// "review": true).
func (r *Record) Review() bool {
	var d struct {
		Review bool `json:"review"`
	}
	return len(r.Detail) > 0 && json.Unmarshal(r.Detail, &d) == nil && d.Review
}

// Close stops accepting records, writes those already queued and a final
// checkpoint, and closes the database.
func (l *Log) Close() error {
	select {
	case <-l.closing:
	default:
		close(l.closing)
	}
	<-l.done
	return l.closeErr
}

// run is the writer: it takes the waiting appends as one batch, commits
// them in one transaction and answers each, and writes checkpoints.
func (l *Log) run() {
	defer close(l.done)
	timer := time.NewTimer(l.interval)
	defer timer.Stop()
	batch := make([]*appendReq, 0, maxBatch)
	for {
		select {
		case req := <-l.reqs:
			batch = append(batch[:0], req)
		drain:
			for len(batch) < maxBatch {
				select {
				case req := <-l.reqs:
					batch = append(batch, req)
				default:
					break drain
				}
			}
			if l.seq == l.cpSeq {
				// The first unsealed record starts the interval.
				timer.Reset(l.interval)
			}
			err := l.commit(batch)
			if err != nil {
				l.log.Error("audit log write failed; the actions are refused", "records", len(batch), "err", err)
			}
			for _, req := range batch {
				req.done <- err
			}
			clear(batch)
		case <-timer.C:
			if l.seq > l.cpSeq {
				if err := l.checkpointTx(); err != nil {
					l.log.Error("audit checkpoint failed", "err", err)
				}
			}
			timer.Reset(l.interval)
		case <-l.closing:
			l.closeErr = l.shutdown()
			return
		}
	}
}

// shutdown writes the final checkpoint and closes the database. No append
// can be waiting: the request channel is unbuffered and senders see
// closing.
func (l *Log) shutdown() error {
	var errs []error
	if l.seq > l.cpSeq {
		if err := l.checkpointTx(); err != nil {
			errs = append(errs, fmt.Errorf("final checkpoint: %w", err))
		}
	}
	l.insert.Close()
	errs = append(errs, l.r.Close(), l.w.Close())
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("close audit log: %w", err)
	}
	return nil
}

// commit writes batch in one transaction, chaining each record to the one
// before; a checkpoint is added when CheckpointEvery records are unsealed.
// On failure nothing is written and the chain's head is unchanged.
func (l *Log) commit(batch []*appendReq) error {
	tx, err := l.w.Begin()
	if err != nil {
		return fmt.Errorf("begin: %w", err)
	}
	defer tx.Rollback()
	ins := tx.Stmt(l.insert)
	seq, prev := l.seq, l.hash
	for _, req := range batch {
		r := req.rec
		seq++
		r.Seq, r.PrevHash = seq, prev
		r.Hash, l.scratch = recordHash(l.scratch, prev, r)
		detail := r.Detail
		if detail == nil {
			detail = []byte{}
		}
		_, err := ins.Exec(seq, formatTime(r.Time), r.Kind, r.Principal.UserID, r.Principal.Username,
			r.Principal.OrgID, string(r.Principal.Role), r.Principal.TokenID, string(r.Action), r.Resource.Kind,
			r.Resource.ID, r.Resource.OrgID, r.Allowed, r.Reason, r.Purpose, r.Grant, r.Client,
			formatTime(r.From), formatTime(r.To), detail, r.PrevHash, r.Hash)
		if err != nil {
			return fmt.Errorf("insert record %d: %w", seq, err)
		}
		prev = r.Hash
	}
	var cp *Checkpoint
	if seq-l.cpSeq >= int64(l.every) {
		if cp, err = l.checkpoint(tx, seq, prev); err != nil {
			return err
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("commit: %w", err)
	}
	l.seq, l.hash = seq, prev
	if cp != nil {
		l.cpSeq = cp.Seq
	}
	return nil
}

// checkpointTx seals the chain's head in its own transaction.
func (l *Log) checkpointTx() error {
	tx, err := l.w.Begin()
	if err != nil {
		return fmt.Errorf("begin: %w", err)
	}
	defer tx.Rollback()
	cp, err := l.checkpoint(tx, l.seq, l.hash)
	if err != nil {
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("commit: %w", err)
	}
	l.cpSeq = cp.Seq
	return nil
}

// checkpoint signs and inserts a checkpoint of record seq with hash.
func (l *Log) checkpoint(tx *sql.Tx, seq int64, hash []byte) (*Checkpoint, error) {
	cp := &Checkpoint{Seq: seq, PrevSeq: l.cpSeq, Hash: hash, Time: l.now(), KeyID: l.key.ID}
	cp.Signature = l.key.Sign(checkpointMessage(cp))
	_, err := tx.Exec(`INSERT INTO checkpoints (seq, prev_seq, hash, time, key_id, signature) VALUES (?, ?, ?, ?, ?, ?)`,
		cp.Seq, cp.PrevSeq, cp.Hash, formatTime(cp.Time), cp.KeyID, cp.Signature)
	if err != nil {
		return nil, fmt.Errorf("insert checkpoint %d: %w", seq, err)
	}
	return cp, nil
}
