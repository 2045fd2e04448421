package fsstore

import (
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"
)

// TestReadDays checks that a listing finds a camera's date directories in
// a range from one read of the camera's directory: dates outside the range,
// files and names that are no date are left out, and a camera without a
// directory has no dates.
func TestReadDays(t *testing.T) {
	dir := t.TempDir()
	for _, d := range []string{"2016-01-01", "2026-02-28", "2026-03-01", "2026-03-02", "2026-3-5", "junk", "2026-13-01"} {
		if err := os.Mkdir(filepath.Join(dir, d), 0o750); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(dir, "2026-03-03"), nil, 0o640); err != nil {
		t.Fatal(err)
	}
	day := func(s string) time.Time {
		d, err := time.Parse("2006-01-02", s)
		if err != nil {
			t.Fatal(err)
		}
		return d
	}
	got, err := readDays(dir, day("2026-02-28"), day("2026-03-03"))
	if err != nil {
		t.Fatal(err)
	}
	if want := []time.Time{day("2026-02-28"), day("2026-03-01"), day("2026-03-02")}; !slices.Equal(got, want) {
		t.Errorf("readDays = %v, want %v", got, want)
	}
	// Ten years back, as the retention sweeper's first look at a camera.
	if got, _ := readDays(dir, day("2016-01-01"), day("2026-01-01")); len(got) != 1 {
		t.Errorf("readDays over ten years = %v, want the one date in it", got)
	}
	if got, err := readDays(filepath.Join(dir, "none"), day("2016-01-01"), day("2026-01-01")); err != nil || got != nil {
		t.Errorf("readDays of a camera without a directory = %v, %v", got, err)
	}
}
