//go:build darwin || linux || openbsd

package fsstore

import (
	"bytes"
	"testing"
)

// TestAdvance checks how writeAtv goes on after a short pwritev: the bytes
// written are dropped from the front, whole buffers and part of one, and
// the caller's slice of buffers is left as it was.
func TestAdvance(t *testing.T) {
	bufs := [][]byte{[]byte("ab"), nil, []byte("cde"), []byte("f")}
	for n := range 7 {
		t.Run(string(rune('0'+n)), func(t *testing.T) {
			orig := append([][]byte(nil), bufs...)
			got := bytes.Join(advance(bufs, n), nil)
			if want := []byte("abcdef")[n:]; !bytes.Equal(got, want) {
				t.Errorf("advance(%d) leaves %q, want %q", n, got, want)
			}
			for i := range bufs {
				if !bytes.Equal(bufs[i], orig[i]) {
					t.Errorf("advance(%d) changed the caller's buffer %d to %q", n, i, bufs[i])
				}
			}
		})
	}
}
