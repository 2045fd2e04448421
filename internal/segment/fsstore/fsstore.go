// Package fsstore is the local-disk segment.Store: one file per segment
// under a root directory, laid out as docs/format/segments.md says.
//
// A segment is written to its partial name with one write per Append, made
// durable with fsync when Append finds the last fsync older than
// Options.SyncInterval, on Sync and at Finish, then renamed to its finished
// name, and the directory is fsynced. A process that is killed loses nothing
// that reached the page cache; a power loss can cost up to SyncInterval of
// the segment in flight.
package fsstore

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"argus"
	"argus/internal/segment"
)

// DefaultSyncInterval is how often a segment being written is fsynced when
// Options.SyncInterval is zero.
const DefaultSyncInterval = 10 * time.Second

// File and directory permissions.
const (
	fileMode = 0o640
	dirMode  = 0o750
)

// Options configures a Store.
type Options struct {
	// SyncInterval bounds how long appended data may stay only in the page
	// cache (what a power loss can cost). Zero means DefaultSyncInterval; a
	// negative value syncs only on Sync and Finish.
	SyncInterval time.Duration
	// Logger receives repair reports; nil discards them.
	Logger *slog.Logger
}

// Store keeps segments in a directory tree on local disk.
type Store struct {
	dir          string
	syncInterval time.Duration
	log          *slog.Logger
}

var _ segment.Store = (*Store)(nil)

// Open returns a Store rooted at dir, creating the directory if needed.
func Open(dir string, opts Options) (*Store, error) {
	if err := os.MkdirAll(dir, dirMode); err != nil {
		return nil, fmt.Errorf("open segment store: %w", err)
	}
	s := &Store{dir: filepath.Clean(dir), syncInterval: cmp.Or(opts.SyncInterval, DefaultSyncInterval), log: opts.Logger}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	return s, nil
}

// Dir returns the root directory.
func (s *Store) Dir() string { return s.dir }

func (s *Store) path(r segment.Ref) string {
	return filepath.Join(s.dir, filepath.FromSlash(r.Path()))
}

func notFound(r segment.Ref) error {
	return argus.Errorf(argus.ENOTFOUND, "segment %s not found", r.Path())
}

// Create implements segment.Store.
func (s *Store) Create(ctx context.Context, camera string, start time.Time) (segment.Writer, error) {
	r := segment.Ref{Camera: camera, Start: time.UnixMilli(start.UnixMilli()).UTC(), Partial: true}
	if err := r.Validate(); err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	// A concurrent Delete may remove a directory that has just emptied,
	// between mkdirs and the open: try twice.
	for try := 0; ; try++ {
		f, dirs, err := s.create(r)
		if errors.Is(err, fs.ErrNotExist) && try == 0 {
			continue
		}
		if err != nil {
			return nil, err
		}
		return &writer{s: s, ref: r, f: f, dirs: dirs, lastSync: time.Now()}, nil
	}
}

// create makes the directories of r and its partial file.
func (s *Store) create(r segment.Ref) (*os.File, []string, error) {
	dirs, err := s.mkdirs(r)
	if err != nil {
		return nil, nil, fmt.Errorf("create segment %s: %w", r.Path(), err)
	}
	if err := s.checkStart(r); err != nil {
		return nil, nil, err
	}
	f, err := os.OpenFile(s.path(r), os.O_WRONLY|os.O_CREATE|os.O_EXCL, fileMode)
	if errors.Is(err, fs.ErrExist) {
		return nil, nil, argus.Errorf(argus.ECONFLICT, "segment %s exists", r.Path())
	} else if err != nil {
		return nil, nil, fmt.Errorf("create segment %s: %w", r.Path(), err)
	}
	return f, dirs, nil
}

