package transform_test

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gentrack/gcis-bridge/transform"
)

// baseEvent returns a valid junifer bill-accepted envelope as a map.
func baseEvent() map[string]any {
	return map[string]any{
		"eventId":         "5e7a1c02-8b3f-4d6e-a1f9-3c2b7d8e9f10",
		"eventType":       "bill-accepted",
		"nativeEventType": "junifer::BillAccepted",
		"schemaVersion":   "1.0.0",
		"source":          "junifer",
		"sourceVersion":   "6.3.0",
		"tenantId":        "acme-energy",
		"environment":     "production",
		"occurredAt":      "2025-04-02T06:01:44.123+01:00",
		"publishedAt":     "2025-04-02T05:01:45.377Z",
		"correlationId":   "c-00000101-onboarding",
		"causationId":     "9d2c4b10-7e61-4a8f-b3c5-0e4f6a7b8c90",
		"subject":         map[string]any{"entityType": "Bill", "entityId": "11803"},
		"data":            map[string]any{"id": 11803, "accountNumber": "00000101", "grossAmount": "148.62"},
	}
}

// body encodes baseEvent after applying edits: a nil value deletes the key.
func body(t testing.TB, edits map[string]any) []byte {
	t.Helper()
	ev := baseEvent()
	for k, v := range edits {
		if v == nil {
			delete(ev, k)
		} else {
			ev[k] = v
		}
	}
	b, err := json.Marshal(ev)
	require.NoError(t, err)
	return b
}

// null is an edit that sets a field to JSON null.
var null = json.RawMessage("null")

var billSubject = transform.Subject{Tenant: "acme-energy", Source: "junifer", EventType: "bill-accepted"}

func TestDecode_valid_event(t *testing.T) {
	env, err := transform.Decode(billSubject, body(t, nil), transform.DecodeOptions{})
	require.NoError(t, err)
	assert.Equal(t, "5e7a1c02-8b3f-4d6e-a1f9-3c2b7d8e9f10", env.EventID)
	assert.Equal(t, "bill-accepted", env.EventType)
	assert.Equal(t, "junifer::BillAccepted", env.NativeEventType)
	assert.Equal(t, "1.0.0", env.SchemaVersion)
	assert.Equal(t, "junifer", env.Source)
	assert.Equal(t, "6.3.0", env.SourceVersion)
	assert.Equal(t, "acme-energy", env.TenantID)
	assert.Equal(t, "production", env.Environment)
	assert.True(t, env.OccurredAt.Equal(time.Date(2025, 4, 2, 5, 1, 44, 123e6, time.UTC)), env.OccurredAt)
	_, offset := env.OccurredAt.Zone()
	assert.Equal(t, 3600, offset, "the source offset is kept")
	assert.True(t, env.PublishedAt.Equal(time.Date(2025, 4, 2, 5, 1, 45, 377e6, time.UTC)))
	assert.Equal(t, "c-00000101-onboarding", env.CorrelationID)
	assert.Equal(t, "9d2c4b10-7e61-4a8f-b3c5-0e4f6a7b8c90", env.CausationID)
	assert.Equal(t, &transform.EntityRef{EntityType: "Bill", EntityID: "11803"}, env.Subject)
	assert.JSONEq(t, `{"id": 11803, "accountNumber": "00000101", "grossAmount": "148.62"}`, string(env.Data))
}

