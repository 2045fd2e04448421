package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"math"
	"strings"

	"argus"
)

// maxCellZoom is the finest zoom kept in camera_cells, and the zoom of
// cameras.cell. Finer grids are aggregated from the cameras themselves,
// which is cheap at such small areas.
const maxCellZoom = 16

// cellAt returns the grid cell (row y, column x) of a position at zoom z.
// At zooms up to maxCellZoom it is derived from the finest cell by shifting,
// so the cells of all kept zooms nest exactly; the result equals
// floor((lat+90)/GridCellDeg(z)), floor((lon+180)/GridCellDeg(z)), because
// dividing by a power of two is exact in floating point.
func cellAt(lat, lon float64, z int) (y, x int64) {
	if z > maxCellZoom {
		d := argus.GridCellDeg(z)
		return int64(math.Floor((lat + 90) / d)), int64(math.Floor((lon + 180) / d))
	}
	d := argus.GridCellDeg(maxCellZoom)
	y, x = int64(math.Floor((lat+90)/d)), int64(math.Floor((lon+180)/d))
	return y >> (maxCellZoom - z), x >> (maxCellZoom - z)
}

// cellID is the cameras.cell value of a position: its cell at maxCellZoom,
// row and column packed so that a run of cells along a row is a range.
func cellID(lat, lon float64) int64 {
	y, x := cellAt(lat, lon, maxCellZoom)
	return y<<20 | x
}

// maxSpans bounds the runs an area query is cut into; a taller box is
// scanned as one range from its first cell to its last.
const maxSpans = 4096

// cellSpans returns the ranges [lo, hi] of cameras.cell that cover rows
// y0..y1 and columns x0..x1 at maxCellZoom.
func cellSpans(y0, y1, x0, x1 int64) [][2]int64 {
	if y0 > y1 || x0 > x1 {
		return nil
	}
	if y1-y0 >= maxSpans {
		return [][2]int64{{y0<<20 | x0, y1<<20 | x1}}
	}
	spans := make([][2]int64, 0, y1-y0+1)
	for y := y0; y <= y1; y++ {
		spans = append(spans, [2]int64{y<<20 | x0, y<<20 | x1})
	}
	return spans
}

// boxSpans returns the cell ranges that hold every camera inside b.
func boxSpans(b argus.BBox) [][2]int64 {
	y0, x0 := cellAt(b.MinLat, b.MinLon, maxCellZoom)
	y1, x1 := cellAt(b.MaxLat, b.MaxLon, maxCellZoom)
	return cellSpans(y0, y1, x0, x1)
}

// spansJoin selects the cameras g in the cell ranges given as a JSON array
// parameter; the caller adds the exact test.
const spansJoin = `json_each(?) s CROSS JOIN cameras g INDEXED BY cameras_cell
	ON g.cell BETWEEN s.value ->> 0 AND s.value ->> 1`

// nanodeg is a coordinate in integer nanodegrees: sums of them are exact, so
// cell means do not drift as cameras come and go.
func nanodeg(v float64) int64 { return int64(math.Round(v * 1e9)) }

type cellKey struct {
	z    int
	y, x int64
}

// cellSum is the aggregate of a cell: count, sums of nanodegree positions
// and of rids (the rid of the only camera when n is 1).
type cellSum struct{ n, lat, lon, rid int64 }

func (s *cellSum) plus(o cellSum) {
	s.n += o.n
	s.lat += o.lat
	s.lon += o.lon
	s.rid += o.rid
}

// cellDeltas are pending changes to camera_cells.
type cellDeltas map[cellKey]cellSum

// add counts a camera (sign 1) or discounts it (sign -1) in its cells at
// zooms from..maxCellZoom.
func (d cellDeltas) add(lat, lon float64, rid, sign int64, from int) {
	s := cellSum{sign, sign * nanodeg(lat), sign * nanodeg(lon), sign * rid}
	y, x := cellAt(lat, lon, maxCellZoom)
	for z := maxCellZoom; z >= from; z-- {
		k := cellKey{z, y >> (maxCellZoom - z), x >> (maxCellZoom - z)}
		v := d[k]
		v.plus(s)
		d[k] = v
	}
}

// rollUp adds to d the coarser cells (zooms 0..maxCellZoom-1) of its cells
// at maxCellZoom.
func (d cellDeltas) rollUp() {
	for z := maxCellZoom; z > 0; z-- {
		for k, v := range d {
			if k.z != z {
				continue
			}
			p := cellKey{z - 1, k.y >> 1, k.x >> 1}
			s := d[p]
			s.plus(v)
			d[p] = s
		}
	}
}

// cellBatch is how many camera_cells rows one upsert writes: the cells of
// one camera at every kept zoom.
const cellBatch = maxCellZoom + 1

func upsertCells(rows int) string {
	return `INSERT INTO camera_cells (z, y, x, n, sum_lat, sum_lon, sum_rid) VALUES ` +
		strings.TrimSuffix(strings.Repeat("(?, ?, ?, ?, ?, ?, ?), ", rows), ", ") +
		` ON CONFLICT (z, y, x) DO UPDATE SET n = n + excluded.n, sum_lat = sum_lat + excluded.sum_lat,
		sum_lon = sum_lon + excluded.sum_lon, sum_rid = sum_rid + excluded.sum_rid`
}

// apply writes the deltas to camera_cells and drops cells left empty.
func (d cellDeltas) apply(ctx context.Context, tx *sql.Tx, ws *writeStmts) error {
	batch, one := tx.StmtContext(ctx, ws.cells), tx.StmtContext(ctx, ws.cell)
	args := make([]any, 0, cellBatch*7)
	for k, v := range d {
		if v == (cellSum{}) {
			continue
		}
		args = append(args, k.z, k.y, k.x, v.n, v.lat, v.lon, v.rid)
		if len(args) == cap(args) {
			if _, err := batch.ExecContext(ctx, args...); err != nil {
				return fmt.Errorf("update camera cells: %w", err)
			}
			args = args[:0]
		}
	}
	for i := 0; i < len(args); i += 7 {
		if _, err := one.ExecContext(ctx, args[i:i+7]...); err != nil {
			return fmt.Errorf("update camera cells: %w", err)
		}
	}
	if _, err := tx.StmtContext(ctx, ws.dropEmpty).ExecContext(ctx); err != nil {
		return fmt.Errorf("update camera cells: %w", err)
	}
	return nil
}
