package evidence

import (
	"archive/zip"
	"bytes"
	"compress/flate"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// maxEntries is the most entries a bundle may have; more is refused as a zip
// bomb.
const maxEntries = 10000

// VerifyOptions configures Verify.
type VerifyOptions struct {
	// TrustedKeys are the public keys a manifest may be signed with. Empty:
	// the key embedded in manifest.sig is accepted and Report.KeyTrusted is
	// false.
	TrustedKeys []ed25519.PublicKey
}

// Report is the outcome of Verify.
type Report struct {
	// Manifest is the parsed manifest, nil when it is missing or does not
	// parse.
	Manifest *Manifest
	// KeyID is the id of the public key in manifest.sig ("" when there is
	// none).
	KeyID string
	// KeyTrusted reports that the signing key is one of the TrustedKeys.
	KeyTrusted bool
	// Problems is everything found wrong; none means the export verifies.
	Problems []Problem
	// Files counts the listed files whose size and SHA-256 match the manifest.
	Files int
}

// Problem is one thing wrong with an export: the file at fault (a name in the
// export, or the bundle's own name) and what is wrong with it.
type Problem struct {
	File string
	What string
}

// String returns the problem as "file: what".
func (p Problem) String() string { return p.File + ": " + p.What }

// OK reports whether the export verified without problems.
func (r *Report) OK() bool { return len(r.Problems) == 0 }

func (r *Report) problem(file, format string, args ...any) {
	r.Problems = append(r.Problems, Problem{File: file, What: fmt.Sprintf(format, args...)})
}

// entry is one file of an export, in a directory or a zip.
type entry struct {
	open func() (io.ReadCloser, error)
	// inflates marks a compressed zip entry: its size is known only by
	// reading it, so reading stops past the size the manifest states.
	inflates bool
}

// Verify checks an export offline: path is the export directory or its zip
// bundle. It checks the signature over manifest.json, the key that made it
// (against opts.TrustedKeys when given), the size and SHA-256 of every listed
// file, and that nothing else is in the export, and reports each discrepancy
// as its own Problem. It reads files as streams. The error is non-nil only
// when the verification cannot start: path is unreadable, or neither a
// directory nor a zip file.
func Verify(path string, opts VerifyOptions) (*Report, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("verify: %w", err)
	}
	r := &Report{}
	entries := make(map[string]*entry)
	if fi.IsDir() {
		dents, err := os.ReadDir(path)
		if err != nil {
			return nil, fmt.Errorf("verify: %w", err)
		}
		for _, d := range dents {
			entries[d.Name()] = dirEntry(filepath.Join(path, d.Name()), d.Type())
		}
	} else {
		f, err := os.Open(path)
		if err != nil {
			return nil, fmt.Errorf("verify: %w", err)
		}
		defer f.Close()
		zr, err := zip.NewReader(f, fi.Size())
		if err != nil && !errors.Is(err, zip.ErrInsecurePath) { // insecure names are reported below
			return nil, fmt.Errorf("verify %s: neither a directory nor a zip bundle: %w", path, err)
		}
		if len(zr.File) > maxEntries {
			r.problem(filepath.Base(path), "the bundle has %d entries, more than %d: refused", len(zr.File), maxEntries)
			return r, nil
		}
		for _, zf := range zr.File {
			switch {
			case unsafeName(zf.Name):
				r.problem(zf.Name, "unsafe name in the bundle (absolute, with .. or a backslash): refused")
			case entries[zf.Name] != nil:
				r.problem(zf.Name, "appears more than once in the bundle")
			default:
				entries[zf.Name] = zipEntry(zf)
			}
		}
	}
	r.check(entries, opts)
	return r, nil
}

func dirEntry(path string, typ fs.FileMode) *entry {
	return &entry{open: func() (io.ReadCloser, error) {
		if !typ.IsRegular() {
			return nil, errors.New("not a regular file")
		}
		return os.Open(path)
	}}
}

func zipEntry(zf *zip.File) *entry {
	return &entry{
		inflates: zf.Method != zip.Store,
		// OpenRaw skips the zip's CRC-32 check: a changed byte must reach the
		// SHA-256 comparison, which names both hashes.
		open: func() (io.ReadCloser, error) {
			raw, err := zf.OpenRaw()
			if err != nil {
				return nil, err
			}
			switch zf.Method {
			case zip.Store:
				return io.NopCloser(raw), nil
			case zip.Deflate:
				return flate.NewReader(raw), nil
			default:
				return nil, fmt.Errorf("compression method %d is not supported (want store or deflate)", zf.Method)
			}
		},
	}
}

