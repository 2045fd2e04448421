package ingest

import "testing"

// TestFrameClass checks the size classes: every size gets a buffer at
// least as large, wasting at most 2 KiB below 32 KiB and an eighth above;
// classes are numbered densely in size order; sizes past 4 MiB are not
// pooled.
func TestFrameClass(t *testing.T) {
	lastClass, lastSize := -1, 0
	for n := 1; n <= largeMax; n += 97 {
		c, size, ok := frameClass(n)
		if !ok {
			t.Fatalf("frameClass(%d) not pooled", n)
		}
		if size < n || (n <= smallMax && size-n >= smallStep) || (n > smallMax && (size-n)*8 > size) {
			t.Fatalf("frameClass(%d) = size %d", n, size)
		}
		if c < lastClass || c > lastClass+1 || (c == lastClass) != (size == lastSize) {
			t.Fatalf("frameClass(%d) = class %d size %d after class %d size %d", n, c, size, lastClass, lastSize)
		}
		if c2, size2, _ := frameClass(size); c2 != c || size2 != size {
			t.Fatalf("a buffer of class %d (%d bytes) maps to class %d (%d bytes)", c, size, c2, size2)
		}
		lastClass, lastSize = c, size
	}
	if lastClass != framePoolSize-1 {
		t.Errorf("last class %d, want %d", lastClass, framePoolSize-1)
	}
	for _, n := range []int{0, -1, largeMax + 1} {
		if _, _, ok := frameClass(n); ok {
			t.Errorf("frameClass(%d) pooled", n)
		}
	}
}

// TestFramePoolReuse checks that get lends a buffer of the size asked for,
// and that put keeps only buffers of a class's exact size.
func TestFramePoolReuse(t *testing.T) {
	var p framePool
	b := p.get(10_000)
	if b == nil || len(*b) != 0 || cap(*b) < 10_000 {
		t.Fatalf("get(10000) = %v", b)
	}
	*b = append(*b, 1, 2, 3)
	p.put(b)
	if c := p.get(10_000); len(*c) != 0 {
		t.Errorf("a buffer lent again holds %d bytes, want none", len(*c))
	}
	if p.get(largeMax+1) != nil {
		t.Error("get lent a buffer larger than the largest class")
	}
	odd := make([]byte, 0, 10_001)
	p.put(&odd) // not a class size: dropped
	for range 100 {
		if c := p.get(10_001); cap(*c) == 10_001 {
			t.Fatal("put kept a buffer of no class size")
		}
	}
}
