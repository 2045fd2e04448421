package config_test

import (
	"bytes"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"argus/internal/config"
)

func TestDefaultConfFile(t *testing.T) {
	b, err := os.ReadFile("../../argus.example.yml")
	if err != nil {
		t.Fatal(err)
	}
	var got config.Config // zero, so every field must come from the file
	if err := config.Decode(b, &got); err != nil {
		t.Fatalf("decode argus.example.yml: %v", err)
	}
	if want := config.Default(); !reflect.DeepEqual(got, want) {
		t.Fatalf("argus.example.yml differs from Default():\n file: %+v\n code: %+v", got, want)
	}
	if err := got.Validate(); err != nil {
		t.Fatalf("defaults do not validate: %v", err)
	}
}

func TestLoadLayers(t *testing.T) {
	path := filepath.Join(t.TempDir(), "argus.yml")
	if err := os.WriteFile(path, []byte("data: /srv/argus\nhttp:\n  listen: 0.0.0.0:9000\nlog:\n  level: debug\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Load(path, []string{"ARGUS_HTTP_LISTEN=127.0.0.1:7000", "ARGUS_AUTH_SESSION_TTL=2h", "ARGUS_HTTP_METRICS_PUBLIC=true", "ARGUS_ADMIN_PASSWORD=ignored", "HOME=/root",
		"ARGUS_RECORDING_MIN_FREE=20GiB", "ARGUS_RECORDING_SWEEP_INTERVAL=30s",
		"ARGUS_EVENTS_NATS_URL=nats://nats-1.example:4222,tls://nats-2.example:4222", "ARGUS_EVENTS_RETENTION=2160h"})
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Data != "/srv/argus" || cfg.Log.Level != "debug" {
		t.Errorf("file values not applied: %+v", cfg)
	}
	if cfg.HTTP.Listen != "127.0.0.1:7000" || cfg.Auth.SessionTTL != 2*time.Hour || !cfg.HTTP.MetricsPublic {
		t.Errorf("environment did not win over the file: %+v", cfg)
	}
	if cfg.Recording.MinFree != "20GiB" || cfg.Recording.SweepInterval != 30*time.Second {
		t.Errorf("recording settings from the environment not applied: %+v", cfg.Recording)
	}
	if cfg.Events.NATSURL != "nats://nats-1.example:4222,tls://nats-2.example:4222" || cfg.Events.Retention != 90*24*time.Hour {
		t.Errorf("event bus settings from the environment not applied: %+v", cfg.Events)
	}
	if cfg.Log.Format != "auto" {
		t.Errorf("unset value lost its default: %q", cfg.Log.Format)
	}
}

func TestConfErrors(t *testing.T) {
	for _, tc := range []struct {
		name string
		yaml string
		env  []string
		want string
	}{
		{"unknown key", "datta: x\n", nil, "field datta not found"},
		{"unknown nested key", "http:\n  listne: x\n", nil, "field listne not found"},
		{"wrong type", "http: 5\n", nil, "cannot unmarshal"},
		{"two documents", "data: a\n---\ndata: b\n", nil, "more than one YAML document"},
		{"bad level", "log:\n  level: loud\n", nil, `log.level: "loud" is not one of debug, info, warn, error`},
		{"bad format", "log:\n  format: xml\n", nil, `log.format: "xml" is not one of auto, text, json`},
		{"bad listen", "http:\n  listen: nowhere\n", nil, `http.listen: "nowhere" is not host:port`},
		{"bad port", "http:\n  listen: 127.0.0.1:99999\n", nil, `http.listen: "127.0.0.1:99999" has no valid port`},
		{"empty data", "data: ''\n", nil, "data: must not be empty"},
		{"short session", "auth:\n  session_ttl: 1s\n", nil, "auth.session_ttl: 1s is outside 1m..720h"},
		{"bad duration", "auth:\n  session_ttl: soon\n", nil, "cannot unmarshal"},
		{"unknown env", "", []string{"ARGUS_HTTP_LISTN=x"}, "environment: ARGUS_HTTP_LISTN is not a setting"},
		{"bad env bool", "", []string{"ARGUS_HTTP_METRICS_PUBLIC=maybe"}, `environment: ARGUS_HTTP_METRICS_PUBLIC: "maybe" is not true or false`},
		{"bad env duration", "", []string{"ARGUS_AUTH_SESSION_TTL=soon"}, `environment: ARGUS_AUTH_SESSION_TTL: "soon" is not a duration`},
		{"empty key file", "credentials:\n  key_file: ''\n", nil, "credentials.key_file: must not be empty"},
		{"bad min free", "recording:\n  min_free: lots\n", nil, `recording.min_free: "lots" is not a size (e.g. 2GiB, 500MB, 1048576) or a percentage (e.g. 5%)`},
		{"min free of the whole disk", "recording:\n  min_free: 100%\n", nil, `recording.min_free: "100%" is not a percentage in 0..100 (e.g. 5%)`},
		{"bad min free from env", "", []string{"ARGUS_RECORDING_MIN_FREE=-1GB"}, `recording.min_free: "-1GB" is not a size`},
		{"sweep too often", "recording:\n  sweep_interval: 10ms\n", nil, "recording.sweep_interval: 10ms is outside 1s..24h"},
		{"events kept too briefly", "events:\n  retention: 10m\n", nil, "events.retention: 10m0s is outside 1h..87600h"},
		{"events nats url not nats", "events:\n  nats_url: http://nats.example:4222\n", nil, `events.nats_url: "http://nats.example:4222" is not a nats://`},
		{"events nats url without host", "", []string{"ARGUS_EVENTS_NATS_URL=nats://a.example:4222,nats://"}, `events.nats_url: "nats://" is not`},
		{"events nats url password hidden", "events:\n  nats_url: 'http://argus:s3cret@nats.example'\n", nil, `"http://…@nats.example"`},
		{"oidc issuer not a URL", "auth:\n  oidc:\n    issuer: idp.example\n", nil, `auth.oidc.issuer: "idp.example" is not an http(s) URL`},
		{"oidc without client id", "auth:\n  oidc:\n    issuer: https://idp.example\n    redirect_url: https://a.example/cb\n", nil,
			"auth.oidc.client_id: must not be empty"},
		{"oidc without redirect", "auth:\n  oidc:\n    issuer: https://idp.example\n    client_id: argus\n", nil, `auth.oidc.redirect_url: "" is not an http(s) URL`},
		{"oidc without openid", "auth:\n  oidc:\n    issuer: https://idp.example\n    client_id: argus\n    redirect_url: https://argus.example/api/v1/oidc/callback\n    scopes: [profile]\n", nil, "auth.oidc.scopes: must include openid"},
		{"oidc role map to no role", "auth:\n  oidc:\n    issuer: https://idp.example\n    client_id: argus\n    redirect_url: https://argus.example/api/v1/oidc/callback\n    role_map: {cctv: boss}\n", nil, `auth.oidc.role_map: "cctv" maps to "boss", which is not a role`},
		{"oidc empty org claim", "auth:\n  oidc:\n    issuer: https://idp.example\n    client_id: argus\n    redirect_url: https://argus.example/api/v1/oidc/callback\n    org_claim: ''\n", nil, "auth.oidc.org_claim: must not be empty"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "argus.yml")
			if err := os.WriteFile(path, []byte(tc.yaml), 0o600); err != nil {
				t.Fatal(err)
			}
			_, err := config.Load(path, tc.env)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Load error = %v, want it to contain %q", err, tc.want)
			}
		})
	}
}

