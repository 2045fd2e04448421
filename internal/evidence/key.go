package evidence

import (
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"strings"
)

// KeyFile is the name of the node's signing key in the data directory.
const KeyFile = "node.key"

// Algorithm is the signature algorithm of every argus evidence key.
const Algorithm = "ed25519"

// Key is the node's Ed25519 signing key.
type Key struct {
	// ID names the key: lowercase hex of the first 8 bytes of the SHA-256 of
	// the public key.
	ID string
	// Public is the public half, published by GET /api/v1/keys.
	Public  ed25519.PublicKey
	private ed25519.PrivateKey
}

// PublicKeyInfo is what GET /api/v1/keys lists.
type PublicKeyInfo struct {
	ID        string `json:"id"`
	Algorithm string `json:"algorithm"`  // "ed25519"
	PublicKey string `json:"public_key"` // standard base64 of the 32 bytes
	NodeID    string `json:"node_id"`
}

// LoadOrCreateKey reads <dataDir>/node.key (PKCS#8 PEM "PRIVATE KEY") or, on
// first start, creates it: a new key written to a temporary file with mode
// 0600, synced, then published under its name with a hard link, which never
// replaces a file that is already there (a concurrent first start keeps the
// key that won). A file that exists but does not parse is an error and is
// never overwritten. A key file readable by group or others is accepted and
// logged as a warning on log (nil discards).
func LoadOrCreateKey(dataDir string, log *slog.Logger) (*Key, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	path := filepath.Join(dataDir, KeyFile)
	k, err := loadKey(path, log)
	if !errors.Is(err, fs.ErrNotExist) {
		return k, err
	}
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("create node key: %w", err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(priv)
	if err != nil {
		return nil, fmt.Errorf("create node key: %w", err)
	}
	if err := os.MkdirAll(dataDir, 0o700); err != nil {
		return nil, fmt.Errorf("create node key: %w", err)
	}
	tmp, err := writeTemp(dataDir, "."+KeyFile+"-*", pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), 0o600)
	if err != nil {
		return nil, fmt.Errorf("create node key: %w", err)
	}
	defer os.Remove(tmp)
	if err := os.Link(tmp, path); err != nil {
		if errors.Is(err, fs.ErrExist) {
			return loadKey(path, log) // another process created it first: use that one
		}
		return nil, fmt.Errorf("create node key: %w", err)
	}
	if err := syncDir(dataDir); err != nil {
		return nil, fmt.Errorf("create node key: %w", err)
	}
	k = newKey(priv)
	log.Info("created node signing key", "path", path, "key_id", k.ID)
	return k, nil
}

func loadKey(path string, log *slog.Logger) (*Key, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("read node key: %w", err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("read node key: %w", err)
	}
	if runtime.GOOS != "windows" && fi.Mode().Perm()&0o077 != 0 {
		log.Warn("node signing key is readable by group or others; chmod 600 it", "path", path, "mode", fi.Mode().Perm().String())
	}
	b, err := io.ReadAll(io.LimitReader(f, 64<<10))
	if err != nil {
		return nil, fmt.Errorf("read node key: %w", err)
	}
	block, _ := pem.Decode(b)
	if block == nil || block.Type != "PRIVATE KEY" {
		return nil, fmt.Errorf("node key %s: not a PEM \"PRIVATE KEY\" block (the file is left as it is)", path)
	}
	parsed, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		return nil, fmt.Errorf("node key %s: %w", path, err)
	}
	priv, ok := parsed.(ed25519.PrivateKey)
	if !ok {
		return nil, fmt.Errorf("node key %s: a %T, want an Ed25519 key", path, parsed)
	}
	return newKey(priv), nil
}

func newKey(priv ed25519.PrivateKey) *Key {
	pub := priv.Public().(ed25519.PublicKey)
	return &Key{ID: KeyID(pub), Public: pub, private: priv}
}

