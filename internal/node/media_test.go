package node

import (
	"context"
	"testing"

	"argus"
	"argus/internal/ingest"
)

// oneCamera is a directory holding one camera.
type oneCamera struct {
	argus.CameraStore
	cam argus.Camera
}

func (d oneCamera) Camera(_ context.Context, id string) (*argus.Camera, error) {
	if id != d.cam.ID {
		return nil, argus.Errorf(argus.ENOTFOUND, "camera %q not found", id)
	}
	c := d.cam
	return &c, nil
}

func TestResolverPullsTheSubStreamWithTheCamerasCredentials(t *testing.T) {
	withSub := argus.Camera{ID: "gate", StreamURL: "rtsp://10.0.0.9/main", SubStreamURL: "rtsp://10.0.0.9/sub",
		Username: "admin", Password: "pw", Transport: "tcp"}
	noSub := withSub
	noSub.SubStreamURL = ""
	for _, tc := range []struct {
		name   string
		cam    argus.Camera
		stream string
		want   string // URL; "" for an error
	}{
		{"main stream", withSub, "gate", "rtsp://10.0.0.9/main"},
		{"sub-stream", withSub, "gate~sub", "rtsp://10.0.0.9/sub"},
		{"sub-stream of a camera without one", noSub, "gate~sub", ""},
		{"transcode is not pulled from the camera", withSub, "gate~h264", ""},
		{"unknown camera", withSub, "door~sub", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := resolver(oneCamera{cam: tc.cam})(t.Context(), tc.stream)
			if tc.want == "" {
				if err == nil {
					t.Fatalf("resolved %q to %+v, want an error", tc.stream, got)
				}
				return
			}
			want := ingest.Target{URL: tc.want, Username: "admin", Password: "pw", Transport: "tcp"}
			if err != nil || got != want {
				t.Fatalf("resolve %q = %+v, %v; want %+v", tc.stream, got, err, want)
			}
		})
	}
}
