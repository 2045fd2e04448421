package argus

import (
	"net/url"
	"regexp"
	"slices"
	"strings"
	"time"
)

// Camera is one IP camera in the directory.
//
// Username and Password are the camera's own credentials. Stores keep them
// sealed (encrypted) at rest; the API never returns Password. Credentials
// given inside a stream URL are moved into these fields by Normalize, so no
// URL that argus stores or logs carries a secret.
type Camera struct {
	ID             string            `json:"id"`
	Name           string            `json:"name"`
	OrgID          string            `json:"org_id"`
	Lat            float64           `json:"lat"`
	Lon            float64           `json:"lon"`
	Address        string            `json:"address,omitempty"`
	District       string            `json:"district,omitempty"`
	Tags           []string          `json:"tags"`
	StreamURL      string            `json:"stream_url"`
	SubStreamURL   string            `json:"sub_stream_url,omitempty"`
	ONVIFURL       string            `json:"onvif_url,omitempty"`
	Username       string            `json:"username,omitempty"`
	Password       string            `json:"password,omitempty"`
	Transport      string            `json:"transport,omitempty"` // RTSP transport: TransportTCP (also ""), TransportUDP or TransportAuto
	Recording      bool              `json:"recording"`
	RetentionDays  int               `json:"retention_days"`
	RetentionBytes int64             `json:"retention_bytes,omitempty"` // cap on the bytes of un-held recordings; 0: none
	Labels         map[string]string `json:"labels,omitempty"`
	CreatedAt      time.Time         `json:"created_at"`
	UpdatedAt      time.Time         `json:"updated_at"`
}

// The RTSP transports a camera may be pulled over (Camera.Transport). An
// empty Transport means TransportTCP.
const (
	// TransportTCP interleaves RTP in the RTSP connection; the default.
	TransportTCP = "tcp"
	// TransportUDP receives RTP and RTCP on a pair of UDP ports.
	TransportUDP = "udp"
	// TransportAuto tries UDP and falls back to TCP when the camera refuses
	// UDP or sends nothing over it.
	TransportAuto = "auto"
)

// Limits on camera fields.
const (
	MaxRetentionDays = 3650
	MaxQuotaBytes    = 1 << 60 // RetentionBytes and Org.QuotaBytes (1 EiB)
	MaxTags          = 32
	MaxLabels        = 32
	maxTextLen       = 200
	maxURLLen        = 2048
	maxLabelValueLen = 256
)

var tagPattern = regexp.MustCompile(`^[a-z0-9][a-z0-9:_.-]{0,47}$`)

// ValidTag reports whether s is a well-formed tag or label key: 1–48
// characters of a-z, 0-9, ':', '_', '.' and '-'.
func ValidTag(s string) bool { return tagPattern.MatchString(s) }

// Point returns the camera's position.
func (c *Camera) Point() GeoPoint { return GeoPoint{Lat: c.Lat, Lon: c.Lon} }

// Normalize trims text fields, lower-cases the transport and the tags (which
// it also sorts and de-duplicates), and moves credentials embedded in stream
// URLs into Username and Password. It never fails; Validate reports what is
// still wrong.
func (c *Camera) Normalize() {
	c.Name = strings.TrimSpace(c.Name)
	c.Address = strings.TrimSpace(c.Address)
	c.District = strings.TrimSpace(c.District)
	c.Transport = strings.ToLower(strings.TrimSpace(c.Transport))
	for i, t := range c.Tags {
		c.Tags[i] = strings.ToLower(strings.TrimSpace(t))
	}
	c.Tags = slices.DeleteFunc(c.Tags, func(t string) bool { return t == "" })
	slices.Sort(c.Tags)
	c.Tags = slices.Compact(c.Tags)
	if c.Tags == nil {
		c.Tags = []string{}
	}
	c.StreamURL = c.liftCredentials(strings.TrimSpace(c.StreamURL))
	c.SubStreamURL = c.liftCredentials(strings.TrimSpace(c.SubStreamURL))
	c.ONVIFURL = c.liftCredentials(strings.TrimSpace(c.ONVIFURL))
}

