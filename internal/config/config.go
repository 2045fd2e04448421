// Package config holds argus's typed configuration: its defaults, loading from
// a YAML file and ARGUS_* environment variables, and validation.
//
// The shipped argus.example.yml at the repository root is the documented form
// of Default(); a test holds the two equal.
package config

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"argus"
	"argus/internal/retention"
)

// Config is the whole configuration of an argus node. Field comments are the
// operator's documentation; keep them in step with argus.example.yml.
type Config struct {
	// Data is the data directory: the metadata database, keys and recordings
	// (under Data/recordings) live here.
	Data string `yaml:"data"`
	// Log configures the process log.
	Log Log `yaml:"log"`
	// HTTP configures the API and web UI listener.
	HTTP HTTP `yaml:"http"`
	// Auth configures sign-in and sessions.
	Auth Auth `yaml:"auth"`
	// Credentials configures how camera credentials are encrypted at rest.
	Credentials Credentials `yaml:"credentials"`
	// Recording configures the recordings' disk: its free-space floor and
	// the retention sweeper.
	Recording Recording `yaml:"recording"`
	// Live configures live video to browsers (LL-HLS; WebRTC).
	Live Live `yaml:"live"`
	// RTSP configures the RTSP re-serve for VLC, ffplay and other VMS.
	RTSP RTSP `yaml:"rtsp"`
	// Events configures the event bus (docs/events.md).
	Events Events `yaml:"events"`
}

// Events configures the event bus: NATS JetStream, embedded or external
// (docs/events.md).
type Events struct {
	// NATSURL is an external NATS server with JetStream, or a
	// comma-separated list of a cluster's (nats://host:4222, tls://…);
	// empty runs an embedded server in-process, storing under Data/nats.
	NATSURL string `yaml:"nats_url"`
	// Retention is how long events are kept.
	Retention time.Duration `yaml:"retention"`
}

// Live configures live video (docs/live.md).
type Live struct {
	// WebRTC configures WHEP, the sub-second path to browsers.
	WebRTC LiveWebRTC `yaml:"webrtc"`
	// HLS configures LL-HLS, the fallback for players without WebRTC.
	HLS LiveHLS `yaml:"hls"`
	// MaxTranscodes caps the H.265 → H.264 transcodes (ffmpeg processes)
	// this node runs at once for browsers of H.265 cameras without an
	// H.264 sub-stream.
	MaxTranscodes int `yaml:"max_transcodes"`
	// FFmpeg is the ffmpeg binary the transcodes run; "ffmpeg" is looked
	// up on PATH.
	FFmpeg string `yaml:"ffmpeg"`
	// CacheIdleGOP keeps the last GOP of every camera in memory, also of
	// cameras only recorded, so that the first viewer of any camera starts
	// at once (hub.Config.CacheIdleGOP): about one GOP of memory per
	// camera. Off, a camera nobody watched for 5 minutes starts at its next
	// keyframe.
	CacheIdleGOP bool `yaml:"cache_idle_gop"`
}

// LiveWebRTC configures WHEP (WebRTC). All sessions share one UDP port, so
// a firewall needs one port open (and one TCP port for ICE-TCP).
type LiveWebRTC struct {
	// UDPPort is the one UDP port every session's ICE runs on; 0 picks a
	// free port.
	UDPPort int `yaml:"udp_port"`
	// TCPPort is the ICE-TCP port, for viewers whose network lets no UDP
	// through; 0 turns ICE-TCP off.
	TCPPort int `yaml:"tcp_port"`
	// ListenIP binds both ports to this address and offers only it; empty
	// means every IPv4 address of the host except loopback.
	ListenIP string `yaml:"listen_ip"`
	// PublicIPs are offered besides the host's own addresses: the public
	// addresses of a 1:1 NAT in front of this node (comma-separated in
	// ARGUS_LIVE_WEBRTC_PUBLIC_IPS).
	PublicIPs []string `yaml:"public_ips"`
}

