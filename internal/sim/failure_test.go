package sim

import (
	"testing"
	"time"
)

func TestParseFailure(t *testing.T) {
	t.Parallel()
	good := []struct {
		spec string
		want Failure
	}{
		{"3:drop:after=10s,for=5s,every=30s", Failure{Camera: 3, Mode: FailDrop, After: 10 * time.Second, For: 5 * time.Second, Every: 30 * time.Second}},
		{"5:stall:after=2s,for=30s", Failure{Camera: 5, Mode: FailStall, After: 2 * time.Second, For: 30 * time.Second}},
		{"7:garbage", Failure{Camera: 7, Mode: FailGarbage}},
		{"12:garbage:for=500ms", Failure{Camera: 12, Mode: FailGarbage, For: 500 * time.Millisecond}},
		{"1:drop:every=1m,for=1s", Failure{Camera: 1, Mode: FailDrop, For: time.Second, Every: time.Minute}},
		{"2:stall:after=0s", Failure{Camera: 2, Mode: FailStall}},
	}
	for _, tt := range good {
		t.Run(tt.spec, func(t *testing.T) {
			got, err := ParseFailure(tt.spec)
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Fatalf("ParseFailure = %+v, want %+v", got, tt.want)
			}
			again, err := ParseFailure(got.String())
			if err != nil || again != got {
				t.Fatalf("String() = %q parses to %+v, %v", got.String(), again, err)
			}
		})
	}

	bad := []struct {
		spec string
		want string
	}{
		{"", `parse fail spec "": want CAMERA:MODE[:after=D,for=D,every=D]`},
		{"3", `parse fail spec "3": want CAMERA:MODE[:after=D,for=D,every=D]`},
		{"x:drop", `parse fail spec "x:drop": camera "x" is not a positive number`},
		{"0:drop", `parse fail spec "0:drop": camera "0" is not a positive number`},
		{"-2:drop", `parse fail spec "-2:drop": camera "-2" is not a positive number`},
		{"3:explode", `parse fail spec "3:explode": unknown mode "explode" (want drop, stall or garbage)`},
		{"3:DROP", `parse fail spec "3:DROP": unknown mode "DROP" (want drop, stall or garbage)`},
		{"3:drop:", `parse fail spec "3:drop:": option "" is not KEY=DURATION`},
		{"3:drop:after", `parse fail spec "3:drop:after": option "after" is not KEY=DURATION`},
		{"3:drop:after=1s,", `parse fail spec "3:drop:after=1s,": option "" is not KEY=DURATION`},
		{"3:drop:soon=1s", `parse fail spec "3:drop:soon=1s": unknown option "soon" (want after, for or every)`},
		{"3:drop:for=1s,for=2s", `parse fail spec "3:drop:for=1s,for=2s": option "for" given twice`},
		{"3:drop:after=x", `parse fail spec "3:drop:after=x": after: time: invalid duration "x"`},
		{"3:drop:for=10", `parse fail spec "3:drop:for=10": for: time: missing unit in duration "10"`},
		{"3:drop:after=-1s", `parse fail spec "3:drop:after=-1s": after must not be negative, got -1s`},
		{"3:drop:for=0s", `parse fail spec "3:drop:for=0s": for must be positive, got 0s`},
		{"3:drop:every=10s", `parse fail spec "3:drop:every=10s": every needs for`},
		{"3:drop:for=10s,every=5s", `parse fail spec "3:drop:for=10s,every=5s": every (5s) must be longer than for (10s)`},
		{"3:drop:for=10s,every=10s", `parse fail spec "3:drop:for=10s,every=10s": every (10s) must be longer than for (10s)`},
		{"3:drop:for=1s:every=2s", `parse fail spec "3:drop:for=1s:every=2s": for: time: unknown unit "s:every=" in duration "1s:every=2s"`},
	}
	for _, tt := range bad {
		t.Run(tt.spec, func(t *testing.T) {
			_, err := ParseFailure(tt.spec)
			if err == nil || err.Error() != tt.want {
				t.Fatalf("ParseFailure(%q) error:\n got: %v\nwant: %s", tt.spec, err, tt.want)
			}
		})
	}
}