// TestOIDCSecretFromEnvironment: the client secret comes from
// ARGUS_AUTH_OIDC_CLIENT_SECRET and never prints.
func TestOIDCSecretFromEnvironment(t *testing.T) {
	cfg, err := config.Load("", []string{"ARGUS_AUTH_OIDC_ISSUER=https://idp.example", "ARGUS_AUTH_OIDC_CLIENT_ID=argus",
		"ARGUS_AUTH_OIDC_REDIRECT_URL=https://argus.example/api/v1/oidc/callback", "ARGUS_AUTH_OIDC_CLIENT_SECRET=s3cret-value"})
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Auth.OIDC.ClientSecret != "s3cret-value" {
		t.Fatalf("client secret = %q, want the environment's", string(cfg.Auth.OIDC.ClientSecret))
	}
	var logged bytes.Buffer
	slog.New(slog.NewJSONHandler(&logged, nil)).Info("config", "oidc", cfg.Auth.OIDC, "secret", cfg.Auth.OIDC.ClientSecret)
	for _, out := range []string{fmt.Sprintf("%v %+v %#v", cfg, cfg, cfg), logged.String()} {
		if strings.Contains(out, "s3cret-value") {
			t.Fatalf("the client secret is printed: %s", out)
		}
	}
}

func TestLoadMissingFile(t *testing.T) {
	_, err := config.Load(filepath.Join(t.TempDir(), "nope.yml"), nil)
	if err == nil || !strings.Contains(err.Error(), "read config") {
		t.Fatalf("err = %v", err)
	}
}

func TestEmptyFileKeepsDefaults(t *testing.T) {
	var cfg = config.Default()
	if err := config.Decode(nil, &cfg); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(cfg, config.Default()) {
		t.Fatalf("empty file changed the config: %+v", cfg)
	}
}

func TestPaths(t *testing.T) {
	cfg := config.Default()
	cfg.Data = "/d"
	if got := cfg.Path("keys/k"); got != "/d/keys/k" {
		t.Errorf("Path relative = %q", got)
	}
	if got := cfg.Path("/etc/k"); got != "/etc/k" {
		t.Errorf("Path absolute = %q", got)
	}
	if cfg.DatabasePath() != "/d/argus.db" || cfg.RecordingsDir() != "/d/recordings" {
		t.Errorf("paths: %s %s", cfg.DatabasePath(), cfg.RecordingsDir())
	}
}

// FuzzDecode feeds arbitrary bytes to the strict decoder: it must never
// panic, and whatever it accepts must survive validation without panicking.
func FuzzDecode(f *testing.F) {
	b, err := os.ReadFile("../../argus.example.yml")
	if err != nil {
		f.Fatal(err)
	}
	f.Add(b)
	f.Fuzz(func(t *testing.T, b []byte) {
		cfg := config.Default()
		if err := config.Decode(b, &cfg); err != nil {
			return
		}
		_ = cfg.Validate()
	})
}
