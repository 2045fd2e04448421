package seiclock

import (
	"bytes"
	"encoding/hex"
	"testing"
	"time"
)

const uuidHex = "828c4b24fa5d4c1fbf5ecff3b9e0cd26"

func mustHex(tb testing.TB, s string) []byte {
	tb.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

func TestMarshalGolden(t *testing.T) {
	tests := []struct {
		name string
		nano int64
		want string
	}{
		{"plain", 0x0102030405060708, "060518" + uuidHex + "0102030405060708" + "80"},
		{"zeros need emulation prevention", 1, "060518" + uuidHex + "0000030000030000030001" + "80"},
		{"data three after zeros", 0x0000030000000000, "060518" + uuidHex + "0000030300000300000300" + "80"},
		{"negative", -1, "060518" + uuidHex + "ffffffffffffffff" + "80"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Marshal(time.Unix(0, tt.nano))
			if want := mustHex(t, tt.want); !bytes.Equal(got, want) {
				t.Fatalf("Marshal = %x, want %x", got, want)
			}
			if len(got) > MaxLen {
				t.Fatalf("len %d > MaxLen %d", len(got), MaxLen)
			}
			ts, ok := Parse(got)
			if !ok || ts.UnixNano() != tt.nano {
				t.Fatalf("Parse = %v, %v; want %d", ts.UnixNano(), ok, tt.nano)
			}
		})
	}
}

func TestRoundTripNoStartCodes(t *testing.T) {
	base := time.Date(2026, 11, 27, 8, 30, 0, 0, time.UTC).UnixNano()
	for i := range int64(5000) {
		// Walk values with many zero bytes as well as ordinary ones.
		n := base + i*7919
		if i%2 == 1 {
			n = i << (i % 56)
		}
		nalu := Marshal(time.Unix(0, n))
		for j := 0; j+2 < len(nalu); j++ {
			if nalu[j] == 0 && nalu[j+1] == 0 && nalu[j+2] <= 2 {
				t.Fatalf("%x: start-code-like sequence at %d in %x", n, j, nalu)
			}
		}
		got, ok := Parse(nalu)
		if !ok || got.UnixNano() != n {
			t.Fatalf("round trip of %d: got %d, %v", n, got.UnixNano(), ok)
		}
	}
}

func TestParse(t *testing.T) {
	stamp := "0518" + uuidHex + "0102030405060708"
	tests := []struct {
		name string
		nalu string
		want int64 // Unix nanoseconds; 0 means "not found"
	}{
		{"stamp", "06" + stamp + "80", 0x0102030405060708},
		{"without trailing bits", "06" + stamp, 0x0102030405060708},
		{"after another message", "06" + "0102aabb" + stamp + "80", 0x0102030405060708},
		{"after a foreign uuid", "06" + "0514" + "00112233445566778899aabbccddeeff" + "01020304" + stamp + "80", 0x0102030405060708},
		{"after an ff-extended type", "06" + "ff0102aabb" + stamp + "80", 0x0102030405060708},
		{"emulation prevented", "06" + "0518" + uuidHex + "0000030000030000030001" + "80", 1},
		{"empty", "", 0},
		{"header only", "06", 0},
		{"not SEI", "65" + stamp + "80", 0},
		{"forbidden bit", "86" + stamp + "80", 0},
		{"only trailing bits", "0680", 0},
		{"foreign uuid", "06" + "0518" + "00112233445566778899aabbccddeeff" + "0102030405060708" + "80", 0},
		{"other payload type", "06" + "0418" + uuidHex + "0102030405060708" + "80", 0},
		{"truncated stamp", "06" + "0518" + uuidHex + "01020304", 0},
		{"truncated uuid", "06" + "0518" + uuidHex[:10], 0},
		{"size too large for unit", "06" + "05ff" + uuidHex + "0102030405060708" + "80", 0},
		{"size too small for stamp", "06" + "0510" + uuidHex + "80", 0},
		{"size larger than stamp", "06" + "0519" + uuidHex + "010203040506070809" + "80", 0},
		{"truncated size", "0605", 0},
		{"unterminated ff type", "06ffff", 0},
		{"skip past end", "06" + "0120aa", 0},
		{"start code inside", "06" + "0518" + uuidHex + "0000010000000000" + "80", 0},
		{"three zeros inside", "06" + "0518" + uuidHex + "0000000000000000" + "80", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := Parse(mustHex(t, tt.nalu))
			if tt.want == 0 {
				if ok {
					t.Fatalf("Parse = %v, true; want not found", got)
				}
				return
			}
			if !ok || got.UnixNano() != tt.want {
				t.Fatalf("Parse = %d, %v; want %d, true", got.UnixNano(), ok, tt.want)
			}
		})
	}
}

func TestParseAccessUnit(t *testing.T) {
	now := time.Now()
	x264 := mustHex(t, "0605"+"08"+"00112233445566778899aabbccddeeff"[:16]+"80")
	au := [][]byte{{0x67, 0x64}, {0x68, 0xee}, {}, x264, Marshal(now), {0x65, 0x88, 0x84}}
	got, ok := ParseAccessUnit(au)
	if !ok || !got.Equal(time.Unix(0, now.UnixNano())) {
		t.Fatalf("ParseAccessUnit = %v, %v; want %v", got, ok, now)
	}
	if _, ok := ParseAccessUnit(au[:4]); ok {
		t.Fatal("ParseAccessUnit found a stamp in an access unit without one")
	}
}

func TestNoAllocs(t *testing.T) {
	now := time.Now()
	buf := make([]byte, 0, MaxLen)
	nalu := Marshal(now)
	allocs := testing.AllocsPerRun(100, func() {
		buf = Append(buf[:0], now)
		if _, ok := Parse(nalu); !ok {
			t.Fatal("Parse failed")
		}
	})
	if allocs != 0 {
		t.Fatalf("Append+Parse allocate %v times, want 0", allocs)
	}
}

func FuzzParse(f *testing.F) {
	f.Add(Marshal(time.Unix(0, 1)))
	f.Add(Marshal(time.Date(2026, 11, 27, 8, 30, 0, 0, time.UTC)))
	f.Add([]byte{0x06, 0x05, 0x18})
	f.Fuzz(func(t *testing.T, nalu []byte) {
		got, ok := Parse(nalu)
		if !ok {
			return
		}
		// Whatever parses must survive a round trip.
		again, ok := Parse(Marshal(got))
		if !ok || !again.Equal(got) {
			t.Fatalf("round trip of %v: got %v, %v", got, again, ok)
		}
	})
}

func BenchmarkAppend(b *testing.B) {
	buf := make([]byte, 0, MaxLen)
	now := time.Now()
	for b.Loop() {
		buf = Append(buf[:0], now)
	}
}

func BenchmarkParse(b *testing.B) {
	nalu := Marshal(time.Now())
	for b.Loop() {
		if _, ok := Parse(nalu); !ok {
			b.Fatal("Parse failed")
		}
	}
}
