package clips

import (
	"reflect"
	"testing"
)

func TestSplitAnnexB(t *testing.T) {
	for _, tc := range []struct {
		name string
		in   []byte
		want [][]byte
	}{
		{"3- and 4-byte start codes", []byte{0, 0, 1, 0x67, 1, 0, 0, 0, 1, 0x68, 2, 0, 0, 1, 0x65, 3}, [][]byte{{0x67, 1}, {0x68, 2}, {0x65, 3}}},
		{"empty units dropped", []byte{0, 0, 1, 0, 0, 1, 0x09, 0xf0}, [][]byte{{0x09, 0xf0}}},
		{"no start code", []byte{0x67, 1, 2}, nil},
		{"empty", nil, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := SplitAnnexB(tc.in)
			if !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("SplitAnnexB = %x, want %x", got, tc.want)
			}
			for _, n := range got {
				if cap(n) != len(n) {
					t.Fatalf("unit %x has spare capacity %d", n, cap(n)-len(n))
				}
			}
		})
	}
}
