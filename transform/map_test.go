package transform_test

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gentrack/gcis-bridge/transform"
)

// renderData exercises every value form; note the whitespace and escapes.
const renderData = `{
  "accountNumber": "00000101",
  "amount": 148.620,
  "big": 12345678901234567890123,
  "exp": -1.50E+10,
  "t": true,
  "f": false,
  "nul": null,
  "str": "a\"b\\c\u00e9\n<&>",
  "nested": { "b" : 1,  "a": [ 1, 2.50, { "z": "\u00e9" } ], "c": null },
  "list": [ { "id": "x1" }, { "id": 2 }, { "id": null }, { "noid": 1 } ],
  "one": [ { "id": "only" } ],
  "empty": [ ],
  "emptyObj": { },
  "keys": { "zeta": 1, "alpha": 2, "mid": 3, "beta": 4, "gamma": 5, "delta": 6, "eps": 7, "eta": 8, "theta": 9 },
  "nulls": [ null ]
}`

// mapOne maps an event with data through a mapping with one attribute of path.
func mapOne(t *testing.T, data, path string) (string, bool) {
	t.Helper()
	set, err := transform.NewMappingSet("test", []transform.Mapping{{
		Source: "junifer", EventType: "bill-accepted",
		Target:            transform.Target{EventType: "Bill", EventSubtype: "Accepted", EventContext: "Account"},
		ExternalContextID: "$.accountNumber",
		Attributes:        []transform.AttributeMapping{{Name: "v", Path: path}},
	}})
	require.NoError(t, err)
	env, err := transform.Decode(billSubject, body(t, map[string]any{"data": json.RawMessage(data)}), transform.DecodeOptions{})
	require.NoError(t, err)
	got, err := set.Map(env)
	require.NoError(t, err)
	switch len(got.Event.EventAttributes) {
	case 0:
		return "", false
	case 1:
		return got.Event.EventAttributes[0].Value, true
	}
	t.Fatalf("%d attributes", len(got.Event.EventAttributes))
	return "", false
}

func TestMap_value_rendering(t *testing.T) {
	tests := []struct {
		name   string
		path   string
		want   string
		absent bool
	}{
		{name: "decimal keeps trailing zero", path: "$.amount", want: "148.620"},
		{name: "big integer intact", path: "$.big", want: "12345678901234567890123"},
		{name: "exponent as written", path: "$.exp", want: "-1.50E+10"},
		{name: "true", path: "$.t", want: "true"},
		{name: "false", path: "$.f", want: "false"},
		{name: "string unescaped", path: "$.str", want: "a\"b\\cé\n<&>"},
		{name: "bracket name", path: "$['str']", want: "a\"b\\cé\n<&>"},
		{name: "object as compact source text", path: "$.nested", want: `{"b":1,"a":[1,2.50,{"z":"\u00e9"}],"c":null}`},
		{name: "array as compact source text", path: "$.nested.a", want: `[1,2.50,{"z":"\u00e9"}]`},
		{name: "index", path: "$.nested.a[1]", want: "2.50"},
		{name: "negative index", path: "$.nested.a[-1].z", want: "é"},
		{name: "empty object", path: "$.emptyObj", want: "{}"},
		{name: "empty array", path: "$.empty", want: "[]"},
		{name: "null omitted", path: "$.nul", absent: true},
		{name: "null in an object omitted", path: "$.nested.c", absent: true},
		{name: "missing omitted", path: "$.missing", absent: true},
		{name: "index out of range omitted", path: "$.nested.a[5]", absent: true},
		{name: "negative index out of range omitted", path: "$.nested.a[-4]", absent: true},
		{name: "name on a scalar omitted", path: "$.t.x", absent: true},
		{name: "index on an object omitted", path: "$.nested[0]", absent: true},
		{name: "wildcard, many matches", path: "$.list[*].id", want: `["x1",2,null]`},
		{name: "wildcard, one match is still an array", path: "$.one[*].id", want: `["only"]`},
		{name: "wildcard, zero matches omitted", path: "$.empty[*]", absent: true},
		{name: "wildcard selecting null gives [null]", path: "$.nulls[*]", want: `[null]`},
		{name: "wildcard over an object keeps document order", path: "$.keys.*", want: `[1,2,3,4,5,6,7,8,9]`},
		{name: "wildcard over objects gives their text", path: "$.one[*]", want: `[{"id":"only"}]`},
		{name: "wildcard strings keep their escapes", path: "$.nested.a[2].*", want: `["\u00e9"]`},
		{name: "descendant in document order", path: "$..id", want: `["x1",2,null,"only"]`},
		{name: "filter", path: "$.list[?@.id == 2].id", want: `[2]`},
		{name: "filter on a string", path: "$.list[?@.id == 'x1']", want: `[{"id":"x1"}]`},
		{name: "filter comparing a decimal", path: "$[?@ == 148.62]", want: `[148.620]`},
		{name: "filter with a function", path: "$.list[?length(@.id) == 2].id", want: `["x1"]`},
		{name: "slice", path: "$.list[0:2].id", want: `["x1",2]`},
		{name: "reverse slice", path: "$.list[::-1].id", want: `[null,2,"x1"]`},
		{name: "several selectors keep their order", path: "$.list[1,0].id", want: `[2,"x1"]`},
		{name: "several names", path: "$['amount','t']", want: `[148.620,true]`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, present := mapOne(t, renderData, tt.path)
			if tt.absent {
				assert.False(t, present, "got %q", got)
				return
			}
			assert.True(t, present)
			assert.Equal(t, tt.want, got)
		})
	}
	t.Run("the root", func(t *testing.T) {
		got, _ := mapOne(t, renderData, "$")
		assert.True(t, json.Valid([]byte(got)))
		assert.NotContains(t, got, "\n")
		assert.True(t, strings.HasPrefix(got, `{"accountNumber":"00000101","amount":148.620,"big":12345678901234567890123,`), got)
		assert.Contains(t, got, `"keys":{"zeta":1,"alpha":2,`)
	})
}

