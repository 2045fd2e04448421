package sqlite

import (
	"cmp"
	"context"
	"fmt"
	"maps"
	"slices"

	"argus"
)

// Districts summarises the cameras of each district from the
// cameras_district_row index alone: per owner and row of zoom-16 cells, the
// count and the extremes of longitude and latitude. A district's rows are
// merged across owners, and the corners of each row's extremes are its
// points (argus.District). Nothing is sorted in SQL, and for a whole city a
// few tens of thousands of rows reach Go.
func (db *DB) Districts(ctx context.Context) ([]argus.District, error) {
	rows, err := db.r.QueryContext(ctx, `SELECT district, org_id, cell >> 20, count(*), min(lon), max(lon), min(lat), max(lat)
		FROM cameras INDEXED BY cameras_district_row WHERE district > '' GROUP BY district, org_id, cell >> 20`)
	if err != nil {
		return nil, fmt.Errorf("districts: %w", err)
	}
	defer rows.Close()
	type summary struct {
		byOrg map[string]int
		rows  map[int64]argus.BBox
	}
	all := map[string]*summary{}
	for rows.Next() {
		var name, org string
		var y int64
		var n int
		var b argus.BBox
		if err := rows.Scan(&name, &org, &y, &n, &b.MinLon, &b.MaxLon, &b.MinLat, &b.MaxLat); err != nil {
			return nil, fmt.Errorf("districts: %w", err)
		}
		s := all[name]
		if s == nil {
			s = &summary{byOrg: map[string]int{}, rows: map[int64]argus.BBox{}}
			all[name] = s
		}
		s.byOrg[org] += n
		if a, ok := s.rows[y]; ok {
			b.MinLat, b.MaxLat = min(a.MinLat, b.MinLat), max(a.MaxLat, b.MaxLat)
			b.MinLon, b.MaxLon = min(a.MinLon, b.MinLon), max(a.MaxLon, b.MaxLon)
		}
		s.rows[y] = b
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("districts: %w", err)
	}
	out := make([]argus.District, 0, len(all))
	for name, s := range all {
		d := argus.District{Name: name, ByOrg: s.byOrg}
		for _, y := range slices.Sorted(maps.Keys(s.rows)) {
			b := s.rows[y]
			corners := [4]argus.GeoPoint{{Lat: b.MinLat, Lon: b.MinLon}, {Lat: b.MinLat, Lon: b.MaxLon},
				{Lat: b.MaxLat, Lon: b.MinLon}, {Lat: b.MaxLat, Lon: b.MaxLon}}
			for i, p := range corners {
				if !slices.Contains(corners[:i], p) {
					d.Points = append(d.Points, p)
				}
			}
		}
		out = append(out, d)
	}
	slices.SortFunc(out, func(a, b argus.District) int { return cmp.Compare(a.Name, b.Name) })
	return out, nil
}
