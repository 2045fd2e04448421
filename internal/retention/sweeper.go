package retention

import (
	"cmp"
	"container/heap"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"golang.org/x/sys/unix"

	"argus"
	"argus/internal/segment"
)

// Defaults for Config.
const (
	DefaultInterval = time.Minute
	// DefaultHorizon is how far back the first listing of a camera looks
	// for its oldest segment: the longest retention a camera may have.
	DefaultHorizon = argus.MaxRetentionDays * 24 * time.Hour
)

// Rule names the rule that deleted a segment, in the order a pass applies
// them.
type Rule string

// The rules.
const (
	RuleAge         Rule = "age"          // ended more than the camera's retention_days ago
	RuleCameraBytes Rule = "camera_bytes" // over the camera's retention_bytes
	RuleOrgBytes    Rule = "org_bytes"    // over its organisation's quota_bytes
	RulePressure    Rule = "pressure"     // free space below the floor
)

// Event types the sweeper raises.
const (
	// EventPressure is raised once per episode of free space below the
	// floor, after the pass that found it deleted what it could.
	EventPressure = "storage.pressure"
	// EventDeleted is raised once per camera and rule for each pass that
	// deleted segments of that camera by that rule.
	EventDeleted = "retention.deleted"
)

// Event is what the sweeper reports to the event bus.
type Event struct {
	Type string    `json:"type"`
	Time time.Time `json:"time"`
	// Camera and Rule: whose segments a retention.deleted event is about,
	// and why they went.
	Camera string `json:"camera,omitempty"`
	Rule   Rule   `json:"rule,omitempty"`
	// Segments and Bytes: what was deleted (for storage.pressure: by the
	// pass that found the pressure).
	Segments int   `json:"segments"`
	Bytes    int64 `json:"bytes"`
	// From and To span the deleted segments of a retention.deleted event.
	From time.Time `json:"from,omitzero"`
	To   time.Time `json:"to,omitzero"`
	// Free, Total and Floor describe the disk when the pressure was found;
	// FreeAfter once the pass had deleted what it could.
	Free      uint64 `json:"free,omitempty"`
	Total     uint64 `json:"total,omitempty"`
	Floor     uint64 `json:"floor,omitempty"`
	FreeAfter uint64 `json:"free_after,omitempty"`
}

// Directory is the part of the metadata store the sweeper reads: a camera's
// retention and owner, an organisation's quota. argus.Store implements it.
type Directory interface {
	Camera(ctx context.Context, id string) (*argus.Camera, error)
	Org(ctx context.Context, id string) (*argus.Org, error)
}

// Config configures a Sweeper.
type Config struct {
	// Segments is the segment store swept. Required.
	Segments segment.Store
	// Directory gives each camera's retention and each organisation's
	// quota. Required.
	Directory Directory
	// Holds gives the active evidence holds. Required.
	Holds argus.HoldStore
	// Root is a directory on the recordings' filesystem; the default
	// FreeSpace measures it. Required unless FreeSpace is set.
	Root string
	// FreeSpace returns the free and total bytes of the recordings'
	// storage; nil means statfs(2) of Root (the bytes available to an
	// unprivileged writer).
	FreeSpace func(ctx context.Context) (free, total uint64, err error)
	// Floor is the free space to keep; the zero Floor disables the
	// pressure rule.
	Floor Floor
	// Interval is how often Run sweeps; 0 means DefaultInterval.
	Interval time.Duration
	// Horizon is how far back the first listing of a camera looks; 0 means
	// DefaultHorizon.
	Horizon time.Duration
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// Logger receives deletions (debug), pass summaries and errors; nil
	// discards.
	Logger *slog.Logger
	// Events, when set, receives the sweeper's events, synchronously.
	Events func(Event)
	// Registerer receives the sweeper's metrics; nil means a private
	// registry.
	Registerer prometheus.Registerer
}

// Tally counts deleted segments and their bytes.
type Tally struct {
	Segments int   `json:"segments"`
	Bytes    int64 `json:"bytes"`
}

