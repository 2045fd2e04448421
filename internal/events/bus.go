package events

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"argus"
)

// StreamName is the JetStream stream that holds every event.
const StreamName = "ARGUS_EVENTS"

// Defaults of Config.
const (
	DefaultRetention = 30 * 24 * time.Hour
	// DefaultMaxScan bounds the events one List reads; a listing whose
	// filter matches fewer returns a short page with Next set, to go on
	// from.
	DefaultMaxScan = 20000
)

// clockSlack is how far an event's own time may lie from the time the
// stream stored it: time bounds are widened by it when the stream is
// searched by time, and then applied to the events' own times.
const clockSlack = time.Minute

// ackSubjects selects every acknowledgement.
const ackSubjects = subjectPrefix + "*." + TypeAcknowledged

// Config configures a Bus.
type Config struct {
	// URL is an external NATS server (or a comma-separated list of a
	// cluster's) with JetStream; "" runs an embedded server in-process,
	// storing under Dir.
	URL string
	// Dir is the embedded server's JetStream store; required without URL.
	Dir string
	// Retention is how long events are kept (the stream's MaxAge); 0 means
	// DefaultRetention.
	Retention time.Duration
	// MaxScan bounds the events one List reads; 0 means DefaultMaxScan.
	MaxScan int
	// Logger receives the bus's and the embedded server's warnings and
	// errors; nil discards them.
	Logger *slog.Logger
}

// Bus publishes and reads events on NATS JetStream. It is safe for
// concurrent use.
type Bus struct {
	cfg    Config
	log    *slog.Logger
	srv    *server.Server // nil with an external server
	nc     *nats.Conn
	js     jetstream.JetStream
	stream jetstream.Stream
	acks   jetstream.ConsumeContext

	// ctx ends with Close, and with it every subscription; wg counts the
	// subscriptions' goroutines.
	ctx       context.Context
	cancel    context.CancelFunc
	wg        sync.WaitGroup
	closeOnce sync.Once

	// alerts is the index of unacknowledged alerts (alerts.go).
	alerts alerts

	// ackMu serialises acknowledgements on this node.
	ackMu sync.Mutex
	// mu guards acked: acknowledged event sequence → who and when.
	mu    sync.Mutex
	acked map[uint64]ackInfo
}

type ackInfo struct {
	by, note string
	at       time.Time
}

// Open starts the embedded server (or connects to the external one),
// creates or updates the stream, and loads the index of acknowledgements.
func Open(ctx context.Context, cfg Config) (*Bus, error) {
	if cfg.Retention == 0 {
		cfg.Retention = DefaultRetention
	}
	if cfg.MaxScan <= 0 {
		cfg.MaxScan = DefaultMaxScan
	}
	b := &Bus{cfg: cfg, log: cfg.Logger, acked: map[uint64]ackInfo{}}
	if b.log == nil {
		b.log = slog.New(slog.DiscardHandler)
	}
	b.ctx, b.cancel = context.WithCancel(context.Background())
	b.alerts.now, b.alerts.by = time.Now, make(map[string]map[uint64]time.Time)
	if err := b.open(ctx); err != nil {
		_ = b.Close()
		return nil, err
	}
	return b, nil
}

