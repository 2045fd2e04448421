package camimport_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"argus"
	"argus/internal/camimport"
	"argus/internal/secret"
	"argus/internal/sqlite"
)

// openStore opens a fresh SQLite store in t's temp dir with the orgs "city"
// and "pct-1" and one camera, "cam-existing".
func openStore(t testing.TB) *sqlite.DB {
	t.Helper()
	ctx := context.Background()
	sealer, err := secret.New(bytes.Repeat([]byte{7}, secret.KeySize))
	if err != nil {
		t.Fatal(err)
	}
	db, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "argus.db"), sqlite.Options{Sealer: sealer})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	for _, o := range []*argus.Org{
		{ID: "city", Name: "City", Kind: argus.OrgCity},
		{ID: "pct-1", Name: "1st Precinct", Kind: argus.OrgPolice},
	} {
		if err := db.CreateOrg(ctx, o); err != nil {
			t.Fatal(err)
		}
	}
	err = db.CreateCamera(ctx, &argus.Camera{
		ID: "cam-existing", Name: "Existing", OrgID: "city", Lat: 40.7, Lon: -73.9,
		Tags: []string{}, StreamURL: "rtsp://10.0.0.9/s", RetentionDays: 30,
	})
	if err != nil {
		t.Fatal(err)
	}
	return db
}

