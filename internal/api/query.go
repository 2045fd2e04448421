package api

import (
	"errors"
	"math"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"argus"
)

// Limits on camera queries.
const (
	maxQueryValues = 32  // values of one repeated parameter
	maxCursorLen   = 512 // bytes of an encoded cursor
)

// checkParams rejects query parameters a route does not know, naming the
// first one, so that a typo is not silently ignored.
func checkParams(q url.Values, known []param) error {
	keys := make([]string, 0, len(q))
	for k := range q {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		if k == "" {
			return argus.Errorf(argus.EINVALID, "a query parameter has no name")
		}
		i := slices.IndexFunc(known, func(p param) bool { return p.name == k })
		if i < 0 {
			return argus.FieldErrorf(k, "unknown query parameter %q", k)
		}
		if !known[i].repeated && len(q[k]) > 1 {
			return argus.FieldErrorf(k, "query parameter %q is given more than once", k)
		}
		if len(q[k]) > maxQueryValues {
			return argus.FieldErrorf(k, "query parameter %q is given more than %d times", k, maxQueryValues)
		}
	}
	return nil
}

// parseFloats splits s on commas into exactly n finite numbers.
func parseFloats(s string, n int) ([]float64, bool) {
	parts := strings.Split(s, ",")
	if len(parts) != n {
		return nil, false
	}
	out := make([]float64, n)
	for i, p := range parts {
		f, err := strconv.ParseFloat(strings.TrimSpace(p), 64)
		if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
			return nil, false
		}
		out[i] = f
	}
	return out, true
}

// asField re-labels a validation error with the query parameter it came
// from, keeping its message.
func asField(err error, field string) error {
	var e *argus.Error
	if !errors.As(err, &e) {
		return err
	}
	return &argus.Error{Code: e.Code, Field: field, Message: e.Message}
}

// parseCameraFilter reads the camera filter parameters shared by the listing
// and the grid. OrgIDs holds the requested organisations, unscoped.
func parseCameraFilter(q url.Values) (argus.CameraFilter, error) {
	var f argus.CameraFilter
	if s := q.Get("bbox"); q.Has("bbox") {
		v, ok := parseFloats(s, 4)
		if !ok {
			return f, argus.FieldErrorf("bbox", "bbox must be minLon,minLat,maxLon,maxLat, four numbers")
		}
		f.BBox = &argus.BBox{MinLon: v[0], MinLat: v[1], MaxLon: v[2], MaxLat: v[3]}
		if err := f.BBox.Validate(); err != nil {
			return f, asField(err, "bbox")
		}
	}
	if s := q.Get("near"); q.Has("near") {
		v, ok := parseFloats(s, 3)
		if !ok {
			return f, argus.FieldErrorf("near", "near must be lat,lon,radius_m, three numbers")
		}
		f.Near = &argus.Circle{Center: argus.GeoPoint{Lat: v[0], Lon: v[1]}, RadiusM: v[2]}
		if err := f.Near.Validate(); err != nil {
			return f, asField(err, "near")
		}
	}
	if q.Has("q") {
		f.Text = strings.TrimSpace(q.Get("q"))
		if f.Text == "" {
			return f, argus.FieldErrorf("q", "text query must be at least %d characters", argus.MinTextQuery)
		}
	}
	f.Tags = q["tag"]
	for _, o := range q["org"] {
		if !argus.ValidID(o) {
			return f, argus.FieldErrorf("org", "org %q is not a valid id", o)
		}
	}
	f.OrgIDs = q["org"]
	f.District = strings.TrimSpace(q.Get("district"))
	if q.Has("recording") {
		b, err := strconv.ParseBool(q.Get("recording"))
		if err != nil {
			return f, argus.FieldErrorf("recording", "recording must be true or false, not %q", q.Get("recording"))
		}
		f.Recording = &b
	}
	return f, f.Validate()
}

// parseLimit reads the page size: absent means the default, otherwise it
// must be 1..MaxPageSize.
func parseLimit(q url.Values) (int, error) {
	if !q.Has("limit") {
		return argus.DefaultPageSize, nil
	}
	n, err := strconv.Atoi(q.Get("limit"))
	if err != nil || n < 1 || n > argus.MaxPageSize {
		return 0, argus.FieldErrorf("limit", "limit must be an integer in 1..%d, not %q", argus.MaxPageSize, q.Get("limit"))
	}
	return n, nil
}

// parseCursor reads the page cursor: the store's own opaque Next, passed
// back unchanged (the store rejects one it did not make).
func parseCursor(q url.Values) (string, error) {
	c := q.Get("cursor")
	if len(c) > maxCursorLen {
		return "", argus.FieldErrorf("cursor", "cursor is longer than %d bytes", maxCursorLen)
	}
	return c, nil
}
