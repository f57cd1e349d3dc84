package sfsim

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"reflect"
	"strings"
)

// publishRequest is the event POST body (salesforce.md §2) as the package's
// Apex class declares it: unknown names are a JSON_PARSER_ERROR.
type publishRequest struct {
	SchemaVersion string            `json:"schemaVersion"`
	ConnectorID   string            `json:"connectorId"`
	BatchID       string            `json:"batchId"`
	Events        []json.RawMessage `json:"events"`
}

// eventItem is one managed-package event.
type eventItem struct {
	SourceEventID     string           `json:"sourceEventId"`
	TenantID          string           `json:"tenantId"`
	SourceSystem      string           `json:"sourceSystem"`
	SourceEventType   string           `json:"sourceEventType"`
	EventType         string           `json:"eventType"`
	EventSubtype      string           `json:"eventSubtype"`
	EventContext      string           `json:"eventContext"`
	ExternalContextID string           `json:"externalContextId"`
	ExternalReference string           `json:"externalReference"`
	OccurredAt        string           `json:"occurredAt"`
	CorrelationID     string           `json:"correlationId"`
	EventAttributes   []eventAttribute `json:"eventAttributes"`

	raw json.RawMessage
}

type eventAttribute struct {
	Name  string `json:"name"`
	Value string `json:"value"`
}

// strictPublishRequest is the fully typed form used to locate errors.
type strictPublishRequest struct {
	SchemaVersion string      `json:"schemaVersion"`
	ConnectorID   string      `json:"connectorId"`
	BatchID       string      `json:"batchId"`
	Events        []eventItem `json:"events"`
}

// field returns the value of an event field by JSON name, or of an
// attribute by "attribute:NAME".
func (e *eventItem) field(name string) (string, bool) {
	if attr, ok := strings.CutPrefix(name, "attribute:"); ok {
		for _, a := range e.EventAttributes {
			if a.Name == attr {
				return a.Value, true
			}
		}
		return "", false
	}
	var v string
	switch name {
	case "sourceEventId":
		v = e.SourceEventID
	case "tenantId":
		v = e.TenantID
	case "sourceSystem":
		v = e.SourceSystem
	case "sourceEventType":
		v = e.SourceEventType
	case "eventType":
		v = e.EventType
	case "eventSubtype":
		v = e.EventSubtype
	case "eventContext":
		v = e.EventContext
	case "externalContextId":
		v = e.ExternalContextID
	case "externalReference":
		v = e.ExternalReference
	case "occurredAt":
		v = e.OccurredAt
	case "correlationId":
		v = e.CorrelationID
	default:
		return "", false
	}
	return v, v != ""
}

// decodePublish decodes the body. On failure it returns a realistic Apex
// JSON parser message (with [line:L, column:C]) and no request. The decode
// is one pass of encoding/json with unknown names refused at every level;
// each event's raw text is then cut out of the body (not copied).
func decodePublish(body []byte) (*publishRequest, []eventItem, string) {
	var strict strictPublishRequest
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&strict); err != nil {
		return nil, nil, parseErrorMessage(body)
	}
	raws, ok := splitEvents(body[:dec.InputOffset()])
	if !ok || len(raws) != len(strict.Events) {
		return nil, nil, "Unable to parse the request body" + position(body, 0)
	}
	req := &publishRequest{SchemaVersion: strict.SchemaVersion, ConnectorID: strict.ConnectorID, BatchID: strict.BatchID,
		Events: make([]json.RawMessage, len(raws))}
	for i, raw := range raws {
		req.Events[i] = raw
		strict.Events[i].raw = raw
	}
	return req, strict.Events, ""
}

// splitEvents returns the raw text of each element of the top-level
// "events" array of a valid JSON object. Keys are unescaped and compared
// case-insensitively, and the last "events" wins, as encoding/json does.
func splitEvents(body []byte) ([]json.RawMessage, bool) {
	i := skipSpace(body, 0)
	if i >= len(body) || body[i] != '{' {
		return nil, false
	}
	var out []json.RawMessage
	i++
	for {
		i = skipSpace(body, i)
		if i >= len(body) {
			return nil, false
		}
		switch body[i] {
		case '}':
			return out, true
		case ',':
			i++
			continue
		}
		keyEnd := skipValue(body, i)
		if keyEnd < 0 {
			return nil, false
		}
		key := body[i:keyEnd]
		i = skipSpace(body, keyEnd)
		if i >= len(body) || body[i] != ':' {
			return nil, false
		}
		i = skipSpace(body, i+1)
		end := skipValue(body, i)
		if end < 0 {
			return nil, false
		}
		if isEventsKey(key) {
			out = nil
			if body[i] == '[' {
				j := i + 1
				for {
					j = skipSpace(body, j)
					if j >= end-1 {
						break
					}
					if body[j] == ',' {
						j++
						continue
					}
					e := skipValue(body, j)
					if e < 0 || e > end {
						return nil, false
					}
					out = append(out, json.RawMessage(body[j:e:e]))
					j = e
				}
			}
		}
		i = end
	}
}