func (b *Bus) open(ctx context.Context) error {
	opts := []nats.Option{
		nats.Name("argus"),
		nats.MaxReconnects(-1),
		nats.DisconnectErrHandler(func(_ *nats.Conn, err error) {
			if err != nil {
				b.log.Warn("event bus disconnected", "err", err)
			}
		}),
		nats.ReconnectHandler(func(nc *nats.Conn) { b.log.Info("event bus reconnected", "server", nc.ConnectedUrlRedacted()) }),
	}
	url := b.cfg.URL
	if url == "" {
		if b.cfg.Dir == "" {
			return errors.New("events: an embedded server needs a directory")
		}
		srv, err := server.NewServer(&server.Options{
			ServerName: "argus", DontListen: true, JetStream: true, StoreDir: b.cfg.Dir, NoSigs: true,
		})
		if err != nil {
			return fmt.Errorf("events: embedded nats server: %w", err)
		}
		srv.SetLoggerV2(natsLogger{b.log.With("role", "nats")}, false, false, false)
		srv.Start()
		b.srv = srv
		if !srv.ReadyForConnections(30 * time.Second) {
			return errors.New("events: the embedded nats server did not start")
		}
		opts = append(opts, nats.InProcessServer(srv))
	}
	nc, err := nats.Connect(url, opts...)
	if err != nil {
		return fmt.Errorf("events: connect to nats %s: %w", redactURL(url), err)
	}
	b.nc = nc
	if b.js, err = jetstream.New(nc); err != nil {
		return fmt.Errorf("events: jetstream: %w", err)
	}
	b.stream, err = b.js.CreateOrUpdateStream(ctx, jetstream.StreamConfig{
		Name:        StreamName,
		Description: "argus events (docs/events.md)",
		Subjects:    []string{subjectPrefix + ">"},
		Storage:     jetstream.FileStorage,
		Retention:   jetstream.LimitsPolicy,
		MaxAge:      b.cfg.Retention,
		Discard:     jetstream.DiscardOld,
		Duplicates:  min(2*time.Minute, b.cfg.Retention),
	})
	if err != nil {
		return fmt.Errorf("events: stream %s: %w", StreamName, err)
	}
	if err := b.loadAcks(ctx); err != nil {
		return err
	}
	return b.loadAlerts(ctx)
}

// loadAcks starts the subscription that keeps the index of
// acknowledgements, and waits until it has read those stored so far.
func (b *Bus) loadAcks(ctx context.Context) error {
	var last uint64
	switch m, err := b.stream.GetLastMsgForSubject(ctx, ackSubjects); {
	case errors.Is(err, jetstream.ErrMsgNotFound):
	case err != nil:
		return fmt.Errorf("events: last acknowledgement: %w", err)
	default:
		last = m.Sequence
	}
	cons, err := b.stream.OrderedConsumer(ctx, jetstream.OrderedConsumerConfig{FilterSubjects: []string{ackSubjects}})
	if err != nil {
		return fmt.Errorf("events: acknowledgements: %w", err)
	}
	caughtUp := make(chan struct{})
	var once sync.Once
	if last == 0 {
		close(caughtUp)
	}
	b.acks, err = cons.Consume(func(m jetstream.Msg) {
		md, err := m.Metadata()
		if err != nil {
			return
		}
		if e, err := decode(md.Sequence.Stream, m.Data()); err == nil {
			b.noteAck(e)
		}
		if last != 0 && (md.Sequence.Stream >= last || md.NumPending == 0) {
			once.Do(func() { close(caughtUp) })
		}
	})
	if err != nil {
		return fmt.Errorf("events: acknowledgements: %w", err)
	}
	// The last acknowledgement may expire before it is read: then the
	// index is complete without it.
	timeout := time.NewTimer(30 * time.Second)
	defer timeout.Stop()
	select {
	case <-caughtUp:
	case <-timeout.C:
		b.log.Warn("the index of acknowledgements was not loaded within 30 s; loading on")
	case <-ctx.Done():
		return fmt.Errorf("events: load acknowledgements: %w", ctx.Err())
	}
	return nil
}

// noteAck records an alert.acknowledged event in the index.
func (b *Bus) noteAck(e Event) {
	id, _ := e.Data["event"].(string)
	seq, err := parseID(id)
	if err != nil {
		return
	}
	by, _ := e.Data["user"].(string)
	note, _ := e.Data["note"].(string)
	b.mu.Lock()
	if _, ok := b.acked[seq]; !ok {
		b.acked[seq] = ackInfo{by: by, note: note, at: e.Time}
	}
	b.mu.Unlock()
}

