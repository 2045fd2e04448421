package api

import (
	"context"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"

	"argus"
	"argus/internal/live"
)

// WHEPService is a node's WebRTC live video, signalled with WHEP; the
// API authorises each offer and hands it over. *whep.Service implements
// it.
type WHEPService interface {
	// Offer starts a session of viewer watching cam from the network
	// address client and returns the SDP answer and the session's id.
	Offer(ctx context.Context, cam *argus.Camera, viewer argus.Principal, client, offerSDP string) (answerSDP, sessionID string, err error)
	// Patch adds the ICE candidates of an RFC 8840 SDP fragment to
	// viewer's session.
	Patch(ctx context.Context, sessionID string, viewer argus.Principal, sdpFrag string) error
	// Delete ends viewer's session.
	Delete(ctx context.Context, sessionID string, viewer argus.Principal) error
	// Source says which stream the session plays: the camera's main
	// stream, its H.264 sub-stream, or a transcode (for H.265 cameras).
	Source(sessionID string) live.Source
}

// Media types of WHEP bodies.
const (
	mediaSDP     = "application/sdp"
	mediaSDPFrag = "application/trickle-ice-sdpfrag"
)

// maxSDPBytes limits a WHEP offer or SDP fragment; a browser's offer is
// a few kilobytes.
const maxSDPBytes = 64 << 10

// whepOffer answers a viewer's SDP offer for a camera (WHEP): 201 with
// the answer and the session's URL in Location.
func (s *Server) whepOffer(w http.ResponseWriter, r *http.Request) error {
	if s.whep == nil {
		return errNoWHEP()
	}
	if err := requireMediaType(r, mediaSDP); err != nil {
		return err
	}
	c, err := s.visibleCamera(r)
	if err != nil {
		return err
	}
	p := principal(r)
	if err := s.gate.Check(r.Context(), p, argus.ActionLive, cameraResource(c)); err != nil {
		return err
	}
	offer, err := readSDP(r, "an SDP offer")
	if err != nil {
		return err
	}
	answer, id, err := s.whep.Offer(r.Context(), c, p, r.RemoteAddr, offer)
	if err != nil {
		return err
	}
	w.Header().Set("Content-Type", mediaSDP)
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Location", "/api/v1/whep/"+id)
	w.Header().Set(live.SourceHeader, string(s.whep.Source(id)))
	w.WriteHeader(http.StatusCreated)
	_, _ = io.WriteString(w, answer) // the client went away; its session times out
	return nil
}

// whepPatch trickles a viewer's ICE candidates into its session.
func (s *Server) whepPatch(w http.ResponseWriter, r *http.Request) error {
	if s.whep == nil {
		return errNoWHEP()
	}
	if err := requireMediaType(r, mediaSDPFrag); err != nil {
		return err
	}
	frag, err := readSDP(r, "an SDP fragment")
	if err != nil {
		return err
	}
	if err := s.whep.Patch(r.Context(), r.PathValue("session"), principal(r), frag); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// whepDelete ends a viewer's session.
func (s *Server) whepDelete(w http.ResponseWriter, r *http.Request) error {
	if s.whep == nil {
		return errNoWHEP()
	}
	if err := s.whep.Delete(r.Context(), r.PathValue("session"), principal(r)); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func errNoWHEP() error {
	return argus.Errorf(argus.EUNAVAILABLE, "live video is not enabled on this node")
}

// requireMediaType refuses a request whose body is not of media type want.
func requireMediaType(r *http.Request, want string) error {
	ct := r.Header.Get("Content-Type")
	if ct == "" {
		return &argus.Error{Code: codeUnsupportedMediaType, Message: fmt.Sprintf("Content-Type must be %s; the request has none", want)}
	}
	if mt, _, err := mime.ParseMediaType(ct); err != nil || mt != want {
		return &argus.Error{Code: codeUnsupportedMediaType, Message: fmt.Sprintf("Content-Type must be %s, not %.64q", want, ct)}
	}
	return nil
}

// readSDP reads a (size-limited) SDP body, what naming what is expected.
func readSDP(r *http.Request, what string) (string, error) {
	b, err := io.ReadAll(r.Body)
	var maxErr *http.MaxBytesError
	switch {
	case errors.As(err, &maxErr):
		return "", argus.Errorf(argus.ETOOLARGE, "request body is larger than %d bytes", maxErr.Limit)
	case err != nil:
		return "", fmt.Errorf("read request body: %w", err)
	case len(b) == 0:
		return "", argus.Errorf(argus.EINVALID, "request body is empty; expected %s", what)
	}
	return string(b), nil
}
