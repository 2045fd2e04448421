package evidence

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"testing"
	"time"

	"argus"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// testManifest returns a manifest of two cameras, with times in a non-UTC
// zone (WriteSigned writes them as UTC).
func testManifest(files []File) Manifest {
	cet := time.FixedZone("CET", 3600)
	at := func(hh, mm, ss int) time.Time { return time.Date(2026, 3, 1, hh, mm, ss, 0, cet) }
	req := Range{From: at(11, 0, 0), To: at(11, 5, 0)}
	return Manifest{
		ExportID:  "exp-7b2q",
		NodeID:    "node-a",
		CreatedAt: time.Date(2026, 3, 2, 9, 30, 15, 123e6, cet),
		UserID:    "user-7",
		Username:  "inspector.lee",
		OrgID:     "pct-1",
		Reason:    "burglary, case 2026-0042",
		Requested: req,
		Cameras: []CameraExport{
			{CameraID: "cam-1", Name: "Main & 1st", Requested: req, Actual: req, Files: []string{files[0].Name}},
			{
				CameraID: "cam-2", Requested: req, Actual: Range{From: at(11, 0, 2), To: at(11, 5, 0)},
				Files: []string{files[1].Name}, Gaps: []Range{{From: at(11, 2, 0), To: at(11, 2, 30)}},
			},
		},
		Files: files,
	}
}

func TestWriteSignedGolden(t *testing.T) {
	dir := newExport(t, testKey(1))
	for _, name := range []string{ManifestName, SignatureName} {
		t.Run(name, func(t *testing.T) {
			got := readFile(t, filepath.Join(dir, name))
			golden := filepath.Join("testdata", name+".golden")
			if *update {
				writeFile(t, golden, got)
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, want) {
				t.Fatalf("%s differs from %s (go test -update to accept):\n%s", name, golden, got)
			}
		})
	}
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(ents) != 4 {
		t.Fatalf("export dir holds %d entries, want 4 (no temporary files left)", len(ents))
	}
}

func TestWriteSignedRefusesBadManifest(t *testing.T) {
	files := []File{
		{Name: "cam-1.mp4", Size: 1, SHA256: sha([]byte("a"))},
		{Name: "cam-2.mp4", Size: 1, SHA256: sha([]byte("b"))},
	}
	tests := []struct {
		name  string
		edit  func(m *Manifest)
		field string // the *argus.Error field, "" for a plain error
	}{
		{"no reason", func(m *Manifest) { m.Reason = "  " }, "reason"},
		{"no export id", func(m *Manifest) { m.ExportID = "" }, "export_id"},
		{"no user", func(m *Manifest) { m.UserID = "" }, "user_id"},
		{"no creation time", func(m *Manifest) { m.CreatedAt = time.Time{} }, "created_at"},
		{"unknown version", func(m *Manifest) { m.Version = 2 }, ""},
		{"path in a file name", func(m *Manifest) { m.Files[0].Name = "../cam-1.mp4" }, ""},
		{"file named like the manifest", func(m *Manifest) { m.Files[0].Name = ManifestName }, ""},
		{"duplicate file", func(m *Manifest) { m.Files[1].Name = m.Files[0].Name }, ""},
		{"hash not hex", func(m *Manifest) { m.Files[0].SHA256 = "XYZ" }, ""},
		{"camera names an unlisted file", func(m *Manifest) { m.Cameras[0].Files = []string{"cam-9.mp4"} }, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			m := testManifest(append([]File(nil), files...))
			tt.edit(&m)
			err := WriteSigned(dir, &m, testKey(1))
			if err == nil {
				t.Fatal("WriteSigned returned no error")
			}
			if got := argus.ErrorField(err); got != tt.field {
				t.Fatalf("error %q has field %q, want %q", err, got, tt.field)
			}
			if ents, _ := os.ReadDir(dir); len(ents) != 0 {
				t.Fatalf("a refused manifest left %d files", len(ents))
			}
		})
	}
}