// LiveHLS configures LL-HLS.
type LiveHLS struct {
	// IdleTimeout ends a viewer that has made no request for this long,
	// and closes a camera's muxer with its last viewer.
	IdleTimeout time.Duration `yaml:"idle_timeout"`
	// MaxMuxers caps the cameras this node serves over LL-HLS at once.
	MaxMuxers int `yaml:"max_muxers"`
}

// RTSP configures the RTSP re-serve: rtsp://HOST:PORT/cameras/{id}, with a
// user's name and password or an API token as the password (Basic
// authentication: use it on trusted networks).
type RTSP struct {
	// Listen is the RTSP (TCP) host:port; empty turns the re-serve off.
	Listen string `yaml:"listen"`
	// UDPRTP and UDPRTCP are the host:port pairs for viewers that ask for
	// RTP over UDP (an even port and the next one); empty serves TCP only.
	UDPRTP  string `yaml:"udp_rtp"`
	UDPRTCP string `yaml:"udp_rtcp"`
}

// Log configures logging.
type Log struct {
	// Level is one of debug, info, warn, error.
	Level string `yaml:"level"`
	// Format is text, json, or auto (text on a terminal, JSON otherwise).
	Format string `yaml:"format"`
}

// HTTP configures the HTTP listener.
type HTTP struct {
	// Listen is the host:port of the API and web UI.
	Listen string `yaml:"listen"`
	// MetricsPublic serves /metrics without authentication, for a Prometheus
	// that scrapes over a trusted network. Off by default: scrape with a token.
	MetricsPublic bool `yaml:"metrics_public"`
}

// Auth configures sign-in.
type Auth struct {
	// SessionTTL is how long a login session lasts.
	SessionTTL time.Duration `yaml:"session_ttl"`
	// APITokenTTL is the lifetime of API tokens created without an explicit one.
	APITokenTTL time.Duration `yaml:"api_token_ttl"`
	// OIDC configures sign-in through an agency's own identity provider
	// (docs/oidc.md); off while its issuer is empty.
	OIDC OIDC `yaml:"oidc"`
}

// OIDC configures OpenID Connect sign-in. The identity provider's ID token
// names the user's organisation (OrgClaim) and role (RoleClaim); argus
// creates or updates the user "oidc.<subject>" at each sign-in.
type OIDC struct {
	// Issuer is the identity provider's issuer URL, where
	// /.well-known/openid-configuration is found; empty turns OIDC off.
	Issuer string `yaml:"issuer"`
	// ClientID is argus's client id at the identity provider.
	ClientID string `yaml:"client_id"`
	// ClientSecret is argus's client secret there; better set in
	// ARGUS_AUTH_OIDC_CLIENT_SECRET than in the file. Never logged.
	ClientSecret Secret `yaml:"client_secret"`
	// RedirectURL is https://HOST/api/v1/oidc/callback of this node, as
	// registered at the identity provider.
	RedirectURL string `yaml:"redirect_url"`
	// Scopes are asked for at sign-in; openid is required.
	Scopes []string `yaml:"scopes"`
	// OrgClaim is the ID token claim that holds the user's organisation
	// id, which must exist in argus.
	OrgClaim string `yaml:"org_claim"`
	// RoleClaim is the ID token claim that holds the user's role: a string
	// or a list (of groups, say).
	RoleClaim string `yaml:"role_claim"`
	// RoleMap maps the role claim's values (group or role names at the
	// identity provider) to argus roles. Empty: the claim must hold an
	// argus role itself, and admin is refused. Only RoleMap can grant admin.
	RoleMap map[string]string `yaml:"role_map"`
	// AllowedOrgs, when not empty, are the only organisations an OIDC
	// sign-in may land in.
	AllowedOrgs []string `yaml:"allowed_orgs"`
	// ButtonLabel is the text of the web UI's sign-in button.
	ButtonLabel string `yaml:"button_label"`
}

// Secret is a setting that must never be logged: it prints as
// "[redacted]" when set.
type Secret string