func isEventsKey(quoted []byte) bool {
	if bytes.IndexByte(quoted, '\\') < 0 {
		return len(quoted) >= 2 && strings.EqualFold(string(quoted[1:len(quoted)-1]), "events")
	}
	var k string
	return json.Unmarshal(quoted, &k) == nil && strings.EqualFold(k, "events")
}

func skipSpace(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\n' || b[i] == '\r') {
		i++
	}
	return i
}

// skipValue returns the offset just past the JSON value starting at i in
// valid JSON, or -1.
func skipValue(b []byte, i int) int {
	if i >= len(b) {
		return -1
	}
	depth := 0
	for j := i; j < len(b); j++ {
		switch b[j] {
		case '"':
			j++
			for j < len(b) && b[j] != '"' {
				if b[j] == '\\' {
					j++
				}
				j++
			}
			if j >= len(b) {
				return -1
			}
			if depth == 0 {
				return j + 1
			}
		case '{', '[':
			depth++
		case '}', ']':
			depth--
			if depth == 0 {
				return j + 1
			}
			if depth < 0 {
				return -1
			}
		case ',', ' ', '\t', '\n', '\r', ':':
			if depth == 0 {
				return j
			}
		default:
			if depth == 0 {
				// a literal: true, false, null or a number
				k := j
				for k < len(b) && !strings.ContainsRune(",}] \t\n\r", rune(b[k])) {
					k++
				}
				return k
			}
		}
	}
	if depth == 0 {
		return len(b)
	}
	return -1
}

// parseErrorMessage decodes the body with the fully typed request and turns
// the first error into the message Apex's parser would give.
func parseErrorMessage(body []byte) string {
	var strict strictPublishRequest
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	err := dec.Decode(&strict)
	var (
		syn *json.SyntaxError
		typ *json.UnmarshalTypeError
	)
	switch {
	case err == nil:
		return "Unable to parse the request body" + position(body, int64(len(body)))
	case errors.As(err, &syn):
		return syntaxMessage(body, syn)
	case errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF):
		return "Unexpected end-of-input: expected close marker for OBJECT" + position(body, int64(len(body)))
	case errors.As(err, &typ):
		return fmt.Sprintf("Cannot deserialize instance of %s out of %s token", apexTypeName(typ.Type), jacksonToken(typ.Value, body, typ.Offset)) +
			position(body, typ.Offset)
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		if name, off, ok := unknownKey(body); ok {
			return fmt.Sprintf("Unrecognized field %q", name) + position(body, off)
		}
		return "Unrecognized field " + strings.TrimPrefix(err.Error(), "json: unknown field ")
	default:
		return "Unable to parse the request body: " + err.Error()
	}
}

// position renders a byte offset as Jackson's " at [line:L, column:C]".
func position(body []byte, off int64) string {
	if off < 0 {
		off = 0
	}
	if off > int64(len(body)) {
		off = int64(len(body))
	}
	line := 1 + bytes.Count(body[:off], []byte{'\n'})
	col := max(int(off)-(bytes.LastIndexByte(body[:off], '\n')+1), 1)
	return fmt.Sprintf(" at [line:%d, column:%d]", line, col)
}

func charDesc(c byte) string {
	if c < 0x20 {
		return fmt.Sprintf("(CTRL-CHAR, code %d)", c)
	}
	return fmt.Sprintf("'%c' (code %d)", c, c)
}

// syntaxMessage maps encoding/json's syntax errors to Jackson's wording.
func syntaxMessage(body []byte, e *json.SyntaxError) string {
	msg := e.Error()
	var c byte
	if e.Offset >= 1 && e.Offset <= int64(len(body)) {
		c = body[e.Offset-1]
	}
	var text string
	switch {
	case strings.Contains(msg, "unexpected end of JSON input"):
		text = "Unexpected end-of-input: expected close marker for OBJECT"
	case strings.Contains(msg, "looking for beginning of object key string"):
		text = fmt.Sprintf("Unexpected character (%s): was expecting double-quote to start field name", charDesc(c))
	case strings.Contains(msg, "after object key:value pair"):
		text = fmt.Sprintf("Unexpected character (%s): was expecting comma to separate Object entries", charDesc(c))
	case strings.Contains(msg, "after object key"):
		text = fmt.Sprintf("Unexpected character (%s): was expecting a colon to separate field name and value", charDesc(c))
	case strings.Contains(msg, "after array element"):
		text = fmt.Sprintf("Unexpected character (%s): was expecting comma to separate Array entries", charDesc(c))
	case strings.Contains(msg, "in string literal"):
		text = fmt.Sprintf("Illegal unquoted character (%s): has to be escaped using backslash to be included in string value", charDesc(c))
	case strings.Contains(msg, "in string escape code"):
		text = fmt.Sprintf("Unrecognized character escape %s", charDesc(c))
	case strings.Contains(msg, "in literal"):
		text = fmt.Sprintf("Unrecognized token %s: was expecting (JSON String, Number, Array, Object or token 'null', 'true' or 'false')", charDesc(c))
	case strings.Contains(msg, "after top-level value"):
		text = fmt.Sprintf("Unexpected character (%s): expected end-of-input", charDesc(c))
	default:
		text = fmt.Sprintf("Unexpected character (%s): expected a valid value (JSON String, Number, Array, Object or token 'null', 'true' or 'false')", charDesc(c))
	}
	return text + position(body, e.Offset)
}

