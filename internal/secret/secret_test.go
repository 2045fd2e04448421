package secret

import (
	"bytes"
	"encoding/base64"
	"os"
	"path/filepath"
	"testing"
)

func testKey(b byte) []byte { return bytes.Repeat([]byte{b}, KeySize) }

func TestSealOpen(t *testing.T) {
	s, err := New(testKey(1))
	if err != nil {
		t.Fatal(err)
	}
	other, err := New(testKey(2))
	if err != nil {
		t.Fatal(err)
	}
	pt := []byte("admin:hunter2")
	ad := []byte("cam-1")
	sealed, err := s.Seal(pt, ad)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(sealed, pt) {
		t.Fatal("sealed value contains the plaintext")
	}
	again, err := s.Seal(pt, ad)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Equal(sealed, again) {
		t.Fatal("two seals of the same plaintext are equal: nonce reused")
	}

	t.Run("round trip", func(t *testing.T) {
		got, err := s.Open(sealed, ad)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, pt) {
			t.Fatalf("Open = %q, want %q", got, pt)
		}
	})

	tamper := func(i int) []byte {
		b := bytes.Clone(sealed)
		b[i] ^= 0x01
		return b
	}
	fails := []struct {
		name   string
		s      *Sealer
		sealed []byte
		ad     []byte
	}{
		{"tampered ciphertext", s, tamper(len(sealed) / 2), ad},
		{"tampered tag", s, tamper(len(sealed) - 1), ad},
		{"tampered nonce", s, tamper(1), ad},
		{"unknown version", s, tamper(0), ad},
		{"truncated", s, sealed[:10], ad},
		{"wrong ad", s, sealed, []byte("cam-2")},
		{"wrong key", other, sealed, ad},
	}
	for _, tc := range fails {
		t.Run(tc.name, func(t *testing.T) {
			if got, err := tc.s.Open(tc.sealed, tc.ad); err == nil {
				t.Fatalf("Open succeeded with %q", got)
			}
		})
	}
}

func TestNewBadKeyLength(t *testing.T) {
	for _, n := range []int{0, 16, 31, 33, 64} {
		if _, err := New(make([]byte, n)); err == nil {
			t.Errorf("New(%d-byte key) succeeded", n)
		}
	}
}

func TestParseKey(t *testing.T) {
	key := testKey(7)
	tests := []struct {
		name    string
		in      string
		wantErr bool
	}{
		{"std padded", base64.StdEncoding.EncodeToString(key), false},
		{"std raw", base64.RawStdEncoding.EncodeToString(key), false},
		{"url", base64.URLEncoding.EncodeToString(key), false},
		{"surrounding space", "  " + base64.StdEncoding.EncodeToString(key) + "\n", false},
		{"short key", base64.StdEncoding.EncodeToString(key[:16]), true},
		{"not base64", "not a key!", true},
		{"empty", "", true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParseKey(tc.in)
			if tc.wantErr {
				if err == nil {
					t.Fatalf("ParseKey succeeded: %x", got)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, key) {
				t.Fatalf("ParseKey = %x, want %x", got, key)
			}
		})
	}
}

func TestLoadOrCreateKey(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "secrets")
	path := filepath.Join(dir, "credentials.key")

	created, err := LoadOrCreateKey(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(created) != KeySize {
		t.Fatalf("created key is %d bytes", len(created))
	}
	if fi, err := os.Stat(path); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("key file mode = %v, %v; want 0600", fi.Mode().Perm(), err)
	}
	if fi, err := os.Stat(dir); err != nil || fi.Mode().Perm() != 0o700 {
		t.Fatalf("key dir mode = %v, %v; want 0700", fi.Mode().Perm(), err)
	}
	entries, err := os.ReadDir(dir)
	if err != nil || len(entries) != 1 {
		t.Fatalf("key dir holds %v, %v; want only the key", entries, err)
	}

	loaded, err := LoadOrCreateKey(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(loaded, created) {
		t.Fatal("second LoadOrCreateKey returned a different key")
	}

	bad := filepath.Join(dir, "bad.key")
	if err := os.WriteFile(bad, []byte("c2hvcnQ="), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadOrCreateKey(bad); err == nil {
		t.Fatal("LoadOrCreateKey accepted a 5-byte key file")
	}
}
