package fsstore

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"time"

	"argus"
	"argus/internal/segment"
)

// Timeline summaries (docs/format/segments.md, "Timeline summaries"): a
// cache of each hour directory's merged finished ranges, one JSON file per
// camera and date, rebuilt from the segment names whenever it is missing,
// unreadable or out of date.
const (
	// summaryDir is the directory under the root that holds the
	// summaries. Camera ids start with a letter or digit, so it is never
	// taken for a camera.
	summaryDir = ".timeline"
	// summaryVersion is the version of the day files; a file of another
	// version is ignored and rebuilt.
	summaryVersion = 1
	// racyWindow is how much older than the summary an hour directory's
	// mtime must be for the summary to be trusted: a change made in the
	// same timestamp tick as the summary's read would not move the mtime.
	racyWindow = 2 * time.Second
)

var _ segment.Ranger = (*Store)(nil)

// dayFile is the summary of one camera's date directory.
type dayFile struct {
	Version int `json:"version"`
	// Hours are keyed by hour directory name ("00"-"23"). An hour holding a
	// partial segment has no entry.
	Hours map[string]hourSummary `json:"hours"`
}

// hourSummary is what one hour directory held when it was read.
type hourSummary struct {
	// MTime is the hour directory's mtime (Unix nanoseconds) before it was
	// read.
	MTime int64 `json:"mtime"`
	// Built is when it was read (Unix nanoseconds).
	Built int64 `json:"built"`
	// Ranges are the merged [start, end) Unix milliseconds of its finished
	// segments, sorted, at their full extent (a segment may run past the
	// hour).
	Ranges [][2]int64 `json:"ranges"`
}

// trusted reports whether h still describes a directory whose mtime is
// mtime: the mtime has not moved, and it was old enough when h was built
// that any later change has a later mtime.
func (h hourSummary) trusted(mtime int64) bool {
	return h.MTime == mtime && h.Built-h.MTime >= int64(racyWindow)
}

// check validates a day file read from disk.
func (d *dayFile) check() error {
	if d.Version != summaryVersion {
		return fmt.Errorf("version %d, want %d", d.Version, summaryVersion)
	}
	// Every segment ends by the end of year 9999 (ParseName).
	end := time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC).UnixMilli()
	for name, h := range d.Hours {
		if _, ok := parseHour(name); !ok {
			return fmt.Errorf("hour %q", name)
		}
		prev := int64(-1)
		for _, r := range h.Ranges {
			if r[0] <= prev || r[0] >= r[1] || r[1] > end {
				return fmt.Errorf("hour %s: range %v", name, r)
			}
			prev = r[1]
		}
	}
	return nil
}

// Ranges implements segment.Ranger: the same ranges as segment.Merge of
// List, from the hour summaries where they are still valid and from the
// hour directories elsewhere. It reads the same hour directories as List,
// stats each of them, and lists only those that changed since their summary
// was built or that hold a partial segment. Summaries that changed are
// written back; failing to write them is logged at debug level only.
// Concurrent calls are safe: each writes a whole day file under a temporary
// name of its own and renames it, and the last rename wins.
func (s *Store) Ranges(ctx context.Context, camera string, from, to, now time.Time) ([]segment.Range, error) {
	if !argus.ValidID(camera) {
		return nil, argus.FieldErrorf("camera", "camera %q is not a valid id", camera)
	}
	if !from.Before(to) {
		return nil, nil
	}
	// Taken before any hour is read: a summary is trusted only if the
	// directory's mtime is well before the read.
	built := time.Now().UnixNano()
	first, last := hourSpan(from, to)
	var refs []segment.Ref
	for day := first.Truncate(24 * time.Hour); !day.After(last); day = day.Add(24 * time.Hour) {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		var err error
		if refs, err = s.dayRanges(refs, camera, day, first, last, built); err != nil {
			return nil, fmt.Errorf("list ranges: %w", err)
		}
	}
	slices.SortStableFunc(refs, func(a, b segment.Ref) int { return a.Start.Compare(b.Start) })
	return segment.Merge(refs, from, to, now), nil
}

// dayRanges appends to refs the ranges of the hours first..last of one date
// directory, one finished Ref per summary range plus the partial segments,
// and brings the date's summary file up to date.
func (s *Store) dayRanges(refs []segment.Ref, camera string, day, first, last time.Time, built int64) ([]segment.Ref, error) {
	date := day.Format("2006-01-02")
	dayDir := filepath.Join(s.dir, camera, date)
	file := s.summaryPath(camera, date)
	hours, err := readHours(dayDir)
	if err != nil {
		return nil, err
	}
	if len(hours) == 0 {
		removeSummary(file)
		return refs, nil
	}
	sum, changed := s.readSummary(file)
	var present [24]bool
	for _, h := range hours {
		present[h] = true
	}
	for name := range sum.Hours {
		if h, _ := parseHour(name); !present[h] {
			delete(sum.Hours, name)
			changed = true
		}
	}
	for _, h := range hours {
		if hour := day.Add(time.Duration(h) * time.Hour); hour.Before(first) || hour.After(last) {
			continue
		}
		var c bool
		if refs, c, err = s.hourRanges(refs, camera, filepath.Join(dayDir, hourName(h)), sum.Hours, hourName(h), built); err != nil {
			return nil, err
		}
		changed = changed || c
	}
	if changed {
		s.writeSummary(file, sum)
	}
	return refs, nil
}