// liftCredentials strips user:password from raw and keeps them on c when c
// has none of its own. Unparseable URLs are returned unchanged for Validate.
func (c *Camera) liftCredentials(raw string) string {
	if raw == "" {
		return raw
	}
	u, err := url.Parse(raw)
	if err != nil || u.User == nil {
		return raw
	}
	if c.Username == "" && c.Password == "" {
		c.Username = u.User.Username()
		c.Password, _ = u.User.Password()
	}
	u.User = nil
	return u.String()
}

// Validate checks every field and returns an EINVALID *Error naming the first
// bad one. It does not check that the organisation exists (the store does).
func (c *Camera) Validate() error {
	switch {
	case !ValidID(c.ID):
		return FieldErrorf("id", "id %q must be 1-64 characters of a-z, 0-9, '.', '_' or '-'", c.ID)
	case c.Name == "":
		return FieldErrorf("name", "name is required")
	case len(c.Name) > maxTextLen:
		return FieldErrorf("name", "name is longer than %d characters", maxTextLen)
	case !ValidID(c.OrgID):
		return FieldErrorf("org_id", "org_id %q is not a valid id", c.OrgID)
	case len(c.Address) > maxTextLen:
		return FieldErrorf("address", "address is longer than %d characters", maxTextLen)
	case len(c.District) > maxTextLen:
		return FieldErrorf("district", "district is longer than %d characters", maxTextLen)
	case c.RetentionDays < 0 || c.RetentionDays > MaxRetentionDays:
		return FieldErrorf("retention_days", "retention_days %d is outside 0..%d", c.RetentionDays, MaxRetentionDays)
	case c.RetentionBytes < 0 || c.RetentionBytes > MaxQuotaBytes:
		return FieldErrorf("retention_bytes", "retention_bytes %d is outside 0..%d", c.RetentionBytes, int64(MaxQuotaBytes))
	case len(c.Tags) > MaxTags:
		return FieldErrorf("tags", "more than %d tags", MaxTags)
	case len(c.Labels) > MaxLabels:
		return FieldErrorf("labels", "more than %d labels", MaxLabels)
	case len(c.Username) > maxTextLen || len(c.Password) > maxTextLen:
		return FieldErrorf("username", "credentials are longer than %d characters", maxTextLen)
	case c.Transport != "" && c.Transport != TransportTCP && c.Transport != TransportUDP && c.Transport != TransportAuto:
		return FieldErrorf("transport", "transport %.32q is not one of tcp, udp, auto", c.Transport)
	}
	if err := c.Point().Validate(); err != nil {
		return err
	}
	for _, t := range c.Tags {
		if !ValidTag(t) {
			return FieldErrorf("tags", "tag %q must be 1-48 characters of a-z, 0-9, ':', '_', '.' or '-'", t)
		}
	}
	for k, v := range c.Labels {
		if !ValidTag(k) {
			return FieldErrorf("labels", "label key %q must be 1-48 characters of a-z, 0-9, ':', '_', '.' or '-'", k)
		}
		if len(v) > maxLabelValueLen {
			return FieldErrorf("labels", "label %q is longer than %d characters", k, maxLabelValueLen)
		}
	}
	if err := validateURL("stream_url", c.StreamURL, true, "rtsp", "rtsps"); err != nil {
		return err
	}
	if err := validateURL("sub_stream_url", c.SubStreamURL, false, "rtsp", "rtsps"); err != nil {
		return err
	}
	return validateURL("onvif_url", c.ONVIFURL, false, "http", "https")
}

func validateURL(field, raw string, required bool, schemes ...string) error {
	if raw == "" {
		if required {
			return FieldErrorf(field, "%s is required", field)
		}
		return nil
	}
	if len(raw) > maxURLLen {
		return FieldErrorf(field, "%s is longer than %d characters", field, maxURLLen)
	}
	u, err := url.Parse(raw)
	if err != nil {
		return FieldErrorf(field, "%s is not a valid URL", field)
	}
	if !slices.Contains(schemes, u.Scheme) {
		return FieldErrorf(field, "%s must use %s, not %q", field, strings.Join(schemes, " or "), u.Scheme)
	}
	if u.Hostname() == "" {
		return FieldErrorf(field, "%s has no host", field)
	}
	return nil
}

