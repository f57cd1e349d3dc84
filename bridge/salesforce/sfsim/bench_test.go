package sfsim_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/gentrack/gcis-bridge/bridge/salesforce/sfsim"
)

// appendBatch writes a 200-event batch whose sourceEventIds are unique for
// batch n (about 110 KB, the shape of salesforce.md §2).
func appendBatch(buf []byte, n int64) []byte {
	buf = append(buf, `{"schemaVersion":"2.0","connectorId":"acme-prod","batchId":"01JF7ZK2X6Q3W5V8N9`...)
	buf = strconv.AppendInt(buf, n, 10)
	buf = append(buf, `","events":[`...)
	for i := 0; i < 200; i++ {
		if i > 0 {
			buf = append(buf, ',')
		}
		buf = append(buf, `{"sourceEventId":"5e7a1c02-8b3f-4d6e-`...)
		buf = strconv.AppendInt(buf, n, 10)
		buf = append(buf, '-')
		buf = strconv.AppendInt(buf, int64(i), 10)
		buf = append(buf, `","tenantId":"acme-energy","sourceSystem":"Junifer","sourceEventType":"bill-accepted",`+
			`"eventType":"Bill","eventSubtype":"Accepted","eventContext":"Account","externalContextId":"00000`...)
		buf = strconv.AppendInt(buf, int64(100+i), 10)
		buf = append(buf, `","externalReference":"11803","occurredAt":"2025-04-02T05:01:44.000Z","correlationId":"c-00000101-onboarding",`+
			`"eventAttributes":[{"name":"issueDt","value":"2025-04-02"},{"name":"dueDt","value":"2025-04-16"},`+
			`{"name":"grossAmount","value":"148.62"},{"name":"netAmount","value":"141.54"},{"name":"salesTaxAmount","value":"7.08"},`+
			`{"name":"currency","value":"GBP"},{"name":"firstBillFl","value":"true"},{"name":"versionNumber","value":"1"}]}`...)
	}
	return append(buf, "]}"...)
}

// BenchmarkPublish200 posts 200-event batches over real loopback HTTP from
// several concurrent clients (2 per GOMAXPROCS), latency injection off, and
// reports the events accepted per second.
func BenchmarkPublish200(b *testing.B) {
	s, err := sfsim.New(sfsim.Config{
		Orgs:           []sfsim.OrgConfig{{ID: "acme", ConsumerKey: acmeKey, ConsumerSecret: acmeSecret, DailyAPIMax: 1 << 40}},
		RequestLogSize: 1000,
	})
	require.NoError(b, err)
	ts := httptest.NewServer(s)
	defer ts.Close()
	defer s.Close()
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}, Timeout: time.Minute}

	resp, err := client.PostForm(ts.URL+"/orgs/acme/services/oauth2/token", url.Values{
		"grant_type": {"client_credentials"}, "client_id": {acmeKey}, "client_secret": {acmeSecret}})
	require.NoError(b, err)
	var tr struct {
		AccessToken string `json:"access_token"`
	}
	require.NoError(b, decodeJSON(resp, &tr))
	endpoint := ts.URL + "/orgs/acme" + eventPath

	var seq atomic.Int64
	var failed atomic.Int64
	b.SetParallelism(2)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		buf := make([]byte, 0, 128<<10)
		for pb.Next() {
			buf = appendBatch(buf[:0], seq.Add(1))
			req, _ := http.NewRequest(http.MethodPost, endpoint, bytes.NewReader(buf))
			req.Header.Set("Authorization", "Bearer "+tr.AccessToken)
			req.Header.Set("Content-Type", "application/json")
			resp, err := client.Do(req)
			if err != nil {
				failed.Add(1)
				continue
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				failed.Add(1)
			}
		}
	})
	b.StopTimer()
	if n := failed.Load(); n > 0 {
		b.Fatalf("%d requests failed", n)
	}
	st, err := s.Stats("acme")
	require.NoError(b, err)
	if st.EventsCreated != int64(b.N)*200 {
		b.Fatalf("created %d events, want %d", st.EventsCreated, b.N*200)
	}
	b.ReportMetric(float64(b.N)*200/b.Elapsed().Seconds(), "events/s")
	b.SetBytes(int64(len(appendBatch(nil, 1))))
}

func decodeJSON(resp *http.Response, v any) error {
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	return jsonUnmarshal(b, v)
}

var jsonUnmarshal = json.Unmarshal
