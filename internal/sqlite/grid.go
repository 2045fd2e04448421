package sqlite

import (
	"cmp"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"strings"

	"argus"
)

// CameraGrid counts the cameras matching q per cell of GridCellDeg(q.Zoom)
// degrees. A query that filters by area alone, at zoom 16 or less, reads the
// camera_cells pyramid (see boxCells). Other filters are aggregated in SQL
// from cameras.cell (groupCells), or in Go when a check is made in Go (a
// radius, text or a shared polygon) or the zoom is finer than 16.
func (db *DB) CameraGrid(ctx context.Context, q argus.GridQuery) ([]argus.GridCell, error) {
	if q.BBox == nil {
		return nil, argus.FieldErrorf("bbox", "a bounding box is required")
	}
	if q.Zoom < 0 || q.Zoom > 22 {
		return nil, argus.FieldErrorf("zoom", "zoom %d is outside 0..22", q.Zoom)
	}
	if err := q.CameraFilter.Validate(); err != nil {
		return nil, err
	}
	tx, err := db.readTx(ctx)
	if err != nil {
		return nil, err
	}
	defer tx.Rollback()

	p, err := db.plan(ctx, tx, &q.CameraFilter)
	if err != nil {
		return nil, err
	}
	var cells map[[2]int64]cellSum
	if p.onlyBox && q.Zoom <= maxCellZoom {
		if cells, err = boxCells(ctx, tx, *p.box, q.Zoom); err != nil {
			return nil, err
		}
	} else if p.near == nil && p.needle == "" && p.shared == nil && q.Zoom <= maxCellZoom {
		if cells, err = p.groupCells(ctx, tx, q.Zoom); err != nil {
			return nil, err
		}
	} else {
		cells = map[[2]int64]cellSum{}
		err := p.each(ctx, tx, func(rid int64, _ string, lat, lon float64) bool {
			addCamera(cells, lat, lon, rid, q.Zoom)
			return true
		})
		if err != nil {
			return nil, err
		}
	}
	return gridCells(ctx, tx, cells)
}

// groupCells aggregates, in SQL, the matches of a plan whose checks are all
// made in SQL, from cameras.cell. A small source leads; otherwise the
// cameras are read in table order, which beats looking each one up.
func (p *plan) groupCells(ctx context.Context, tx *sql.Tx, z int) (map[[2]int64]cellSum, error) {
	if p.empty {
		return map[[2]int64]cellSum{}, nil
	}
	lead, err := p.estimate(ctx, tx)
	if err != nil {
		return nil, err
	}
	if lead >= 0 && p.sources[lead].est > p.gatherLimit {
		lead = -1
	}
	shift := maxCellZoom - z
	from, args := `cameras c`, []any{shift, shift}
	where, wargs := p.where(lead)
	if lead >= 0 {
		from = `(` + p.sources[lead].distinct() + `) d CROSS JOIN cameras c ON c.rid = d.rid`
		args = append(args, p.sources[lead].args...)
	}
	q := `SELECT (c.cell >> 20) >> ?, (c.cell & 1048575) >> ?, count(*), sum(c.lat), sum(c.lon), sum(c.rid) FROM ` + from
	if len(where) > 0 {
		q += ` WHERE ` + strings.Join(where, " AND ")
	}
	rows, err := tx.QueryContext(ctx, q+` GROUP BY 1, 2`, append(args, wargs...)...)
	if err != nil {
		return nil, fmt.Errorf("camera grid: %w", err)
	}
	defer rows.Close()
	cells := map[[2]int64]cellSum{}
	for rows.Next() {
		var k [2]int64
		var s cellSum
		var lat, lon float64
		if err := rows.Scan(&k[0], &k[1], &s.n, &lat, &lon, &s.rid); err != nil {
			return nil, fmt.Errorf("camera grid: %w", err)
		}
		s.lat, s.lon = nanodeg(lat), nanodeg(lon)
		cells[k] = s
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("camera grid: %w", err)
	}
	return cells, nil
}

func addCamera(cells map[[2]int64]cellSum, lat, lon float64, rid int64, z int) {
	y, x := cellAt(lat, lon, z)
	s := cells[[2]int64{y, x}]
	s.plus(cellSum{1, nanodeg(lat), nanodeg(lon), rid})
	cells[[2]int64{y, x}] = s
}

