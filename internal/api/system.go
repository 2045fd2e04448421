package api

import (
	_ "embed"
	"net/http"

	"argus"
)

// openapiJSON is the committed OpenAPI document; TestOpenAPI keeps it equal
// to what the route table generates.
//
//go:embed openapi.json
var openapiJSON []byte

// healthResponse is the body of /healthz and /readyz.
type healthResponse struct {
	Status  string `json:"status"`
	Version string `json:"version,omitempty"`
}

func (s *Server) healthz(w http.ResponseWriter, r *http.Request) error {
	writeJSON(w, http.StatusOK, healthResponse{Status: "ok", Version: s.version})
	return nil
}

// readyz answers 503 with a reason while the node or its store is not ready.
// The cause of a failure goes to the log; the reason shown is safe.
func (s *Server) readyz(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	if s.ready != nil {
		if err := s.ready(ctx); err != nil {
			info(ctx).log.WarnContext(ctx, "not ready", "err", err)
			return argus.Errorf(argus.EUNAVAILABLE, "not ready: %s", argus.ErrorMessage(err))
		}
	}
	if err := s.store.Ping(ctx); err != nil {
		info(ctx).log.WarnContext(ctx, "not ready: store ping failed", "err", err)
		return argus.Errorf(argus.EUNAVAILABLE, "not ready: the metadata store does not answer")
	}
	writeJSON(w, http.StatusOK, healthResponse{Status: "ready", Version: s.version})
	return nil
}

// metrics serves Prometheus metrics. It needs only an authenticated caller
// (any active user's token), not a gate action: metrics carry no video and no
// personal data, and a scraper should hold the least privilege there is.
func (s *Server) metrics(w http.ResponseWriter, r *http.Request) error {
	s.promHTTP.ServeHTTP(w, r)
	return nil
}

func (s *Server) openapi(w http.ResponseWriter, r *http.Request) error {
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write(openapiJSON)
	return nil
}