func TestDecode_accepts(t *testing.T) {
	long := strings.Repeat("é", 128) // 128 characters, 256 bytes
	tests := []struct {
		name  string
		subj  transform.Subject
		edits map[string]any
		raw   string // instead of edits
		check func(t *testing.T, env *transform.Envelope)
	}{
		{name: "optional fields absent", edits: map[string]any{"nativeEventType": nil, "environment": nil, "publishedAt": nil,
			"correlationId": nil, "causationId": nil, "subject": nil},
			check: func(t *testing.T, env *transform.Envelope) {
				assert.Empty(t, env.CorrelationID)
				assert.True(t, env.PublishedAt.IsZero())
				assert.Nil(t, env.Subject)
			}},
		{name: "optional fields null", edits: map[string]any{"nativeEventType": null, "environment": null, "publishedAt": null,
			"correlationId": null, "causationId": null, "subject": null},
			check: func(t *testing.T, env *transform.Envelope) {
				assert.Empty(t, env.Environment)
				assert.Empty(t, env.CausationID)
				assert.Nil(t, env.Subject)
			}},
		{name: "unknown top-level fields ignored", edits: map[string]any{"futureField": map[string]any{"a": []any{1, "x", nil}}, "x-trace": "abc"}},
		{name: "unknown subject fields ignored", edits: map[string]any{"subject": map[string]any{"entityType": "Bill", "entityId": "1", "extra": true}}},
		{name: "eventId of 128 characters", edits: map[string]any{"eventId": long}},
		{name: "correlationId of 128 characters", edits: map[string]any{"correlationId": long}},
		{name: "sourceVersion at the minimum", edits: map[string]any{"sourceVersion": "6.0"}},
		{name: "sourceVersion with fewer parts", edits: map[string]any{"sourceVersion": "6"}},
		{name: "sourceVersion suffix ignored", edits: map[string]any{"sourceVersion": "6.0.0-rc1"}},
		{name: "sourceVersion compared numerically", edits: map[string]any{"sourceVersion": "10.0"}},
		{name: "sourceVersion leading zeros", edits: map[string]any{"sourceVersion": "06.000"}},
		{name: "sourceVersion huge part", edits: map[string]any{"sourceVersion": "123456789012345678901234567890.1"}},
		{name: "velocity 4.13", subj: transform.Subject{Tenant: "acme-energy", Source: "velocity", EventType: "bill-accepted"},
			edits: map[string]any{"source": "velocity", "sourceVersion": "4.13"}},
		{name: "velocity 4.13-rc1", subj: transform.Subject{Tenant: "acme-energy", Source: "velocity", EventType: "bill-accepted"},
			edits: map[string]any{"source": "velocity", "sourceVersion": "4.13-rc1"}},
		{name: "velocity 4.100", subj: transform.Subject{Tenant: "acme-energy", Source: "velocity", EventType: "bill-accepted"},
			edits: map[string]any{"source": "velocity", "sourceVersion": "4.100"}},
		{name: "schemaVersion 1.x", edits: map[string]any{"schemaVersion": "1.17.3"}},
		{name: "occurredAt in UTC", edits: map[string]any{"occurredAt": "2025-04-02T05:01:44Z"},
			check: func(t *testing.T, env *transform.Envelope) {
				assert.True(t, env.OccurredAt.Equal(time.Date(2025, 4, 2, 5, 1, 44, 0, time.UTC)))
			}},
		{name: "environment test", edits: map[string]any{"environment": "test"}},
		{name: "environment development", edits: map[string]any{"environment": "development"}},
		{name: "escapes in strings", raw: strings.Replace(string(body(t, nil)), `"acme-energy"`, `"acme\u002denergy"`, 1),
			check: func(t *testing.T, env *transform.Envelope) { assert.Equal(t, "acme-energy", env.TenantID) }},
		{name: "escaped key", raw: strings.Replace(string(body(t, nil)), `"tenantId"`, `"tenant\u0049d"`, 1)},
		{name: "whitespace around", raw: "\n\t " + string(body(t, nil)) + " \r\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			subj := tt.subj
			if subj == (transform.Subject{}) {
				subj = billSubject
			}
			b := []byte(tt.raw)
			if tt.raw == "" {
				b = body(t, tt.edits)
			}
			env, err := transform.Decode(subj, b, transform.DecodeOptions{})
			require.NoError(t, err)
			if tt.check != nil {
				tt.check(t, env)
			}
		})
	}
}