// hourRanges appends the ranges of one hour directory to refs, from its
// summary in hours if that is still trusted, else by listing the directory,
// in which case it updates hours and reports whether it changed them.
func (s *Store) hourRanges(refs []segment.Ref, camera, dir string, hours map[string]hourSummary, name string, built int64) ([]segment.Ref, bool, error) {
	_, had := hours[name]
	// Stat before ReadDir: a change in between leaves a summary with the
	// older mtime, which the next call does not trust.
	fi, err := os.Stat(dir)
	if errors.Is(err, fs.ErrNotExist) {
		delete(hours, name)
		return refs, had, nil
	} else if err != nil {
		return nil, false, err
	}
	mtime := fi.ModTime().UnixNano()
	if h, ok := hours[name]; ok && h.trusted(mtime) {
		for _, r := range h.Ranges {
			refs = append(refs, segment.Ref{
				Camera:   camera,
				Start:    time.UnixMilli(r[0]).UTC(),
				Duration: time.Duration(r[1]-r[0]) * time.Millisecond,
			})
		}
		return refs, false, nil
	}

	entries, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		delete(hours, name)
		return refs, had, nil
	} else if err != nil {
		return nil, false, err
	}
	var finished []segment.Ref
	partial := false
	for _, e := range entries {
		r, err := segment.ParseName(camera, e.Name())
		if err != nil {
			continue
		}
		if r.Partial {
			partial = true
			refs = append(refs, r)
			continue
		}
		finished = append(finished, r)
	}
	slices.SortStableFunc(finished, func(a, b segment.Ref) int { return a.Start.Compare(b.Start) })
	// Unclipped: from the epoch to past the latest end a name can have.
	merged := segment.Merge(finished, time.UnixMilli(0), time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC), time.Time{})
	h := hourSummary{MTime: mtime, Built: built, Ranges: make([][2]int64, len(merged))}
	for i, r := range merged {
		h.Ranges[i] = [2]int64{r.From.UnixMilli(), r.To.UnixMilli()}
		refs = append(refs, segment.Ref{Camera: camera, Start: r.From, Duration: r.To.Sub(r.From)})
	}
	if partial || !h.trusted(mtime) {
		delete(hours, name)
		return refs, had, nil
	}
	hours[name] = h
	return refs, true, nil
}

// summaryPath returns the summary file of camera's date (YYYY-MM-DD).
func (s *Store) summaryPath(camera, date string) string {
	return filepath.Join(s.dir, summaryDir, camera, date+".json")
}

// readSummary reads a day file. A missing one reads as empty; so does one
// that cannot be read or does not check, and then changed is true so that
// it is replaced.
func (s *Store) readSummary(file string) (sum dayFile, changed bool) {
	b, err := os.ReadFile(file)
	if err == nil {
		if err = json.Unmarshal(b, &sum); err == nil {
			err = sum.check()
		}
	}
	switch {
	case err == nil:
		if sum.Hours == nil {
			sum.Hours = map[string]hourSummary{}
		}
		return sum, false
	case !errors.Is(err, fs.ErrNotExist):
		s.log.Debug("ignoring timeline summary", "file", file, "err", err)
		changed = true
	}
	return dayFile{Version: summaryVersion, Hours: map[string]hourSummary{}}, changed
}

// writeSummary replaces a day file, or removes it when it has no hours.
// The file is a cache: it is written to a temporary file of its own and
// renamed over the old one, without fsync, and a failure is only logged.
func (s *Store) writeSummary(file string, sum dayFile) {
	if len(sum.Hours) == 0 {
		removeSummary(file)
		return
	}
	b, err := json.Marshal(sum)
	if err == nil {
		err = writeAtomic(file, b)
	}
	if err != nil {
		s.log.Debug("cannot write timeline summary", "file", file, "err", err)
	}
}

// writeAtomic writes b to file through a uniquely named temporary file in
// the same directory and a rename, so readers never see a partial file and
// concurrent writers do not interleave.
func writeAtomic(file string, b []byte) error {
	dir := filepath.Dir(file)
	if err := os.MkdirAll(dir, dirMode); err != nil {
		return err
	}
	f, err := os.CreateTemp(dir, filepath.Base(file)+".*.tmp")
	if err != nil {
		return err
	}
	_, err = f.Write(b)
	if err = errors.Join(err, f.Close()); err == nil {
		err = os.Rename(f.Name(), file)
	}
	if err != nil {
		os.Remove(f.Name())
	}
	return err
}

// removeSummary removes a day file and its camera's summary directory if
// that is left empty. Errors are ignored: a summary left behind is dropped
// or rebuilt by the next Ranges over its date.
func removeSummary(file string) {
	if os.Remove(file) == nil {
		os.Remove(filepath.Dir(file)) // fails unless empty
	}
}

// forgetDay removes the summary of r's date once its date directory is
// gone (Delete and Abort prune empty directories), so that summaries do not
// outlive the recordings that retention deletes.
func (s *Store) forgetDay(r segment.Ref) {
	date := r.Start.UTC().Format("2006-01-02")
	if _, err := os.Lstat(filepath.Join(s.dir, r.Camera, date)); errors.Is(err, fs.ErrNotExist) {
		removeSummary(s.summaryPath(r.Camera, date))
	}
}
