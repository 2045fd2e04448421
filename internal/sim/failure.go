package sim

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// FailMode is what a failing camera does.
type FailMode string

// The fail modes.
const (
	// FailDrop closes the camera's sessions and answers 503 to new ones
	// while active, as a camera that went off the network.
	FailDrop FailMode = "drop"
	// FailStall keeps the camera's sessions open but sends nothing while
	// active; media time keeps running, so RTP timestamps jump afterwards.
	FailStall FailMode = "stall"
	// FailGarbage sends malformed RTP payloads (random bytes, truncated
	// FU-A, reserved NAL types, truncated slices) before every other good
	// frame while active.
	FailGarbage FailMode = "garbage"
)

// Failure schedules a fail mode on one camera. Times are measured from
// Server.Start. The failure is active from After for For, and again every
// Every after that when Every is set.
type Failure struct {
	// Camera is the camera number, 1..Config.Cameras.
	Camera int
	// Mode is what the camera does while the failure is active.
	Mode FailMode
	// After is when the failure first becomes active.
	After time.Duration
	// For is how long each occurrence lasts; 0 means until the server closes.
	For time.Duration
	// Every is the period of repetition; 0 means once. It requires For and
	// must exceed it.
	Every time.Duration
}

// ParseFailure parses a fail spec:
//
//	CAMERA:MODE[:KEY=DURATION[,KEY=DURATION]...]
//
// CAMERA is the camera number (1-based), MODE is drop, stall or garbage, and
// the keys are after, for and every, with Go durations ("500ms", "10s").
// Examples: "3:drop:after=10s,for=5s,every=30s", "5:stall:after=2s,for=30s",
// "7:garbage".
func ParseFailure(spec string) (Failure, error) {
	var f Failure
	bad := func(format string, args ...any) (Failure, error) {
		return Failure{}, fmt.Errorf("parse fail spec %q: "+format, append([]any{spec}, args...)...)
	}
	parts := strings.SplitN(spec, ":", 3)
	if len(parts) < 2 {
		return bad("want CAMERA:MODE[:after=D,for=D,every=D]")
	}
	n, err := strconv.Atoi(parts[0])
	if err != nil || n < 1 {
		return bad("camera %q is not a positive number", parts[0])
	}
	f.Camera = n
	switch m := FailMode(parts[1]); m {
	case FailDrop, FailStall, FailGarbage:
		f.Mode = m
	default:
		return bad("unknown mode %q (want drop, stall or garbage)", parts[1])
	}
	if len(parts) == 3 {
		seen := map[string]bool{}
		for opt := range strings.SplitSeq(parts[2], ",") {
			key, val, ok := strings.Cut(opt, "=")
			if !ok {
				return bad("option %q is not KEY=DURATION", opt)
			}
			var dst *time.Duration
			switch key {
			case "after":
				dst = &f.After
			case "for":
				dst = &f.For
			case "every":
				dst = &f.Every
			default:
				return bad("unknown option %q (want after, for or every)", key)
			}
			if seen[key] {
				return bad("option %q given twice", key)
			}
			seen[key] = true
			d, err := time.ParseDuration(val)
			if err != nil {
				return Failure{}, fmt.Errorf("parse fail spec %q: %s: %w", spec, key, err)
			}
			switch {
			case d < 0:
				return bad("%s must not be negative, got %s", key, val)
			case d == 0 && key != "after":
				return bad("%s must be positive, got %s", key, val)
			}
			*dst = d
		}
	}
	if err := f.validate(); err != nil {
		return Failure{}, fmt.Errorf("parse fail spec %q: %w", spec, err)
	}
	return f, nil
}

func (f Failure) validate() error {
	switch {
	case f.Camera < 1:
		return fmt.Errorf("camera %d is not a positive number", f.Camera)
	case f.Mode != FailDrop && f.Mode != FailStall && f.Mode != FailGarbage:
		return fmt.Errorf("unknown mode %q (want drop, stall or garbage)", f.Mode)
	case f.After < 0 || f.For < 0 || f.Every < 0:
		return fmt.Errorf("negative duration in %s", f)
	case f.Every > 0 && f.For == 0:
		return errors.New("every needs for")
	case f.Every > 0 && f.Every <= f.For:
		return fmt.Errorf("every (%s) must be longer than for (%s)", f.Every, f.For)
	}
	return nil
}

// String returns the failure as a fail spec that ParseFailure accepts.
func (f Failure) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%d:%s", f.Camera, f.Mode)
	sep := ":"
	for _, o := range []struct {
		key string
		d   time.Duration
	}{{"after", f.After}, {"for", f.For}, {"every", f.Every}} {
		if o.d != 0 {
			fmt.Fprintf(&b, "%s%s=%s", sep, o.key, o.d)
			sep = ","
		}
	}
	return b.String()
}

// activeAt reports whether the failure is active at elapsed time since
// Start.
func (f Failure) activeAt(elapsed time.Duration) bool {
	if elapsed < f.After {
		return false
	}
	if f.For == 0 {
		return true
	}
	since := elapsed - f.After
	if f.Every > 0 {
		since %= f.Every
	}
	return since < f.For
}
