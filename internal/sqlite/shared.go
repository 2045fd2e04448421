package sqlite

import (
	"encoding/json"
	"math"
	"slices"
	"strings"

	"argus"
)

// sharedSource is the part of a filter that says whose cameras to keep when
// it has share scopes: those of the organisations orgs, or covered by one
// of scopes. Its drive chains (UNION ALL, which streams, where UNION would
// collect every row before the first) the cameras_org index (orgs), the
// cameras the scopes list (cameras_id), those carrying their tags
// (camera_tags) and those in their areas (cameras_cell), each checked
// against the scope's owner. Its predicate makes the same test on a camera
// c, owner by owner, so that the cameras of other organisations fail it at
// the first comparisons. SQL tests a polygon by its bounding box only: the
// returned check, nil when no scope has a polygon, makes the exact test in
// Go.
func sharedSource(orgs []string, scopes []argus.ShareScope) (source, *shareCheck) {
	orgs = slices.Clone(orgs)
	slices.Sort(orgs)
	orgs = slices.Compact(orgs)
	check := &shareCheck{own: map[string]bool{}, scopes: map[string][]*argus.ShareScope{}}
	for _, o := range orgs {
		check.own[o] = true
	}
	// What each owner shares, over all its scopes. The scopes of owners
	// in orgs add nothing.
	type shared struct {
		ids, tags []string
		areas     []argus.BBox
		polygon   bool
	}
	byOwner := map[string]*shared{}
	var owners []string
	for i := range scopes {
		sc := &scopes[i]
		if check.own[sc.OwnerOrgID] {
			continue
		}
		o := byOwner[sc.OwnerOrgID]
		if o == nil {
			o = &shared{}
			byOwner[sc.OwnerOrgID] = o
			owners = append(owners, sc.OwnerOrgID)
		}
		o.ids = append(o.ids, sc.CameraIDs...)
		o.tags = append(o.tags, sc.Tags...)
		if sc.Area != nil {
			if b, ok := areaBounds(sc.Area); ok {
				o.areas = append(o.areas, b)
			}
			o.polygon = o.polygon || len(sc.Area.Polygon) > 0
		}
	}
	slices.Sort(owners)

	var arms, terms []string
	var args, termArgs []any
	if len(orgs) > 0 {
		in := inList(len(orgs))
		arms = append(arms, `rid, id FROM cameras INDEXED BY cameras_org WHERE org_id `+in)
		args = append(args, anys(orgs)...)
		terms = append(terms, `c.org_id `+in)
		termArgs = append(termArgs, anys(orgs)...)
	}
	// The drive reads each kind of selection for every owner at once:
	// [owner, id] and [owner, tag] pairs, and the areas as [owner, minLat,
	// maxLat, minLon, maxLon, cell spans] (JSON carries the bounds exactly:
	// Go writes the shortest form that reads back to the same float64).
	var idPairs, tagPairs [][2]string
	var areas [][]any
	dup := false
	for _, owner := range owners {
		o := byOwner[owner]
		var tests []string
		var testArgs []any
		if ids := sortedSet(o.ids); len(ids) > 0 {
			for _, id := range ids {
				idPairs = append(idPairs, [2]string{owner, id})
			}
			tests = append(tests, `c.id IN (SELECT value FROM json_each(?))`)
			testArgs = append(testArgs, jsonArray(ids))
		}
		if tags := sortedSet(o.tags); len(tags) > 0 {
			for _, t := range tags {
				tagPairs = append(tagPairs, [2]string{owner, t})
			}
			dup = dup || len(tags) > 1
			tests = append(tests, `EXISTS (SELECT 1 FROM json_each(c.tags) t WHERE t.value IN (SELECT value FROM json_each(?)))`)
			testArgs = append(testArgs, jsonArray(tags))
		}
		for _, b := range o.areas {
			areas = append(areas, []any{owner, b.MinLat, b.MaxLat, b.MinLon, b.MaxLon, boxSpans(b)})
			tests = append(tests, `c.lat BETWEEN ? AND ? AND c.lon BETWEEN ? AND ?`)
			testArgs = append(testArgs, b.MinLat, b.MaxLat, b.MinLon, b.MaxLon)
		}
		if len(tests) > 0 {
			terms = append(terms, `c.org_id = ? AND (`+strings.Join(tests, ` OR `)+`)`)
			termArgs = append(append(termArgs, owner), testArgs...)
		}
		if o.polygon {
			for i := range scopes {
				if sc := &scopes[i]; sc.OwnerOrgID == owner {
					check.scopes[owner] = append(check.scopes[owner], sc)
				}
			}
		}
	}
	if len(idPairs) > 0 {
		arms = append(arms, `c.rid AS rid, c.id AS id FROM json_each(?) j
			CROSS JOIN cameras c INDEXED BY cameras_id ON c.id = j.value ->> 1 WHERE c.org_id = j.value ->> 0`)
		args = append(args, jsonArray(idPairs))
	}
	if len(tagPairs) > 0 {
		arms = append(arms, `t.rid AS rid, t.camera_id AS id FROM json_each(?) j
			CROSS JOIN camera_tags t ON t.tag = j.value ->> 1 CROSS JOIN cameras c ON c.rid = t.rid
			WHERE c.org_id = j.value ->> 0`)
		args = append(args, jsonArray(tagPairs))
	}
	if len(areas) > 0 {
		// Read into typed columns once: read per row, the JSON would be
		// parsed per row.
		arms = append(arms, `rid, id FROM (WITH a (owner, lat0, lat1, lon0, lon1, spans) AS MATERIALIZED (
				SELECT value ->> 0, value ->> 1, value ->> 2, value ->> 3, value ->> 4, value -> 5 FROM json_each(?))
			SELECT g.rid AS rid, g.id AS id FROM a CROSS JOIN json_each(a.spans) s
			CROSS JOIN cameras g INDEXED BY cameras_cell ON g.cell BETWEEN s.value ->> 0 AND s.value ->> 1
			WHERE g.lat BETWEEN a.lat0 AND a.lat1 AND g.lon BETWEEN a.lon0 AND a.lon1 AND g.org_id = a.owner)`)
		args = append(args, jsonArray(areas))
		dup = dup || len(areas) > 1
	}
	s := source{est: -1, drive: `SELECT rid, id FROM cameras WHERE 0`, pred: `0`, leadOnTie: true} // scopes that select nothing
	if len(arms) > 0 {
		// A camera may come from two arms, two of its tags or two areas.
		s.drive, s.args = `SELECT `+strings.Join(arms, ` UNION ALL SELECT `), args
		s.pred, s.predArgs = `(`+strings.Join(terms, ` OR `)+`)`, termArgs
		s.dup = dup || len(arms) > 1
	}
	if len(check.scopes) == 0 {
		return s, nil
	}
	return s, check
}