// mark sets e's acknowledgement from the index.
func (b *Bus) mark(seq uint64, e *Event) {
	b.mu.Lock()
	a, ok := b.acked[seq]
	b.mu.Unlock()
	if ok {
		e.AcknowledgedBy, e.AcknowledgedAt, e.AcknowledgedNote = a.by, a.at, a.note
	}
}

// Close ends the subscriptions and the connection, and stops the embedded
// server.
func (b *Bus) Close() error {
	b.closeOnce.Do(func() {
		b.cancel()
		if b.acks != nil {
			b.acks.Stop()
		}
		if b.alerts.cons != nil {
			b.alerts.cons.Stop()
		}
		b.wg.Wait()
		if b.nc != nil {
			b.nc.Close()
		}
		if b.srv != nil {
			b.srv.Shutdown()
			b.srv.WaitForShutdown()
		}
	})
	return nil
}

// Publish validates e, stores it (its ID and, when zero, its time set) and
// returns it once the stream has acknowledged it: a nil error means the
// event is stored.
func (b *Bus) Publish(ctx context.Context, e Event) (Event, error) {
	e, _, err := b.publish(ctx, e, "")
	return e, err
}

// publish stores e, with a message id for JetStream's duplicate detection
// when msgID is set; dup reports a duplicate, which is not stored again.
func (b *Bus) publish(ctx context.Context, e Event, msgID string) (_ Event, dup bool, err error) {
	if err := e.Validate(); err != nil {
		return e, false, err
	}
	if e.Time.IsZero() {
		e.Time = time.Now()
	}
	e.Time = e.Time.UTC()
	if e.Data == nil {
		e.Data = map[string]any{}
	}
	e.ID, e.AcknowledgedBy, e.AcknowledgedAt, e.AcknowledgedNote = "", "", time.Time{}, ""
	raw, err := json.Marshal(e)
	if err != nil {
		return e, false, fmt.Errorf("encode event: %w", err)
	}
	if len(raw) > MaxDataBytes+MaxMessageLen+1024 {
		return e, false, argus.FieldErrorf("data", "event data is larger than %d bytes", MaxDataBytes)
	}
	subj, err := Subject(e.CameraID, e.Type)
	if err != nil {
		return e, false, err
	}
	var opts []jetstream.PublishOpt
	if msgID != "" {
		opts = append(opts, jetstream.WithMsgID(msgID))
	}
	ack, err := b.js.Publish(ctx, subj, raw, opts...)
	if err != nil {
		return e, false, fmt.Errorf("publish event %s: %w", subj, err)
	}
	e.ID = FormatID(ack.Sequence)
	return e, ack.Duplicate, nil
}

// Get returns one event, marked if it is acknowledged; ENOTFOUND if the
// stream holds none with that id (any more).
func (b *Bus) Get(ctx context.Context, id string) (Event, error) {
	seq, err := parseID(id)
	if err != nil {
		return Event{}, argus.Errorf(argus.ENOTFOUND, "event %.32q not found", id)
	}
	m, err := b.stream.GetMsg(ctx, seq)
	if errors.Is(err, jetstream.ErrMsgNotFound) {
		return Event{}, argus.Errorf(argus.ENOTFOUND, "event %s not found", id)
	} else if err != nil {
		return Event{}, fmt.Errorf("get event %s: %w", id, err)
	}
	e, err := decode(seq, m.Data)
	if err != nil {
		return Event{}, err
	}
	b.mark(seq, &e)
	return e, nil
}

// Page is one page of a listing, newest first. Next, when set, is the
// Before of the following page.
type Page struct {
	Items []Event `json:"items"`
	Next  string  `json:"next"`
}

