package access

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"time"

	"argus"
)

// Recorder receives every decision the Gate makes, allow and deny alike,
// before the action takes effect. The tamper-evident audit log
// (internal/audit) implements it: Record returns once the decision is
// durable, and an error when it could not be written, which makes the Gate
// refuse the action.
type Recorder interface {
	Record(ctx context.Context, d argus.Decision) error
}

// SlogRecorder is a Recorder that logs each decision at info level.
type SlogRecorder struct {
	log *slog.Logger
}

// NewSlogRecorder returns a SlogRecorder writing to l (nil discards).
func NewSlogRecorder(l *slog.Logger) *SlogRecorder {
	if l == nil {
		l = slog.New(slog.DiscardHandler)
	}
	return &SlogRecorder{log: l}
}

// Record logs d; it never fails.
func (r *SlogRecorder) Record(ctx context.Context, d argus.Decision) error {
	// Live players ask many times a second; until the audit log records
	// decisions, allows go to debug and denies stay visible.
	// Decisions with a stated purpose (recorded video watched or
	// exported) are few and are what an auditor asks about: info too.
	level := slog.LevelDebug
	if !d.Allowed || d.Purpose != "" {
		level = slog.LevelInfo
	}
	attrs := []slog.Attr{
		slog.Bool("allowed", d.Allowed),
		slog.String("action", string(d.Action)),
		slog.String("reason", d.Reason),
		slog.String("user_id", d.Principal.UserID),
		slog.String("username", d.Principal.Username),
		slog.String("org_id", d.Principal.OrgID),
		slog.String("role", string(d.Principal.Role)),
		slog.String("token_id", d.Principal.TokenID),
		slog.String("resource_kind", d.Resource.Kind),
		slog.String("resource_id", d.Resource.ID),
		slog.String("resource_org_id", d.Resource.OrgID),
	}
	if d.Purpose != "" {
		attrs = append(attrs, slog.String("purpose", d.Purpose))
	}
	if d.Client != "" {
		attrs = append(attrs, slog.String("client", d.Client))
	}
	r.log.LogAttrs(ctx, level, "access decision", attrs...)
	return nil
}

// The reasons the Gate gives. Tests and audit readers rely on them verbatim.
const (
	ReasonAdmin         = "administrator may do everything"
	ReasonOwnOrg        = "role allows the action in the principal's organisation"
	ReasonDescendantOrg = "role allows the action in a descendant organisation"
	ReasonRole          = "role does not allow the action"
	ReasonScope         = "resource is outside the principal's organisations"
	ReasonNoPrincipal   = "no authenticated principal"
	ReasonOrgLookup     = "organisation lookup failed"
	ReasonTokenScope    = "the token's scope does not include the action"
	ReasonTokenCamera   = "the token's scope does not include the camera"
)

// DefaultOrgTTL is how long the Gate trusts its cached organisation tree when
// nothing invalidates it.
const DefaultOrgTTL = 10 * time.Second

// minOrgReload is the least time between two reloads of the organisation tree
// caused by an organisation the cache does not know.
const minOrgReload = time.Second