func apexTypeName(t reflect.Type) string {
	if t == nil {
		return "Object"
	}
	switch t {
	case reflect.TypeFor[strictPublishRequest](), reflect.TypeFor[publishRequest]():
		return packageNamespace + ".EventService.EventRequest"
	case reflect.TypeFor[eventItem]():
		return packageNamespace + ".EventService.Event"
	case reflect.TypeFor[eventAttribute]():
		return packageNamespace + ".EventService.EventAttribute"
	}
	switch t.Kind() {
	case reflect.String:
		return "String"
	case reflect.Slice:
		return "List<" + apexTypeName(t.Elem()) + ">"
	}
	return t.String()
}

// jacksonToken names the JSON token found where another was expected.
func jacksonToken(value string, body []byte, off int64) string {
	switch {
	case value == "array":
		return "START_ARRAY"
	case value == "object":
		return "START_OBJECT"
	case value == "string":
		return "VALUE_STRING"
	case value == "bool":
		if off >= 1 && off <= int64(len(body)) && body[off-1] == 'e' && off >= 5 && string(body[off-5:off]) == "false" {
			return "VALUE_FALSE"
		}
		return "VALUE_TRUE"
	case strings.HasPrefix(value, "number"):
		return "VALUE_NUMBER_INT"
	}
	return "VALUE_EMBEDDED_OBJECT"
}

// Known names at each level of the request, lower case (encoding/json and
// Apex both match names case-insensitively).
var (
	topKeys   = keySet(reflect.TypeFor[publishRequest]())
	eventKeys = keySet(reflect.TypeFor[eventItem]())
	attrKeys  = keySet(reflect.TypeFor[eventAttribute]())
)

func keySet(t reflect.Type) map[string]bool {
	m := map[string]bool{}
	for i := 0; i < t.NumField(); i++ {
		if tag, _, _ := strings.Cut(t.Field(i).Tag.Get("json"), ","); tag != "" && tag != "-" {
			m[strings.ToLower(tag)] = true
		}
	}
	return m
}

// unknownKey walks the body's tokens and returns the first object key that
// the request type does not declare, with the offset just after it.
func unknownKey(body []byte) (string, int64, bool) {
	type frame struct {
		obj       bool
		known     map[string]bool // keys of this object; nil: not checked
		elemKnown map[string]bool // for arrays: keys of object elements
		expectKey bool
		key       string
	}
	var stack []*frame
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	valueDone := func() {
		if n := len(stack); n > 0 && stack[n-1].obj {
			stack[n-1].expectKey = true
		}
	}
	for {
		tok, err := dec.Token()
		if err != nil {
			return "", 0, false
		}
		top := (*frame)(nil)
		if n := len(stack); n > 0 {
			top = stack[n-1]
		}
		switch t := tok.(type) {
		case json.Delim:
			switch t {
			case '{':
				var known map[string]bool
				switch {
				case top == nil:
					known = topKeys
				case !top.obj:
					known = top.elemKnown
				}
				stack = append(stack, &frame{obj: true, known: known, expectKey: true})
			case '[':
				var elem map[string]bool
				if top != nil && top.obj {
					switch {
					case sameSet(top.known, topKeys) && strings.EqualFold(top.key, "events"):
						elem = eventKeys
					case sameSet(top.known, eventKeys) && strings.EqualFold(top.key, "eventAttributes"):
						elem = attrKeys
					}
				}
				stack = append(stack, &frame{elemKnown: elem})
			default: // '}' or ']'
				stack = stack[:len(stack)-1]
				valueDone()
			}
		case string:
			if top != nil && top.obj && top.expectKey {
				if top.known != nil && !top.known[strings.ToLower(t)] {
					return t, dec.InputOffset(), true
				}
				top.key, top.expectKey = t, false
				continue
			}
			valueDone()
		default:
			valueDone()
		}
	}
}

func sameSet(a, b map[string]bool) bool {
	return a != nil && b != nil && reflect.ValueOf(a).UnsafePointer() == reflect.ValueOf(b).UnsafePointer()
}
