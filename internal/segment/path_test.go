package segment_test

import (
	"testing"
	"time"

	"argus/internal/segment"
)

// pathCases are shared by TestParse and TestPath: each path is canonical.
var pathCases = []struct {
	path string
	ref  segment.Ref
}{
	{
		"cam-1/2026-03-01/10/1772360400123-60000.mp4",
		segment.Ref{Camera: "cam-1", Start: time.Date(2026, 3, 1, 10, 20, 0, 123e6, time.UTC), Duration: time.Minute},
	},
	{
		"cam-1/2026-03-01/10/1772360400123.part.mp4",
		segment.Ref{Camera: "cam-1", Start: time.Date(2026, 3, 1, 10, 20, 0, 123e6, time.UTC), Partial: true},
	},
	{
		"x/1970-01-01/00/0-0.mp4",
		segment.Ref{Camera: "x", Start: time.Unix(0, 0).UTC()},
	},
	{
		"a.b_c/2025-12-31/23/1767225599999-1.mp4",
		segment.Ref{Camera: "a.b_c", Start: time.Date(2025, 12, 31, 23, 59, 59, 999e6, time.UTC), Duration: time.Millisecond},
	},
}

func TestParse(t *testing.T) {
	for _, tt := range pathCases {
		t.Run(tt.path, func(t *testing.T) {
			got, err := segment.Parse(tt.path)
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			if got != tt.ref {
				t.Errorf("Parse = %+v, want %+v", got, tt.ref)
			}
		})
	}
}

func TestPath(t *testing.T) {
	for _, tt := range pathCases {
		t.Run(tt.path, func(t *testing.T) {
			if got := tt.ref.Path(); got != tt.path {
				t.Errorf("Path = %q, want %q", got, tt.path)
			}
		})
	}
	// A start in another zone is filed under its UTC date and hour, and the
	// path keeps whole milliseconds only.
	paris := time.FixedZone("CET", 3600)
	r := segment.Ref{Camera: "c", Start: time.Date(2026, 1, 1, 0, 30, 0, 1_999_999, paris), Duration: 1500 * time.Microsecond}
	if got, want := r.Path(), "c/2025-12-31/23/1767223800001-1.mp4"; got != want {
		t.Errorf("Path in CET = %q, want %q", got, want)
	}
}

func TestParseRejects(t *testing.T) {
	tests := []struct{ name, path string }{
		{"too few elements", "cam-1/2026-03-01/1772360400123-60000.mp4"},
		{"too many elements", "x/cam-1/2026-03-01/10/1772360400123-60000.mp4"},
		{"bad camera", "Cam/2026-03-01/10/1772360400123-60000.mp4"},
		{"dot camera", "../2026-03-01/10/1772360400123-60000.mp4"},
		{"wrong hour", "cam-1/2026-03-01/11/1772360400123-60000.mp4"},
		{"wrong date", "cam-1/2026-03-02/10/1772360400123-60000.mp4"},
		{"unpadded hour", "x/1970-01-01/0/0-0.mp4"},
		{"leading zero start", "cam-1/2026-03-01/10/01772360400123-60000.mp4"},
		{"leading zero duration", "cam-1/2026-03-01/10/1772360400123-060000.mp4"},
		{"negative duration", "cam-1/2026-03-01/10/1772360400123--1.mp4"},
		{"no duration", "cam-1/2026-03-01/10/1772360400123.mp4"},
		{"other extension", "cam-1/2026-03-01/10/1772360400123-60000.mov"},
		{"not a number", "cam-1/2026-03-01/10/17723604001x3-60000.mp4"},
		{"after year 9999", "x/10000-01-01/00/253402300800000-0.mp4"},
		{"end after year 9999", "x/9999-12-31/23/253402300799999-1.mp4"},
		{"empty", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if r, err := segment.Parse(tt.path); err == nil {
				t.Errorf("Parse(%q) = %+v, want an error", tt.path, r)
			}
		})
	}
}

// FuzzParse checks that whatever Parse accepts is canonical: it formats
// back to the same path.
func FuzzParse(f *testing.F) {
	for _, tt := range pathCases {
		f.Add(tt.path)
	}
	f.Fuzz(func(t *testing.T, p string) {
		r, err := segment.Parse(p)
		if err != nil {
			return
		}
		if got := r.Path(); got != p {
			t.Errorf("Parse(%q).Path() = %q", p, got)
		}
		if err := r.Validate(); err != nil {
			t.Errorf("Parse(%q) = %+v, which does not validate: %v", p, r, err)
		}
	})
}
