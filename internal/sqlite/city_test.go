package sqlite

import (
	"fmt"
	"math"
	"math/rand/v2"

	"argus"
)

// cityGen streams a deterministic synthetic city of cameras for the
// benchmarks: about 1,000 km² centred on 40.70,-73.95 with a street grid
// (150 avenues, 356 numbered streets), 70% of the cameras clustered around
// 40 hot spots and the rest spread evenly, each at an intersection or along
// a block, in 20 districts, owned by 30 organisations, tagged, most with
// sealed credentials. Ids are a random permutation, unrelated to position or
// insertion order.
type cityGen struct {
	r       *rand.Rand
	n, i    int
	perm    []int32
	hot     []hotSpot
	orgs    []string
	avenues []string
}

type hotSpot struct {
	lat, lon, sigma float64
}

// Geometry of the synthetic city.
const (
	cityLat, cityLon = 40.70, -73.95
	cityHalfLat      = 0.1425 // ~31.7 km north-south
	cityHalfLon      = 0.1875 // ~31.6 km east-west at this latitude
	avenueStep       = 0.0025 // ~210 m
	streetStep       = 0.0008 // ~89 m
)

// districts are 4 rows × 5 columns of the city.
var districts = []string{
	"Riverdale", "Fordham", "Pelham", "Throgs Neck", "City Island",
	"Harlem", "Morningside", "Yorkville", "Astoria", "Flushing",
	"Midtown", "Chelsea", "Gramercy", "Greenpoint", "Jamaica",
	"Tribeca", "Red Hook", "Park Slope", "Flatbush", "Canarsie",
}

var avenueWords = []string{"Amsterdam", "Lexington", "Madison", "Columbus", "Atlantic", "Flatbush", "Myrtle",
	"Bedford", "Nostrand", "Utica", "Ralph", "Rockaway", "Pennsylvania", "Linden", "Liberty", "Jamaica",
	"Metropolitan", "Grand", "Union", "Court", "Fulton", "Hudson", "Greenwich", "Bowery", "Lafayette", "Vernon",
	"Northern", "Queens", "Astoria", "Steinway", "Ditmars", "Hoyt", "Smith", "Henry", "Clinton", "Hicks",
	"Nassau", "Pearl", "Water", "Front", "Kent", "Wythe", "Berry", "Driggs", "Graham", "Manhattan", "Franklin",
	"Classon", "Washington", "Vanderbilt"}

var cityTags = []struct {
	tag string
	p   float64
}{{"traffic", 0.4}, {"ptz", 0.15}, {"school", 0.03}, {"transit", 0.1}, {"park", 0.05}, {"4k", 0.2}, {"indoor", 0.08}}

func newCityGen(n int) *cityGen {
	g := &cityGen{r: rand.New(rand.NewPCG(2026, 11)), n: n}
	g.perm = make([]int32, n)
	for i := range g.perm {
		g.perm[i] = int32(i)
	}
	g.r.Shuffle(n, func(i, j int) { g.perm[i], g.perm[j] = g.perm[j], g.perm[i] })
	for range 40 {
		g.hot = append(g.hot, hotSpot{
			lat:   cityLat + (g.r.Float64()*2-1)*cityHalfLat*0.8,
			lon:   cityLon + (g.r.Float64()*2-1)*cityHalfLon*0.8,
			sigma: 0.005 + g.r.Float64()*0.02,
		})
	}
	for i := range 20 {
		g.orgs = append(g.orgs, fmt.Sprintf("nypd-pct-%02d", i+1))
	}
	g.orgs = append(g.orgs, "dot-traffic", "mta", "parks", "fdny")
	for i := range 6 {
		g.orgs = append(g.orgs, fmt.Sprintf("private-%d", i+1))
	}
	for _, suffix := range []string{"Ave", "Blvd", "Pkwy"} {
		for _, w := range avenueWords {
			g.avenues = append(g.avenues, w+" "+suffix)
		}
	}
	return g
}