// gridCells turns cell sums into GridCells ordered south to north, west to
// east, naming the camera of each single-camera cell.
func gridCells(ctx context.Context, tx *sql.Tx, cells map[[2]int64]cellSum) ([]argus.GridCell, error) {
	keys := make([][2]int64, 0, len(cells))
	var singles []int64
	for k, s := range cells {
		if s.n > 0 {
			keys = append(keys, k)
		}
		if s.n == 1 {
			singles = append(singles, s.rid)
		}
	}
	slices.SortFunc(keys, func(a, b [2]int64) int { return cmp.Or(cmp.Compare(a[0], b[0]), cmp.Compare(a[1], b[1])) })
	ids := make(map[int64]string, len(singles))
	if len(singles) > 0 {
		list, err := json.Marshal(singles)
		if err != nil {
			return nil, err
		}
		rows, err := tx.QueryContext(ctx, `SELECT rid, id FROM cameras WHERE rid IN (SELECT value FROM json_each(?))`, string(list))
		if err != nil {
			return nil, fmt.Errorf("camera grid: %w", err)
		}
		defer rows.Close()
		for rows.Next() {
			var rid int64
			var id string
			if err := rows.Scan(&rid, &id); err != nil {
				return nil, fmt.Errorf("camera grid: %w", err)
			}
			ids[rid] = id
		}
		if err := rows.Err(); err != nil {
			return nil, fmt.Errorf("camera grid: %w", err)
		}
	}
	out := make([]argus.GridCell, 0, len(keys))
	for _, k := range keys {
		s := cells[k]
		c := argus.GridCell{Lat: float64(s.lat) / 1e9 / float64(s.n), Lon: float64(s.lon) / 1e9 / float64(s.n), Count: int(s.n)}
		if s.n == 1 {
			c.CameraID = ids[s.rid]
		}
		out = append(out, c)
	}
	return out, nil
}

// cellRange is the inclusive range of cells at zoom z that lie wholly inside
// a box, with a margin of a nanodegree so that floating-point rounding never
// puts a camera outside the box into it.
type cellRange struct {
	z              int
	y0, y1, x0, x1 int64
}

func (r cellRange) empty() bool { return r.y0 > r.y1 || r.x0 > r.x1 }

func interior(b argus.BBox, z int) cellRange {
	const eps = 1e-9
	d := argus.GridCellDeg(z)
	return cellRange{
		z:  z,
		y0: int64(math.Ceil((b.MinLat + eps + 90) / d)), y1: int64(math.Floor((b.MaxLat-eps+90)/d)) - 1,
		x0: int64(math.Ceil((b.MinLon + eps + 180) / d)), x1: int64(math.Floor((b.MaxLon-eps+180)/d)) - 1,
	}
}

// strip is a one-cell-wide run of cells: row a from lo to hi, or column a.
type strip struct {
	z          int
	a, lo, hi  int64
	isColumn   bool
	plainRange *cellRange // set for a rectangle too large to cut into strips
}

// maxStrips bounds how many strips a rectangle is cut into; a larger one is
// read with one range scan.
const maxStrips = 1000

func (r cellRange) strips() []strip {
	h, w := r.y1-r.y0+1, r.x1-r.x0+1
	var out []strip
	switch {
	case min(h, w) > maxStrips:
		out = append(out, strip{plainRange: &r})
	case h <= w:
		for y := r.y0; y <= r.y1; y++ {
			out = append(out, strip{z: r.z, a: y, lo: r.x0, hi: r.x1})
		}
	default:
		for x := r.x0; x <= r.x1; x++ {
			out = append(out, strip{z: r.z, a: x, lo: r.y0, hi: r.y1, isColumn: true})
		}
	}
	return out
}

