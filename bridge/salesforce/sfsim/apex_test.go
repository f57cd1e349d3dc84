package sfsim_test

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gentrack/gcis-bridge/bridge/salesforce/sfsim"
)

func TestPackage_info(t *testing.T) {
	s := newSim(t, nil, sfsim.OrgConfig{ID: "acme", ConsumerKey: acmeKey, ConsumerSecret: acmeSecret, PackageVersion: "2.7.1"})
	tok := s.acmeToken()
	for _, p := range []string{eventPath, eventPath + "/", eventPath + "/anything"} {
		r := s.api(http.MethodGet, "acme", p, tok, nil)
		require.Equal(t, http.StatusOK, r.Status, p)
		assert.Equal(t, jsonCT, r.Header.Get("Content-Type"))
		assert.JSONEq(t, `{"package":"gtx_bu","version":"2.7.1","schemaVersions":["2.0"]}`, string(r.Body))
	}
}

func TestPublish_created_then_duplicate(t *testing.T) {
	s := newSim(t, nil)
	tok := s.acmeToken()
	first := eventsN("e", 3)
	r := s.publish(tok, batchBody(t, "01JF7ZK2X6Q3W5V8N9R0T4Y2M1", first...))
	require.Equal(t, http.StatusOK, r.Status, "body: %s", r.Body)
	assert.Equal(t, jsonCT, r.Header.Get("Content-Type"))
	assert.Equal(t, "api-usage=1/100000", r.Header.Get("Sforce-Limit-Info"))
	var res publishResult
	r.json(t, &res)
	assert.Equal(t, "01JF7ZK2X6Q3W5V8N9R0T4Y2M1", res.BatchID)
	require.Len(t, res.Results, 3)
	ids := map[string]string{}
	for i, it := range res.Results {
		assert.Equal(t, first[i]["sourceEventId"], it.SourceEventID, "request order")
		assert.Equal(t, "created", it.Status)
		assert.True(t, sfsim.ValidID(it.ID), "18-char id with case-safe suffix: %s", it.ID)
		assert.True(t, strings.HasPrefix(it.ID, "a0B"), it.ID)
		assert.Empty(t, it.Errors)
		ids[it.SourceEventID] = it.ID
	}
	assert.Len(t, ids, 3)

	// Resend two of them with a new one, in another order.
	second := []map[string]any{first[2], event("e-new"), first[0]}
	r = s.publish(tok, batchBody(t, "01JF7ZK2X6Q3W5V8N9R0T4Y2M2", second...))
	require.Equal(t, http.StatusOK, r.Status)
	res = publishResult{}
	r.json(t, &res)
	require.Len(t, res.Results, 3)
	assert.Equal(t, "duplicate", res.Results[0].Status)
	assert.Equal(t, ids["e-002"], res.Results[0].ID, "a duplicate carries the first id")
	assert.Equal(t, "created", res.Results[1].Status)
	assert.Equal(t, "duplicate", res.Results[2].Status)
	assert.Equal(t, ids["e-000"], res.Results[2].ID)

	events, dups, err := s.S.Events("acme")
	require.NoError(t, err)
	assert.Equal(t, 2, dups)
	require.Len(t, events, 4)
	for i, want := range []map[string]any{first[0], first[1], first[2], event("e-new")} {
		b, _ := json.Marshal(want)
		assert.Equal(t, string(b), string(events[i]), "stored exactly as sent, in arrival order")
	}
	recs, _, err := s.S.Records("acme")
	require.NoError(t, err)
	assert.Equal(t, ids["e-001"], recs[1].ID)
	assert.Equal(t, "01JF7ZK2X6Q3W5V8N9R0T4Y2M2", recs[3].BatchID)

	st, err := s.S.Stats("acme")
	require.NoError(t, err)
	assert.Equal(t, int64(2), st.Batches)
	assert.Equal(t, map[string]int64{"3": 2}, st.BatchSizes)
	assert.Equal(t, int64(3+1), st.EventsCreated)
	assert.Equal(t, int64(2), st.EventsDuplicate)
	assert.Equal(t, 4, st.EventsStored)
	last := st.RequestLog[len(st.RequestLog)-1]
	assert.Equal(t, "event", last.Endpoint)
	assert.Equal(t, 3, last.Events)
	assert.Equal(t, 1, last.Created)
	assert.Equal(t, 2, last.Duplicates)
	assert.Equal(t, "01JF7ZK2X6Q3W5V8N9R0T4Y2M2", last.BatchID)
}