// mkdirs creates the camera, date and hour directories of r and returns the
// directories whose entries changed and need an fsync to make the new
// segment's name durable: the hour directory, and the parent of each
// directory created here.
func (s *Store) mkdirs(r segment.Ref) ([]string, error) {
	rel := segment.HourDir(r.Camera, r.Start)
	dirs := []string{filepath.Join(s.dir, filepath.FromSlash(rel))}
	parent := s.dir
	for _, name := range strings.Split(rel, "/") {
		d := filepath.Join(parent, name)
		err := os.Mkdir(d, dirMode)
		switch {
		case err == nil:
			dirs = append(dirs, parent)
		case !errors.Is(err, fs.ErrExist):
			return nil, err
		}
		parent = d
	}
	return dirs, nil
}

// checkStart returns ECONFLICT if the hour directory already holds a
// finished segment with r's start (a partial one is caught by O_EXCL).
func (s *Store) checkStart(r segment.Ref) error {
	prefix := strconv.FormatInt(r.Start.UnixMilli(), 10) + "-"
	entries, err := os.ReadDir(filepath.Dir(s.path(r)))
	if err != nil {
		return fmt.Errorf("create segment %s: %w", r.Path(), err)
	}
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), prefix) {
			return argus.Errorf(argus.ECONFLICT, "segment %s exists as %s", r.Path(), e.Name())
		}
	}
	return nil
}

// Open implements segment.Store.
func (s *Store) Open(ctx context.Context, r segment.Ref) (segment.Reader, error) {
	if err := r.Validate(); err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	f, err := os.Open(s.path(r))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, notFound(r)
	} else if err != nil {
		return nil, fmt.Errorf("open segment: %w", err)
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("open segment: %w", err)
	}
	return &reader{File: f, size: fi.Size()}, nil
}

// reader is an open segment file.
type reader struct {
	*os.File
	size int64
}

func (r *reader) Size() int64 { return r.size }

// List implements segment.Store.
func (s *Store) List(ctx context.Context, camera string, from, to time.Time) ([]segment.Ref, error) {
	if !argus.ValidID(camera) {
		return nil, argus.FieldErrorf("camera", "camera %q is not a valid id", camera)
	}
	if !from.Before(to) {
		return nil, nil
	}
	first, last := hourSpan(from, to)
	days, err := readDays(filepath.Join(s.dir, camera), first.Truncate(24*time.Hour), last)
	if err != nil {
		return nil, fmt.Errorf("list segments: %w", err)
	}
	var refs []segment.Ref
	for _, day := range days {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		dayDir := filepath.Join(s.dir, camera, day.Format("2006-01-02"))
		hours, err := readHours(dayDir)
		if err != nil {
			return nil, fmt.Errorf("list segments: %w", err)
		}
		for _, h := range hours {
			if hour := day.Add(time.Duration(h) * time.Hour); hour.Before(first) || hour.After(last) {
				continue
			}
			refs, err = s.appendHour(refs, camera, filepath.Join(dayDir, hourName(h)), from, to)
			if err != nil {
				return nil, err
			}
		}
	}
	slices.SortStableFunc(refs, func(a, b segment.Ref) int { return a.Start.Compare(b.Start) })
	return refs, nil
}

// hourSpan returns the first and last hours whose directories may hold a
// segment overlapping [from, to): from the hour of from − MaxDuration (a
// segment filed earlier may run into the range) to the hour of to's last
// millisecond. List and Ranges read the same hours.
func hourSpan(from, to time.Time) (first, last time.Time) {
	return from.Add(-segment.MaxDuration).UTC().Truncate(time.Hour), to.Add(-time.Millisecond).UTC().Truncate(time.Hour)
}

// readHours returns the hours (0-23) whose directories a date directory
// holds, in order; none when the date directory does not exist. Entries
// whose names are not two digits are ignored.
// readDays returns the dates from first to last (both UTC midnights) that
// have a directory under camDir, in order: one read of the camera's
// directory, where probing each date of a long range (the retention
// sweeper's first look at a camera spans ten years) would cost a system
// call per date.
func readDays(camDir string, first, last time.Time) ([]time.Time, error) {
	entries, err := os.ReadDir(camDir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	} else if err != nil {
		return nil, err
	}
	var days []time.Time
	for _, e := range entries { // sorted by name, so by date
		day, err := time.Parse("2006-01-02", e.Name())
		if err != nil || !e.IsDir() || day.Before(first) || day.After(last) {
			continue
		}
		days = append(days, day)
	}
	return days, nil
}