// String returns "[redacted]" when s is set, else "".
func (s Secret) String() string {
	if s == "" {
		return ""
	}
	return "[redacted]"
}

// GoString is String, so that %#v redacts too.
func (s Secret) GoString() string { return s.String() }

// LogValue redacts s in structured logs.
func (s Secret) LogValue() slog.Value { return slog.StringValue(s.String()) }

// MarshalJSON redacts s in JSON, which is how slog's JSON handler prints a
// configuration struct.
func (s Secret) MarshalJSON() ([]byte, error) { return json.Marshal(s.String()) }

// Credentials configures the key that seals camera credentials. The key lives
// outside the database: in KeyFile, or in the ARGUS_CREDENTIALS_KEY
// environment variable (base64 of 32 bytes), which wins when set.
type Credentials struct {
	// KeyFile is the key's path; relative paths are inside Data. It is created
	// (mode 0600) on first start when missing.
	KeyFile string `yaml:"key_file"`
}

// Recording configures retention of the recordings (docs/retention.md).
type Recording struct {
	// MinFree is the free space the recordings' disk keeps: a percentage of
	// the disk ("5%") or a size ("20GiB", "500MB"). Below it the oldest
	// recordings not under an evidence hold are deleted, whatever their
	// retention, and a storage.pressure event is raised.
	MinFree string `yaml:"min_free"`
	// SweepInterval is how often retention runs: deletes recordings past
	// their camera's days, over a camera's or an organisation's byte quota,
	// or to keep MinFree.
	SweepInterval time.Duration `yaml:"sweep_interval"`
	// SegmentDuration is the target length of a recorded segment file: a
	// segment ends at the first keyframe after it (docs/record.md).
	SegmentDuration time.Duration `yaml:"segment_duration"`
	// FragmentDuration bounds a fragment inside a segment, and so what a
	// killed recorder can lose.
	FragmentDuration time.Duration `yaml:"fragment_duration"`
}

// Default returns the built-in configuration.
func Default() Config {
	return Config{
		Data: "./argus-data",
		Log:  Log{Level: "info", Format: "auto"},
		HTTP: HTTP{Listen: "127.0.0.1:8080"},
		Auth: Auth{SessionTTL: 12 * time.Hour, APITokenTTL: 90 * 24 * time.Hour, OIDC: OIDC{
			Scopes: []string{"openid", "profile"}, OrgClaim: "argus_org", RoleClaim: "argus_role",
			RoleMap: map[string]string{}, AllowedOrgs: []string{}, ButtonLabel: "Sign in with your organisation",
		}},
		Credentials: Credentials{KeyFile: "keys/credentials.key"},
		Recording:   Recording{MinFree: "5%", SweepInterval: time.Minute, SegmentDuration: time.Minute, FragmentDuration: time.Second},
		Live:        Live{WebRTC: LiveWebRTC{UDPPort: 8189, PublicIPs: []string{}}, HLS: LiveHLS{IdleTimeout: 30 * time.Second, MaxMuxers: 1000}, MaxTranscodes: 4, FFmpeg: "ffmpeg"},
		RTSP:        RTSP{Listen: "127.0.0.1:9554"},
		Events:      Events{Retention: 30 * 24 * time.Hour},
	}
}

// EnvPrefix starts every environment variable that overrides a setting; the
// rest is the YAML path in upper case joined by '_': ARGUS_HTTP_LISTEN.
const EnvPrefix = "ARGUS_"

// Load builds the configuration: defaults, then the YAML file at path (when
// path is not empty), then ARGUS_* variables from environ (os.Environ()
// form). Unknown keys in the file and unknown ARGUS_* setting variables are
// errors. The result is validated.
func Load(path string, environ []string) (Config, error) {
	cfg := Default()
	if path != "" {
		b, err := os.ReadFile(path)
		if err != nil {
			return cfg, fmt.Errorf("read config: %w", err)
		}
		if err := Decode(b, &cfg); err != nil {
			return cfg, fmt.Errorf("config %s: %w", path, err)
		}
	}
	if err := applyEnv(&cfg, environ); err != nil {
		return cfg, err
	}
	if err := cfg.Validate(); err != nil {
		return cfg, err
	}
	return cfg, nil
}

