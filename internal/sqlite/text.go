package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"strings"
	"unicode"
)

const (
	insertFTS = `INSERT INTO camera_fts (rowid, id, name, address) VALUES (?, ?, ?, ?)`
	deleteFTS = `INSERT INTO camera_fts (camera_fts, rowid, id, name, address) VALUES ('delete', ?, ?, ?, ?)`
)

// searchText returns the id, name and address of a camera lower-cased the way
// CameraFilter.Text is, which is how the FTS index holds them.
func searchText(id, name, address string) [3]string {
	return [3]string{strings.ToLower(id), strings.ToLower(name), strings.ToLower(address)}
}

func ftsArgs(rid int64, t [3]string) []any { return []any{rid, t[0], t[1], t[2]} }

// searchJoin is the camera_text.search value: the three texts joined by
// U+001F, so one instr() checks them all. (A needle holding U+001F could
// match across two of them, so such a needle is checked in Go instead.)
func searchJoin(t [3]string) string { return t[0] + "\x1f" + t[1] + "\x1f" + t[2] }

// trigram is three runes packed into 63 bits, a cheap map key.
type trigram uint64

func (t trigram) String() string {
	return string([]rune{rune(t >> 42), rune(t >> 21 & 0x1fffff), rune(t & 0x1fffff)})
}

// appendTrigrams appends the three-rune windows of s to dst.
func appendTrigrams(dst []trigram, s string) []trigram {
	var a, b rune
	n := 0
	for _, c := range s {
		if n >= 2 {
			dst = append(dst, trigram(a)<<42|trigram(b)<<21|trigram(c))
		}
		a, b, n = b, c, n+1
	}
	return dst
}

// trigramDeltas are pending changes to camera_trigrams.
type trigramDeltas map[trigram]int64

// add counts (sign 1) or discounts (sign -1) one camera's text: each
// distinct trigram of its id, name and address once.
func (d trigramDeltas) add(t [3]string, sign int64) {
	var buf [128]trigram
	tris := buf[:0]
	for _, s := range t {
		tris = appendTrigrams(tris, s)
	}
	slices.Sort(tris)
	for _, tri := range slices.Compact(tris) {
		d[tri] += sign
	}
}

// trigramBatch is how many camera_trigrams rows one upsert writes.
const trigramBatch = 32

func upsertTrigrams(rows int) string {
	return `INSERT INTO camera_trigrams (tri, n) VALUES ` +
		strings.TrimSuffix(strings.Repeat("(?, ?), ", rows), ", ") +
		` ON CONFLICT (tri) DO UPDATE SET n = n + excluded.n`
}

// apply writes the deltas. Rows that fall to zero stay: a zero count is
// true and costs nothing.
func (d trigramDeltas) apply(ctx context.Context, tx *sql.Tx, ws *writeStmts) error {
	batch, one := tx.StmtContext(ctx, ws.trigrams), tx.StmtContext(ctx, ws.trigram)
	args := make([]any, 0, trigramBatch*2)
	for tri, n := range d {
		if n == 0 {
			continue
		}
		args = append(args, tri.String(), n)
		if len(args) == cap(args) {
			if _, err := batch.ExecContext(ctx, args...); err != nil {
				return fmt.Errorf("update trigram counts: %w", err)
			}
			args = args[:0]
		}
	}
	for i := 0; i < len(args); i += 2 {
		if _, err := one.ExecContext(ctx, args[i:i+2]...); err != nil {
			return fmt.Errorf("update trigram counts: %w", err)
		}
	}
	return nil
}

// textQuery is the FTS side of a text filter: some trigrams of the needle,
// which every match contains, and estimates of how many cameras contain
// them all: bound (certain) and est (assuming independence).
type textQuery struct {
	match      string // an FTS5 query: the chosen trigrams ANDed
	bound, est int
}

