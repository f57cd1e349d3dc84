package deadletter

import (
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"
)

// Header names set on every dead letter (contract README §4). NATS headers
// are case-sensitive; these are the exact spellings written and read.
const (
	// HeaderMsgID is the JetStream deduplication header. On a dead letter it
	// is `dlq-<original stream>-<original sequence>`; on a replayed event it
	// is `<eventId>-replay-<dead-letter sequence>`.
	HeaderMsgID = "Nats-Msg-Id"
	// HeaderClass holds the dead-letter [Class].
	HeaderClass = "Gcis-Dlq-Class"
	// HeaderReason holds one line a person can act on, at most [MaxReasonBytes].
	HeaderReason = "Gcis-Dlq-Reason"
	// HeaderErrorCode holds Salesforce's errorCode/statusCode, when there is one.
	HeaderErrorCode = "Gcis-Dlq-Error-Code"
	// HeaderHTTPStatus holds the HTTP status of the failing call, when there is one.
	HeaderHTTPStatus = "Gcis-Dlq-Http-Status"
	// HeaderAttempts holds the number of delivery attempts made.
	HeaderAttempts = "Gcis-Dlq-Attempts"
	// HeaderConnector holds the connector id, when known.
	HeaderConnector = "Gcis-Dlq-Connector"
	// HeaderTime holds the RFC 3339 UTC time the event was dead-lettered.
	HeaderTime = "Gcis-Dlq-Time"
	// HeaderOriginalSubject holds the subject the event was read from.
	HeaderOriginalSubject = "Gcis-Original-Subject"
	// HeaderOriginalStream holds the stream the event was read from.
	HeaderOriginalStream = "Gcis-Original-Stream"
	// HeaderOriginalSequence holds the stream sequence the event was read from.
	HeaderOriginalSequence = "Gcis-Original-Sequence"
	// HeaderReplayedFrom is set on a replayed event: the dead-letter sequence
	// it was replayed from.
	HeaderReplayedFrom = "Gcis-Replayed-From"
)

// Header-name prefixes with a meaning for dead letters.
const (
	// PrefixJetStream marks JetStream control headers, dropped from dead
	// letters and replays.
	PrefixJetStream = "Nats-"
	// PrefixDLQ marks the dead-letter headers, dropped on replay.
	PrefixDLQ = "Gcis-Dlq-"
	// PrefixOriginal marks the origin headers, dropped on replay.
	PrefixOriginal = "Gcis-Original-"
)

// MaxReasonBytes is the largest Gcis-Dlq-Reason value written.
const MaxReasonBytes = 1024

// Class says why an event was dead-lettered (contract README §3).
type Class string

// The dead-letter classes.
const (
	// ClassInvalid: not JSON, missing or ill-typed field, subject and
	// envelope disagree, over size. Replayed only when named explicitly.
	ClassInvalid Class = "invalid"
	// ClassUnsupported: schema major, source version or source not
	// supported. Replayed only when named explicitly.
	ClassUnsupported Class = "unsupported"
	// ClassUnmapped: no mapping for the type, or no usable externalContextId.
	ClassUnmapped Class = "unmapped"
	// ClassRejected: Salesforce rejected the item.
	ClassRejected Class = "rejected"
	// ClassExhausted: max_attempts transient failures.
	ClassExhausted Class = "exhausted"
)

// Classes lists every class, in contract order.
var Classes = []Class{ClassInvalid, ClassUnsupported, ClassUnmapped, ClassRejected, ClassExhausted}

// ErrUnknownClass is returned (wrapped) by [ParseClass] for a name that is
// not a class.
var ErrUnknownClass = errors.New("unknown dead-letter class")

// ParseClass returns the class named s (case-insensitive, surrounding
// spaces ignored), or an error wrapping [ErrUnknownClass].
func ParseClass(s string) (Class, error) {
	c := Class(strings.ToLower(strings.TrimSpace(s)))
	if c.Valid() {
		return c, nil
	}
	return "", fmt.Errorf("%w %q (want one of invalid, unsupported, unmapped, rejected, exhausted)", ErrUnknownClass, s)
}

// Valid reports whether c is one of the five classes.
func (c Class) Valid() bool {
	switch c {
	case ClassInvalid, ClassUnsupported, ClassUnmapped, ClassRejected, ClassExhausted:
		return true
	}
	return false
}

// ReplayedByDefault reports whether dead letters of class c are replayed
// when the replay filter names no class: all but invalid and unsupported,
// which would fail the same way again.
func (c Class) ReplayedByDefault() bool {
	return c != ClassInvalid && c != ClassUnsupported
}

// String returns the class name.
func (c Class) String() string { return string(c) }

// Info is why an event is dead-lettered: the values of the Gcis-Dlq-*
// headers the [Writer] sets.
type Info struct {
	// Class of the failure. Required.
	Class Class
	// Reason is one line a person can act on; CR/LF are folded and it is
	// cut at [MaxReasonBytes]. Never put secrets here. Optional.
	Reason string
	// ErrorCode is Salesforce's errorCode/statusCode. Optional.
	ErrorCode string
	// HTTPStatus of the failing call; 0 means none. Optional.
	HTTPStatus int
	// Attempts is the number of delivery attempts made.
	Attempts int
	// Connector is the connector id, when known. Optional.
	Connector string
}

// FoldReason returns s as one header-safe line: every run of white space
// and control characters (CR/LF included) becomes one space, surrounding space is
// trimmed, invalid UTF-8 is replaced, and the result is cut on a rune
// boundary to at most [MaxReasonBytes] bytes, ending with "…" when cut.
func FoldReason(s string) string {
	var b strings.Builder
	b.Grow(min(len(s), MaxReasonBytes+8))
	pendingSpace := false
	for _, r := range strings.ToValidUTF8(s, "\uFFFD") {
		if r <= ' ' || r == 0x7f || r == 0x85 || r == '\u2028' || r == '\u2029' {
			pendingSpace = b.Len() > 0
			continue
		}
		if pendingSpace {
			b.WriteByte(' ')
			pendingSpace = false
		}
		b.WriteRune(r)
		if b.Len() > 2*MaxReasonBytes {
			break // far past the cut; stop copying
		}
	}
	out := b.String()
	if len(out) <= MaxReasonBytes {
		return out
	}
	const ellipsis = "…"
	cut := MaxReasonBytes - len(ellipsis)
	for cut > 0 && !utf8.RuneStart(out[cut]) {
		cut--
	}
	return strings.TrimRight(out[:cut], " ") + ellipsis
}

// hasPrefixFold reports whether s starts with prefix, ignoring ASCII case.
func hasPrefixFold(s, prefix string) bool {
	return len(s) >= len(prefix) && strings.EqualFold(s[:len(prefix)], prefix)
}
