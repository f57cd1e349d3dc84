package transform

import (
	"encoding/json"
	"strings"
	"time"
	"unicode/utf8"
)

// DefaultMaxEventBytes is the default size limit of one source event.
const DefaultMaxEventBytes = 512 << 10

// Sources the bridge supports, as they appear in subjects and envelopes.
const (
	SourceVelocity = "velocity"
	SourceJunifer  = "junifer"
)

// minSourceVersion is the oldest supported sourceVersion of each source.
var minSourceVersion = map[string]string{
	SourceVelocity: "4.13",
	SourceJunifer:  "6.0",
}

// minSourceParts holds minSourceVersion split into parts.
var minSourceParts = map[string][]string{
	SourceVelocity: {"4", "13"},
	SourceJunifer:  {"6", "0"},
}

// SourceSystem returns the managed package's sourceSystem for a source
// ("Velocity", "Junifer"), or "" for an unknown source.
func SourceSystem(source string) string {
	switch source {
	case SourceVelocity:
		return "Velocity"
	case SourceJunifer:
		return "Junifer"
	}
	return ""
}

// EntityRef is the envelope's optional subject: the entity the event is about.
type EntityRef struct {
	EntityType string `json:"entityType"`
	EntityID   string `json:"entityId"`
}

// Envelope is a decoded and validated source event (contract README §2).
// Strings are unescaped; optional fields absent (or null) in the event are
// "" or the zero time.
type Envelope struct {
	EventID         string
	EventType       string
	NativeEventType string
	SchemaVersion   string
	Source          string
	SourceVersion   string
	TenantID        string
	Environment     string
	OccurredAt      time.Time
	PublishedAt     time.Time // zero if absent
	CorrelationID   string
	CausationID     string
	Subject         *EntityRef
	// Data is the raw text of the event's data object. After Decode it
	// aliases the body passed in: do not modify the body while the Envelope
	// is in use.
	Data json.RawMessage

	// dataChecked is set by Decode: Data is known to be a valid JSON object.
	dataChecked bool
}

// DecodeOptions tunes Decode. The zero value gives the defaults.
type DecodeOptions struct {
	// MaxBytes is the largest accepted event, in bytes. Optional; zero or
	// negative means DefaultMaxEventBytes (512 KiB).
	MaxBytes int
}

// envelope field indexes, in the order their rules are checked.
const (
	fEventID = iota
	fEventType
	fSchemaVersion
	fSource
	fSourceVersion
	fTenantID
	fOccurredAt
	fData
	fNativeEventType
	fEnvironment
	fPublishedAt
	fCorrelationID
	fCausationID
	fSubject
	numFields
)

var fieldNames = [numFields]string{
	"eventId", "eventType", "schemaVersion", "source", "sourceVersion", "tenantId",
	"occurredAt", "data", "nativeEventType", "environment", "publishedAt",
	"correlationId", "causationId", "subject",
}

func fieldIndex(name string) int {
	switch name {
	case "eventId":
		return fEventID
	case "eventType":
		return fEventType
	case "schemaVersion":
		return fSchemaVersion
	case "source":
		return fSource
	case "sourceVersion":
		return fSourceVersion
	case "tenantId":
		return fTenantID
	case "occurredAt":
		return fOccurredAt
	case "data":
		return fData
	case "nativeEventType":
		return fNativeEventType
	case "environment":
		return fEnvironment
	case "publishedAt":
		return fPublishedAt
	case "correlationId":
		return fCorrelationID
	case "causationId":
		return fCausationID
	case "subject":
		return fSubject
	}
	return -1
}

type span struct {
	vs, ve int
	kind   jsonKind
}

