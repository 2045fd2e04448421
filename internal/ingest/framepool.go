package ingest

import (
	"math/bits"
	"sync"
)

// Size classes of framePool: steps of 2 KiB up to 32 KiB, then eight per
// power of two (at most 1/8 wasted) up to 4 MiB; larger frames are not
// pooled.
const (
	smallStep     = 2 << 10
	smallMax      = 32 << 10
	largeMax      = 4 << 20
	framePoolSize = smallMax/smallStep + 7*8 // 32K < n ≤ 4M: e = 16..22
)

// framePool lends the buffers of the frames the TCP path hands to the hub,
// in size classes, and takes one back when the hub's only reader is done
// with its frame (hub.Unit.Release): a camera that is only recorded then
// allocates nothing per frame, so the garbage collector has next to nothing
// to do and keeps no headroom of dead frames. Safe for concurrent use.
type framePool struct {
	classes [framePoolSize]sync.Pool
}

// frameClass returns the class of a buffer for n bytes and its size; ok is
// false for sizes not pooled.
func frameClass(n int) (class, size int, ok bool) {
	switch {
	case n <= 0 || n > largeMax:
		return 0, 0, false
	case n <= smallMax:
		c := (n + smallStep - 1) / smallStep
		return c - 1, c * smallStep, true
	}
	e := bits.Len(uint(n - 1)) // 2^(e-1) < n ≤ 2^e, e ≥ 16
	step := 1 << (e - 4)
	m := (n + step - 1) / step // 9..16
	return smallMax/smallStep + (e-16)*8 + m - 9, m * step, true
}

// get returns a buffer of length 0 and capacity at least n, or nil when n is
// too large to pool.
func (p *framePool) get(n int) *[]byte {
	c, size, ok := frameClass(n)
	if !ok {
		return nil
	}
	if b, ok := p.classes[c].Get().(*[]byte); ok {
		*b = (*b)[:0]
		return b
	}
	b := make([]byte, 0, size)
	return &b
}

// put takes back a buffer that get lent.
func (p *framePool) put(b *[]byte) {
	if c, size, ok := frameClass(cap(*b)); ok && size == cap(*b) {
		p.classes[c].Put(b)
	}
}
