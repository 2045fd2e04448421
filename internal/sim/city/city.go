// Package city generates the camera directory of a synthetic city as CSV in
// the format that internal/camimport reads (docs/import.md).
//
// The city is a square street grid of named avenues (north–south, Broadway
// in the middle, numbered avenues to its east) and numbered streets
// (east–west, "W 42nd St" / "E 42nd St"), split into 20 named districts,
// each with its police precinct, parks, schools, transit stations, public
// housing and a fire station. Cameras cluster at intersections (major streets
// more), along blocks, in parks and at those sites, and at the buildings of
// many private owners, residences and businesses. Orgs lists every
// organisation the CSV refers to.
//
// Generation streams: rows are written as they are made and memory does not
// grow with Options.Cameras. The same Options always give the same bytes.
package city

import (
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"strconv"
	"strings"

	"argus"
)

// Defaults for the zero Options fields.
const (
	DefaultLat     = 40.70
	DefaultLon     = -73.95
	DefaultAreaKm2 = 1000
	// CamerasPerPrivateOrg sets the default number of private owners: one per
	// this many cameras.
	CamerasPerPrivateOrg = 40
)

// Options describe the city to generate.
type Options struct {
	// Cameras is the number of camera rows to write.
	Cameras int
	// Seed picks the city: the same Options give the same bytes.
	Seed int64
	// Center is the middle of the city; the zero value means
	// DefaultLat, DefaultLon.
	Center argus.GeoPoint
	// AreaKm2 is the area of the square the city covers; 0 means
	// DefaultAreaKm2.
	AreaKm2 float64
	// PrivateOrgs is the number of private owners (residences and
	// businesses); 0 means one per CamerasPerPrivateOrg cameras, and at
	// least 10 (or Cameras, when fewer).
	PrivateOrgs int
	// StreamURL, when set, gives the stream_url of row i (0-based, the camera
	// CameraID(i)), e.g. to point the cameras at the simulator; the
	// sub_stream_url is then left empty. Nil gives every camera its own
	// rtsp://10.x.y.z:554/stream1 with a stream2 sub-stream.
	StreamURL func(i int) string
	// ONVIFURL, when set, gives the onvif_url of row i. When nil, cameras with
	// the default stream URLs get http://10.x.y.z/onvif/device_service (every
	// PTZ camera and most others) and cameras with a StreamURL get none.
	ONVIFURL func(i int) string
}

// withDefaults fills the zero fields of o.
func (o Options) withDefaults() Options {
	if o.Center == (argus.GeoPoint{}) {
		o.Center = argus.GeoPoint{Lat: DefaultLat, Lon: DefaultLon}
	}
	if o.AreaKm2 == 0 {
		o.AreaKm2 = DefaultAreaKm2
	}
	if o.PrivateOrgs == 0 {
		o.PrivateOrgs = max(1, min(o.Cameras, 10), o.Cameras/CamerasPerPrivateOrg)
	}
	return o
}

// validate checks options that already have their defaults.
func (o Options) validate() error {
	switch {
	case o.Cameras < 0:
		return fmt.Errorf("cameras %d is negative", o.Cameras)
	case o.PrivateOrgs < 0:
		return fmt.Errorf("private orgs %d is negative", o.PrivateOrgs)
	case math.IsNaN(o.AreaKm2) || o.AreaKm2 < 0 || o.AreaKm2 > 1e6:
		return fmt.Errorf("area %v km² is outside (0, 1000000]", o.AreaKm2)
	}
	if err := o.Center.Validate(); err != nil {
		return fmt.Errorf("center: %w", err)
	}
	b := bounds(o)
	if b.MinLat < -85 || b.MaxLat > 85 || b.MinLon < -180 || b.MaxLon > 180 {
		return errors.New("the city does not fit between latitudes -85 and 85 and longitudes -180 and 180")
	}
	return nil
}

// Header returns the CSV header row that Generate writes.
func Header() []string {
	return []string{
		"id", "name", "org_id", "lat", "lon", "address", "district", "tags", "stream_url",
		"sub_stream_url", "onvif_url", "username", "password", "transport", "recording", "retention_days", "retention_bytes", "labels",
	}
}

