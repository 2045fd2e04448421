package access

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"argus"
)

// The reasons of the share rule.
const (
	ReasonShare       = "an active share from the camera's owner grants the action"
	ReasonShareLookup = "share lookup failed"
)

// DefaultShareTTL is how long the Gate trusts its cached shares when nothing
// invalidates them: a share revoked on another node takes effect here within
// it.
const DefaultShareTTL = 5 * time.Second

// shareCache keeps the current shares (not revoked, not ended) in memory,
// indexed by grantee and owner, so the share rule costs map lookups and a
// few comparisons whatever the size of the directory.
type shareCache struct {
	store argus.ShareStore // nil: the Gate knows no shares
	ttl   time.Duration

	// mu guards idx, which is replaced wholesale on reload. It is held
	// during a reload so that concurrent requests share one.
	mu  sync.Mutex
	idx *shareIndex
}

// shareIndex is a snapshot of the current shares.
type shareIndex struct {
	all []*argus.Share
	// pairs maps grantee org → owner org → the shares between them.
	pairs  map[string]map[string][]*argus.Share
	loaded time.Time
}

// InvalidateShares drops the cached shares; call it after granting or
// revoking a share.
func (g *Gate) InvalidateShares() {
	g.shares.mu.Lock()
	g.shares.idx = nil
	g.shares.mu.Unlock()
}

// currentShares returns the cached index, reloading it when it was
// invalidated or is older than the TTL.
func (g *Gate) currentShares(ctx context.Context) (*shareIndex, error) {
	c := &g.shares
	c.mu.Lock()
	defer c.mu.Unlock()
	now := g.now()
	if c.idx != nil && now.Sub(c.idx.loaded) < c.ttl {
		return c.idx, nil
	}
	shares, err := c.store.Shares(ctx, argus.ShareFilter{CurrentAt: now})
	if err != nil {
		return nil, fmt.Errorf("load shares: %w", err)
	}
	idx := &shareIndex{all: shares, pairs: map[string]map[string][]*argus.Share{}, loaded: now}
	for _, s := range shares {
		byOwner := idx.pairs[s.GranteeOrgID]
		if byOwner == nil {
			byOwner = map[string][]*argus.Share{}
			idx.pairs[s.GranteeOrgID] = byOwner
		}
		byOwner[s.OwnerOrgID] = append(byOwner[s.OwnerOrgID], s)
	}
	c.idx = idx
	return idx, nil
}

// shareable reports whether a share may allow action: the actions a share
// grants, and seeing the camera in the directory, which every share that
// covers a camera allows.
func shareable(action argus.Action) bool {
	return action == argus.ActionViewDirectory || slices.Contains(argus.ShareActions, action)
}

// shareGrant returns the id of an active share that lets p take action on
// the camera res, "" when none does. A share to an organisation also
// serves the organisations below it, as the grantee's own cameras do; it
// covers only cameras its owner owns (res.OrgID) at the time of asking.
func (g *Gate) shareGrant(ctx context.Context, p argus.Principal, action argus.Action, res argus.Resource) (string, error) {
	if g.shares.store == nil || res.Kind != "camera" || res.OrgID == "" || !shareable(action) {
		return "", nil
	}
	idx, err := g.currentShares(ctx)
	if err != nil || len(idx.pairs) == 0 {
		return "", err
	}
	t, err := g.orgTree(ctx, p.OrgID)
	if err != nil {
		return "", err
	}
	now := g.now()
	org := p.OrgID
	// Walk up at most len(parent)+1 organisations, so a cycle cannot loop
	// forever.
	for range len(t.parent) + 1 {
		for _, s := range idx.pairs[org][res.OrgID] {
			if s.ActiveAt(now) && (action == argus.ActionViewDirectory || s.Grants(action)) &&
				s.Covers(res.ID, res.Tags, res.Point) {
				return s.ID, nil
			}
		}
		if org = t.parent[org]; org == "" {
			break
		}
	}
	return "", nil
}