// List returns the events f selects, newest first, at most f.Limit, from
// before f.Before. It reads the stream backwards in growing windows and
// stops after Config.MaxScan events: a page may then be short, with Next
// set to go on from.
func (b *Bus) List(ctx context.Context, f Filter) (Page, error) {
	out := Page{Items: []Event{}}
	if err := f.Validate(); err != nil {
		return out, err
	}
	limit := f.Limit
	if limit == 0 {
		limit = DefaultLimit
	}
	info, err := b.stream.Info(ctx)
	if err != nil {
		return out, fmt.Errorf("list events: %w", err)
	}
	st := info.State
	if st.Msgs == 0 {
		return out, nil
	}
	lo, hi := st.FirstSeq, st.LastSeq+1 // the sequences [lo, hi) are searched
	if f.Before != "" {
		before, _ := parseID(f.Before)
		hi = min(hi, before)
	}
	if !f.From.IsZero() {
		seq, err := b.seqAt(ctx, f.From.Add(-clockSlack), st.LastSeq)
		if err != nil {
			return out, err
		}
		lo = max(lo, seq)
	}
	if !f.To.IsZero() {
		seq, err := b.seqAt(ctx, f.To.Add(clockSlack), st.LastSeq)
		if err != nil {
			return out, err
		}
		hi = min(hi, seq)
	}
	subject := f.subject()
	window, scanned := uint64(max(4*limit, 256)), 0
	for hi > lo && len(out.Items) < limit && scanned < b.cfg.MaxScan {
		from := lo
		if hi-lo > window {
			from = hi - window
		}
		var found []Event
		err := b.scan(ctx, subject, from, func(seq uint64, data []byte) bool {
			if seq >= hi {
				return false
			}
			scanned++
			if e, err := decode(seq, data); err == nil && f.Match(&e) {
				b.mark(seq, &e)
				found = append(found, e)
			}
			return true
		})
		if err != nil {
			return out, err
		}
		slices.Reverse(found)
		out.Items = append(out.Items, found...)
		hi = from
		window = min(2*window, 1<<16)
	}
	switch {
	case len(out.Items) > limit:
		out.Items = out.Items[:limit]
		out.Next = out.Items[limit-1].ID
	case hi > lo && len(out.Items) == limit:
		out.Next = out.Items[limit-1].ID
	case hi > lo:
		// The scan budget ran out before the page filled: the next page
		// goes on from where this one stopped.
		out.Next = FormatID(hi)
	}
	return out, nil
}

// Range returns the events f selects (f.From and f.To required), oldest
// first, at most MaxRange: a camera's events on its timeline.
func (b *Bus) Range(ctx context.Context, f Filter) ([]Event, error) {
	out := []Event{}
	if err := f.Validate(); err != nil {
		return out, err
	}
	if f.From.IsZero() || f.To.IsZero() {
		return out, argus.FieldErrorf("from", "a range of events needs from and to")
	}
	info, err := b.stream.Info(ctx)
	if err != nil {
		return out, fmt.Errorf("events of a range: %w", err)
	}
	if info.State.Msgs == 0 {
		return out, nil
	}
	start, err := b.seqAt(ctx, f.From.Add(-clockSlack), info.State.LastSeq)
	if err != nil || start > info.State.LastSeq {
		return out, err
	}
	end := f.To.Add(clockSlack)
	err = b.scanTimed(ctx, f.subject(), start, func(seq uint64, stored time.Time, data []byte) bool {
		if stored.After(end) {
			return false
		}
		if e, err := decode(seq, data); err == nil && f.Match(&e) {
			b.mark(seq, &e)
			out = append(out, e)
		}
		return len(out) < MaxRange
	})
	return out, err
}

// seqAt returns the sequence of the first event stored at or after t, or
// last+1 when there is none.
func (b *Bus) seqAt(ctx context.Context, t time.Time, last uint64) (uint64, error) {
	seq := last + 1
	err := b.consume(ctx, jetstream.ConsumerConfig{
		DeliverPolicy: jetstream.DeliverByStartTimePolicy, OptStartTime: &t, FilterSubjects: []string{subjectPrefix + ">"},
	}, 1, func(s uint64, _ time.Time, _ []byte) bool {
		seq = s
		return false
	})
	return seq, err
}