func count(t testing.TB, db *sqlite.DB) int {
	t.Helper()
	n, err := db.CountCameras(context.Background(), argus.CameraFilter{})
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// unknownOrgMessage is what the store says of the org "no-such-org".
const unknownOrgMessage = `organisation "no-such-org" does not exist`

// header is the header of the rows that row builds.
const header = "id,name,org_id,lat,lon,stream_url,tags,labels,recording,retention_days"

// row returns a good CSV row for id, with the given columns replaced.
func row(id string, set map[string]string) string {
	v := map[string]string{
		"id": id, "name": "Broadway & W 42nd St — NE corner", "org_id": "city", "lat": "40.7561",
		"lon": "-73.9870", "stream_url": "rtsp://10.1.2.3:554/stream1", "tags": "intersection;ptz",
		"labels": "vendor=axis", "recording": "true", "retention_days": "30",
	}
	for k, s := range set {
		v[k] = s
	}
	var cells []string
	for col := range strings.SplitSeq(header, ",") {
		cells = append(cells, v[col])
	}
	return strings.Join(cells, ",")
}

// file is header, a good row cam-1, the row bad, and a good row cam-3.
func file(bad string) string {
	return header + "\n" + row("cam-1", nil) + "\n" + bad + "\n" + row("cam-3", nil) + "\n"
}

func TestImportErrors(t *testing.T) {
	tests := []struct {
		name  string
		input string
		want  []camimport.RowError
		// fatal: the whole file is rejected in SkipBad mode too.
		fatal bool
		// skipBad lists the cameras a SkipBad import adds; nil means
		// cam-1 and cam-3.
		skipBad []string
	}{
		{
			name:  "missing required column",
			input: "id,name,org_id,lon,stream_url\ncam-1,A,city,-73.9,rtsp://h/s\n",
			want:  []camimport.RowError{{Row: 0, Line: 1, Field: "lat", Code: argus.EINVALID, Message: `required column "lat" is missing`}},
			fatal: true,
		},
		{
			name:  "unknown column",
			input: "id,name,org_id,lat,lon,stream_url,Colour\ncam-1,A,city,40.7,-73.9,rtsp://h/s,red\n",
			want:  []camimport.RowError{{Row: 0, Line: 1, Field: "colour", Code: argus.EINVALID, Message: `unknown column "colour"`}},
			fatal: true,
		},
		{
			name:  "unknown column with odd bytes",
			input: "name,org_id,lat,lon,stream_url,co\x01l\xffour\nA,city,40.7,-73.9,rtsp://h/s,red\n",
			want:  []camimport.RowError{{Row: 0, Line: 1, Field: "col\uFFFDour", Code: argus.EINVALID, Message: "unknown column \"co\\x01l\uFFFDour\""}},
			fatal: true,
		},
		{
			name:  "unknown column after blank lines",
			input: "\n\nname,org_id,lat,lon,stream_url,colour\nA,city,40.7,-73.9,rtsp://h/s,red\n",
			want:  []camimport.RowError{{Row: 0, Line: 3, Field: "colour", Code: argus.EINVALID, Message: `unknown column "colour"`}},
			fatal: true,
		},
		{
			name:  "column twice",
			input: "id,name,org_id,lat,lon,stream_url,LAT\ncam-1,A,city,40.7,-73.9,rtsp://h/s,40.7\n",
			want:  []camimport.RowError{{Row: 0, Line: 1, Field: "lat", Code: argus.EINVALID, Message: `column "lat" appears more than once`}},
			fatal: true,
		},
		{
			name:  "empty file",
			input: "",
			want:  []camimport.RowError{{Row: 0, Line: 1, Code: argus.EINVALID, Message: "the file is empty: a header row is required"}},
			fatal: true,
		},
		{
			name:  "lat out of range",
			input: file(row("cam-2", map[string]string{"lat": "91"})),
			want:  []camimport.RowError{{Row: 2, Line: 3, Field: "lat", Code: argus.EINVALID, Message: "latitude 91 is outside -90..90"}},
		},
		{
			name: "every bad row is reported",
			input: header + "\n" + row("cam-1", nil) + "\n" + row("cam-2", map[string]string{"lat": "91"}) + "\n" +
				row("cam-2b", map[string]string{"org_id": "no-such-org"}) + "\n" + row("cam-3", nil) + "\n",
			want: []camimport.RowError{
				{Row: 2, Line: 3, Field: "lat", Code: argus.EINVALID, Message: "latitude 91 is outside -90..90"},
				{Row: 3, Line: 4, Field: "org_id", Code: argus.EINVALID, Message: unknownOrgMessage},
			},
		},
		{
			name:  "lat not a number",
			input: file(row("cam-2", map[string]string{"lat": "40.7N"})),
			want:  []camimport.RowError{{Row: 2, Line: 3, Field: "lat", Code: argus.EINVALID, Message: `lat "40.7N" is not a number`}},
		},
		{
			name:  "lon out of range",
			input: file(row("cam-2", map[string]string{"lon": "-181"})),
			want:  []camimport.RowError{{Row: 2, Line: 3, Field: "lon", Code: argus.EINVALID, Message: "longitude -181 is outside -180..180"}},
		},
		{
			name:  "lon NaN",
			input: file(row("cam-2", map[string]string{"lon": "NaN"})),
			want:  []camimport.RowError{{Row: 2, Line: 3, Field: "lon", Code: argus.EINVALID, Message: "longitude NaN is outside -180..180"}},
		},
		{
			name:  "required value empty",
			input: file(row("cam-2", map[string]string{"name": "  "})),
			want:  []camimport.RowError{{Row: 2, Line: 3, Field: "name", Code: argus.EINVALID, Message: "name is required"}},
		},
		{
			name:  "stream url wrong scheme",
			input: file(row("cam-2", map[string]string{"stream_url": "http://10.1.2.3/video"})),
			want:  []camimport.RowError{{Row: 2, Line: 3, Field: "stream_url", Code: argus.EINVALID, Message: `stream_url must use rtsp or rtsps, not "http"`}},
		},
		{
			name:  "stream url without host",
			input: file(row("cam-2", map[string]string{"stream_url": "rtsp:///stream1"})),
			want:  []camimport.RowError{{Row: 2, Line: 3, Field: "stream_url", Code: argus.EINVALID, Message: "stream_url has no host"}},
		},
		{
			name:  "unknown org",
			input: file(row("cam-2", map[string]string{"org_id": "no-such-org"})),
			want:  []camimport.RowError{{Row: 2, Line: 3, Field: "org_id", Code: argus.EINVALID, Message: unknownOrgMessage}},
		},
		{
			name:  "duplicate id in file",
			input: file(row("cam-1", map[string]string{"name": "Again"})),
			want:  []camimport.RowError{{Row: 2, Line: 3, Field: "id", Code: argus.EINVALID, Message: `id "cam-1" is repeated: row 1 has it already`}},
		},
		{
			name:  "duplicate of existing camera",
			input: file(row("cam-existing", nil)),
			want:  []camimport.RowError{{Row: 2, Line: 3, Field: "id", Code: argus.ECONFLICT, Message: "the camera id is already taken"}},
		},
		{
			name:  "bad id",
			input: file(row("Cam 2", nil)),
			want:  []camimport.RowError{{Row: 2, Line: 3, Field: "id", Code: argus.EINVALID, Message: `id "Cam 2" must be 1-64 characters of a-z, 0-9, '.', '_' or '-'`}},
		},
		{
			name:  "bad recording",
			input: file(row("cam-2", map[string]string{"recording": "maybe"})),
			want:  []camimport.RowError{{Row: 2, Line: 3, Field: "recording", Code: argus.EINVALID, Message: `recording "maybe" is not one of true, false, yes, no, 1, 0`}},
		},
		{
			name:  "retention not a number",
			input: file(row("cam-2", map[string]string{"retention_days": "30d"})),
			want:  []camimport.RowError{{Row: 2, Line: 3, Field: "retention_days", Code: argus.EINVALID, Message: `retention_days "30d" is not a whole number of days`}},
		},
		{
			name:  "retention too long",
			input: file(row("cam-2", map[string]string{"retention_days": "4000"})),
			want:  []camimport.RowError{{Row: 2, Line: 3, Field: "retention_days", Code: argus.EINVALID, Message: "retention_days 4000 is outside 0..3650"}},
		},
		{
			name:  "byte quota not a number",
			input: "id,name,org_id,lat,lon,stream_url,retention_bytes\ncam-1,One,city,1,2,rtsp://h/s,0\ncam-2,Two,city,1,2,rtsp://h/s,2TiB\ncam-3,Three,city,1,2,rtsp://h/s,1024\n",
			want:  []camimport.RowError{{Row: 2, Line: 3, Field: "retention_bytes", Code: argus.EINVALID, Message: `retention_bytes "2TiB" is not a whole number of bytes`}},
		},
		{
			name:  "byte quota negative",
			input: "id,name,org_id,lat,lon,stream_url,retention_bytes\ncam-1,One,city,1,2,rtsp://h/s,\ncam-2,Two,city,1,2,rtsp://h/s,-1\ncam-3,Three,city,1,2,rtsp://h/s,1024\n",
			want:  []camimport.RowError{{Row: 2, Line: 3, Field: "retention_bytes", Code: argus.EINVALID, Message: "retention_bytes -1 is outside 0..1152921504606846976"}},
		},
		{
			name:  "bad transport",
			input: "id,name,org_id,lat,lon,stream_url,transport\ncam-1,One,city,1,2,rtsp://h/s,\ncam-2,Two,city,1,2,rtsp://h/s,quic\ncam-3,Three,city,1,2,rtsp://h/s,Auto\n",
			want:  []camimport.RowError{{Row: 2, Line: 3, Field: "transport", Code: argus.EINVALID, Message: `transport "quic" is not one of tcp, udp, auto`}},
		},
		{
			name:  "bad tag",
			input: file(row("cam-2", map[string]string{"tags": "park;two words"})),
			want:  []camimport.RowError{{Row: 2, Line: 3, Field: "tags", Code: argus.EINVALID, Message: `tag "two words" must be 1-48 characters of a-z, 0-9, ':', '_', '.' or '-'`}},
		},
		{
			name:  "label without value",
			input: file(row("cam-2", map[string]string{"labels": "vendor=axis;model"})),
			want:  []camimport.RowError{{Row: 2, Line: 3, Field: "labels", Code: argus.EINVALID, Message: `label "model" is not key=value`}},
		},
		{
			name:  "label twice",
			input: file(row("cam-2", map[string]string{"labels": "vendor=axis;vendor=bosch"})),
			want:  []camimport.RowError{{Row: 2, Line: 3, Field: "labels", Code: argus.EINVALID, Message: `label "vendor" is given more than once`}},
		},
		{
			name:  "bad label key",
			input: file(row("cam-2", map[string]string{"labels": "Vendor Name=axis"})),
			want:  []camimport.RowError{{Row: 2, Line: 3, Field: "labels", Code: argus.EINVALID, Message: `label key "Vendor Name" must be 1-48 characters of a-z, 0-9, ':', '_', '.' or '-'`}},
		},
		{
			name:  "invalid utf-8",
			input: file(row("cam-2", map[string]string{"name": "caf\xe9"})),
			want:  []camimport.RowError{{Row: 2, Line: 3, Field: "name", Code: argus.EINVALID, Message: "name is not valid UTF-8"}},
		},
		{
			name:  "too few fields",
			input: file("cam-2,Short,city,40.7"),
			want:  []camimport.RowError{{Row: 2, Line: 3, Code: argus.EINVALID, Message: "row has 4 fields, the header has 10"}},
		},
		{
			name:  "bare quote",
			input: file(row("cam-2", map[string]string{"name": `The "Big" Corner`})),
			want:  []camimport.RowError{{Row: 2, Line: 3, Code: argus.EINVALID, Message: `malformed CSV at line 3, column 11: bare " in non-quoted-field`}},
		},
		{
			name:  "text after closing quote",
			input: file(row("cam-2", map[string]string{"name": `"Corner"x`})),
			want:  []camimport.RowError{{Row: 2, Line: 3, Code: argus.EINVALID, Message: `malformed CSV at line 3, column 14: extraneous or missing " in quoted-field`}},
		},
		{
			// The open quote swallows the rest of the file, cam-3 included.
			name:    "unterminated quote",
			input:   file(row("cam-2", map[string]string{"name": `"Corner`})),
			want:    []camimport.RowError{{Row: 2, Line: 3, Code: argus.EINVALID, Message: `malformed CSV at line 4, column 129: extraneous or missing " in quoted-field`}},
			skipBad: []string{"cam-1"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, mode := range []camimport.Mode{camimport.AllOrNothing, camimport.SkipBad} {
				t.Run(mode.String(), func(t *testing.T) {
					db := openStore(t)
					before := count(t, db)
					rep, err := camimport.Import(t.Context(), db, strings.NewReader(tt.input), camimport.Options{Mode: mode})
					if !slices.Equal(rep.Errors, tt.want) {
						t.Errorf("errors:\n got %+v\nwant %+v", rep.Errors, tt.want)
					}
					imported := count(t, db) - before
					if mode == camimport.AllOrNothing || tt.fatal {
						if argus.ErrorCode(err) != argus.EINVALID {
							t.Errorf("err = %v, want an EINVALID *argus.Error", err)
						}
						if imported != 0 || rep.Imported != 0 {
							t.Errorf("store gained %d cameras, report says %d imported; want none", imported, rep.Imported)
						}
						return
					}
					if err != nil {
						t.Fatalf("SkipBad: %v", err)
					}
					want := tt.skipBad
					if want == nil {
						want = []string{"cam-1", "cam-3"}
					}
					if imported != len(want) || rep.Imported != len(want) || rep.Skipped != len(tt.want) {
						t.Errorf("imported %d (report %d, skipped %d), want %d and %d skipped", imported, rep.Imported, rep.Skipped, len(want), len(tt.want))
					}
					for _, id := range want {
						if _, err := db.Camera(t.Context(), id); err != nil {
							t.Errorf("good row %s: %v", id, err)
						}
					}
					if _, err := db.Camera(t.Context(), "cam-2"); argus.ErrorCode(err) != argus.ENOTFOUND {
						t.Errorf("bad row cam-2 was imported (err %v)", err)
					}
				})
			}
		})
	}
}

func TestImportHeaderErrorIsArgusError(t *testing.T) {
	db := openStore(t)
	_, err := camimport.Import(t.Context(), db, strings.NewReader("name,org_id,lat,lon,stream_url,colour\n"), camimport.Options{})
	var e *argus.Error
	if !errors.As(err, &e) || e.Code != argus.EINVALID || e.Field != "colour" {
		t.Fatalf("err = %#v, want EINVALID *argus.Error with Field colour", err)
	}
}

func TestImport(t *testing.T) {
	tests := []struct {
		name  string
		input string
		opts  camimport.Options
		want  []argus.Camera // Labels nil means none; CreatedAt ignored
	}{
		{
			name: "defaults and any column order",
			input: "Stream_URL, LON ,lat,org_id,name\n" +
				"rtsp://10.0.0.1/s,-73.95,40.70,city,Only required\n",
			want: []argus.Camera{{Name: "Only required", OrgID: "city", Lat: 40.70, Lon: -73.95, Tags: []string{},
				StreamURL: "rtsp://10.0.0.1/s", Recording: true, RetentionDays: 30}},
		},
		{
			name: "every column, BOM and CRLF",
			input: "\ufeffid,name,org_id,lat,lon,address,district,tags,stream_url,sub_stream_url,onvif_url,username,password,transport,recording,retention_days,retention_bytes,labels\r\n" +
				"cam-full,\"Park, north gate\",pct-1,40.5,-74.1,\"1 Main St\",Old Town, Park ; PTZ;park,rtsps://10.0.0.2:322/main,rtsp://10.0.0.2/sub,http://10.0.0.2/onvif/device_service,admin, secret , UDP ,no,7, 2199023255552 , vendor = axis ;model=p3265;;\r\n",
			want: []argus.Camera{{ID: "cam-full", Name: "Park, north gate", OrgID: "pct-1", Lat: 40.5, Lon: -74.1,
				Address: "1 Main St", District: "Old Town", Tags: []string{"park", "ptz"},
				StreamURL: "rtsps://10.0.0.2:322/main", SubStreamURL: "rtsp://10.0.0.2/sub",
				ONVIFURL: "http://10.0.0.2/onvif/device_service", Username: "admin", Password: " secret ", Transport: argus.TransportUDP,
				Recording: false, RetentionDays: 7, RetentionBytes: 2 << 40, Labels: map[string]string{"vendor": "axis", "model": "p3265"}}},
		},
		{
			name:  "credentials in the url are lifted",
			input: "id,name,org_id,lat,lon,stream_url\ncam-cred,Cred,city,1,2,rtsp://u%40x:p%3Aw@10.0.0.3/s\n",
			want: []argus.Camera{{ID: "cam-cred", Name: "Cred", OrgID: "city", Lat: 1, Lon: 2, Tags: []string{},
				StreamURL: "rtsp://10.0.0.3/s", Username: "u@x", Password: "p:w", Recording: true, RetentionDays: 30}},
		},
		{
			name:  "quoted newline and recording spellings",
			input: "id,name,org_id,lat,lon,stream_url,recording\ncam-a,\"Two\nlines\",city,1,2,rtsp://h/s,YES\ncam-b,B,city,1,2,rtsp://h/s,0\ncam-c,C,city,1,2,rtsp://h/s,False\n",
			want: []argus.Camera{
				{ID: "cam-a", Name: "Two\nlines", OrgID: "city", Lat: 1, Lon: 2, Tags: []string{}, StreamURL: "rtsp://h/s", Recording: true, RetentionDays: 30},
				{ID: "cam-b", Name: "B", OrgID: "city", Lat: 1, Lon: 2, Tags: []string{}, StreamURL: "rtsp://h/s", Recording: false, RetentionDays: 30},
				{ID: "cam-c", Name: "C", OrgID: "city", Lat: 1, Lon: 2, Tags: []string{}, StreamURL: "rtsp://h/s", Recording: false, RetentionDays: 30},
			},
		},
		{
			name:  "unknown columns ignored when asked",
			input: "id,name,colour,org_id,lat,lon,stream_url,\ncam-x,X,red,city,1,2,rtsp://h/s,junk\n",
			opts:  camimport.Options{IgnoreUnknownColumns: true},
			want: []argus.Camera{{ID: "cam-x", Name: "X", OrgID: "city", Lat: 1, Lon: 2, Tags: []string{},
				StreamURL: "rtsp://h/s", Recording: true, RetentionDays: 30}},
		},
		{
			name:  "blank lines are not rows",
			input: "id,name,org_id,lat,lon,stream_url\n\ncam-y,Y,city,1,2,rtsp://h/s\n\n",
			want: []argus.Camera{{ID: "cam-y", Name: "Y", OrgID: "city", Lat: 1, Lon: 2, Tags: []string{},
				StreamURL: "rtsp://h/s", Recording: true, RetentionDays: 30}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			db := openStore(t)
			before := count(t, db)
			rep, err := camimport.Import(t.Context(), db, strings.NewReader(tt.input), tt.opts)
			if err != nil {
				t.Fatalf("Import: %v (report %+v)", err, rep)
			}
			if rep.Rows != len(tt.want) || rep.Imported != len(tt.want) || rep.Skipped != 0 || len(rep.Errors) != 0 {
				t.Fatalf("report %+v, want %d rows imported", rep, len(tt.want))
			}
			if n := count(t, db) - before; n != len(tt.want) {
				t.Fatalf("store gained %d cameras, want %d", n, len(tt.want))
			}
			for _, want := range tt.want {
				got := findCamera(t, db, want)
				if want.ID == "" {
					if !strings.HasPrefix(got.ID, "cam-") || !argus.ValidID(got.ID) {
						t.Errorf("generated id %q, want a valid cam- id", got.ID)
					}
					want.ID = got.ID
				}
				want.CreatedAt, want.UpdatedAt = got.CreatedAt, got.UpdatedAt
				if fmt.Sprintf("%+v", *got) != fmt.Sprintf("%+v", want) {
					t.Errorf("camera\n got %+v\nwant %+v", *got, want)
				}
			}
		})
	}
}

// findCamera returns the stored camera want describes: by id, or by name
// when want has no id.
func findCamera(t *testing.T, db *sqlite.DB, want argus.Camera) *argus.Camera {
	t.Helper()
	id := want.ID
	if id == "" {
		page, err := db.FindCameras(t.Context(), argus.CameraQuery{Limit: argus.MaxPageSize})
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range page.Items {
			if c.Name == want.Name {
				id = c.ID
			}
		}
	}
	got, err := db.Camera(t.Context(), id)
	if err != nil {
		t.Fatalf("camera %q (%s): %v", id, want.Name, err)
	}
	return got
}

func TestImportCapsErrors(t *testing.T) {
	var b strings.Builder
	b.WriteString("name,org_id,lat,lon,stream_url\n")
	for range camimport.MaxErrors + 500 {
		b.WriteString("A,city,95,0,rtsp://h/s\n")
	}
	b.WriteString("Good,city,45,0,rtsp://h/s\n")
	db := openStore(t)
	before := count(t, db)
	rep, err := camimport.Import(t.Context(), db, strings.NewReader(b.String()), camimport.Options{Mode: camimport.SkipBad})
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Errors) != camimport.MaxErrors || rep.MoreErrors != 500 || rep.Skipped != camimport.MaxErrors+500 || rep.Imported != 1 {
		t.Errorf("errors %d, more %d, skipped %d, imported %d; want %d, 500, %d, 1",
			len(rep.Errors), rep.MoreErrors, rep.Skipped, rep.Imported, camimport.MaxErrors, camimport.MaxErrors+500)
	}
	if last := rep.Errors[len(rep.Errors)-1]; last.Row != camimport.MaxErrors || last.Line != camimport.MaxErrors+1 {
		t.Errorf("last listed error at row %d line %d, want row %d line %d", last.Row, last.Line, camimport.MaxErrors, camimport.MaxErrors+1)
	}
	if n := count(t, db) - before; n != 1 {
		t.Errorf("store gained %d cameras, want 1", n)
	}
}