// KeyID returns the identifier of a public key: lowercase hex of the first 8
// bytes of its SHA-256.
func KeyID(pub ed25519.PublicKey) string {
	sum := sha256.Sum256(pub)
	return hex.EncodeToString(sum[:8])
}

// Sign returns the Ed25519 signature of msg.
func (k *Key) Sign(msg []byte) []byte {
	return ed25519.Sign(k.private, msg)
}

// Info returns the key as GET /api/v1/keys lists it, for the node nodeID.
func (k *Key) Info(nodeID string) PublicKeyInfo {
	return PublicKeyInfo{
		ID:        k.ID,
		Algorithm: Algorithm,
		PublicKey: base64.StdEncoding.EncodeToString(k.Public),
		NodeID:    nodeID,
	}
}

// ParsePublicKeys parses trusted public keys for VerifyOptions from data in
// any of these forms: the base64 of the 32 key bytes (standard or URL
// alphabet, padded or not), a PEM "PUBLIC KEY" block (PKIX), or JSON as GET
// /api/v1/keys answers it ({"keys": [...]}), one PublicKeyInfo or an array
// of them.
func ParsePublicKeys(data []byte) ([]ed25519.PublicKey, error) {
	s := strings.TrimSpace(string(data))
	switch {
	case strings.HasPrefix(s, "-----BEGIN"):
		block, _ := pem.Decode([]byte(s))
		if block == nil || block.Type != "PUBLIC KEY" {
			return nil, errors.New("not a PEM \"PUBLIC KEY\" block")
		}
		parsed, err := x509.ParsePKIXPublicKey(block.Bytes)
		if err != nil {
			return nil, fmt.Errorf("parse public key: %w", err)
		}
		pub, ok := parsed.(ed25519.PublicKey)
		if !ok {
			return nil, fmt.Errorf("a %T, want an Ed25519 key", parsed)
		}
		return []ed25519.PublicKey{pub}, nil
	case strings.HasPrefix(s, "{") || strings.HasPrefix(s, "["):
		var infos []PublicKeyInfo
		if s[0] == '{' {
			// GET /api/v1/keys answers {"keys": [...]}; one key alone is
			// accepted too.
			var list struct {
				Keys []PublicKeyInfo `json:"keys"`
			}
			if err := json.Unmarshal([]byte(s), &list); err != nil {
				return nil, fmt.Errorf("parse key JSON: %w", err)
			}
			infos = list.Keys
			if list.Keys == nil {
				infos = make([]PublicKeyInfo, 1)
				if err := json.Unmarshal([]byte(s), &infos[0]); err != nil {
					return nil, fmt.Errorf("parse key JSON: %w", err)
				}
			}
		} else if err := json.Unmarshal([]byte(s), &infos); err != nil {
			return nil, fmt.Errorf("parse key JSON: %w", err)
		}
		if len(infos) == 0 {
			return nil, errors.New("no keys in the JSON")
		}
		keys := make([]ed25519.PublicKey, 0, len(infos))
		for _, in := range infos {
			if in.Algorithm != Algorithm {
				return nil, fmt.Errorf("key %q: algorithm %q, want %q", in.ID, in.Algorithm, Algorithm)
			}
			pub, err := decodePublicKey(in.PublicKey)
			if err != nil {
				return nil, fmt.Errorf("key %q: %w", in.ID, err)
			}
			keys = append(keys, pub)
		}
		return keys, nil
	default:
		pub, err := decodePublicKey(s)
		if err != nil {
			return nil, err
		}
		return []ed25519.PublicKey{pub}, nil
	}
}

// decodePublicKey decodes the base64 of a 32-byte Ed25519 public key.
func decodePublicKey(s string) (ed25519.PublicKey, error) {
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		b, err := enc.DecodeString(s)
		if err != nil {
			continue
		}
		if len(b) != ed25519.PublicKeySize {
			return nil, fmt.Errorf("public key is %d bytes, want %d", len(b), ed25519.PublicKeySize)
		}
		return ed25519.PublicKey(b), nil
	}
	return nil, errors.New("public key is not valid base64")
}
