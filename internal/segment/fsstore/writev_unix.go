//go:build darwin || linux || openbsd

package fsstore

import (
	"errors"
	"io"
	"os"

	"golang.org/x/sys/unix"
)

// maxIovecs is how many buffers one pwritev takes (IOV_MAX).
const maxIovecs = 1024

// writeAtv writes the concatenation of bufs at off with pwritev, so that a
// recorder's frames go from their own buffers to the page cache without
// being copied into one first.
func writeAtv(f *os.File, bufs [][]byte, off int64) error {
	rc, err := f.SyscallConn()
	if err != nil {
		return err
	}
	var werr error
	err = rc.Write(func(fd uintptr) bool {
		for len(bufs) > 0 {
			n, err := unix.Pwritev(int(fd), bufs[:min(len(bufs), maxIovecs)], off)
			if errors.Is(err, unix.EINTR) {
				continue
			}
			if err != nil {
				werr = err
				return true
			}
			if n == 0 {
				werr = io.ErrShortWrite
				return true
			}
			off += int64(n)
			bufs = advance(bufs, n)
		}
		return true
	})
	return errors.Join(err, werr)
}

// advance drops the first n bytes of bufs, copying the slice of slices
// rather than changing the caller's when a buffer was written in part.
func advance(bufs [][]byte, n int) [][]byte {
	for len(bufs) > 0 && n >= len(bufs[0]) {
		n -= len(bufs[0])
		bufs = bufs[1:]
	}
	if n > 0 {
		bufs = append([][]byte{bufs[0][n:]}, bufs[1:]...)
	}
	return bufs
}
