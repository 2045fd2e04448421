// Package events is argus's event bus: every state change (a camera going
// offline, the recordings' disk under pressure, emergency access opened, an
// alert acknowledged) is one Event, stored in the NATS JetStream stream
// ARGUS_EVENTS under the subject argus.events.<camera>.<type>
// (docs/events.md).
//
// A node runs an embedded NATS server with JetStream in-process (no TCP
// port) by default, or connects to an external NATS JetStream cluster. The
// stream sequence is an event's id; listings read the stream backwards in
// windows, subscriptions read it forwards from an id on. Acknowledgements
// are events themselves (alert.acknowledged); the Bus keeps an index of
// them in memory, built from the stream at Open and kept up to date by a
// subscription, to mark the events they acknowledge.
package events

import (
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"argus"
)

// Severity is how urgent an event is.
type Severity string

// The severities, from least to most urgent.
const (
	SeverityInfo     Severity = "info"
	SeverityWarning  Severity = "warning"
	SeverityCritical Severity = "critical"
)

// severities orders the severities for the minimum filter.
var severities = []Severity{SeverityInfo, SeverityWarning, SeverityCritical}

// Valid reports whether s is one of the severities.
func (s Severity) Valid() bool { return slices.Contains(severities, s) }

// rank is s's place in severities, -1 for an unknown one.
func (s Severity) rank() int { return slices.Index(severities, s) }

// The event types argus produces.
const (
	TypeCameraOnline       = "camera.online"
	TypeCameraOffline      = "camera.offline"
	TypeCameraStalled      = "camera.stalled"
	TypeCameraUnauthorised = "camera.unauthorised"
	TypeCameraUnsupported  = "camera.unsupported"
	TypeStoragePressure    = "storage.pressure"
	TypeEmergencyOpened    = "emergency.opened"
	TypeAcknowledged       = "alert.acknowledged"
)

// Event is one state change, as the API shows it. ID is the decimal stream
// sequence, set by the bus; CameraID and OrgID are empty for node-wide
// events; AcknowledgedBy and AcknowledgedAt are set once an
// alert.acknowledged event names this one.
type Event struct {
	ID             string         `json:"id"`
	Time           time.Time      `json:"time"`
	Type           string         `json:"type"`
	Severity       Severity       `json:"severity"`
	CameraID       string         `json:"camera_id"`
	OrgID          string         `json:"org_id"`
	Message        string         `json:"message"`
	Data           map[string]any `json:"data"`
	AcknowledgedBy string         `json:"acknowledged_by,omitempty"`
	AcknowledgedAt time.Time      `json:"acknowledged_at,omitzero"`
	// AcknowledgedNote is the note given with the acknowledgement.
	AcknowledgedNote string `json:"acknowledged_note,omitempty"`
}

// Limits on events.
const (
	// MaxMessageLen bounds an event's message.
	MaxMessageLen = 1000
	// MaxDataBytes bounds an event's data, encoded as JSON.
	MaxDataBytes = 16 << 10
	// DefaultLimit and MaxLimit are the page sizes of List.
	DefaultLimit = 50
	MaxLimit     = 500
	// MaxRange is the most events Range returns.
	MaxRange = 1000
)

// typePattern is the shape of an event type: two to four dot-separated
// tokens of lower-case letters, digits and '_', each starting with a
// letter. It can never hold a NATS wildcard.
var typePattern = regexp.MustCompile(`^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*){1,3}$`)

// ValidType reports whether t is a well-formed event type.
func ValidType(t string) bool { return typePattern.MatchString(t) }

// Validate checks the fields a new event must have, before the bus sets
// its ID and time.
func (e *Event) Validate() error {
	switch {
	case !ValidType(e.Type):
		return argus.FieldErrorf("type", "type %.64q must be dot-separated tokens of a-z, 0-9 and '_' (e.g. camera.offline)", e.Type)
	case !e.Severity.Valid():
		return argus.FieldErrorf("severity", "severity %.32q is not one of info, warning, critical", e.Severity)
	case e.CameraID != "" && !argus.ValidID(e.CameraID):
		return argus.FieldErrorf("camera_id", "camera_id %.80q is not a valid id", e.CameraID)
	case e.OrgID != "" && !argus.ValidID(e.OrgID):
		return argus.FieldErrorf("org_id", "org_id %.80q is not a valid id", e.OrgID)
	case len(e.Message) > MaxMessageLen:
		return argus.FieldErrorf("message", "message is longer than %d characters", MaxMessageLen)
	}
	return nil
}

// subjectPrefix starts every event subject.
const subjectPrefix = "argus.events."

// nodeToken stands for "no camera" in a subject. Camera ids start with a
// letter or digit, so it cannot be one.
const nodeToken = "_node"

// cameraToken returns the subject token of a camera: "_node" for none, the
// id with every '.' escaped as "%2E" otherwise. Ids are checked first, so
// no token can hold '.', '*', '>' or white space, and since an id has no
// '%', two cameras never share a token.
func cameraToken(camera string) (string, error) {
	if camera == "" {
		return nodeToken, nil
	}
	if !argus.ValidID(camera) {
		return "", argus.FieldErrorf("camera", "camera %.80q is not a valid id", camera)
	}
	return strings.ReplaceAll(camera, ".", "%2E"), nil
}

