package sqlite

import (
	"context"
	"database/sql"
	"encoding/base64"
	"fmt"
	"slices"
	"strings"

	"argus"
)

// defaultGatherLimit decides how a listing runs. Each indexed part of a
// filter (area, text, tag, organisation, district) is a source of candidate
// (rid, id) pairs read from an index alone. When the smallest source holds
// at most this many, they are sorted by id and checked against the rest of
// the filter in that order until the page is full. Otherwise matches are
// dense, and walking an index in id order fills a page quickly.
const defaultGatherLimit = 15_000

// source is one indexed part of a filter.
type source struct {
	drive  string // selects rid and id of every candidate
	args   []any
	isText bool // the drive checks the needle exactly
	// est is the number of candidates, counted up to a bound (so at most
	// the gather limit + 1), or -1 until counted; sure says it is certain
	// (a count, not a text estimate).
	est  int
	sure bool
	// pred checks the part on cameras c when another source leads; text
	// has none, it is checked in Go.
	pred     string
	predArgs []any
	// walk, when set, selects rid and oid (the camera id) of the candidates
	// in id order from an index alone; its parameters are args, an id to
	// start after and a row limit.
	walk string
	// dup says that drive may select a candidate more than once (and est
	// then counts it as often).
	dup bool
	// leadOnTie makes the source lead when its count ties with the
	// smallest so far (both past the gather limit, most likely): an
	// organisation's cameras and its shares are rarely as many as a large
	// area's.
	leadOnTie bool
}

// distinct returns the drive, selecting each candidate once.
func (s *source) distinct() string {
	if s.dup {
		return `SELECT DISTINCT rid, id FROM (` + s.drive + `)`
	}
	return s.drive
}

// plan is a filter turned into SQL parts and checks made in Go.
type plan struct {
	gatherLimit int
	sources     []source
	preds       []string // always applied, on cameras c
	args        []any
	needle      string // lower-cased text the id, name or address must contain
	near        *argus.Circle
	box         *argus.BBox // bbox ∩ bounds of near
	empty       bool        // nothing can match
	onlyBox     bool        // the filter is a bbox and nothing else
	shared      *shareCheck // set when share scopes need a check in Go
}