// unsafeName reports whether a zip entry's name could escape the directory
// it is extracted to: absolute, with a drive letter, a backslash, or a "." or
// ".." element.
func unsafeName(name string) bool {
	n := strings.TrimSuffix(name, "/") // a folder entry
	return !fs.ValidPath(n) || n == "." || strings.Contains(n, `\`) || hasDrive(n)
}

// check verifies the export's entries into r.
func (r *Report) check(entries map[string]*entry, opts VerifyOptions) {
	pub, sig := r.checkSignature(entries[SignatureName], opts)
	me := entries[ManifestName]
	if me == nil {
		r.problem(ManifestName, "missing: this is not an argus export, or its manifest was removed")
		return
	}
	body, err := readEntry(me)
	if err != nil {
		r.problem(ManifestName, "cannot read: %v", err)
		return
	}
	if pub != nil && !ed25519.Verify(pub, body, sig) {
		r.problem(ManifestName, "signature does not verify: the manifest was altered after signing, or signed by another key")
	}
	var m Manifest
	if err := json.Unmarshal(body, &m); err != nil {
		r.problem(ManifestName, "does not parse as a manifest: %v", err)
		return
	}
	r.Manifest = &m
	if pub != nil && m.KeyID != r.KeyID {
		r.problem(ManifestName, "key_id %s is not the key that signed it (%s)", m.KeyID, r.KeyID)
	}
	probs := m.check()
	r.Problems = append(r.Problems, probs...)
	if m.Version != ManifestVersion {
		return
	}
	listed := map[string]bool{ManifestName: true, SignatureName: true}
	for _, f := range m.Files {
		if !plainName(f.Name) || listed[f.Name] {
			continue // reported by m.check
		}
		listed[f.Name] = true
		e := entries[f.Name]
		if e == nil {
			r.problem(f.Name, "missing: listed in the manifest (%d bytes) but not in the export", f.Size)
			continue
		}
		r.checkFile(f, e)
	}
	var extra []string
	for name := range entries {
		if !listed[name] {
			extra = append(extra, name)
		}
	}
	slices.Sort(extra)
	for _, name := range extra {
		r.problem(name, "not listed in the manifest")
	}
}

// checkSignature reads manifest.sig and returns its public key and signature,
// or nils when it is missing or malformed.
func (r *Report) checkSignature(e *entry, opts VerifyOptions) (ed25519.PublicKey, []byte) {
	if e == nil {
		r.problem(SignatureName, "missing: the export is not signed")
		return nil, nil
	}
	b, err := readEntry(e)
	if err != nil {
		r.problem(SignatureName, "cannot read: %v", err)
		return nil, nil
	}
	var s Signature
	if err := json.Unmarshal(b, &s); err != nil {
		r.problem(SignatureName, "does not parse: %v", err)
		return nil, nil
	}
	if s.Algorithm != Algorithm {
		r.problem(SignatureName, "algorithm %q is not supported (want %q)", s.Algorithm, Algorithm)
		return nil, nil
	}
	pub, err := base64.StdEncoding.DecodeString(s.PublicKey)
	if err != nil || len(pub) != ed25519.PublicKeySize {
		r.problem(SignatureName, "public_key is not the base64 of a %d-byte Ed25519 public key", ed25519.PublicKeySize)
		return nil, nil
	}
	sig, err := base64.StdEncoding.DecodeString(s.Signature)
	if err != nil || len(sig) != ed25519.SignatureSize {
		r.problem(SignatureName, "signature is not the base64 of a %d-byte Ed25519 signature", ed25519.SignatureSize)
		return nil, nil
	}
	r.KeyID = KeyID(pub)
	if s.KeyID != r.KeyID {
		r.problem(SignatureName, "key_id %s does not match the public key it carries, whose id is %s", s.KeyID, r.KeyID)
	}
	if len(opts.TrustedKeys) > 0 {
		r.KeyTrusted = slices.ContainsFunc(opts.TrustedKeys, func(k ed25519.PublicKey) bool { return bytes.Equal(k, pub) })
		if !r.KeyTrusted {
			r.problem(SignatureName, "signed by key %s, which is not one of the trusted keys", r.KeyID)
		}
	}
	return pub, sig
}

// checkFile compares the size and SHA-256 of e with the manifest's f.
func (r *Report) checkFile(f File, e *entry) {
	rc, err := e.open()
	if err != nil {
		r.problem(f.Name, "cannot read: %v", err)
		return
	}
	defer rc.Close()
	var src io.Reader = rc
	if e.inflates {
		src = io.LimitReader(rc, f.Size+1)
	}
	h := sha256.New()
	n, err := io.Copy(h, src)
	if err != nil {
		r.problem(f.Name, "cannot read: %v", err)
		return
	}
	sum := hex.EncodeToString(h.Sum(nil))
	switch {
	case e.inflates && n > f.Size:
		r.problem(f.Name, "size does not match the manifest: manifest %d bytes, file more than that (compressed; not read further)", f.Size)
	case n != f.Size:
		r.problem(f.Name, "size and SHA-256 do not match the manifest: manifest %d bytes, file %d bytes; SHA-256 manifest %s, file %s", f.Size, n, f.SHA256, sum)
	case sum != f.SHA256:
		r.problem(f.Name, "SHA-256 does not match the manifest: manifest %s, file %s", f.SHA256, sum)
	default:
		r.Files++
	}
}

func readEntry(e *entry) ([]byte, error) {
	rc, err := e.open()
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	return readAllLimited(rc)
}
