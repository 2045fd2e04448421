package evidence

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

func TestLoadOrCreateKeyCreatesOnceThenLoads(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data") // not there yet: created
	k1, err := LoadOrCreateKey(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(filepath.Join(dir, KeyFile))
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("key file mode %v, want 0600", fi.Mode().Perm())
	}
	if !regexp.MustCompile(`^[0-9a-f]{16}$`).MatchString(k1.ID) || k1.ID != KeyID(k1.Public) {
		t.Errorf("key id %q is not 16 hex digits of the public key's SHA-256", k1.ID)
	}
	k2, err := LoadOrCreateKey(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	if k2.ID != k1.ID || !k2.Public.Equal(k1.Public) {
		t.Fatalf("second start loaded key %s, want the one created first, %s", k2.ID, k1.ID)
	}
	msg := []byte("evidence")
	if !ed25519.Verify(k1.Public, msg, k2.Sign(msg)) {
		t.Fatal("the loaded key signs with a different private key than the created one")
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 1 {
		t.Errorf("data dir holds %d entries, want only %s (no temporary file left)", len(ents), KeyFile)
	}
}

func TestLoadOrCreateKeyRefusesBadFile(t *testing.T) {
	ecKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	ecDER, err := x509.MarshalPKCS8PrivateKey(ecKey)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		data []byte
	}{
		{"garbage", []byte("not a key at all\n")},
		{"empty", nil},
		{"wrong PEM type", pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: []byte{1, 2, 3}})},
		{"corrupt PKCS#8", pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: []byte{1, 2, 3}})},
		{"ECDSA key", pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: ecDER})},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, KeyFile)
			if err := os.WriteFile(path, tt.data, 0o600); err != nil {
				t.Fatal(err)
			}
			if k, err := LoadOrCreateKey(dir, nil); err == nil {
				t.Fatalf("loaded key %s from a bad file", k.ID)
			}
			got, err := os.ReadFile(path)
			if err != nil || !bytes.Equal(got, tt.data) {
				t.Fatalf("the bad key file was changed (err %v)", err)
			}
		})
	}
}

func TestLoadOrCreateKeyWarnsOnOpenPermissions(t *testing.T) {
	dir := t.TempDir()
	k1, err := LoadOrCreateKey(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(filepath.Join(dir, KeyFile), 0o644); err != nil {
		t.Fatal(err)
	}
	var logs bytes.Buffer
	k2, err := LoadOrCreateKey(dir, slog.New(slog.NewTextHandler(&logs, nil)))
	if err != nil {
		t.Fatalf("a group-readable key was refused: %v", err)
	}
	if k2.ID != k1.ID {
		t.Fatalf("loaded key %s, want %s", k2.ID, k1.ID)
	}
	if !strings.Contains(logs.String(), "level=WARN") || !strings.Contains(logs.String(), "readable by group or others") {
		t.Fatalf("no warning logged:\n%s", logs.String())
	}
}

func TestKeyInfo(t *testing.T) {
	k := testKey(1)
	got := k.Info("node-a")
	want := PublicKeyInfo{ID: k.ID, Algorithm: "ed25519", PublicKey: base64.StdEncoding.EncodeToString(k.Public), NodeID: "node-a"}
	if got != want {
		t.Fatalf("Info = %+v, want %+v", got, want)
	}
}

func TestParsePublicKeys(t *testing.T) {
	k1, k2 := testKey(1), testKey(2)
	der, err := x509.MarshalPKIXPublicKey(k1.Public)
	if err != nil {
		t.Fatal(err)
	}
	list, err := json.Marshal([]PublicKeyInfo{k1.Info("a"), k2.Info("b")})
	if err != nil {
		t.Fatal(err)
	}
	one, err := json.Marshal(k2.Info("b"))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		data string
		want []ed25519.PublicKey // nil: an error
	}{
		{"std base64", base64.StdEncoding.EncodeToString(k1.Public) + "\n", []ed25519.PublicKey{k1.Public}},
		{"raw url base64", base64.RawURLEncoding.EncodeToString(k1.Public), []ed25519.PublicKey{k1.Public}},
		{"PEM", string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})), []ed25519.PublicKey{k1.Public}},
		{"JSON object", string(one), []ed25519.PublicKey{k2.Public}},
		{"JSON array", string(list), []ed25519.PublicKey{k1.Public, k2.Public}},
		{"short key", base64.StdEncoding.EncodeToString(k1.Public[:31]), nil},
		{"not base64", "not a key!", nil},
		{"empty JSON array", "[]", nil},
		{"JSON with another algorithm", `{"id":"x","algorithm":"rsa","public_key":"` + base64.StdEncoding.EncodeToString(k1.Public) + `"}`, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParsePublicKeys([]byte(tt.data))
			if tt.want == nil {
				if err == nil {
					t.Fatalf("parsed %d keys, want an error", len(got))
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != len(tt.want) {
				t.Fatalf("parsed %d keys, want %d", len(got), len(tt.want))
			}
			for i := range got {
				if !got[i].Equal(tt.want[i]) {
					t.Errorf("key %d = %s, want %s", i, KeyID(got[i]), KeyID(tt.want[i]))
				}
			}
		})
	}
}

// testKey returns a key derived from a fixed seed, so signatures are
// reproducible.
func testKey(seed byte) *Key {
	return newKey(ed25519.NewKeyFromSeed(bytes.Repeat([]byte{seed}, ed25519.SeedSize)))
}