// Decode strictly decodes YAML into cfg, on top of what cfg already holds:
// unknown keys and a document that is not a mapping are errors.
func Decode(b []byte, cfg *Config) error {
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	if err := dec.Decode(cfg); err != nil {
		if errors.Is(err, io.EOF) {
			return nil // an empty file keeps the defaults
		}
		return fmt.Errorf("decode: %w", err)
	}
	var extra any
	if err := dec.Decode(&extra); !errors.Is(err, io.EOF) {
		return errors.New("decode: more than one YAML document")
	}
	return nil
}

// envVars maps each ARGUS_* variable name to its setting, derived from the
// yaml tags of Config.
func envVars(cfg *Config) map[string]reflect.Value {
	out := map[string]reflect.Value{}
	var walk func(v reflect.Value, prefix string)
	walk = func(v reflect.Value, prefix string) {
		t := v.Type()
		for i := range t.NumField() {
			name := strings.ToUpper(t.Field(i).Tag.Get("yaml"))
			f := v.Field(i)
			if f.Kind() == reflect.Struct {
				walk(f, prefix+name+"_")
				continue
			}
			out[prefix+name] = f
		}
	}
	walk(reflect.ValueOf(cfg).Elem(), EnvPrefix)
	return out
}

// notSettings are ARGUS_* variables read elsewhere, not settings of Config.
var notSettings = map[string]bool{
	"ARGUS_ADMIN_PASSWORD":   true,
	"ARGUS_CREDENTIALS_KEY":  true,
	"ARGUS_CONFIG":           true,
	"ARGUS_REQUIRE_TOOLS":    true,
	"ARGUS_TEST_POSTGRES":    true,
	"ARGUS_BENCH_CAMERAS":    true,
	"ARGUS_BENCH_ITERATIONS": true,
}

func applyEnv(cfg *Config, environ []string) error {
	vars := envVars(cfg)
	for _, kv := range environ {
		name, val, ok := strings.Cut(kv, "=")
		if !ok || !strings.HasPrefix(name, EnvPrefix) || notSettings[name] {
			continue
		}
		f, ok := vars[name]
		if !ok {
			return fmt.Errorf("environment: %s is not a setting", name)
		}
		if err := setValue(f, val); err != nil {
			return fmt.Errorf("environment: %s: %w", name, err)
		}
	}
	return nil
}

func setValue(f reflect.Value, val string) error {
	switch {
	case f.Type() == reflect.TypeFor[time.Duration]():
		d, err := time.ParseDuration(val)
		if err != nil {
			return fmt.Errorf("%q is not a duration (e.g. 90s, 12h)", val)
		}
		f.SetInt(int64(d))
	case f.Kind() == reflect.String:
		f.SetString(val)
	case f.Kind() == reflect.Bool:
		b, err := strconv.ParseBool(val)
		if err != nil {
			return fmt.Errorf("%q is not true or false", val)
		}
		f.SetBool(b)
	case f.Type() == reflect.TypeFor[[]string]():
		var list []string
		for _, v := range strings.Split(val, ",") {
			if v = strings.TrimSpace(v); v != "" {
				list = append(list, v)
			}
		}
		f.Set(reflect.ValueOf(list))
	case f.Kind() == reflect.Int:
		n, err := strconv.Atoi(val)
		if err != nil {
			return fmt.Errorf("%q is not an integer", val)
		}
		f.SetInt(int64(n))
	default:
		return fmt.Errorf("settings of type %s cannot come from the environment", f.Type())
	}
	return nil
}