// boxCells sums the cameras inside b per cell at zoom z (z <= maxCellZoom).
//
// The box is covered by the coarsest cells of camera_cells that fit wholly
// inside it: the cells of zoom z inside b, then at each finer zoom the ring of
// cells inside b but not inside a coarser cell already taken, down to
// maxCellZoom. Each ring is at most one cell wide on each side, so a whole
// city reads a few hundred rows. The cameras in the thin margin left between
// the finest ring and the edge of b are read and tested one by one.
func boxCells(ctx context.Context, tx *sql.Tx, b argus.BBox, z int) (map[[2]int64]cellSum, error) {
	out := map[[2]int64]cellSum{}
	var strips []strip
	var prev cellRange
	for l := z; l <= maxCellZoom; l++ {
		r := interior(b, l)
		switch {
		case r.empty():
		case l == z || prev.empty():
			strips = append(strips, r.strips()...)
		default:
			in := cellRange{z: l, y0: 2 * prev.y0, y1: 2*prev.y1 + 1, x0: 2 * prev.x0, x1: 2*prev.x1 + 1}
			for y := r.y0; y < in.y0; y++ {
				strips = append(strips, strip{z: l, a: y, lo: r.x0, hi: r.x1})
			}
			for y := in.y1 + 1; y <= r.y1; y++ {
				strips = append(strips, strip{z: l, a: y, lo: r.x0, hi: r.x1})
			}
			for x := r.x0; x < in.x0; x++ {
				strips = append(strips, strip{z: l, a: x, lo: in.y0, hi: in.y1, isColumn: true})
			}
			for x := in.x1 + 1; x <= r.x1; x++ {
				strips = append(strips, strip{z: l, a: x, lo: in.y0, hi: in.y1, isColumn: true})
			}
		}
		prev = r
	}
	err := readStrips(ctx, tx, strips, func(l int, y, x int64, c cellSum) {
		k := [2]int64{y >> (l - z), x >> (l - z)}
		v := out[k]
		v.plus(c)
		out[k] = v
	})
	if err != nil {
		return nil, err
	}

	// The margin: the cameras of b outside the cover lie in the finest
	// cells that b only partly overlaps. camera_cells names the non-empty
	// ones; their cameras are tested one by one.
	fine := prev
	by0, bx0 := cellAt(b.MinLat, b.MinLon, maxCellZoom)
	by1, bx1 := cellAt(b.MaxLat, b.MaxLon, maxCellZoom)
	margin := []cellRange{{maxCellZoom, by0, by1, bx0, bx1}}
	if !fine.empty() {
		margin = []cellRange{
			{maxCellZoom, by0, fine.y0 - 1, bx0, bx1},
			{maxCellZoom, fine.y1 + 1, by1, bx0, bx1},
			{maxCellZoom, fine.y0, fine.y1, bx0, fine.x0 - 1},
			{maxCellZoom, fine.y0, fine.y1, fine.x1 + 1, bx1},
		}
	}
	strips = strips[:0]
	for _, r := range margin {
		if !r.empty() {
			strips = append(strips, r.strips()...)
		}
	}
	var partial []int64
	err = readStrips(ctx, tx, strips, func(_ int, y, x int64, _ cellSum) { partial = append(partial, y<<20|x) })
	if err != nil || len(partial) == 0 {
		return out, err
	}
	list, _ := json.Marshal(partial)
	rows, err := tx.QueryContext(ctx, `SELECT g.rid, g.lat, g.lon FROM json_each(?) s
		CROSS JOIN cameras g INDEXED BY cameras_cell ON g.cell = s.value`, string(list))
	if err != nil {
		return nil, fmt.Errorf("camera grid margin: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var rid int64
		var lat, lon float64
		if err := rows.Scan(&rid, &lat, &lon); err != nil {
			return nil, fmt.Errorf("camera grid margin: %w", err)
		}
		if b.Contains(argus.GeoPoint{Lat: lat, Lon: lon}) {
			addCamera(out, lat, lon, rid, z)
		}
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("camera grid margin: %w", err)
	}
	return out, nil
}

// readStrips calls fn with every camera_cells row in strips.
func readStrips(ctx context.Context, tx *sql.Tx, strips []strip, fn func(z int, y, x int64, s cellSum)) error {
	const cols = `c.z, c.y, c.x, c.n, c.sum_lat, c.sum_lon, c.sum_rid`
	const with = `WITH s(z, a, lo, hi) AS (SELECT value ->> 0, value ->> 1, value ->> 2, value ->> 3 FROM json_each(?)) `
	var rows, columns [][4]int64
	type query struct {
		sql  string
		args []any
	}
	var queries []query
	for _, s := range strips {
		switch {
		case s.plainRange != nil:
			r := s.plainRange
			queries = append(queries, query{`SELECT ` + cols + ` FROM camera_cells c
				WHERE c.z = ? AND c.y BETWEEN ? AND ? AND c.x BETWEEN ? AND ?`, []any{r.z, r.y0, r.y1, r.x0, r.x1}})
		case s.isColumn:
			columns = append(columns, [4]int64{int64(s.z), s.a, s.lo, s.hi})
		default:
			rows = append(rows, [4]int64{int64(s.z), s.a, s.lo, s.hi})
		}
	}
	if len(rows) > 0 {
		list, _ := json.Marshal(rows)
		queries = append(queries, query{with + `SELECT ` + cols + ` FROM s CROSS JOIN camera_cells c
			ON c.z = s.z AND c.y = s.a AND c.x BETWEEN s.lo AND s.hi`, []any{string(list)}})
	}
	if len(columns) > 0 {
		list, _ := json.Marshal(columns)
		queries = append(queries, query{with + `SELECT ` + cols + ` FROM s CROSS JOIN camera_cells c INDEXED BY camera_cells_column
			ON c.z = s.z AND c.x = s.a AND c.y BETWEEN s.lo AND s.hi`, []any{string(list)}})
	}
	for _, q := range queries {
		if err := readCells(ctx, tx, q.sql, q.args, fn); err != nil {
			return err
		}
	}
	return nil
}

func readCells(ctx context.Context, tx *sql.Tx, q string, args []any, fn func(z int, y, x int64, s cellSum)) error {
	rows, err := tx.QueryContext(ctx, q, args...)
	if err != nil {
		return fmt.Errorf("camera grid: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var z int
		var y, x int64
		var s cellSum
		if err := rows.Scan(&z, &y, &x, &s.n, &s.lat, &s.lon, &s.rid); err != nil {
			return fmt.Errorf("camera grid: %w", err)
		}
		fn(z, y, x, s)
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("camera grid: %w", err)
	}
	return nil
}

// countZoom picks the zoom at which counting the cameras in b reads the
// fewest cells: about four cells across the box's longer side.
func countZoom(b argus.BBox) int {
	span := max(b.MaxLat-b.MinLat, b.MaxLon-b.MinLon, 1e-9)
	z := int(math.Floor(math.Log2(45/span))) + 2
	return max(0, min(z, maxCellZoom))
}
