package hub

import (
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
)

// BenchmarkWriteUnit measures one source fanning units out to 1, 10 and 100
// readers, each in its own goroutine reading as fast as it can: the shape of
// a recorder plus live viewers. A real source is paced by the camera; here
// the writer yields whenever the readers fall more than half a queue behind,
// so none is dropped. ns/op is the cost of one WriteUnit with its handoffs
// to the readers; allocs/op must stay 0.
func BenchmarkWriteUnit(b *testing.B) {
	for _, n := range []int{1, 10, 100} {
		b.Run(fmt.Sprintf("readers=%d", n), func(b *testing.B) {
			const queueLen = 1 << 12
			h, src, _ := newHub(b, Config{QueueLen: queueLen})
			var wg sync.WaitGroup
			var consumed atomic.Int64
			for range n {
				r := attach(b, h, "cam-1", ReaderOptions{Name: "bench"})
				wg.Go(func() {
					for {
						if _, err := r.Read(b.Context()); err != nil {
							return
						}
						consumed.Add(1)
					}
				})
			}
			sink := src.next(b).sink
			sink.SetMedia(testMedia)
			units := gopUnits()
			for _, u := range units { // grow the GOP cache before measuring
				sink.WriteUnit(u)
			}
			b.ReportAllocs()
			i, written := 0, int64(len(units))
			for b.Loop() {
				sink.WriteUnit(units[i])
				if i++; i == len(units) {
					i = 0
				}
				written++
				for int64(n)*written-consumed.Load() > queueLen/2 {
					runtime.Gosched()
				}
			}
			b.StopTimer()
			if st, _ := h.Stats("cam-1"); st.Drops != 0 {
				b.Fatalf("%d readers dropped; raise QueueLen", st.Drops)
			}
			h.Close()
			wg.Wait()
		})
	}
}

// BenchmarkWriteUnitBatched is BenchmarkWriteUnit without the scheduler: the
// readers are drained in the benchmark's goroutine every 256 units, so ns/op
// is the hub's own cost of one WriteUnit plus one Read per reader.
func BenchmarkWriteUnitBatched(b *testing.B) {
	for _, n := range []int{1, 10, 100} {
		b.Run(fmt.Sprintf("readers=%d", n), func(b *testing.B) {
			h, src, _ := newHub(b, Config{QueueLen: 256})
			readers := make([]*Reader, n)
			for i := range readers {
				readers[i] = attach(b, h, "cam-1", ReaderOptions{Name: "bench", SkipGOP: true})
			}
			sink := src.next(b).sink
			sink.SetMedia(testMedia)
			units := gopUnits()
			for _, u := range units { // grow the GOP cache before measuring
				sink.WriteUnit(u)
			}
			for _, r := range readers {
				for range units {
					if _, err := r.Read(b.Context()); err != nil {
						b.Fatal(err)
					}
				}
			}
			b.ReportAllocs()
			i, queued := 0, 0
			for b.Loop() {
				sink.WriteUnit(units[i])
				if i++; i == len(units) {
					i = 0
				}
				if queued++; queued == 256 {
					for _, r := range readers {
						for range queued {
							if _, err := r.Read(b.Context()); err != nil {
								b.Fatal(err)
							}
						}
					}
					queued = 0
				}
			}
		})
	}
}
