// Package sqlite implements argus.Store on an embedded SQLite database
// (modernc.org/sqlite, pure Go): the metadata store of a single node.
//
// One connection writes (SQLite allows one writer; database/sql queues the
// others behind it) and a small pool reads in parallel through WAL. The
// schema is versioned by the embedded migrations/NNNN_*.sql files, applied in
// order at Open. The camera directory keeps a grid-cell index for positions,
// a trigram FTS5 index with trigram statistics for substring search, a tag
// index and a pyramid of per-cell counts for map aggregation; docs/store.md
// describes them and how queries use them.
package sqlite

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net/url"
	"runtime"
	"strconv"
	"strings"
	"time"

	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"argus"
)

//go:embed migrations/*.sql
var migrations embed.FS

var _ argus.Store = (*DB)(nil)

// Options configures Open.
type Options struct {
	// Sealer encrypts camera credentials at rest. Required.
	Sealer argus.Sealer
	// Logger receives operational messages; nil discards them.
	Logger *slog.Logger
	// Now is the clock for CreatedAt and UpdatedAt; nil means time.Now.
	Now func() time.Time
}

// DB is an open SQLite metadata store. It is safe for concurrent use.
type DB struct {
	w      *sql.DB // exactly one connection: every write, in order
	r      *sql.DB // read-only pool
	sealer argus.Sealer
	log    *slog.Logger
	now    func() time.Time

	gatherLimit int // see defaultGatherLimit; tests lower it
	ws          writeStmts
}

// writeStmts are the hot write statements, prepared once on the writer's
// only connection (a transaction on it reuses them through Tx.StmtContext).
type writeStmts struct {
	camera, fts, text, tag *sql.Stmt
	trigrams, trigram      *sql.Stmt // upsert trigramBatch rows, one row
	cells                  *sql.Stmt // upserts cellBatch rows of camera_cells
	cell                   *sql.Stmt // upserts one row
	dropEmpty              *sql.Stmt
}

func (ws *writeStmts) prepare(ctx context.Context, w *sql.DB) error {
	for _, p := range []struct {
		stmt **sql.Stmt
		sql  string
	}{
		{&ws.camera, `INSERT INTO cameras (id, org_id, name, lat, lon, cell, address, district, tags, stream_url,
			sub_stream_url, onvif_url, credentials, recording, retention_days, retention_bytes, labels, transport,
			created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`},
		{&ws.fts, insertFTS},
		{&ws.text, `INSERT INTO camera_text (rid, id, search) VALUES (?, ?, ?)`},
		{&ws.tag, `INSERT INTO camera_tags (tag, camera_id, rid) VALUES (?, ?, ?)`},
		{&ws.trigrams, upsertTrigrams(trigramBatch)},
		{&ws.trigram, upsertTrigrams(1)},
		{&ws.cells, upsertCells(cellBatch)},
		{&ws.cell, upsertCells(1)},
		{&ws.dropEmpty, `DELETE FROM camera_cells WHERE n = 0`},
	} {
		stmt, err := w.PrepareContext(ctx, p.sql)
		if err != nil {
			return fmt.Errorf("prepare: %w", err)
		}
		*p.stmt = stmt
	}
	return nil
}

func (ws *writeStmts) close() {
	for _, s := range []*sql.Stmt{ws.camera, ws.fts, ws.text, ws.tag, ws.trigrams, ws.trigram, ws.cells, ws.cell, ws.dropEmpty} {
		if s != nil {
			s.Close()
		}
	}
}

// Page cache per connection (KiB; SQLite takes a negative cache_size as KiB).
const (
	writerCacheKiB = 64 << 10
	readerCacheKiB = 16 << 10
	bulkCacheKiB   = 128 << 10 // the writer's, while a bulk insert is open
)

// Open opens (creating if needed) the database file at path and migrates it
// to the current schema.
func Open(ctx context.Context, path string, opts Options) (*DB, error) {
	if opts.Sealer == nil {
		return nil, errors.New("open sqlite store: a Sealer is required: camera credentials are never stored in plaintext")
	}
	db := &DB{sealer: opts.Sealer, log: opts.Logger, now: opts.Now, gatherLimit: defaultGatherLimit}
	if db.log == nil {
		db.log = slog.New(slog.DiscardHandler)
	}
	if db.now == nil {
		db.now = time.Now
	}
	var err error
	if db.w, err = sql.Open("sqlite", dsn(path, writerCacheKiB, false)); err != nil {
		return nil, fmt.Errorf("open sqlite store: %w", err)
	}
	db.w.SetMaxOpenConns(1)
	db.w.SetConnMaxIdleTime(0)
	version, err := migrate(ctx, db.w)
	if err != nil {
		db.w.Close()
		return nil, fmt.Errorf("open sqlite store %s: %w", path, err)
	}
	if err := db.ws.prepare(ctx, db.w); err != nil {
		db.ws.close()
		db.w.Close()
		return nil, fmt.Errorf("open sqlite store %s: %w", path, err)
	}
	if db.r, err = sql.Open("sqlite", dsn(path, readerCacheKiB, true)); err != nil {
		db.ws.close()
		db.w.Close()
		return nil, fmt.Errorf("open sqlite store: %w", err)
	}
	readers := max(4, runtime.GOMAXPROCS(0))
	db.r.SetMaxOpenConns(readers)
	db.r.SetMaxIdleConns(readers)
	if err := db.r.PingContext(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("open sqlite store %s: %w", path, err)
	}
	db.log.Info("sqlite store open", "path", path, "schema_version", version)
	return db, nil
}

