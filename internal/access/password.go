// Package access decides who may do what in argus: password hashing
// (argon2id), session and API tokens, sign-in, the bootstrap administrator,
// and the Gate that every API handler passes through.
//
// The Gate is the single authorisation decision point. It denies unless a
// rule allows, and hands every decision, allow and deny alike, to a Recorder
// (the tamper-evident audit log, or SlogRecorder until that exists).
package access

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"

	"golang.org/x/crypto/argon2"

	"argus"
)

// Password length limits for new passwords, in characters (runes) and bytes.
const (
	MinPasswordLen   = 12
	MaxPasswordBytes = 1024
)

// Argon2Params are the argon2id cost parameters used for new password hashes.
// Existing hashes carry their own parameters, so raising these later only
// affects passwords set afterwards.
type Argon2Params struct {
	MemoryKiB uint32 // memory in KiB (m)
	Time      uint32 // passes over the memory (t)
	Threads   uint8  // lanes (p)
}

// DefaultArgon2Params returns the second recommended option of RFC 9106
// (§4): argon2id with m=64 MiB, t=3, p=4, a 128-bit salt and a 256-bit tag.
// It suits a server: about 50–100 ms per hash on one modern core per lane,
// and a memory cost that makes GPU guessing expensive.
func DefaultArgon2Params() Argon2Params {
	return Argon2Params{MemoryKiB: 64 * 1024, Time: 3, Threads: 4}
}

const (
	saltLen = 16
	keyLen  = 32
	// Bounds on parameters read back from an encoded hash, so a corrupt or
	// hostile row cannot make a check allocate gigabytes or spin for minutes.
	maxMemoryKiB = 1 << 20 // 1 GiB
	maxTime      = 32
)

// ValidatePassword checks that pw is acceptable as a new password: at least
// MinPasswordLen characters and at most MaxPasswordBytes bytes of UTF-8. It
// returns an EINVALID *argus.Error naming the field "password".
func ValidatePassword(pw string) error {
	switch {
	case !utf8.ValidString(pw):
		return argus.FieldErrorf("password", "password is not valid UTF-8")
	case utf8.RuneCountInString(pw) < MinPasswordLen:
		return argus.FieldErrorf("password", "password must be at least %d characters", MinPasswordLen)
	case len(pw) > MaxPasswordBytes:
		return argus.FieldErrorf("password", "password is longer than %d bytes", MaxPasswordBytes)
	}
	return nil
}

// HashPassword validates pw as a new password and hashes it with
// DefaultArgon2Params.
func HashPassword(pw string) (string, error) {
	return DefaultArgon2Params().Hash(pw)
}

// Hash validates pw as a new password (see ValidatePassword) and returns its
// argon2id hash in the PHC string format
// "$argon2id$v=19$m=…,t=…,p=…$<salt>$<hash>" (unpadded standard base64).
func (p Argon2Params) Hash(pw string) (string, error) {
	if err := ValidatePassword(pw); err != nil {
		return "", err
	}
	if p.Time < 1 || p.Threads < 1 || p.MemoryKiB < 8*uint32(p.Threads) {
		return "", fmt.Errorf("argon2 parameters m=%d,t=%d,p=%d are too small", p.MemoryKiB, p.Time, p.Threads)
	}
	salt := make([]byte, saltLen)
	rand.Read(salt) // never fails since Go 1.24
	key := argon2.IDKey([]byte(pw), salt, p.Time, p.MemoryKiB, p.Threads, keyLen)
	b64 := base64.RawStdEncoding
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s",
		argon2.Version, p.MemoryKiB, p.Time, p.Threads, b64.EncodeToString(salt), b64.EncodeToString(key)), nil
}

// CheckPassword reports whether pw matches the encoded argon2id hash, using
// the parameters stored in it and a constant-time comparison. It returns an
// error only when encoded is malformed.
func CheckPassword(encoded, pw string) (bool, error) {
	p, salt, want, err := decodeHash(encoded)
	if err != nil {
		return false, err
	}
	got := argon2.IDKey([]byte(pw), salt, p.Time, p.MemoryKiB, p.Threads, uint32(len(want)))
	return subtle.ConstantTimeCompare(got, want) == 1, nil
}

var errBadHash = errors.New("malformed argon2id hash")

func decodeHash(encoded string) (p Argon2Params, salt, key []byte, err error) {
	parts := strings.Split(encoded, "$")
	if len(parts) != 6 || parts[0] != "" || parts[1] != "argon2id" || parts[2] != "v="+strconv.Itoa(argon2.Version) {
		return p, nil, nil, errBadHash
	}
	var m, t, threads uint64
	for kv := range strings.SplitSeq(parts[3], ",") {
		k, v, ok := strings.Cut(kv, "=")
		if !ok {
			return p, nil, nil, errBadHash
		}
		n, perr := strconv.ParseUint(v, 10, 32)
		if perr != nil {
			return p, nil, nil, fmt.Errorf("%w: %s: %w", errBadHash, k, perr)
		}
		switch k {
		case "m":
			m = n
		case "t":
			t = n
		case "p":
			threads = n
		default:
			return p, nil, nil, fmt.Errorf("%w: unknown parameter %q", errBadHash, k)
		}
	}
	if t < 1 || t > maxTime || threads < 1 || threads > 255 || m < 8*threads || m > maxMemoryKiB {
		return p, nil, nil, fmt.Errorf("%w: parameters m=%d,t=%d,p=%d out of range", errBadHash, m, t, threads)
	}
	b64 := base64.RawStdEncoding
	salt, err = b64.DecodeString(parts[4])
	if err != nil || len(salt) < 8 {
		return p, nil, nil, fmt.Errorf("%w: salt", errBadHash)
	}
	key, err = b64.DecodeString(parts[5])
	if err != nil || len(key) < 16 || len(key) > 64 {
		return p, nil, nil, fmt.Errorf("%w: hash", errBadHash)
	}
	return Argon2Params{MemoryKiB: uint32(m), Time: uint32(t), Threads: uint8(threads)}, salt, key, nil
}

// GeneratePassword returns a random 26-character password (128 bits of
// entropy, base32 alphabet), for the bootstrap administrator.
func GeneratePassword() string { return rand.Text() }
