package api_test

import (
	"crypto/ed25519"
	"encoding/base64"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"argus/internal/api"
	"argus/internal/evidence"
	"argus/internal/export"
	"argus/internal/playback"
	"argus/internal/record"
	"argus/internal/record/synth"
	"argus/internal/segment/fsstore"
)

// rec0 is when the recorded test camera starts: it records two minutes.
var rec0 = time.Date(2026, 11, 24, 14, 0, 0, 0, time.UTC)

// withRecordings gives the server playback and export over two minutes of
// cam-1's recordings (owned by police).
func withRecordings(t *testing.T) envOption {
	t.Helper()
	store, err := fsstore.Open(t.TempDir(), fsstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	clip, err := synth.Load("360p-gop2")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := synth.Record(t.Context(), store, "cam-1", clip, rec0, 2*time.Minute, record.Options{SegmentDuration: time.Minute}); err != nil {
		t.Fatal(err)
	}
	pb, err := playback.New(playback.Config{Store: store})
	if err != nil {
		t.Fatal(err)
	}
	data := t.TempDir()
	key, err := evidence.LoadOrCreateKey(data, nil)
	if err != nil {
		t.Fatal(err)
	}
	return func(c *api.Config) {
		ex, err := export.New(export.Config{Store: store, Holds: c.Store, Dir: filepath.Join(data, "exports"), Key: key, NodeID: "node-1"})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(ex.Close)
		c.Playback, c.Exports = pb, ex
		c.SigningKeys = []evidence.PublicKeyInfo{key.Info("node-1")}
	}
}

func rangeQuery(from, to time.Time) string {
	return "from=" + url.QueryEscape(from.Format(time.RFC3339)) + "&to=" + url.QueryEscape(to.Format(time.RFC3339))
}

func TestTimelineAuthorised(t *testing.T) {
	e := newEnv(t, withRecordings(t))
	e.addCamera("cam-1", "police", 40.7, -74)
	path := "/api/v1/cameras/cam-1/timeline?" + rangeQuery(rec0.Add(-time.Hour), rec0.Add(time.Hour))
	r := e.call("GET", path, "investigator", nil)
	if r.status != http.StatusOK {
		t.Fatalf("investigator: %d %s", r.status, r.body)
	}
	var tl playback.Timeline
	r.decode(t, &tl)
	if len(tl.Ranges) != 1 || !tl.Ranges[0].From.Equal(rec0) || len(tl.Gaps) != 2 {
		t.Errorf("timeline = %+v, want one range from %v and the gaps around it", tl, rec0)
	}
	for _, tt := range []struct {
		name, user, path string
		status           int
		field            string
	}{
		{"viewer may not play back", "viewer", path, http.StatusForbidden, ""},
		{"other org sees no camera", "fireviewer", path, http.StatusNotFound, ""},
		{"bad from", "investigator", "/api/v1/cameras/cam-1/timeline?from=yesterday&to=2026-11-24T15:00:00Z", http.StatusBadRequest, "from"},
		{"to before from", "investigator", "/api/v1/cameras/cam-1/timeline?" + rangeQuery(rec0, rec0.Add(-time.Hour)), http.StatusBadRequest, "to"},
		{"no token", "", path, http.StatusUnauthorized, ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			r := e.call("GET", tt.path, tt.user, nil)
			if r.status != tt.status {
				t.Fatalf("status = %d %s, want %d", r.status, r.body, tt.status)
			}
			if tt.field != "" {
				if _, _, field, _ := r.apiError(t); field != tt.field {
					t.Errorf("field = %q, want %q", field, tt.field)
				}
			}
		})
	}
}

func TestPlaybackNeedsReasonAndIsTheViewers(t *testing.T) {
	e := newEnv(t, withRecordings(t))
	e.addCamera("cam-1", "police", 40.7, -74)
	base := "/api/v1/cameras/cam-1/playback/index.m3u8?" + rangeQuery(rec0.Add(30*time.Second), rec0.Add(90*time.Second))
	if r := e.call("GET", base, "investigator", nil); r.status != http.StatusBadRequest {
		t.Fatalf("without a reason: %d %s", r.status, r.body)
	} else if _, _, field, _ := r.apiError(t); field != "reason" {
		t.Errorf("field = %q, want reason", field)
	}
	r := e.call("GET", base+"&reason="+url.QueryEscape("case 2026-77"), "investigator", nil)
	if r.status != http.StatusOK || r.header.Get("Content-Type") != "application/vnd.apple.mpegurl" {
		t.Fatalf("playlist: %d %s %s", r.status, r.header.Get("Content-Type"), r.body)
	}
	if len(e.logs.lines(`"access decision"`, `"purpose":"case 2026-77"`, `"allowed":true`)) == 0 {
		t.Error("the decision does not record the stated reason")
	}
	var part string
	for _, line := range strings.Split(string(r.body), "\n") {
		if strings.HasPrefix(line, "seg/") {
			part = "/api/v1/cameras/cam-1/playback/" + line
			break
		}
	}
	if part == "" {
		t.Fatalf("no part in the playlist:\n%s", r.body)
	}
	if r := e.call("GET", part, "investigator", nil); r.status != http.StatusOK || r.header.Get("Content-Type") != "video/mp4" || len(r.body) == 0 {
		t.Errorf("part for the viewer: %d %s", r.status, r.header.Get("Content-Type"))
	}
	if r := e.call("GET", part, "admin", nil); r.status != http.StatusForbidden {
		t.Errorf("part for another user: %d, want 403", r.status)
	}
	if r := e.call("GET", part, "", nil); r.status != http.StatusUnauthorized {
		t.Errorf("part without a token: %d, want 401", r.status)
	}
}

