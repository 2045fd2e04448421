// Package evidence makes exports that a third party can check offline: a
// manifest of every exported file's size and SHA-256, signed with the node's
// Ed25519 key, written beside the files and bundled with them as a zip; and
// the verifier behind `argus export verify`. The format is described in
// docs/export.md.
package evidence

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"argus"
)

// Names of the two files that make an export verifiable.
const (
	ManifestName  = "manifest.json"
	SignatureName = "manifest.sig"
)

// ManifestVersion is the manifest format this package writes and verifies.
const ManifestVersion = 1

// Range is a time interval, From inclusive and To exclusive.
type Range struct {
	From time.Time `json:"from"`
	To   time.Time `json:"to"`
}

// File is one exported file: its base name, size in bytes and SHA-256
// (lowercase hex).
type File struct {
	Name   string `json:"name"`
	Size   int64  `json:"size"`
	SHA256 string `json:"sha256"`
}

// CameraExport is what an export holds of one camera: the range asked for,
// the range actually recorded, the files (names in Manifest.Files) and the
// gaps in the recording inside Actual.
type CameraExport struct {
	CameraID  string   `json:"camera_id"`
	Name      string   `json:"name,omitempty"`
	Requested Range    `json:"requested"`
	Actual    Range    `json:"actual"`
	Files     []string `json:"files"`
	Gaps      []Range  `json:"gaps,omitempty"`
}

// Manifest is the signed description of an export: who exported what, when
// and why, and the size and hash of every file.
type Manifest struct {
	Version   int            `json:"version"` // ManifestVersion
	ExportID  string         `json:"export_id"`
	NodeID    string         `json:"node_id"`
	KeyID     string         `json:"key_id"`
	CreatedAt time.Time      `json:"created_at"`
	UserID    string         `json:"user_id"`
	Username  string         `json:"username,omitempty"`
	OrgID     string         `json:"org_id,omitempty"`
	Reason    string         `json:"reason"`
	Requested Range          `json:"requested"`
	Cameras   []CameraExport `json:"cameras"`
	Files     []File         `json:"files"`
}

// Signature is the content of manifest.sig (JSON): the signature over the
// exact bytes of manifest.json and the public key that makes it.
type Signature struct {
	Algorithm string `json:"algorithm"`  // "ed25519"
	KeyID     string `json:"key_id"`     // KeyID of PublicKey
	PublicKey string `json:"public_key"` // standard base64 of the 32 bytes
	Signature string `json:"signature"`  // standard base64 of the 64 bytes
}

// HashFile returns the File entry of path (Name is its base name) with its
// size and SHA-256, reading it as a stream.
func HashFile(path string) (File, error) {
	f, err := os.Open(path)
	if err != nil {
		return File{}, fmt.Errorf("hash file: %w", err)
	}
	defer f.Close()
	h := sha256.New()
	n, err := io.Copy(h, f)
	if err != nil {
		return File{}, fmt.Errorf("hash %s: %w", path, err)
	}
	return File{Name: filepath.Base(path), Size: n, SHA256: hex.EncodeToString(h.Sum(nil))}, nil
}

// WriteSigned writes dir/manifest.json (indented JSON, trailing newline) and
// dir/manifest.sig, each to a temporary file that is synced and renamed, then
// syncs dir. It sets m.KeyID to k.ID, m.Version to ManifestVersion when zero,
// and every time in m to UTC. The signature is over the exact bytes of
// manifest.json. It refuses a manifest without export_id, node_id, user_id,
// reason or created_at, or one that Verify would find malformed (file names
// that are not plain, unique base names; hashes that are not SHA-256 hex; a
// camera listing a file the manifest does not).
func WriteSigned(dir string, m *Manifest, k *Key) error {
	if m.Version == 0 {
		m.Version = ManifestVersion
	}
	m.KeyID = k.ID
	toUTC(m)
	for _, req := range []struct{ field, value string }{
		{"export_id", m.ExportID}, {"node_id", m.NodeID}, {"user_id", m.UserID}, {"reason", m.Reason},
	} {
		if strings.TrimSpace(req.value) == "" {
			return argus.FieldErrorf(req.field, "the manifest needs a %s", req.field)
		}
	}
	if m.CreatedAt.IsZero() {
		return argus.FieldErrorf("created_at", "the manifest needs a created_at")
	}
	if probs := m.check(); len(probs) > 0 {
		return fmt.Errorf("write manifest: %s", probs[0].What)
	}
	body, err := marshal(m)
	if err != nil {
		return fmt.Errorf("write manifest: %w", err)
	}
	sig, err := marshal(Signature{
		Algorithm: Algorithm,
		KeyID:     k.ID,
		PublicKey: base64.StdEncoding.EncodeToString(k.Public),
		Signature: base64.StdEncoding.EncodeToString(k.Sign(body)),
	})
	if err != nil {
		return fmt.Errorf("write manifest: %w", err)
	}
	for _, f := range []struct {
		name string
		data []byte
	}{{ManifestName, body}, {SignatureName, sig}} {
		tmp, err := writeTemp(dir, "."+f.name+"-*", f.data, 0o644)
		if err != nil {
			return fmt.Errorf("write %s: %w", f.name, err)
		}
		if err := os.Rename(tmp, filepath.Join(dir, f.name)); err != nil {
			os.Remove(tmp)
			return fmt.Errorf("write %s: %w", f.name, err)
		}
	}
	if err := syncDir(dir); err != nil {
		return fmt.Errorf("write manifest: %w", err)
	}
	return nil
}