func (db *DB) plan(ctx context.Context, tx *sql.Tx, f *argus.CameraFilter) (*plan, error) {
	p := &plan{gatherLimit: db.gatherLimit, near: f.Near}
	if f.BBox != nil {
		b := *f.BBox
		p.box = &b
	}
	if f.Near != nil {
		nb := f.Near.Bounds()
		if p.box == nil {
			p.box = &nb
		} else {
			p.box.MinLat, p.box.MaxLat = max(p.box.MinLat, nb.MinLat), min(p.box.MaxLat, nb.MaxLat)
			p.box.MinLon, p.box.MaxLon = max(p.box.MinLon, nb.MinLon), min(p.box.MaxLon, nb.MaxLon)
			p.empty = p.box.MinLat > p.box.MaxLat || p.box.MinLon > p.box.MaxLon
		}
	}
	if b := p.box; b != nil && !p.empty {
		p.sources = append(p.sources, source{
			drive: `SELECT g.rid AS rid, g.id AS id FROM ` + spansJoin +
				` WHERE g.lat BETWEEN ? AND ? AND g.lon BETWEEN ? AND ?`,
			args: []any{jsonArray(boxSpans(*b)), b.MinLat, b.MaxLat, b.MinLon, b.MaxLon}, est: -1,
			pred: `c.lat BETWEEN ? AND ? AND c.lon BETWEEN ? AND ?`, predArgs: []any{b.MinLat, b.MaxLat, b.MinLon, b.MaxLon},
		})
	}
	if f.Text != "" {
		p.needle = strings.ToLower(strings.TrimSpace(f.Text))
		tq, err := planText(ctx, tx, p.needle)
		if err != nil {
			return nil, err
		}
		p.empty = p.empty || tq.bound == 0
		p.sources = append(p.sources, source{
			drive: `SELECT t.rid AS rid, t.id AS id FROM camera_fts f CROSS JOIN camera_text t ON t.rid = f.rowid
				WHERE camera_fts MATCH ? AND instr(t.search, ?) > 0`,
			args: []any{tq.match, p.needle}, est: textEstimate(tq, p.gatherLimit), sure: tq.bound <= p.gatherLimit,
			isText: !strings.ContainsRune(p.needle, 0x1f),
		})
	}
	tags := slices.Clone(f.Tags)
	slices.Sort(tags)
	for _, t := range slices.Compact(tags) {
		p.sources = append(p.sources, source{
			drive: `SELECT rid, camera_id AS id FROM camera_tags WHERE tag = ?`, args: []any{t}, est: -1,
			pred: `EXISTS (SELECT 1 FROM camera_tags t WHERE t.tag = ? AND t.camera_id = c.id)`, predArgs: []any{t},
			walk: `SELECT rid, camera_id AS oid FROM camera_tags WHERE tag = ? AND camera_id > ? ORDER BY camera_id LIMIT ?`,
		})
	}
	if len(f.Shared) > 0 {
		var s source
		s, p.shared = sharedSource(f.OrgIDs, f.Shared)
		p.sources = append(p.sources, s)
	} else if len(f.OrgIDs) > 0 {
		orgs := slices.Clone(f.OrgIDs)
		slices.Sort(orgs)
		orgs = slices.Compact(orgs)
		in := inList(len(orgs))
		s := source{
			drive: `SELECT rid, id FROM cameras INDEXED BY cameras_org WHERE org_id ` + in, args: anys(orgs), est: -1,
			pred: `c.org_id ` + in, predArgs: anys(orgs),
		}
		if len(orgs) == 1 {
			s.walk = `SELECT rid, id AS oid FROM cameras INDEXED BY cameras_org WHERE org_id = ? AND id > ? ORDER BY id LIMIT ?`
		}
		p.sources = append(p.sources, s)
	}
	if f.District != "" {
		p.sources = append(p.sources, source{
			drive: `SELECT rid, id FROM cameras INDEXED BY cameras_district WHERE district = ?`,
			args:  []any{f.District}, est: -1, pred: `c.district = ?`, predArgs: []any{f.District},
			walk: `SELECT rid, id AS oid FROM cameras INDEXED BY cameras_district WHERE district = ? AND id > ? ORDER BY id LIMIT ?`,
		})
	}
	if f.Recording != nil {
		p.preds = append(p.preds, `c.recording = ?`)
		p.args = append(p.args, *f.Recording)
	}
	p.onlyBox = f.BBox != nil && f.Near == nil && len(p.sources) == 1 && f.Recording == nil
	return p, nil
}

// textEstimate is the candidate count the planner uses for a text source:
// the certain bound when it is within limit; else the estimate when that
// is well within (gather will give up if it is wrong); else over the limit.
func textEstimate(tq textQuery, limit int) int {
	switch {
	case tq.bound <= limit:
		return tq.bound
	case tq.est <= limit/4:
		return tq.est
	}
	return limit + 1
}

func anys[T any](v []T) []any {
	out := make([]any, len(v))
	for i := range v {
		out[i] = v[i]
	}
	return out
}

// estimate counts the candidates of the sources not yet counted and
// returns the index of the smallest source. Sources already estimated go
// first, and each count stops one past the smallest so far (and past the
// gather limit), so a large source costs little to rule out.
func (p *plan) estimate(ctx context.Context, tx *sql.Tx) (int, error) {
	best := -1
	for _, known := range []bool{true, false} {
		for i := range p.sources {
			s := &p.sources[i]
			if (s.est >= 0) != known {
				continue
			}
			if !known {
				bound := p.gatherLimit
				if best >= 0 {
					bound = min(bound, p.sources[best].est)
				}
				q := `SELECT count(*) FROM (` + s.drive + ` LIMIT ?)`
				if err := tx.QueryRowContext(ctx, q, append(slices.Clone(s.args), bound+1)...).Scan(&s.est); err != nil {
					return 0, fmt.Errorf("count camera candidates: %w", err)
				}
				s.sure = true
			}
			if best < 0 || s.est < p.sources[best].est || (s.leadOnTie && s.est == p.sources[best].est) {
				best = i
			}
		}
	}
	return best, nil
}

