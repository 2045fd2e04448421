package access

import (
	"context"
	"fmt"
	"sync"
	"time"

	"argus"
)

// The reasons of the emergency rules.
const (
	ReasonEmergencyRole   = "role may open a camera in an emergency; flagged for review"
	ReasonEmergency       = "an active emergency grant of the principal's allows the action; flagged for review"
	ReasonEmergencyLookup = "emergency grant lookup failed"
)

// grantEmergency prefixes the Decision.Grant of a decision an emergency
// grant allowed.
const grantEmergency = "emergency:"

// emergencyCache keeps the current emergency grants (not ended) in memory,
// by user, as shareCache does shares: the rule is asked on every decision
// no other rule allowed.
type emergencyCache struct {
	store argus.EmergencyStore // nil: the Gate knows no emergency grants
	ttl   time.Duration

	// mu guards idx, which is replaced wholesale on reload. It is held
	// during a reload so that concurrent requests share one.
	mu  sync.Mutex
	idx *emergencyIndex
}

// emergencyIndex is a snapshot of the current emergency grants.
type emergencyIndex struct {
	all    []*argus.EmergencyGrant
	byUser map[string][]*argus.EmergencyGrant
	loaded time.Time
}

// InvalidateEmergencies drops the cached emergency grants; call it after
// opening one.
func (g *Gate) InvalidateEmergencies() {
	g.emergencies.mu.Lock()
	g.emergencies.idx = nil
	g.emergencies.mu.Unlock()
}

// currentEmergencies returns the cached index, reloading it when it was
// invalidated or is older than the TTL; nil when the Gate knows no grants.
func (g *Gate) currentEmergencies(ctx context.Context) (*emergencyIndex, error) {
	c := &g.emergencies
	if c.store == nil {
		return nil, nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	now := g.now()
	if c.idx != nil && now.Sub(c.idx.loaded) < c.ttl {
		return c.idx, nil
	}
	grants, err := c.store.EmergencyGrants(ctx, argus.EmergencyFilter{CurrentAt: now})
	if err != nil {
		return nil, fmt.Errorf("load emergency grants: %w", err)
	}
	idx := &emergencyIndex{all: grants, byUser: map[string][]*argus.EmergencyGrant{}, loaded: now}
	for _, e := range grants {
		idx.byUser[e.UserID] = append(idx.byUser[e.UserID], e)
	}
	c.idx = idx
	return idx, nil
}

// emergencyGrant returns the id of an active emergency grant that lets p
// take action on the camera res, "" when none does. A grant serves only
// the user who opened it, on its one camera, for its actions and for
// seeing that camera in the directory.
func (g *Gate) emergencyGrant(ctx context.Context, p argus.Principal, action argus.Action, res argus.Resource) (string, error) {
	if res.Kind != "camera" || res.ID == "" {
		return "", nil
	}
	idx, err := g.currentEmergencies(ctx)
	if err != nil || idx == nil {
		return "", err
	}
	now := g.now()
	for _, e := range idx.byUser[p.UserID] {
		if e.CameraID == res.ID && e.ActiveAt(now) && (action == argus.ActionViewDirectory || e.Grants(action)) {
			return e.ID, nil
		}
	}
	return "", nil
}
