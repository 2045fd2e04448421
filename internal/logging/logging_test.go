package logging_test

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"argus/internal/logging"
)

func TestNew(t *testing.T) {
	for _, tc := range []struct {
		level, format string
		json          bool
		debugShown    bool
	}{
		{"info", "auto", true, false}, // a buffer is not a terminal
		{"debug", "json", true, true},
		{"warn", "text", false, false},
	} {
		t.Run(tc.level+"/"+tc.format, func(t *testing.T) {
			var buf bytes.Buffer
			l, err := logging.New(&buf, tc.level, tc.format)
			if err != nil {
				t.Fatal(err)
			}
			l.Debug("dbg")
			l.Error("boom", "camera", "c1")
			out := buf.String()
			if strings.Contains(out, "dbg") != tc.debugShown {
				t.Errorf("debug shown = %v in %q", !tc.debugShown, out)
			}
			last := strings.TrimSpace(out[strings.LastIndex(strings.TrimSpace(out), "\n")+1:])
			var m map[string]any
			isJSON := json.Unmarshal([]byte(last), &m) == nil
			if isJSON != tc.json {
				t.Errorf("json = %v, want %v: %q", isJSON, tc.json, last)
			}
			if !strings.Contains(last, "c1") {
				t.Errorf("attribute missing: %q", last)
			}
		})
	}
}

func TestNewErrors(t *testing.T) {
	if _, err := logging.New(nil, "loud", "text"); err == nil {
		t.Error("bad level accepted")
	}
	if _, err := logging.New(nil, "info", "xml"); err == nil || !strings.Contains(err.Error(), "xml") {
		t.Errorf("bad format: %v", err)
	}
}
