// Package camimport imports cameras into the directory from CSV files in the
// format docs/import.md specifies.
//
// Import streams its input: memory holds one row at a time plus the set of
// camera ids seen so far, so a 500,000-row file imports in bounded memory.
// Every row goes through Camera.Normalize and Camera.Validate before it
// reaches the store, inside one bulk transaction (argus.CameraBulk), so an
// all-or-nothing import leaves the directory unchanged when any row is bad.
package camimport

import (
	"bufio"
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"time"

	"argus"
)

// Mode says what Import does with bad rows.
type Mode int

const (
	// AllOrNothing imports every row, or none when any row is bad.
	AllOrNothing Mode = iota
	// SkipBad imports the good rows and skips the bad ones.
	SkipBad
)

// String returns the mode's name as ParseMode reads it.
func (m Mode) String() string {
	if m == SkipBad {
		return "skip-bad"
	}
	return "all-or-nothing"
}

// ParseMode reads "all-or-nothing" or "skip-bad".
func ParseMode(s string) (Mode, error) {
	switch s {
	case "all-or-nothing":
		return AllOrNothing, nil
	case "skip-bad":
		return SkipBad, nil
	}
	return 0, argus.FieldErrorf("mode", "mode %q is not all-or-nothing or skip-bad", clip(s))
}

// Limits of an import.
const (
	// MaxErrors is how many row errors a Report lists; it counts the rest
	// in MoreErrors.
	MaxErrors = 1000
	// MaxRowBytes bounds one row (a record, which quoted newlines may spread
	// over several lines); a longer row ends the import.
	MaxRowBytes = 1 << 20
	// ProgressInterval is the least time between two Progress calls, except
	// for the last.
	ProgressInterval = 100 * time.Millisecond
	// maxMessageLen bounds the message of one RowError.
	maxMessageLen = 300
	// readBufSize is the read buffer; the input is read ahead of the
	// parser by at most this much.
	readBufSize = 64 << 10
)

// Options tune an import. The zero value imports all or nothing, rejects
// unknown columns and reports no progress.
type Options struct {
	// Mode says what happens to bad rows.
	Mode Mode
	// IgnoreUnknownColumns skips columns the importer does not know instead
	// of failing on them.
	IgnoreUnknownColumns bool
	// Size is the length of the input in bytes, when known (a file's size);
	// Progress passes it on as total.
	Size int64
	// Progress, when set, is called with the bytes read so far and Size: at
	// most every ProgressInterval while reading, and once at the end of the
	// input with every byte read. It runs on Import's goroutine.
	Progress func(done, total int64)
	// Logger receives a summary of the import; nil discards it.
	Logger *slog.Logger
	// Check, when set, is asked about every row that parsed and validated
	// (so c is normalised and has its id), before the row reaches the
	// store. An *argus.Error rejects the row like any other bad row, and
	// Mode decides what follows; any other error ends the import with
	// nothing imported. It runs on Import's goroutine.
	Check func(ctx context.Context, c *argus.Camera) error
}

// Report says what an import did.
type Report struct {
	// Rows is the number of data rows read (the header and blank lines are
	// not rows).
	Rows int `json:"rows"`
	// Imported is the number of cameras committed to the store.
	Imported int `json:"imported"`
	// Skipped is the number of rows rejected for an error. In AllOrNothing
	// mode any such row means nothing was imported.
	Skipped int `json:"skipped"`
	// Errors lists the problems found, at most MaxErrors of them, in input
	// order; a rejected row has exactly one (the first found).
	Errors []RowError `json:"errors"`
	// MoreErrors counts the errors beyond MaxErrors that Errors leaves out.
	MoreErrors int `json:"more_errors"`
}

// RowError is one problem with the input.
type RowError struct {
	// Row is the 1-based number of the data row: the first row after the
	// header is 1. It is 0 for a problem with the file or its header.
	Row int `json:"row"`
	// Line is the 1-based line of the file on which the row starts (the
	// header is line 1); 0 when unknown.
	Line int `json:"line"`
	// Field names the column at fault; it is empty for rows that are not
	// well-formed CSV.
	Field string `json:"field,omitempty"`
	// Code is the argus error code: argus.EINVALID, argus.ECONFLICT for an
	// id that exists already, or the code of an error from Options.Check.
	Code string `json:"code"`
	// Message says what is wrong, safe to show to the user.
	Message string `json:"message"`
}

