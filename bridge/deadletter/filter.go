package deadletter

import (
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// Filter selects dead letters. Zero fields match everything; all set
// fields must match.
type Filter struct {
	// Tenant, Source and EventType match the dead-letter subject tokens
	// (`_` matches dead letters whose original subject lacked the token).
	Tenant, Source, EventType string
	// Class matches any of the classes; empty matches all. For replay, an
	// empty list also excludes invalid and unsupported.
	Class []Class
	// ErrorCode matches Gcis-Dlq-Error-Code exactly (ASCII case ignored).
	ErrorCode string
	// Since and Until bound the time the dead letter was stored
	// (inclusive); zero means unbounded.
	Since, Until time.Time
	// SeqFrom and SeqTo bound the dead-letter sequence (inclusive); zero
	// means unbounded.
	SeqFrom, SeqTo uint64
	// Limit stops after this many matches; 0 means no limit.
	Limit int
}

// FieldError reports a bad filter value. Field is the filter's wire name:
// tenant, source, type, class, error_code, since, until, seq or limit.
type FieldError struct {
	Field string
	Err   error
}

// Error implements error.
func (e *FieldError) Error() string { return e.Field + ": " + e.Err.Error() }

// Unwrap returns the cause.
func (e *FieldError) Unwrap() error { return e.Err }

var tenantRE = regexp.MustCompile(`^[A-Za-z0-9_-]{1,64}$`)

// Validate checks the filter and returns a [*FieldError] for the first bad
// field.
func (f Filter) Validate() error {
	if f.Tenant != "" && !tenantRE.MatchString(f.Tenant) {
		return &FieldError{"tenant", fmt.Errorf("%q is not a tenant id (1-64 of A-Z a-z 0-9 _ -)", f.Tenant)}
	}
	if f.Source != "" && !validToken(f.Source) {
		return &FieldError{"source", fmt.Errorf("%q is not a source", f.Source)}
	}
	if f.EventType != "" && !validToken(f.EventType) {
		return &FieldError{"type", fmt.Errorf("%q is not an event type", f.EventType)}
	}
	for _, c := range f.Class {
		if !c.Valid() {
			return &FieldError{"class", fmt.Errorf("%w %q", ErrUnknownClass, c)}
		}
	}
	if f.SeqTo != 0 && f.SeqFrom > f.SeqTo {
		return &FieldError{"seq", fmt.Errorf("range %d-%d is empty", f.SeqFrom, f.SeqTo)}
	}
	if !f.Since.IsZero() && !f.Until.IsZero() && f.Until.Before(f.Since) {
		return &FieldError{"until", fmt.Errorf("%s is before since %s", f.Until.Format(time.RFC3339), f.Since.Format(time.RFC3339))}
	}
	if f.Limit < 0 {
		return &FieldError{"limit", errors.New("must not be negative")}
	}
	return nil
}

// IsZero reports whether the filter selects every dead letter.
func (f Filter) IsZero() bool {
	return f.Tenant == "" && f.Source == "" && f.EventType == "" && len(f.Class) == 0 &&
		f.ErrorCode == "" && f.Since.IsZero() && f.Until.IsZero() && f.SeqFrom == 0 && f.SeqTo == 0 && f.Limit == 0
}

// subjectOnly reports whether the filter selects by subject alone (no
// header, time, sequence or count condition).
func (f Filter) subjectOnly() bool {
	return len(f.Class) == 0 && f.ErrorCode == "" && f.Since.IsZero() && f.Until.IsZero() &&
		f.SeqFrom == 0 && f.SeqTo == 0 && f.Limit == 0
}

// Subject returns the subject filter `<prefix>.<tenant|*>.<source|*>.<type|*>`
// (or `<prefix>.>` when none of the three is set).
func (f Filter) Subject(prefix string) string {
	if f.Tenant == "" && f.Source == "" && f.EventType == "" {
		return prefix + ".>"
	}
	or := func(s string) string {
		if s == "" {
			return "*"
		}
		return s
	}
	return prefix + "." + or(f.Tenant) + "." + or(f.Source) + "." + or(f.EventType)
}

// hasClass reports whether the filter names c explicitly.
func (f Filter) hasClass(c Class) bool {
	for _, x := range f.Class {
		if x == c {
			return true
		}
	}
	return false
}

// matchHeaders checks the conditions the subject filter and the consumer's
// start position do not: class, error code, time and sequence bounds.
func (f Filter) match(d *DeadLetter) bool {
	if len(f.Class) > 0 && !f.hasClass(d.Class) {
		return false
	}
	if f.ErrorCode != "" && !strings.EqualFold(f.ErrorCode, d.ErrorCode) {
		return false
	}
	if !f.Since.IsZero() && d.Time.Before(f.Since) {
		return false
	}
	if !f.Until.IsZero() && d.Time.After(f.Until) {
		return false
	}
	if f.SeqFrom != 0 && d.Sequence < f.SeqFrom {
		return false
	}
	if f.SeqTo != 0 && d.Sequence > f.SeqTo {
		return false
	}
	return true
}

// FilterInput is a filter as people type it (CLI flags, query parameters,
// JSON bodies). [FilterInput.Filter] parses it.
type FilterInput struct {
	Tenant    string   `json:"tenant,omitempty"`
	Source    string   `json:"source,omitempty"`
	Type      string   `json:"type,omitempty"`
	Class     []string `json:"class,omitempty"` // each may be a comma list
	ErrorCode string   `json:"error_code,omitempty"`
	Since     string   `json:"since,omitempty"` // duration or RFC 3339
	Until     string   `json:"until,omitempty"` // duration or RFC 3339
	Seq       string   `json:"seq,omitempty"`   // FROM-TO, inclusive
	Limit     int      `json:"limit,omitempty"`
}

// Filter parses the input against the clock now. A bad value yields a
// [*FieldError] naming its field.
func (in FilterInput) Filter(now time.Time) (Filter, error) {
	f := Filter{
		Tenant:    strings.TrimSpace(in.Tenant),
		Source:    strings.TrimSpace(in.Source),
		EventType: strings.TrimSpace(in.Type),
		ErrorCode: strings.TrimSpace(in.ErrorCode),
		Limit:     in.Limit,
	}
	for _, list := range in.Class {
		for _, name := range strings.Split(list, ",") {
			if strings.TrimSpace(name) == "" {
				continue
			}
			c, err := ParseClass(name)
			if err != nil {
				return Filter{}, &FieldError{"class", err}
			}
			if !f.hasClass(c) {
				f.Class = append(f.Class, c)
			}
		}
	}
	var err error
	if in.Since != "" {
		if f.Since, err = ParseSince(in.Since, now); err != nil {
			return Filter{}, &FieldError{"since", err}
		}
	}
	if in.Until != "" {
		if f.Until, err = ParseSince(in.Until, now); err != nil {
			return Filter{}, &FieldError{"until", err}
		}
	}
	if in.Seq != "" {
		if f.SeqFrom, f.SeqTo, err = ParseSeqRange(in.Seq); err != nil {
			return Filter{}, &FieldError{"seq", err}
		}
	}
	return f, f.Validate()
}

// ErrBadRange is returned (wrapped) by [ParseSeqRange].
var ErrBadRange = errors.New("bad sequence range")

// ParseSeqRange parses an inclusive sequence range: "FROM-TO", "FROM-"
// (to the end), "-TO" (from the start) or "N" (one sequence). Zero for an
// open end.
func ParseSeqRange(s string) (from, to uint64, err error) {
	s = strings.TrimSpace(s)
	a, b, isRange := strings.Cut(s, "-")
	if !isRange {
		b = a
	}
	a, b = strings.TrimSpace(a), strings.TrimSpace(b)
	if a == "" && b == "" {
		return 0, 0, fmt.Errorf("%w %q (want FROM-TO, FROM-, -TO or N)", ErrBadRange, s)
	}
	if a != "" {
		if from, err = parseSeq(a); err != nil {
			return 0, 0, fmt.Errorf("%w %q: %v", ErrBadRange, s, err)
		}
	}
	if b != "" {
		if to, err = parseSeq(b); err != nil {
			return 0, 0, fmt.Errorf("%w %q: %v", ErrBadRange, s, err)
		}
	}
	if to != 0 && from > to {
		return 0, 0, fmt.Errorf("%w %q: from is after to", ErrBadRange, s)
	}
	return from, to, nil
}

func parseSeq(s string) (uint64, error) {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, fmt.Errorf("%q is not a sequence number", s)
		}
	}
	n, err := strconv.ParseUint(s, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("%q is not a sequence number", s)
	}
	if n == 0 {
		return 0, errors.New("sequences start at 1")
	}
	return n, nil
}