// Validate checks every setting and names the first bad one by its YAML path.
func (c *Config) Validate() error {
	switch {
	case strings.TrimSpace(c.Data) == "":
		return errors.New("data: must not be empty")
	case !oneOf(c.Log.Level, "debug", "info", "warn", "error"):
		return fmt.Errorf("log.level: %q is not one of debug, info, warn, error", c.Log.Level)
	case !oneOf(c.Log.Format, "auto", "text", "json"):
		return fmt.Errorf("log.format: %q is not one of auto, text, json", c.Log.Format)
	case c.Auth.SessionTTL < time.Minute || c.Auth.SessionTTL > 30*24*time.Hour:
		return fmt.Errorf("auth.session_ttl: %s is outside 1m..720h", c.Auth.SessionTTL)
	case c.Auth.APITokenTTL < time.Hour || c.Auth.APITokenTTL > 5*365*24*time.Hour:
		return fmt.Errorf("auth.api_token_ttl: %s is outside 1h..43800h", c.Auth.APITokenTTL)
	case strings.TrimSpace(c.Credentials.KeyFile) == "":
		return errors.New("credentials.key_file: must not be empty")
	case c.Recording.SweepInterval < time.Second || c.Recording.SweepInterval > 24*time.Hour:
		return fmt.Errorf("recording.sweep_interval: %s is outside 1s..24h", c.Recording.SweepInterval)
	case c.Recording.SegmentDuration < time.Second || c.Recording.SegmentDuration > 30*time.Minute:
		return fmt.Errorf("recording.segment_duration: %s is outside 1s..30m", c.Recording.SegmentDuration)
	case c.Recording.FragmentDuration < 100*time.Millisecond || c.Recording.FragmentDuration > c.Recording.SegmentDuration:
		return fmt.Errorf("recording.fragment_duration: %s is outside 100ms..segment_duration", c.Recording.FragmentDuration)
	}
	if _, err := retention.ParseFloor(c.Recording.MinFree); err != nil {
		return fmt.Errorf("recording.min_free: %w", err)
	}
	switch {
	case c.Live.HLS.IdleTimeout < time.Second || c.Live.HLS.IdleTimeout > time.Hour:
		return fmt.Errorf("live.hls.idle_timeout: %s is outside 1s..1h", c.Live.HLS.IdleTimeout)
	case c.Live.WebRTC.UDPPort < 0 || c.Live.WebRTC.UDPPort > 65535:
		return fmt.Errorf("live.webrtc.udp_port: %d is not a port", c.Live.WebRTC.UDPPort)
	case c.Live.WebRTC.TCPPort < 0 || c.Live.WebRTC.TCPPort > 65535:
		return fmt.Errorf("live.webrtc.tcp_port: %d is not a port", c.Live.WebRTC.TCPPort)
	case c.Live.WebRTC.ListenIP != "" && net.ParseIP(c.Live.WebRTC.ListenIP) == nil:
		return fmt.Errorf("live.webrtc.listen_ip: %q is not an IP address", c.Live.WebRTC.ListenIP)
	case c.Live.MaxTranscodes < 1:
		return fmt.Errorf("live.max_transcodes: %d must be at least 1", c.Live.MaxTranscodes)
	case strings.TrimSpace(c.Live.FFmpeg) == "":
		return errors.New("live.ffmpeg: must not be empty")
	case c.Live.HLS.MaxMuxers < 1:
		return fmt.Errorf("live.hls.max_muxers: %d must be at least 1", c.Live.HLS.MaxMuxers)
	case (c.RTSP.UDPRTP == "") != (c.RTSP.UDPRTCP == ""):
		return errors.New("rtsp.udp_rtp and rtsp.udp_rtcp: set both or neither")
	}
	for _, ip := range c.Live.WebRTC.PublicIPs {
		if net.ParseIP(ip) == nil {
			return fmt.Errorf("live.webrtc.public_ips: %q is not an IP address", ip)
		}
	}
	for name, addr := range map[string]string{"rtsp.listen": c.RTSP.Listen, "rtsp.udp_rtp": c.RTSP.UDPRTP, "rtsp.udp_rtcp": c.RTSP.UDPRTCP} {
		if addr != "" {
			if err := checkHostPort(addr); err != nil {
				return fmt.Errorf("%s: %w", name, err)
			}
		}
	}
	if err := checkHostPort(c.HTTP.Listen); err != nil {
		return fmt.Errorf("http.listen: %w", err)
	}
	if err := c.Events.validate(); err != nil {
		return err
	}
	return c.Auth.OIDC.validate()
}