// Report says what one pass did.
type Report struct {
	// Cameras is the number of cameras with segments in the store.
	Cameras int `json:"cameras"`
	// Deleted counts the deletions by rule.
	Deleted map[Rule]Tally `json:"deleted"`
	// Held counts the segments a rule would have deleted but an active
	// hold covers. Each is counted in the pass that first meets it.
	Held int `json:"held"`
	// Errors counts the failures the pass logged and went past.
	Errors int `json:"errors"`
	// Free, Total and Floor describe the disk before the pressure rule,
	// FreeAfter after it; all zero when free space could not be measured.
	Free      uint64 `json:"free"`
	Total     uint64 `json:"total"`
	Floor     uint64 `json:"floor"`
	FreeAfter uint64 `json:"free_after"`
	// Pressure is true when free space was below the floor.
	Pressure bool `json:"pressure"`
}

// Sweeper enforces retention on one segment store. Sweep is one pass; Run
// sweeps at an interval. It is safe for concurrent use; passes run one at
// a time.
type Sweeper struct {
	segs      segment.Store
	dir       Directory
	holdStore argus.HoldStore
	freeSpace func(ctx context.Context) (uint64, uint64, error)
	floor     Floor
	interval  time.Duration
	horizon   time.Duration
	now       func() time.Time
	log       *slog.Logger
	events    func(Event)
	m         metrics

	// mu serialises passes and guards the fields below it.
	mu       sync.Mutex
	cams     map[string]*camState
	holds    map[string]*argus.Hold // the active holds at the last pass
	pressure bool                   // free space was below the floor at the last pass
}