func TestPublish_item_validation(t *testing.T) {
	s := newSim(t, nil)
	tok := s.acmeToken()
	del := func(k string) func(map[string]any) { return func(e map[string]any) { delete(e, k) } }
	set := func(k string, v any) func(map[string]any) { return func(e map[string]any) { e[k] = v } }
	tests := []struct {
		name    string
		edit    func(map[string]any)
		code    string
		fields  []string
		message string
	}{
		{name: "missing sourceEventId", edit: del("sourceEventId"), code: "REQUIRED_FIELD_MISSING", fields: []string{"sourceEventId"},
			message: "Required fields are missing: [sourceEventId]"},
		{name: "missing tenantId", edit: del("tenantId"), code: "REQUIRED_FIELD_MISSING", fields: []string{"tenantId"}},
		{name: "missing sourceSystem", edit: del("sourceSystem"), code: "REQUIRED_FIELD_MISSING", fields: []string{"sourceSystem"}},
		{name: "missing sourceEventType", edit: del("sourceEventType"), code: "REQUIRED_FIELD_MISSING", fields: []string{"sourceEventType"}},
		{name: "missing eventType", edit: del("eventType"), code: "REQUIRED_FIELD_MISSING", fields: []string{"eventType"}},
		{name: "empty externalContextId", edit: set("externalContextId", ""), code: "REQUIRED_FIELD_MISSING", fields: []string{"externalContextId"}},
		{name: "null occurredAt", edit: set("occurredAt", nil), code: "REQUIRED_FIELD_MISSING", fields: []string{"occurredAt"}},
		{name: "several missing", edit: func(e map[string]any) { delete(e, "tenantId"); delete(e, "eventType") },
			code: "REQUIRED_FIELD_MISSING", fields: []string{"tenantId", "eventType"}, message: "Required fields are missing: [tenantId, eventType]"},
		{name: "attribute without name", edit: set("eventAttributes", []any{map[string]any{"value": "x"}}),
			code: "REQUIRED_FIELD_MISSING", fields: []string{"eventAttributes[0].name"}},
		{name: "unknown sourceSystem", edit: set("sourceSystem", "SAP"), code: "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST",
			fields: []string{"sourceSystem"}, message: "bad value for restricted picklist field: SAP"},
		{name: "occurredAt without millis", edit: set("occurredAt", "2025-04-02T05:01:44Z"), code: "INVALID_FIELD", fields: []string{"occurredAt"}},
		{name: "occurredAt with offset", edit: set("occurredAt", "2025-04-02T16:01:44.000+11:00"), code: "INVALID_FIELD", fields: []string{"occurredAt"}},
		{name: "occurredAt with micros", edit: set("occurredAt", "2025-04-02T05:01:44.000123Z"), code: "INVALID_FIELD", fields: []string{"occurredAt"}},
		{name: "externalContextId too long", edit: set("externalContextId", strings.Repeat("x", 256)), code: "STRING_TOO_LONG",
			fields: []string{"externalContextId"}},
		{name: "attribute value too long", edit: set("eventAttributes", []any{map[string]any{"name": "n", "value": strings.Repeat("v", 131073)}}),
			code: "STRING_TOO_LONG", fields: []string{"eventAttributes[0].value"}},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			bad := event("bad-" + itoaTest(i))
			tt.edit(bad)
			good := event("good-" + itoaTest(i))
			r := s.publish(tok, batchBody(t, "b-"+itoaTest(i), good, bad))
			require.Equal(t, http.StatusOK, r.Status, "body: %s", r.Body)
			var res publishResult
			r.json(t, &res)
			require.Len(t, res.Results, 2)
			assert.Equal(t, "created", res.Results[0].Status, "other events are not affected")
			it := res.Results[1]
			assert.Equal(t, "error", it.Status)
			assert.Empty(t, it.ID)
			require.NotEmpty(t, it.Errors)
			assert.Equal(t, tt.code, it.Errors[0].StatusCode)
			assert.Equal(t, tt.fields, it.Errors[0].Fields)
			if tt.message != "" {
				assert.Equal(t, tt.message, it.Errors[0].Message)
			}
			assert.NotContains(t, string(r.Body), `"fields":null`)
		})
	}
	events, _, _ := s.S.Events("acme")
	assert.Len(t, events, len(tests), "only the good events are stored")
}

