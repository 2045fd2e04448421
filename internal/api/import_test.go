package api_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"reflect"
	"strings"
	"testing"

	"argus"
	"argus/internal/api"
	"argus/internal/camimport"
)

// importHeader is the header of the rows csvRow builds.
const importHeader = "id,name,org_id,lat,lon,stream_url"

// csvRow returns a good import row for camera id owned by org.
func csvRow(id, org string) string {
	return fmt.Sprintf("%s,Camera %s,%s,40.75,-73.98,rtsp://10.0.0.1/%s", id, id, org, id)
}

// csvFile joins a header and rows into a file.
func csvFile(header string, rows ...string) string {
	return header + "\n" + strings.Join(rows, "\n") + "\n"
}

// postCSV sends body to the import route as user (a name from testUsers, or
// "" for none) with the given Content-Type ("" for none). When chunked, the
// body goes without a Content-Length.
func (e *env) postCSV(query, user, contentType, body string, chunked bool) response {
	e.t.Helper()
	var rd io.Reader = strings.NewReader(body)
	if chunked {
		rd = io.MultiReader(rd) // hides the length from the client
	}
	req, err := http.NewRequestWithContext(e.t.Context(), "POST", e.srv.URL+"/api/v1/cameras/import"+query, rd)
	if err != nil {
		e.t.Fatal(err)
	}
	if user != "" {
		req.Header.Set("Authorization", "Bearer "+e.token[user])
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	resp, err := e.srv.Client().Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		e.t.Fatal(err)
	}
	return response{status: resp.StatusCode, header: resp.Header, body: raw}
}

// decisions counts the gate's camera.manage decisions for user so far.
func (e *env) decisions(user string) int {
	return len(e.logs.lines(`"msg":"access decision"`, `"action":"camera.manage"`, `"user_id":"`+user+`"`))
}