// Indexes of the columns in Header.
const (
	colID = iota
	colName
	colOrg
	colLat
	colLon
	colAddress
	colDistrict
	colTags
	colStream
	colSubStream
	colONVIF
	colUsername
	colPassword
	colTransport
	colRecording
	colRetention
	colRetentionBytes
	colLabels
	numCols
)

// CameraID returns the id Generate gives the camera on row i (0-based).
func CameraID(i int) string { return fmt.Sprintf("cam-%07d", i+1) }

// Bounds returns the box that holds every camera of the city.
func Bounds(opts Options) argus.BBox { return bounds(opts.withDefaults()) }

func bounds(o Options) argus.BBox {
	half := math.Sqrt(o.AreaKm2) / 2
	dLat := half / kmPerDegLat
	dLon := half / (kmPerDegLat * math.Cos(o.Center.Lat*math.Pi/180))
	return argus.BBox{
		MinLat: o.Center.Lat - dLat, MaxLat: o.Center.Lat + dLat,
		MinLon: o.Center.Lon - dLon, MaxLon: o.Center.Lon + dLon,
	}
}

// Generate writes the header and opts.Cameras camera rows to w as CSV.
func Generate(w io.Writer, opts Options) error {
	opts = opts.withDefaults()
	if err := opts.validate(); err != nil {
		return fmt.Errorf("city options: %w", err)
	}
	c := newCity(opts)
	cw := csv.NewWriter(w)
	if err := cw.Write(Header()); err != nil {
		return fmt.Errorf("write header: %w", err)
	}
	rng := rand.New(rand.NewPCG(c.seed, saltRows))
	rec := make([]string, numCols)
	tags := make([]string, 0, 8)
	for i := range opts.Cameras {
		c.row(rng, i, rec, tags)
		if err := cw.Write(rec); err != nil {
			return fmt.Errorf("write row %d: %w", i+1, err)
		}
	}
	cw.Flush()
	if err := cw.Error(); err != nil {
		return fmt.Errorf("write csv: %w", err)
	}
	return nil
}

// Ids of the public organisations.
const (
	OrgPoliceID    = "police"
	OrgFireID      = "fire"
	OrgTrafficID   = "traffic"
	OrgParksID     = "parks"
	OrgEducationID = "education"
	OrgTransitID   = "transit"
	OrgHousingID   = "housing"
)

// PrecinctID returns the id of the police precinct that covers district d
// (0-based).
func PrecinctID(d int) string { return fmt.Sprintf("police-pct-%02d", d+1) }

// Orgs returns every organisation that Generate's CSV refers to, parents
// before their children: the police department, its precincts, the fire
// department, traffic, the city services, then the private owners.
func Orgs(opts Options) []argus.Org {
	opts = opts.withDefaults()
	c := newCity(opts)
	orgs := make([]argus.Org, 0, 7+len(c.districts)+c.private)
	orgs = append(orgs, argus.Org{ID: OrgPoliceID, Name: "City Police Department", Kind: argus.OrgPolice})
	for d := range c.districts {
		orgs = append(orgs, argus.Org{
			ID: PrecinctID(d), Name: ordinal(d+1) + " Precinct (" + c.districts[d].name + ")",
			Kind: argus.OrgPolice, ParentID: OrgPoliceID,
		})
	}
	orgs = append(orgs,
		argus.Org{ID: OrgFireID, Name: "City Fire Department", Kind: argus.OrgFire},
		argus.Org{ID: OrgTrafficID, Name: "Department of Transportation, Traffic Management", Kind: argus.OrgTraffic},
		argus.Org{ID: OrgParksID, Name: "Department of Parks and Recreation", Kind: argus.OrgCity},
		argus.Org{ID: OrgEducationID, Name: "Department of Education", Kind: argus.OrgCity},
		argus.Org{ID: OrgTransitID, Name: "Metropolitan Transit Authority", Kind: argus.OrgCity},
		argus.Org{ID: OrgHousingID, Name: "City Housing Authority", Kind: argus.OrgCity},
	)
	for j := range c.private {
		o := c.owner(j)
		orgs = append(orgs, argus.Org{ID: o.id, Name: o.name, Kind: argus.OrgPrivate})
	}
	return orgs
}