// Redacted returns a copy of c without its password, fit to return to a
// client or write to a log.
func (c *Camera) Redacted() *Camera {
	cp := *c
	cp.Password = ""
	cp.Tags = slices.Clone(c.Tags)
	if c.Labels != nil {
		cp.Labels = make(map[string]string, len(c.Labels))
		for k, v := range c.Labels {
			cp.Labels[k] = v
		}
	}
	return &cp
}

// CameraFilter selects cameras. Every set field must match (AND), but for
// OrgIDs and Shared, which together say whose cameras to keep.
type CameraFilter struct {
	// OrgIDs keeps cameras owned by one of these organisations, or covered
	// by one of Shared; both empty = any owner.
	OrgIDs []string `json:"org_ids,omitempty"`
	// Shared keeps, besides the cameras of OrgIDs, those that one of these
	// share scopes covers (ShareScope.Covers): the cameras that shares let
	// a caller see in the directory. With OrgIDs empty, only those.
	Shared []ShareScope `json:"shared,omitempty"`
	// Tags keeps cameras that carry every one of these tags.
	Tags []string `json:"tags,omitempty"`
	// District keeps cameras in exactly this district.
	District string `json:"district,omitempty"`
	// Text keeps cameras whose id, name or address contains it,
	// case-insensitively. At least 3 characters.
	Text string `json:"text,omitempty"`
	// BBox keeps cameras inside the box.
	BBox *BBox `json:"bbox,omitempty"`
	// Near keeps cameras within the circle (great-circle distance).
	Near *Circle `json:"near,omitempty"`
	// Recording, when set, keeps cameras whose recording flag equals it.
	Recording *bool `json:"recording,omitempty"`
}

// MinTextQuery is the shortest text a CameraFilter accepts.
const MinTextQuery = 3

// Validate checks the filter's geometry and text.
func (f *CameraFilter) Validate() error {
	if f.BBox != nil {
		if err := f.BBox.Validate(); err != nil {
			return err
		}
	}
	if f.Near != nil {
		if err := f.Near.Validate(); err != nil {
			return err
		}
	}
	if f.Text != "" && len([]rune(strings.TrimSpace(f.Text))) < MinTextQuery {
		return FieldErrorf("q", "text query must be at least %d characters", MinTextQuery)
	}
	for _, t := range f.Tags {
		if !ValidTag(t) {
			return FieldErrorf("tag", "tag %q is not a valid tag", t)
		}
	}
	for _, sc := range f.Shared {
		if sc.Area != nil {
			if err := sc.Area.Validate(); err != nil {
				return err
			}
		}
	}
	return nil
}

// CameraQuery is a filtered, paginated listing ordered by camera id.
type CameraQuery struct {
	CameraFilter
	// After is the cursor returned as CameraPage.Next; "" starts at the top.
	After string
	// Limit is the page size: 0 means DefaultPageSize, at most MaxPageSize.
	Limit int
}

// Page sizes for listings.
const (
	DefaultPageSize = 100
	MaxPageSize     = 1000
)

// PageLimit returns the effective page size for a requested limit.
func PageLimit(limit int) int {
	switch {
	case limit <= 0:
		return DefaultPageSize
	case limit > MaxPageSize:
		return MaxPageSize
	}
	return limit
}

// CameraPage is one page of a camera listing. Next is empty on the last page.
type CameraPage struct {
	Items []*Camera `json:"items"`
	Next  string    `json:"next"`
}

// GridQuery asks for camera counts per square cell of GridCellDeg(Zoom)
// degrees inside BBox, so a city-zoom map never ships 500k points.
type GridQuery struct {
	CameraFilter
	Zoom int
}

// GridCell is one non-empty aggregation cell. Lat/Lon is the mean position of
// its cameras; CameraID is set when the cell holds exactly one camera.
type GridCell struct {
	Lat      float64 `json:"lat"`
	Lon      float64 `json:"lon"`
	Count    int     `json:"count"`
	CameraID string  `json:"camera_id,omitempty"`
}
