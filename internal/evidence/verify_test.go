package evidence

import (
	"archive/zip"
	"bytes"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// fileData is the content of an exported test file: 1000 bytes that differ
// per name.
func fileData(name string) []byte {
	return bytes.Repeat([]byte(fmt.Sprintf("%-10.10s", name)), 100)
}

func sha(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// newExport writes cam-1.mp4 and cam-2.mp4 and a manifest signed by k to a
// new directory.
func newExport(t *testing.T, k *Key) string {
	t.Helper()
	dir := t.TempDir()
	var files []File
	for _, name := range []string{"cam-1.mp4", "cam-2.mp4"} {
		path := filepath.Join(dir, name)
		writeFile(t, path, fileData(name))
		f, err := HashFile(path)
		if err != nil {
			t.Fatal(err)
		}
		files = append(files, f)
	}
	m := testManifest(files)
	if err := WriteSigned(dir, &m, k); err != nil {
		t.Fatal(err)
	}
	return dir
}

func writeFile(t *testing.T, path string, data []byte) {
	t.Helper()
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
}

func readFile(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

type zipItem struct {
	name   string
	data   []byte
	method uint16
}

// writeZip writes entries, in order, to a new export.zip and returns its path.
func writeZip(t *testing.T, entries []zipItem) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "export.zip")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	zw := zip.NewWriter(f)
	for _, e := range entries {
		w, err := zw.CreateHeader(&zip.FileHeader{Name: e.name, Method: e.method})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := w.Write(e.data); err != nil {
			t.Fatal(err)
		}
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return path
}

// dirEntries returns every file of dir as zip entries, sorted by name.
func dirEntries(t *testing.T, dir string, method uint16) []zipItem {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var out []zipItem
	for _, e := range ents {
		out = append(out, zipItem{e.Name(), readFile(t, filepath.Join(dir, e.Name())), method})
	}
	return out
}

// checkProblems fails t unless r has exactly the want problems, in order,
// each What containing the wanted text.
func checkProblems(t *testing.T, r *Report, want []Problem) {
	t.Helper()
	ok := len(r.Problems) == len(want)
	for i := 0; ok && i < len(want); i++ {
		ok = r.Problems[i].File == want[i].File && strings.Contains(r.Problems[i].What, want[i].What)
	}
	if !ok {
		t.Fatalf("problems:\n%s\nwant:\n%s", problemList(r.Problems), problemList(want))
	}
	if r.OK() != (len(want) == 0) {
		t.Fatalf("OK() = %t with %d problems", r.OK(), len(r.Problems))
	}
}

func problemList(ps []Problem) string {
	var b strings.Builder
	for _, p := range ps {
		fmt.Fprintf(&b, "  %s\n", p)
	}
	return b.String()
}

func TestVerifyGoodExport(t *testing.T) {
	k := testKey(1)
	dir := newExport(t, k)
	var bundle bytes.Buffer
	if err := WriteBundle(&bundle, dir); err != nil {
		t.Fatal(err)
	}
	zipPath := filepath.Join(t.TempDir(), "export.zip")
	writeFile(t, zipPath, bundle.Bytes())
	deflated := writeZip(t, dirEntries(t, dir, zip.Deflate))

	for _, form := range []struct{ name, path string }{{"dir", dir}, {"zip", zipPath}, {"deflated zip", deflated}} {
		for _, trust := range []struct {
			name string
			keys []ed25519.PublicKey
		}{{"embedded key", nil}, {"pinned key", []ed25519.PublicKey{testKey(2).Public, k.Public}}} {
			t.Run(form.name+"/"+trust.name, func(t *testing.T) {
				r, err := Verify(form.path, VerifyOptions{TrustedKeys: trust.keys})
				if err != nil {
					t.Fatal(err)
				}
				checkProblems(t, r, nil)
				if r.Files != 2 || r.KeyID != k.ID || r.KeyTrusted != (trust.keys != nil) {
					t.Fatalf("files %d, key %s trusted %t; want 2, %s, %t", r.Files, r.KeyID, r.KeyTrusted, k.ID, trust.keys != nil)
				}
				if r.Manifest == nil || r.Manifest.Reason != "burglary, case 2026-0042" || len(r.Manifest.Cameras) != 2 {
					t.Fatalf("manifest not returned as written: %+v", r.Manifest)
				}
			})
		}
	}
}

func TestVerifyFindsTampering(t *testing.T) {
	k, attacker := testKey(1), testKey(9)
	cam1, cam2 := fileData("cam-1.mp4"), fileData("cam-2.mp4")
	flipped := bytes.Clone(cam1)
	flipped[500] ^= 0x01
	editJSON := func(t *testing.T, path string, edit func(map[string]any)) {
		t.Helper()
		var v map[string]any
		if err := json.Unmarshal(readFile(t, path), &v); err != nil {
			t.Fatal(err)
		}
		edit(v)
		b, err := json.MarshalIndent(v, "", "  ")
		if err != nil {
			t.Fatal(err)
		}
		writeFile(t, path, b)
	}
	const sigBad = "signature does not verify: the manifest was altered after signing, or signed by another key"
	tests := []struct {
		name    string
		mutate  func(t *testing.T, dir string)
		trusted []ed25519.PublicKey
		want    []Problem
	}{
		{
			name:   "flipped byte in a file",
			mutate: func(t *testing.T, dir string) { writeFile(t, filepath.Join(dir, "cam-1.mp4"), flipped) },
			want:   []Problem{{"cam-1.mp4", "SHA-256 does not match the manifest: manifest " + sha(cam1) + ", file " + sha(flipped)}},
		},
		{
			name:   "truncated file",
			mutate: func(t *testing.T, dir string) { writeFile(t, filepath.Join(dir, "cam-2.mp4"), cam2[:999]) },
			want: []Problem{{"cam-2.mp4", "size and SHA-256 do not match the manifest: manifest 1000 bytes, file 999 bytes; SHA-256 manifest " +
				sha(cam2) + ", file " + sha(cam2[:999])}},
		},
		{
			name: "one character of the manifest edited",
			mutate: func(t *testing.T, dir string) {
				path := filepath.Join(dir, ManifestName)
				b := readFile(t, path)
				if !bytes.Contains(b, []byte("2026-0042")) {
					t.Fatal("manifest lacks the reason to edit")
				}
				writeFile(t, path, bytes.Replace(b, []byte("2026-0042"), []byte("2026-0043"), 1))
			},
			want: []Problem{{ManifestName, sigBad}},
		},
		{
			name: "file and its hash in the manifest both replaced",
			mutate: func(t *testing.T, dir string) {
				writeFile(t, filepath.Join(dir, "cam-1.mp4"), flipped)
				path := filepath.Join(dir, ManifestName)
				writeFile(t, path, bytes.Replace(readFile(t, path), []byte(sha(cam1)), []byte(sha(flipped)), 1))
			},
			want: []Problem{{ManifestName, sigBad}},
		},
		{
			name:   "file removed",
			mutate: func(t *testing.T, dir string) { os.Remove(filepath.Join(dir, "cam-2.mp4")) },
			want:   []Problem{{"cam-2.mp4", "missing: listed in the manifest (1000 bytes) but not in the export"}},
		},
		{
			name:   "extra file",
			mutate: func(t *testing.T, dir string) { writeFile(t, filepath.Join(dir, "notes.txt"), []byte("hi")) },
			want:   []Problem{{"notes.txt", "not listed in the manifest"}},
		},
		{
			name: "key_id in manifest.sig tampered",
			mutate: func(t *testing.T, dir string) {
				editJSON(t, filepath.Join(dir, SignatureName), func(v map[string]any) { v["key_id"] = "0000000000000000" })
			},
			want: []Problem{{SignatureName, "key_id 0000000000000000 does not match the public key it carries, whose id is " + k.ID}},
		},
		{
			name: "public key in manifest.sig swapped",
			mutate: func(t *testing.T, dir string) {
				editJSON(t, filepath.Join(dir, SignatureName), func(v map[string]any) {
					v["public_key"], v["key_id"] = attacker.Info("").PublicKey, attacker.ID
				})
			},
			want: []Problem{{ManifestName, sigBad}, {ManifestName, "key_id " + k.ID + " is not the key that signed it (" + attacker.ID + ")"}},
		},
		{
			name:    "signed by a key that is not trusted",
			trusted: []ed25519.PublicKey{attacker.Public},
			want:    []Problem{{SignatureName, "signed by key " + k.ID + ", which is not one of the trusted keys"}},
		},
		{
			name: "manifest edited and re-signed by another key",
			mutate: func(t *testing.T, dir string) {
				var m Manifest
				if err := json.Unmarshal(readFile(t, filepath.Join(dir, ManifestName)), &m); err != nil {
					t.Fatal(err)
				}
				m.Reason = "nothing to see"
				if err := WriteSigned(dir, &m, attacker); err != nil {
					t.Fatal(err)
				}
			},
			trusted: []ed25519.PublicKey{k.Public},
			want:    []Problem{{SignatureName, "signed by key " + attacker.ID + ", which is not one of the trusted keys"}},
		},
		{
			name:   "manifest does not parse",
			mutate: func(t *testing.T, dir string) { writeFile(t, filepath.Join(dir, ManifestName), []byte("{not json")) },
			want:   []Problem{{ManifestName, sigBad}, {ManifestName, "does not parse as a manifest"}},
		},
		{
			name:   "signature removed",
			mutate: func(t *testing.T, dir string) { os.Remove(filepath.Join(dir, SignatureName)) },
			want:   []Problem{{SignatureName, "missing: the export is not signed"}},
		},
		{
			name:   "signature does not parse",
			mutate: func(t *testing.T, dir string) { writeFile(t, filepath.Join(dir, SignatureName), []byte("garbage")) },
			want:   []Problem{{SignatureName, "does not parse"}},
		},
		{
			name:   "manifest removed",
			mutate: func(t *testing.T, dir string) { os.Remove(filepath.Join(dir, ManifestName)) },
			want:   []Problem{{ManifestName, "missing"}},
		},
	}
	for _, tt := range tests {
		dir := newExport(t, k)
		if tt.mutate != nil {
			tt.mutate(t, dir)
		}
		zipPath := writeZip(t, dirEntries(t, dir, zip.Store))
		for _, form := range []struct{ name, path string }{{"dir", dir}, {"zip", zipPath}} {
			t.Run(tt.name+"/"+form.name, func(t *testing.T) {
				r, err := Verify(form.path, VerifyOptions{TrustedKeys: tt.trusted})
				if err != nil {
					t.Fatal(err)
				}
				checkProblems(t, r, tt.want)
			})
		}
	}
}

func TestVerifyZipEntries(t *testing.T) {
	dir := newExport(t, testKey(1))
	good := dirEntries(t, dir, zip.Store)
	zeros := make([]byte, 10<<20)
	tests := []struct {
		name  string
		extra []zipItem
		want  []Problem
	}{
		{"parent path", []zipItem{{"../evil.mp4", []byte("x"), zip.Store}}, []Problem{{"../evil.mp4", "unsafe name"}}},
		{"absolute path", []zipItem{{"/etc/cron.d/x", []byte("x"), zip.Store}}, []Problem{{"/etc/cron.d/x", "unsafe name"}}},
		{"backslash", []zipItem{{`..\evil.mp4`, []byte("x"), zip.Store}}, []Problem{{`..\evil.mp4`, "unsafe name"}}},
		{"drive letter", []zipItem{{"C:/evil.mp4", []byte("x"), zip.Store}}, []Problem{{"C:/evil.mp4", "unsafe name"}}},
		{"duplicate name", []zipItem{{"cam-1.mp4", []byte("other"), zip.Store}}, []Problem{{"cam-1.mp4", "appears more than once"}}},
		{"folder", []zipItem{{"extra/", nil, zip.Store}}, []Problem{{"extra/", "not listed in the manifest"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := Verify(writeZip(t, append(slices.Clone(good), tt.extra...)), VerifyOptions{})
			if err != nil {
				t.Fatal(err)
			}
			checkProblems(t, r, tt.want)
			if r.Files != 2 {
				t.Fatalf("%d files verified, want the 2 good ones", r.Files)
			}
		})
	}

	t.Run("byte flipped inside the bundle", func(t *testing.T) {
		var bundle bytes.Buffer
		if err := WriteBundle(&bundle, dir); err != nil {
			t.Fatal(err)
		}
		cam1 := fileData("cam-1.mp4")
		at := bytes.Index(bundle.Bytes(), cam1)
		if at < 0 {
			t.Fatal("cam-1.mp4 is not stored uncompressed in the bundle")
		}
		b := bundle.Bytes()
		b[at+500] ^= 0x01 // the zip's CRC-32 no longer matches either
		path := filepath.Join(t.TempDir(), "export.zip")
		writeFile(t, path, b)
		r, err := Verify(path, VerifyOptions{})
		if err != nil {
			t.Fatal(err)
		}
		flipped := bytes.Clone(cam1)
		flipped[500] ^= 0x01
		checkProblems(t, r, []Problem{{"cam-1.mp4", "SHA-256 does not match the manifest: manifest " + sha(cam1) + ", file " + sha(flipped)}})
	})

	t.Run("deflate bomb", func(t *testing.T) {
		entries := slices.Clone(good)
		for i := range entries {
			if entries[i].name == "cam-1.mp4" {
				entries[i] = zipItem{"cam-1.mp4", zeros, zip.Deflate}
			}
		}
		r, err := Verify(writeZip(t, entries), VerifyOptions{})
		if err != nil {
			t.Fatal(err)
		}
		checkProblems(t, r, []Problem{{"cam-1.mp4", "size does not match the manifest: manifest 1000 bytes, file more than that"}})
	})

	t.Run("too many entries", func(t *testing.T) {
		entries := slices.Clone(good)
		for i := range maxEntries {
			entries = append(entries, zipItem{fmt.Sprintf("e%05d", i), nil, zip.Store})
		}
		r, err := Verify(writeZip(t, entries), VerifyOptions{})
		if err != nil {
			t.Fatal(err)
		}
		checkProblems(t, r, []Problem{{"export.zip", "more than 10000: refused"}})
	})
}

func TestVerifyCannotStart(t *testing.T) {
	var bundle bytes.Buffer
	if err := WriteBundle(&bundle, newExport(t, testKey(1))); err != nil {
		t.Fatal(err)
	}
	tmp := t.TempDir()
	tests := []struct {
		name string
		data []byte // nil: the path does not exist
	}{
		{"missing path", nil},
		{"empty file", []byte{}},
		{"text file", []byte("this is not a zip\n")},
		{"zip magic then garbage", append([]byte("PK\x03\x04"), bytes.Repeat([]byte{0xff}, 200)...)},
		{"truncated bundle", bundle.Bytes()[:bundle.Len()/2]},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(tmp, tt.name)
			if tt.data != nil {
				writeFile(t, path, tt.data)
			}
			if r, err := Verify(path, VerifyOptions{}); err == nil {
				t.Fatalf("Verify returned no error, report %+v", r)
			}
		})
	}
}

func TestWriteBundle(t *testing.T) {
	dir := newExport(t, testKey(1))
	writeFile(t, filepath.Join(dir, "scratch.tmp"), []byte("not part of the export"))
	var buf bytes.Buffer
	if err := WriteBundle(&buf, dir); err != nil {
		t.Fatal(err)
	}
	zr, err := zip.NewReader(bytes.NewReader(buf.Bytes()), int64(buf.Len()))
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, f := range zr.File {
		names = append(names, f.Name)
		if f.Method != zip.Store {
			t.Errorf("%s stored with method %d, want Store", f.Name, f.Method)
		}
	}
	if want := []string{ManifestName, SignatureName, "cam-1.mp4", "cam-2.mp4"}; !slices.Equal(names, want) {
		t.Fatalf("bundle entries %q, want %q", names, want)
	}
}

func TestWriteBundleRefusesIncompleteExport(t *testing.T) {
	tests := []struct {
		name   string
		remove string
	}{
		{"no manifest", ManifestName},
		{"no signature", SignatureName},
		{"listed file missing", "cam-2.mp4"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := newExport(t, testKey(1))
			if err := os.Remove(filepath.Join(dir, tt.remove)); err != nil {
				t.Fatal(err)
			}
			var buf bytes.Buffer
			if err := WriteBundle(&buf, dir); err == nil {
				t.Fatal("WriteBundle returned no error")
			}
			if buf.Len() != 0 {
				t.Fatalf("WriteBundle wrote %d bytes of a bundle it refused", buf.Len())
			}
		})
	}
}

func TestHashFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "clip.mp4")
	data := fileData("clip")
	writeFile(t, path, data)
	got, err := HashFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if want := (File{Name: "clip.mp4", Size: int64(len(data)), SHA256: sha(data)}); got != want {
		t.Fatalf("HashFile = %+v, want %+v", got, want)
	}
	if _, err := HashFile(filepath.Join(t.TempDir(), "none.mp4")); err == nil {
		t.Fatal("HashFile of a missing file returned no error")
	}
}