func readHours(dayDir string) ([]int, error) {
	entries, err := os.ReadDir(dayDir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	} else if err != nil {
		return nil, err
	}
	var hours []int
	for _, e := range entries {
		if h, ok := parseHour(e.Name()); ok {
			hours = append(hours, h)
		}
	}
	return hours, nil
}

// parseHour reads an hour directory name: two digits, 00 to 23.
func parseHour(name string) (int, bool) {
	if len(name) != 2 || name[0] < '0' || name[0] > '2' || name[1] < '0' || name[1] > '9' {
		return 0, false
	}
	h := int(name[0]-'0')*10 + int(name[1]-'0')
	return h, h <= 23
}

// hourName returns the directory name of hour h: two digits.
func hourName(h int) string {
	return string([]byte{byte('0' + h/10), byte('0' + h%10)})
}

// appendHour appends the segments of one hour directory that overlap
// [from, to).
func (s *Store) appendHour(refs []segment.Ref, camera, dir string, from, to time.Time) ([]segment.Ref, error) {
	entries, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return refs, nil
	} else if err != nil {
		return nil, fmt.Errorf("list segments: %w", err)
	}
	for _, e := range entries {
		r, err := segment.ParseName(camera, e.Name())
		if err != nil || !r.Start.Before(to) {
			continue
		}
		if !r.Partial && r.End().Compare(from) <= 0 && r.Start.Before(from) {
			continue
		}
		fi, err := e.Info()
		if err != nil {
			continue // deleted since ReadDir
		}
		r.Size = fi.Size()
		refs = append(refs, r)
	}
	return refs, nil
}

// Delete implements segment.Store. It also removes the hour, date and camera
// directories that it leaves empty.
func (s *Store) Delete(ctx context.Context, r segment.Ref) error {
	if err := r.Validate(); err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	p := s.path(r)
	if err := os.Remove(p); errors.Is(err, fs.ErrNotExist) {
		return notFound(r)
	} else if err != nil {
		return fmt.Errorf("delete segment: %w", err)
	}
	s.prune(filepath.Dir(p))
	s.forgetDay(r)
	return nil
}

// prune removes dir and its parents up to the root while they are empty.
func (s *Store) prune(dir string) {
	for d := dir; d != s.dir && len(d) > len(s.dir); d = filepath.Dir(d) {
		if os.Remove(d) != nil {
			return // not empty
		}
	}
}

// Cameras implements segment.Store.
func (s *Store) Cameras(ctx context.Context) ([]string, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	entries, err := os.ReadDir(s.dir)
	if err != nil {
		return nil, fmt.Errorf("list cameras: %w", err)
	}
	var ids []string
	for _, e := range entries {
		// ValidID also skips the timeline summaries (summaryDir).
		if e.IsDir() && argus.ValidID(e.Name()) {
			ids = append(ids, e.Name())
		}
	}
	return ids, nil
}

// syncDir fsyncs a directory so that the names it holds are durable.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	return errors.Join(d.Sync(), d.Close())
}

// writer is a segment.Writer on a partial file.
type writer struct {
	s    *Store
	ref  segment.Ref
	f    *os.File
	size int64
	// staged is the end of what was written, Stage included (≥ size).
	staged int64
	// dirs are fsynced at the first sync (see Store.mkdirs), then cleared.
	dirs     []string
	lastSync time.Time
	done     bool
}

var errDone = errors.New("segment writer is finished")

func (w *writer) Ref() segment.Ref { return w.ref }

func (w *writer) Append(ctx context.Context, p []byte) error {
	if w.done {
		return errDone
	}
	if _, err := w.f.WriteAt(p, w.size); err != nil {
		// Keep the file ending on a fragment boundary.
		return errors.Join(fmt.Errorf("append to segment %s: %w", w.ref.Path(), err), w.cut())
	}
	w.size += int64(len(p))
	w.staged = max(w.staged, w.size)
	return w.syncEvery(ctx)
}