func TestImportCameras(t *testing.T) {
	good := csvFile(importHeader, csvRow("cam-1", "police"), csvRow("cam-2", "fire"), csvRow("cam-3", "precinct-1"))
	badLat := csvFile(importHeader, csvRow("cam-1", "police"), "cam-2,Bad,police,91,-73.98,rtsp://10.0.0.1/x", csvRow("cam-3", "police"))
	foreign := csvFile(importHeader, csvRow("cam-1", "police"), csvRow("cam-2", "precinct-1"), csvRow("cam-3", "fire"), csvRow("cam-4", "fire"))
	colour := csvFile(importHeader+",colour", csvRow("cam-1", "police")+",red")

	latErr := camimport.RowError{Row: 2, Line: 3, Field: "lat", Code: argus.EINVALID, Message: "latitude 91 is outside -90..90"}
	fireErr := func(row int) camimport.RowError {
		return camimport.RowError{Row: row, Line: row + 1, Field: "org_id", Code: argus.EFORBIDDEN,
			Message: `you may not manage the cameras of organisation "fire"`}
	}
	colourErr := camimport.RowError{Row: 0, Line: 1, Field: "colour", Code: argus.EINVALID, Message: `unknown column "colour"`}

	for _, tc := range []struct {
		name        string
		user, query string
		contentType string // "" means text/csv
		body        string
		status      int
		code, msg   string // of a failure
		rows        int
		errors      []camimport.RowError
		imported    []string // cameras the store gains; none means it is unchanged
		decisions   int      // camera.manage decisions the gate makes; 0: not checked
	}{
		{name: "admin imports every row", user: "admin", body: good, status: 200,
			rows: 3, imported: []string{"cam-1", "cam-2", "cam-3"}},
		{name: "charset and explicit mode", user: "admin", query: "?mode=all-or-nothing", contentType: "text/csv; charset=UTF-8",
			body: good, status: 200, rows: 3, imported: []string{"cam-1", "cam-2", "cam-3"}},
		{name: "header only imports nothing", user: "admin", body: importHeader + "\n", status: 200},
		{name: "all-or-nothing rejects the file for one bad row", user: "admin", body: badLat,
			status: 400, code: argus.EINVALID, msg: "1 of 3 rows have errors; nothing was imported",
			rows: 3, errors: []camimport.RowError{latErr}},
		{name: "skip-bad imports the good rows", user: "admin", query: "?mode=skip-bad", body: badLat, status: 200,
			rows: 3, errors: []camimport.RowError{latErr}, imported: []string{"cam-1", "cam-3"}},
		{name: "org admin imports into its tree", user: "orgadmin", body: csvFile(importHeader, csvRow("cam-1", "police"), csvRow("cam-2", "precinct-1")),
			status: 200, rows: 2, imported: []string{"cam-1", "cam-2"}},
		{name: "org admin: foreign rows fail all-or-nothing", user: "orgadmin", body: foreign,
			status: 400, code: argus.EINVALID, msg: "2 of 4 rows have errors; nothing was imported",
			rows: 4, errors: []camimport.RowError{fireErr(3), fireErr(4)},
			decisions: 4}, // the caller's own organisation first, then police, precinct-1 and fire once each
		{name: "org admin: foreign rows are skipped", user: "orgadmin", query: "?mode=skip-bad", body: foreign,
			status: 200, rows: 4, errors: []camimport.RowError{fireErr(3), fireErr(4)}, imported: []string{"cam-1", "cam-2"}},
		{name: "unknown column", user: "admin", body: colour,
			status: 400, code: argus.EINVALID, msg: `unknown column "colour"`, errors: []camimport.RowError{colourErr}},
		{name: "unknown column ignored", user: "admin", query: "?ignore_unknown_columns=true", body: colour,
			status: 200, rows: 1, imported: []string{"cam-1"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			before := e.snapshot()
			ct := tc.contentType
			if ct == "" {
				ct = "text/csv"
			}
			r := e.postCSV(tc.query, tc.user, ct, tc.body, false)
			if r.status != tc.status {
				t.Fatalf("status %d, want %d: %s", r.status, tc.status, r.body)
			}
			var rep camimport.Report
			if tc.code == "" {
				r.decode(t, &rep)
			} else {
				var fail struct {
					Error  struct{ Code, Message string } `json:"error"`
					Report *camimport.Report              `json:"report"`
				}
				r.decode(t, &fail)
				if fail.Error.Code != tc.code || fail.Error.Message != tc.msg || fail.Report == nil {
					t.Fatalf("failure %s, want %s %q and a report", r.body, tc.code, tc.msg)
				}
				rep = *fail.Report
			}
			want := camimport.Report{Rows: tc.rows, Imported: len(tc.imported), Errors: tc.errors}
			if want.Errors == nil {
				want.Errors = []camimport.RowError{}
			}
			for _, re := range want.Errors {
				if re.Row > 0 {
					want.Skipped++
				}
			}
			if !reflect.DeepEqual(rep, want) {
				t.Errorf("report\n got %+v\nwant %+v", rep, want)
			}
			if len(tc.imported) == 0 {
				if after := e.snapshot(); after != before {
					t.Errorf("store changed:\n%s\nwant\n%s", after, before)
				}
			}
			n, err := e.db.CountCameras(t.Context(), argus.CameraFilter{})
			if err != nil {
				t.Fatal(err)
			}
			if n != len(tc.imported) {
				t.Errorf("store holds %d cameras, want %d", n, len(tc.imported))
			}
			for _, id := range tc.imported {
				c, err := e.db.Camera(t.Context(), id)
				if err != nil || c.Name != "Camera "+id || c.StreamURL != "rtsp://10.0.0.1/"+id {
					t.Errorf("camera %s: %+v, %v", id, c, err)
				}
			}
			if tc.decisions != 0 {
				if n := e.decisions(tc.user); n != tc.decisions {
					t.Errorf("the gate made %d camera.manage decisions, want %d", n, tc.decisions)
				}
			}
		})
	}
}