func dsn(path string, cacheKiB int, readOnly bool) string {
	q := url.Values{}
	q.Set("_txlock", "immediate")
	q.Add("_pragma", "busy_timeout(10000)")
	q.Add("_pragma", "journal_mode(WAL)")
	q.Add("_pragma", "synchronous(NORMAL)")
	q.Add("_pragma", "foreign_keys(1)")
	q.Add("_pragma", "temp_store(MEMORY)")
	q.Add("_pragma", "cache_size(-"+strconv.Itoa(cacheKiB)+")")
	if readOnly {
		q.Add("_pragma", "mmap_size(1073741824)")
		q.Set("_txlock", "deferred")
		q.Add("_pragma", "query_only(1)")
	}
	return path + "?" + q.Encode()
}

// SchemaVersion is the schema version this package migrates databases to:
// the number of embedded migrations.
func SchemaVersion() int {
	files, _ := fs.Glob(migrations, "migrations/*.sql")
	return len(files)
}

// migrate applies the embedded migrations newer than the database's
// user_version, in one transaction, and returns the resulting version.
func migrate(ctx context.Context, w *sql.DB) (int, error) {
	files, err := fs.Glob(migrations, "migrations/*.sql")
	if err != nil {
		return 0, err
	}
	tx, err := w.BeginTx(ctx, nil)
	if err != nil {
		return 0, fmt.Errorf("migrate: %w", err)
	}
	defer tx.Rollback()
	var current int
	if err := tx.QueryRowContext(ctx, "PRAGMA user_version").Scan(&current); err != nil {
		return 0, fmt.Errorf("migrate: %w", err)
	}
	if current > len(files) {
		return 0, fmt.Errorf("migrate: database schema version %d is newer than this binary's %d", current, len(files))
	}
	for i, name := range files {
		version := i + 1
		if !strings.HasPrefix(name, fmt.Sprintf("migrations/%04d_", version)) {
			return 0, fmt.Errorf("migrate: migration %s is out of sequence, want number %04d", name, version)
		}
		if version <= current {
			continue
		}
		body, err := migrations.ReadFile(name)
		if err != nil {
			return 0, fmt.Errorf("migrate: %w", err)
		}
		if _, err := tx.ExecContext(ctx, string(body)); err != nil {
			return 0, fmt.Errorf("migrate %s: %w", name, err)
		}
		if _, err := tx.ExecContext(ctx, fmt.Sprintf("PRAGMA user_version = %d", version)); err != nil {
			return 0, fmt.Errorf("migrate %s: %w", name, err)
		}
	}
	if err := tx.Commit(); err != nil {
		return 0, fmt.Errorf("migrate: %w", err)
	}
	return len(files), nil
}

// Ping checks that the database answers.
func (db *DB) Ping(ctx context.Context) error {
	var one int
	if err := db.r.QueryRowContext(ctx, "SELECT 1").Scan(&one); err != nil {
		return fmt.Errorf("ping sqlite store: %w", err)
	}
	return nil
}

// Close closes the database. Pending writes finish first.
func (db *DB) Close() error {
	var errs []error
	if db.r != nil {
		errs = append(errs, db.r.Close())
	}
	db.ws.close()
	if _, err := db.w.Exec("PRAGMA optimize"); err != nil {
		errs = append(errs, err)
	}
	errs = append(errs, db.w.Close())
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("close sqlite store: %w", err)
	}
	return nil
}

// write runs fn in a write transaction and commits it when fn succeeds.
func (db *DB) write(ctx context.Context, fn func(tx *sql.Tx) error) error {
	tx, err := db.w.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("begin write: %w", err)
	}
	defer tx.Rollback()
	if err := fn(tx); err != nil {
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("commit: %w", err)
	}
	return nil
}

// stamp returns the current time as stored: UTC, to the microsecond.
func (db *DB) stamp() time.Time { return time.UnixMicro(db.now().UnixMicro()).UTC() }

func micros(t time.Time) int64 { return t.UnixMicro() }

func fromMicros(v int64) time.Time { return time.UnixMicro(v).UTC() }

// constraint maps a failed write to an *argus.Error: a UNIQUE or PRIMARY KEY
// violation to ECONFLICT naming the column, a FOREIGN KEY violation to
// EINVALID naming fkField. Other errors are wrapped with what; nil stays nil.
func constraint(err error, what, fkField, fkMessage string) error {
	if err == nil {
		return nil
	}
	var se *sqlite.Error
	if errors.As(err, &se) {
		switch se.Code() {
		case sqlite3.SQLITE_CONSTRAINT_UNIQUE, sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY:
			col := se.Error()
			if i := strings.LastIndexByte(col, '.'); i >= 0 {
				col = col[i+1:]
			}
			col, _, _ = strings.Cut(col, " ")
			col = strings.Trim(col, "()")
			return &argus.Error{Code: argus.ECONFLICT, Field: col, Message: fmt.Sprintf("the %s %s is already taken", what, col)}
		case sqlite3.SQLITE_CONSTRAINT_FOREIGNKEY:
			return &argus.Error{Code: argus.EINVALID, Field: fkField, Message: fkMessage}
		}
	}
	return fmt.Errorf("write %s: %w", what, err)
}

func notFound(what, id string) *argus.Error {
	return argus.Errorf(argus.ENOTFOUND, "%s %q not found", what, id)
}