// validate checks the OIDC settings when OIDC is on.
func (o *OIDC) validate() error {
	if o.Issuer == "" {
		return nil
	}
	if err := checkURL(o.Issuer); err != nil {
		return fmt.Errorf("auth.oidc.issuer: %w", err)
	}
	if err := checkURL(o.RedirectURL); err != nil {
		return fmt.Errorf("auth.oidc.redirect_url: %w", err)
	}
	switch {
	case strings.TrimSpace(o.ClientID) == "":
		return errors.New("auth.oidc.client_id: must not be empty when auth.oidc.issuer is set")
	case !slices.Contains(o.Scopes, "openid"):
		return errors.New("auth.oidc.scopes: must include openid")
	case strings.TrimSpace(o.OrgClaim) == "":
		return errors.New("auth.oidc.org_claim: must not be empty")
	case strings.TrimSpace(o.RoleClaim) == "":
		return errors.New("auth.oidc.role_claim: must not be empty")
	}
	for from, to := range o.RoleMap {
		if !argus.Role(to).Valid() {
			return fmt.Errorf("auth.oidc.role_map: %q maps to %q, which is not a role", from, to)
		}
	}
	return nil
}

// validate checks the event bus settings.
func (e *Events) validate() error {
	if e.Retention < time.Hour || e.Retention > 10*365*24*time.Hour {
		return fmt.Errorf("events.retention: %s is outside 1h..87600h", e.Retention)
	}
	if e.NATSURL == "" {
		return nil
	}
	for _, raw := range strings.Split(e.NATSURL, ",") {
		u, err := url.Parse(strings.TrimSpace(raw))
		if err != nil || !oneOf(u.Scheme, "nats", "tls", "ws", "wss") || u.Host == "" {
			return fmt.Errorf("events.nats_url: %q is not a nats://, tls://, ws:// or wss:// URL", redactUserinfo(raw))
		}
	}
	return nil
}

// redactUserinfo hides a password in a URL for an error message.
func redactUserinfo(raw string) string {
	if at := strings.LastIndex(raw, "@"); at >= 0 {
		if scheme := strings.Index(raw, "://"); scheme >= 0 && scheme < at {
			return raw[:scheme+3] + "…" + raw[at:]
		}
	}
	return raw
}

// checkURL accepts an absolute http or https URL.
func checkURL(s string) error {
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return fmt.Errorf("%q is not an http(s) URL", s)
	}
	return nil
}

func checkHostPort(s string) error {
	_, port, err := net.SplitHostPort(s)
	if err != nil {
		return fmt.Errorf("%q is not host:port", s)
	}
	if n, err := strconv.Atoi(port); err != nil || n < 0 || n > 65535 {
		return fmt.Errorf("%q has no valid port", s)
	}
	return nil
}

func oneOf(s string, options ...string) bool {
	for _, o := range options {
		if s == o {
			return true
		}
	}
	return false
}

// Path resolves p against the data directory unless it is absolute.
func (c *Config) Path(p string) string {
	if filepath.IsAbs(p) {
		return p
	}
	return filepath.Join(c.Data, p)
}

// DatabasePath is the embedded metadata database file.
func (c *Config) DatabasePath() string { return filepath.Join(c.Data, "argus.db") }

// RecordingsDir is where recordings live.
func (c *Config) RecordingsDir() string { return filepath.Join(c.Data, "recordings") }

// ExportsDir is where evidence exports live.
func (c *Config) ExportsDir() string { return filepath.Join(c.Data, "exports") }
