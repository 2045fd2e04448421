package api

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"reflect"
	"strconv"
	"strings"
	"time"

	"argus"
)

// Error codes that exist only in HTTP.
const (
	// codeMethodNotAllowed: a path that exists, asked with a method it
	// does not serve.
	codeMethodNotAllowed = "method_not_allowed"
	// codeUnsupportedMediaType: a request body of a media type the route
	// does not take.
	codeUnsupportedMediaType = "unsupported_media_type"
)

// httpStatus is the one table from error codes to HTTP statuses.
func httpStatus(code string) int {
	switch code {
	case argus.EINVALID:
		return http.StatusBadRequest
	case argus.EUNAUTHORIZED:
		return http.StatusUnauthorized
	case argus.EFORBIDDEN:
		return http.StatusForbidden
	case argus.ENOTFOUND:
		return http.StatusNotFound
	case codeMethodNotAllowed:
		return http.StatusMethodNotAllowed
	case argus.ECONFLICT:
		return http.StatusConflict
	case argus.ETOOLARGE:
		return http.StatusRequestEntityTooLarge
	case codeUnsupportedMediaType:
		return http.StatusUnsupportedMediaType
	case argus.ERATELIMIT:
		return http.StatusTooManyRequests
	case argus.EUNAVAILABLE:
		return http.StatusServiceUnavailable
	}
	return http.StatusInternalServerError
}

func errMethod(method, allowed string) error {
	return &argus.Error{Code: codeMethodNotAllowed, Message: fmt.Sprintf("method %s is not allowed here; use %s", method, allowed)}
}

// errorResponse is the body of every error answer.
type errorResponse struct {
	Error errorBody `json:"error"`
}

// errorBody describes one failed request. Message is safe to show; Field
// names the input at fault, when there is one; RequestID matches the server
// log.
type errorBody struct {
	Code      string `json:"code"`
	Message   string `json:"message"`
	Field     string `json:"field,omitempty"`
	RequestID string `json:"request_id"`
}

// writeError renders err. An error that is not an *argus.Error is internal:
// its cause goes to the log with the request id, the client sees only
// "internal error".
func (s *Server) writeError(w http.ResponseWriter, r *http.Request, err error) {
	body, status := s.errorAnswer(w, r, err)
	writeJSON(w, status, errorResponse{Error: body})
}

// errorAnswer returns the error body and status for err, logging the cause
// of an internal error and setting the headers the status needs.
func (s *Server) errorAnswer(w http.ResponseWriter, r *http.Request, err error) (errorBody, int) {
	ri := info(r.Context())
	body := errorBody{Code: argus.EINTERNAL, Message: "internal error", RequestID: ri.id}
	var e *argus.Error
	if errors.As(err, &e) {
		body.Code, body.Message, body.Field = e.Code, e.Message, e.Field
	}
	status := httpStatus(body.Code)
	if status == http.StatusInternalServerError {
		ri.log.ErrorContext(r.Context(), "internal error", "err", err)
	}
	if status == http.StatusUnauthorized {
		w.Header().Set("WWW-Authenticate", `Bearer realm="argus"`)
	}
	return body, status
}

// writeJSON writes v as the JSON body with the given status.
func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(v) // the client went away; nothing to tell it
}

// decodeJSON reads exactly one JSON value from the (already size-limited)
// request body into v, rejecting unknown fields, and turns every failure
// into an *argus.Error that says what is wrong and where.
func decodeJSON(r *http.Request, v any) error {
	dec := json.NewDecoder(r.Body)
	dec.DisallowUnknownFields()
	err := dec.Decode(v)
	if err == nil {
		if _, terr := dec.Token(); terr != io.EOF {
			return argus.Errorf(argus.EINVALID, "request body has data after the JSON value")
		}
		return nil
	}
	var (
		maxErr  *http.MaxBytesError
		synErr  *json.SyntaxError
		typeErr *json.UnmarshalTypeError
	)
	switch {
	case errors.As(err, &maxErr):
		return argus.Errorf(argus.ETOOLARGE, "request body is larger than %d bytes", maxErr.Limit)
	case errors.Is(err, io.EOF):
		return argus.Errorf(argus.EINVALID, "request body is empty; expected a JSON object")
	case errors.Is(err, io.ErrUnexpectedEOF):
		return argus.Errorf(argus.EINVALID, "request body is not valid JSON: it ends early")
	case errors.As(err, &synErr):
		return argus.Errorf(argus.EINVALID, "request body is not valid JSON at byte %d: %s", synErr.Offset, synErr.Error())
	case errors.As(err, &typeErr):
		if typeErr.Field == "" {
			return argus.Errorf(argus.EINVALID, "request body must be %s, not %s", jsonType(typeErr.Type), typeErr.Value)
		}
		return argus.FieldErrorf(typeErr.Field, "%s must be %s, not %s", typeErr.Field, jsonType(typeErr.Type), typeErr.Value)
	}
	if name, ok := strings.CutPrefix(err.Error(), "json: unknown field "); ok {
		if unq, uerr := strconv.Unquote(name); uerr == nil {
			name = unq
		}
		return argus.FieldErrorf(name, "unknown field %q", name)
	}
	return argus.Errorf(argus.EINVALID, "request body is not valid JSON: %s", err.Error())
}

// jsonType names the JSON type a Go type is decoded from, for messages.
func jsonType(t reflect.Type) string {
	if t == reflect.TypeFor[time.Time]() {
		return "an RFC 3339 time string"
	}
	switch t.Kind() {
	case reflect.Bool:
		return "a boolean"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "an integer"
	case reflect.Float32, reflect.Float64:
		return "a number"
	case reflect.String:
		return "a string"
	case reflect.Slice, reflect.Array:
		return "an array"
	case reflect.Pointer:
		return jsonType(t.Elem())
	}
	return "an object"
}
