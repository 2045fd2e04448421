package events

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// AlertWindow is how long an unacknowledged alert keeps its camera
// alerting on the map; the event stays in the inbox after that.
const AlertWindow = 24 * time.Hour

// IsAlert reports whether e makes its camera alerting until it is
// acknowledged: a warning or critical event about a camera that is not a
// change of the camera's connection state (the map shows the state itself)
// nor an acknowledgement.
func IsAlert(e Event) bool {
	if e.CameraID == "" || e.Severity == SeverityInfo || e.Severity == "" {
		return false
	}
	switch e.Type {
	case TypeCameraOnline, TypeCameraOffline, TypeCameraStalled, TypeCameraUnauthorised, TypeCameraUnsupported, TypeAcknowledged:
		return false
	}
	return true
}

// alerts is the index of unacknowledged alerts of the last AlertWindow:
// camera → alert sequence → when.
type alerts struct {
	mu  sync.Mutex
	now func() time.Time
	by  map[string]map[uint64]time.Time
	// cons is the subscription that keeps the index.
	cons jetstream.ConsumeContext
}

// note adds an alert or removes an acknowledged one.
func (a *alerts) note(seq uint64, e Event) {
	a.mu.Lock()
	defer a.mu.Unlock()
	switch {
	case e.Type == TypeAcknowledged:
		id, _ := e.Data["event"].(string)
		if target, err := parseID(id); err == nil {
			a.removeLocked(e.CameraID, target)
		}
	case IsAlert(e) && a.now().Sub(e.Time) < AlertWindow:
		m := a.by[e.CameraID]
		if m == nil {
			m = make(map[uint64]time.Time)
			a.by[e.CameraID] = m
		}
		m[seq] = e.Time
	}
}

func (a *alerts) removeLocked(camera string, seq uint64) {
	if m := a.by[camera]; m != nil {
		delete(m, seq)
		if len(m) == 0 {
			delete(a.by, camera)
		}
	}
}

// alerting reports whether camera has an unacknowledged alert within the
// window, dropping those past it.
func (a *alerts) alerting(camera string) bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.pruneLocked(camera)
}

func (a *alerts) pruneLocked(camera string) bool {
	m := a.by[camera]
	cut := a.now().Add(-AlertWindow)
	for seq, t := range m {
		if t.Before(cut) {
			delete(m, seq)
		}
	}
	if len(m) == 0 {
		delete(a.by, camera)
		return false
	}
	return true
}

// cameras lists the alerting cameras, sorted.
func (a *alerts) cameras() []string {
	a.mu.Lock()
	defer a.mu.Unlock()
	var out []string
	for c := range a.by {
		if a.pruneLocked(c) {
			out = append(out, c)
		}
	}
	slices.Sort(out)
	return out
}

// loadAlerts starts the subscription that keeps the alert index, from the
// events of the last AlertWindow on.
func (b *Bus) loadAlerts(ctx context.Context) error {
	start := time.Now().Add(-AlertWindow)
	cons, err := b.stream.OrderedConsumer(ctx, jetstream.OrderedConsumerConfig{
		FilterSubjects: []string{subjectPrefix + ">"},
		DeliverPolicy:  jetstream.DeliverByStartTimePolicy,
		OptStartTime:   &start,
	})
	if err != nil {
		return fmt.Errorf("events: alerts: %w", err)
	}
	b.alerts.cons, err = cons.Consume(func(m jetstream.Msg) {
		md, err := m.Metadata()
		if err != nil {
			return
		}
		if e, err := decode(md.Sequence.Stream, m.Data()); err == nil {
			b.alerts.note(md.Sequence.Stream, e)
		}
	})
	if err != nil {
		return fmt.Errorf("events: alerts: %w", err)
	}
	return nil
}

// Alerting reports whether a camera has an unacknowledged alert (IsAlert)
// of the last AlertWindow.
func (b *Bus) Alerting(camera string) bool { return b.alerts.alerting(camera) }

// AlertingCameras lists the cameras Alerting reports, sorted.
func (b *Bus) AlertingCameras() []string { return b.alerts.cameras() }