// TestMap_wildcard_order_is_stable repeats an object wildcard: Go maps
// iterate in random order, the output must not.
func TestMap_wildcard_order_is_stable(t *testing.T) {
	for range 20 {
		got, _ := mapOne(t, renderData, "$.keys[*]")
		require.Equal(t, `[1,2,3,4,5,6,7,8,9]`, got)
		got, _ = mapOne(t, renderData, "$.keys[?@ > 4]")
		require.Equal(t, `[5,6,7,8,9]`, got)
	}
}

func TestMap_externalContextId(t *testing.T) {
	tests := []struct {
		name   string
		data   string
		want   string
		reason string
	}{
		{name: "string", data: `{"k":"00000101"}`, want: "00000101"},
		{name: "number as written", data: `{"k":11803.0}`, want: "11803.0"},
		{name: "boolean", data: `{"k":true}`, want: "true"},
		{name: "escaped string", data: `{"k":"A\u00e9"}`, want: "Aé"},
		{name: "missing", data: `{"x":1}`,
			reason: `externalContextId "$.k" of mapping junifer bill-accepted selected nothing: want exactly one non-empty scalar`},
		{name: "null", data: `{"k":null}`,
			reason: `externalContextId "$.k" of mapping junifer bill-accepted selected null: want exactly one non-empty scalar`},
		{name: "object", data: `{"k":{"a":1}}`,
			reason: `externalContextId "$.k" of mapping junifer bill-accepted selected an object, not a scalar: want exactly one non-empty scalar`},
		{name: "array", data: `{"k":["a"]}`,
			reason: `externalContextId "$.k" of mapping junifer bill-accepted selected an array, not a scalar: want exactly one non-empty scalar`},
		{name: "empty string", data: `{"k":""}`,
			reason: `externalContextId "$.k" of mapping junifer bill-accepted selected an empty string: want exactly one non-empty scalar`},
		{name: "blank string", data: `{"k":" \t"}`,
			reason: `externalContextId "$.k" of mapping junifer bill-accepted selected an empty string: want exactly one non-empty scalar`},
	}
	set, err := transform.NewMappingSet("test", []transform.Mapping{{
		Source: "junifer", EventType: "bill-accepted",
		Target:            transform.Target{EventType: "Bill", EventSubtype: "Accepted", EventContext: "Account"},
		ExternalContextID: "$.k",
	}})
	require.NoError(t, err)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env, err := transform.Decode(billSubject, body(t, map[string]any{"data": json.RawMessage(tt.data)}), transform.DecodeOptions{})
			require.NoError(t, err)
			got, err := set.Map(env)
			if tt.reason == "" {
				require.NoError(t, err)
				assert.Equal(t, tt.want, got.Event.ExternalContextID)
				assert.Equal(t, tt.want, got.OrderingKey, "the default ordering key")
				return
			}
			var te *transform.Error
			require.ErrorAs(t, err, &te)
			assert.Equal(t, transform.ClassUnmapped, te.Class)
			assert.Equal(t, tt.reason, te.Reason)
		})
	}
}