func itoaTest(i int) string { return string(rune('a'+i/26)) + string(rune('a'+i%26)) }

func TestPublish_duplicate_in_batch(t *testing.T) {
	s := newSim(t, nil)
	tok := s.acmeToken()
	r := s.publish(tok, batchBody(t, "b1", event("x"), event("y"), event("x")))
	require.Equal(t, http.StatusOK, r.Status)
	var res publishResult
	r.json(t, &res)
	require.Len(t, res.Results, 3)
	assert.Equal(t, "created", res.Results[0].Status)
	assert.Equal(t, "created", res.Results[1].Status)
	assert.Equal(t, "error", res.Results[2].Status)
	assert.Equal(t, "x", res.Results[2].SourceEventID)
	require.Len(t, res.Results[2].Errors, 1)
	assert.Equal(t, "DUPLICATE_VALUE", res.Results[2].Errors[0].StatusCode)
	assert.Equal(t, []string{"sourceEventId"}, res.Results[2].Errors[0].Fields)
}

func TestPublish_whole_request_errors(t *testing.T) {
	s := newSim(t, nil)
	tok := s.acmeToken()
	good := string(batchBody(t, "b", event("e1")))
	without := func(key string) string {
		var m map[string]any
		require.NoError(t, json.Unmarshal([]byte(good), &m))
		delete(m, key)
		b, _ := json.Marshal(m)
		return string(b)
	}
	tests := []struct {
		name    string
		body    string
		ctype   string
		status  int
		code    string
		message string // exact, or a regexp when it starts with ^
	}{
		{name: "empty body", body: "", status: 400, code: "JSON_PARSER_ERROR",
			message: "The HTTP entity body is required, but this request has no entity body."},
		{name: "blank body", body: " \n ", status: 400, code: "JSON_PARSER_ERROR",
			message: "The HTTP entity body is required, but this request has no entity body."},
		{name: "double comma", body: `{"schemaVersion":"2.0",,}`, status: 400, code: "JSON_PARSER_ERROR",
			message: "Unexpected character (',' (code 44)): was expecting double-quote to start field name at [line:1, column:24]"},
		{name: "missing comma", body: "{\n\"schemaVersion\":\"2.0\" \"events\":[]}", status: 400, code: "JSON_PARSER_ERROR",
			message: "Unexpected character ('\"' (code 34)): was expecting comma to separate Object entries at [line:2, column:23]"},
		{name: "bad value", body: `{"schemaVersion":x}`, status: 400, code: "JSON_PARSER_ERROR",
			message: `^Unexpected character \('x' \(code 120\)\): expected a valid value .* at \[line:1, column:18\]$`},
		{name: "truncated", body: `{"schemaVersion":"2.0","events":[`, status: 400, code: "JSON_PARSER_ERROR",
			message: "Unexpected end-of-input: expected close marker for OBJECT at [line:1, column:33]"},
		{name: "unknown top-level field", body: "{\n  \"schemaVersion\": \"2.0\",\n  \"foo\": 1\n}", status: 400, code: "JSON_PARSER_ERROR",
			message: `Unrecognized field "foo" at [line:3, column:7]`},
		{name: "unknown event field", body: `{"schemaVersion":"2.0","connectorId":"c","batchId":"b","events":[{"sourceEventId":"a","payload":{}}]}`,
			status: 400, code: "JSON_PARSER_ERROR", message: `^Unrecognized field "payload" at \[line:1, column:\d+\]$`},
		{name: "unknown attribute field", body: `{"schemaVersion":"2.0","events":[{"eventAttributes":[{"name":"a","value":"b","type":"x"}]}]}`,
			status: 400, code: "JSON_PARSER_ERROR", message: `^Unrecognized field "type" at \[line:1, column:\d+\]$`},
		{name: "events not a list", body: `{"schemaVersion":"2.0","events":{}}`, status: 400, code: "JSON_PARSER_ERROR",
			message: `^Cannot deserialize instance of List<gtx_bu\.EventService\.Event> out of START_OBJECT token at \[line:1, column:\d+\]$`},
		{name: "number for a string", body: `{"schemaVersion":"2.0","events":[{"sourceEventId":12}]}`, status: 400, code: "JSON_PARSER_ERROR",
			message: `^Cannot deserialize instance of String out of VALUE_NUMBER_INT token at \[line:1, column:\d+\]$`},
		{name: "attribute value not a string", body: `{"schemaVersion":"2.0","events":[{"eventAttributes":[{"name":"a","value":true}]}]}`,
			status: 400, code: "JSON_PARSER_ERROR", message: `^Cannot deserialize instance of String out of VALUE_TRUE token`},
		{name: "top-level array", body: `[]`, status: 400, code: "JSON_PARSER_ERROR",
			message: `^Cannot deserialize instance of gtx_bu\.EventService\.EventRequest out of START_ARRAY token at \[line:1, column:1\]$`},
		{name: "missing schemaVersion", body: without("schemaVersion"), status: 400,
			code: "REQUIRED_FIELD_MISSING", message: "Required fields are missing: [schemaVersion]"},
		{name: "missing batchId", body: without("batchId"), status: 400,
			code: "REQUIRED_FIELD_MISSING", message: "Required fields are missing: [batchId]"},
		{name: "unsupported schemaVersion", body: strings.Replace(good, `"schemaVersion":"2.0"`, `"schemaVersion":"1.0"`, 1), status: 400,
			code: "INVALID_FIELD", message: "Unsupported schemaVersion: 1.0 (supported: 2.0)"},
		{name: "no events", body: `{"schemaVersion":"2.0","connectorId":"c","batchId":"b","events":[]}`, status: 400,
			code: "REQUIRED_FIELD_MISSING", message: "Required fields are missing: [events]"},
		{name: "201 events", body: string(batchBody(t, "b", eventsN("big", 201)...)), status: 400,
			code: "EXCEEDED_ID_LIMIT", message: "record limit reached. cannot submit more than 200 records into this call"},
		{name: "text/plain", body: good, ctype: "text/plain", status: 415, code: "UNSUPPORTED_MEDIA_TYPE",
			message: "Content-Type header specified in HTTP request is not supported: text/plain"},
		{name: "xml", body: good, ctype: "application/xml", status: 415, code: "UNSUPPORTED_MEDIA_TYPE"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ct := tt.ctype
			if ct == "" {
				ct = "application/json; charset=UTF-8"
			}
			r := s.request(http.MethodPost, s.orgURL("acme", eventPath), []byte(tt.body), "Authorization", "Bearer "+tok, "Content-Type", ct)
			requireSFError(t, r, tt.status, tt.code, "")
			msg := r.sfErrors(t)[0]["message"].(string)
			if strings.HasPrefix(tt.message, "^") {
				assert.Regexp(t, tt.message, msg)
			} else if tt.message != "" {
				assert.Equal(t, tt.message, msg)
			}
			assert.NotEmpty(t, r.Header.Get("Sforce-Limit-Info"))
		})
	}
	events, _, _ := s.S.Events("acme")
	assert.Empty(t, events)
}