// String formats the error for a terminal, e.g.
// "row 3 (line 4): lat: latitude 91 is outside -90..90".
func (e RowError) String() string {
	var where string
	switch {
	case e.Row > 0 && e.Line > 0:
		where = fmt.Sprintf("row %d (line %d): ", e.Row, e.Line)
	case e.Row > 0:
		where = fmt.Sprintf("row %d: ", e.Row)
	case e.Line > 0:
		where = fmt.Sprintf("line %d: ", e.Line)
	}
	if e.Field != "" {
		where += e.Field + ": "
	}
	return where + e.Message
}

// add records e against a row (0 for the file itself) starting on line.
func (r *Report) add(row, line int, e *argus.Error) {
	if row > 0 {
		r.Skipped++
	}
	if len(r.Errors) >= MaxErrors {
		r.MoreErrors++
		return
	}
	r.Errors = append(r.Errors, RowError{Row: row, Line: line, Field: e.Field, Code: e.Code, Message: truncate(e.Message, maxMessageLen)})
}

// errRowTooLarge is what guardReader returns past its limit.
var errRowTooLarge = errors.New("row too large")

// guardReader counts the bytes read and fails reads past limit, which
// Import moves forward after each row: one huge row never fills memory.
type guardReader struct {
	r     io.Reader
	n     int64
	limit int64
}

func (g *guardReader) Read(p []byte) (int, error) {
	if g.n >= g.limit {
		return 0, errRowTooLarge
	}
	if rest := g.limit - g.n; int64(len(p)) > rest {
		p = p[:rest]
	}
	n, err := g.r.Read(p)
	g.n += int64(n)
	return n, err
}

// Import reads cameras as CSV from r and adds them to store in one bulk
// transaction. It returns what it did in the Report, together with:
//   - nil when it committed (in SkipBad mode, bad rows may have been skipped);
//   - an EINVALID *argus.Error when the header is bad (naming the column in
//     Field), a row is longer than MaxRowBytes, or, in AllOrNothing mode,
//     any row is bad; nothing is imported then;
//   - a wrapped store, read, context or Options.Check error, with nothing
//     imported.
func Import(ctx context.Context, store argus.CameraStore, r io.Reader, opts Options) (Report, error) {
	logger := opts.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	start := time.Now()
	imp := &importer{opts: opts, src: &guardReader{r: r, limit: MaxRowBytes + readBufSize}}
	err := imp.run(ctx, store)
	rep := imp.rep
	if err != nil {
		rep.Imported = 0
		level := slog.LevelInfo // the input was at fault
		if argus.ErrorCode(err) == argus.EINTERNAL {
			level = slog.LevelWarn
		}
		logger.Log(ctx, level, "camera import failed", "mode", opts.Mode.String(), "rows", rep.Rows,
			"skipped", rep.Skipped, "duration", time.Since(start), "error", err)
		return rep, err
	}
	logger.Info("camera import done", "mode", opts.Mode.String(), "rows", rep.Rows,
		"imported", rep.Imported, "skipped", rep.Skipped, "duration", time.Since(start))
	return rep, nil
}

// importer is the state of one Import.
type importer struct {
	opts         Options
	src          *guardReader
	rep          Report
	lastProgress time.Time
}

// bom is the UTF-8 byte order mark.
const bom = "\xEF\xBB\xBF"