// scan calls fn with each event of subject from sequence start on, in
// order, until fn returns false or the stream ends.
func (b *Bus) scan(ctx context.Context, subject string, start uint64, fn func(seq uint64, data []byte) bool) error {
	return b.scanTimed(ctx, subject, start, func(seq uint64, _ time.Time, data []byte) bool { return fn(seq, data) })
}

func (b *Bus) scanTimed(ctx context.Context, subject string, start uint64, fn func(seq uint64, stored time.Time, data []byte) bool) error {
	return b.consume(ctx, jetstream.ConsumerConfig{
		DeliverPolicy: jetstream.DeliverByStartSequencePolicy, OptStartSeq: max(start, 1), FilterSubjects: []string{subject},
	}, 256, fn)
}

// consume reads the stream through a short-lived consumer of cfg, batch
// events at a time, until fn returns false or nothing is left.
func (b *Bus) consume(ctx context.Context, cfg jetstream.ConsumerConfig, batch int, fn func(seq uint64, stored time.Time, data []byte) bool) error {
	cfg.AckPolicy = jetstream.AckNonePolicy
	cfg.MemoryStorage = true
	cfg.InactiveThreshold = time.Minute
	c, err := b.stream.CreateConsumer(ctx, cfg)
	if err != nil {
		return fmt.Errorf("read events: %w", err)
	}
	defer func() {
		dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		_ = b.stream.DeleteConsumer(dctx, c.CachedInfo().Name)
	}()
	for {
		msgs, err := c.FetchNoWait(batch)
		if err != nil {
			return fmt.Errorf("read events: %w", err)
		}
		n := 0
		for m := range msgs.Messages() {
			n++
			md, err := m.Metadata()
			if err != nil {
				return fmt.Errorf("read events: %w", err)
			}
			if !fn(md.Sequence.Stream, md.Timestamp, m.Data()) || md.NumPending == 0 {
				for range msgs.Messages() { // let the batch finish
				}
				return nil
			}
		}
		if err := msgs.Error(); err != nil && !errors.Is(err, nats.ErrTimeout) {
			return fmt.Errorf("read events: %w", err)
		}
		if n == 0 {
			return ctx.Err()
		}
	}
}

// Subscribe returns the events f selects from the one after afterID on
// ("" for only those stored from now on), in order, the stored ones first
// and then live, until ctx ends or the bus closes; then the channel is
// closed. A slow reader holds the subscription back, never the bus.
func (b *Bus) Subscribe(ctx context.Context, f Filter, afterID string) (<-chan Event, error) {
	if err := f.Validate(); err != nil {
		return nil, err
	}
	var start uint64
	if afterID != "" {
		after, err := parseID(afterID)
		if err != nil {
			return nil, argus.FieldErrorf("last_event_id", "last event id %.32q is not an event id", afterID)
		}
		start = after + 1
	} else {
		// From the next sequence, so that an event stored once Subscribe
		// returns is delivered however soon the consumer starts.
		info, err := b.stream.Info(ctx)
		if err != nil {
			return nil, fmt.Errorf("subscribe to events: %w", err)
		}
		start = info.State.LastSeq + 1
	}
	cfg := jetstream.OrderedConsumerConfig{
		FilterSubjects: []string{f.subject()}, DeliverPolicy: jetstream.DeliverByStartSequencePolicy, OptStartSeq: start,
	}
	cons, err := b.stream.OrderedConsumer(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("subscribe to events: %w", err)
	}
	it, err := cons.Messages()
	if err != nil {
		return nil, fmt.Errorf("subscribe to events: %w", err)
	}
	ctx, cancel := context.WithCancel(ctx)
	stopOnClose := context.AfterFunc(b.ctx, cancel)
	stopIt := context.AfterFunc(ctx, it.Stop)
	ch := make(chan Event, 64)
	b.wg.Go(func() {
		defer close(ch)
		defer cancel()
		defer stopOnClose()
		defer stopIt()
		defer it.Stop()
		for {
			m, err := it.Next()
			if err != nil {
				if ctx.Err() == nil {
					b.log.Warn("event subscription ended", "err", err)
				}
				return
			}
			md, err := m.Metadata()
			if err != nil {
				continue
			}
			e, err := decode(md.Sequence.Stream, m.Data())
			if err != nil || !f.Match(&e) {
				continue
			}
			b.mark(md.Sequence.Stream, &e)
			select {
			case ch <- e:
			case <-ctx.Done():
				return
			}
		}
	})
	return ch, nil
}

