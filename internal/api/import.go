package api

import (
	"context"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"os"
	"strconv"
	"strings"

	"argus"
	"argus/internal/camimport"
)

// importFailure is the body of a camera import that imported nothing: the
// error, and the report of every problem found when the input was at
// fault.
type importFailure struct {
	Error  errorBody         `json:"error"`
	Report *camimport.Report `json:"report,omitempty"`
}

// importCameras imports the CSV body into the directory. The body is
// spooled to a temporary file first: the import holds the store's write
// transaction from the first row to the last, and a slow client must not
// hold it while it uploads.
func (s *Server) importCameras(w http.ResponseWriter, r *http.Request) error {
	ctx, p := r.Context(), principal(r)
	opts, err := importOptions(r)
	if err != nil {
		return err
	}
	// Refuse a caller who may manage no cameras at all before reading
	// the body; each row's organisation is decided below.
	if err := s.gate.Check(ctx, p, argus.ActionManageCamera, argus.Resource{Kind: "camera", OrgID: p.OrgID}); err != nil {
		return err
	}
	if r.ContentLength > s.maxImport {
		return argus.Errorf(argus.ETOOLARGE, "request body is larger than %d bytes", s.maxImport)
	}

	f, err := os.CreateTemp("", "argus-import-*.csv")
	if err != nil {
		return fmt.Errorf("spool camera import: %w", err)
	}
	// The file may hold camera passwords: unlink it at once where the
	// system allows, so that not even a crash leaves it behind.
	unlinked := os.Remove(f.Name()) == nil
	defer func() {
		f.Close()
		if !unlinked {
			os.Remove(f.Name())
		}
	}()
	size, err := io.Copy(f, r.Body)
	var maxErr *http.MaxBytesError
	switch {
	case errors.As(err, &maxErr):
		return argus.Errorf(argus.ETOOLARGE, "request body is larger than %d bytes", maxErr.Limit)
	case err != nil:
		return fmt.Errorf("spool camera import: %w", err)
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return fmt.Errorf("spool camera import: %w", err)
	}

	opts.Size = size
	opts.Logger = info(ctx).log
	opts.Check = s.importCheck(p)
	rep, err := camimport.Import(ctx, s.store, f, opts)
	if rep.Errors == nil {
		rep.Errors = []camimport.RowError{}
	}
	switch {
	case err == nil:
		writeJSON(w, http.StatusOK, rep)
	case argus.ErrorCode(err) == argus.EINTERNAL:
		return err
	default:
		body, status := s.errorAnswer(w, r, err)
		writeJSON(w, status, importFailure{Error: body, Report: &rep})
	}
	return nil
}

// importOptions reads the request's media type and query parameters.
func importOptions(r *http.Request) (camimport.Options, error) {
	var opts camimport.Options
	ct := r.Header.Get("Content-Type")
	mt, params, err := mime.ParseMediaType(ct)
	switch {
	case ct == "":
		return opts, &argus.Error{Code: codeUnsupportedMediaType, Message: "Content-Type must be text/csv; the request has none"}
	case err != nil || mt != "text/csv":
		return opts, &argus.Error{Code: codeUnsupportedMediaType, Message: fmt.Sprintf("Content-Type must be text/csv, not %.64q", ct)}
	case params["charset"] != "" && !strings.EqualFold(params["charset"], "utf-8"):
		return opts, &argus.Error{Code: codeUnsupportedMediaType, Message: fmt.Sprintf("text/csv must be UTF-8, not charset %.64q", params["charset"])}
	}
	q := r.URL.Query()
	if q.Has("mode") {
		if opts.Mode, err = camimport.ParseMode(q.Get("mode")); err != nil {
			return opts, err
		}
	}
	if v := q.Get("ignore_unknown_columns"); q.Has("ignore_unknown_columns") {
		if opts.IgnoreUnknownColumns, err = strconv.ParseBool(v); err != nil {
			return opts, argus.FieldErrorf("ignore_unknown_columns", "ignore_unknown_columns must be true or false, not %.64q", v)
		}
	}
	return opts, nil
}

// importCheck returns the per-row check of an import by p: the row's
// organisation must pass the gate for managing cameras. The gate decides
// each organisation once per import, so a file of 500,000 rows over a few
// organisations makes a few decisions, not 500,000, and one change record
// for each organisation allowed.
func (s *Server) importCheck(p argus.Principal) func(context.Context, *argus.Camera) error {
	denied := map[string]bool{} // organisation → refused
	return func(ctx context.Context, c *argus.Camera) error {
		refused, decided := denied[c.OrgID]
		if !decided {
			err := s.gate.Check(ctx, p, argus.ActionManageCamera, argus.Resource{Kind: "camera", OrgID: c.OrgID})
			if err != nil && argus.ErrorCode(err) != argus.EFORBIDDEN {
				return err
			}
			refused = err != nil
			denied[c.OrgID] = refused
			// One change record per organisation the import writes to,
			// before its transaction commits.
			if !refused {
				err := s.recordChange(ctx, p, argus.ActionManageCamera, argus.Resource{Kind: "camera", OrgID: c.OrgID},
					changeCameraImport, change{"org_id": c.OrgID})
				if err != nil {
					return err
				}
			}
		}
		if refused {
			return &argus.Error{Code: argus.EFORBIDDEN, Field: "org_id",
				Message: fmt.Sprintf("you may not manage the cameras of organisation %q", c.OrgID)}
		}
		return nil
	}
}