func (w *writer) Stage(ctx context.Context, off int64, p ...[]byte) error {
	if w.done {
		return errDone
	}
	if off < w.size {
		return fmt.Errorf("stage at %d in segment %s: before its end %d", off, w.ref.Path(), w.size)
	}
	if err := writeAtv(w.f, p, off); err != nil {
		return errors.Join(fmt.Errorf("stage in segment %s: %w", w.ref.Path(), err), w.cut())
	}
	for _, b := range p {
		off += int64(len(b))
	}
	w.staged = max(w.staged, off)
	return nil
}

func (w *writer) Commit(ctx context.Context, head []byte, end int64) error {
	if w.done {
		return errDone
	}
	if end < w.size+int64(len(head)) {
		return fmt.Errorf("commit segment %s: end %d before the head's end %d", w.ref.Path(), end, w.size+int64(len(head)))
	}
	if _, err := w.f.WriteAt(head, w.size); err != nil {
		return errors.Join(fmt.Errorf("commit segment %s: %w", w.ref.Path(), err), w.cut())
	}
	w.size = end
	if w.staged < end {
		// Nothing was staged up to end: the file must still reach it.
		if err := w.f.Truncate(end); err != nil {
			return errors.Join(fmt.Errorf("commit segment %s: %w", w.ref.Path(), err), w.cut())
		}
	}
	w.staged = max(w.staged, end)
	return w.syncEvery(ctx)
}

// cut truncates the file to the end of the segment, dropping what was
// staged past it.
func (w *writer) cut() error {
	w.staged = w.size
	return w.f.Truncate(w.size)
}

// syncEvery syncs when the store's sync interval has passed since the last.
func (w *writer) syncEvery(ctx context.Context) error {
	if w.s.syncInterval > 0 {
		if now := time.Now(); now.Sub(w.lastSync) >= w.s.syncInterval {
			return w.Sync(ctx)
		}
	}
	return nil
}

func (w *writer) Sync(ctx context.Context) error {
	if w.done {
		return errDone
	}
	w.lastSync = time.Now()
	if err := w.f.Sync(); err != nil {
		return fmt.Errorf("sync segment %s: %w", w.ref.Path(), err)
	}
	for len(w.dirs) > 0 {
		if err := syncDir(w.dirs[0]); err != nil {
			return fmt.Errorf("sync segment %s: %w", w.ref.Path(), err)
		}
		w.dirs = w.dirs[1:]
	}
	return nil
}

func (w *writer) Finish(ctx context.Context, duration time.Duration) (segment.Ref, error) {
	if w.done {
		return segment.Ref{}, errDone
	}
	r := w.ref
	r.Partial, r.Duration, r.Size = false, duration.Round(time.Millisecond), w.size
	if err := r.Validate(); err != nil {
		return segment.Ref{}, err
	}
	if w.staged > w.size {
		if err := w.cut(); err != nil {
			return segment.Ref{}, fmt.Errorf("finish segment %s: %w", w.ref.Path(), err)
		}
	}
	if err := w.Sync(ctx); err != nil {
		return segment.Ref{}, err
	}
	w.done = true
	if err := w.f.Close(); err != nil {
		return segment.Ref{}, fmt.Errorf("finish segment %s: %w", w.ref.Path(), err)
	}
	if err := rename(w.s.path(w.ref), w.s.path(r)); err != nil {
		return segment.Ref{}, fmt.Errorf("finish segment %s: %w", w.ref.Path(), err)
	}
	return r, nil
}

// rename moves a partial segment to its finished name in the same directory
// and fsyncs the directory.
func rename(from, to string) error {
	if err := os.Rename(from, to); err != nil {
		return err
	}
	return syncDir(filepath.Dir(to))
}

func (w *writer) Abort(ctx context.Context) error {
	if w.done {
		return errDone
	}
	w.done = true
	p := w.s.path(w.ref)
	err := errors.Join(w.f.Close(), os.Remove(p))
	w.s.prune(filepath.Dir(p))
	w.s.forgetDay(w.ref)
	return err
}
