package transform_test

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gentrack/gcis-bridge/transform"
)

// schemaFile is the published JSON Schema of the request body.
var schemaFile = filepath.Join("..", "deploy", "schema", "gtx_bu-event-request.schema.json")

// miniSchema validates JSON values against the subset of JSON Schema
// (draft 2020-12) the request schema uses. A keyword outside the subset
// fails validation, so the schema cannot silently rely on one.
type miniSchema struct {
	root map[string]any
}

var knownKeywords = map[string]bool{
	"$schema": true, "$id": true, "title": true, "description": true, "$defs": true, "$ref": true,
	"type": true, "required": true, "properties": true, "additionalProperties": true, "enum": true, "const": true,
	"pattern": true, "minLength": true, "maxLength": true, "minItems": true, "maxItems": true, "items": true,
}

func loadSchema(t testing.TB) *miniSchema {
	t.Helper()
	text, err := os.ReadFile(schemaFile)
	require.NoError(t, err)
	var root map[string]any
	require.NoError(t, json.Unmarshal(text, &root))
	require.Equal(t, "https://json-schema.org/draft/2020-12/schema", root["$schema"])
	return &miniSchema{root: root}
}

func (s *miniSchema) validate(doc []byte) []string {
	var v any
	if err := json.Unmarshal(doc, &v); err != nil {
		return []string{err.Error()}
	}
	var errs []string
	s.check(s.root, v, "$", &errs)
	return errs
}

func (s *miniSchema) check(schema map[string]any, v any, at string, errs *[]string) {
	fail := func(format string, args ...any) { *errs = append(*errs, at+": "+fmt.Sprintf(format, args...)) }
	keys := make([]string, 0, len(schema))
	for k := range schema {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if !knownKeywords[k] {
			fail("schema keyword %q is not supported by the test validator", k)
		}
	}
	if ref, ok := schema["$ref"].(string); ok {
		name, ok := strings.CutPrefix(ref, "#/$defs/")
		if !ok {
			fail("unsupported $ref %q", ref)
			return
		}
		def, ok := s.root["$defs"].(map[string]any)[name].(map[string]any)
		if !ok {
			fail("unknown $ref %q", ref)
			return
		}
		s.check(def, v, at, errs)
	}
	if typ, ok := schema["type"].(string); ok {
		okType := false
		switch typ {
		case "object":
			_, okType = v.(map[string]any)
		case "array":
			_, okType = v.([]any)
		case "string":
			_, okType = v.(string)
		default:
			fail("unsupported type %q", typ)
		}
		if !okType {
			fail("want %s, got %T", typ, v)
			return
		}
	}
	if c, ok := schema["const"]; ok && c != v {
		fail("want %v, got %v", c, v)
	}
	if enum, ok := schema["enum"].([]any); ok && !slices.Contains(enum, v) {
		fail("%v is not one of %v", v, enum)
	}
	if str, ok := v.(string); ok {
		n := float64(utf8.RuneCountInString(str))
		if m, ok := schema["minLength"].(float64); ok && n < m {
			fail("shorter than %v", m)
		}
		if m, ok := schema["maxLength"].(float64); ok && n > m {
			fail("longer than %v", m)
		}
		if p, ok := schema["pattern"].(string); ok && !regexp.MustCompile(p).MatchString(str) {
			fail("%q does not match %s", str, p)
		}
	}
	if arr, ok := v.([]any); ok {
		if m, ok := schema["minItems"].(float64); ok && float64(len(arr)) < m {
			fail("fewer than %v items", m)
		}
		if m, ok := schema["maxItems"].(float64); ok && float64(len(arr)) > m {
			fail("more than %v items", m)
		}
		if items, ok := schema["items"].(map[string]any); ok {
			for i, item := range arr {
				s.check(items, item, fmt.Sprintf("%s[%d]", at, i), errs)
			}
		}
	}
	if obj, ok := v.(map[string]any); ok {
		props, _ := schema["properties"].(map[string]any)
		if req, ok := schema["required"].([]any); ok {
			for _, r := range req {
				if _, ok := obj[r.(string)]; !ok {
					fail("missing required %q", r)
				}
			}
		}
		names := make([]string, 0, len(obj))
		for k := range obj {
			names = append(names, k)
		}
		sort.Strings(names)
		for _, k := range names {
			if ps, ok := props[k].(map[string]any); ok {
				s.check(ps, obj[k], at+"."+k, errs)
			} else if schema["additionalProperties"] == false {
				fail("property %q is not allowed", k)
			}
		}
	}
}

// goldenRequest maps every golden fixture and wraps them in one request.
func goldenRequest(t *testing.T) transform.Request {
	t.Helper()
	set := defaultMappings(t)
	req := transform.Request{SchemaVersion: transform.RequestSchemaVersion, ConnectorID: "acme-prod", BatchID: "01JF7ZK2X6Q3W5V8N9R0T4Y2M1"}
	for _, file := range goldenFixtures(t) {
		b, err := os.ReadFile(file)
		require.NoError(t, err)
		env, err := transform.Decode(fixtureSubject(t, b), b, transform.DecodeOptions{})
		require.NoError(t, err)
		m, err := set.Map(env)
		require.NoError(t, err)
		req.Events = append(req.Events, m.JSON)
	}
	return req
}

