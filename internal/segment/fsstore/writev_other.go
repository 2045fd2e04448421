//go:build !(darwin || linux || openbsd)

package fsstore

import (
	"bytes"
	"os"
)

// writeAtv writes the concatenation of bufs at off.
func writeAtv(f *os.File, bufs [][]byte, off int64) error {
	_, err := f.WriteAt(bytes.Join(bufs, nil), off)
	return err
}
