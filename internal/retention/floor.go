package retention

import (
	"fmt"
	"math"
	"strconv"
	"strings"
)

// Floor is the least free space the recording disk should keep: a number of
// bytes or a share of the disk's size. The zero Floor keeps nothing free and
// so never triggers the pressure rule.
type Floor struct {
	// Bytes is the floor in bytes when Percent is 0.
	Bytes uint64
	// Percent, when above 0, is the floor as a percentage (0..100) of the
	// disk's total size.
	Percent float64
}

// ParseFloor reads a floor: a percentage of the disk ("5%", "2.5%") or a
// size in bytes with an optional unit ("2GiB", "500MB", "1048576"). Units
// are B, KB, MB, GB, TB (powers of 1000) and KiB, MiB, GiB, TiB (powers of
// 1024); a space before the unit is allowed.
func ParseFloor(s string) (Floor, error) {
	v := strings.TrimSpace(s)
	if p, ok := strings.CutSuffix(v, "%"); ok {
		f, err := strconv.ParseFloat(strings.TrimSpace(p), 64)
		if err != nil || math.IsNaN(f) || f < 0 || f >= 100 {
			return Floor{}, fmt.Errorf("%q is not a percentage in 0..100 (e.g. 5%%)", s)
		}
		return Floor{Percent: f}, nil
	}
	// The suffixes, longer first, so that "MiB" is not read as "B".
	units := []struct {
		suffix string
		mult   uint64
	}{
		{"KiB", 1 << 10}, {"MiB", 1 << 20}, {"GiB", 1 << 30}, {"TiB", 1 << 40},
		{"KB", 1e3}, {"MB", 1e6}, {"GB", 1e9}, {"TB", 1e12},
		{"B", 1},
	}
	mult := uint64(1)
	for _, u := range units {
		if n, ok := strings.CutSuffix(v, u.suffix); ok {
			v, mult = strings.TrimSpace(n), u.mult
			break
		}
	}
	f, err := strconv.ParseFloat(v, 64)
	if err != nil || math.IsNaN(f) || f < 0 || f*float64(mult) >= math.MaxInt64 || v == "" || strings.ContainsAny(v, "eExXpP_") {
		return Floor{}, fmt.Errorf("%q is not a size (e.g. 2GiB, 500MB, 1048576) or a percentage (e.g. 5%%)", s)
	}
	return Floor{Bytes: uint64(f * float64(mult))}, nil
}

// Of returns the floor in bytes on a disk of total bytes.
func (f Floor) Of(total uint64) uint64 {
	if f.Percent > 0 {
		return uint64(float64(total) * f.Percent / 100)
	}
	return f.Bytes
}

// String returns the floor in the form ParseFloor reads.
func (f Floor) String() string {
	if f.Percent > 0 {
		return strconv.FormatFloat(f.Percent, 'f', -1, 64) + "%"
	}
	return strconv.FormatUint(f.Bytes, 10)
}
