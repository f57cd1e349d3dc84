package transform

import (
	"encoding/json"
	"unicode/utf8"
)

// RequestSchemaVersion is the schemaVersion of the request body the bridge
// posts to the managed package (salesforce.md §2).
const RequestSchemaVersion = "2.0"

// Per-item result statuses of the managed package (salesforce.md §3).
const (
	StatusCreated   = "created"
	StatusDuplicate = "duplicate"
	StatusError     = "error"
)

// Attribute is one name/value pair of a managed-package event.
type Attribute struct {
	Name  string `json:"name"`
	Value string `json:"value"`
}

// Event is one managed-package event (salesforce.md §2). Field order is the
// order of the encoded JSON.
type Event struct {
	SourceEventID     string      `json:"sourceEventId"`
	TenantID          string      `json:"tenantId"`
	SourceSystem      string      `json:"sourceSystem"`
	SourceEventType   string      `json:"sourceEventType"`
	EventType         string      `json:"eventType"`
	EventSubtype      string      `json:"eventSubtype"`
	EventContext      string      `json:"eventContext"`
	ExternalContextID string      `json:"externalContextId"`
	ExternalReference string      `json:"externalReference,omitempty"`
	OccurredAt        string      `json:"occurredAt"`
	CorrelationID     string      `json:"correlationId,omitempty"`
	EventAttributes   []Attribute `json:"eventAttributes"`
}

// Request is the body of POST {instance_url}/services/apexrest/{event_endpoint}.
// Events holds encoded [Event] values, e.g. [Mapped].JSON.
type Request struct {
	SchemaVersion string            `json:"schemaVersion"`
	ConnectorID   string            `json:"connectorId"`
	BatchID       string            `json:"batchId"`
	Events        []json.RawMessage `json:"events"`
}

// Response is the managed package's 200 answer: one result per event, in
// request order.
type Response struct {
	BatchID string   `json:"batchId"`
	Results []Result `json:"results"`
}

// Result is the outcome of one event: Status is StatusCreated,
// StatusDuplicate or StatusError (then Errors says why).
type Result struct {
	SourceEventID string      `json:"sourceEventId"`
	Status        string      `json:"status"`
	ID            string      `json:"id,omitempty"`
	Errors        []ItemError `json:"errors,omitempty"`
}

// ItemError is one reason an event was rejected.
type ItemError struct {
	StatusCode string   `json:"statusCode"`
	Message    string   `json:"message"`
	Fields     []string `json:"fields,omitempty"`
}

// AppendJSON appends the JSON encoding of e to dst. The bytes are those
// encoding/json produces for e, except that nil EventAttributes encode as []
// (the package requires the array).
func (e *Event) AppendJSON(dst []byte) []byte {
	dst = append(dst, `{"sourceEventId":`...)
	dst = appendString(dst, e.SourceEventID)
	dst = append(dst, `,"tenantId":`...)
	dst = appendString(dst, e.TenantID)
	dst = append(dst, `,"sourceSystem":`...)
	dst = appendString(dst, e.SourceSystem)
	dst = append(dst, `,"sourceEventType":`...)
	dst = appendString(dst, e.SourceEventType)
	dst = append(dst, `,"eventType":`...)
	dst = appendString(dst, e.EventType)
	dst = append(dst, `,"eventSubtype":`...)
	dst = appendString(dst, e.EventSubtype)
	dst = append(dst, `,"eventContext":`...)
	dst = appendString(dst, e.EventContext)
	dst = append(dst, `,"externalContextId":`...)
	dst = appendString(dst, e.ExternalContextID)
	if e.ExternalReference != "" {
		dst = append(dst, `,"externalReference":`...)
		dst = appendString(dst, e.ExternalReference)
	}
	dst = append(dst, `,"occurredAt":`...)
	dst = appendString(dst, e.OccurredAt)
	if e.CorrelationID != "" {
		dst = append(dst, `,"correlationId":`...)
		dst = appendString(dst, e.CorrelationID)
	}
	dst = append(dst, `,"eventAttributes":[`...)
	for i, a := range e.EventAttributes {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = append(dst, `{"name":`...)
		dst = appendString(dst, a.Name)
		dst = append(dst, `,"value":`...)
		dst = appendString(dst, a.Value)
		dst = append(dst, '}')
	}
	return append(dst, "]}"...)
}

// jsonSize estimates the encoded size of e (exact for text needing no escapes).
func (e *Event) jsonSize() int {
	n := 190 + len(e.SourceEventID) + len(e.TenantID) + len(e.SourceSystem) + len(e.SourceEventType) +
		len(e.EventType) + len(e.EventSubtype) + len(e.EventContext) + len(e.ExternalContextID) +
		len(e.ExternalReference) + len(e.OccurredAt) + len(e.CorrelationID)
	for _, a := range e.EventAttributes {
		n += 22 + len(a.Name) + len(a.Value)
	}
	return n
}

const hexDigits = "0123456789abcdef"

// appendString appends s as a JSON string exactly as encoding/json does
// (HTML-safe: <, > and & escaped; U+2028 and U+2029 escaped; invalid UTF-8
// as U+FFFD).
func appendString(dst []byte, s string) []byte {
	dst = append(dst, '"')
	start := 0
	for i := 0; i < len(s); {
		if c := s[i]; c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' && c != '<' && c != '>' && c != '&' {
				i++
				continue
			}
			dst = append(dst, s[start:i]...)
			switch c {
			case '"', '\\':
				dst = append(dst, '\\', c)
			case '\b':
				dst = append(dst, '\\', 'b')
			case '\f':
				dst = append(dst, '\\', 'f')
			case '\n':
				dst = append(dst, '\\', 'n')
			case '\r':
				dst = append(dst, '\\', 'r')
			case '\t':
				dst = append(dst, '\\', 't')
			default:
				dst = append(dst, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			dst = append(dst, s[start:i]...)
			dst = append(dst, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			dst = append(dst, s[start:i]...)
			dst = append(dst, '\\', 'u', '2', '0', '2', hexDigits[r&0xf])
			i += size
			start = i
			continue
		}
		i += size
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"')
}