// GateConfig configures a Gate.
type GateConfig struct {
	// Orgs is where the organisation tree is read from. Required.
	Orgs argus.OrgStore
	// Recorder receives every decision. Required: pass NewSlogRecorder(l)
	// until the audit log exists.
	Recorder Recorder
	// OrgTTL bounds how stale the cached organisation tree may be when
	// another node changes it; 0 means DefaultOrgTTL. Local changes call
	// InvalidateOrgs.
	OrgTTL time.Duration
	// Shares is where shares are read from; nil means the Gate allows
	// nothing through shares.
	Shares argus.ShareStore
	// ShareTTL bounds how stale the cached shares may be when another node
	// grants or revokes one; 0 means DefaultShareTTL. Local changes call
	// InvalidateShares.
	ShareTTL time.Duration
	// Emergencies is where emergency grants are read from; nil means the
	// Gate allows nothing through emergency grants.
	Emergencies argus.EmergencyStore
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

// Gate is the one authorisation decision point: every handler asks it before
// acting. It is safe for concurrent use.
type Gate struct {
	orgs argus.OrgStore
	rec  Recorder
	ttl  time.Duration
	now  func() time.Time

	// mu guards tree, which is replaced wholesale on reload. It is held
	// during a reload so that concurrent requests share one.
	mu   sync.Mutex
	tree *orgTree

	shares      shareCache
	emergencies emergencyCache
}

// orgTree is a snapshot of the organisation hierarchy.
type orgTree struct {
	parent   map[string]string   // org id → parent id ("" for a root)
	children map[string][]string // org id → child ids
	loaded   time.Time
}

// NewGate returns a Gate.
func NewGate(cfg GateConfig) (*Gate, error) {
	if cfg.Orgs == nil || cfg.Recorder == nil {
		return nil, fmt.Errorf("access: gate needs an org store and a recorder")
	}
	g := &Gate{orgs: cfg.Orgs, rec: cfg.Recorder, ttl: cfg.OrgTTL, now: cfg.Now}
	if g.ttl <= 0 {
		g.ttl = DefaultOrgTTL
	}
	g.shares.store, g.shares.ttl = cfg.Shares, cfg.ShareTTL
	if g.shares.ttl <= 0 {
		g.shares.ttl = DefaultShareTTL
	}
	g.emergencies.store, g.emergencies.ttl = cfg.Emergencies, g.shares.ttl
	if g.now == nil {
		g.now = time.Now
	}
	return g, nil
}

// RoleAllows reports whether role may take action anywhere at all: an
// administrator every action, the other roles what roleAllows says. A
// scoped token may be given only such actions.
func RoleAllows(role argus.Role, action argus.Action) bool {
	if role == argus.RoleAdmin {
		return action.Valid()
	}
	return roleAllows(role, action)
}

// tokenScope applies the scope of the token p acts through, before any
// other rule: "" when the scope lets action on res through (or there is
// none), else the reason it does not. A narrowing to cameras lets through
// only camera resources that name a camera in it: a question about no
// camera in particular (a listing, an import) is outside it.
func tokenScope(p argus.Principal, action argus.Action, res argus.Resource) string {
	if len(p.Scopes) > 0 && !slices.Contains(p.Scopes, action) {
		return ReasonTokenScope
	}
	if (len(p.CameraIDs) == 0 && len(p.Tags) == 0) || res.Kind != "camera" {
		return ""
	}
	if res.ID != "" && slices.Contains(p.CameraIDs, res.ID) {
		return ""
	}
	if res.ID != "" && slices.ContainsFunc(res.Tags, func(t string) bool { return slices.Contains(p.Tags, t) }) {
		return ""
	}
	return ReasonTokenCamera
}

// roleAllows reports whether role may take action at all, before scope. The
// admin role is handled apart: it may do everything everywhere.
func roleAllows(role argus.Role, action argus.Action) bool {
	switch action {
	case argus.ActionViewDirectory:
		return role == argus.RoleViewer || role == argus.RoleOperator || role == argus.RoleInvestigator ||
			role == argus.RoleOrgAdmin || role == argus.RoleAuditor
	case argus.ActionLive:
		return role == argus.RoleViewer || role == argus.RoleOperator || role == argus.RoleInvestigator ||
			role == argus.RoleOrgAdmin
	case argus.ActionPTZ:
		return role == argus.RoleOperator || role == argus.RoleInvestigator || role == argus.RoleOrgAdmin
	case argus.ActionPlayback, argus.ActionExport:
		return role == argus.RoleInvestigator || role == argus.RoleOrgAdmin
	case argus.ActionManageCamera, argus.ActionManageUser, argus.ActionManageOrg:
		return role == argus.RoleOrgAdmin
	case argus.ActionViewAudit:
		return role == argus.RoleOrgAdmin || role == argus.RoleAuditor
	case argus.ActionHoldView:
		return role == argus.RoleInvestigator || role == argus.RoleOrgAdmin || role == argus.RoleAuditor
	case argus.ActionHoldPlace:
		return role == argus.RoleInvestigator || role == argus.RoleOrgAdmin
	case argus.ActionHoldRelease, argus.ActionManageShare:
		return role == argus.RoleOrgAdmin
	case argus.ActionEmergency:
		return role == argus.RoleOperator || role == argus.RoleInvestigator || role == argus.RoleOrgAdmin
	}
	return false
}

// scopeOrg returns the organisation whose place in the tree decides res. For
// cameras and users it is the owner (res.OrgID). An organisation resource
// carries its own id in ID and its parent in OrgID: viewing it is decided by
// the organisation itself, managing it by its parent, so an org admin manages
// the organisations below their own but neither their own nor its parent.
func scopeOrg(action argus.Action, res argus.Resource) string {
	if res.Kind == "org" && action != argus.ActionManageOrg {
		return res.ID
	}
	return res.OrgID
}

// Can decides whether p may take action on res, records the decision and
// returns it. It denies unless a rule allows, and when the decision cannot
// be recorded.
func (g *Gate) Can(ctx context.Context, p argus.Principal, action argus.Action, res argus.Resource) argus.Decision {
	d, _ := g.decide(ctx, p, action, res, argus.Intent{})
	return d
}

// Check is Can for handlers: nil when allowed, an EFORBIDDEN *argus.Error when
// denied, a wrapped internal error when the decision could not be made
// (which is recorded as a deny), and an EUNAVAILABLE *argus.Error when the
// decision could not be recorded (the action is refused).
func (g *Gate) Check(ctx context.Context, p argus.Principal, action argus.Action, res argus.Resource) error {
	return g.CheckFor(ctx, p, action, res, argus.Intent{})
}

// CheckFor is Check of an action the principal says more about: why
// (recorded video watched or exported, an emergency) and which recorded
// video; the decision records it.
func (g *Gate) CheckFor(ctx context.Context, p argus.Principal, action argus.Action, res argus.Resource, in argus.Intent) error {
	d, err := g.decide(ctx, p, action, res, in)
	switch {
	case err != nil:
		return err
	case !d.Allowed:
		return argus.Errorf(argus.EFORBIDDEN, "%s is not allowed: %s", action, d.Reason)
	}
	return nil
}

// ReasonUnrecorded replaces the reason of a decision that could not be
// recorded: the action is refused whatever the rules said.
const ReasonUnrecorded = "the audit log cannot be written"

// decide applies the rules and records the decision before the caller acts
// on it; a decision that cannot be recorded is a refusal.
func (g *Gate) decide(ctx context.Context, p argus.Principal, action argus.Action, res argus.Resource, in argus.Intent) (argus.Decision, error) {
	d := argus.Decision{
		Principal: p, Action: action, Resource: res, Purpose: in.Purpose, From: in.From, To: in.To,
		Time: g.now(), Client: ClientFrom(ctx),
	}
	var err error
	d.Allowed, d.Reason, d.Grant, err = g.rules(ctx, p, action, res)
	// Opening and using emergency access is reviewed afterwards.
	d.Review = d.Allowed && (action == argus.ActionEmergency || strings.HasPrefix(d.Grant, grantEmergency))
	if rerr := g.rec.Record(ctx, d); rerr != nil {
		d.Allowed, d.Reason = false, ReasonUnrecorded
		return d, fmt.Errorf("%w: %w", argus.Errorf(argus.EUNAVAILABLE, "the audit log cannot be written; action refused"), rerr)
	}
	return d, err
}

// rules applies the access rules in order; the first that answers wins.
func (g *Gate) rules(ctx context.Context, p argus.Principal, action argus.Action, res argus.Resource) (allowed bool, reason, grant string, err error) {
	if p.UserID == "" {
		return false, ReasonNoPrincipal, "", nil
	}
	// A scoped token is scoped whatever its user's role, admin included.
	if reason := tokenScope(p, action, res); reason != "" {
		return false, reason, "", nil
	}
	if p.Role == argus.RoleAdmin {
		return true, ReasonAdmin, "", nil
	}
	if !roleAllows(p.Role, action) {
		return false, ReasonRole, "", nil
	}
	if action == argus.ActionEmergency {
		// The role may open any camera in an emergency; the API grants
		// it only for a camera no other rule opens.
		return true, ReasonEmergencyRole, "", nil
	}
	target := scopeOrg(action, res)
	if target != "" && target == p.OrgID {
		return true, ReasonOwnOrg, "", nil
	}
	if target != "" {
		below, err := g.descends(ctx, target, p.OrgID)
		if err != nil {
			return false, ReasonOrgLookup, "", err
		}
		if below {
			return true, ReasonDescendantOrg, "", nil
		}
	}
	// A role-permitted action on a camera of another organisation is
	// allowed when an active share from its owner to p's organisation (or
	// one above it) grants the action and covers the camera.
	id, err := g.shareGrant(ctx, p, action, res)
	if err != nil {
		return false, ReasonShareLookup, "", err
	}
	if id != "" {
		return true, ReasonShare, "share:" + id, nil
	}
	// Last, an active emergency grant of p's on this camera.
	if id, err = g.emergencyGrant(ctx, p, action, res); err != nil {
		return false, ReasonEmergencyLookup, "", err
	}
	if id != "" {
		return true, ReasonEmergency, grantEmergency + id, nil
	}
	return false, ReasonScope, "", nil
}

// descends reports whether org lies strictly below ancestor in the tree.
func (g *Gate) descends(ctx context.Context, org, ancestor string) (bool, error) {
	t, err := g.orgTree(ctx, org)
	if err != nil {
		return false, err
	}
	// Walk up at most len(parent) steps, so a cycle cannot loop forever.
	for range len(t.parent) {
		parent := t.parent[org]
		if parent == "" {
			return false, nil
		}
		if parent == ancestor {
			return true, nil
		}
		org = parent
	}
	return false, nil
}

// VisibleOrgs returns the organisations whose directory p may see: p's own
// and every organisation below it. all is true for administrators, who see
// everything (orgs is then nil). A role that may not view the directory sees
// nothing.
func (g *Gate) VisibleOrgs(ctx context.Context, p argus.Principal) (orgs []string, all bool, err error) {
	if p.UserID == "" {
		return nil, false, nil
	}
	if p.Role == argus.RoleAdmin {
		return nil, true, nil
	}
	if !roleAllows(p.Role, argus.ActionViewDirectory) || p.OrgID == "" {
		return nil, false, nil
	}
	t, err := g.orgTree(ctx, p.OrgID)
	if err != nil {
		return nil, false, err
	}
	orgs = []string{p.OrgID}
	for i := 0; i < len(orgs) && i <= len(t.parent); i++ {
		orgs = append(orgs, t.children[orgs[i]]...)
	}
	slices.Sort(orgs)
	return slices.Compact(orgs), false, nil
}

// InvalidateOrgs drops the cached organisation tree; call it after changing
// an organisation.
func (g *Gate) InvalidateOrgs() {
	g.mu.Lock()
	g.tree = nil
	g.mu.Unlock()
}

// orgTree returns the cached tree, reloading it when it is older than the TTL
// or when it does not know want (a new organisation, perhaps created on
// another node) and was loaded more than minOrgReload ago.
func (g *Gate) orgTree(ctx context.Context, want string) (*orgTree, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	now := g.now()
	if t := g.tree; t != nil && now.Sub(t.loaded) < g.ttl {
		if _, known := t.parent[want]; known || now.Sub(t.loaded) < minOrgReload {
			return t, nil
		}
	}
	orgs, err := g.orgs.Orgs(ctx)
	if err != nil {
		return nil, fmt.Errorf("load organisation tree: %w", err)
	}
	t := &orgTree{
		parent:   make(map[string]string, len(orgs)),
		children: make(map[string][]string),
		loaded:   now,
	}
	for _, o := range orgs {
		t.parent[o.ID] = o.ParentID
		if o.ParentID != "" {
			t.children[o.ParentID] = append(t.children[o.ParentID], o.ID)
		}
	}
	g.tree = t
	return t, nil
}