// walker returns the source to walk in id order when no source is small:
// the walkable one with the fewest candidates, whose rows then most likely
// pass the other checks, or -1 for the cameras_id index.
func (p *plan) walker() int {
	w := -1
	for i, s := range p.sources {
		if s.walk != "" && (w < 0 || uint(s.est) < uint(p.sources[w].est)) {
			w = i
		}
	}
	return w
}

// where returns the checks made in SQL on cameras c when source lead (-1 for
// none) selects the candidates.
func (p *plan) where(lead int) ([]string, []any) {
	where, args := slices.Clone(p.preds), slices.Clone(p.args)
	for i, s := range p.sources {
		if i != lead && s.pred != "" {
			where = append(where, s.pred)
			args = append(args, s.predArgs...)
		}
	}
	return where, args
}

// row is a camera as the checks in Go read it: the columns of cols().
type row struct {
	rid               int64
	id, name, address string
	lat, lon          float64
	org, tags         string // read only for a share check
}

const scanCols = `c.rid, c.id, c.lat, c.lon, c.name, c.address`

// cols returns the columns the checks in Go read, for dest.
func (p *plan) cols() string {
	if p.shared != nil {
		return scanCols + `, c.org_id, c.tags`
	}
	return scanCols
}

// dest returns where to scan the columns of cols into r.
func (p *plan) dest(r *row) []any {
	d := []any{&r.rid, &r.id, &r.lat, &r.lon, &r.name, &r.address}
	if p.shared != nil {
		d = append(d, &r.org, &r.tags)
	}
	return d
}

// inGo makes the checks done in Go on one camera.
func (p *plan) inGo(r *row) bool {
	if p.near != nil && p.near.Center.DistanceM(argus.GeoPoint{Lat: r.lat, Lon: r.lon}) > p.near.RadiusM {
		return false
	}
	if p.needle != "" && !containsText(p.needle, r.id, r.name, r.address) {
		return false
	}
	return p.shared == nil || p.shared.keeps(r)
}