// ordinal returns 1st, 2nd, 3rd, 4th, … 11th, 12th, 13th, … 21st.
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
	return fmt.Sprintf("%d%s", n, suffix)
}

// streetName is the numbered street at index s, W or E of the centre.
func streetName(s int, lon float64) string {
	side := "E"
	if lon < cityLon {
		side = "W"
	}
	return side + " " + ordinal(s+1) + " St"
}

func (g *cityGen) next() *argus.Camera {
	if g.i >= g.n {
		return nil
	}
	r := g.r
	var lat, lon float64
	if r.Float64() < 0.7 {
		h := g.hot[r.IntN(len(g.hot))]
		lat, lon = h.lat+r.NormFloat64()*h.sigma, h.lon+r.NormFloat64()*h.sigma*1.3
	} else {
		lat, lon = cityLat+(r.Float64()*2-1)*cityHalfLat, cityLon+(r.Float64()*2-1)*cityHalfLon
	}
	lat = max(cityLat-cityHalfLat, min(cityLat+cityHalfLat, lat))
	lon = max(cityLon-cityHalfLon, min(cityLon+cityHalfLon, lon))
	// Snap onto the street grid.
	lat0, lon0 := cityLat-cityHalfLat, cityLon-cityHalfLon
	a := int(math.Round((lon - lon0) / avenueStep))
	s := int(math.Round((lat - lat0) / streetStep))
	a, s = min(a, len(g.avenues)-1), min(s, 355)
	ave, st := g.avenues[a], streetName(s, lon)
	jitter := func() float64 { return (r.Float64()*2 - 1) * 0.00003 }
	var name, address string
	tags := []string{}
	switch r.IntN(3) {
	case 0: // intersection
		lat, lon = lat0+float64(s)*streetStep+jitter(), lon0+float64(a)*avenueStep+jitter()
		name, address = ave+" & "+st, fmt.Sprintf("%d %s", 1+r.IntN(900), ave)
		tags = append(tags, "intersection")
	case 1: // along the street
		lat = lat0 + float64(s)*streetStep + jitter()
		name, address = st+" & "+ave, fmt.Sprintf("%d %s", 1+r.IntN(900), st)
	default: // along the avenue
		lon = lon0 + float64(a)*avenueStep + jitter()
		name, address = ave+" & "+st, fmt.Sprintf("%d %s", 1+r.IntN(900), ave)
	}
	for _, t := range cityTags {
		if r.Float64() < t.p {
			tags = append(tags, t.tag)
		}
	}
	row := min(3, int((cityLat+cityHalfLat-lat)/(2*cityHalfLat)*4))
	col := min(4, int((lon-lon0)/(2*cityHalfLon)*5))
	district := row*5 + col
	var orgID string
	switch p := r.Float64(); {
	case p < 0.4:
		orgID = g.orgs[district]
	case p < 0.7:
		orgID = "dot-traffic"
	case p < 0.8:
		orgID = "mta"
	case p < 0.85:
		orgID = "parks"
	default:
		orgID = g.orgs[24+r.IntN(6)]
	}
	id := fmt.Sprintf("cam-%06d", g.perm[g.i])
	c := &argus.Camera{
		ID: id, Name: name, OrgID: orgID, Lat: lat, Lon: lon, Address: address, District: districts[district],
		Tags: tags, StreamURL: fmt.Sprintf("rtsp://10.%d.%d.%d:554/stream1", g.i>>16&255, g.i>>8&255, g.i&255),
		Recording: r.Float64() < 0.85, RetentionDays: 30,
	}
	if r.Float64() < 0.7 {
		c.Username, c.Password = "admin", fmt.Sprintf("pw-%016x", r.Uint64())
	}
	g.i++
	return c
}

// orgRows returns the organisations the generated cameras belong to.
func (g *cityGen) orgRows() []*argus.Org {
	var out []*argus.Org
	for _, id := range g.orgs {
		out = append(out, &argus.Org{ID: id, Name: id, Kind: argus.OrgPolice})
	}
	return out
}