func TestExportThroughTheAPI(t *testing.T) {
	e := newEnv(t, withRecordings(t))
	e.addCamera("cam-1", "police", 40.7, -74)
	body := map[string]any{"camera_ids": []string{"cam-1"}, "from": rec0.Add(20 * time.Second).Format(time.RFC3339), "to": rec0.Add(80 * time.Second).Format(time.RFC3339), "reason": "case 2026-78"}
	if r := e.call("POST", "/api/v1/exports", "viewer", body); r.status != http.StatusForbidden {
		t.Errorf("viewer export: %d, want 403", r.status)
	}
	noReason := map[string]any{"camera_ids": []string{"cam-1"}, "from": body["from"], "to": body["to"]}
	if r := e.call("POST", "/api/v1/exports", "investigator", noReason); r.status != http.StatusBadRequest {
		t.Errorf("export without a reason: %d, want 400", r.status)
	}
	r := e.call("POST", "/api/v1/exports", "investigator", body)
	if r.status != http.StatusAccepted {
		t.Fatalf("export: %d %s", r.status, r.body)
	}
	var j export.Job
	r.decode(t, &j)
	if r := e.call("GET", "/api/v1/exports/"+j.ID, "operator", nil); r.status != http.StatusNotFound {
		t.Errorf("another user's export: %d, want 404", r.status)
	}
	deadline := time.Now().Add(30 * time.Second)
	for j.State != export.StateDone {
		if j.State == export.StateFailed || time.Now().After(deadline) {
			t.Fatalf("export %s: %s %s", j.ID, j.State, j.Error)
		}
		time.Sleep(10 * time.Millisecond)
		e.call("GET", "/api/v1/exports/"+j.ID, "investigator", nil).decode(t, &j)
	}
	if r := e.call("GET", "/api/v1/holds?camera_id=cam-1", "investigator", nil); !strings.Contains(string(r.body), j.HoldIDs[0]) {
		t.Errorf("the export's hold is not listed: %s", r.body)
	}
	zr := e.call("GET", "/api/v1/exports/"+j.ID+"/bundle", "investigator", nil)
	if zr.status != http.StatusOK || zr.header.Get("Content-Type") != "application/zip" {
		t.Fatalf("bundle: %d %s", zr.status, zr.header.Get("Content-Type"))
	}
	zpath := filepath.Join(t.TempDir(), j.ID+".zip")
	if err := os.WriteFile(zpath, zr.body, 0o600); err != nil {
		t.Fatal(err)
	}
	var keys struct {
		Keys []evidence.PublicKeyInfo `json:"keys"`
	}
	e.call("GET", "/api/v1/keys", "viewer", nil).decode(t, &keys)
	if len(keys.Keys) != 1 || keys.Keys[0].Algorithm != "ed25519" {
		t.Fatalf("keys = %+v", keys)
	}
	pub, err := base64.StdEncoding.DecodeString(keys.Keys[0].PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	rep, err := evidence.Verify(zpath, evidence.VerifyOptions{TrustedKeys: []ed25519.PublicKey{pub}})
	if err != nil || !rep.OK() || !rep.KeyTrusted || rep.Manifest.Reason != "case 2026-78" || rep.Manifest.UserID != "investigator" {
		t.Errorf("verify the downloaded bundle with the served key: %v %+v", err, rep)
	}
	if len(e.logs.lines(`"access decision"`, `"purpose":"download `+j.ID)) == 0 {
		t.Error("the download is not on record with its purpose")
	}
	// The public key is public: a court checking an export has no account.
	if r := e.call("GET", "/api/v1/keys", "", nil); r.status != http.StatusOK || !strings.Contains(string(r.body), keys.Keys[0].PublicKey) {
		t.Errorf("keys without a token: %d %s, want 200 with the key", r.status, r.body)
	}
}
