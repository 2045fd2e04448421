package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sync"
	"time"

	"argus"
)

// BeginCameraBulk starts a bulk insert in one write transaction; other
// writes wait until it commits or rolls back.
func (db *DB) BeginCameraBulk(ctx context.Context) (argus.CameraBulk, error) {
	tx, err := db.w.BeginTx(ctx, nil)
	if err != nil {
		return nil, fmt.Errorf("begin camera bulk: %w", err)
	}
	if _, err := tx.ExecContext(ctx, fmt.Sprintf("PRAGMA cache_size = -%d", bulkCacheKiB)); err != nil {
		tx.Rollback()
		return nil, fmt.Errorf("begin camera bulk: %w", err)
	}
	return &bulk{db: db, tx: tx, w: newCameraWriter(ctx, db, tx), now: db.stamp(), cells: cellDeltas{}, tris: trigramDeltas{}}, nil
}

// bulk is an open argus.CameraBulk. Cell counts (at the finest zoom) and
// trigram counts are summed in memory, bounded by the number of cells and
// of distinct trigrams rather than of cameras, and written once at Commit.
type bulk struct {
	db  *DB
	now time.Time

	mu    sync.Mutex
	tx    *sql.Tx // nil once committed or rolled back
	w     *cameraWriter
	cells cellDeltas
	tris  trigramDeltas
	err   error // a failure that spoils the batch
}

// Add inserts one camera. A duplicate id or an unknown organisation comes
// back as an *argus.Error and leaves the batch intact.
func (b *bulk) Add(ctx context.Context, c *argus.Camera) error {
	if err := prepareCamera(c); err != nil {
		return err
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	switch {
	case b.tx == nil:
		return errors.New("camera bulk is finished")
	case b.err != nil:
		return fmt.Errorf("camera bulk failed earlier: %w", b.err)
	}
	rid, text, err := b.w.insert(ctx, c, b.now)
	if err != nil {
		if argus.ErrorCode(err) == argus.EINTERNAL {
			b.err = err
		}
		return err
	}
	b.cells.add(c.Lat, c.Lon, rid, 1, maxCellZoom)
	b.tris.add(text, 1)
	c.CreatedAt, c.UpdatedAt = b.now, b.now
	return nil
}

// Commit writes the cell counts and commits the batch.
func (b *bulk) Commit() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.tx == nil {
		return errors.New("camera bulk is finished")
	}
	tx := b.tx
	b.tx = nil
	defer b.db.restoreCache()
	if b.err != nil {
		tx.Rollback()
		return fmt.Errorf("commit camera bulk: %w", b.err)
	}
	b.cells.rollUp()
	if err := b.tris.apply(context.Background(), tx, &b.db.ws); err != nil {
		tx.Rollback()
		return fmt.Errorf("commit camera bulk: %w", err)
	}
	if err := b.cells.apply(context.Background(), tx, &b.db.ws); err != nil {
		tx.Rollback()
		return fmt.Errorf("commit camera bulk: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("commit camera bulk: %w", err)
	}
	return nil
}

// Rollback discards the batch; after Commit it does nothing.
func (b *bulk) Rollback() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.tx == nil {
		return nil
	}
	tx := b.tx
	b.tx = nil
	defer b.db.restoreCache()
	if err := tx.Rollback(); err != nil && !errors.Is(err, sql.ErrTxDone) {
		return fmt.Errorf("roll back camera bulk: %w", err)
	}
	return nil
}

// restoreCache returns the writer's page cache to its normal size after a
// bulk insert enlarged it.
func (db *DB) restoreCache() {
	if _, err := db.w.Exec(fmt.Sprintf("PRAGMA cache_size = -%d", writerCacheKiB)); err != nil {
		db.log.Warn("restore sqlite cache size", "err", err)
	}
}