func TestImportRowTooLarge(t *testing.T) {
	input := "name,org_id,lat,lon,stream_url\nA,city,1,2,rtsp://h/s\n" +
		strings.Repeat("x", camimport.MaxRowBytes+128<<10) + ",city,1,2,rtsp://h/s\nC,city,1,2,rtsp://h/s\n"
	db := openStore(t)
	before := count(t, db)
	rep, err := camimport.Import(t.Context(), db, strings.NewReader(input), camimport.Options{Mode: camimport.SkipBad})
	if argus.ErrorCode(err) != argus.EINVALID {
		t.Fatalf("err = %v, want EINVALID", err)
	}
	want := []camimport.RowError{{Row: 2, Code: argus.EINVALID, Message: fmt.Sprintf("row 2 is longer than %d bytes", camimport.MaxRowBytes)}}
	if !slices.Equal(rep.Errors, want) {
		t.Errorf("errors %+v, want %+v", rep.Errors, want)
	}
	if n := count(t, db) - before; n != 0 {
		t.Errorf("store gained %d cameras, want 0", n)
	}
}

func TestImportCanceled(t *testing.T) {
	db := openStore(t)
	before := count(t, db)
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	input := "name,org_id,lat,lon,stream_url\nA,city,1,2,rtsp://h/s\n"
	_, err := camimport.Import(ctx, db, strings.NewReader(input), camimport.Options{Mode: camimport.SkipBad})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
	if n := count(t, db) - before; n != 0 {
		t.Errorf("store gained %d cameras, want 0", n)
	}
}