// ordinal returns "1st", "2nd", "3rd", "4th", "11th", "22nd", ….
func ordinal(n int) string {
	suffix := "th"
	if n%100 < 11 || n%100 > 13 {
		switch n % 10 {
		case 1:
			suffix = "st"
		case 2:
			suffix = "nd"
		case 3:
			suffix = "rd"
		}
	}
	return strconv.Itoa(n) + suffix
}

// cameraIP returns the private address of the camera on row i.
func cameraIP(i int) string {
	n := i + 1
	return "10." + strconv.Itoa(n>>16&255) + "." + strconv.Itoa(n>>8&255) + "." + strconv.Itoa(n&255)
}

// kind is what a camera watches; it decides owner, place, name and tags.
type kind int

const (
	kindIntersection kind = iota
	kindBlock
	kindPrivate
	kindPark
	kindSchool
	kindStation
	kindHousing
	kindFire
	kindPrecinct
)

// kindShares is the cumulative share of each kind, in kind order.
func kindShares() [9]float64 {
	return [...]float64{0.28, 0.35, 0.75, 0.82, 0.87, 0.93, 0.98, 0.99, 1}
}

// row fills rec with camera i, drawing from r; tags is scratch space.
func (c *city) row(r *rand.Rand, i int, rec []string, tags []string) {
	k := kindPrecinct
	u := r.Float64()
	for j, s := range kindShares() {
		if u < s {
			k = kind(j)
			break
		}
	}
	var (
		x, y          float64
		name, address string
		org           string
		ptz           bool
	)
	tags = tags[:0]
	switch k {
	case kindIntersection:
		x, y = c.randomIn(r, c.pickDistrict(r))
		av, st := c.avAt(x), c.stAt(y)
		if r.IntN(2) == 0 {
			st = c.major(st)
		}
		corner := [...]string{"NE", "NW", "SE", "SW"}[r.IntN(4)]
		x, y = c.avX(av)+cornerOffset(corner[1] == 'E'), c.stY(st)+cornerOffset(corner[0] == 'N')
		address = c.avenues[av] + " & " + c.street(st, c.avX(av))
		name = address + " — " + corner + " corner"
		ptz = r.Float64() < 0.3
		if r.IntN(2) == 0 {
			org = OrgTrafficID
			tags = append(tags, "intersection", "traffic", "outdoor")
		} else {
			org = PrecinctID(c.districtAt(x, y))
			tags = append(tags, "intersection", "police", "outdoor")
		}
	case kindBlock:
		x, y = c.randomIn(r, c.pickDistrict(r))
		name, address, x, y = c.block(r, x, y)
		org = PrecinctID(c.districtAt(x, y))
		ptz = r.Float64() < 0.1
		tags = append(tags, "street", "police", "outdoor")
	case kindPrivate:
		o := c.owner(r.IntN(c.private))
		spots, tag := residenceSpots(), "residential"
		if o.business {
			spots, tag = businessSpots(), "commercial"
		}
		s := spots[r.IntN(len(spots))]
		x, y = o.x+jitter(r, 0.015), o.y+jitter(r, 0.015)
		name, address, org = o.name+" — "+s.name, o.addr, o.id
		tags = append(tags, tag, s.where())
	case kindPark:
		ps := c.districts[c.pickDistrict(r)].parks
		p := ps[r.IntN(len(ps))]
		s := parkSpots()[r.IntN(len(parkSpots()))]
		x, y = p.x0+r.Float64()*(p.x1-p.x0), p.y0+r.Float64()*(p.y1-p.y0)
		name, address = p.name+" — "+s.name, p.address
		org = OrgParksID
		if r.IntN(4) == 0 {
			org = PrecinctID(c.districtAt(x, y))
		}
		ptz = r.Float64() < 0.2
		tags = append(tags, "park", s.where())
	case kindSchool, kindStation, kindHousing, kindFire, kindPrecinct:
		d := c.pickDistrict(r)
		var st site
		var spots []spot
		switch k {
		case kindSchool:
			st, spots, org = pick(r, c.districts[d].schools), schoolSpots(), OrgEducationID
			tags = append(tags, "school")
		case kindStation:
			st, spots, org = pick(r, c.districts[d].stations), stationSpots(), OrgTransitID
			tags = append(tags, "transit")
		case kindHousing:
			st, spots, org = pick(r, c.districts[d].housing), housingSpots(), OrgHousingID
			tags = append(tags, "housing", "residential")
		case kindFire:
			st, spots, org = c.districts[d].fire, fireSpots(), OrgFireID
			tags = append(tags, "fire")
		default:
			st, spots, org = c.districts[d].precinct, precinctSpots(), PrecinctID(d)
			tags = append(tags, "police")
		}
		s := spots[r.IntN(len(spots))]
		x, y = st.x+jitter(r, 0.02), st.y+jitter(r, 0.02)
		name, address = st.name+" — "+s.name, st.address
		tags = append(tags, s.where())
	}
	if ptz {
		tags = append(tags, "ptz")
	} else {
		tags = append(tags, "fixed")
	}
	x, y = c.clamp(x), c.clamp(y)
	lat, lon := c.latLon(x, y)

	rec[colID] = CameraID(i)
	rec[colName] = name
	rec[colOrg] = org
	rec[colLat] = strconv.FormatFloat(lat, 'f', 6, 64)
	rec[colLon] = strconv.FormatFloat(lon, 'f', 6, 64)
	rec[colAddress] = address
	rec[colDistrict] = c.districts[c.districtAt(x, y)].name
	rec[colTags] = strings.Join(tags, ";")
	c.urls(r, i, ptz, rec)
	rec[colUsername], rec[colPassword] = "", ""
	if r.Float64() < 0.85 {
		rec[colUsername] = pick(r, usernames())
		rec[colPassword] = password(r)
	}
	rec[colRecording] = strconv.FormatBool(r.Float64() < 0.93)
	rec[colRetention] = "30"
	if r.Float64() < 0.2 {
		rec[colRetention] = strconv.Itoa(pick(r, []int{7, 14, 60, 90}))
	}
	m := pick(r, models())
	rec[colLabels] = "vendor=" + m[0] + ";model=" + m[1] + ";installed=" + strconv.Itoa(2012+r.IntN(14))
}