// areaBounds returns the box that holds every point of the area: its bbox,
// narrowed to the bounds of its polygon. ok is false when nothing can be
// inside.
func areaBounds(a *argus.Area) (b argus.BBox, ok bool) {
	b = argus.BBox{MinLat: -90, MinLon: -180, MaxLat: 90, MaxLon: 180}
	if len(a.BBox) == 4 {
		b = argus.BBox{MinLat: a.BBox[1], MinLon: a.BBox[0], MaxLat: a.BBox[3], MaxLon: a.BBox[2]}
	}
	if len(a.Polygon) >= 3 {
		pb := argus.BBox{MinLat: math.Inf(1), MinLon: math.Inf(1), MaxLat: math.Inf(-1), MaxLon: math.Inf(-1)}
		for _, v := range a.Polygon {
			if len(v) != 2 {
				return b, false
			}
			pb.MinLon, pb.MaxLon = min(pb.MinLon, v[0]), max(pb.MaxLon, v[0])
			pb.MinLat, pb.MaxLat = min(pb.MinLat, v[1]), max(pb.MaxLat, v[1])
		}
		b.MinLat, b.MaxLat = max(b.MinLat, pb.MinLat), min(b.MaxLat, pb.MaxLat)
		b.MinLon, b.MaxLon = max(b.MinLon, pb.MinLon), min(b.MaxLon, pb.MaxLon)
	} else if len(a.BBox) != 4 {
		return b, false // as Area.Contains: neither shape, no point
	}
	return b, b.MinLat <= b.MaxLat && b.MinLon <= b.MaxLon
}

// inList returns "IN (?, ?, …)" with n parameters.
func inList(n int) string {
	return `IN (` + strings.TrimSuffix(strings.Repeat("?, ", n), ", ") + `)`
}

// sortedSet returns v sorted, without repeats.
func sortedSet(v []string) []string {
	v = slices.Clone(v)
	slices.Sort(v)
	return slices.Compact(v)
}

// shareCheck makes in Go the exact test of the share scopes of owners with
// a polygon among their scopes; SQL has tested the polygon's bounding box.
type shareCheck struct {
	own    map[string]bool                // the filter's OrgIDs
	scopes map[string][]*argus.ShareScope // owner → its scopes, for owners with a polygon
}

// keeps reports whether the camera of r, which passed the test in SQL, is
// one the filter keeps.
func (k *shareCheck) keeps(r *row) bool {
	scopes := k.scopes[r.org]
	if k.own[r.org] || scopes == nil {
		return true
	}
	c := argus.Camera{ID: r.id, OrgID: r.org, Lat: r.lat, Lon: r.lon}
	// The tags column is written by this package; unreadable, it
	// selects nothing.
	_ = json.Unmarshal([]byte(r.tags), &c.Tags)
	for _, sc := range scopes {
		if sc.Covers(&c) {
			return true
		}
	}
	return false
}
