// Package secret encrypts camera credentials at rest with AES-256-GCM.
//
// A sealed value is version(1) || nonce(12) || ciphertext+tag. The version
// byte names the key generation so keys can be rotated later; the additional
// data (the camera id) binds a sealed value to its row.
package secret

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"argus"
)

// KeySize is the length of a key in bytes (AES-256).
const KeySize = 32

// version is the first byte of every sealed value made with the current key.
const version byte = 1

const nonceSize = 12

var _ argus.Sealer = (*Sealer)(nil)

// Sealer seals and opens small secrets with one AES-256-GCM key. It is safe
// for concurrent use.
type Sealer struct {
	aead cipher.AEAD
}

// New returns a Sealer for a 32-byte key.
func New(key []byte) (*Sealer, error) {
	if len(key) != KeySize {
		return nil, fmt.Errorf("secret: key is %d bytes, want %d", len(key), KeySize)
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, fmt.Errorf("secret: %w", err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, fmt.Errorf("secret: %w", err)
	}
	return &Sealer{aead: aead}, nil
}

// Seal encrypts plaintext and authenticates it together with ad.
func (s *Sealer) Seal(plaintext, ad []byte) ([]byte, error) {
	out := make([]byte, 1+nonceSize, 1+nonceSize+len(plaintext)+s.aead.Overhead())
	out[0] = version
	if _, err := rand.Read(out[1:]); err != nil {
		return nil, fmt.Errorf("secret: nonce: %w", err)
	}
	return s.aead.Seal(out, out[1:], plaintext, ad), nil
}

// Open decrypts a value made by Seal with the same key and ad. It fails when
// the value was altered, the key differs or ad does not match.
func (s *Sealer) Open(sealed, ad []byte) ([]byte, error) {
	if len(sealed) < 1+nonceSize+s.aead.Overhead() {
		return nil, errors.New("secret: sealed value is too short")
	}
	if sealed[0] != version {
		return nil, fmt.Errorf("secret: unknown key version %d", sealed[0])
	}
	pt, err := s.aead.Open(nil, sealed[1:1+nonceSize], sealed[1+nonceSize:], ad)
	if err != nil {
		return nil, fmt.Errorf("secret: open: %w", err)
	}
	return pt, nil
}

// ParseKey decodes a base64 (standard or URL alphabet, padded or not) key,
// as given in ARGUS_CREDENTIALS_KEY, and checks its length.
func ParseKey(s string) ([]byte, error) {
	s = strings.TrimSpace(s)
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		key, err := enc.DecodeString(s)
		if err != nil {
			continue
		}
		if len(key) != KeySize {
			return nil, fmt.Errorf("secret: key is %d bytes, want %d", len(key), KeySize)
		}
		return key, nil
	}
	return nil, errors.New("secret: key is not valid base64")
}

// LoadOrCreateKey reads the base64 key in the file at path, or, when the file
// does not exist, creates a random key there: the directory with mode 0700,
// the file with mode 0600, written to a temporary name, synced and renamed.
func LoadOrCreateKey(path string) ([]byte, error) {
	b, err := os.ReadFile(path)
	if err == nil {
		key, err := ParseKey(string(b))
		if err != nil {
			return nil, fmt.Errorf("read key %s: %w", path, err)
		}
		return key, nil
	}
	if !errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("read key: %w", err)
	}
	key := make([]byte, KeySize)
	if _, err := rand.Read(key); err != nil {
		return nil, fmt.Errorf("create key: %w", err)
	}
	if err := writeFileAtomic(path, []byte(base64.StdEncoding.EncodeToString(key)+"\n")); err != nil {
		return nil, fmt.Errorf("create key: %w", err)
	}
	return key, nil
}

func writeFileAtomic(path string, data []byte) (err error) {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	f, err := os.CreateTemp(dir, ".key-*")
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(f.Name())
		}
	}()
	if err := f.Chmod(0o600); err != nil {
		return err
	}
	if _, err := f.Write(data); err != nil {
		return err
	}
	if err := f.Sync(); err != nil {
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	if err := os.Rename(f.Name(), path); err != nil {
		return err
	}
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}