// New returns a Sweeper for cfg.
func New(cfg Config) (*Sweeper, error) {
	if cfg.Segments == nil || cfg.Directory == nil || cfg.Holds == nil {
		return nil, errors.New("retention: config needs a segment store, a directory and a hold store")
	}
	if cfg.FreeSpace == nil && cfg.Root == "" {
		return nil, errors.New("retention: config needs a Root or a FreeSpace function")
	}
	s := &Sweeper{
		segs: cfg.Segments, dir: cfg.Directory, holdStore: cfg.Holds, freeSpace: cfg.FreeSpace,
		floor: cfg.Floor, interval: cmp.Or(cfg.Interval, DefaultInterval), horizon: cmp.Or(cfg.Horizon, DefaultHorizon),
		now: cfg.Now, log: cfg.Logger, events: cfg.Events,
		cams: map[string]*camState{}, holds: map[string]*argus.Hold{},
	}
	if s.freeSpace == nil {
		root := cfg.Root
		s.freeSpace = func(context.Context) (uint64, uint64, error) { return statfs(root) }
	}
	if s.now == nil {
		s.now = time.Now
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if s.events == nil {
		s.events = func(Event) {}
	}
	reg := cfg.Registerer
	if reg == nil {
		reg = prometheus.NewRegistry()
	}
	var err error
	if s.m, err = newMetrics(reg); err != nil {
		return nil, err
	}
	return s, nil
}

// statfs returns the bytes available to an unprivileged writer and the size
// of the filesystem that holds dir.
func statfs(dir string) (free, total uint64, err error) {
	var st unix.Statfs_t
	if err := unix.Statfs(dir, &st); err != nil {
		return 0, 0, fmt.Errorf("statfs %s: %w", dir, err)
	}
	return uint64(st.Bavail) * uint64(st.Bsize), uint64(st.Blocks) * uint64(st.Bsize), nil
}

// Run sweeps at once and then every Interval until ctx ends, and returns
// ctx's cause. A failed pass is logged; the next one tries again.
func (s *Sweeper) Run(ctx context.Context) error {
	t := time.NewTicker(s.interval)
	defer t.Stop()
	for {
		if _, err := s.Sweep(ctx); err != nil && ctx.Err() == nil {
			s.log.Error("retention pass failed", "err", err)
		}
		select {
		case <-ctx.Done():
			return context.Cause(ctx)
		case <-t.C:
		}
	}
}

// Sweep makes one pass: the age rule, then the camera and organisation
// byte quotas, then the free-space floor. It returns an error only when
// the pass could not start (the store's cameras or the active holds could
// not be read: nothing is deleted without knowing the holds) or ctx ended;
// a failure on one camera is logged, counted in the report and skipped.
func (s *Sweeper) Sweep(ctx context.Context) (Report, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	start := time.Now()
	p := &pass{s: s, now: s.now(), rep: Report{Deleted: map[Rule]Tally{}}, deleted: map[string]map[Rule]*Event{}}
	p.limit = p.now.Add(-settle)
	err := p.run(ctx)
	p.emitDeleted()
	s.m.duration.Observe(time.Since(start).Seconds())
	if err != nil {
		if ctx.Err() == nil {
			s.m.errors.WithLabelValues("pass").Inc()
		}
		return p.rep, err
	}
	if n := p.total(); n.Segments > 0 || p.rep.Errors > 0 {
		s.log.Info("retention pass", "cameras", p.rep.Cameras, "deleted_segments", n.Segments, "deleted_bytes", n.Bytes,
			"held", p.rep.Held, "errors", p.rep.Errors, "pressure", p.rep.Pressure, "free", p.rep.FreeAfter)
	}
	return p.rep, nil
}

// policy is a camera's retention as the directory says.
type policy struct {
	known bool // the directory answered; rules other than pressure apply
	days  int
	bytes int64
	org   string
}

// pass is the state of one Sweep.
type pass struct {
	s     *Sweeper
	now   time.Time
	limit time.Time // listings stop here (now - settle)
	rep   Report

	ids      []string                   // the store's cameras, sorted
	policies map[string]policy          // by camera
	held     map[string][]*argus.Hold   // active holds by camera
	deleted  map[string]map[Rule]*Event // retention.deleted events being summed
}

func (p *pass) total() Tally {
	var t Tally
	for _, d := range p.rep.Deleted {
		t.Segments += d.Segments
		t.Bytes += d.Bytes
	}
	return t
}

func (p *pass) run(ctx context.Context) error {
	s := p.s
	ids, err := s.segs.Cameras(ctx)
	if err != nil {
		return fmt.Errorf("list cameras: %w", err)
	}
	p.ids = ids
	slices.Sort(p.ids)
	p.rep.Cameras = len(ids)
	active, err := s.holdStore.Holds(ctx, argus.HoldFilter{ActiveOnly: true})
	if err != nil {
		return fmt.Errorf("read holds: %w", err)
	}

	// Forget cameras that left the store; index new ones from the horizon.
	present := make(map[string]bool, len(ids))
	for _, id := range ids {
		present[id] = true
		if c := s.cams[id]; c == nil {
			s.cams[id] = newCamState(id, p.now.Add(-s.horizon), p.now)
		} else {
			c.failed = false
		}
	}
	maps.DeleteFunc(s.cams, func(id string, _ *camState) bool { return !present[id] })
	p.applyHolds(active)
	for _, id := range ids {
		if c := s.cams[id]; p.now.Sub(c.scannedAt) >= rescanEvery {
			c.reset(p.rescanFrom(c), p.now)
		}
	}

	if err := p.loadPolicies(ctx); err != nil {
		return err
	}
	for _, step := range []func(context.Context) error{p.ageRule, p.cameraBytesRule, p.orgBytesRule, p.pressureRule} {
		if err := step(ctx); err != nil {
			return err
		}
	}
	return nil
}

// applyHolds takes the active holds of this pass. A camera whose holds
// changed is recounted (its un-held bytes changed); one that lost a hold is
// rewound to the start of the released range, whose segments its head has
// passed over.
func (p *pass) applyHolds(active []*argus.Hold) {
	s := p.s
	p.held = map[string][]*argus.Hold{}
	now := make(map[string]*argus.Hold, len(active))
	for _, h := range active {
		now[h.ID] = h
		p.held[h.CameraID] = append(p.held[h.CameraID], h)
		if _, known := s.holds[h.ID]; !known {
			if c := s.cams[h.CameraID]; c != nil {
				c.counted = false
			}
		}
	}
	for id, h := range s.holds {
		if _, still := now[id]; still {
			continue
		}
		if c := s.cams[h.CameraID]; c != nil {
			c.counted = false
			c.rewind(h.From.Add(-segment.MaxDuration))
		}
	}
	s.holds = now
}

// isHeld reports whether an active hold covers any part of r.
func (p *pass) isHeld(r segment.Ref) bool {
	for _, h := range p.held[r.Camera] {
		if h.Overlaps(r.Start, r.End()) {
			return true
		}
	}
	return false
}

// loadPolicies reads each camera's retention and owner. A camera that is
// not in the directory keeps only the pressure rule; one whose lookup fails
// is skipped by the other rules in this pass.
func (p *pass) loadPolicies(ctx context.Context) error {
	p.policies = make(map[string]policy, len(p.ids))
	for _, id := range p.ids {
		c, err := p.s.dir.Camera(ctx, id)
		switch {
		case ctx.Err() != nil:
			return ctx.Err()
		case argus.ErrorCode(err) == argus.ENOTFOUND:
			continue
		case err != nil:
			p.fail(nil, "directory", fmt.Errorf("camera %s: %w", id, err))
			continue
		}
		p.policies[id] = policy{known: true, days: c.RetentionDays, bytes: c.RetentionBytes, org: c.OrgID}
	}
	return nil
}

// fail logs and counts a failure; a camera's failure takes it out of the
// rest of the pass.
func (p *pass) fail(c *camState, op string, err error) {
	p.rep.Errors++
	p.s.m.errors.WithLabelValues(op).Inc()
	if c != nil {
		c.failed = true
		p.s.log.Warn("retention: skipping camera until the next pass", "camera", c.id, "op", op, "err", err)
		return
	}
	p.s.log.Warn("retention: operation failed", "op", op, "err", err)
}

// next returns the camera's oldest finished segment that is not held, as
// far as the camera's head knows, listing further when the head is empty.
// It skips (and reports) held segments, never returns a partial one and
// never looks past the start of one that may still be being written.
func (p *pass) next(ctx context.Context, c *camState) (segment.Ref, bool) {
	for !c.failed {
		for len(c.head) > 0 {
			r := c.head[0]
			if !p.isHeld(r) {
				return r, true
			}
			c.head = c.head[1:]
			p.rep.Held++
		}
		if !c.headEnd.Before(p.limit) {
			return segment.Ref{}, false
		}
		to := minTime(c.headEnd.Add(c.window), p.limit)
		refs, err := p.s.segs.List(ctx, c.id, c.headEnd, to)
		if err != nil {
			p.fail(c, "list", err)
			return segment.Ref{}, false
		}
		end := p.stop(refs, c.headEnd, to)
		for _, r := range refs {
			if r.Partial || r.Start.Before(c.headEnd) || !r.Start.Before(end) {
				continue
			}
			if len(c.head) == maxHead {
				end = r.Start
				break
			}
			c.head = append(c.head, r)
		}
		if !end.After(c.headEnd) {
			return segment.Ref{}, false // a segment being written starts here
		}
		c.headEnd = end
		if len(c.head) == 0 {
			c.window = min(2*c.window, maxWindow)
		} else {
			c.window = minWindow
		}
	}
	return segment.Ref{}, false
}

// stop returns where a listing of [from, to) may advance to: to, or the
// start of a partial segment in it that may still be being written (one
// that started less than segment.MaxDuration ago). Older partial segments
// are leftovers of a recorder that died, which Repair finishes.
func (p *pass) stop(refs []segment.Ref, from, to time.Time) time.Time {
	live := p.now.Add(-segment.MaxDuration - settle)
	for _, r := range refs {
		if r.Partial && !r.Start.Before(from) && r.Start.Before(to) && r.Start.After(live) {
			to = r.Start
		}
	}
	return to
}

// count brings the camera's count of un-held bytes up to date: from
// rescanFrom on the first call (and after a rescan or a change of the
// camera's holds), then only the segments finished since.
func (p *pass) count(ctx context.Context, c *camState) bool {
	if c.failed {
		return false
	}
	if !c.counted {
		c.counted, c.bytes, c.countedTo = true, 0, p.rescanFrom(c)
	}
	for w := countWindow; c.countedTo.Before(p.limit); {
		to := minTime(c.countedTo.Add(w), p.limit)
		refs, err := p.s.segs.List(ctx, c.id, c.countedTo, to)
		if err != nil {
			c.counted = false
			p.fail(c, "list", err)
			return false
		}
		end := p.stop(refs, c.countedTo, to)
		w = min(2*w, maxWindow)
		for _, r := range refs {
			if !r.Partial && !r.Start.Before(c.countedTo) && r.Start.Before(end) && !p.isHeld(r) {
				c.bytes += r.Size
				w = countWindow
			}
		}
		if !end.After(c.countedTo) {
			break
		}
		c.countedTo = end
	}
	return true
}

// rescanFrom is where a full listing of the camera starts: the front of its
// head, or earlier where an active hold keeps older segments, but not
// before the horizon.
func (p *pass) rescanFrom(c *camState) time.Time {
	from := c.front()
	for _, h := range p.held[c.id] {
		from = minTime(from, h.From.Add(-segment.MaxDuration))
	}
	return maxTime(from, p.now.Add(-p.s.horizon))
}

// remove deletes r, the camera's oldest segment, for rule. It reports
// whether r is gone (deleted now, or found gone already); on any other
// failure the camera is out of the pass and r stays at its head for the
// next one.
func (p *pass) remove(ctx context.Context, c *camState, r segment.Ref, rule Rule) bool {
	err := p.s.segs.Delete(ctx, r)
	switch {
	case argus.ErrorCode(err) == argus.ENOTFOUND:
		c.forget(r)
		return true
	case err != nil:
		p.fail(c, "delete", err)
		return false
	}
	c.forget(r)
	t := p.rep.Deleted[rule]
	t.Segments++
	t.Bytes += r.Size
	p.rep.Deleted[rule] = t
	p.s.m.segments.WithLabelValues(string(rule)).Inc()
	p.s.m.bytes.WithLabelValues(string(rule)).Add(float64(r.Size))
	p.s.log.Debug("retention: deleted segment", "camera", c.id, "rule", rule, "segment", r.Path(), "bytes", r.Size)
	byRule := p.deleted[c.id]
	if byRule == nil {
		byRule = map[Rule]*Event{}
		p.deleted[c.id] = byRule
	}
	e := byRule[rule]
	if e == nil {
		e = &Event{Type: EventDeleted, Camera: c.id, Rule: rule, From: r.Start, To: r.End()}
		byRule[rule] = e
	}
	e.Segments++
	e.Bytes += r.Size
	e.From, e.To = minTime(e.From, r.Start), maxTime(e.To, r.End())
	return true
}

// emitDeleted raises the pass's retention.deleted events, by camera and
// rule.
func (p *pass) emitDeleted() {
	for _, id := range slices.Sorted(maps.Keys(p.deleted)) {
		for _, rule := range []Rule{RuleAge, RuleCameraBytes, RuleOrgBytes, RulePressure} {
			if e := p.deleted[id][rule]; e != nil {
				e.Time = p.now
				p.s.events(*e)
			}
		}
	}
}

// ageRule deletes each camera's segments that ended more than its
// retention_days ago.
func (p *pass) ageRule(ctx context.Context) error {
	for _, id := range p.ids {
		pol, c := p.policies[id], p.s.cams[id]
		if !pol.known || pol.days <= 0 {
			continue
		}
		cutoff := p.now.Add(-time.Duration(pol.days) * 24 * time.Hour)
		for {
			if err := ctx.Err(); err != nil {
				return err
			}
			r, ok := p.next(ctx, c)
			if !ok || r.End().After(cutoff) || !p.remove(ctx, c, r, RuleAge) {
				break
			}
		}
	}
	return nil
}

// cameraBytesRule deletes each camera's oldest un-held segments while their
// bytes are over its retention_bytes.
func (p *pass) cameraBytesRule(ctx context.Context) error {
	for _, id := range p.ids {
		pol, c := p.policies[id], p.s.cams[id]
		if !pol.known || pol.bytes <= 0 || !p.count(ctx, c) {
			continue
		}
		for c.bytes > pol.bytes {
			if err := ctx.Err(); err != nil {
				return err
			}
			r, ok := p.next(ctx, c)
			if !ok || !p.remove(ctx, c, r, RuleCameraBytes) {
				break
			}
		}
	}
	return ctx.Err()
}

// orgBytesRule deletes the oldest un-held segments across an
// organisation's own cameras while their bytes are over its quota_bytes.
func (p *pass) orgBytesRule(ctx context.Context) error {
	members := map[string][]*camState{}
	for _, id := range p.ids {
		if pol := p.policies[id]; pol.known {
			members[pol.org] = append(members[pol.org], p.s.cams[id])
		}
	}
	for _, orgID := range slices.Sorted(maps.Keys(members)) {
		o, err := p.s.dir.Org(ctx, orgID)
		switch {
		case ctx.Err() != nil:
			return ctx.Err()
		case argus.ErrorCode(err) == argus.ENOTFOUND:
			continue
		case err != nil:
			p.fail(nil, "directory", fmt.Errorf("organisation %s: %w", orgID, err))
			continue
		case o.QuotaBytes <= 0:
			continue
		}
		var total int64
		counted := true
		for _, c := range members[orgID] {
			if !p.count(ctx, c) {
				counted = false // its bytes are unknown: leave the organisation for the next pass
				break
			}
			total += c.bytes
		}
		if !counted || total <= o.QuotaBytes {
			continue
		}
		p.oldestFirst(ctx, members[orgID], RuleOrgBytes,
			func() bool { return total <= o.QuotaBytes },
			func(r segment.Ref) { total -= r.Size })
	}
	return ctx.Err()
}

// pressureRule deletes the oldest un-held segments across every camera in
// the store while free space is below the floor, and raises
// storage.pressure once per episode.
func (p *pass) pressureRule(ctx context.Context) error {
	s := p.s
	free, total, err := s.freeSpace(ctx)
	if err != nil {
		p.fail(nil, "statfs", err)
		return nil
	}
	floor := s.floor.Of(total)
	p.rep.Free, p.rep.Total, p.rep.Floor, p.rep.FreeAfter = free, total, floor, free
	s.m.free.Set(float64(free))
	s.m.total.Set(float64(total))
	if free >= floor {
		if s.pressure {
			s.log.Info("storage pressure over: free space is above the floor", "free", free, "floor", floor)
		}
		s.pressure = false
		s.m.pressure.Set(0)
		return nil
	}
	episode := !s.pressure
	s.pressure, p.rep.Pressure = true, true
	s.m.pressure.Set(1)
	before := p.rep.Deleted[RulePressure]
	cams := make([]*camState, 0, len(p.ids))
	for _, id := range p.ids {
		cams = append(cams, s.cams[id])
	}
	p.oldestFirst(ctx, cams, RulePressure,
		func() bool { return p.rep.FreeAfter >= floor },
		func(r segment.Ref) {
			f, _, err := s.freeSpace(ctx)
			if err != nil {
				f = p.rep.FreeAfter + uint64(r.Size) // a fair estimate until the next pass measures
			}
			p.rep.FreeAfter = f
		})
	s.m.free.Set(float64(p.rep.FreeAfter))
	got := p.rep.Deleted[RulePressure]
	if p.rep.FreeAfter < floor {
		s.log.Error("storage pressure: free space is below the floor and nothing more may be deleted",
			"free", p.rep.FreeAfter, "floor", floor, "total", total, "deleted_segments", got.Segments-before.Segments)
	}
	if episode {
		s.log.Warn("storage pressure: free space fell below the floor", "free", free, "floor", floor, "total", total,
			"deleted_segments", got.Segments-before.Segments, "deleted_bytes", got.Bytes-before.Bytes, "free_after", p.rep.FreeAfter)
		s.events(Event{Type: EventPressure, Time: p.now, Segments: got.Segments - before.Segments, Bytes: got.Bytes - before.Bytes,
			Free: free, Total: total, Floor: floor, FreeAfter: p.rep.FreeAfter})
	}
	return ctx.Err()
}

// oldestFirst deletes segments of cams, the oldest first across all of
// them, until done reports true or nothing deletable is left; gone is told
// of each segment that went.
func (p *pass) oldestFirst(ctx context.Context, cams []*camState, rule Rule, done func() bool, gone func(segment.Ref)) {
	h := &oldest{}
	for _, c := range cams {
		if ctx.Err() != nil {
			return
		}
		if r, ok := p.next(ctx, c); ok {
			h.items = append(h.items, headRef{c, r})
		}
	}
	heap.Init(h)
	for h.Len() > 0 && !done() && ctx.Err() == nil {
		top := h.items[0]
		if !p.remove(ctx, top.cam, top.ref, rule) {
			heap.Pop(h)
			continue
		}
		gone(top.ref)
		if r, ok := p.next(ctx, top.cam); ok {
			h.items[0].ref = r
			heap.Fix(h, 0)
		} else {
			heap.Pop(h)
		}
	}
}

// headRef is one camera's oldest deletable segment in the oldest heap.
type headRef struct {
	cam *camState
	ref segment.Ref
}

// oldest is a min-heap of cameras by the start of their oldest segment.
type oldest struct{ items []headRef }

func (h *oldest) Len() int { return len(h.items) }
func (h *oldest) Less(i, j int) bool {
	if c := h.items[i].ref.Start.Compare(h.items[j].ref.Start); c != 0 {
		return c < 0
	}
	return h.items[i].cam.id < h.items[j].cam.id
}
func (h *oldest) Swap(i, j int) { h.items[i], h.items[j] = h.items[j], h.items[i] }
func (h *oldest) Push(x any)    { h.items = append(h.items, x.(headRef)) }
func (h *oldest) Pop() any {
	x := h.items[len(h.items)-1]
	h.items = h.items[:len(h.items)-1]
	return x
}

func minTime(a, b time.Time) time.Time {
	if b.Before(a) {
		return b
	}
	return a
}

func maxTime(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}

// metrics are the sweeper's Prometheus metrics.
type metrics struct {
	segments, bytes, errors *prometheus.CounterVec
	duration                prometheus.Histogram
	free, total, pressure   prometheus.Gauge
}

func newMetrics(reg prometheus.Registerer) (metrics, error) {
	m := metrics{
		segments: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "argus_retention_deleted_segments_total", Help: "Segments deleted by retention, by rule.",
		}, []string{"rule"}),
		bytes: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "argus_retention_deleted_bytes_total", Help: "Bytes of segments deleted by retention, by rule.",
		}, []string{"rule"}),
		errors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "argus_retention_errors_total", Help: "Failures retention logged and went past, by operation.",
		}, []string{"op"}),
		duration: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "argus_retention_pass_duration_seconds", Help: "Time one retention pass takes.",
			Buckets: prometheus.ExponentialBuckets(0.001, 4, 10),
		}),
		free: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "argus_storage_free_bytes", Help: "Free bytes of the recordings' storage at the last retention pass.",
		}),
		total: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "argus_storage_total_bytes", Help: "Size in bytes of the recordings' storage.",
		}),
		pressure: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "argus_storage_pressure", Help: "1 while free space is below the floor, else 0.",
		}),
	}
	for _, c := range []prometheus.Collector{m.segments, m.bytes, m.errors, m.duration, m.free, m.total, m.pressure} {
		if err := reg.Register(c); err != nil {
			return m, fmt.Errorf("retention: register metrics: %w", err)
		}
	}
	return m, nil
}
