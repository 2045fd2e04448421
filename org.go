package argus

import (
	"strings"
	"time"
)

// OrgKind is what an organisation is. It drives defaults (PTZ priority, say)
// but never grants access by itself.
type OrgKind string

// The organisation kinds.
const (
	OrgPolice  OrgKind = "police"
	OrgFire    OrgKind = "fire"
	OrgTraffic OrgKind = "traffic"
	OrgCity    OrgKind = "city"
	OrgPrivate OrgKind = "private"
	OrgOther   OrgKind = "other"
)

// OrgKinds lists every valid OrgKind.
var OrgKinds = []OrgKind{OrgPolice, OrgFire, OrgTraffic, OrgCity, OrgPrivate, OrgOther}

// Valid reports whether k is one of OrgKinds.
func (k OrgKind) Valid() bool {
	for _, v := range OrgKinds {
		if k == v {
			return true
		}
	}
	return false
}

// Org is an organisation (an agency, a department, a precinct, a building
// owner) that owns cameras and users. ParentID puts precincts under their
// department.
type Org struct {
	ID         string    `json:"id"`
	Name       string    `json:"name"`
	Kind       OrgKind   `json:"kind"`
	ParentID   string    `json:"parent_id,omitempty"`
	QuotaBytes int64     `json:"quota_bytes,omitempty"` // cap on the un-held recordings of its own cameras; 0: none
	CreatedAt  time.Time `json:"created_at"`
}

// Validate checks the fields an organisation must have; it does not check
// that the parent exists (the store does).
func (o *Org) Validate() error {
	o.Name = strings.TrimSpace(o.Name)
	switch {
	case !ValidID(o.ID):
		return FieldErrorf("id", "id %q must be 1-64 characters of a-z, 0-9, '.', '_' or '-'", o.ID)
	case o.Name == "":
		return FieldErrorf("name", "name is required")
	case len(o.Name) > 200:
		return FieldErrorf("name", "name is longer than 200 characters")
	case !o.Kind.Valid():
		return FieldErrorf("kind", "kind %q is not one of police, fire, traffic, city, private, other", o.Kind)
	case o.ParentID != "" && !ValidID(o.ParentID):
		return FieldErrorf("parent_id", "parent_id %q is not a valid id", o.ParentID)
	case o.ParentID == o.ID:
		return FieldErrorf("parent_id", "an organisation cannot be its own parent")
	case o.QuotaBytes < 0 || o.QuotaBytes > MaxQuotaBytes:
		return FieldErrorf("quota_bytes", "quota_bytes %d is outside 0..%d", o.QuotaBytes, int64(MaxQuotaBytes))
	}
	return nil
}