// marshal returns v as indented JSON with a trailing newline, leaving &, <
// and > as they are for the human reader.
func marshal(v any) ([]byte, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

// toUTC sets every time in m to UTC, so the manifest reads the same wherever
// it was made.
func toUTC(m *Manifest) {
	utc := func(r *Range) { r.From, r.To = r.From.UTC(), r.To.UTC() }
	m.CreatedAt = m.CreatedAt.UTC()
	utc(&m.Requested)
	for i := range m.Cameras {
		c := &m.Cameras[i]
		utc(&c.Requested)
		utc(&c.Actual)
		for j := range c.Gaps {
			utc(&c.Gaps[j])
		}
	}
}

// check returns what makes m unverifiable, as problems of manifest.json.
func (m *Manifest) check() []Problem {
	var probs []Problem
	bad := func(format string, args ...any) {
		probs = append(probs, Problem{File: ManifestName, What: fmt.Sprintf(format, args...)})
	}
	if m.Version != ManifestVersion {
		bad("unsupported version %d (this verifier knows version %d)", m.Version, ManifestVersion)
		return probs
	}
	listed := make(map[string]bool, len(m.Files))
	for _, f := range m.Files {
		switch {
		case !plainName(f.Name):
			bad("lists a file with an invalid name %q (want a plain base name)", f.Name)
		case listed[f.Name]:
			bad("lists %q more than once", f.Name)
		case f.Size < 0:
			bad("lists %q with a negative size %d", f.Name, f.Size)
		case !sha256Hex(f.SHA256):
			bad("lists %q with an invalid sha256 %q (want 64 lowercase hex digits)", f.Name, f.SHA256)
		}
		listed[f.Name] = true
	}
	for _, c := range m.Cameras {
		for _, name := range c.Files {
			if !listed[name] {
				bad("camera %q names file %q, which is not in the manifest's files", c.CameraID, name)
			}
		}
	}
	return probs
}

// plainName reports whether name is a file name the manifest may list: one
// path element, no backslash, no drive letter, not the manifest's own files.
func plainName(name string) bool {
	return fs.ValidPath(name) && name != "." && !strings.ContainsAny(name, `/\`) && !hasDrive(name) &&
		name != ManifestName && name != SignatureName
}

func hasDrive(name string) bool { return len(name) >= 2 && name[1] == ':' }

func sha256Hex(s string) bool {
	if len(s) != 2*sha256.Size {
		return false
	}
	for _, c := range s {
		if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}

// writeTemp writes data to a new temporary file in dir with mode perm, syncs
// and closes it, and returns its path.
func writeTemp(dir, pattern string, data []byte, perm fs.FileMode) (_ string, err error) {
	f, err := os.CreateTemp(dir, pattern)
	if err != nil {
		return "", err
	}
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(f.Name())
		}
	}()
	if err := f.Chmod(perm); err != nil {
		return "", err
	}
	if _, err := f.Write(data); err != nil {
		return "", err
	}
	if err := f.Sync(); err != nil {
		return "", err
	}
	if err := f.Close(); err != nil {
		return "", err
	}
	return f.Name(), nil
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}
