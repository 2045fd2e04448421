package city

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strconv"
)

// Geometry of the grid. Positions inside the generator are kilometres east
// (x) and north (y) of the centre.
const (
	districtCols    = 5
	districtRows    = 4
	avenueSpacingKm = 0.25
	streetSpacingKm = 0.08
	kmPerDegLat     = 111.32
	// edgeKm keeps cameras this far inside the city's bounds, so rounding
	// the printed coordinates never puts one outside.
	edgeKm = 0.001
)

// Salts of the independent random streams drawn from one seed.
const (
	saltLayout = 0x6c61796f7574 // the districts, parks and sites
	saltRows   = 0x726f7773     // the camera rows
	saltOwner  = 0x6f776e6572   // one stream per private owner
)

// city is the fixed layout every row draws on.
type city struct {
	opts        Options
	seed        uint64
	halfKm      float64
	kmPerDegLon float64
	avSp, stSp  float64
	nAv, nSt    int
	broadway    int
	avenues     []string // names, west to east
	streets     []string // "42nd St", south to north
	districts   [districtRows * districtCols]district
	cum         [districtRows * districtCols]float64 // cumulative district weights
	private     int
}

// district is one of the 20 districts with its landmarks.
type district struct {
	name           string
	x0, x1, y0, y1 float64
	weight         float64 // share of the city's cameras
	commercial     float64 // share of private owners that are businesses
	parks          []park
	schools        []site
	stations       []site
	housing        []site
	fire, precinct site
}

// site is a building with cameras: a school, station, housing, fire or
// police station.
type site struct {
	name, address string
	x, y          float64
}

// park is a rectangle of green.
type park struct {
	name, address  string
	x0, x1, y0, y1 float64
}

// owner is a private owner of cameras: a residence or a business.
type owner struct {
	id, name, addr string
	business       bool
	x, y           float64
}

// newCity lays out the city for o, which has its defaults. The layout
// depends only on the seed, the centre and the area, never on the number of
// cameras, except for the number of private owners.
func newCity(o Options) *city {
	side := math.Sqrt(o.AreaKm2)
	c := &city{
		opts:        o,
		seed:        uint64(o.Seed),
		halfKm:      side / 2,
		kmPerDegLon: kmPerDegLat * math.Cos(o.Center.Lat*math.Pi/180),
		nAv:         max(2, int(side/avenueSpacingKm)),
		nSt:         max(2, int(side/streetSpacingKm)),
		private:     o.PrivateOrgs,
	}
	c.avSp, c.stSp = side/float64(c.nAv), side/float64(c.nSt)
	c.broadway = c.nAv / 2
	c.avenues = make([]string, c.nAv)
	named := avenueNames()
	for a := range c.nAv {
		switch k := c.broadway - a - 1; {
		case a == c.broadway:
			c.avenues[a] = "Broadway"
		case a > c.broadway:
			c.avenues[a] = ordinal(a-c.broadway) + " Ave"
		case k < len(named):
			c.avenues[a] = named[k] + " Ave"
		default:
			c.avenues[a] = ordinal(k-len(named)+1) + " Ave W"
		}
	}
	c.streets = make([]string, c.nSt)
	for s := range c.nSt {
		c.streets[s] = ordinal(s+1) + " St"
	}

	r := rand.New(rand.NewPCG(c.seed, saltLayout))
	names := districtNames()
	total := 0.0
	for d := range c.districts {
		col, row := d%districtCols, d/districtCols
		dist := &c.districts[d]
		dist.name = names[d]
		dist.x0 = -c.halfKm + side*float64(col)/districtCols
		dist.x1 = -c.halfKm + side*float64(col+1)/districtCols
		dist.y0 = -c.halfKm + side*float64(row)/districtRows
		dist.y1 = -c.halfKm + side*float64(row+1)/districtRows
		central := col >= 1 && col <= 3 && row >= 1 && row <= 2
		dist.weight, dist.commercial = 1, 0.3
		if central {
			dist.weight, dist.commercial = 3, 0.7
		}
		if dist.name == "Midtown" || dist.name == "Financial District" {
			dist.weight = 5
		}
		dist.weight *= 0.8 + 0.4*r.Float64()
		total += dist.weight
		c.cum[d] = total
		c.layOut(r, d)
	}
	return c
}

