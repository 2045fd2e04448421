package events_test

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"

	"argus"
	"argus/internal/events"
)

// openBus opens a bus on an embedded server storing under dir (a new
// temporary directory when "").
func openBus(t *testing.T, cfg events.Config) *events.Bus {
	t.Helper()
	if cfg.URL == "" && cfg.Dir == "" {
		cfg.Dir = t.TempDir()
	}
	b, err := events.Open(t.Context(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	return b
}

func publish(t *testing.T, b *events.Bus, e events.Event) events.Event {
	t.Helper()
	got, err := b.Publish(t.Context(), e)
	if err != nil {
		t.Fatalf("publish %+v: %v", e, err)
	}
	if got.ID == "" {
		t.Fatalf("publish %+v: no id", e)
	}
	return got
}

func idsOf(es []events.Event) []string {
	out := []string{}
	for _, e := range es {
		out = append(out, e.ID)
	}
	return out
}

// fixture publishes a small history and returns it in publication order:
// cam-1 offline (warning), cam-1 online, cam.2 offline, node-wide
// storage.pressure (warning), cam-1 a critical fire, emergency on cam.2.
func fixture(t *testing.T, b *events.Bus, base time.Time) []events.Event {
	t.Helper()
	var out []events.Event
	for i, e := range []events.Event{
		{Type: events.TypeCameraOffline, Severity: events.SeverityWarning, CameraID: "cam-1", OrgID: "police", Message: "offline"},
		{Type: events.TypeCameraOnline, Severity: events.SeverityInfo, CameraID: "cam-1", OrgID: "police", Message: "online"},
		{Type: events.TypeCameraOffline, Severity: events.SeverityWarning, CameraID: "cam.2", OrgID: "fire", Message: "offline"},
		{Type: events.TypeStoragePressure, Severity: events.SeverityWarning, Message: "disk"},
		{Type: "fire.detected", Severity: events.SeverityCritical, CameraID: "cam-1", OrgID: "police", Message: "fire"},
		{Type: events.TypeEmergencyOpened, Severity: events.SeverityWarning, CameraID: "cam.2", OrgID: "fire", Message: "emergency"},
	} {
		e.Time = base.Add(time.Duration(i) * time.Second)
		out = append(out, publish(t, b, e))
	}
	return out
}

func TestListFilters(t *testing.T) {
	b := openBus(t, events.Config{})
	base := time.Now().UTC().Truncate(time.Millisecond)
	ev := fixture(t, b, base)
	ids := func(idx ...int) []string {
		out := []string{}
		for _, i := range idx {
			out = append(out, ev[i].ID)
		}
		return out
	}
	for _, tc := range []struct {
		name string
		f    events.Filter
		want []string
	}{
		{"everything, newest first", events.Filter{}, ids(5, 4, 3, 2, 1, 0)},
		{"one camera", events.Filter{CameraID: "cam-1"}, ids(4, 1, 0)},
		{"a camera with a dot", events.Filter{CameraID: "cam.2"}, ids(5, 2)},
		{"a camera that is a prefix of another's subject", events.Filter{CameraID: "cam"}, ids()},
		{"exact type", events.Filter{Type: events.TypeCameraOffline}, ids(2, 0)},
		{"type prefix", events.Filter{Type: "camera.*"}, ids(2, 1, 0)},
		{"type prefix inside a token", events.Filter{Type: "camera.off*"}, ids(2, 0)},
		{"severity is a minimum", events.Filter{Severity: events.SeverityWarning}, ids(5, 4, 3, 2, 0)},
		{"critical only", events.Filter{Severity: events.SeverityCritical}, ids(4)},
		{"time range", events.Filter{From: base.Add(time.Second), To: base.Add(3 * time.Second)}, ids(2, 1)},
		{"before an id", events.Filter{Before: ev[2].ID}, ids(1, 0)},
		{"camera and type", events.Filter{CameraID: "cam-1", Type: "camera.*"}, ids(1, 0)},
		{"keep", events.Filter{Keep: func(e *events.Event) bool { return e.OrgID == "fire" }}, ids(5, 2)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			page, err := b.List(t.Context(), tc.f)
			if err != nil {
				t.Fatal(err)
			}
			if got := idsOf(page.Items); !slices.Equal(got, tc.want) {
				t.Fatalf("ids = %v, want %v", got, tc.want)
			}
			if page.Next != "" {
				t.Fatalf("next = %q on the only page", page.Next)
			}
		})
	}
	got, err := b.Get(t.Context(), ev[2].ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.CameraID != "cam.2" || got.OrgID != "fire" || got.Type != events.TypeCameraOffline || !got.Time.Equal(ev[2].Time) || got.Data == nil {
		t.Fatalf("get = %+v, want %+v", got, ev[2])
	}
	if _, err := b.Get(t.Context(), "999"); argus.ErrorCode(err) != argus.ENOTFOUND {
		t.Fatalf("get of an unknown id: %v, want not found", err)
	}
}

func TestListPages(t *testing.T) {
	b := openBus(t, events.Config{})
	var want []string
	for i := range 23 {
		e := publish(t, b, events.Event{Type: events.TypeCameraOnline, Severity: events.SeverityInfo, CameraID: "cam-1", Message: "x"})
		if i%2 == 0 { // every other one is on another camera
			publish(t, b, events.Event{Type: events.TypeCameraOnline, Severity: events.SeverityInfo, CameraID: "cam-2", Message: "y"})
		}
		want = append([]string{e.ID}, want...)
	}
	var got []string
	f := events.Filter{CameraID: "cam-1", Limit: 5}
	for pages := 0; ; pages++ {
		if pages > 10 {
			t.Fatal("paging does not end")
		}
		page, err := b.List(t.Context(), f)
		if err != nil {
			t.Fatal(err)
		}
		if len(page.Items) > 5 {
			t.Fatalf("page of %d, limit 5", len(page.Items))
		}
		got = append(got, idsOf(page.Items)...)
		if page.Next == "" {
			break
		}
		f.Before = page.Next
	}
	if !slices.Equal(got, want) {
		t.Fatalf("pages = %v, want %v", got, want)
	}
}

// TestListScanBudget: a listing whose filter matches little stops after
// MaxScan events with a short page and a Next that goes on from there.
func TestListScanBudget(t *testing.T) {
	b := openBus(t, events.Config{MaxScan: 10})
	first := publish(t, b, events.Event{Type: events.TypeCameraOffline, Severity: events.SeverityWarning, CameraID: "cam-1"})
	for range 300 {
		publish(t, b, events.Event{Type: events.TypeCameraOnline, Severity: events.SeverityInfo, CameraID: "cam-1"})
	}
	f := events.Filter{Severity: events.SeverityWarning}
	var got []string
	for pages := 0; ; pages++ {
		if pages > 300 {
			t.Fatal("paging does not end")
		}
		page, err := b.List(t.Context(), f)
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, idsOf(page.Items)...)
		if page.Next == "" {
			break
		}
		if pages == 0 && len(page.Items) != 0 {
			t.Fatalf("first page %v: the budget should have run out before the match", idsOf(page.Items))
		}
		f.Before = page.Next
	}
	if !slices.Equal(got, []string{first.ID}) {
		t.Fatalf("found %v, want [%s]", got, first.ID)
	}
}

func TestRange(t *testing.T) {
	b := openBus(t, events.Config{})
	base := time.Now().UTC().Truncate(time.Millisecond)
	ev := fixture(t, b, base)
	got, err := b.Range(t.Context(), events.Filter{CameraID: "cam-1", From: base, To: base.Add(4500 * time.Millisecond)})
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{ev[0].ID, ev[1].ID, ev[4].ID}; !slices.Equal(idsOf(got), want) {
		t.Fatalf("range = %v, want %v (oldest first)", idsOf(got), want)
	}
}

func TestRetentionIsTheStreamMaxAge(t *testing.T) {
	b := openBus(t, events.Config{Retention: time.Second})
	e := publish(t, b, events.Event{Type: events.TypeCameraOnline, Severity: events.SeverityInfo, CameraID: "cam-1"})
	deadline := time.Now().Add(20 * time.Second)
	for {
		_, err := b.Get(t.Context(), e.ID)
		if argus.ErrorCode(err) == argus.ENOTFOUND {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if time.Now().After(deadline) {
			t.Fatal("the event outlived a retention of 1 s by 20 s")
		}
		time.Sleep(50 * time.Millisecond)
	}
	page, err := b.List(t.Context(), events.Filter{})
	if err != nil || len(page.Items) != 0 {
		t.Fatalf("list after expiry = %v, %v", idsOf(page.Items), err)
	}
}

func receive(t *testing.T, ch <-chan events.Event) events.Event {
	t.Helper()
	select {
	case e, ok := <-ch:
		if !ok {
			t.Fatal("subscription closed")
		}
		return e
	case <-time.After(10 * time.Second):
		t.Fatal("no event within 10 s")
	}
	return events.Event{}
}

func TestSubscribeReplaysThenGoesLive(t *testing.T) {
	b := openBus(t, events.Config{})
	off := events.Event{Type: events.TypeCameraOffline, Severity: events.SeverityWarning, CameraID: "cam-1"}
	e1, e2, e3 := publish(t, b, off), publish(t, b, off), publish(t, b, off)
	ctx, cancel := context.WithCancel(t.Context())
	ch, err := b.Subscribe(ctx, events.Filter{CameraID: "cam-1"}, e1.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got := receive(t, ch); got.ID != e2.ID {
		t.Fatalf("first replayed = %s, want %s", got.ID, e2.ID)
	}
	if got := receive(t, ch); got.ID != e3.ID {
		t.Fatalf("second replayed = %s, want %s", got.ID, e3.ID)
	}
	publish(t, b, events.Event{Type: events.TypeCameraOffline, Severity: events.SeverityWarning, CameraID: "cam-2"})
	e5 := publish(t, b, off)
	if got := receive(t, ch); got.ID != e5.ID {
		t.Fatalf("live = %s, want %s (the other camera's event filtered out)", got.ID, e5.ID)
	}
	cancel()
	for range ch { // closes once the context ends
	}

	// Without an id: only what is stored from now on.
	live, err := b.Subscribe(t.Context(), events.Filter{}, "")
	if err != nil {
		t.Fatal(err)
	}
	e6 := publish(t, b, off)
	if got := receive(t, live); got.ID != e6.ID {
		t.Fatalf("new subscription got %s first, want %s", got.ID, e6.ID)
	}
}

func TestSubjectsCannotBeInjected(t *testing.T) {
	b := openBus(t, events.Config{})
	for _, tc := range []struct {
		name  string
		e     events.Event
		field string
	}{
		{"wildcard camera", events.Event{Type: events.TypeCameraOnline, Severity: events.SeverityInfo, CameraID: "*"}, "camera_id"},
		{"full wildcard camera", events.Event{Type: events.TypeCameraOnline, Severity: events.SeverityInfo, CameraID: "a>"}, "camera_id"},
		{"space in camera", events.Event{Type: events.TypeCameraOnline, Severity: events.SeverityInfo, CameraID: "a b"}, "camera_id"},
		{"wildcard type", events.Event{Type: "camera.*", Severity: events.SeverityInfo, CameraID: "cam-1"}, "type"},
		{"tail type", events.Event{Type: ">", Severity: events.SeverityInfo}, "type"},
		{"empty token type", events.Event{Type: "camera..offline", Severity: events.SeverityInfo}, "type"},
		{"unknown severity", events.Event{Type: events.TypeCameraOnline, Severity: "loud"}, "severity"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := b.Publish(t.Context(), tc.e)
			if argus.ErrorCode(err) != argus.EINVALID || argus.ErrorField(err) != tc.field {
				t.Fatalf("publish = %v, want EINVALID on %s", err, tc.field)
			}
		})
	}
	for _, tc := range []struct{ camera, typ, want string }{
		{"cam-1", "camera.offline", "argus.events.cam-1.camera.offline"},
		{"cam.1", "camera.offline", "argus.events.cam%2E1.camera.offline"},
		{"", "storage.pressure", "argus.events._node.storage.pressure"},
	} {
		if got, err := events.Subject(tc.camera, tc.typ); err != nil || got != tc.want {
			t.Errorf("Subject(%q, %q) = %q, %v; want %q", tc.camera, tc.typ, got, err, tc.want)
		}
	}
	// A camera whose id looks like another camera's subject plus a type
	// stays apart from it.
	publish(t, b, events.Event{Type: "camera.offline", Severity: events.SeverityInfo, CameraID: "cam.camera"})
	page, err := b.List(t.Context(), events.Filter{CameraID: "cam"})
	if err != nil || len(page.Items) != 0 {
		t.Fatalf("events of camera cam = %v, %v; want none", idsOf(page.Items), err)
	}
	if _, err := b.List(t.Context(), events.Filter{CameraID: "cam.>"}); argus.ErrorCode(err) != argus.EINVALID {
		t.Fatalf("list with a wildcard camera: %v, want EINVALID", err)
	}
}

func TestAck(t *testing.T) {
	dir := t.TempDir()
	b := openBus(t, events.Config{Dir: dir})
	e := publish(t, b, events.Event{Type: events.TypeCameraOffline, Severity: events.SeverityWarning, CameraID: "cam-1", OrgID: "police"})
	got, err := b.Ack(t.Context(), e.ID, "alice", "on it")
	if err != nil {
		t.Fatal(err)
	}
	if got.AcknowledgedBy != "alice" || got.AcknowledgedAt.IsZero() || got.AcknowledgedNote != "on it" {
		t.Fatalf("ack = %+v, want acknowledged by alice with the note", got)
	}
	if _, err := b.Ack(t.Context(), e.ID, "bob", ""); argus.ErrorCode(err) != argus.ECONFLICT {
		t.Fatalf("second ack: %v, want ECONFLICT", err)
	}
	page, err := b.List(t.Context(), events.Filter{})
	if err != nil || len(page.Items) != 2 {
		t.Fatalf("list = %+v, %v", page, err)
	}
	ack, orig := page.Items[0], page.Items[1]
	if ack.Type != events.TypeAcknowledged || ack.CameraID != "cam-1" || ack.OrgID != "police" || ack.Data["event"] != e.ID || ack.Data["note"] != "on it" {
		t.Fatalf("acknowledgement event = %+v", ack)
	}
	if orig.AcknowledgedBy != "alice" {
		t.Fatalf("listed event not marked: %+v", orig)
	}
	if _, err := b.Ack(t.Context(), ack.ID, "bob", ""); argus.ErrorCode(err) != argus.EINVALID {
		t.Fatalf("ack of an acknowledgement: %v, want EINVALID", err)
	}
	if _, err := b.Ack(t.Context(), "424242", "bob", ""); argus.ErrorCode(err) != argus.ENOTFOUND {
		t.Fatalf("ack of an unknown event: %v, want ENOTFOUND", err)
	}

	// A new bus on the same store rebuilds the index from the stream.
	b.Close()
	b2 := openBus(t, events.Config{Dir: dir})
	again, err := b2.Get(t.Context(), e.ID)
	if err != nil || again.AcknowledgedBy != "alice" || !again.AcknowledgedAt.Equal(got.AcknowledgedAt) || again.AcknowledgedNote != "on it" {
		t.Fatalf("after reopening: %+v, %v", again, err)
	}
	if _, err := b2.Ack(t.Context(), e.ID, "bob", ""); argus.ErrorCode(err) != argus.ECONFLICT {
		t.Fatalf("ack after reopening: %v, want ECONFLICT", err)
	}
}

// TestExternalServer runs the bus against a NATS server over TCP, as a
// node of a city connects to its cluster.
func TestExternalServer(t *testing.T) {
	srv, err := server.NewServer(&server.Options{Host: "127.0.0.1", Port: -1, JetStream: true, StoreDir: t.TempDir(), NoSigs: true, NoLog: true})
	if err != nil {
		t.Fatal(err)
	}
	srv.Start()
	t.Cleanup(func() { srv.Shutdown(); srv.WaitForShutdown() })
	if !srv.ReadyForConnections(10 * time.Second) {
		t.Fatal("nats server not ready")
	}
	if !strings.HasPrefix(srv.ClientURL(), "nats://127.0.0.1:") {
		t.Fatalf("client URL %s is not on TCP loopback", srv.ClientURL())
	}
	b := openBus(t, events.Config{URL: srv.ClientURL(), Retention: 2 * time.Hour})
	e := publish(t, b, events.Event{Type: events.TypeCameraOffline, Severity: events.SeverityWarning, CameraID: "cam-1"})
	page, err := b.List(t.Context(), events.Filter{CameraID: "cam-1"})
	if err != nil || !slices.Equal(idsOf(page.Items), []string{e.ID}) {
		t.Fatalf("list = %v, %v", idsOf(page.Items), err)
	}
	// The stream is on the external server, with the retention asked for:
	// a client of its own, over TCP, sees it.
	nc, err := nats.Connect(srv.ClientURL())
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	st, err := js.Stream(t.Context(), events.StreamName)
	if err != nil {
		t.Fatal(err)
	}
	info, err := st.Info(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if info.Config.MaxAge != 2*time.Hour || !slices.Equal(info.Config.Subjects, []string{"argus.events.>"}) || info.State.Msgs != 1 {
		t.Fatalf("stream = %+v, %+v", info.Config, info.State)
	}
}

// gatedOrg is a directory lookup that tells when it is entered and
// answers once released.
type gatedOrg struct {
	entered chan string
	release chan struct{}
}

func TestQueueDropsWhenFull(t *testing.T) {
	b := openBus(t, events.Config{})
	reg := prometheus.NewRegistry()
	gate := gatedOrg{entered: make(chan string, 10), release: make(chan struct{})}
	q, err := events.NewQueue(events.QueueConfig{
		Bus: b, Size: 1, Registerer: reg,
		// The directory lookup holds the queue's goroutine until let go.
		OrgOf: func(ctx context.Context, camera string) (string, error) {
			gate.entered <- camera
			select {
			case <-gate.release:
				return "police", nil
			case <-ctx.Done():
				return "", ctx.Err()
			}
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	defer q.Close()
	ev := func(cam string) events.Event {
		return events.Event{Type: events.TypeCameraOffline, Severity: events.SeverityWarning, CameraID: cam}
	}
	if !q.Send(ev("cam-a")) {
		t.Fatal("the first event was not queued")
	}
	if got := <-gate.entered; got != "cam-a" {
		t.Fatalf("publishing %s, want cam-a", got)
	}
	if !q.Send(ev("cam-b")) {
		t.Fatal("the second event did not fit the queue of one")
	}
	if q.Send(ev("cam-c")) {
		t.Fatal("the third event was queued into a full queue")
	}
	if n := metricValue(t, reg, "argus_events_dropped_total"); n != 1 {
		t.Fatalf("argus_events_dropped_total = %v, want 1", n)
	}
	close(gate.release)
	q.Close()
	page, err := b.List(t.Context(), events.Filter{})
	if err != nil {
		t.Fatal(err)
	}
	var cams []string
	for _, e := range page.Items {
		if e.OrgID != "police" {
			t.Errorf("event %+v without the camera's organisation", e)
		}
		cams = append(cams, e.CameraID)
	}
	if !slices.Equal(cams, []string{"cam-b", "cam-a"}) {
		t.Fatalf("stored cameras = %v, want [cam-b cam-a]", cams)
	}
	if q.Send(ev("cam-d")) {
		t.Fatal("a closed queue took an event")
	}
}

// metricValue is the value of a registered counter.
func metricValue(t *testing.T, reg *prometheus.Registry, name string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() == name {
			return mf.GetMetric()[0].GetCounter().GetValue()
		}
	}
	t.Fatalf("metric %s not registered", name)
	return 0
}
