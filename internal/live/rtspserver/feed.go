package rtspserver

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/bluenviron/gortsplib/v5"
	"github.com/bluenviron/gortsplib/v5/pkg/description"
	"github.com/pion/rtp"

	"argus"
	"argus/internal/hub"
)

// startTimeout bounds how long a feed waits for its camera's first unit.
const startTimeout = 10 * time.Second

// maxCatchUp is the most packets a new viewer is sent from the cached GOP.
// It is half the sessions' write queue, so that the catch-up and the live
// packets behind it fit; a longer GOP makes the viewer wait for the next
// keyframe instead.
const maxCatchUp = writeQueueSize / 2

// errMediaChanged ends a feed whose camera changed its tracks: the RTSP
// description cannot change under a playing session.
var errMediaChanged = errors.New("the camera's tracks changed")

// feed is one camera served over RTSP: one hub reader, one packetiser per
// track, the ServerStream that describes it, the packets since the last
// keyframe and the viewers they are written to. The server creates it on
// the first DESCRIBE or SETUP and closes it Linger after its last session.
type feed struct {
	srv    *Server
	camera string
	ctx    context.Context
	cancel context.CancelCauseFunc

	// ready is closed once the feed serves (stream set) or failed (err
	// set); neither changes afterwards.
	ready  chan struct{}
	err    error
	stream *gortsplib.ServerStream

	// The fields below are owned by the feed's goroutine.
	reader *hub.Reader
	first  *hub.Unit
	media  *hub.Media
	tracks []*track // by hub track index

	// refs, linger and lingerGen are guarded by srv.mu: refs counts the
	// sessions (and DESCRIBEs in progress) using the feed; linger closes it
	// once it has had none for Linger; lingerGen invalidates a timer that
	// fires after it was superseded.
	refs      int
	linger    *time.Timer
	lingerGen uint64

	// mu guards the fields below. The feed's goroutine holds it while it
	// writes a unit's packets to the viewers; nothing done under it blocks
	// (gortsplib queues each packet without waiting).
	mu       sync.Mutex
	viewers  map[*gortsplib.ServerSession]*viewer
	hasVideo bool
	gop      []cachedUnit // the packets from the last video keyframe on
	gopPkts  int
	caching  bool
}

// cachedUnit is one unit's packets, kept for late joiners.
type cachedUnit struct {
	medi *description.Media
	pkts []*rtp.Packet
	ntp  time.Time
}

// viewer is a playing session of a feed.
type viewer struct {
	ss     *gortsplib.ServerSession
	medias map[*description.Media]bool // the medias the viewer set up
	// synced is true from the keyframe the viewer started on until a write
	// fails; an unsynced viewer waits for the next keyframe.
	synced bool
}

// run starts the feed and then writes its camera's units until the feed's
// context ends or the stream fails; it closes everything it opened.
func (f *feed) run() {
	if err := f.start(); err != nil {
		f.err = err
		f.srv.forget(f)
		f.cancel(err)
		close(f.ready)
		return
	}
	close(f.ready)
	err := f.loop()
	f.srv.forget(f)
	f.cancel(err)
	switch {
	case f.srv.ctx.Err() != nil:
	case errors.Is(err, errIdle):
		f.srv.log.Debug("rtsp feed closed", "camera", f.camera, "reason", err)
	default:
		f.srv.log.Info("rtsp feed ended", "camera", f.camera, "err", err)
	}
	f.stream.Close() // closes the feed's sessions
	if f.reader != nil {
		f.reader.Close()
	}
}

// start attaches the hub reader, waits for the first unit and builds the
// stream description from its Media.
func (f *feed) start() error {
	r, err := f.srv.cfg.Hub.Attach(f.ctx, f.camera, hub.ReaderOptions{Name: "rtsp"})
	if err != nil {
		return fmt.Errorf("attach camera %s: %w", f.camera, err)
	}
	ctx, cancel := context.WithTimeout(f.ctx, startTimeout)
	u, err := r.Read(ctx)
	cancel()
	if err != nil {
		r.Close()
		if f.ctx.Err() != nil {
			return context.Cause(f.ctx)
		}
		return &argus.Error{Code: argus.EUNAVAILABLE, Message: fmt.Sprintf("camera %s is not streaming", f.camera)}
	}
	f.reader, f.first, f.media = r, u, u.Media
	desc := &description.Session{}
	f.tracks = make([]*track, len(u.Media.Tracks))
	for i, t := range u.Media.Tracks {
		tr, err := newTrack(t, 96+uint8(i))
		if err != nil {
			f.srv.log.Warn("rtsp: track not served", "camera", f.camera, "track", i, "err", err)
			continue
		}
		f.tracks[i] = tr
		f.hasVideo = f.hasVideo || tr.video
		desc.Medias = append(desc.Medias, tr.medi)
	}
	if len(desc.Medias) == 0 {
		r.Close()
		return &argus.Error{Code: argus.EUNAVAILABLE, Message: fmt.Sprintf("camera %s has no track that can be served", f.camera)}
	}
	st := &gortsplib.ServerStream{Server: f.srv.rtsp, Desc: desc}
	if err := st.Initialize(); err != nil {
		r.Close()
		return fmt.Errorf("init rtsp stream: %w", err)
	}
	f.stream = st
	return nil
}