// run does the import, filling imp.rep.
func (imp *importer) run(ctx context.Context, store argus.CameraStore) error {
	br := bufio.NewReaderSize(imp.src, readBufSize)
	skip := int64(0)
	if b, _ := br.Peek(len(bom)); string(b) == bom {
		_, _ = br.Discard(len(bom)) // cannot fail after the Peek
		skip = int64(len(bom))
	}
	cr := csv.NewReader(br) // uses br as it is: same buffer size
	cr.ReuseRecord = true

	header, err := cr.Read()
	if err != nil {
		return imp.headerError(err)
	}
	l, herrs := parseHeader(header, imp.opts.IgnoreUnknownColumns)
	headerLine, _ := cr.FieldPos(0) // 1 unless blank lines come first
	for _, e := range herrs {
		imp.rep.add(0, headerLine, e)
	}
	if len(herrs) > 0 {
		return herrs[0]
	}

	bulk, err := store.BeginCameraBulk(ctx)
	if err != nil {
		return fmt.Errorf("begin camera import: %w", err)
	}
	defer bulk.Rollback()

	seen := make(map[string]int) // explicit id → the row that first had it
	added := 0
	for {
		if imp.rep.Rows%256 == 0 {
			if err := ctx.Err(); err != nil {
				return fmt.Errorf("camera import: %w", err)
			}
			imp.progress(false)
		}
		imp.src.limit = skip + cr.InputOffset() + MaxRowBytes + readBufSize
		rec, err := cr.Read()
		if err == io.EOF {
			break
		}
		imp.rep.Rows++
		row := imp.rep.Rows
		if errors.Is(err, errRowTooLarge) {
			// The parser cannot find where the next row starts: stop.
			e := argus.Errorf(argus.EINVALID, "row %d is longer than %d bytes", row, MaxRowBytes)
			imp.rep.add(row, 0, e)
			return e
		}
		if err != nil {
			e, line, ok := malformed(err, rec, l.width)
			if !ok {
				return fmt.Errorf("read csv row %d: %w", row, err)
			}
			imp.rep.add(row, line, e)
			continue
		}
		line, _ := cr.FieldPos(0)
		cam, e := l.camera(rec)
		if e == nil {
			e = check(cam, row, seen)
		}
		if e == nil && imp.opts.Check != nil {
			if err := imp.opts.Check(ctx, cam); err != nil && !errors.As(err, &e) {
				return fmt.Errorf("check row %d: %w", row, err)
			}
		}
		if e == nil {
			if err := bulk.Add(ctx, cam); err != nil && !errors.As(err, &e) {
				return fmt.Errorf("import row %d: %w", row, err)
			}
		}
		if e != nil {
			imp.rep.add(row, line, e)
			continue
		}
		added++
	}
	imp.progress(true)

	if imp.opts.Mode == AllOrNothing && imp.rep.Skipped > 0 {
		if err := bulk.Rollback(); err != nil {
			return fmt.Errorf("roll back camera import: %w", err)
		}
		return argus.Errorf(argus.EINVALID, "%d of %d rows have errors; nothing was imported", imp.rep.Skipped, imp.rep.Rows)
	}
	if err := bulk.Commit(); err != nil {
		return fmt.Errorf("commit camera import: %w", err)
	}
	imp.rep.Imported = added
	return nil
}

// check gives cam an id when it has none, normalises and validates it, and
// rejects an id that an earlier row had.
func check(cam *argus.Camera, row int, seen map[string]int) *argus.Error {
	explicit := cam.ID != ""
	if !explicit {
		cam.ID = argus.NewID("cam")
	}
	cam.Normalize()
	if err := cam.Validate(); err != nil {
		var e *argus.Error
		if errors.As(err, &e) {
			return e
		}
		return argus.Errorf(argus.EINVALID, "%v", err)
	}
	if !explicit {
		return nil
	}
	if first, dup := seen[cam.ID]; dup {
		return argus.FieldErrorf("id", "id %q is repeated: row %d has it already", clip(cam.ID), first)
	}
	seen[strings.Clone(cam.ID)] = row
	return nil
}

// headerError turns a failure to read the header into the import's error.
func (imp *importer) headerError(err error) error {
	var pe *csv.ParseError
	var e *argus.Error
	switch {
	case err == io.EOF:
		e = argus.Errorf(argus.EINVALID, "the file is empty: a header row is required")
	case errors.As(err, &pe):
		e = argus.Errorf(argus.EINVALID, "malformed CSV in the header at line %d, column %d: %v", pe.Line, pe.Column, pe.Err)
	case errors.Is(err, errRowTooLarge):
		e = argus.Errorf(argus.EINVALID, "the header is longer than %d bytes", MaxRowBytes)
	default:
		return fmt.Errorf("read csv header: %w", err)
	}
	imp.rep.add(0, 1, e)
	return e
}

// malformed describes a row that is not well-formed CSV, with the line it
// starts on; the reader can go on with the next row. ok is false for any
// other error (a failing reader).
func malformed(err error, rec []string, width int) (e *argus.Error, line int, ok bool) {
	var pe *csv.ParseError
	switch {
	case !errors.As(err, &pe):
		return nil, 0, false
	case errors.Is(pe.Err, csv.ErrFieldCount):
		return argus.Errorf(argus.EINVALID, "row has %d fields, the header has %d", len(rec), width), pe.StartLine, true
	}
	return argus.Errorf(argus.EINVALID, "malformed CSV at line %d, column %d: %v", pe.Line, pe.Column, pe.Err), pe.StartLine, true
}

// progress reports the bytes read so far, at most every ProgressInterval
// unless final.
func (imp *importer) progress(final bool) {
	if imp.opts.Progress == nil {
		return
	}
	now := time.Now()
	if !final && now.Sub(imp.lastProgress) < ProgressInterval {
		return
	}
	imp.lastProgress = now
	imp.opts.Progress(imp.src.n, imp.opts.Size)
}