// Decode validates body, the source event read from subject subj, against
// every rule of the contract (README §2–3) and returns the envelope.
//
// Errors are [*Error]: class invalid when the body is over the size limit,
// not UTF-8 JSON, not an object, has a duplicated key, misses a required
// field, has a field of the wrong type or form, or disagrees with the subject
// (eventType, source, tenantId); class unsupported for an unknown source, a
// schemaVersion major other than 1, or a sourceVersion below the source's
// minimum (Velocity 4.13, Junifer 6.0). Invalid takes precedence. Unknown
// top-level fields are ignored.
func Decode(subj Subject, body []byte, opts DecodeOptions) (*Envelope, error) {
	maxBytes := opts.MaxBytes
	if maxBytes <= 0 {
		maxBytes = DefaultMaxEventBytes
	}
	if len(body) > maxBytes {
		return nil, errorf(ClassInvalid, "event is %d bytes, over the %d-byte limit", len(body), maxBytes)
	}
	if !utf8.Valid(body) {
		return nil, errorf(ClassInvalid, "not valid JSON: invalid UTF-8 at byte %d", invalidUTF8At(body))
	}
	start := skipWS(body, 0)
	if start >= len(body) {
		return nil, errorf(ClassInvalid, "not valid JSON: empty body")
	}
	if body[start] != '{' {
		_, _, kind, err := validateJSON(body)
		if err != nil {
			return nil, errorf(ClassInvalid, "not valid JSON: %v", err)
		}
		return nil, errorf(ClassInvalid, "not a JSON object: the event is a JSON %s", kind)
	}

	var fields [numFields]span
	var it objIter
	it.init(body, start, 0, true)
	for {
		key, vs, ve, kind, ok, err := it.next()
		if err != nil {
			return nil, errorf(ClassInvalid, "not valid JSON: %v", err)
		}
		if !ok {
			break
		}
		var idx int
		if key.esc {
			idx = fieldIndex(unescape(body[key.start:key.end]))
		} else {
			idx = fieldIndex(string(body[key.start:key.end]))
		}
		if idx >= 0 {
			fields[idx] = span{vs: vs, ve: ve, kind: kind}
		}
	}
	if end := skipWS(body, it.i); end != len(body) {
		return nil, errorf(ClassInvalid, "not valid JSON: unexpected %s after the top-level value at byte %d", describe(body, end), end)
	}

	d := decoder{body: body, fields: &fields}
	env := &Envelope{dataChecked: true}

	// Required fields, in contract order.
	env.EventID = d.requiredString(fEventID)
	if d.err == nil {
		if n := utf8.RuneCountInString(env.EventID); n == 0 || n > 128 {
			d.fail("eventId: must be 1-128 characters, got %d", n)
		}
	}
	env.EventType = d.requiredString(fEventType)
	if d.err == nil && !validEventType(env.EventType) {
		d.fail("eventType: must be kebab-case (^[a-z0-9]+(-[a-z0-9]+)*$), got %s", quote(env.EventType))
	}
	env.SchemaVersion = d.requiredString(fSchemaVersion)
	var schemaMajor string
	if d.err == nil {
		var ok bool
		if schemaMajor, ok = parseSchemaVersion(env.SchemaVersion); !ok {
			d.fail("schemaVersion: must be MAJOR.MINOR.PATCH, got %s", quote(env.SchemaVersion))
		}
	}
	env.Source = d.requiredString(fSource)
	env.SourceVersion = d.requiredString(fSourceVersion)
	var version []string
	if d.err == nil {
		var ok bool
		if version, ok = parseSourceVersion(env.SourceVersion); !ok {
			d.fail("sourceVersion: must start with a version number such as 4.13.2, got %s", quote(env.SourceVersion))
		}
	}
	env.TenantID = d.requiredString(fTenantID)
	env.OccurredAt = d.timestamp(fOccurredAt, true)
	if d.err == nil {
		if f := fields[fData]; f.kind == kindNone || f.kind == kindNull {
			d.fail("data: required")
		} else if f.kind != kindObject {
			d.fail("data: must be an object, got %s", f.kind)
		} else {
			env.Data = body[f.vs:f.ve:f.ve]
		}
	}

	// Optional fields.
	env.NativeEventType = d.optionalString(fNativeEventType)
	env.Environment = d.optionalString(fEnvironment)
	if d.err == nil {
		switch env.Environment {
		case "", "development", "test", "production":
		default:
			d.fail("environment: must be development, test or production, got %s", quote(env.Environment))
		}
	}
	env.PublishedAt = d.timestamp(fPublishedAt, false)
	env.CorrelationID = d.optionalString(fCorrelationID)
	if d.err == nil {
		if n := utf8.RuneCountInString(env.CorrelationID); n > 128 {
			d.fail("correlationId: must be at most 128 characters, got %d", n)
		}
	}
	env.CausationID = d.optionalString(fCausationID)
	env.Subject = d.entityRef(fSubject)
	if d.err != nil {
		return nil, d.err
	}

	// The subject and the envelope must agree.
	switch {
	case env.EventType != subj.EventType:
		return nil, errorf(ClassInvalid, "eventType %s does not match the subject's %s", quote(env.EventType), quote(subj.EventType))
	case env.Source != subj.Source:
		return nil, errorf(ClassInvalid, "source %s does not match the subject's %s", quote(env.Source), quote(subj.Source))
	case env.TenantID != subj.Tenant:
		return nil, errorf(ClassInvalid, "tenantId %s does not match the subject's %s", quote(env.TenantID), quote(subj.Tenant))
	}

	// Supported?
	minVersion, known := minSourceVersion[env.Source]
	if !known {
		return nil, errorf(ClassUnsupported, "source %s is not supported (supported: velocity, junifer)", quote(env.Source))
	}
	if strings.TrimLeft(schemaMajor, "0") != "1" {
		return nil, errorf(ClassUnsupported, "schemaVersion %s: major version %s is not supported (supported: 1)", quote(env.SchemaVersion), schemaMajor)
	}
	if compareVersions(version, minSourceParts[env.Source]) < 0 {
		return nil, errorf(ClassUnsupported, "sourceVersion %s is below the minimum %s for %s", quote(env.SourceVersion), minVersion, env.Source)
	}
	return env, nil
}

