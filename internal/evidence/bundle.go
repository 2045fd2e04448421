package evidence

import (
	"archive/zip"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
)

// maxManifestSize bounds what is read of manifest.json and manifest.sig.
const maxManifestSize = 16 << 20

// WriteBundle writes to w a zip of the export in dir: manifest.json,
// manifest.sig and the files the manifest lists, in that order, flat (no
// folders), with the Store method (MP4 does not compress). Other files in dir
// are left out. It refuses a dir without a manifest or signature, or one
// missing a listed file; it does not check hashes (Verify does).
func WriteBundle(w io.Writer, dir string) error {
	body, err := readLimited(filepath.Join(dir, ManifestName))
	if err != nil {
		return fmt.Errorf("bundle %s: %w", dir, err)
	}
	var m Manifest
	if err := json.Unmarshal(body, &m); err != nil {
		return fmt.Errorf("bundle %s: parse %s: %w", dir, ManifestName, err)
	}
	if probs := m.check(); len(probs) > 0 {
		return fmt.Errorf("bundle %s: %s", dir, probs[0].What)
	}
	names := []string{ManifestName, SignatureName}
	for _, f := range m.Files {
		names = append(names, f.Name)
	}
	for _, name := range names { // before writing anything, so w gets no half bundle
		fi, err := os.Stat(filepath.Join(dir, name))
		if err != nil {
			return fmt.Errorf("bundle %s: %w", dir, err)
		}
		if !fi.Mode().IsRegular() {
			return fmt.Errorf("bundle %s: %s is not a regular file", dir, name)
		}
	}
	zw := zip.NewWriter(w)
	for _, name := range names {
		if err := addFile(zw, dir, name); err != nil {
			return fmt.Errorf("bundle %s: %w", dir, err)
		}
	}
	if err := zw.Close(); err != nil {
		return fmt.Errorf("bundle %s: %w", dir, err)
	}
	return nil
}

func addFile(zw *zip.Writer, dir, name string) error {
	f, err := os.Open(filepath.Join(dir, name))
	if err != nil {
		return err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return err
	}
	if !fi.Mode().IsRegular() {
		return fmt.Errorf("%s is not a regular file", name)
	}
	hdr := &zip.FileHeader{Name: name, Method: zip.Store, Modified: fi.ModTime()}
	hdr.SetMode(0o644)
	zf, err := zw.CreateHeader(hdr)
	if err != nil {
		return err
	}
	if _, err := io.Copy(zf, f); err != nil {
		return fmt.Errorf("add %s: %w", name, err)
	}
	return nil
}

// readLimited reads a file of at most maxManifestSize bytes.
func readLimited(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return readAllLimited(f)
}

func readAllLimited(r io.Reader) ([]byte, error) {
	b, err := io.ReadAll(io.LimitReader(r, maxManifestSize+1))
	if err != nil {
		return nil, err
	}
	if len(b) > maxManifestSize {
		return nil, fmt.Errorf("larger than %d MiB", maxManifestSize>>20)
	}
	return b, nil
}
