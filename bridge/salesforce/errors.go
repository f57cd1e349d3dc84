package salesforce

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/sony/gobreaker/v2"
)

// Class is the one classification of a failed call to Salesforce. It tells
// the caller what to do next (see the package documentation).
type Class string

// The classes of failure. The zero Class ("") means "not a failure": no
// error, the caller's own cancellation, or a closed client.
const (
	// ClassAuth: the token was refused, or a call still got 401 after a
	// fresh token. The connector's fault: hold the tenant (Hold "auth").
	ClassAuth Class = "auth"
	// ClassLimit: the org's daily API allocation is exhausted (403
	// REQUEST_LIMIT_EXCEEDED TotalRequests). Hold the tenant (Hold "limit").
	ClassLimit Class = "limit"
	// ClassThrottled: a concurrent-request limit (403 REQUEST_LIMIT_EXCEEDED
	// Concurrent…). Retry with backoff and lower the tenant's concurrency.
	ClassThrottled Class = "throttled"
	// ClassTransient: 5xx, timeout, connection error, or a 200 whose body
	// does not match the request. Retry with backoff; honour RetryAfter; on
	// Governor halve the batch size.
	ClassTransient Class = "transient"
	// ClassPermanent: the request was refused as malformed (400). Bisect the
	// batch to find the bad events.
	ClassPermanent Class = "permanent"
	// ClassConnector: the endpoint is missing or refuses the bridge (404,
	// 403 API_CURRENTLY_DISABLED, other unlisted 4xx; Hold "endpoint"), or
	// the circuit breaker is open (Hold "breaker"). Hold the tenant.
	ClassConnector Class = "connector"
)

// Hold reasons carried by [Error.Hold] for the classes that hold a tenant.
const (
	HoldAuth     = "auth"
	HoldLimit    = "limit"
	HoldEndpoint = "endpoint"
	HoldBreaker  = "breaker"
)

// ErrClosed is returned by calls on a [Client] after [Client.Close]. It is
// not a failure of Salesforce: [ClassOf] returns "" for it.
var ErrClosed = errors.New("salesforce: client closed")

// ErrTimeout is the cause ([Error.Err]) of a request that ran past the
// client's RequestTimeout. Such an error is ClassTransient; it is
// deliberately not context.DeadlineExceeded, which is reserved for the
// caller's own deadline.
var ErrTimeout = errors.New("request timed out")

// Error is a classified failure of a call to Salesforce. Its Error() text
// never contains a token or a secret: it is built only from the fields
// below, which the client redacts when it creates the error.
//
// Error implements Is: errors.Is(err, &Error{Class: ClassLimit}) or
// errors.Is(err, &Error{Code: "INVALID_SESSION_ID"}) match on the non-zero
// fields of the target (Class, Code, HTTPStatus, Hold).
type Error struct {
	// Class is the one classification of this failure.
	Class Class
	// Op is the operation that failed: "token", "publish", "probe",
	// "versions", "limits" or "endpoint".
	Op string
	// HTTPStatus is the response status, 0 when no response was received.
	HTTPStatus int
	// Code is Salesforce's errorCode, or the OAuth error for the token call.
	Code string
	// Message is Salesforce's message (or error_description), folded to one
	// line, or a description of what was wrong with the response.
	Message string
	// RetryAfter is the wait the server asked for with Retry-After, or for
	// an open breaker the time left until it lets a trial request through.
	RetryAfter time.Duration
	// Governor is set for 500 APEX_ERROR with a System.LimitException: the
	// caller halves the tenant's batch size.
	Governor bool
	// Hold is the hold reason for ClassAuth, ClassLimit and ClassConnector:
	// "auth", "limit", "endpoint" or "breaker"; empty for the other classes.
	Hold string
	// Err is the cause, if any (a network error, *oauth2.RetrieveError,
	// gobreaker.ErrOpenState, ErrTimeout, ...).
	Err error

	// countable: this failure counts toward the breaker (502/503/504,
	// timeout, connection error).
	countable bool
	// detail is the redacted text of Err, shown when there is no HTTP
	// status to describe the failure.
	detail string
}

// Error returns a one-line description: "salesforce <op>: <class>: HTTP
// <status> <code>: <message>".
func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString("salesforce ")
	b.WriteString(e.Op)
	b.WriteString(": ")
	b.WriteString(string(e.Class))
	if e.HTTPStatus != 0 {
		b.WriteString(": HTTP ")
		b.WriteString(strconv.Itoa(e.HTTPStatus))
	}
	if e.Code != "" {
		if e.HTTPStatus == 0 {
			b.WriteString(":")
		}
		b.WriteString(" ")
		b.WriteString(e.Code)
	}
	if e.Message != "" {
		b.WriteString(": ")
		b.WriteString(e.Message)
	}
	if e.detail != "" && e.Message == "" {
		b.WriteString(": ")
		b.WriteString(e.detail)
	}
	if e.RetryAfter > 0 {
		b.WriteString(" (retry after ")
		b.WriteString(e.RetryAfter.String())
		b.WriteString(")")
	}
	return b.String()
}

// Unwrap returns the cause.
func (e *Error) Unwrap() error { return e.Err }

// Is reports whether target is an *Error whose non-zero Class, Code,
// HTTPStatus and Hold all equal e's.
func (e *Error) Is(target error) bool {
	t, ok := target.(*Error)
	if !ok || t == nil {
		return false
	}
	if t.Class == "" && t.Code == "" && t.HTTPStatus == 0 && t.Hold == "" {
		return false
	}
	return (t.Class == "" || t.Class == e.Class) &&
		(t.Code == "" || t.Code == e.Code) &&
		(t.HTTPStatus == 0 || t.HTTPStatus == e.HTTPStatus) &&
		(t.Hold == "" || t.Hold == e.Hold)
}

// ClassOf returns the class of err:
//   - nil, the caller's context.Canceled / context.DeadlineExceeded, and
//     [ErrClosed]: "" (not a failure);
//   - an [*Error] anywhere in the chain: its Class;
//   - gobreaker's open / too-many-requests errors: ClassConnector;
//   - anything else (network errors, timeouts, unknown errors): ClassTransient.
//
// The client's own request timeout is an *Error of ClassTransient, so it is
// never mistaken for the caller's deadline.
func ClassOf(err error) Class {
	if err == nil {
		return ""
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Class
	}
	switch {
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded), errors.Is(err, ErrClosed):
		return ""
	case errors.Is(err, gobreaker.ErrOpenState), errors.Is(err, gobreaker.ErrTooManyRequests):
		return ClassConnector
	}
	return ClassTransient
}

// maxMessageLen bounds Error.Message (in bytes, cut at a rune boundary).
const maxMessageLen = 1024

// foldLine folds s to one line: every run of whitespace or control
// characters becomes one space; invalid UTF-8 becomes U+FFFD; the result is
// trimmed and cut to maxMessageLen bytes with a trailing "…".
func foldLine(s string) string {
	var b strings.Builder
	b.Grow(min(len(s), maxMessageLen+4))
	space := false
	for i, r := range s {
		if r == utf8.RuneError {
			if _, size := utf8.DecodeRuneInString(s[i:]); size <= 1 {
				r = unicode.ReplacementChar
			}
		}
		if unicode.IsSpace(r) || unicode.IsControl(r) || r == '\u2028' || r == '\u2029' {
			space = b.Len() > 0
			continue
		}
		if space {
			b.WriteByte(' ')
			space = false
		}
		if b.Len()+utf8.RuneLen(r) > maxMessageLen {
			b.WriteString("…")
			break
		}
		b.WriteRune(r)
	}
	return b.String()
}
