package node

import (
	"context"
	"sync"

	"argus"
	"argus/internal/api"
	"argus/internal/ingest"
)

// pulledCameras remembers the directory's copy (without credentials) of
// every camera ingest has resolved, as of its last connection attempt, so
// that the map's grid can place the cameras in trouble without a query.
type pulledCameras struct {
	// mu guards cams.
	mu   sync.Mutex
	cams map[string]*argus.Camera
}

func (p *pulledCameras) remember(c *argus.Camera) {
	r := c.Redacted()
	r.Username = ""
	p.mu.Lock()
	p.cams[c.ID] = r
	p.mu.Unlock()
}

// troubled returns the remembered cameras that health reports pulled in a
// state other than online and connecting, and forgets those it reports
// not pulled.
func (p *pulledCameras) troubled(health func(id string) (ingest.Health, bool)) []api.TroubledCamera {
	p.mu.Lock()
	cams := make([]*argus.Camera, 0, len(p.cams))
	for _, c := range p.cams {
		cams = append(cams, c)
	}
	p.mu.Unlock()
	var out []api.TroubledCamera
	var gone []*argus.Camera
	for _, c := range cams {
		h, ok := health(c.ID)
		switch {
		case !ok:
			gone = append(gone, c)
		case h.State != ingest.StateOnline && h.State != ingest.StateConnecting:
			out = append(out, api.TroubledCamera{Camera: c, State: string(h.State)})
		}
	}
	if len(gone) > 0 {
		p.mu.Lock()
		for _, c := range gone {
			// A camera resolved again meanwhile is pulled again: keep it.
			if p.cams[c.ID] == c {
				delete(p.cams, c.ID)
			}
		}
		p.mu.Unlock()
	}
	return out
}

// rememberingStore is the directory as the ingest resolver reads it: every
// camera it returns is remembered in pulled.
type rememberingStore struct {
	argus.CameraStore
	pulled *pulledCameras
}

// Camera implements argus.CameraStore.
func (s rememberingStore) Camera(ctx context.Context, id string) (*argus.Camera, error) {
	c, err := s.CameraStore.Camera(ctx, id)
	if err == nil {
		s.pulled.remember(c)
	}
	return c, err
}

// troubledCameras lists the cameras this node pulls whose ingest state is a
// failure, for the API's grid; none on a node without the media core.
func (n *Node) troubledCameras() []api.TroubledCamera {
	if n.media == nil {
		return nil
	}
	return n.media.pulled.troubled(n.media.ingest.Health)
}
