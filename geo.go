package argus

import "math"

// EarthRadiusM is the mean Earth radius in metres used for distances.
const EarthRadiusM = 6371008.8

// GeoPoint is a WGS84 position in decimal degrees.
type GeoPoint struct {
	Lat float64 `json:"lat"`
	Lon float64 `json:"lon"`
}

// Validate reports an EINVALID error naming "lat" or "lon" when the point is
// outside [-90,90]×[-180,180] or not a finite number.
func (p GeoPoint) Validate() error {
	if math.IsNaN(p.Lat) || math.IsInf(p.Lat, 0) || p.Lat < -90 || p.Lat > 90 {
		return FieldErrorf("lat", "latitude %v is outside -90..90", p.Lat)
	}
	if math.IsNaN(p.Lon) || math.IsInf(p.Lon, 0) || p.Lon < -180 || p.Lon > 180 {
		return FieldErrorf("lon", "longitude %v is outside -180..180", p.Lon)
	}
	return nil
}

// DistanceM returns the great-circle (haversine) distance to q in metres.
func (p GeoPoint) DistanceM(q GeoPoint) float64 {
	const rad = math.Pi / 180
	dLat := (q.Lat - p.Lat) * rad
	dLon := (q.Lon - p.Lon) * rad
	a := math.Sin(dLat/2)*math.Sin(dLat/2) +
		math.Cos(p.Lat*rad)*math.Cos(q.Lat*rad)*math.Sin(dLon/2)*math.Sin(dLon/2)
	return 2 * EarthRadiusM * math.Asin(math.Min(1, math.Sqrt(a)))
}

// BBox is a latitude/longitude rectangle. It does not cross the antimeridian:
// MinLon <= MaxLon.
type BBox struct {
	MinLat float64 `json:"min_lat"`
	MinLon float64 `json:"min_lon"`
	MaxLat float64 `json:"max_lat"`
	MaxLon float64 `json:"max_lon"`
}

// Validate checks the corners and their order.
func (b BBox) Validate() error {
	if err := (GeoPoint{b.MinLat, b.MinLon}).Validate(); err != nil {
		return err
	}
	if err := (GeoPoint{b.MaxLat, b.MaxLon}).Validate(); err != nil {
		return err
	}
	if b.MinLat > b.MaxLat {
		return FieldErrorf("bbox", "min_lat %v is above max_lat %v", b.MinLat, b.MaxLat)
	}
	if b.MinLon > b.MaxLon {
		return FieldErrorf("bbox", "min_lon %v is east of max_lon %v", b.MinLon, b.MaxLon)
	}
	return nil
}

// Contains reports whether p lies inside b (edges included).
func (b BBox) Contains(p GeoPoint) bool {
	return p.Lat >= b.MinLat && p.Lat <= b.MaxLat && p.Lon >= b.MinLon && p.Lon <= b.MaxLon
}

// Circle is a radius around a point.
type Circle struct {
	Center  GeoPoint `json:"center"`
	RadiusM float64  `json:"radius_m"`
}

// MaxRadiusM bounds radius queries (100 km), which keeps them city-sized.
const MaxRadiusM = 100_000

// Validate checks the centre and that the radius is in (0, MaxRadiusM].
func (c Circle) Validate() error {
	if err := c.Center.Validate(); err != nil {
		return err
	}
	if math.IsNaN(c.RadiusM) || c.RadiusM <= 0 || c.RadiusM > MaxRadiusM {
		return FieldErrorf("radius_m", "radius %v m is outside (0, %d]", c.RadiusM, MaxRadiusM)
	}
	return nil
}

// Bounds returns a bounding box that contains the whole circle, clamped to
// valid coordinates.
func (c Circle) Bounds() BBox {
	dLat := c.RadiusM / EarthRadiusM * 180 / math.Pi
	cos := math.Cos(c.Center.Lat * math.Pi / 180)
	dLon := 180.0
	if cos > 1e-9 {
		dLon = math.Min(180, dLat/cos)
	}
	return BBox{
		MinLat: math.Max(-90, c.Center.Lat-dLat),
		MaxLat: math.Min(90, c.Center.Lat+dLat),
		MinLon: math.Max(-180, c.Center.Lon-dLon),
		MaxLon: math.Min(180, c.Center.Lon+dLon),
	}
}

// GridCellDeg returns the size in degrees of the square aggregation cells for
// a web-map zoom level (0–22): 1/8 of a 256-pixel tile, so about 32 pixels.
func GridCellDeg(zoom int) float64 {
	zoom = max(0, min(zoom, 22))
	return 360 / math.Exp2(float64(zoom)) / 8
}