func TestRowErrorString(t *testing.T) {
	tests := []struct {
		name string
		e    camimport.RowError
		want string
	}{
		{"row and field", camimport.RowError{Row: 3, Line: 4, Field: "lat", Message: "latitude 91 is outside -90..90"}, "row 3 (line 4): lat: latitude 91 is outside -90..90"},
		{"header", camimport.RowError{Line: 1, Field: "colour", Message: `unknown column "colour"`}, `line 1: colour: unknown column "colour"`},
		{"no line", camimport.RowError{Row: 9, Message: "too long"}, "row 9: too long"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.e.String(); got != tt.want {
				t.Errorf("String() = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestParseMode(t *testing.T) {
	for _, m := range []camimport.Mode{camimport.AllOrNothing, camimport.SkipBad} {
		t.Run(m.String(), func(t *testing.T) {
			got, err := camimport.ParseMode(m.String())
			if err != nil || got != m {
				t.Errorf("ParseMode(%q) = %v, %v", m.String(), got, err)
			}
		})
	}
	t.Run("unknown", func(t *testing.T) {
		if _, err := camimport.ParseMode("some"); argus.ErrorField(err) != "mode" {
			t.Errorf("err = %v, want a mode field error", err)
		}
	})
}

func TestImportCheck(t *testing.T) {
	// cam-1 and cam-3 belong to city, cam-2 to pct-1, which the check
	// refuses.
	input := file(row("cam-2", map[string]string{"org_id": "pct-1", "tags": "PTZ;ptz"}))
	refuse := func(_ context.Context, c *argus.Camera) error {
		if c.OrgID == "pct-1" {
			return &argus.Error{Code: argus.EFORBIDDEN, Field: "org_id", Message: "not yours"}
		}
		return nil
	}
	refused := []camimport.RowError{{Row: 2, Line: 3, Field: "org_id", Code: argus.EFORBIDDEN, Message: "not yours"}}
	broken := errors.New("gate unavailable")

	tests := []struct {
		name     string
		mode     camimport.Mode
		check    func(context.Context, *argus.Camera) error
		wantErr  func(error) bool
		wantRows []camimport.RowError
		wantIDs  []string // cameras the store gains
	}{
		{"refused row fails all-or-nothing", camimport.AllOrNothing, refuse,
			func(err error) bool { return argus.ErrorCode(err) == argus.EINVALID }, refused, nil},
		{"refused row is skipped", camimport.SkipBad, refuse,
			func(err error) bool { return err == nil }, refused, []string{"cam-1", "cam-3"}},
		{"other error ends the import", camimport.SkipBad,
			func(_ context.Context, c *argus.Camera) error {
				if c.ID == "cam-2" {
					return fmt.Errorf("decide: %w", broken)
				}
				return nil
			},
			func(err error) bool { return errors.Is(err, broken) && argus.ErrorCode(err) == argus.EINTERNAL }, nil, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			db := openStore(t)
			before := count(t, db)
			var asked []string
			check := func(ctx context.Context, c *argus.Camera) error {
				// The check sees the normalised camera.
				if c.ID == "cam-2" && !slices.Equal(c.Tags, []string{"ptz"}) {
					t.Errorf("check got tags %q, want them normalised", c.Tags)
				}
				asked = append(asked, c.ID)
				return tt.check(ctx, c)
			}
			rep, err := camimport.Import(t.Context(), db, strings.NewReader(input), camimport.Options{Mode: tt.mode, Check: check})
			if !tt.wantErr(err) {
				t.Fatalf("err = %v", err)
			}
			if !slices.Equal(rep.Errors, tt.wantRows) {
				t.Errorf("errors:\n got %+v\nwant %+v", rep.Errors, tt.wantRows)
			}
			if err == nil && !slices.Equal(asked, []string{"cam-1", "cam-2", "cam-3"}) {
				t.Errorf("check asked about %q, want every row once", asked)
			}
			if n := count(t, db) - before; n != len(tt.wantIDs) || rep.Imported != len(tt.wantIDs) {
				t.Errorf("store gained %d cameras, report says %d; want %d", n, rep.Imported, len(tt.wantIDs))
			}
			for _, id := range tt.wantIDs {
				if _, err := db.Camera(t.Context(), id); err != nil {
					t.Errorf("camera %s: %v", id, err)
				}
			}
			if _, err := db.Camera(t.Context(), "cam-2"); argus.ErrorCode(err) != argus.ENOTFOUND {
				t.Errorf("refused row cam-2 was imported (err %v)", err)
			}
		})
	}
}
