package cli

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"argus/internal/evidence"
)

// writeExport writes a signed two-file export and its bundle, and returns the
// bundle's path, the clip's content and the key that signed it.
func writeExport(t *testing.T) (string, []byte, *evidence.Key) {
	t.Helper()
	key, err := evidence.LoadOrCreateKey(t.TempDir(), nil)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	clip := bytes.Repeat([]byte("frame "), 500)
	m := evidence.Manifest{
		ExportID: "exp-1", NodeID: "node-a", CreatedAt: time.Now(), UserID: "user-1", Reason: "case 42",
	}
	for _, name := range []string{"cam-1.mp4", "cam-2.mp4"} {
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, append([]byte(name), clip...), 0o644); err != nil {
			t.Fatal(err)
		}
		f, err := evidence.HashFile(path)
		if err != nil {
			t.Fatal(err)
		}
		m.Files = append(m.Files, f)
	}
	if err := evidence.WriteSigned(dir, &m, key); err != nil {
		t.Fatal(err)
	}
	var bundle bytes.Buffer
	if err := evidence.WriteBundle(&bundle, dir); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "exp-1.zip")
	if err := os.WriteFile(path, bundle.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return path, append([]byte("cam-1.mp4"), clip...), key
}

func TestExportVerify(t *testing.T) {
	good, cam1, key := writeExport(t)
	b, err := os.ReadFile(good)
	if err != nil {
		t.Fatal(err)
	}
	at := bytes.Index(b, cam1)
	if at < 0 {
		t.Fatal("cam-1.mp4 not found in the bundle")
	}
	b[at+100] ^= 0x01
	tampered := filepath.Join(t.TempDir(), "tampered.zip")
	notZip := filepath.Join(t.TempDir(), "notes.txt")
	keyFile := filepath.Join(t.TempDir(), "keys.json")
	keysJSON, err := json.Marshal([]evidence.PublicKeyInfo{key.Info("node-a")})
	if err != nil {
		t.Fatal(err)
	}
	other, err := evidence.LoadOrCreateKey(t.TempDir(), nil)
	if err != nil {
		t.Fatal(err)
	}
	for path, data := range map[string][]byte{tampered: b, notZip: []byte("not a bundle"), keyFile: keysJSON} {
		if err := os.WriteFile(path, data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	pub := base64.StdEncoding.EncodeToString(key.Public)

	tests := []struct {
		name    string
		args    []string
		ok      bool
		out     []string // each must be a line of stdout
		errText string   // in stderr when failing
	}{
		{
			name: "good bundle, embedded key",
			args: []string{good},
			ok:   true,
			out:  []string{"OK: 2 files, manifest signed by key " + key.ID + " (embedded; not pinned — compare with GET /api/v1/keys or pass --key)"},
		},
		{
			name: "good bundle, pinned base64 key",
			args: []string{good, "--key", base64.StdEncoding.EncodeToString(other.Public), "--key", pub},
			ok:   true,
			out:  []string{"OK: 2 files, manifest signed by key " + key.ID + " (pinned with --key)"},
		},
		{
			name: "good bundle, key file from the API",
			args: []string{good, "--key", keyFile},
			ok:   true,
			out:  []string{"OK: 2 files, manifest signed by key " + key.ID + " (pinned with --key)"},
		},
		{
			name:    "good bundle, another key pinned",
			args:    []string{good, "--key", base64.StdEncoding.EncodeToString(other.Public)},
			out:     []string{"manifest.sig: signed by key " + key.ID + ", which is not one of the trusted keys", "FAILED: 1 problem"},
			errText: "the export does not verify",
		},
		{
			name:    "tampered bundle",
			args:    []string{tampered},
			out:     []string{"FAILED: 1 problem"},
			errText: "the export does not verify",
		},
		{
			name:    "not a bundle",
			args:    []string{notZip},
			errText: "neither a directory nor a zip bundle",
		},
		{
			name:    "bad key",
			args:    []string{good, "--key", "not-a-key"},
			errText: "--key",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, out, errs := run(t, t.TempDir(), "", append([]string{"export", "verify"}, tt.args...)...)
			if (code == 0) != tt.ok {
				t.Fatalf("exit %d, want ok=%t\nstdout: %s\nstderr: %s", code, tt.ok, out, errs)
			}
			lines := strings.Split(out, "\n")
			for _, want := range tt.out {
				if !containsLine(lines, want) {
					t.Errorf("stdout lacks the line %q:\n%s", want, out)
				}
			}
			if !strings.Contains(errs, tt.errText) {
				t.Errorf("stderr %q lacks %q", errs, tt.errText)
			}
		})
	}

	t.Run("tampered bundle names the file and both hashes", func(t *testing.T) {
		_, out, _ := run(t, t.TempDir(), "", "export", "verify", tampered)
		first, _, _ := strings.Cut(out, "\n")
		if !strings.HasPrefix(first, "cam-1.mp4: SHA-256 does not match the manifest: manifest ") ||
			len(strings.Fields(first)) != 11 {
			t.Fatalf("first line %q does not name cam-1.mp4 with both hashes", first)
		}
	})
}

func containsLine(lines []string, want string) bool {
	for _, l := range lines {
		if l == want {
			return true
		}
	}
	return false
}