// layOut places district d's parks and sites.
func (c *city) layOut(r *rand.Rand, d int) {
	dist := &c.districts[d]
	for k := range 1 + r.IntN(3) {
		x, y := c.randomIn(r, d)
		av, st := c.avAt(x), c.stAt(y)
		p := park{name: dist.name + " Park", address: c.avenues[av] + " & " + c.street(st, c.avX(av))}
		if k > 0 {
			p.name = pick(r, parkNames()) + " Park"
		}
		p.x0 = c.avX(av) + 0.01
		p.x1 = p.x0 + float64(1+r.IntN(2))*c.avSp - 0.02
		p.y0 = c.stY(st) + 0.01
		p.y1 = p.y0 + float64(3+r.IntN(8))*c.stSp - 0.02
		p.x0, p.x1, p.y0, p.y1 = c.clamp(p.x0), c.clamp(p.x1), c.clamp(p.y0), c.clamp(p.y1)
		dist.parks = append(dist.parks, p)
	}
	for k := range 3 {
		n := 10*d + 3*k + 1 + r.IntN(3)
		dist.schools = append(dist.schools, c.site(r, d, fmt.Sprintf("PS %d %s %s", n, pick(r, firstNames()), pick(r, surnames()))))
	}
	for range 2 {
		x, y := c.randomIn(r, d)
		av, st := c.avAt(x), c.stAt(y)
		s := c.siteAt(r, av, st, c.streets[st]+"–"+c.avenues[av]+" Station")
		dist.stations = append(dist.stations, s)
	}
	for range 1 + r.IntN(2) {
		dist.housing = append(dist.housing, c.site(r, d, pick(r, surnames())+" Houses"))
	}
	dist.fire = c.site(r, d, fmt.Sprintf("Engine %d / Ladder %d", 4*d+1+r.IntN(4), d+1))
	dist.precinct = c.site(r, d, ordinal(d+1)+" Precinct Station House")
}

// site places a named building at a random intersection of district d.
func (c *city) site(r *rand.Rand, d int, name string) site {
	x, y := c.randomIn(r, d)
	return c.siteAt(r, c.avAt(x), c.stAt(y), name)
}

// siteAt places a named building on the block north-east of avenue av and
// street st, with its street address.
func (c *city) siteAt(r *rand.Rand, av, st int, name string) site {
	x, y := c.avX(av)+0.03, c.stY(st)+0.02
	return site{name: name, x: c.clamp(x), y: c.clamp(y), address: c.houseOnStreet(r, x) + " " + c.street(st, x)}
}

// owner returns private owner j. Each owner has its own random stream, so
// Orgs and the rows agree without holding the owners in memory.
func (c *city) owner(j int) owner {
	r := rand.New(rand.NewPCG(c.seed^saltOwner, uint64(j)))
	d := c.pickDistrict(r)
	o := owner{business: r.Float64() < c.districts[d].commercial}
	o.x, o.y = c.randomIn(r, d)
	if r.IntN(4) > 0 {
		st := c.stAt(o.y)
		o.y = c.stY(st) + cornerOffset(r.IntN(2) == 0)
		o.addr = c.houseOnStreet(r, o.x) + " " + c.street(st, o.x)
	} else {
		av := c.avAt(o.x)
		o.x = c.avX(av) + cornerOffset(r.IntN(2) == 0)
		o.addr = strconv.Itoa(int((o.y+c.halfKm)/c.stSp)*20+1+r.IntN(19)) + " " + c.avenues[av]
	}
	surname := pick(r, surnames())
	switch {
	case o.business:
		o.id = fmt.Sprintf("biz-%06d", j+1)
		o.name = surname + " " + pick(r, businessKinds())
	case r.IntN(3) == 0:
		o.id = fmt.Sprintf("res-%06d", j+1)
		o.name = o.addr + " Condominium"
	default:
		o.id = fmt.Sprintf("res-%06d", j+1)
		o.name = "The " + surname + " Residence"
	}
	return o
}