func TestDecode_rejects(t *testing.T) {
	valid := string(body(t, nil))
	sapSubject := transform.Subject{Tenant: "acme-energy", Source: "sap", EventType: "bill-accepted"}
	velocitySubject := transform.Subject{Tenant: "acme-energy", Source: "velocity", EventType: "bill-accepted"}
	deep := strings.Repeat("[", 600) + strings.Repeat("]", 600)
	tests := []struct {
		name   string
		subj   transform.Subject
		edits  map[string]any
		raw    string
		max    int
		class  transform.Class
		reason string
	}{
		// size, syntax, shape
		{name: "over the size limit", raw: valid, max: 100, class: transform.ClassInvalid,
			reason: fmt.Sprintf("event is %d bytes, over the 100-byte limit", len(valid))},
		{name: "empty body", raw: " ", class: transform.ClassInvalid, reason: "not valid JSON: empty body"},
		{name: "not JSON", raw: "hello", class: transform.ClassInvalid, reason: "not valid JSON: unexpected character 'h' at byte 0"},
		{name: "not an object", raw: `[{"eventId":"x"}]`, class: transform.ClassInvalid, reason: "not a JSON object: the event is a JSON array"},
		{name: "a string", raw: `"x"`, class: transform.ClassInvalid, reason: "not a JSON object: the event is a JSON string"},
		{name: "invalid UTF-8", raw: `{"eventId":"` + "\xff" + `"}`, class: transform.ClassInvalid, reason: "not valid JSON: invalid UTF-8 at byte 12"},
		{name: "byte order mark", raw: "\ufeff" + valid, class: transform.ClassInvalid, reason: "not valid JSON: unexpected byte 0xef at byte 0"},
		{name: "truncated", raw: valid[:40], class: transform.ClassInvalid, reason: fmt.Sprintf("not valid JSON: unterminated string at byte %d", strings.LastIndex(valid[:40], `"`))},
		{name: "missing closing brace", raw: `{"eventId":"x"`, class: transform.ClassInvalid,
			reason: "not valid JSON: unexpected end of input, want ',' or '}' at byte 14"},
		{name: "trailing comma", raw: `{"eventId":"x",}`, class: transform.ClassInvalid,
			reason: "not valid JSON: unexpected character '}', want an object key at byte 15"},
		{name: "trailing data", raw: valid + ` x`, class: transform.ClassInvalid,
			reason: fmt.Sprintf("not valid JSON: unexpected character 'x' after the top-level value at byte %d", len(valid)+1)},
		{name: "two objects", raw: valid + valid, class: transform.ClassInvalid,
			reason: fmt.Sprintf("not valid JSON: unexpected character '{' after the top-level value at byte %d", len(valid))},
		{name: "single quotes", raw: `{'eventId':'x'}`, class: transform.ClassInvalid,
			reason: "not valid JSON: unexpected character '\\'', want an object key at byte 1"},
		{name: "bad number in data", raw: strings.Replace(valid, `"id":11803`, `"id":011803`, 1), class: transform.ClassInvalid,
			reason: fmt.Sprintf("not valid JSON: unexpected character '1', want ',' or '}' at byte %d", strings.Index(valid, `"id":11803`)+6)},
		{name: "control character in string", raw: strings.Replace(valid, "c-00000101", "c-\t0000101", 1), class: transform.ClassInvalid,
			reason: fmt.Sprintf("not valid JSON: control character in string at byte %d", strings.Index(valid, "c-00000101")+2)},
		{name: "bad escape", raw: strings.Replace(valid, "c-00000101", `c-\x0000101`, 1), class: transform.ClassInvalid,
			reason: fmt.Sprintf("not valid JSON: invalid escape in string at byte %d", strings.Index(valid, "c-00000101")+2)},
		{name: "duplicate top-level key", raw: `{"eventId":"a","eventId":"b"}`, class: transform.ClassInvalid,
			reason: `not valid JSON: duplicate key "eventId" at byte 15`},
		{name: "duplicate key spelled with an escape", raw: `{"eventId":"a","event\u0049d":"b"}`, class: transform.ClassInvalid,
			reason: `not valid JSON: duplicate key "eventId" at byte 15`},
		{name: "duplicate key inside data", raw: strings.Replace(valid, `"id":11803`, `"id":11803,"id":11804`, 1), class: transform.ClassInvalid,
			reason: fmt.Sprintf(`not valid JSON: duplicate key "id" at byte %d`, strings.Index(valid, `"id":11803`)+11)},
		{name: "nesting too deep", edits: map[string]any{"data": map[string]any{"x": json.RawMessage(deep)}}, class: transform.ClassInvalid,
			reason: fmt.Sprintf("not valid JSON: nesting deeper than 512 levels at byte %d", strings.Index(string(body(t, map[string]any{"data": map[string]any{"x": json.RawMessage(deep)}})), "[")+510)},

		// required fields
		{name: "eventId missing", edits: map[string]any{"eventId": nil}, class: transform.ClassInvalid, reason: "eventId: required"},
		{name: "eventId null", edits: map[string]any{"eventId": null}, class: transform.ClassInvalid, reason: "eventId: required"},
		{name: "eventType missing", edits: map[string]any{"eventType": nil}, class: transform.ClassInvalid, reason: "eventType: required"},
		{name: "schemaVersion missing", edits: map[string]any{"schemaVersion": nil}, class: transform.ClassInvalid, reason: "schemaVersion: required"},
		{name: "source missing", edits: map[string]any{"source": nil}, class: transform.ClassInvalid, reason: "source: required"},
		{name: "sourceVersion missing", edits: map[string]any{"sourceVersion": nil}, class: transform.ClassInvalid, reason: "sourceVersion: required"},
		{name: "tenantId missing", edits: map[string]any{"tenantId": nil}, class: transform.ClassInvalid, reason: "tenantId: required"},
		{name: "occurredAt missing", edits: map[string]any{"occurredAt": nil}, class: transform.ClassInvalid, reason: "occurredAt: required"},
		{name: "data missing", edits: map[string]any{"data": nil}, class: transform.ClassInvalid, reason: "data: required"},
		{name: "data null", edits: map[string]any{"data": null}, class: transform.ClassInvalid, reason: "data: required"},

		// types and forms
		{name: "eventId a number", edits: map[string]any{"eventId": 42}, class: transform.ClassInvalid, reason: "eventId: must be a string, got number"},
		{name: "eventId empty", edits: map[string]any{"eventId": ""}, class: transform.ClassInvalid, reason: "eventId: must be 1-128 characters, got 0"},
		{name: "eventId too long", edits: map[string]any{"eventId": strings.Repeat("a", 129)}, class: transform.ClassInvalid,
			reason: "eventId: must be 1-128 characters, got 129"},
		{name: "eventType not kebab-case", edits: map[string]any{"eventType": "BillAccepted"}, class: transform.ClassInvalid,
			reason: `eventType: must be kebab-case (^[a-z0-9]+(-[a-z0-9]+)*$), got "BillAccepted"`},
		{name: "eventType double dash", edits: map[string]any{"eventType": "bill--accepted"}, class: transform.ClassInvalid,
			reason: `eventType: must be kebab-case (^[a-z0-9]+(-[a-z0-9]+)*$), got "bill--accepted"`},
		{name: "eventType an array", edits: map[string]any{"eventType": []string{"bill-accepted"}}, class: transform.ClassInvalid,
			reason: "eventType: must be a string, got array"},
		{name: "schemaVersion two parts", edits: map[string]any{"schemaVersion": "1.0"}, class: transform.ClassInvalid,
			reason: `schemaVersion: must be MAJOR.MINOR.PATCH, got "1.0"`},
		{name: "schemaVersion with suffix", edits: map[string]any{"schemaVersion": "1.0.0-beta"}, class: transform.ClassInvalid,
			reason: `schemaVersion: must be MAJOR.MINOR.PATCH, got "1.0.0-beta"`},
		{name: "schemaVersion a number", edits: map[string]any{"schemaVersion": 1}, class: transform.ClassInvalid,
			reason: "schemaVersion: must be a string, got number"},
		{name: "source a boolean", edits: map[string]any{"source": true}, class: transform.ClassInvalid,
			reason: "source: must be a string, got boolean"},
		{name: "sourceVersion unparseable", edits: map[string]any{"sourceVersion": "v6.3"}, class: transform.ClassInvalid,
			reason: `sourceVersion: must start with a version number such as 4.13.2, got "v6.3"`},
		{name: "sourceVersion empty", edits: map[string]any{"sourceVersion": ""}, class: transform.ClassInvalid,
			reason: `sourceVersion: must start with a version number such as 4.13.2, got ""`},
		{name: "tenantId an object", edits: map[string]any{"tenantId": map[string]any{}}, class: transform.ClassInvalid,
			reason: "tenantId: must be a string, got object"},
		{name: "occurredAt without offset", edits: map[string]any{"occurredAt": "2025-04-02T06:01:44"}, class: transform.ClassInvalid,
			reason: `occurredAt: must be an RFC 3339 date-time with offset such as 2025-03-04T09:15:22.481+11:00, got "2025-04-02T06:01:44"`},
		{name: "occurredAt a date", edits: map[string]any{"occurredAt": "2025-04-02"}, class: transform.ClassInvalid,
			reason: `occurredAt: must be an RFC 3339 date-time with offset such as 2025-03-04T09:15:22.481+11:00, got "2025-04-02"`},
		{name: "occurredAt epoch number", edits: map[string]any{"occurredAt": 1743570104}, class: transform.ClassInvalid,
			reason: "occurredAt: must be a string, got number"},
		{name: "occurredAt beyond year 9999 in UTC", edits: map[string]any{"occurredAt": "9999-12-31T23:59:59-01:00"}, class: transform.ClassInvalid,
			reason: `occurredAt: "9999-12-31T23:59:59-01:00" is out of range in UTC`},
		{name: "data an array", edits: map[string]any{"data": []any{}}, class: transform.ClassInvalid, reason: "data: must be an object, got array"},
		{name: "data a string", edits: map[string]any{"data": "{}"}, class: transform.ClassInvalid, reason: "data: must be an object, got string"},
		{name: "nativeEventType a number", edits: map[string]any{"nativeEventType": 7}, class: transform.ClassInvalid,
			reason: "nativeEventType: must be a string, got number"},
		{name: "environment unknown", edits: map[string]any{"environment": "prod"}, class: transform.ClassInvalid,
			reason: `environment: must be development, test or production, got "prod"`},
		{name: "publishedAt not RFC 3339", edits: map[string]any{"publishedAt": "yesterday"}, class: transform.ClassInvalid,
			reason: `publishedAt: must be an RFC 3339 date-time with offset such as 2025-03-04T09:15:22.481+11:00, got "yesterday"`},
		{name: "correlationId too long", edits: map[string]any{"correlationId": strings.Repeat("c", 129)}, class: transform.ClassInvalid,
			reason: "correlationId: must be at most 128 characters, got 129"},
		{name: "causationId a number", edits: map[string]any{"causationId": 1}, class: transform.ClassInvalid,
			reason: "causationId: must be a string, got number"},
		{name: "subject a string", edits: map[string]any{"subject": "Bill/11803"}, class: transform.ClassInvalid,
			reason: "subject: must be an object, got string"},
		{name: "subject without entityId", edits: map[string]any{"subject": map[string]any{"entityType": "Bill"}}, class: transform.ClassInvalid,
			reason: "subject.entityId: required"},
		{name: "subject entityType a number", edits: map[string]any{"subject": map[string]any{"entityType": 1, "entityId": "x"}}, class: transform.ClassInvalid,
			reason: "subject.entityType: must be a string, got number"},
		{name: "long values are shortened in reasons", edits: map[string]any{"eventType": strings.Repeat("X", 100)}, class: transform.ClassInvalid,
			reason: `eventType: must be kebab-case (^[a-z0-9]+(-[a-z0-9]+)*$), got "` + strings.Repeat("X", 64) + `"…`},
		{name: "line breaks are escaped in reasons", edits: map[string]any{"environment": "prod\nuction"}, class: transform.ClassInvalid,
			reason: `environment: must be development, test or production, got "prod\nuction"`},

		// subject and envelope agree
		{name: "eventType differs from subject", edits: map[string]any{"eventType": "bill-ready"}, class: transform.ClassInvalid,
			reason: `eventType "bill-ready" does not match the subject's "bill-accepted"`},
		{name: "source differs from subject", subj: velocitySubject, class: transform.ClassInvalid,
			reason: `source "junifer" does not match the subject's "velocity"`},
		{name: "tenantId differs from subject", edits: map[string]any{"tenantId": "other-tenant"}, class: transform.ClassInvalid,
			reason: `tenantId "other-tenant" does not match the subject's "acme-energy"`},
		{name: "invalid before unsupported", edits: map[string]any{"schemaVersion": "2.0.0", "tenantId": "other"}, class: transform.ClassInvalid,
			reason: `tenantId "other" does not match the subject's "acme-energy"`},

		// unsupported
		{name: "unknown source", subj: sapSubject, edits: map[string]any{"source": "sap"}, class: transform.ClassUnsupported,
			reason: `source "sap" is not supported (supported: velocity, junifer)`},
		{name: "schemaVersion major 2", edits: map[string]any{"schemaVersion": "2.0.0"}, class: transform.ClassUnsupported,
			reason: `schemaVersion "2.0.0": major version 2 is not supported (supported: 1)`},
		{name: "schemaVersion major 0", edits: map[string]any{"schemaVersion": "0.9.0"}, class: transform.ClassUnsupported,
			reason: `schemaVersion "0.9.0": major version 0 is not supported (supported: 1)`},
		{name: "junifer below 6.0", edits: map[string]any{"sourceVersion": "5.9.12"}, class: transform.ClassUnsupported,
			reason: `sourceVersion "5.9.12" is below the minimum 6.0 for junifer`},
		{name: "velocity 4.9 is below 4.13", subj: velocitySubject, edits: map[string]any{"source": "velocity", "sourceVersion": "4.9"},
			class: transform.ClassUnsupported, reason: `sourceVersion "4.9" is below the minimum 4.13 for velocity`},
		{name: "velocity 4.12.99-rc1", subj: velocitySubject, edits: map[string]any{"source": "velocity", "sourceVersion": "4.12.99-rc1"},
			class: transform.ClassUnsupported, reason: `sourceVersion "4.12.99-rc1" is below the minimum 4.13 for velocity`},
		{name: "velocity 4", subj: velocitySubject, edits: map[string]any{"source": "velocity", "sourceVersion": "4"},
			class: transform.ClassUnsupported, reason: `sourceVersion "4" is below the minimum 4.13 for velocity`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			subj := tt.subj
			if subj == (transform.Subject{}) {
				subj = billSubject
			}
			b := []byte(tt.raw)
			if tt.raw == "" {
				b = body(t, tt.edits)
			}
			env, err := transform.Decode(subj, b, transform.DecodeOptions{MaxBytes: tt.max})
			require.Error(t, err)
			assert.Nil(t, env)
			var te *transform.Error
			require.ErrorAs(t, err, &te)
			assert.Equal(t, tt.class, te.Class)
			assert.Equal(t, tt.reason, te.Reason)
			assert.NotContains(t, te.Reason, "\n")
			class, ok := transform.ClassOf(err)
			assert.True(t, ok)
			assert.Equal(t, tt.class, class)
		})
	}
}

func TestDecode_size_limit(t *testing.T) {
	b := body(t, nil)
	tests := []struct {
		name    string
		max     int
		wantErr bool
	}{
		{"exactly at the limit", len(b), false},
		{"one byte over", len(b) - 1, true},
		{"default 512 KiB", 0, false},
		{"negative means default", -1, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := transform.Decode(billSubject, b, transform.DecodeOptions{MaxBytes: tt.max})
			assert.Equal(t, tt.wantErr, err != nil, "%v", err)
		})
	}
	t.Run("default limit is 512 KiB", func(t *testing.T) {
		pad := strings.Repeat("x", transform.DefaultMaxEventBytes-len(b)+1)
		big := body(t, map[string]any{"padding": pad})
		_, err := transform.Decode(billSubject, big, transform.DecodeOptions{})
		class, _ := transform.ClassOf(err)
		assert.Equal(t, transform.ClassInvalid, class)
		assert.Contains(t, err.Error(), "over the 524288-byte limit")
	})
}
