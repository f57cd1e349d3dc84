package salesforce_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
)

// benchBatch returns n events of about size bytes each.
func benchBatch(n, size int) ([]json.RawMessage, []string) {
	events := make([]json.RawMessage, n)
	ids := make([]string, n)
	for i := range n {
		ids[i] = fmt.Sprintf("5e7a1c02-8b3f-4d6e-a1f9-%012d", i)
		head := fmt.Sprintf(`{"sourceEventId":%q,"tenantId":"acme-energy","sourceSystem":"Junifer","sourceEventType":"bill-accepted","eventType":"Bill","eventSubtype":"Accepted","eventContext":"Account","externalContextId":"%08d","occurredAt":"2025-04-02T05:01:44.000Z","eventAttributes":[{"name":"pad","value":"`, ids[i], i)
		events[i] = json.RawMessage(head + strings.Repeat("x", max(0, size-len(head)-4)) + `"}]}`)
	}
	return events, ids
}

// BenchmarkClient_Publish measures a full publish of 200 × 1 KiB events
// over real HTTP on loopback: body building, the request, and decoding and
// checking 200 results. The server answers with a prepared response so the
// numbers are the client's.
func BenchmarkClient_Publish(b *testing.B) {
	events, ids := benchBatch(200, 1024)
	results := make([]map[string]string, len(ids))
	for i, id := range ids {
		results[i] = map[string]string{"sourceEventId": id, "status": "created", "id": fmt.Sprintf("a0B5g%013d", i)}
	}
	resp, _ := json.Marshal(map[string]any{"results": results})
	o := newOrg(b)
	o.noRecord = true
	o.setAPI(func(w http.ResponseWriter, _ *http.Request, _ int) {
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Sforce-Limit-Info", "api-usage=10018/100000")
		_, _ = w.Write(resp)
	})
	c := newClient(b, o)
	var size int
	for _, e := range events {
		size += len(e)
	}
	b.SetBytes(int64(size))
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		if _, err := c.Publish(b.Context(), "01JF7ZK2X6Q3W5V8N9R0T4Y2M1", events, ids); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N*len(events))/b.Elapsed().Seconds(), "events/s")
}

// BenchmarkClient_Publish_parallel is BenchmarkClient_Publish with
// concurrent publishers (as with max_in_flight > 1).
func BenchmarkClient_Publish_parallel(b *testing.B) {
	events, ids := benchBatch(200, 1024)
	results := make([]map[string]string, len(ids))
	for i, id := range ids {
		results[i] = map[string]string{"sourceEventId": id, "status": "created"}
	}
	resp, _ := json.Marshal(map[string]any{"results": results})
	o := newOrg(b)
	o.noRecord = true
	o.setAPI(func(w http.ResponseWriter, _ *http.Request, _ int) { _, _ = w.Write(resp) })
	c := newClient(b, o)
	b.ReportAllocs()
	b.SetParallelism(2)
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := c.Publish(b.Context(), "b", events, ids); err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N*len(events))/b.Elapsed().Seconds(), "events/s")
}