// block places a police camera mid-block near (x, y), on a street or an
// avenue, and names it by the cross streets around it.
func (c *city) block(r *rand.Rand, x, y float64) (name, address string, bx, by float64) {
	if r.IntN(3) > 0 {
		st := c.stAt(y)
		y = c.stY(st) + cornerOffset(r.IntN(2) == 0)
		a1 := c.avAt(x)
		a2 := a1 - 1
		if x > c.avX(a1) {
			a2 = a1 + 1
		}
		street := c.street(st, x)
		name = street + " near " + c.avenues[a1]
		if a2 >= 0 && a2 < c.nAv {
			name = street + " between " + c.avenues[min(a1, a2)] + " & " + c.avenues[max(a1, a2)]
		}
		return name, c.houseOnStreet(r, x) + " " + street, x, y
	}
	av := c.avAt(x)
	x = c.avX(av) + cornerOffset(r.IntN(2) == 0)
	s1 := c.stAt(y)
	s2 := s1 - 1
	if y > c.stY(s1) {
		s2 = s1 + 1
	}
	name = c.avenues[av] + " near " + c.streets[s1]
	if s2 >= 0 && s2 < c.nSt {
		name = c.avenues[av] + " between " + ordinal(min(s1, s2)+1) + " & " + c.streets[max(s1, s2)]
	}
	address = strconv.Itoa(int((y+c.halfKm)/c.stSp)*20+1+r.IntN(19)) + " " + c.avenues[av]
	return name, address, x, y
}

// street names street st on the side of Broadway where x lies.
func (c *city) street(st int, x float64) string {
	if x <= c.avX(c.broadway) {
		return "W " + c.streets[st]
	}
	return "E " + c.streets[st]
}

// houseOnStreet returns a house number for a building at x on a street:
// 100 per block away from Broadway.
func (c *city) houseOnStreet(r *rand.Rand, x float64) string {
	blocks := int(math.Abs(x-c.avX(c.broadway)) / c.avSp)
	return strconv.Itoa(blocks*100 + 1 + r.IntN(98))
}

// major moves street st to the nearest major street (every tenth).
func (c *city) major(st int) int {
	m := (st+1+5)/10*10 - 1
	if m < 0 || m >= c.nSt {
		return st
	}
	return m
}

// pickDistrict returns a district drawn by weight.
func (c *city) pickDistrict(r *rand.Rand) int {
	u := r.Float64() * c.cum[len(c.cum)-1]
	for d, w := range c.cum {
		if u < w {
			return d
		}
	}
	return len(c.cum) - 1
}

// randomIn returns a uniform random position inside district d.
func (c *city) randomIn(r *rand.Rand, d int) (x, y float64) {
	dist := &c.districts[d]
	return dist.x0 + r.Float64()*(dist.x1-dist.x0), dist.y0 + r.Float64()*(dist.y1-dist.y0)
}

// districtAt returns the district that holds (x, y).
func (c *city) districtAt(x, y float64) int {
	side := 2 * c.halfKm
	col := min(districtCols-1, max(0, int((x+c.halfKm)/side*districtCols)))
	row := min(districtRows-1, max(0, int((y+c.halfKm)/side*districtRows)))
	return row*districtCols + col
}

func (c *city) avX(a int) float64 { return -c.halfKm + (float64(a)+0.5)*c.avSp }
func (c *city) stY(s int) float64 { return -c.halfKm + (float64(s)+0.5)*c.stSp }
func (c *city) avAt(x float64) int {
	return min(c.nAv-1, max(0, int((x+c.halfKm)/c.avSp)))
}
func (c *city) stAt(y float64) int {
	return min(c.nSt-1, max(0, int((y+c.halfKm)/c.stSp)))
}

// clamp keeps a coordinate edgeKm inside the city.
func (c *city) clamp(v float64) float64 {
	return min(c.halfKm-edgeKm, max(-c.halfKm+edgeKm, v))
}

// latLon converts a grid position to degrees.
func (c *city) latLon(x, y float64) (lat, lon float64) {
	return c.opts.Center.Lat + y/kmPerDegLat, c.opts.Center.Lon + x/c.kmPerDegLon
}
