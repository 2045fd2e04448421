package fsstore

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"time"

	"argus/internal/segment"
)

// Repair implements segment.Store. For each camera it reads the date and
// hour directories newest first down to the first hour that holds a
// segment, and repairs the partial segments there.
func (s *Store) Repair(ctx context.Context) ([]segment.Repaired, error) {
	cams, err := s.Cameras(ctx)
	if err != nil {
		return nil, fmt.Errorf("repair: %w", err)
	}
	var (
		out  []segment.Repaired
		errs []error
	)
	for _, cam := range cams {
		if err := ctx.Err(); err != nil {
			return out, err
		}
		partials, err := s.newestPartials(cam)
		if err != nil {
			errs = append(errs, fmt.Errorf("repair camera %s: %w", cam, err))
			continue
		}
		for _, r := range partials {
			rep, err := s.repair(r)
			if err != nil {
				// Leave it for the next start; List shows it as partial.
				s.log.Warn("cannot repair partial segment", "camera", cam, "partial", r.Path(), "err", err)
				errs = append(errs, fmt.Errorf("repair %s: %w", r.Path(), err))
				continue
			}
			s.log.Info("repaired partial segment", "camera", cam, "partial", r.Path(),
				"removed", rep.Removed, "finished", rep.Finished.Path(), "dropped_bytes", rep.Dropped)
			out = append(out, rep)
		}
	}
	return out, errors.Join(errs...)
}

// newestPartials returns the partial segments in the newest hour directory
// of camera that holds any segment.
func (s *Store) newestPartials(camera string) ([]segment.Ref, error) {
	camDir := filepath.Join(s.dir, camera)
	days, err := readDirNames(camDir)
	if err != nil {
		return nil, err
	}
	for _, day := range slices.Backward(days) {
		hours, err := readDirNames(filepath.Join(camDir, day))
		if err != nil {
			return nil, err
		}
		for _, hour := range slices.Backward(hours) {
			if _, err := strconv.Atoi(hour); err != nil {
				continue
			}
			names, err := readDirNames(filepath.Join(camDir, day, hour))
			if err != nil {
				return nil, err
			}
			var partials []segment.Ref
			found := false
			for _, name := range names {
				r, err := segment.Parse(camera + "/" + day + "/" + hour + "/" + name)
				if err != nil {
					continue
				}
				found = true
				if r.Partial {
					partials = append(partials, r)
				}
			}
			if found {
				return partials, nil
			}
		}
	}
	return nil, nil
}

// readDirNames returns the sorted names in dir, none if it does not exist.
func readDirNames(dir string) ([]string, error) {
	entries, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	} else if err != nil {
		return nil, err
	}
	names := make([]string, len(entries))
	for i, e := range entries {
		names[i] = e.Name()
	}
	return names, nil
}

// repair truncates one partial segment after its last complete fragment
// and renames it to its finished name, or removes it if it has none.
func (s *Store) repair(r segment.Ref) (segment.Repaired, error) {
	rep := segment.Repaired{Partial: r}
	p := s.path(r)
	f, err := os.OpenFile(p, os.O_RDWR, 0)
	if err != nil {
		return rep, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return rep, err
	}
	r.Size = fi.Size()
	rep.Partial = r
	scan, err := segment.Scan(f, fi.Size())
	if err != nil || scan.Fragments == 0 {
		rep.Removed, rep.Dropped = true, fi.Size()
		return rep, os.Remove(p)
	}
	if scan.End < fi.Size() {
		if err := f.Truncate(scan.End); err != nil {
			return rep, err
		}
		rep.Dropped = fi.Size() - scan.End
	}
	if err := f.Sync(); err != nil {
		return rep, err
	}
	fin := segment.Ref{Camera: r.Camera, Start: r.Start, Duration: scan.Duration.Round(time.Millisecond), Size: scan.End}
	if err := fin.Validate(); err != nil {
		return rep, err
	}
	if _, err := os.Stat(s.path(fin)); err == nil {
		return rep, fmt.Errorf("repair %s: %s exists", r.Path(), fin.Path())
	}
	if err := rename(p, s.path(fin)); err != nil {
		return rep, err
	}
	rep.Finished = fin
	return rep, nil
}