// loop writes units until the feed ends; it returns why.
func (f *feed) loop() error {
	u := f.first
	f.first = nil
	for {
		if err := f.write(u); err != nil {
			return err
		}
		var err error
		u, err = f.reader.Read(f.ctx)
		if errors.Is(err, hub.ErrDropped) {
			// We fell behind the camera: start again at the next live
			// unit, and every viewer at the next keyframe.
			f.srv.log.Warn("rtsp feed fell behind; resyncing", "camera", f.camera)
			f.reader.Close()
			f.resync()
			if f.reader, err = f.srv.cfg.Hub.Attach(f.ctx, f.camera, hub.ReaderOptions{Name: "rtsp", SkipGOP: true}); err != nil {
				f.reader = nil
				return err
			}
			u, err = f.reader.Read(f.ctx)
		}
		if err != nil {
			if f.ctx.Err() != nil {
				return context.Cause(f.ctx)
			}
			return err
		}
	}
}

// write packetises u, caches its packets when they belong to the current
// GOP, and writes them to every synced viewer.
func (f *feed) write(u *hub.Unit) error {
	if u.Media != f.media {
		if !compatible(f.media, u.Media) {
			return errMediaChanged
		}
		reload := false
		for i, tr := range f.tracks {
			if tr != nil && tr.video && tr.setParams(u.Media.Tracks[i]) {
				reload = true
			}
		}
		if reload {
			f.stream.ReloadDesc()
		}
		f.media = u.Media
	}
	tr := f.tracks[u.Track]
	if tr == nil {
		return nil
	}
	pkts, err := tr.encode(u)
	if err != nil {
		f.srv.log.Debug("rtsp: cannot packetise unit", "camera", f.camera, "track", u.Track, "err", err)
		return nil
	}
	ts := tr.base + uint32(u.PTS)
	for _, p := range pkts {
		p.Timestamp += ts
	}
	key := tr.video && u.Key

	f.mu.Lock()
	defer f.mu.Unlock()
	f.cache(key, tr.medi, pkts, u.Wall)
	for _, v := range f.viewers {
		if key {
			v.synced = true
		}
		if v.synced {
			f.send(v, tr.medi, pkts, u.Wall)
		}
	}
	return nil
}

// cache keeps a unit's packets if they start or continue the GOP. The
// caller holds mu.
func (f *feed) cache(key bool, medi *description.Media, pkts []*rtp.Packet, ntp time.Time) {
	switch {
	case !f.hasVideo:
		return // audio only: viewers start at the next unit
	case key:
		f.clearGOP()
		f.caching = true
	case !f.caching:
		return
	case len(f.gop) >= hub.DefaultMaxGOP:
		f.clearGOP() // too long: wait for the next keyframe
		return
	}
	f.gop = append(f.gop, cachedUnit{medi: medi, pkts: pkts, ntp: ntp})
	f.gopPkts += len(pkts)
}

func (f *feed) clearGOP() {
	clear(f.gop)
	f.gop = f.gop[:0]
	f.gopPkts = 0
	f.caching = false
}

// resync drops the GOP cache and makes every viewer wait for the next
// keyframe.
func (f *feed) resync() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.clearGOP()
	for _, v := range f.viewers {
		v.synced = false
	}
}

// send queues pkts to v; if the session's queue is full, v waits for the
// next keyframe (the hub's rule: a slow viewer never stalls the others).
// The caller holds mu, which also serialises gortsplib's rewrite of each
// shared packet's SSRC.
func (f *feed) send(v *viewer, medi *description.Media, pkts []*rtp.Packet, ntp time.Time) {
	if !v.medias[medi] {
		return
	}
	for _, p := range pkts {
		if err := v.ss.WritePacketRTPWithNTP(medi, p, ntp); err != nil {
			v.synced = false
			f.srv.log.Debug("rtsp viewer fell behind; waiting for a keyframe", "camera", f.camera, "err", err)
			return
		}
	}
}

// addViewer starts writing to ss, a session whose PLAY was answered: with
// catchUp, first the cached GOP when there is one (so the viewer starts on
// a keyframe at once), then every unit. Otherwise, or without a cached GOP,
// the viewer starts at the next keyframe.
func (f *feed) addViewer(ss *gortsplib.ServerSession, catchUp bool) {
	v := &viewer{ss: ss, medias: map[*description.Media]bool{}}
	for _, m := range ss.Medias() {
		v.medias[m] = true
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.viewers[ss] != nil {
		return // a second PLAY
	}
	switch {
	case !f.hasVideo:
		v.synced = true
	case catchUp && f.caching && f.gopPkts <= maxCatchUp:
		v.synced = true
		for _, c := range f.gop {
			f.send(v, c.medi, c.pkts, c.ntp)
			if !v.synced {
				break
			}
		}
	}
	f.viewers[ss] = v
}

// removeViewer stops writing to ss.
func (f *feed) removeViewer(ss *gortsplib.ServerSession) {
	f.mu.Lock()
	defer f.mu.Unlock()
	delete(f.viewers, ss)
}