// ErrBadTime is returned (wrapped) by [ParseSince].
var ErrBadTime = errors.New("bad time")

// ParseSince parses a point in time given as a duration before now ("90m",
// "1h30m", "2d" — Go duration syntax plus whole days) or as an RFC 3339
// time ("2025-03-04T09:15:22+11:00").
func ParseSince(s string, now time.Time) (time.Time, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return time.Time{}, fmt.Errorf("%w: empty", ErrBadTime)
	}
	if d, ok := parseDays(s); ok {
		return now.Add(-d), nil
	}
	if d, err := time.ParseDuration(s); err == nil {
		if d < 0 {
			return time.Time{}, fmt.Errorf("%w %q: negative duration", ErrBadTime, s)
		}
		return now.Add(-d), nil
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}, fmt.Errorf("%w %q (want a duration such as 90m or 2d, or an RFC 3339 time)", ErrBadTime, s)
	}
	return t, nil
}

// parseDays parses "<n>d" with n a whole number of days up to 100 years.
func parseDays(s string) (time.Duration, bool) {
	n, ok := strings.CutSuffix(s, "d")
	if !ok || n == "" || len(n) > 5 {
		return 0, false
	}
	days, err := strconv.Atoi(n)
	if err != nil || days < 0 || n[0] == '+' || n[0] == '-' || days > 36500 {
		return 0, false
	}
	return time.Duration(days) * 24 * time.Hour, true
}
