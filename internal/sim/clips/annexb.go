package clips

import "bytes"

// SplitAnnexB returns the NAL units of an Annex-B byte stream (a clip, or a
// camera's access unit), without start codes and without the zero bytes
// before a 4-byte start code; empty units are dropped. The slices alias b
// and have no spare capacity, so appending to one never overwrites the next.
func SplitAnnexB(b []byte) [][]byte {
	var nalus [][]byte
	start := -1
	for i := 0; i+2 < len(b); {
		if b[i] != 0 || b[i+1] != 0 || b[i+2] != 1 {
			i++
			continue
		}
		if start >= 0 {
			nalus = appendNALU(nalus, b[start:i])
		}
		i += 3
		start = i
	}
	if start >= 0 {
		nalus = appendNALU(nalus, b[start:])
	}
	return nalus
}

func appendNALU(nalus [][]byte, n []byte) [][]byte {
	n = bytes.TrimRight(n, "\x00")
	if len(n) == 0 {
		return nalus
	}
	return append(nalus, n[:len(n):len(n)])
}
