package argus

import "time"

// Action is something a principal asks to do; every request names one and
// the access gate decides it.
type Action string

// The actions the access gate decides.
const (
	ActionViewDirectory Action = "directory.view"   // see a camera's metadata and position
	ActionLive          Action = "video.live"       // watch live video
	ActionPlayback      Action = "video.playback"   // watch recorded video
	ActionExport        Action = "video.export"     // export a clip
	ActionPTZ           Action = "camera.ptz"       // move a camera
	ActionManageCamera  Action = "camera.manage"    // create, change or delete a camera
	ActionManageOrg     Action = "org.manage"       // create, change or delete an organisation
	ActionManageUser    Action = "user.manage"      // create, change or delete users of an organisation
	ActionViewAudit     Action = "audit.view"       // read the audit log
	ActionHoldView      Action = "hold.view"        // see the evidence holds on a camera's recordings
	ActionHoldPlace     Action = "hold.place"       // place an evidence hold on a camera's recordings
	ActionHoldRelease   Action = "hold.release"     // release an evidence hold
	ActionManageShare   Action = "share.manage"     // grant, see and revoke an organisation's shares
	ActionEmergency     Action = "camera.emergency" // open a camera for oneself in an emergency
	ActionAdmin         Action = "system.admin"     // installation-wide administration
)

// Actions lists every Action.
var Actions = []Action{
	ActionViewDirectory, ActionLive, ActionPlayback, ActionExport, ActionPTZ, ActionManageCamera, ActionManageOrg,
	ActionManageUser, ActionViewAudit, ActionHoldView, ActionHoldPlace, ActionHoldRelease, ActionManageShare,
	ActionEmergency, ActionAdmin,
}

// Valid reports whether a is one of Actions.
func (a Action) Valid() bool {
	for _, v := range Actions {
		if a == v {
			return true
		}
	}
	return false
}

// Principal is who is asking: a signed-in user (through a session or an API
// token).
type Principal struct {
	UserID   string `json:"user_id"`
	Username string `json:"username"`
	OrgID    string `json:"org_id"`
	Role     Role   `json:"role"`
	TokenID  string `json:"token_id,omitempty"`
	// Scopes, CameraIDs and Tags are the scope of the API token the
	// principal acts through (Token): when Scopes is not empty, the only
	// actions it may take; when CameraIDs or Tags is not empty, the only
	// cameras it may act on. They narrow what the role allows, never
	// widen it; empty, the role decides alone.
	Scopes    []Action `json:"scopes,omitempty"`
	CameraIDs []string `json:"camera_ids,omitempty"`
	Tags      []string `json:"tags,omitempty"`
}

// Resource is what an action is about. Kind is "camera", "org", "user",
// "hold", "share" or "system"; OrgID is the owning organisation, when known.
// A camera also carries its Tags and position (Point), which decide whether
// a share covers it; a camera resource without them is covered only by id.
type Resource struct {
	Kind  string    `json:"kind"`
	ID    string    `json:"id,omitempty"`
	OrgID string    `json:"org_id,omitempty"`
	Tags  []string  `json:"tags,omitempty"`
	Point *GeoPoint `json:"point,omitempty"`
}

// Decision is the gate's answer to one request, kept for the audit log.
type Decision struct {
	Principal Principal `json:"principal"`
	Action    Action    `json:"action"`
	Resource  Resource  `json:"resource"`
	Allowed   bool      `json:"allowed"`
	Reason    string    `json:"reason"`
	// Purpose is why the principal says they act, when the action asks
	// for one (playback, export): the case number, the incident.
	Purpose string `json:"purpose,omitempty"`
	// Grant names what allowed an action on another organisation's
	// resource: "share:<id>" or "emergency:<id>"; empty otherwise.
	Grant string `json:"grant,omitempty"`
	// From and To bound the recorded video a playback or export is
	// about, when the caller said (Intent).
	From time.Time `json:"from,omitzero"`
	To   time.Time `json:"to,omitzero"`
	// Review flags an allowed decision for later review: an emergency
	// grant was opened or used.
	Review bool `json:"review,omitempty"`
	// Time is when the gate decided.
	Time time.Time `json:"time"`
	// Client is the network address the request came from, when known.
	Client string `json:"client,omitempty"`
}

// Intent is what a principal says about an action beyond its resource,
// for the gate to record with its decision: why (Purpose: the case number,
// the incident) and which recorded video (From, To) a playback or export
// is about.
type Intent struct {
	Purpose  string
	From, To time.Time
}
