package api

import (
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"argus"
)

// FuzzCameraQuery feeds arbitrary query strings to the camera listing's
// parameter parsing: it must never panic, and every failure must be an
// EINVALID naming a field (but for a parameter without a name).
func FuzzCameraQuery(f *testing.F) {
	for _, s := range []string{
		"bbox=-74,40,-73,41&near=40.7,-74,500&q=main&tag=a&tag=b&org=police&recording=true&limit=10&cursor=Y2FtLTE",
		"bbox=1e309,0,0,0", "near=NaN,0,1", "limit=-1", "q=%20%20", "tag=", "recording=2",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		q, err := url.ParseQuery(raw)
		if err != nil {
			return
		}
		known := append(cameraFilterParams(), param{name: "limit"}, param{name: "cursor"})
		err = checkParams(q, known)
		if err == nil {
			_, err = parseCameraFilter(q)
		}
		if err == nil {
			_, err = parseLimit(q)
		}
		if err == nil {
			_, err = parseCursor(q)
		}
		if err != nil && (argus.ErrorCode(err) != argus.EINVALID || argus.ErrorField(err) == "" && !strings.HasPrefix(raw, "=") && !strings.Contains(raw, "&=")) {
			t.Fatalf("query %q: error %v is not EINVALID with a field", raw, err)
		}
	})
}

// FuzzDecodeJSON feeds arbitrary bodies to the request decoder: it must
// never panic, and every failure must be an *argus.Error the client can act
// on.
func FuzzDecodeJSON(f *testing.F) {
	for _, s := range []string{`{"name":"x","lat":1}`, `{"nmae":1}`, `[1]`, `{"tags":"a"}`, `{"labels":{"a":1}}`, `{} {}`, ``, `{`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, body string) {
		r := httptest.NewRequest("POST", "/api/v1/cameras", strings.NewReader(body))
		var c argus.Camera
		if err := decodeJSON(r, &c); err != nil && argus.ErrorCode(err) != argus.EINVALID {
			t.Fatalf("body %q: error %v is not EINVALID", body, err)
		}
	})
}
