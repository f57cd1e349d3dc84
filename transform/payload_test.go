package transform_test

import (
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gentrack/gcis-bridge/transform"
)

// plainEvent has Event's fields and tags without its methods, so
// json.Marshal encodes it by reflection.
type plainEvent transform.Event

var trickyStrings = []string{
	"", "plain", `quote " backslash \ slash /`, "<script>&amp;</script>", "\b\f\n\r\t\x00\x01\x1f\x7f",
	"é€😀", "line\u2028para\u2029", "bad \xff utf8", "\xed\xa0\x80 surrogate bytes", "Zoë O'Brien",
}

func TestEvent_AppendJSON_matches_encoding_json(t *testing.T) {
	for i, s := range trickyStrings {
		ev := transform.Event{
			SourceEventID: s, TenantID: "t", SourceSystem: "Junifer", SourceEventType: "bill-accepted",
			EventType: "Bill", EventSubtype: s, EventContext: "Account", ExternalContextID: s,
			ExternalReference: s, OccurredAt: "2025-04-02T05:01:44.000Z", CorrelationID: s,
			EventAttributes: []transform.Attribute{{Name: s, Value: s}, {Name: "n", Value: ""}},
		}
		if i%2 == 1 {
			ev.EventAttributes = []transform.Attribute{}
		}
		want, err := json.Marshal(plainEvent(ev))
		require.NoError(t, err)
		assert.Equal(t, string(want), string(ev.AppendJSON(nil)), "%q", s)
		assert.Equal(t, string(want), string(ev.AppendJSON([]byte("prefix"))[len("prefix"):]))
	}
	var empty transform.Event
	assert.JSONEq(t, `{"sourceEventId":"","tenantId":"","sourceSystem":"","sourceEventType":"","eventType":"","eventSubtype":"",
		"eventContext":"","externalContextId":"","occurredAt":"","eventAttributes":[]}`, string(empty.AppendJSON(nil)),
		"nil attributes encode as []")
}

func TestResponse_decodes_the_contract_example(t *testing.T) {
	const text = `{
  "batchId": "01JF7ZK2X6Q3W5V8N9R0T4Y2M1",
  "results": [
    {"sourceEventId": "5e7a...", "status": "created", "id": "a0B5g000001AbCdEAK"},
    {"sourceEventId": "9d2c...", "status": "duplicate", "id": "a0B5g000001AbCeEAK"},
    {"sourceEventId": "0b8f...", "status": "error",
     "errors": [{"statusCode": "FIELD_CUSTOM_VALIDATION_EXCEPTION", "message": "Account 3004172851 not found", "fields": ["externalContextId"]}]}
  ]
}`
	var r transform.Response
	require.NoError(t, json.Unmarshal([]byte(text), &r))
	assert.Equal(t, transform.Response{
		BatchID: "01JF7ZK2X6Q3W5V8N9R0T4Y2M1",
		Results: []transform.Result{
			{SourceEventID: "5e7a...", Status: transform.StatusCreated, ID: "a0B5g000001AbCdEAK"},
			{SourceEventID: "9d2c...", Status: transform.StatusDuplicate, ID: "a0B5g000001AbCeEAK"},
			{SourceEventID: "0b8f...", Status: transform.StatusError, Errors: []transform.ItemError{{
				StatusCode: "FIELD_CUSTOM_VALIDATION_EXCEPTION", Message: "Account 3004172851 not found", Fields: []string{"externalContextId"},
			}}},
		},
	}, r)
	again, err := json.Marshal(r)
	require.NoError(t, err)
	assert.JSONEq(t, text, string(again))
}

func TestRequest_encodes_as_the_contract(t *testing.T) {
	ev := transform.Event{SourceEventID: "5e7a", TenantID: "acme-energy", SourceSystem: "Junifer", SourceEventType: "bill-accepted",
		EventType: "Bill", EventSubtype: "Accepted", EventContext: "Account", ExternalContextID: "00000101",
		OccurredAt: "2025-04-02T05:01:44.000Z", EventAttributes: []transform.Attribute{{Name: "issueDt", Value: "2025-04-02"}}}
	req := transform.Request{SchemaVersion: transform.RequestSchemaVersion, ConnectorID: "acme-prod",
		BatchID: "01JF7ZK2X6Q3W5V8N9R0T4Y2M1", Events: []json.RawMessage{ev.AppendJSON(nil)}}
	got, err := json.Marshal(req)
	require.NoError(t, err)
	assert.JSONEq(t, `{"schemaVersion":"2.0","connectorId":"acme-prod","batchId":"01JF7ZK2X6Q3W5V8N9R0T4Y2M1","events":[
		{"sourceEventId":"5e7a","tenantId":"acme-energy","sourceSystem":"Junifer","sourceEventType":"bill-accepted",
		 "eventType":"Bill","eventSubtype":"Accepted","eventContext":"Account","externalContextId":"00000101",
		 "occurredAt":"2025-04-02T05:01:44.000Z","eventAttributes":[{"name":"issueDt","value":"2025-04-02"}]}]}`, string(got))
}