func TestPublish_not_found_and_method(t *testing.T) {
	off := false
	s := newSim(t, nil, acmeOrg(), sfsim.OrgConfig{ID: "bare", ConsumerKey: "bk", ConsumerSecret: "bs", PackageInstalled: &off})
	tok := s.acmeToken()
	bareTok, _ := s.token("bare", "bk", "bs")
	body := batchBody(t, "b", event("e"))
	tests := []struct {
		name, org, tok, method, path string
	}{
		{"package not installed GET", "bare", bareTok, http.MethodGet, eventPath},
		{"package not installed POST", "bare", bareTok, http.MethodPost, eventPath},
		{"wrong version", "acme", tok, http.MethodPost, "/services/apexrest/gtx_bu/v1/event"},
		{"namespace case", "acme", tok, http.MethodGet, "/services/apexrest/GTX_BU/v2/event"},
		{"missing namespace", "acme", tok, http.MethodGet, "/services/apexrest/v2/event"},
		{"prefix only", "acme", tok, http.MethodGet, "/services/apexrest/gtx_bu/v2/events"},
		{"apexrest root", "acme", tok, http.MethodGet, "/services/apexrest"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var b []byte
			if tt.method == http.MethodPost {
				b = body
			}
			r := s.api(tt.method, tt.org, tt.path, tt.tok, b)
			requireSFError(t, r, http.StatusNotFound, "NOT_FOUND", "Could not find a match for URL")
		})
	}
	t.Run("PUT", func(t *testing.T) {
		r := s.api(http.MethodPut, "acme", eventPath, tok, body)
		requireSFError(t, r, http.StatusMethodNotAllowed, "METHOD_NOT_ALLOWED", "HTTP Method 'PUT' not allowed. Allowed are GET,HEAD,POST")
	})
	t.Run("uninstall at run time", func(t *testing.T) {
		require.NoError(t, s.S.UpdateOrg("acme", sfsim.OrgPatch{PackageInstalled: &off}))
		requireSFError(t, s.api(http.MethodGet, "acme", eventPath, tok, nil), http.StatusNotFound, "NOT_FOUND", "Could not find a match for URL")
	})
}

