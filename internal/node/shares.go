package node

import (
	"context"
	"errors"
	"time"

	"argus"
	"argus/internal/access"
	"argus/internal/live"
)

// shareWatchInterval is how often the node looks for shares that stopped
// being in effect; with the gate's reload on a local revocation, a live
// session a share allowed ends within about twice this.
const shareWatchInterval = 500 * time.Millisecond

// errShareEnded is the cause given to live sessions ended because the share
// or emergency grant that allowed them was revoked or has ended.
var errShareEnded = errors.New("a share was revoked, or a share or emergency grant has ended")

// startShareWatch ends the live sessions whose viewers the gate no longer
// allows to watch their camera, each time a share or an emergency grant
// stops being in effect. It returns the function that stops it and waits
// for it.
func (n *Node) startShareWatch(ctx context.Context) (stop func()) {
	if n.live == nil {
		return func() {}
	}
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		n.gate.WatchShares(ctx, shareWatchInterval, func(ctx context.Context) {
			if closed := n.live.sessions.Recheck(ctx, n.mayStillWatch, errShareEnded); closed > 0 {
				n.logger.Info("ended live sessions no longer allowed", "sessions", closed, "cause", errShareEnded.Error())
			}
		})
	}()
	return func() { cancel(); <-done }
}

// mayStillWatch asks the gate again whether the session's viewer, as they
// are now, may watch its camera live. A viewer or camera that is gone, or
// cannot be read, ends the session: the viewer may open a new one.
func (n *Node) mayStillWatch(ctx context.Context, s live.Session) bool {
	u, err := n.store.User(ctx, s.UserID)
	if err != nil || u.Disabled {
		return false
	}
	c, err := n.store.Camera(ctx, s.CameraID)
	if err != nil {
		return false
	}
	return n.gate.Check(ctx, access.PrincipalOf(u, ""), argus.ActionLive, argus.CameraResource(c)) == nil
}