// Subject returns the subject of an event of this camera ("" for a
// node-wide event) and type: argus.events.<camera>.<type>.
func Subject(camera, typ string) (string, error) {
	tok, err := cameraToken(camera)
	if err != nil {
		return "", err
	}
	if !ValidType(typ) {
		return "", argus.FieldErrorf("type", "type %.64q is not a valid event type", typ)
	}
	return subjectPrefix + tok + "." + typ, nil
}

// Filter selects events. Every set field must match (AND).
type Filter struct {
	// CameraID keeps the events of this camera; "" any.
	CameraID string
	// Type keeps the events of this type; a Type ending in '*' keeps the
	// types that start with what comes before it ("camera.*").
	Type string
	// Severity keeps the events at least this severe; "" any.
	Severity Severity
	// From and To keep the events whose Time is in [From, To); a zero
	// bound is open. The stream is searched by the time it stored each
	// event, widened by a minute: an event stored later than that after
	// its Time may be missed.
	From, To time.Time
	// Before keeps the events older than this id (List's paging); "" none.
	Before string
	// Limit is List's page size: 0 means DefaultLimit, at most MaxLimit.
	Limit int
	// Keep, when set, must also accept an event: the caller's visibility.
	// It runs on the bus's goroutines and must not block for long.
	Keep func(*Event) bool
}

// typeFilterPattern is a type, or a prefix of one followed by '*'.
var typeFilterPattern = regexp.MustCompile(`^[a-z0-9_.]{0,64}\*?$`)

// Validate checks the filter's fields, naming each by its query parameter.
func (f *Filter) Validate() error {
	if _, err := cameraToken(f.CameraID); err != nil {
		return err
	}
	switch {
	case f.Type != "" && (!typeFilterPattern.MatchString(f.Type) || !strings.HasSuffix(f.Type, "*") && !ValidType(f.Type)):
		return argus.FieldErrorf("type", "type %.64q is not an event type or a prefix of one followed by '*'", f.Type)
	case f.Severity != "" && !f.Severity.Valid():
		return argus.FieldErrorf("severity", "severity %.32q is not one of info, warning, critical", f.Severity)
	case f.Limit < 0 || f.Limit > MaxLimit:
		return argus.FieldErrorf("limit", "limit must be 1..%d", MaxLimit)
	case !f.From.IsZero() && !f.To.IsZero() && !f.From.Before(f.To):
		return argus.FieldErrorf("to", "to must be after from")
	}
	if f.Before != "" {
		if _, err := parseID(f.Before); err != nil {
			return argus.FieldErrorf("before", "before %.32q is not an event id", f.Before)
		}
	}
	return nil
}

// subject returns the subject filter that selects what f's camera and
// type can: the rest of f is checked on each event (Match).
func (f *Filter) subject() string {
	cam := "*"
	if f.CameraID != "" {
		cam, _ = cameraToken(f.CameraID) // checked by Validate
	}
	t := ">"
	if prefix, ok := strings.CutSuffix(f.Type, "*"); ok {
		if p, ok := strings.CutSuffix(prefix, "."); ok && ValidType(p+".x") {
			t = p + ".>"
		}
	} else if f.Type != "" {
		t = f.Type
	}
	return subjectPrefix + cam + "." + t
}

// Match reports whether e passes every condition of f but Before.
func (f *Filter) Match(e *Event) bool {
	switch {
	case f.CameraID != "" && e.CameraID != f.CameraID:
		return false
	case f.Type != "" && !strings.HasSuffix(f.Type, "*") && e.Type != f.Type:
		return false
	case strings.HasSuffix(f.Type, "*") && !strings.HasPrefix(e.Type, strings.TrimSuffix(f.Type, "*")):
		return false
	case f.Severity != "" && e.Severity.rank() < f.Severity.rank():
		return false
	case !f.From.IsZero() && e.Time.Before(f.From):
		return false
	case !f.To.IsZero() && !e.Time.Before(f.To):
		return false
	}
	return f.Keep == nil || f.Keep(e)
}

// parseID reads an event id: a stream sequence, 1 or more.
func parseID(id string) (uint64, error) {
	n, err := strconv.ParseUint(id, 10, 64)
	if err != nil || n == 0 {
		return 0, fmt.Errorf("event id %.32q is not a positive integer", id)
	}
	return n, nil
}

// FormatID returns the id of the event at stream sequence seq.
func FormatID(seq uint64) string { return strconv.FormatUint(seq, 10) }

// decode reads a stored event; the bus sets its ID.
func decode(seq uint64, data []byte) (Event, error) {
	var e Event
	if err := json.Unmarshal(data, &e); err != nil {
		return e, fmt.Errorf("decode event %d: %w", seq, err)
	}
	e.ID = FormatID(seq)
	if e.Data == nil {
		e.Data = map[string]any{}
	}
	return e, nil
}
