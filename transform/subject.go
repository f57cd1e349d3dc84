package transform

import "strings"

// DefaultSubjectPrefix is the subject prefix of source events.
const DefaultSubjectPrefix = "gcis.events"

// Subject holds the tokens of an event subject
// <prefix>.<tenant>.<source>.<eventType>.
type Subject struct {
	Tenant    string
	Source    string
	EventType string
}

// ParseSubject splits subject into its tenant, source and event type tokens.
// prefix is the configured subject prefix ("" means [DefaultSubjectPrefix]).
//
// The tenant must be 1–64 characters of [A-Za-z0-9_-], the source a
// lower-case token of [a-z0-9_-] (whether the bridge supports it is decided
// by [Decode], as class unsupported), and the event type kebab-case. Any other
// subject is an [*Error] of class invalid.
func ParseSubject(prefix, subject string) (Subject, error) {
	if prefix == "" {
		prefix = DefaultSubjectPrefix
	}
	want := prefix + ".<tenant>.<source>.<eventType>"
	rest, ok := strings.CutPrefix(subject, prefix+".")
	if !ok {
		return Subject{}, errorf(ClassInvalid, "subject %s: want %s", quote(subject), want)
	}
	parts := strings.Split(rest, ".")
	if len(parts) != 3 {
		return Subject{}, errorf(ClassInvalid, "subject %s: want %s", quote(subject), want)
	}
	s := Subject{Tenant: parts[0], Source: parts[1], EventType: parts[2]}
	switch {
	case !validTenant(s.Tenant):
		return Subject{}, errorf(ClassInvalid, "subject %s: tenant %s must be 1-64 characters of [A-Za-z0-9_-]", quote(subject), quote(s.Tenant))
	case !validSourceToken(s.Source):
		return Subject{}, errorf(ClassInvalid, "subject %s: source %s must be 1-32 characters of [a-z0-9_-]", quote(subject), quote(s.Source))
	case !validEventType(s.EventType):
		return Subject{}, errorf(ClassInvalid, "subject %s: event type %s must be kebab-case", quote(subject), quote(s.EventType))
	}
	return s, nil
}

// validTenant reports whether s is a GCIS tenant id: 1–64 of [A-Za-z0-9_-].
func validTenant(s string) bool {
	if len(s) == 0 || len(s) > 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}

func validSourceToken(s string) bool {
	if len(s) == 0 || len(s) > 32 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}

// validEventType reports whether s matches ^[a-z0-9]+(-[a-z0-9]+)*$.
func validEventType(s string) bool {
	if len(s) == 0 || s[0] == '-' || s[len(s)-1] == '-' {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'a' && c <= 'z', c >= '0' && c <= '9':
		case c == '-':
			if s[i-1] == '-' {
				return false
			}
		default:
			return false
		}
	}
	return true
}
