package fsstore_test

import (
	"io/fs"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"argus/internal/segment"
	"argus/internal/segment/fsstore"
	"argus/internal/segment/segmenttest"
)

func TestConformance(t *testing.T) {
	segmenttest.Run(t, func(t *testing.T) segment.Store {
		s, err := fsstore.Open(t.TempDir(), fsstore.Options{})
		if err != nil {
			t.Fatal(err)
		}
		return s
	})
}

// TestLayout checks the files on disk against docs/format/segments.md: the
// partial name while writing, the finished name after, nothing else.
func TestLayout(t *testing.T) {
	dir := t.TempDir()
	s, err := fsstore.Open(dir+"/", fsstore.Options{SyncInterval: -1})
	if err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	start := time.Date(2026, 3, 1, 10, 20, 0, 123e6, time.UTC)
	w, err := s.Create(ctx, "cam-1", start)
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Append(ctx, segmenttest.Init(t)); err != nil {
		t.Fatal(err)
	}
	if got := files(t, dir); !slices.Equal(got, []string{"cam-1/2026-03-01/10/1772360400123.part.mp4"}) {
		t.Errorf("while writing: %v", got)
	}
	if _, err := w.Finish(ctx, 59_999_600*time.Microsecond); err != nil {
		t.Fatal(err)
	}
	if got := files(t, dir); !slices.Equal(got, []string{"cam-1/2026-03-01/10/1772360400123-60000.mp4"}) {
		t.Errorf("after Finish: %v", got)
	}
}

// TestRepairNewestHourOnly pins down Repair's reach: a partial in an hour
// older than the camera's newest is not looked at (at most one segment is
// in flight per camera, its newest); List still shows it.
func TestRepairNewestHourOnly(t *testing.T) {
	s, err := fsstore.Open(t.TempDir(), fsstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	start := time.Date(2026, 3, 1, 10, 20, 0, 0, time.UTC)
	old, err := s.Create(ctx, "cam-1", start)
	if err != nil {
		t.Fatal(err)
	}
	newer, err := s.Create(ctx, "cam-1", start.Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	for _, w := range []segment.Writer{old, newer} {
		for _, p := range [][]byte{segmenttest.Init(t), segmenttest.Fragment(t, 1)} {
			if err := w.Append(ctx, p); err != nil {
				t.Fatal(err)
			}
		}
	}
	rep, err := s.Repair(ctx)
	if err != nil || len(rep) != 1 || rep[0].Partial.Start != newer.Ref().Start {
		t.Fatalf("Repair = %+v, %v; want the newest hour's partial only", rep, err)
	}
	refs, err := s.List(ctx, "cam-1", start, start.Add(2*time.Hour))
	if err != nil || len(refs) != 2 || !refs[0].Partial || refs[1].Partial {
		t.Errorf("List = %+v, %v; want the old partial and the repaired segment", refs, err)
	}
}

// files returns the regular files under dir, slash-separated and sorted.
func files(t *testing.T, dir string) []string {
	t.Helper()
	var out []string
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err == nil && d.Type().IsRegular() {
			rel, _ := filepath.Rel(dir, p)
			out = append(out, filepath.ToSlash(rel))
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(out)
	return out
}