// scan runs SQL selecting cols() and calls fn for each row that passes the
// checks in Go, until fn returns false.
func (p *plan) scan(ctx context.Context, tx *sql.Tx, q string, args []any, fn func(rid int64, id string, lat, lon float64) bool) error {
	rows, err := tx.QueryContext(ctx, q, args...)
	if err != nil {
		return fmt.Errorf("query cameras: %w", err)
	}
	defer rows.Close()
	var r row
	dest := p.dest(&r)
	for rows.Next() {
		if err := rows.Scan(dest...); err != nil {
			return fmt.Errorf("query cameras: %w", err)
		}
		if p.inGo(&r) && !fn(r.rid, r.id, r.lat, r.lon) {
			break
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("query cameras: %w", err)
	}
	return nil
}

// each calls fn for every match, in no particular order, reading the
// candidates of the smallest source (or every camera) until fn returns false.
func (p *plan) each(ctx context.Context, tx *sql.Tx, fn func(rid int64, id string, lat, lon float64) bool) error {
	if p.empty {
		return nil
	}
	lead, err := p.estimate(ctx, tx)
	if err != nil {
		return err
	}
	from := `cameras c`
	where, args := p.where(lead)
	if lead >= 0 {
		from = `(` + p.sources[lead].distinct() + `) d CROSS JOIN cameras c ON c.rid = d.rid`
		args = append(slices.Clone(p.sources[lead].args), args...)
	}
	q := `SELECT ` + p.cols() + ` FROM ` + from
	if len(where) > 0 {
		q += ` WHERE ` + strings.Join(where, " AND ")
	}
	return p.scan(ctx, tx, q, args, fn)
}

// walk calls fn for the matches after the id after, in id order, walking
// the index of source lead (-1: cameras_id) a window at a time, until fn
// returns false or the index ends. With budget > 0 it gives up after
// walking that many rows and reports it.
func (p *plan) walk(ctx context.Context, tx *sql.Tx, lead int, after string, budget int,
	fn func(rid int64, id string, lat, lon float64) bool) (overBudget bool, err error) {
	inner, innerArgs := `SELECT rid, id AS oid FROM cameras INDEXED BY cameras_id WHERE id > ? ORDER BY id LIMIT ?`, []any(nil)
	if lead >= 0 {
		inner, innerArgs = p.sources[lead].walk, p.sources[lead].args
	}
	// Rows that fail the checks made in SQL come back too, flagged, so the
	// walk knows where it is.
	ok, okArgs := "1", []any(nil)
	if where, args := p.where(lead); len(where) > 0 {
		ok, okArgs = strings.Join(where, " AND "), args
	}
	q := `SELECT ` + p.cols() + `, ` + ok + ` FROM (` + inner + `) w CROSS JOIN cameras c ON c.rid = w.rid ORDER BY w.oid`
	walked, done := 0, false
	window := 256
	if budget > 0 {
		window = max(8, min(window, budget/4))
	}
	var r row
	var match bool
	dest := append(p.dest(&r), &match)
	for ; !done; window = min(2*window, 8192) {
		args := append(slices.Concat(okArgs, innerArgs), after, window)
		rows, err := tx.QueryContext(ctx, q, args...)
		if err != nil {
			return false, fmt.Errorf("walk cameras: %w", err)
		}
		n := 0
		for rows.Next() {
			if err := rows.Scan(dest...); err != nil {
				rows.Close()
				return false, fmt.Errorf("walk cameras: %w", err)
			}
			n++
			after = r.id
			if match && p.inGo(&r) && !fn(r.rid, r.id, r.lat, r.lon) {
				done = true
				break
			}
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return false, fmt.Errorf("walk cameras: %w", err)
		}
		walked += n
		switch {
		case done:
		case n < window:
			done = true
		case budget > 0 && walked >= budget:
			return true, nil
		}
	}
	return false, nil
}

type candidate struct {
	rid int64
	id  string
}

// gather returns the rids of the first want matches after the id after,
// in id order, from the candidates of source lead. ok is false when the
// source holds more than limit candidates (limit < 0: any number).
func (p *plan) gather(ctx context.Context, tx *sql.Tx, lead int, after string, want, limit int) (rids []int64, ok bool, err error) {
	s := p.sources[lead]
	where, wargs := p.where(lead)
	needle := p.needle
	if s.isText {
		needle = "" // checked by the drive
	}
	pure := len(where) == 0 && p.near == nil && needle == "" && p.shared == nil
	q, args := `SELECT d.rid, d.id FROM (`+s.drive+`) d WHERE d.id > ?`, append(slices.Clone(s.args), after)
	if pure && s.sure && s.est >= 0 && (limit < 0 || s.est <= limit) {
		// Known to be small and needing no checks: SQLite keeps the first
		// want in a bounded sort and only those cross into Go.
		q := `SELECT d.rid, d.id FROM (` + s.distinct() + `) d WHERE d.id > ?`
		rows, err := tx.QueryContext(ctx, q+` ORDER BY d.id LIMIT ?`, append(args, want)...)
		if err != nil {
			return nil, false, fmt.Errorf("gather cameras: %w", err)
		}
		defer rows.Close()
		for rows.Next() {
			var c candidate
			if err := rows.Scan(&c.rid, &c.id); err != nil {
				return nil, false, fmt.Errorf("gather cameras: %w", err)
			}
			rids = append(rids, c.rid)
		}
		if err := rows.Err(); err != nil {
			return nil, false, fmt.Errorf("gather cameras: %w", err)
		}
		return rids, true, nil
	}
	rowLimit := limit + 1
	if limit < 0 {
		rowLimit = -1
	}
	rows, err := tx.QueryContext(ctx, q+` LIMIT ?`, append(args, rowLimit)...)
	if err != nil {
		return nil, false, fmt.Errorf("gather cameras: %w", err)
	}
	var cands []candidate
	for rows.Next() {
		var c candidate
		if err := rows.Scan(&c.rid, &c.id); err != nil {
			rows.Close()
			return nil, false, fmt.Errorf("gather cameras: %w", err)
		}
		cands = append(cands, c)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, false, fmt.Errorf("gather cameras: %w", err)
	}
	if limit >= 0 && len(cands) > limit {
		return nil, false, nil
	}
	slices.SortFunc(cands, func(a, b candidate) int { return strings.Compare(a.id, b.id) })
	if s.dup {
		cands = slices.CompactFunc(cands, func(a, b candidate) bool { return a.rid == b.rid })
	}
	if pure {
		for _, c := range cands[:min(want, len(cands))] {
			rids = append(rids, c.rid)
		}
		return rids, true, nil
	}
	// Check the candidates in id order, a chunk at a time, until enough
	// match; each chunk is sized from the share that matched so far.
	check := `SELECT ` + p.cols() + ` FROM cameras c WHERE c.rid IN (SELECT value FROM json_each(?))`
	if len(where) > 0 {
		check += ` AND ` + strings.Join(where, " AND ")
	}
	checked := 0
	for checked < len(cands) && len(rids) < want {
		n := want + want/4 + 8
		if checked > 0 {
			share := float64(len(rids)+1) / float64(checked)
			n = int(float64(want-len(rids))/share*1.25) + 8
		}
		chunk := cands[checked:min(checked+n, len(cands))]
		checked += len(chunk)
		list := make([]int64, len(chunk))
		for i, c := range chunk {
			list[i] = c.rid
		}
		matched := map[int64]bool{}
		err := p.scan(ctx, tx, check, append([]any{jsonArray(list)}, wargs...), func(rid int64, _ string, _, _ float64) bool {
			matched[rid] = true
			return true
		})
		if err != nil {
			return nil, false, err
		}
		for _, c := range chunk {
			if matched[c.rid] && len(rids) < want {
				rids = append(rids, c.rid)
			}
		}
	}
	return rids, true, nil
}

// find returns the rids of the first want matches after the id after, in
// id order: gathered from the smallest source when it is small, else found
// by walking an index in id order, and gathered after all when the walk
// finds matches too sparse.
func (p *plan) find(ctx context.Context, tx *sql.Tx, after string, want int) ([]int64, error) {
	if p.empty {
		return nil, nil
	}
	lead, budget := -1, 0
	switch {
	case len(p.sources) == 1 && p.sources[0].walk != "":
		// One source walked in id order: every row it yields is likely a
		// match.
		lead, budget = 0, 2*p.gatherLimit
	case len(p.sources) > 0:
		best := 0
		if len(p.sources) > 1 {
			var err error
			if best, err = p.estimate(ctx, tx); err != nil {
				return nil, err
			}
		}
		if p.sources[best].est <= p.gatherLimit {
			rids, ok, err := p.gather(ctx, tx, best, after, want, p.gatherLimit)
			if err != nil || ok {
				return rids, err
			}
		}
		lead, budget = p.walker(), 2*p.gatherLimit
	}
	var rids []int64
	add := func(rid int64, _ string, _, _ float64) bool {
		rids = append(rids, rid)
		return len(rids) < want
	}
	over, err := p.walk(ctx, tx, lead, after, budget, add)
	if err != nil || !over {
		return rids, err
	}
	best, err := p.estimate(ctx, tx)
	if err != nil {
		return nil, err
	}
	rids, _, err = p.gather(ctx, tx, best, after, want, -1)
	return rids, err
}

// readTx starts a read-only transaction: one snapshot for a whole query.
func (db *DB) readTx(ctx context.Context) (*sql.Tx, error) {
	tx, err := db.r.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return nil, fmt.Errorf("begin read: %w", err)
	}
	return tx, nil
}