// Ack acknowledges the event id for user (a username) with a note: it
// publishes an alert.acknowledged event on the same camera and returns the
// acknowledged event, marked. ENOTFOUND for an unknown event; ECONFLICT
// when it is acknowledged already; EINVALID for an acknowledgement itself.
func (b *Bus) Ack(ctx context.Context, id, user, note string) (Event, error) {
	b.ackMu.Lock()
	defer b.ackMu.Unlock()
	seq, err := parseID(id)
	if err != nil {
		return Event{}, argus.Errorf(argus.ENOTFOUND, "event %.32q not found", id)
	}
	e, err := b.Get(ctx, id)
	switch {
	case err != nil:
		return e, err
	case e.Type == TypeAcknowledged:
		return e, argus.Errorf(argus.EINVALID, "event %s is an acknowledgement: it cannot be acknowledged", id)
	case e.AcknowledgedBy != "" || !e.AcknowledgedAt.IsZero():
		return e, argus.Errorf(argus.ECONFLICT, "event %s was acknowledged by %s at %s", id, e.AcknowledgedBy, e.AcknowledgedAt.Format(time.RFC3339))
	}
	msg := fmt.Sprintf("%s acknowledged %s (event %s)", user, e.Type, id)
	if note != "" {
		msg += ": " + note
	}
	if len(msg) > MaxMessageLen {
		msg = msg[:MaxMessageLen]
	}
	ack, dup, err := b.publish(ctx, Event{
		Type: TypeAcknowledged, Severity: SeverityInfo, CameraID: e.CameraID, OrgID: e.OrgID, Message: strings.ToValidUTF8(msg, ""),
		Data: map[string]any{"event": id, "note": note, "user": user},
	}, "ack-"+id)
	if err != nil {
		return e, err
	}
	if dup {
		return e, argus.Errorf(argus.ECONFLICT, "event %s is acknowledged already", id)
	}
	b.noteAck(ack)
	b.alerts.note(0, ack)
	b.mark(seq, &e)
	return e, nil
}

// redactURL drops the passwords of a NATS URL list, for messages.
func redactURL(raw string) string {
	parts := strings.Split(raw, ",")
	for i, p := range parts {
		if u, err := url.Parse(strings.TrimSpace(p)); err == nil && u.User != nil {
			u.User = url.User(u.User.Username())
			parts[i] = u.String()
		}
	}
	return strings.Join(parts, ",")
}

// natsLogger passes the embedded server's log to slog, quietly: notices go
// to debug, warnings and errors stay.
type natsLogger struct{ log *slog.Logger }

func (l natsLogger) Noticef(format string, v ...any) { l.log.Debug(fmt.Sprintf(format, v...)) }
func (l natsLogger) Warnf(format string, v ...any)   { l.log.Warn(fmt.Sprintf(format, v...)) }
func (l natsLogger) Fatalf(format string, v ...any)  { l.log.Error(fmt.Sprintf(format, v...)) }
func (l natsLogger) Errorf(format string, v ...any)  { l.log.Error(fmt.Sprintf(format, v...)) }
func (l natsLogger) Debugf(format string, v ...any)  { l.log.Debug(fmt.Sprintf(format, v...)) }
func (l natsLogger) Tracef(string, ...any)           {}