// decoder checks envelope fields, keeping the first failure.
type decoder struct {
	body   []byte
	fields *[numFields]span
	err    *Error
}

func (d *decoder) fail(format string, args ...any) {
	if d.err == nil {
		d.err = errorf(ClassInvalid, format, args...)
	}
}

// str returns field f as a string; present is false when absent or null.
func (d *decoder) str(f int) (s string, present bool) {
	sp := d.fields[f]
	switch sp.kind {
	case kindNone, kindNull:
		return "", false
	case kindString:
		return unescape(d.body[sp.vs+1 : sp.ve-1]), true
	}
	d.fail("%s: must be a string, got %s", fieldNames[f], sp.kind)
	return "", false
}

func (d *decoder) requiredString(f int) string {
	if d.err != nil {
		return ""
	}
	s, present := d.str(f)
	if !present {
		d.fail("%s: required", fieldNames[f])
	}
	return s
}

func (d *decoder) optionalString(f int) string {
	if d.err != nil {
		return ""
	}
	s, _ := d.str(f)
	return s
}

// timestamp parses an RFC 3339 date-time with offset whose UTC form has a
// four-digit year.
func (d *decoder) timestamp(f int, required bool) time.Time {
	if d.err != nil {
		return time.Time{}
	}
	s, present := d.str(f)
	if !present {
		if required {
			d.fail("%s: required", fieldNames[f])
		}
		return time.Time{}
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		d.fail("%s: must be an RFC 3339 date-time with offset such as 2025-03-04T09:15:22.481+11:00, got %s", fieldNames[f], quote(s))
		return time.Time{}
	}
	if y := t.UTC().Year(); y < 0 || y > 9999 {
		d.fail("%s: %s is out of range in UTC", fieldNames[f], quote(s))
		return time.Time{}
	}
	return t
}

func (d *decoder) entityRef(f int) *EntityRef {
	if d.err != nil {
		return nil
	}
	sp := d.fields[f]
	switch sp.kind {
	case kindNone, kindNull:
		return nil
	case kindObject:
	default:
		d.fail("subject: must be an object, got %s", sp.kind)
		return nil
	}
	var ref EntityRef
	var got [2]span
	var it objIter
	it.init(d.body, sp.vs, 1, false)
	for {
		key, vs, ve, kind, ok, _ := it.next() // already validated
		if !ok {
			break
		}
		switch {
		case keyIs(d.body, key, "entityType"):
			got[0] = span{vs, ve, kind}
		case keyIs(d.body, key, "entityId"):
			got[1] = span{vs, ve, kind}
		}
	}
	for i, name := range [2]string{"entityType", "entityId"} {
		switch got[i].kind {
		case kindString:
			s := unescape(d.body[got[i].vs+1 : got[i].ve-1])
			if i == 0 {
				ref.EntityType = s
			} else {
				ref.EntityID = s
			}
		case kindNone, kindNull:
			d.fail("subject.%s: required", name)
			return nil
		default:
			d.fail("subject.%s: must be a string, got %s", name, got[i].kind)
			return nil
		}
	}
	return &ref
}

// parseSchemaVersion checks MAJOR.MINOR.PATCH (digits only) and returns MAJOR.
func parseSchemaVersion(s string) (string, bool) {
	parts := 0
	major := ""
	start := 0
	for i := 0; i <= len(s); i++ {
		if i == len(s) || s[i] == '.' {
			if i == start {
				return "", false
			}
			if parts == 0 {
				major = s[start:i]
			}
			parts++
			start = i + 1
			continue
		}
		if s[i] < '0' || s[i] > '9' {
			return "", false
		}
	}
	return major, parts == 3
}

// parseSourceVersion returns the numeric parts of the leading
// ^\d+(\.\d+)* of s; anything after them (e.g. "-rc1") is ignored.
func parseSourceVersion(s string) ([]string, bool) {
	var parts []string
	i := 0
	for {
		j := i
		for j < len(s) && s[j] >= '0' && s[j] <= '9' {
			j++
		}
		if j == i {
			break
		}
		parts = append(parts, s[i:j])
		if j+1 < len(s) && s[j] == '.' && s[j+1] >= '0' && s[j+1] <= '9' {
			i = j + 1
			continue
		}
		break
	}
	return parts, len(parts) > 0
}

// compareVersions compares dotted decimal versions part by part, numerically,
// with missing parts as 0. Parts are digit strings of any length.
func compareVersions(a, b []string) int {
	for i := 0; i < len(a) || i < len(b); i++ {
		x, y := "0", "0"
		if i < len(a) {
			x = a[i]
		}
		if i < len(b) {
			y = b[i]
		}
		if c := compareDigits(x, y); c != 0 {
			return c
		}
	}
	return 0
}

func compareDigits(x, y string) int {
	x = strings.TrimLeft(x, "0")
	y = strings.TrimLeft(y, "0")
	switch {
	case len(x) != len(y):
		if len(x) < len(y) {
			return -1
		}
		return 1
	case x < y:
		return -1
	case x > y:
		return 1
	}
	return 0
}
