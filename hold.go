package argus

import (
	"context"
	"strings"
	"time"
)

// Hold is an evidence hold: a time range of one camera's recordings that
// retention must not delete, placed for a stated reason. A hold is released,
// never deleted: the row stays, with who released it, when and why, for
// accountability.
type Hold struct {
	ID       string    `json:"id"`
	CameraID string    `json:"camera_id"`
	From     time.Time `json:"from"`
	To       time.Time `json:"to"`
	Reason   string    `json:"reason"`
	// OrgID is the organisation that owned the camera when the hold was
	// placed; the store sets it. Access to the hold is decided by it.
	OrgID string `json:"org_id"`
	// CreatedBy is the id of the user who placed the hold.
	CreatedBy string    `json:"created_by"`
	CreatedAt time.Time `json:"created_at"`
	// ReleasedAt is zero while the hold is active.
	ReleasedAt    time.Time `json:"released_at,omitzero"`
	ReleasedBy    string    `json:"released_by,omitempty"`
	ReleaseReason string    `json:"release_reason,omitempty"`
}

// Limits on holds.
const (
	// MaxHoldSpan is the longest range one hold may cover (ten years).
	MaxHoldSpan = MaxRetentionDays * 24 * time.Hour
	// MaxHoldReasonLen bounds the reason of a hold or of its release.
	MaxHoldReasonLen = 1000
)

// Active reports whether the hold has not been released.
func (h *Hold) Active() bool { return h.ReleasedAt.IsZero() }

// Overlaps reports whether the hold's range [From, To) overlaps [from, to).
func (h *Hold) Overlaps(from, to time.Time) bool { return h.From.Before(to) && from.Before(h.To) }

// Validate trims the reason and checks the fields a new hold must have; it
// does not check that the camera exists (the store does).
func (h *Hold) Validate() error {
	h.Reason = strings.TrimSpace(h.Reason)
	// Recordings are named by Unix milliseconds with a four-digit year.
	epoch, end := time.Unix(0, 0), time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC)
	switch {
	case !ValidID(h.ID):
		return FieldErrorf("id", "id %q must be 1-64 characters of a-z, 0-9, '.', '_' or '-'", h.ID)
	case !ValidID(h.CameraID):
		return FieldErrorf("camera_id", "camera_id %q is not a valid id", h.CameraID)
	case h.From.IsZero():
		return FieldErrorf("from", "from is required")
	case h.To.IsZero():
		return FieldErrorf("to", "to is required")
	case h.From.Before(epoch) || !h.From.Before(end):
		return FieldErrorf("from", "from %s is outside 1970..9999", h.From.Format(time.RFC3339))
	case h.To.Before(epoch) || !h.To.Before(end):
		return FieldErrorf("to", "to %s is outside 1970..9999", h.To.Format(time.RFC3339))
	case !h.From.Before(h.To):
		return FieldErrorf("to", "to %s is not after from %s", h.To.Format(time.RFC3339), h.From.Format(time.RFC3339))
	case h.To.Sub(h.From) > MaxHoldSpan:
		return FieldErrorf("to", "a hold covers at most %d days", MaxRetentionDays)
	case h.Reason == "":
		return FieldErrorf("reason", "reason is required")
	case len(h.Reason) > MaxHoldReasonLen:
		return FieldErrorf("reason", "reason is longer than %d characters", MaxHoldReasonLen)
	case !ValidID(h.CreatedBy):
		return FieldErrorf("created_by", "created_by %q is not a valid user id", h.CreatedBy)
	}
	return nil
}

// HoldFilter selects holds. Every set field must match (AND).
type HoldFilter struct {
	// CameraID keeps the holds of this camera; "" = any.
	CameraID string
	// OrgIDs keeps the holds whose OrgID is one of these; empty = any.
	OrgIDs []string
	// ActiveOnly keeps the holds that are not released.
	ActiveOnly bool
	// From and To, when set, keep the holds whose range overlaps
	// [From, To); a zero bound is open.
	From, To time.Time
}

// HoldStore persists evidence holds.
type HoldStore interface {
	// CreateHold validates and adds h, setting OrgID (from the camera) and
	// CreatedAt, and rounding From down and To up to the microsecond.
	// ECONFLICT if the id is taken; EINVALID (field camera_id) if the
	// camera does not exist.
	CreateHold(ctx context.Context, h *Hold) error
	// Hold returns one hold; ENOTFOUND if there is none.
	Hold(ctx context.Context, id string) (*Hold, error)
	// Holds returns the holds matching f, newest first.
	Holds(ctx context.Context, f HoldFilter) ([]*Hold, error)
	// ReleaseHold releases an active hold, recording who released it, when
	// and why, and returns it. ENOTFOUND if absent; ECONFLICT if it is
	// released already; EINVALID (field reason) without a reason.
	ReleaseHold(ctx context.Context, id, by, reason string) (*Hold, error)
}

// ValidateRelease trims and checks the reason given for releasing a hold.
func ValidateRelease(reason *string) error {
	*reason = strings.TrimSpace(*reason)
	switch {
	case *reason == "":
		return FieldErrorf("reason", "reason is required")
	case len(*reason) > MaxHoldReasonLen:
		return FieldErrorf("reason", "reason is longer than %d characters", MaxHoldReasonLen)
	}
	return nil
}
