package ingest

import (
	"fmt"

	"github.com/prometheus/client_golang/prometheus"
)

// metrics are node-wide totals; per-camera numbers are in Health, since a
// label per camera would mean 500,000 series.
type metrics struct {
	cameras    map[State]prometheus.Gauge
	reconnects prometheus.Counter
	bytes      prometheus.Counter
	frames     prometheus.Counter
}

func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	cameras := prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "argus_ingest_cameras",
		Help: "Cameras being ingested, by state.",
	}, []string{"state"})
	m := &metrics{
		cameras: make(map[State]prometheus.Gauge),
		reconnects: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "argus_ingest_reconnects_total",
			Help: "Connection attempts after a camera's first.",
		}),
		bytes: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "argus_ingest_bytes_total",
			Help: "Access-unit payload bytes written to the hub.",
		}),
		frames: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "argus_ingest_frames_total",
			Help: "Access units (video and audio frames) written to the hub.",
		}),
	}
	for _, s := range allStates() {
		m.cameras[s] = cameras.WithLabelValues(string(s))
	}
	if reg != nil {
		for _, c := range []prometheus.Collector{cameras, m.reconnects, m.bytes, m.frames} {
			if err := reg.Register(c); err != nil {
				return nil, fmt.Errorf("ingest: register metrics: %w", err)
			}
		}
	}
	return m, nil
}

// transition moves one camera between state gauges; "" is outside them.
func (m *metrics) transition(from, to State) {
	if g := m.cameras[from]; g != nil {
		g.Dec()
	}
	if g := m.cameras[to]; g != nil {
		g.Inc()
	}
}