// FindCameras returns one page of the cameras matching q, ordered by id,
// without credentials. The cursor is the last id of the page, encoded.
func (db *DB) FindCameras(ctx context.Context, q argus.CameraQuery) (argus.CameraPage, error) {
	if err := q.CameraFilter.Validate(); err != nil {
		return argus.CameraPage{}, err
	}
	var after string
	if q.After != "" {
		b, err := base64.RawURLEncoding.DecodeString(q.After)
		if err != nil || !argus.ValidID(string(b)) {
			return argus.CameraPage{}, argus.FieldErrorf("after", "the page cursor is not valid")
		}
		after = string(b)
	}
	limit := argus.PageLimit(q.Limit)
	tx, err := db.readTx(ctx)
	if err != nil {
		return argus.CameraPage{}, err
	}
	defer tx.Rollback()

	p, err := db.plan(ctx, tx, &q.CameraFilter)
	if err != nil {
		return argus.CameraPage{}, err
	}
	rids, err := p.find(ctx, tx, after, limit+1)
	if err != nil {
		return argus.CameraPage{}, err
	}
	page := argus.CameraPage{Items: make([]*argus.Camera, 0, min(len(rids), limit))}
	more := len(rids) > limit
	if more {
		rids = rids[:limit]
	}
	if len(rids) == 0 {
		return page, nil
	}
	rows, err := tx.QueryContext(ctx, `SELECT `+cameraCols+` FROM cameras c
		WHERE c.rid IN (SELECT value FROM json_each(?)) ORDER BY c.id`, jsonArray(rids))
	if err != nil {
		return argus.CameraPage{}, fmt.Errorf("find cameras: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		c, err := scanCamera(rows)
		if err != nil {
			return argus.CameraPage{}, fmt.Errorf("find cameras: %w", err)
		}
		page.Items = append(page.Items, c)
	}
	if err := rows.Err(); err != nil {
		return argus.CameraPage{}, fmt.Errorf("find cameras: %w", err)
	}
	if more {
		page.Next = base64.RawURLEncoding.EncodeToString([]byte(page.Items[len(page.Items)-1].ID))
	}
	return page, nil
}

// CountCameras returns how many cameras match f.
func (db *DB) CountCameras(ctx context.Context, f argus.CameraFilter) (int, error) {
	if err := f.Validate(); err != nil {
		return 0, err
	}
	tx, err := db.readTx(ctx)
	if err != nil {
		return 0, err
	}
	defer tx.Rollback()
	p, err := db.plan(ctx, tx, &f)
	if err != nil {
		return 0, err
	}
	n := 0
	switch {
	case p.empty:
	case len(p.sources) == 0 && len(p.preds) == 0:
		err = tx.QueryRowContext(ctx, `SELECT coalesce(sum(n), 0) FROM camera_cells WHERE z = 0`).Scan(&n)
	case p.onlyBox:
		var cells map[[2]int64]cellSum
		cells, err = boxCells(ctx, tx, *p.box, countZoom(*p.box))
		for _, s := range cells {
			n += int(s.n)
		}
	case len(p.sources) == 1 && len(p.preds) == 0 && p.near == nil && p.shared == nil && (p.needle == "" || p.sources[0].isText):
		// One source that checks itself: count its index entries.
		s := p.sources[0]
		err = tx.QueryRowContext(ctx, `SELECT count(*) FROM (`+s.distinct()+`)`, s.args...).Scan(&n)
	default:
		err = p.each(ctx, tx, func(int64, string, float64, float64) bool { n++; return true })
	}
	if err != nil {
		return 0, fmt.Errorf("count cameras: %w", err)
	}
	return n, nil
}