func TestSchema_accepts_produced_requests(t *testing.T) {
	schema := loadSchema(t)
	req := goldenRequest(t)
	require.Len(t, req.Events, 22)
	body, err := json.Marshal(req)
	require.NoError(t, err)
	assert.Empty(t, schema.validate(body), "the whole batch")
	for i, ev := range req.Events {
		one := req
		one.Events = req.Events[i : i+1]
		body, err := json.Marshal(one)
		require.NoError(t, err)
		assert.Empty(t, schema.validate(body), "%s", ev)
	}
}

func TestSchema_rejects_what_the_contract_forbids(t *testing.T) {
	schema := loadSchema(t)
	base := goldenRequest(t)
	base.Events = base.Events[:1]
	tests := []struct {
		name string
		edit func(req map[string]any, ev map[string]any)
		want string
	}{
		{"wrong schemaVersion", func(r, _ map[string]any) { r["schemaVersion"] = "1.0" }, `$.schemaVersion: want 2.0, got 1.0`},
		{"no events", func(r, _ map[string]any) { r["events"] = []any{} }, "$.events: fewer than 1 items"},
		{"201 events", func(r, ev map[string]any) {
			evs := make([]any, 201)
			for i := range evs {
				evs[i] = ev
			}
			r["events"] = evs
		}, "$.events: more than 200 items"},
		{"batchId not a ULID", func(r, _ map[string]any) { r["batchId"] = "batch-1" }, `$.batchId: "batch-1" does not match`},
		{"connectorId upper case", func(r, _ map[string]any) { r["connectorId"] = "Acme" }, `$.connectorId: "Acme" does not match`},
		{"unknown top-level field", func(r, _ map[string]any) { r["extra"] = 1 }, `$: property "extra" is not allowed`},
		{"event without externalContextId", func(_, ev map[string]any) { delete(ev, "externalContextId") },
			`$.events[0]: missing required "externalContextId"`},
		{"blank externalContextId", func(_, ev map[string]any) { ev["externalContextId"] = " " }, `$.events[0].externalContextId: " " does not match`},
		{"occurredAt with an offset", func(_, ev map[string]any) { ev["occurredAt"] = "2025-04-02T06:01:44.000+01:00" },
			`$.events[0].occurredAt: "2025-04-02T06:01:44.000+01:00" does not match`},
		{"occurredAt without millis", func(_, ev map[string]any) { ev["occurredAt"] = "2025-04-02T05:01:44Z" },
			`$.events[0].occurredAt: "2025-04-02T05:01:44Z" does not match`},
		{"unknown sourceSystem", func(_, ev map[string]any) { ev["sourceSystem"] = "SAP" }, `$.events[0].sourceSystem: SAP is not one of`},
		{"unknown event field", func(_, ev map[string]any) { ev["accountNumber"] = "1" }, `$.events[0]: property "accountNumber" is not allowed`},
		{"empty eventType", func(_, ev map[string]any) { ev["eventType"] = "" }, `$.events[0].eventType: shorter than 1`},
		{"null correlationId", func(_, ev map[string]any) { ev["correlationId"] = nil }, `$.events[0].correlationId: want string, got <nil>`},
		{"attribute value a number", func(_, ev map[string]any) {
			ev["eventAttributes"] = []any{map[string]any{"name": "n", "value": 1.5}}
		}, `$.events[0].eventAttributes[0].value: want string, got float64`},
		{"attribute without value", func(_, ev map[string]any) {
			ev["eventAttributes"] = []any{map[string]any{"name": "n"}}
		}, `$.events[0].eventAttributes[0]: missing required "value"`},
		{"eventAttributes null", func(_, ev map[string]any) { ev["eventAttributes"] = nil }, `$.events[0].eventAttributes: want array, got <nil>`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			text, err := json.Marshal(base)
			require.NoError(t, err)
			var req map[string]any
			require.NoError(t, json.Unmarshal(text, &req))
			ev := req["events"].([]any)[0].(map[string]any)
			tt.edit(req, ev)
			text, err = json.Marshal(req)
			require.NoError(t, err)
			errs := schema.validate(text)
			require.NotEmpty(t, errs)
			assert.True(t, slices.ContainsFunc(errs, func(e string) bool { return strings.HasPrefix(e, tt.want) }), "%v", errs)
		})
	}
}

func TestSchema_validator_refuses_unknown_keywords(t *testing.T) {
	s := &miniSchema{root: map[string]any{"type": "string", "format": "date-time"}}
	assert.NotEmpty(t, s.validate([]byte(`"x"`)))
}