// TestImportCamerasRefused sends imports that must be refused before any
// row is read and checks that nothing changed.
func TestImportCamerasRefused(t *testing.T) {
	const limit = 2048
	e := newEnv(t, func(c *api.Config) { c.MaxImportBytes = limit })
	good := csvFile(importHeader, csvRow("cam-1", "police"))
	var big strings.Builder
	big.WriteString(importHeader + "\n")
	for i := 0; big.Len() <= 2*limit; i++ {
		big.WriteString(csvRow(fmt.Sprintf("cam-%d", i), "police") + "\n")
	}

	for _, tc := range []struct {
		name               string
		query, user, ctype string
		body               string
		chunked            bool
		status             int
		code, field, msg   string
	}{
		{name: "unauthenticated", ctype: "text/csv", body: good,
			status: 401, code: argus.EUNAUTHORIZED, msg: "authentication required: send Authorization: Bearer <token>"},
		{name: "role may not manage cameras", user: "viewer", ctype: "text/csv", body: good,
			status: 403, code: argus.EFORBIDDEN, msg: "camera.manage is not allowed: role does not allow the action"},
		{name: "JSON body", user: "admin", ctype: "application/json", body: `{"name":"x"}`,
			status: 415, code: "unsupported_media_type", msg: `Content-Type must be text/csv, not "application/json"`},
		{name: "no content type", user: "admin", body: good,
			status: 415, code: "unsupported_media_type", msg: "Content-Type must be text/csv; the request has none"},
		{name: "malformed content type", user: "admin", ctype: "text/csv; charset", body: good,
			status: 415, code: "unsupported_media_type", msg: `Content-Type must be text/csv, not "text/csv; charset"`},
		{name: "not UTF-8", user: "admin", ctype: "text/csv; charset=latin1", body: good,
			status: 415, code: "unsupported_media_type", msg: `text/csv must be UTF-8, not charset "latin1"`},
		{name: "unknown mode", user: "admin", query: "?mode=some", ctype: "text/csv", body: good,
			status: 400, code: argus.EINVALID, field: "mode", msg: `mode "some" is not all-or-nothing or skip-bad`},
		{name: "bad ignore_unknown_columns", user: "admin", query: "?ignore_unknown_columns=maybe", ctype: "text/csv", body: good,
			status: 400, code: argus.EINVALID, field: "ignore_unknown_columns", msg: `ignore_unknown_columns must be true or false, not "maybe"`},
		{name: "unknown parameter", user: "admin", query: "?skip_bad=true", ctype: "text/csv", body: good,
			status: 400, code: argus.EINVALID, field: "skip_bad", msg: `unknown query parameter "skip_bad"`},
		{name: "too large by Content-Length", user: "admin", ctype: "text/csv", body: big.String(),
			status: 413, code: argus.ETOOLARGE, msg: fmt.Sprintf("request body is larger than %d bytes", limit)},
		{name: "too large while reading", user: "admin", query: "?mode=skip-bad", ctype: "text/csv", body: big.String(), chunked: true,
			status: 413, code: argus.ETOOLARGE, msg: fmt.Sprintf("request body is larger than %d bytes", limit)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := e.snapshot()
			r := e.postCSV(tc.query, tc.user, tc.ctype, tc.body, tc.chunked)
			code, msg, field, _ := r.apiError(t)
			if r.status != tc.status || code != tc.code || msg != tc.msg || field != tc.field {
				t.Errorf("%d %s %q (field %q), want %d %s %q (field %q)", r.status, code, msg, field, tc.status, tc.code, tc.msg, tc.field)
			}
			var body map[string]json.RawMessage
			r.decode(t, &body)
			if _, ok := body["report"]; ok {
				t.Errorf("a refused request carries a report: %s", r.body)
			}
			if after := e.snapshot(); after != before {
				t.Errorf("store changed:\n%s\nwant\n%s", after, before)
			}
		})
	}
	// The limit is the import's own: the same file within it imports.
	if r := e.postCSV("", "admin", "text/csv", good, false); r.status != http.StatusOK {
		t.Fatalf("a file within the limit: %d %s", r.status, r.body)
	}
}
