// Package argus holds the shared nouns of the argus video management system:
// organisations, cameras, users, tokens, actions, geography, errors and the
// persistence contracts that the storage adapters implement.
//
// It imports only the standard library; capabilities live under internal/ and
// adapters are named for the dependency they wrap (internal/sqlite, …).
package argus

import (
	"crypto/rand"
	"encoding/base32"
	"regexp"
	"strings"
)

// idPattern is the shape of every user-visible identifier: organisations,
// cameras and users. It is safe in URLs, file paths and RTSP paths.
var idPattern = regexp.MustCompile(`^[a-z0-9][a-z0-9._-]{0,63}$`)

// ValidID reports whether s is a well-formed identifier: 1–64 characters of
// lower-case letters, digits, '.', '_' and '-', starting with a letter or digit.
func ValidID(s string) bool { return idPattern.MatchString(s) }

// NewID returns a random identifier with the given prefix, e.g. "cam-k3x9…".
func NewID(prefix string) string {
	var b [10]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic("argus: crypto/rand failed: " + err.Error())
	}
	return prefix + "-" + strings.ToLower(base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(b[:]))
}
