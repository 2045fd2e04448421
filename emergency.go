package argus

import (
	"context"
	"slices"
	"strings"
	"time"
)

// EmergencyGrant is a short, time-boxed grant a user opened for themselves
// in an emergency: they may take Actions (as far as their role allows) on
// one camera that no rule otherwise lets them use, from From until Until.
// Every decision it allows is flagged for review, and the camera's owner
// (OwnerOrgID) is told. A grant is kept after it ends, for accountability.
type EmergencyGrant struct {
	ID string `json:"id"`
	// UserID is who opened the grant, and the only one it serves; OrgID
	// is their organisation.
	UserID string `json:"user_id"`
	OrgID  string `json:"org_id"`
	// CameraID is the camera; OwnerOrgID the organisation that owned it
	// when the grant was opened.
	CameraID   string `json:"camera_id"`
	OwnerOrgID string `json:"owner_org_id"`
	// Actions are what the grant allows: some of EmergencyActions.
	Actions []Action `json:"actions"`
	// Reason is why, as the user stated it: required.
	Reason string `json:"reason"`
	// From and Until bound the grant: [From, Until), at most
	// MaxEmergencySpan long.
	From      time.Time `json:"from"`
	Until     time.Time `json:"until"`
	CreatedAt time.Time `json:"created_at"`
}

// EmergencyActions are the actions an emergency grant may allow: watching
// live and recorded video. Exports (evidence leaves the system) and PTZ
// (the owner's own operators may be using the camera) are not opened in an
// emergency: they need a share.
var EmergencyActions = []Action{ActionLive, ActionPlayback}

// Limits on emergency grants.
const (
	// MaxEmergencySpan is the longest an emergency grant lasts (one hour),
	// and the default.
	MaxEmergencySpan = time.Hour
	// MaxEmergencyReasonLen bounds the stated reason.
	MaxEmergencyReasonLen = 1000
)

// Grants reports whether the grant allows action.
func (g *EmergencyGrant) Grants(action Action) bool { return slices.Contains(g.Actions, action) }

// ActiveAt reports whether the grant is in effect at t: From <= t < Until.
func (g *EmergencyGrant) ActiveAt(t time.Time) bool { return !t.Before(g.From) && t.Before(g.Until) }

// Validate trims the reason, sorts and de-duplicates the actions, and
// checks the fields a new grant must have. It does not check that the user
// and camera exist.
func (g *EmergencyGrant) Validate() error {
	g.Reason = strings.TrimSpace(g.Reason)
	g.Actions = sortedSet(g.Actions, func(a Action) Action { return a })
	switch {
	case !ValidID(g.ID):
		return FieldErrorf("id", "id %q must be 1-64 characters of a-z, 0-9, '.', '_' or '-'", g.ID)
	case !ValidID(g.UserID):
		return FieldErrorf("user_id", "user_id %q is not a valid id", g.UserID)
	case !ValidID(g.OrgID):
		return FieldErrorf("org_id", "org_id %q is not a valid id", g.OrgID)
	case !ValidID(g.CameraID):
		return FieldErrorf("camera_id", "camera_id %q is not a valid id", g.CameraID)
	case !ValidID(g.OwnerOrgID):
		return FieldErrorf("owner_org_id", "owner_org_id %q is not a valid id", g.OwnerOrgID)
	case len(g.Actions) == 0:
		return FieldErrorf("actions", "at least one action is required")
	case g.Reason == "":
		return FieldErrorf("reason", "reason is required: say what the emergency is")
	case len(g.Reason) > MaxEmergencyReasonLen:
		return FieldErrorf("reason", "reason is longer than %d characters", MaxEmergencyReasonLen)
	case g.From.IsZero():
		return FieldErrorf("from", "from is required")
	case !g.From.Before(g.Until):
		return FieldErrorf("until", "until is not after from")
	case g.Until.Sub(g.From) > MaxEmergencySpan:
		return FieldErrorf("until", "emergency access lasts at most %d minutes", MaxEmergencySpan/time.Minute)
	}
	for _, a := range g.Actions {
		if !slices.Contains(EmergencyActions, a) {
			return FieldErrorf("actions", "action %q cannot be opened in an emergency: use %s or %s", a, ActionLive, ActionPlayback)
		}
	}
	return nil
}

// EmergencyFilter selects emergency grants. Every set field must match
// (AND).
type EmergencyFilter struct {
	// OrgIDs keeps the grants whose camera owner (OwnerOrgID) or whose
	// user's organisation (OrgID) is one of these; empty = any.
	OrgIDs []string
	// UserID keeps the grants of this user; "" = any.
	UserID string
	// CurrentAt, when set, keeps the grants that have not ended at that
	// time (Until after it).
	CurrentAt time.Time
}

// EmergencyStore persists emergency grants.
type EmergencyStore interface {
	// CreateEmergencyGrant validates and adds g, setting CreatedAt and
	// truncating From and Until to the microsecond. ECONFLICT if the id
	// is taken.
	CreateEmergencyGrant(ctx context.Context, g *EmergencyGrant) error
	// EmergencyGrants returns the grants matching f, newest first.
	EmergencyGrants(ctx context.Context, f EmergencyFilter) ([]*EmergencyGrant, error)
}