func TestPublish_body_too_large(t *testing.T) {
	t.Run("configured limit", func(t *testing.T) {
		s := newSim(t, func(c *sfsim.Config) { c.MaxBodyBytes = 10_000 })
		tok := s.acmeToken()
		body := batchBody(t, "b", eventsN("big", 40)...)
		require.Greater(t, len(body), 10_000)
		r := s.publish(tok, body)
		requireSFError(t, r, http.StatusInternalServerError, "APEX_ERROR", "System.LimitException: Apex heap size too large: "+itoaInt(len(body)))
	})
	t.Run("default 6 MB", func(t *testing.T) {
		s := newSim(t, nil)
		tok := s.acmeToken()
		ev := event("huge")
		ev["eventAttributes"] = []any{map[string]any{"name": "blob", "value": strings.Repeat("x", 100_000)}}
		list := make([]map[string]any, 61)
		for i := range list {
			list[i] = ev
		}
		body := batchBody(t, "b", list...)
		require.Greater(t, len(body), 6_000_000)
		r := s.publish(tok, body)
		requireSFError(t, r, http.StatusInternalServerError, "APEX_ERROR", "System.LimitException: Apex heap size too large: "+itoaInt(len(body)))
		// Just under the limit is accepted (60 copies: the rest are in-batch duplicates).
		body = batchBody(t, "b", list[:59]...)
		require.Less(t, len(body), 6_000_000)
		assert.Equal(t, http.StatusOK, s.publish(tok, body).Status)
	})
}

func itoaInt(n int) string { b, _ := json.Marshal(n); return string(b) }

func TestPublish_gzip_body(t *testing.T) {
	s := newSim(t, nil)
	tok := s.acmeToken()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	_, _ = zw.Write(batchBody(t, "bz", event("gz-1")))
	require.NoError(t, zw.Close())
	r := s.api(http.MethodPost, "acme", eventPath, tok, buf.Bytes(), "Content-Encoding", "gzip")
	require.Equal(t, http.StatusOK, r.Status, "body: %s", r.Body)
	assert.Contains(t, string(r.Body), `"status":"created"`)
	r = s.api(http.MethodPost, "acme", eventPath, tok, []byte("not gzip"), "Content-Encoding", "gzip")
	requireSFError(t, r, http.StatusBadRequest, "JSON_PARSER_ERROR", "")
	r = s.api(http.MethodPost, "acme", eventPath, tok, []byte("{}"), "Content-Encoding", "br")
	requireSFError(t, r, http.StatusUnsupportedMediaType, "UNSUPPORTED_MEDIA_TYPE", "")
}