// Costs, in nanoseconds, measured on the benchmark city: reading one
// posting of the first term, skipping another term to one candidate, and
// handling one candidate (its text looked up and checked, its id sorted).
const (
	postingCost   = 50
	skipCost      = 150
	candidateCost = 1300
)

// planText picks the trigrams of needle to look up. Reading a common
// trigram's postings is slow (" st" is in most cameras), so it starts from
// the rarest trigram and adds, rarest first, each trigram that brings in a
// word of the needle not yet represented, when skipping through it costs
// less than the candidates it should rule out. Candidates are then checked
// for the whole needle.
func planText(ctx context.Context, tx *sql.Tx, needle string) (textQuery, error) {
	var total int
	if err := tx.QueryRowContext(ctx, `SELECT coalesce(sum(n), 0) FROM camera_cells WHERE z = 0`).Scan(&total); err != nil {
		return textQuery{}, fmt.Errorf("plan text query: %w", err)
	}
	type term struct {
		tri   string
		words uint64 // bit i: touches the i-th word of the needle
		n     int
	}
	r := []rune(needle)
	word := make([]int, len(r)) // word index of each rune, -1 between words
	w, in := -1, false
	for i, c := range r {
		if unicode.IsLetter(c) || unicode.IsDigit(c) {
			if !in {
				w++
			}
			word[i], in = w, true
		} else {
			word[i], in = -1, false
		}
	}
	var terms []term
	var tris []string
	for i := 0; i+3 <= len(r); i++ {
		t := string(r[i : i+3])
		var words uint64
		for _, wi := range word[i : i+3] {
			if wi >= 0 && wi < 64 {
				words |= 1 << wi
			}
		}
		if j := slices.Index(tris, t); j >= 0 {
			terms[j].words |= words
			continue
		}
		tris = append(tris, t)
		terms = append(terms, term{tri: t, words: words})
	}
	rows, err := tx.QueryContext(ctx, `SELECT key, (SELECT n FROM camera_trigrams WHERE tri = value)
		FROM json_each(?)`, jsonArray(tris))
	if err != nil {
		return textQuery{}, fmt.Errorf("plan text query: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var i int
		var n sql.NullInt64
		if err := rows.Scan(&i, &n); err != nil {
			return textQuery{}, fmt.Errorf("plan text query: %w", err)
		}
		terms[i].n = int(n.Int64)
	}
	if err := rows.Err(); err != nil {
		return textQuery{}, fmt.Errorf("plan text query: %w", err)
	}
	slices.SortStableFunc(terms, func(a, b term) int { return a.n - b.n })
	match := []string{quoteTerm(terms[0].tri)}
	q := textQuery{bound: terms[0].n, est: terms[0].n}
	if total == 0 || q.bound == 0 {
		q.match = match[0]
		return q, nil
	}
	covered, est := terms[0].words, float64(q.bound)
	for _, t := range terms[1:] {
		if t.words&^covered == 0 || len(match) == 4 {
			continue
		}
		narrowed := est * float64(t.n) / float64(total)
		if min(float64(t.n)*postingCost, est*skipCost) >= (est-narrowed)*candidateCost {
			continue
		}
		match = append(match, quoteTerm(t.tri))
		covered |= t.words
		est = narrowed
	}
	q.match, q.est = strings.Join(match, " AND "), int(math.Ceil(est))
	return q, nil
}

func quoteTerm(t string) string { return `"` + strings.ReplaceAll(t, `"`, `""`) + `"` }

// jsonArray encodes v as a JSON array, the shape json_each reads.
func jsonArray[T any](v []T) string {
	b, _ := json.Marshal(v)
	return string(b)
}

// containsText reports whether any of a camera's id, name and address
// contains the lower-cased needle, case-insensitively.
func containsText(needle, id, name, address string) bool {
	return strings.Contains(strings.ToLower(id), needle) || strings.Contains(strings.ToLower(name), needle) ||
		strings.Contains(strings.ToLower(address), needle)
}
