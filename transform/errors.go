package transform

import (
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"
)

// Class is the dead-letter class of a transform failure (contract README §3).
type Class string

// The classes a transform failure can have.
const (
	// ClassInvalid: not JSON, not an object, a missing or ill-typed field,
	// subject and envelope disagree, or over the size limit.
	ClassInvalid Class = "invalid"
	// ClassUnsupported: unknown source, unsupported schemaVersion major, or a
	// sourceVersion below the source's minimum.
	ClassUnsupported Class = "unsupported"
	// ClassUnmapped: no mapping for the event type, or the mapping's
	// externalContextId does not select exactly one non-empty scalar.
	ClassUnmapped Class = "unmapped"
)

// Error is a classified transform failure. Reason is one line a person can
// act on: it never contains a line break, and values quoted from the event
// are shortened.
type Error struct {
	Class  Class
	Reason string
}

// Error returns "<class>: <reason>".
func (e *Error) Error() string {
	return string(e.Class) + ": " + e.Reason
}

// ClassOf reports the class of the first [*Error] in err's chain, and
// whether there is one.
func ClassOf(err error) (Class, bool) {
	var e *Error
	if errors.As(err, &e) {
		return e.Class, true
	}
	return "", false
}

func errorf(class Class, format string, args ...any) *Error {
	return &Error{Class: class, Reason: oneLine(fmt.Sprintf(format, args...))}
}

// oneLine folds any line break into a space, so a reason fits one header line.
func oneLine(s string) string {
	if !strings.ContainsAny(s, "\r\n") {
		return s
	}
	return strings.NewReplacer("\r\n", " ", "\r", " ", "\n", " ").Replace(s)
}

// maxQuoted is how many bytes of an event's value a reason quotes.
const maxQuoted = 64

// quote returns s as a Go-quoted string, shortened to maxQuoted bytes (on a
// rune boundary) with "…" after the quote when cut.
func quote(s string) string {
	if len(s) <= maxQuoted {
		return fmt.Sprintf("%q", s)
	}
	cut := maxQuoted
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return fmt.Sprintf("%q…", s[:cut])
}
