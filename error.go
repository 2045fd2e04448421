package argus

import (
	"errors"
	"fmt"
)

// Error codes classify application errors. The HTTP API maps each code to a
// status in one table; the CLI maps them to exit messages.
const (
	EINVALID      = "invalid"      // the request or input is malformed or fails validation
	ENOTFOUND     = "not_found"    // the thing named does not exist (or is not visible to the caller)
	ECONFLICT     = "conflict"     // the thing exists already or the change conflicts with current state
	EUNAUTHORIZED = "unauthorized" // no valid credentials were presented
	EFORBIDDEN    = "forbidden"    // the caller is known but not allowed
	ETOOLARGE     = "too_large"    // the request body or result would be too large
	ERATELIMIT    = "rate_limited" // the caller sent too many requests (e.g. sign-in attempts); retry later
	EUNAVAILABLE  = "unavailable"  // a dependency is not ready; retry later
	EINTERNAL     = "internal"     // anything else; details stay in the log
)

// Error is an application error whose Message is safe to show to a user.
// Field, when set, names the input field at fault (e.g. "lat").
type Error struct {
	Code    string
	Message string
	Field   string
}

// Error implements the error interface.
func (e *Error) Error() string {
	if e.Field != "" {
		return fmt.Sprintf("%s: %s", e.Field, e.Message)
	}
	return e.Message
}

// Errorf returns an *Error with the given code and a formatted message.
func Errorf(code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// FieldErrorf returns an EINVALID *Error that names the offending field.
func FieldErrorf(field, format string, args ...any) *Error {
	return &Error{Code: EINVALID, Field: field, Message: fmt.Sprintf(format, args...)}
}

// ErrorCode returns the code of the first *Error in err's chain, EINTERNAL for
// any other non-nil error, and "" for nil.
func ErrorCode(err error) string {
	var e *Error
	switch {
	case err == nil:
		return ""
	case errors.As(err, &e):
		return e.Code
	default:
		return EINTERNAL
	}
}

// ErrorMessage returns the user-safe message of the first *Error in err's
// chain, or "internal error" for any other non-nil error.
func ErrorMessage(err error) string {
	var e *Error
	switch {
	case err == nil:
		return ""
	case errors.As(err, &e):
		return e.Error()
	default:
		return "internal error"
	}
}

// ErrorField returns the Field of the first *Error in err's chain, if any.
func ErrorField(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Field
	}
	return ""
}
