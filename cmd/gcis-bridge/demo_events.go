package main

import (
	"bytes"
	"encoding/json"

	"github.com/gentrack/gcis-bridge/bridge/salesforce/sfsim"
	"github.com/gentrack/gcis-bridge/transform/catalog"
)

// demoRejectRule makes every simulated org reject events whose
// externalContextId starts with REJECT, as a package validation rule would.
func demoRejectRule() sfsim.Fault {
	return sfsim.Fault{Kind: sfsim.KindItemError, Rule: &sfsim.ItemRule{
		Field: "externalContextId", Prefix: "REJECT",
		StatusCode: "FIELD_CUSTOM_VALIDATION_EXCEPTION", Message: "Account not found",
	}}
}

// demoBadEvents returns one event of each kind the bridge must refuse:
// malformed JSON (invalid), a Junifer version below 6.0 (unsupported), an
// event type without a mapping (unmapped) and one the org rejects
// (rejected).
func demoBadEvents(tenant string) []pubEvent {
	base, err := catalog.Example("junifer", "bill-accepted")
	if err != nil {
		panic(err)
	}
	edit := func(id string, f func(env map[string]any)) pubEvent {
		dec := json.NewDecoder(bytes.NewReader(base.Body))
		dec.UseNumber()
		var env map[string]any
		if err := dec.Decode(&env); err != nil {
			panic(err)
		}
		env["eventId"] = id
		env["tenantId"] = tenant
		f(env)
		body, _ := json.Marshal(env)
		return pubEvent{subject: "gcis.events." + tenant + ".junifer." + env["eventType"].(string), msgID: id, body: body}
	}
	return []pubEvent{
		{subject: "gcis.events." + tenant + ".junifer.bill-accepted", msgID: "demo-bad-json", body: []byte(`{"eventId": "demo-bad-json", "eventType": `)},
		edit("demo-old-junifer", func(env map[string]any) { env["sourceVersion"] = "5.9.2" }),
		edit("demo-unmapped", func(env map[string]any) { env["eventType"] = "meter-reading-accepted" }),
		edit("demo-rejected", func(env map[string]any) {
			data := env["data"].(map[string]any)
			data["accountNumber"] = "REJECT-0001"
		}),
	}
}