func TestMap_orderingKey_and_externalReference(t *testing.T) {
	set, err := transform.NewMappingSet("test", []transform.Mapping{{
		Source: "junifer", EventType: "bill-accepted",
		Target:            transform.Target{EventType: "Bill", EventSubtype: "Accepted", EventContext: "Account"},
		ExternalContextID: "$.identifier",
		ExternalReference: "$.ref",
		OrderingKey:       "$.accountNumber",
	}})
	require.NoError(t, err)
	tests := []struct {
		name    string
		data    string
		wantKey string
		wantRef string
	}{
		{"ordering key from its path", `{"identifier":"1012345678903","accountNumber":"00000101","ref":11803}`, "00000101", "11803"},
		{"missing ordering key falls back to externalContextId", `{"identifier":"1012345678903"}`, "1012345678903", ""},
		{"null ordering key falls back", `{"identifier":"1012345678903","accountNumber":null,"ref":null}`, "1012345678903", ""},
		{"empty ordering key falls back", `{"identifier":"1012345678903","accountNumber":"","ref":""}`, "1012345678903", ""},
		{"reference object as compact JSON", `{"identifier":"i","accountNumber":7,"ref":{ "a" : [1] }}`, "7", `{"a":[1]}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env, err := transform.Decode(billSubject, body(t, map[string]any{"data": json.RawMessage(tt.data)}), transform.DecodeOptions{})
			require.NoError(t, err)
			got, err := set.Map(env)
			require.NoError(t, err)
			assert.Equal(t, tt.wantKey, got.OrderingKey)
			assert.Equal(t, tt.wantRef, got.Event.ExternalReference)
			if tt.wantRef == "" {
				assert.NotContains(t, string(got.JSON), "externalReference")
			}
		})
	}
}

func TestMap_envelope_fields(t *testing.T) {
	set, err := transform.ParseMappings("m.yaml", []byte(billMappingYAML))
	require.NoError(t, err)
	tests := []struct {
		name           string
		edits          map[string]any
		wantOccurredAt string
		wantCorr       string
	}{
		{"offset converted to UTC", map[string]any{"occurredAt": "2025-03-04T09:15:22.481+11:00"}, "2025-03-03T22:15:22.481Z", "c-00000101-onboarding"},
		{"finer precision truncated, not rounded", map[string]any{"occurredAt": "2025-03-04T09:15:22.4819999+11:00"}, "2025-03-03T22:15:22.481Z", "c-00000101-onboarding"},
		{"nanoseconds truncated", map[string]any{"occurredAt": "2025-12-31T23:59:59.999999999Z"}, "2025-12-31T23:59:59.999Z", "c-00000101-onboarding"},
		{"no fraction gives .000", map[string]any{"occurredAt": "2025-03-04T09:15:22-05:30"}, "2025-03-04T14:45:22.000Z", "c-00000101-onboarding"},
		{"one fraction digit", map[string]any{"occurredAt": "2025-03-04T09:15:22.5Z"}, "2025-03-04T09:15:22.500Z", "c-00000101-onboarding"},
		{"correlationId omitted when absent", map[string]any{"correlationId": nil, "occurredAt": "2025-03-04T00:00:00Z"}, "2025-03-04T00:00:00.000Z", ""},
		{"correlationId omitted when null", map[string]any{"correlationId": null, "occurredAt": "2025-03-04T00:00:00Z"}, "2025-03-04T00:00:00.000Z", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env, err := transform.Decode(billSubject, body(t, tt.edits), transform.DecodeOptions{})
			require.NoError(t, err)
			got, err := set.Map(env)
			require.NoError(t, err)
			assert.Equal(t, tt.wantOccurredAt, got.Event.OccurredAt)
			assert.Equal(t, tt.wantCorr, got.Event.CorrelationID)
			if tt.wantCorr == "" {
				assert.NotContains(t, string(got.JSON), "correlationId")
			}
			assert.Equal(t, "5e7a1c02-8b3f-4d6e-a1f9-3c2b7d8e9f10", got.Event.SourceEventID)
			assert.Equal(t, "acme-energy", got.Event.TenantID)
			assert.Equal(t, "Junifer", got.Event.SourceSystem)
			assert.Equal(t, "bill-accepted", got.Event.SourceEventType)
			assert.Equal(t, "11803", got.Event.ExternalReference)
		})
	}
}

func TestMap_failures(t *testing.T) {
	set, err := transform.ParseMappings("m.yaml", []byte(billMappingYAML))
	require.NoError(t, err)
	good := &transform.Envelope{EventID: "e1", EventType: "bill-accepted", Source: "junifer", TenantID: "t1",
		OccurredAt: time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC), Data: json.RawMessage(`{"accountNumber":"1"}`)}
	with := func(edit func(e *transform.Envelope)) *transform.Envelope {
		e := *good
		edit(&e)
		return &e
	}
	tests := []struct {
		name   string
		set    *transform.MappingSet
		env    *transform.Envelope
		class  transform.Class
		reason string
	}{
		{"no mapping for the type", set, with(func(e *transform.Envelope) { e.EventType = "bill-ready" }), transform.ClassUnmapped,
			`no mapping for "junifer" event type "bill-ready"`},
		{"no mapping for the source", set, with(func(e *transform.Envelope) { e.Source = "velocity" }), transform.ClassUnmapped,
			`no mapping for "velocity" event type "bill-accepted"`},
		{"empty set", nil, good, transform.ClassUnmapped, `no mapping for "junifer" event type "bill-accepted"`},
		{"nil envelope", set, nil, transform.ClassInvalid, "no event"},
		{"hand-built: data not JSON", set, with(func(e *transform.Envelope) { e.Data = json.RawMessage(`{"a":`) }), transform.ClassInvalid,
			"data: not valid JSON: unexpected end of input at byte 5"},
		{"hand-built: data an array", set, with(func(e *transform.Envelope) { e.Data = json.RawMessage(`[]`) }), transform.ClassInvalid,
			"data: must be an object, got array"},
		{"hand-built: data missing", set, with(func(e *transform.Envelope) { e.Data = nil }), transform.ClassInvalid, "data: required"},
		{"hand-built: data with duplicate keys", set, with(func(e *transform.Envelope) { e.Data = json.RawMessage(`{"a":1,"a":2}`) }),
			transform.ClassInvalid, `data: not valid JSON: duplicate key "a" at byte 7`},
		{"hand-built: no eventId", set, with(func(e *transform.Envelope) { e.EventID = "" }), transform.ClassInvalid, "eventId: required"},
		{"hand-built: no occurredAt", set, with(func(e *transform.Envelope) { e.OccurredAt = time.Time{} }), transform.ClassInvalid, "occurredAt: required"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tt.set.Map(tt.env)
			assert.Nil(t, got)
			var te *transform.Error
			require.ErrorAs(t, err, &te)
			assert.Equal(t, tt.class, te.Class)
			assert.Equal(t, tt.reason, te.Reason)
		})
	}
	t.Run("hand-built envelope that is fine", func(t *testing.T) {
		got, err := set.Map(good)
		require.NoError(t, err)
		assert.Equal(t, "1", got.Event.ExternalContextID)
		assert.Equal(t, "2025-01-02T03:04:05.000Z", got.Event.OccurredAt)
	})
}

func TestMap_bounds_pathological_paths(t *testing.T) {
	// A deep, wide document and a path that multiplies what it selects.
	var b strings.Builder
	b.WriteString(`{"accountNumber":"1","x":`)
	for range 200 {
		b.WriteString(`[`)
	}
	for range 200 {
		b.WriteString(`]`)
	}
	b.WriteString(`,"w":[`)
	for i := range 3000 {
		if i > 0 {
			b.WriteString(",")
		}
		b.WriteString(`[1,2,3,4,5,6,7,8,9,10]`)
	}
	b.WriteString(`]}`)
	set, err := transform.NewMappingSet("test", []transform.Mapping{{
		Source: "junifer", EventType: "bill-accepted",
		Target:            transform.Target{EventType: "Bill", EventSubtype: "Accepted", EventContext: "Account"},
		ExternalContextID: "$.accountNumber",
		Attributes:        []transform.AttributeMapping{{Name: "v", Path: "$..*..*..*"}},
	}})
	require.NoError(t, err)
	env, err := transform.Decode(billSubject, body(t, map[string]any{"data": json.RawMessage(b.String())}), transform.DecodeOptions{})
	require.NoError(t, err)
	_, err = set.Map(env)
	var te *transform.Error
	require.ErrorAs(t, err, &te)
	assert.Equal(t, transform.ClassUnmapped, te.Class)
	assert.Contains(t, te.Reason, `attribute "v" "$..*..*..*" of mapping junifer bill-accepted selects more than`)
}
