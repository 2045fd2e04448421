package events

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Defaults of QueueConfig.
const (
	DefaultQueueSize      = 4096
	DefaultPublishTimeout = 5 * time.Second
	// dropLogInterval is the least time between two logs of dropped
	// events.
	dropLogInterval = time.Minute
)

// Publisher stores events; *Bus implements it.
type Publisher interface {
	Publish(ctx context.Context, e Event) (Event, error)
}

// QueueConfig configures a Queue.
type QueueConfig struct {
	// Bus is where the events go. Required.
	Bus Publisher
	// Size is how many events may wait; 0 means DefaultQueueSize.
	Size int
	// OrgOf, when set, names the organisation of a camera event that has
	// none (from the directory); it runs on the queue's goroutine.
	OrgOf func(ctx context.Context, cameraID string) (string, error)
	// Timeout bounds each publication; 0 means DefaultPublishTimeout.
	Timeout time.Duration
	// Logger receives failed publications and, at most once a minute,
	// the count of dropped events; nil discards them.
	Logger *slog.Logger
	// Registerer receives argus_events_dropped_total and
	// argus_events_published_total; nil registers none.
	Registerer prometheus.Registerer
}

// Queue publishes events without ever blocking its senders (the media
// path): Send puts an event in a bounded queue that one goroutine drains
// into the bus; when the queue is full, or the bus refuses, the event is
// dropped and counted.
type Queue struct {
	cfg       QueueConfig
	log       *slog.Logger
	ch        chan Event
	stop      chan struct{}
	done      chan struct{}
	closeOnce sync.Once
	dropped   prometheus.Counter
	published prometheus.Counter

	// mu guards the drop log's state.
	mu          sync.Mutex
	lastLog     time.Time
	sinceLogged int
}

// NewQueue starts a Queue; Close stops it.
func NewQueue(cfg QueueConfig) (*Queue, error) {
	if cfg.Bus == nil {
		return nil, errors.New("events: queue needs a bus")
	}
	if cfg.Size <= 0 {
		cfg.Size = DefaultQueueSize
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = DefaultPublishTimeout
	}
	q := &Queue{
		cfg: cfg, log: cfg.Logger, ch: make(chan Event, cfg.Size), stop: make(chan struct{}), done: make(chan struct{}),
		dropped: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "argus_events_dropped_total",
			Help: "Events dropped before reaching the bus: the queue was full, or the bus refused them.",
		}),
		published: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "argus_events_published_total",
			Help: "Events the queue published to the bus.",
		}),
	}
	if q.log == nil {
		q.log = slog.New(slog.DiscardHandler)
	}
	if cfg.Registerer != nil {
		for _, c := range []prometheus.Collector{q.dropped, q.published} {
			if err := cfg.Registerer.Register(c); err != nil {
				return nil, err
			}
		}
	}
	go q.run()
	return q, nil
}

// Send queues e for publication and reports whether it was queued; it
// never blocks. A full queue, or one that is closed, drops e.
func (q *Queue) Send(e Event) bool {
	select {
	case <-q.stop:
		q.drop(e, "the queue is closed")
		return false
	default:
	}
	select {
	case q.ch <- e:
		return true
	default:
		q.drop(e, "the queue is full")
		return false
	}
}

// drop counts a dropped event, and logs the drops at most once a minute.
func (q *Queue) drop(e Event, why string) {
	q.dropped.Inc()
	q.mu.Lock()
	q.sinceLogged++
	n, now := q.sinceLogged, time.Now()
	logIt := now.Sub(q.lastLog) >= dropLogInterval
	if logIt {
		q.lastLog, q.sinceLogged = now, 0
	}
	q.mu.Unlock()
	if logIt {
		q.log.Warn("events dropped", "count", n, "reason", why, "last_type", e.Type, "last_camera", e.CameraID)
	}
}

// run publishes queued events until Close, then what is still queued.
func (q *Queue) run() {
	defer close(q.done)
	for {
		select {
		case e := <-q.ch:
			q.publish(e)
		case <-q.stop:
			for {
				select {
				case e := <-q.ch:
					q.publish(e)
				default:
					return
				}
			}
		}
	}
}

func (q *Queue) publish(e Event) {
	ctx, cancel := context.WithTimeout(context.Background(), q.cfg.Timeout)
	defer cancel()
	if e.CameraID != "" && e.OrgID == "" && q.cfg.OrgOf != nil {
		org, err := q.cfg.OrgOf(ctx, e.CameraID)
		if err != nil {
			q.log.Debug("event without the camera's organisation", "camera", e.CameraID, "type", e.Type, "err", err)
		}
		e.OrgID = org
	}
	if _, err := q.cfg.Bus.Publish(ctx, e); err != nil {
		q.drop(e, "publish: "+err.Error())
		return
	}
	q.published.Inc()
}

// Close publishes what is queued (each publication bounded by
// QueueConfig.Timeout) and stops; later Sends drop their events.
func (q *Queue) Close() {
	q.closeOnce.Do(func() { close(q.stop) })
	<-q.done
}