// urls fills the stream, sub-stream and ONVIF columns of row i.
func (c *city) urls(r *rand.Rand, i int, ptz bool, rec []string) {
	rec[colStream], rec[colSubStream], rec[colONVIF] = "", "", ""
	ip := ""
	if c.opts.StreamURL != nil {
		rec[colStream] = c.opts.StreamURL(i)
	} else {
		ip = cameraIP(i)
		rec[colStream] = "rtsp://" + ip + ":554/stream1"
		if r.Float64() < 0.9 {
			rec[colSubStream] = "rtsp://" + ip + ":554/stream2"
		}
	}
	switch {
	case c.opts.ONVIFURL != nil:
		rec[colONVIF] = c.opts.ONVIFURL(i)
	case ip != "" && (ptz || r.Float64() < 0.7):
		rec[colONVIF] = "http://" + ip + "/onvif/device_service"
	}
}

// password returns a random 12-character camera password.
func password(r *rand.Rand) string {
	const alphabet = "abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789"
	var b [12]byte
	for i := range b {
		b[i] = alphabet[r.IntN(len(alphabet))]
	}
	return string(b[:])
}

// pick returns a random element of s.
func pick[T any](r *rand.Rand, s []T) T { return s[r.IntN(len(s))] }

// jitter returns a random offset in [-d, d).
func jitter(r *rand.Rand, d float64) float64 { return (r.Float64()*2 - 1) * d }

// cornerOffset is the offset in km of a corner camera from the centre line.
func cornerOffset(positive bool) float64 {
	if positive {
		return 0.012
	}
	return -0.012
}

// spot is a place a camera looks at.
type spot struct {
	name   string
	indoor bool
}

// where returns the spot's indoor or outdoor tag.
func (s spot) where() string {
	if s.indoor {
		return "indoor"
	}
	return "outdoor"
}