// VisibleShares returns the scopes of the shares that let p see cameras
// of other organisations in the directory, by the gate's share rule: those
// in effect now and granted to p's organisation or one above it. They are
// ordered by share id. An administrator, who sees everything, gets none,
// as does a principal whose role may not view the directory.
func (g *Gate) VisibleShares(ctx context.Context, p argus.Principal) ([]argus.ShareScope, error) {
	if g.shares.store == nil || p.UserID == "" || p.Role == argus.RoleAdmin || p.OrgID == "" ||
		!roleAllows(p.Role, argus.ActionViewDirectory) {
		return nil, nil
	}
	idx, err := g.currentShares(ctx)
	if err != nil || len(idx.pairs) == 0 {
		return nil, err
	}
	t, err := g.orgTree(ctx, p.OrgID)
	if err != nil {
		return nil, err
	}
	now := g.now()
	var out []argus.ShareScope
	org := p.OrgID
	// Walk up at most len(parent)+1 organisations, so a cycle cannot loop
	// forever.
	for range len(t.parent) + 1 {
		for _, byOwner := range idx.pairs[org] {
			for _, s := range byOwner {
				if s.ActiveAt(now) {
					out = append(out, s.Scope())
				}
			}
		}
		if org = t.parent[org]; org == "" {
			break
		}
	}
	slices.SortFunc(out, func(a, b argus.ShareScope) int { return strings.Compare(a.ShareID, b.ShareID) })
	return out, nil
}

// SharesCovering returns the current shares (not revoked, not ended,
// including those not yet begun) by which other organisations may act on
// the camera res, for showing its owner who has access. It returns none
// when the Gate knows no shares.
func (g *Gate) SharesCovering(ctx context.Context, res argus.Resource) ([]*argus.Share, error) {
	if g.shares.store == nil {
		return []*argus.Share{}, nil
	}
	idx, err := g.currentShares(ctx)
	if err != nil {
		return nil, err
	}
	now := g.now()
	out := []*argus.Share{}
	for _, s := range idx.all {
		if s.OwnerOrgID == res.OrgID && now.Before(s.ValidUntil) && !s.Revoked() && s.Covers(res.ID, res.Tags, res.Point) {
			out = append(out, s)
		}
	}
	return out, nil
}

// Ancestors returns the organisations above org, nearest first; their
// users' roles reach org's resources by the descendant rule.
func (g *Gate) Ancestors(ctx context.Context, org string) ([]string, error) {
	t, err := g.orgTree(ctx, org)
	if err != nil {
		return nil, err
	}
	var out []string
	for range len(t.parent) {
		if org = t.parent[org]; org == "" {
			break
		}
		out = append(out, org)
	}
	return out, nil
}

// WatchShares calls lost each time a share or an emergency grant that was
// in effect stops being so — a share revoked here or on another node, or
// either past its end — so that the caller can end what it allowed (open
// live sessions). It checks every interval, reloading the cached shares
// and grants when they were invalidated or are older than the TTL, and
// returns when ctx ends. lost runs on the watching goroutine.
func (g *Gate) WatchShares(ctx context.Context, interval time.Duration, lost func(ctx context.Context)) {
	if g.shares.store == nil && g.emergencies.store == nil {
		<-ctx.Done()
		return
	}
	tick := time.NewTicker(interval)
	defer tick.Stop()
	var prev map[string]bool
	for {
		if cur, err := g.inEffect(ctx); err == nil {
			for id := range prev {
				if !cur[id] {
					lost(ctx)
					break
				}
			}
			prev = cur
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

// inEffect returns the grants in effect now, as "share:<id>" and
// "emergency:<id>".
func (g *Gate) inEffect(ctx context.Context) (map[string]bool, error) {
	now := g.now()
	cur := map[string]bool{}
	if g.shares.store != nil {
		idx, err := g.currentShares(ctx)
		if err != nil {
			return nil, err
		}
		for _, s := range idx.all {
			if s.ActiveAt(now) {
				cur["share:"+s.ID] = true
			}
		}
	}
	idx, err := g.currentEmergencies(ctx)
	if err != nil {
		return nil, err
	}
	if idx != nil {
		for _, e := range idx.all {
			if e.ActiveAt(now) {
				cur[grantEmergency+e.ID] = true
			}
		}
	}
	return cur, nil
}
