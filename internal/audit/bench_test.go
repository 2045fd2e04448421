package audit_test

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"argus"
	"argus/internal/audit"
)

// BenchmarkAppend measures durable appends (synchronous=FULL: one fsync
// per group commit) with 1 and 64 concurrent appenders, in records/s.
func BenchmarkAppend(b *testing.B) {
	for _, appenders := range []int{1, 64} {
		b.Run(fmt.Sprintf("appenders=%d", appenders), func(b *testing.B) {
			l, _, _ := openLog(b, audit.Options{})
			d := decision("ann", "police", "cam-1", argus.ActionLive, time.Now())
			b.ResetTimer()
			var wg sync.WaitGroup
			per := b.N / appenders
			for w := range appenders {
				n := per
				if w == 0 {
					n += b.N % appenders
				}
				wg.Go(func() {
					for range n {
						if err := l.Record(b.Context(), d); err != nil {
							b.Error(err)
							return
						}
					}
				})
			}
			wg.Wait()
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "records/s")
		})
	}
}
