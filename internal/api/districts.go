package api

import (
	"cmp"
	"context"
	"math"
	"net/http"
	"slices"
	"sync"
	"time"

	"argus"
)

// districtTTL is how long GET /api/v1/districts reuses the directory's
// district summary: districts change rarely, and a whole city's takes a
// tenth of a second to read.
const districtTTL = time.Minute

// outlineCellDeg is the grid (argus.GridCellDeg(15), about 150 m) that
// outlines are drawn on: each camera position is widened to its cell, so an
// outline's corners are cell corners and never a camera's exact position.
const outlineCellDeg = 360.0 / (1 << 18)

// districtList is the directory's districts, in name order.
type districtList struct {
	Items []districtItem `json:"items"`
}

// districtItem is one district. Cameras counts those of its cameras the
// caller may see (as GET /api/v1/cameras lists them). Outline is the convex
// hull of the district's cameras, each widened to its cell of about 150 m,
// counter-clockwise and not closed; Center is the outline's centroid, where
// a map writes the name.
type districtItem struct {
	Name    string           `json:"name"`
	Cameras int              `json:"cameras"`
	Outline []argus.GeoPoint `json:"outline"`
	Center  argus.GeoPoint   `json:"center"`
}

// district is a district as the cache keeps it: its item (without a
// count) and how many cameras each organisation owns in it.
type district struct {
	item  districtItem
	byOrg map[string]int
	total int
}

// districtCache holds the summary read last.
type districtCache struct {
	// mu is held while the summary is read, so concurrent requests read
	// it once.
	mu   sync.Mutex
	at   time.Time
	list []district
}

func (s *Server) listDistricts(w http.ResponseWriter, r *http.Request) error {
	all, err := s.districtSummary(r.Context())
	if err != nil {
		return err
	}
	// Names and outlines are the city's geography and every signed-in user
	// sees them; the counts are of the cameras the caller may list.
	f := argus.CameraFilter{}
	none, err := s.listScope(r, &f)
	if argus.ErrorCode(err) == argus.EFORBIDDEN {
		none, err = true, nil
	}
	if err != nil {
		return err
	}
	out := districtList{Items: make([]districtItem, len(all))}
	for i, d := range all {
		out.Items[i] = d.item
		switch {
		case none:
		case len(f.OrgIDs) == 0 && len(f.Shared) == 0:
			out.Items[i].Cameras = d.total
		default:
			for _, o := range f.OrgIDs {
				out.Items[i].Cameras += d.byOrg[o]
			}
			if len(f.Shared) > 0 {
				// listScope keeps only shares of organisations outside
				// f.OrgIDs, so these cameras are not counted twice.
				n, err := s.store.CountCameras(r.Context(), argus.CameraFilter{Shared: f.Shared, District: d.item.Name})
				if err != nil {
					return err
				}
				out.Items[i].Cameras += n
			}
		}
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

// districtSummary returns the cached summary, reading it again from the
// store when it is older than districtTTL.
func (s *Server) districtSummary(ctx context.Context) ([]district, error) {
	c := &s.districts
	c.mu.Lock()
	defer c.mu.Unlock()
	now := s.now()
	if c.list != nil && now.Sub(c.at) < districtTTL {
		return c.list, nil
	}
	ds, err := s.store.Districts(ctx)
	if err != nil {
		return nil, err
	}
	list := make([]district, 0, len(ds))
	for _, d := range ds {
		e := district{item: districtItem{Name: d.Name}, byOrg: d.ByOrg}
		for _, n := range d.ByOrg {
			e.total += n
		}
		e.item.Outline = convexHull(widen(d.Points, outlineCellDeg))
		e.item.Center = centroid(e.item.Outline)
		list = append(list, e)
	}
	c.list, c.at = list, now
	return list, nil
}

// widen returns the corners of the cells of size deg (aligned on -90,
// -180) that the points lie in.
func widen(points []argus.GeoPoint, deg float64) []argus.GeoPoint {
	out := make([]argus.GeoPoint, 0, 4*len(points))
	for _, p := range points {
		lat0 := math.Floor((p.Lat+90)/deg)*deg - 90
		lon0 := math.Floor((p.Lon+180)/deg)*deg - 180
		lat1, lon1 := min(lat0+deg, 90), min(lon0+deg, 180)
		out = append(out, argus.GeoPoint{Lat: lat0, Lon: lon0}, argus.GeoPoint{Lat: lat0, Lon: lon1},
			argus.GeoPoint{Lat: lat1, Lon: lon0}, argus.GeoPoint{Lat: lat1, Lon: lon1})
	}
	return out
}

// convexHull returns the convex hull of points (longitude as x, latitude
// as y) counter-clockwise from the westernmost (then southernmost) point,
// without collinear points and not closed: one point for a single
// position, two for positions on a line. It is Andrew's monotone chain.
func convexHull(points []argus.GeoPoint) []argus.GeoPoint {
	ps := slices.Clone(points)
	slices.SortFunc(ps, func(a, b argus.GeoPoint) int { return cmp.Or(cmp.Compare(a.Lon, b.Lon), cmp.Compare(a.Lat, b.Lat)) })
	ps = slices.Compact(ps)
	if len(ps) < 3 {
		return ps
	}
	cross := func(o, a, b argus.GeoPoint) float64 {
		return (a.Lon-o.Lon)*(b.Lat-o.Lat) - (a.Lat-o.Lat)*(b.Lon-o.Lon)
	}
	hull := make([]argus.GeoPoint, 0, 2*len(ps))
	for _, p := range ps { // lower chain, west to east
		for len(hull) >= 2 && cross(hull[len(hull)-2], hull[len(hull)-1], p) <= 0 {
			hull = hull[:len(hull)-1]
		}
		hull = append(hull, p)
	}
	lower := len(hull) + 1
	for i := len(ps) - 2; i >= 0; i-- { // upper chain, east to west
		p := ps[i]
		for len(hull) >= lower && cross(hull[len(hull)-2], hull[len(hull)-1], p) <= 0 {
			hull = hull[:len(hull)-1]
		}
		hull = append(hull, p)
	}
	return hull[:len(hull)-1] // the last is the first again
}

// centroid returns the centroid of a polygon's area, or the mean of its
// points when it has none (fewer than three, or all on a line). It works
// relative to the first point, which keeps the products small and exact
// enough.
func centroid(poly []argus.GeoPoint) argus.GeoPoint {
	if len(poly) == 0 {
		return argus.GeoPoint{}
	}
	o := poly[0]
	var a, x, y, mx, my float64
	for i, p := range poly {
		q := poly[(i+1)%len(poly)]
		px, py, qx, qy := p.Lon-o.Lon, p.Lat-o.Lat, q.Lon-o.Lon, q.Lat-o.Lat
		c := px*qy - qx*py
		a += c
		x += (px + qx) * c
		y += (py + qy) * c
		mx += px / float64(len(poly))
		my += py / float64(len(poly))
	}
	if math.Abs(a) < 1e-15 {
		return argus.GeoPoint{Lat: o.Lat + my, Lon: o.Lon + mx}
	}
	return argus.GeoPoint{Lat: o.Lat + y/(3*a), Lon: o.Lon + x/(3*a)}
}
