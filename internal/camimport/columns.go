package camimport

import (
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"argus"
)

// Defaults for empty cells (or absent columns).
const (
	// DefaultRecording is the recording flag of a row with no value.
	DefaultRecording = true
	// DefaultRetentionDays is the retention of a row with no value.
	DefaultRetentionDays = 30
)

// The columns, in the order Columns lists them.
const (
	colID = iota
	colName
	colOrg
	colLat
	colLon
	colAddress
	colDistrict
	colTags
	colStream
	colSubStream
	colONVIF
	colUsername
	colPassword
	colTransport
	colRecording
	colRetention
	colRetentionBytes
	colLabels
	numCols
)

// Columns returns the names of the columns the importer knows, in the order
// docs/import.md lists them.
func Columns() []string {
	return []string{
		"id", "name", "org_id", "lat", "lon", "address", "district", "tags", "stream_url",
		"sub_stream_url", "onvif_url", "username", "password", "transport", "recording", "retention_days", "retention_bytes", "labels",
	}
}

// required reports whether column c must be present with a value.
func required(c int) bool {
	return c == colName || c == colOrg || c == colLat || c == colLon || c == colStream
}

// layout maps the columns to their positions in a record: pos[c] is the
// index of column c, or -1 when the file has no such column.
type layout struct {
	pos   [numCols]int
	width int
}

// parseHeader reads the header row. Names are matched after trimming spaces,
// case-insensitively. It returns every problem it finds, each naming its
// column in Field.
func parseHeader(header []string, ignoreUnknown bool) (layout, []*argus.Error) {
	l := layout{width: len(header)}
	for c := range l.pos {
		l.pos[c] = -1
	}
	names := Columns()
	var errs []*argus.Error
	for i, h := range header {
		h = strings.ToLower(strings.TrimSpace(h))
		c := indexOf(names, h)
		switch {
		case c < 0 && ignoreUnknown:
		case c < 0 && h == "":
			errs = append(errs, argus.FieldErrorf("", "column %d has no name", i+1))
		case c < 0:
			errs = append(errs, argus.FieldErrorf(printable(h), "unknown column %q", clip(h)))
		case l.pos[c] >= 0:
			errs = append(errs, argus.FieldErrorf(h, "column %q appears more than once", h))
		default:
			l.pos[c] = i
		}
	}
	for c, name := range names {
		if required(c) && l.pos[c] < 0 {
			errs = append(errs, argus.FieldErrorf(name, "required column %q is missing", name))
		}
	}
	return l, errs
}

func indexOf(s []string, v string) int {
	for i, x := range s {
		if x == v {
			return i
		}
	}
	return -1
}

// camera builds the camera of one record. It parses the cells but leaves the
// field rules to Camera.Normalize and Camera.Validate, which run next.
func (l *layout) camera(rec []string) (*argus.Camera, *argus.Error) {
	names := Columns()
	var cell [numCols]string
	for c, i := range l.pos {
		if i < 0 {
			continue
		}
		v := rec[i]
		if !utf8.ValidString(v) {
			return nil, argus.FieldErrorf(names[c], "%s is not valid UTF-8", names[c])
		}
		if c != colPassword {
			v = strings.TrimSpace(v)
		}
		if v == "" && required(c) {
			return nil, argus.FieldErrorf(names[c], "%s is required", names[c])
		}
		cell[c] = v
	}
	cam := &argus.Camera{
		ID:            cell[colID],
		Name:          cell[colName],
		OrgID:         cell[colOrg],
		Address:       cell[colAddress],
		District:      cell[colDistrict],
		StreamURL:     cell[colStream],
		SubStreamURL:  cell[colSubStream],
		ONVIFURL:      cell[colONVIF],
		Username:      cell[colUsername],
		Password:      cell[colPassword],
		Transport:     cell[colTransport],
		Recording:     DefaultRecording,
		RetentionDays: DefaultRetentionDays,
	}
	var err error
	if cam.Lat, err = strconv.ParseFloat(cell[colLat], 64); err != nil {
		return nil, argus.FieldErrorf("lat", "lat %q is not a number", clip(cell[colLat]))
	}
	if cam.Lon, err = strconv.ParseFloat(cell[colLon], 64); err != nil {
		return nil, argus.FieldErrorf("lon", "lon %q is not a number", clip(cell[colLon]))
	}
	if v := cell[colTags]; v != "" {
		cam.Tags = strings.Split(v, ";")
	}
	if v := cell[colRecording]; v != "" {
		b, ok := parseBool(v)
		if !ok {
			return nil, argus.FieldErrorf("recording", "recording %q is not one of true, false, yes, no, 1, 0", clip(v))
		}
		cam.Recording = b
	}
	if v := cell[colRetention]; v != "" {
		if cam.RetentionDays, err = strconv.Atoi(v); err != nil {
			return nil, argus.FieldErrorf("retention_days", "retention_days %q is not a whole number of days", clip(v))
		}
	}
	if v := cell[colRetentionBytes]; v != "" {
		if cam.RetentionBytes, err = strconv.ParseInt(v, 10, 64); err != nil {
			return nil, argus.FieldErrorf("retention_bytes", "retention_bytes %q is not a whole number of bytes", clip(v))
		}
	}
	var lerr *argus.Error
	if cam.Labels, lerr = parseLabels(cell[colLabels]); lerr != nil {
		return nil, lerr
	}
	if cam.ID == "" {
		cam.ID = argus.NewID("cam")
	}
	return cam, nil
}

// parseBool accepts true/false, yes/no and 1/0 in any case.
func parseBool(v string) (value, ok bool) {
	switch strings.ToLower(v) {
	case "true", "yes", "1":
		return true, true
	case "false", "no", "0":
		return false, true
	}
	return false, false
}

// parseLabels parses "k=v;k=v". Spaces around keys and values are trimmed,
// empty entries skipped; a key may appear once.
func parseLabels(v string) (map[string]string, *argus.Error) {
	if v == "" {
		return nil, nil
	}
	var labels map[string]string
	for entry := range strings.SplitSeq(v, ";") {
		entry = strings.TrimSpace(entry)
		if entry == "" {
			continue
		}
		k, val, ok := strings.Cut(entry, "=")
		k = strings.TrimSpace(k)
		if !ok || k == "" {
			return nil, argus.FieldErrorf("labels", "label %q is not key=value", clip(entry))
		}
		if labels == nil {
			labels = make(map[string]string)
		}
		if _, dup := labels[k]; dup {
			return nil, argus.FieldErrorf("labels", "label %q is given more than once", clip(k))
		}
		labels[k] = strings.TrimSpace(val)
	}
	return labels, nil
}

// printable makes a column name fit to stand in Field: valid UTF-8 without
// control characters, at most clipLen bytes.
func printable(s string) string {
	return clip(strings.Map(func(r rune) rune {
		if unicode.IsPrint(r) {
			return r
		}
		return -1
	}, strings.ToValidUTF8(s, "")))
}

// clipLen bounds the user text quoted in a message.
const clipLen = 64

// clip shortens user text quoted in a message to clipLen bytes.
func clip(s string) string { return truncate(s, clipLen) }

// truncate shortens s to at most n bytes on a rune boundary, marking the cut
// with "…".
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "…"
}
