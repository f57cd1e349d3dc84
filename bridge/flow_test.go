package bridge_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/gentrack/gcis-bridge/bridge"
	"github.com/gentrack/gcis-bridge/bridge/salesforce/sfsim"
	"github.com/gentrack/gcis-bridge/transform"
	"github.com/gentrack/gcis-bridge/transform/catalog"
)

// TestEndToEndPayload publishes synthetic events of every catalogue type to
// JetStream and checks they arrive at the simulated org exactly as the
// mapping produces them.
func TestEndToEndPayload(t *testing.T) {
	h := newHarness(t, harnessOpts{tenants: []string{"acme", "globex"}})
	want := map[string]map[string]any{}
	mappings := catalog.DefaultMappings()
	count := map[string]int{}
	for _, tenant := range []string{"acme", "globex"} {
		for _, src := range []string{"velocity", "junifer"} {
			for _, typ := range catalog.EventTypes(src) {
				ex, err := catalog.Example(src, typ)
				if err != nil {
					t.Fatal(err)
				}
				body := bytes.Replace(ex.Body, []byte(`"tenantId":"`+ex.Tenant+`"`), []byte(`"tenantId":"`+tenant+`"`), 1)
				id := tenant + "-" + src + "-" + typ
				body = bytes.Replace(body, []byte(`"eventId":"`+ex.MsgID+`"`), []byte(`"eventId":"`+id+`"`), 1)
				subj := "gcis.events." + tenant + "." + src + "." + typ
				ts, _ := transform.ParseSubject("gcis.events", subj)
				env, err := transform.Decode(ts, body, transform.DecodeOptions{})
				if err != nil {
					t.Fatalf("%s: %v", subj, err)
				}
				m, err := mappings.Map(env)
				if err != nil {
					t.Fatalf("%s: map: %v", subj, err)
				}
				var w map[string]any
				if err := json.Unmarshal(m.JSON, &w); err != nil {
					t.Fatal(err)
				}
				want[id] = w
				h.publish(subj, body, id)
				count[tenant]++
			}
		}
	}
	for tenant, n := range count {
		evs := h.waitOrgCount(tenant, n, 30*time.Second)
		if len(evs) != n {
			t.Fatalf("%s: %d events at the org, want %d", tenant, len(evs), n)
		}
		for _, e := range evs {
			var got map[string]any
			if err := json.Unmarshal(e.raw, &got); err != nil {
				t.Fatal(err)
			}
			w, ok := want[e.SourceEventID]
			if !ok {
				t.Fatalf("unexpected event %s at the org", e.SourceEventID)
			}
			gj, _ := json.Marshal(got)
			wj, _ := json.Marshal(w)
			if !bytes.Equal(gj, wj) {
				t.Errorf("event %s at the org:\n got %s\nwant %s", e.SourceEventID, gj, wj)
			}
			if got["tenantId"] != tenant {
				t.Errorf("event %s delivered to the org of %s has tenantId %v", e.SourceEventID, tenant, got["tenantId"])
			}
		}
		h.consumerSettled(tenant, 10*time.Second)
	}
	if dl := h.deadLetters(); len(dl) != 0 {
		t.Fatalf("%d dead letters, want none", len(dl))
	}
}

// TestEventOutcomes covers the contract's "what happens to each event"
// table, one row per subtest.
func TestEventOutcomes(t *testing.T) {
	h := newHarness(t, harnessOpts{tenants: []string{"acme", "late", "picky"}, noConnector: map[string]bool{"late": true}})

	dlqFor := func(t *testing.T, seq uint64) jetstream.RawStreamMsg {
		t.Helper()
		var found *jetstream.RawStreamMsg
		h.waitFor(15*time.Second, "dead letter of seq "+strconv.FormatUint(seq, 10), func() bool {
			for _, m := range h.deadLetters() {
				if m.Header.Get("Gcis-Original-Sequence") == strconv.FormatUint(seq, 10) {
					found = &m
					return true
				}
			}
			return false
		})
		return *found
	}
	checkDLQ := func(t *testing.T, m jetstream.RawStreamMsg, seq uint64, subject, class string, body []byte) {
		t.Helper()
		if got := m.Header.Get("Gcis-Dlq-Class"); got != class {
			t.Errorf("class = %q, want %q (reason %q)", got, class, m.Header.Get("Gcis-Dlq-Reason"))
		}
		if got, want := m.Header.Get("Nats-Msg-Id"), fmt.Sprintf("dlq-GCIS_EVENTS-%d", seq); got != want {
			t.Errorf("Nats-Msg-Id = %q, want %q", got, want)
		}
		if m.Header.Get("Gcis-Original-Subject") != subject || m.Header.Get("Gcis-Original-Stream") != "GCIS_EVENTS" {
			t.Errorf("original subject/stream headers = %q/%q", m.Header.Get("Gcis-Original-Subject"), m.Header.Get("Gcis-Original-Stream"))
		}
		if !bytes.Equal(m.Data, body) {
			t.Errorf("dead-letter body differs from the original:\n%s\n%s", m.Data, body)
		}
		if r := m.Header.Get("Gcis-Dlq-Reason"); r == "" || strings.ContainsAny(r, "\r\n") {
			t.Errorf("reason %q: want one non-empty line", r)
		}
		if m.Header.Get("Gcis-Dlq-Connector") != "c-acme" || m.Header.Get("Gcis-Dlq-Time") == "" {
			t.Errorf("connector/time headers: %v", m.Header)
		}
		wantSubj := strings.Replace(subject, "gcis.events.", "gcis.dlq.", 1)
		if m.Subject != wantSubj {
			t.Errorf("dead-letter subject = %q, want %q", m.Subject, wantSubj)
		}
	}

	// Events the transform refuses: each is published on subject (the
	// event's own when ""), after replacing old with new in a valid bill.
	refused := []struct {
		name, id, subject, old, new, class string
		raw                                []byte // used as the body instead
	}{
		{name: "invalid/not JSON", id: "bad-json-1", subject: "gcis.events.acme.junifer.bill-accepted", raw: []byte(`{"eventId": "x", `), class: "invalid"},
		{name: "invalid/subject and envelope disagree", id: "mismatch-1", subject: "gcis.events.acme.junifer.account-created", class: "invalid"},
		{name: "invalid/over size", id: "big-1", old: `"meterPoints":[]`, new: `"meterPoints":[],"pad":"` + strings.Repeat("x", 600<<10) + `"`, class: "invalid"},
		{name: "unsupported/source version below minimum", id: "old-1", old: `"sourceVersion":"6.2.1"`, new: `"sourceVersion":"5.12"`, class: "unsupported"},
		{name: "unsupported/schema major", id: "schema2-1", old: `"schemaVersion":"1.0.0"`, new: `"schemaVersion":"2.0.0"`, class: "unsupported"},
		{name: "unsupported/unknown source", id: "sap-1", subject: "gcis.events.acme.sap.bill-accepted", old: `"source":"junifer"`, new: `"source":"sap"`, class: "unsupported"},
		{name: "unmapped/no mapping for the type", id: "unmapped-1", subject: "gcis.events.acme.junifer.meter-reading-accepted",
			old: `"eventType":"bill-accepted"`, new: `"eventType":"meter-reading-accepted"`, class: "unmapped"},
		{name: "unmapped/externalContextId selects nothing", id: "noctx-1", old: `"accountNumber":"00000101"`, new: `"accountNumber":""`, class: "unmapped"},
	}
	for _, tc := range refused {
		t.Run(tc.name, func(t *testing.T) {
			subj, body := event("acme", tc.id, "00000101", 1)
			if tc.raw != nil {
				body = tc.raw
			} else if tc.old != "" {
				body = bytes.Replace(body, []byte(tc.old), []byte(tc.new), 1)
			}
			if tc.subject != "" {
				subj = tc.subject
			}
			seq := h.publish(subj, body, tc.id)
			checkDLQ(t, dlqFor(t, seq), seq, subj, tc.class, body)
		})
	}
	t.Run("rejected/per-item error", func(t *testing.T) {
		h.fault("acme", sfsim.Fault{Kind: sfsim.KindItemError, Rule: &sfsim.ItemRule{Field: "externalContextId", Prefix: "REJECT", StatusCode: "FIELD_CUSTOM_VALIDATION_EXCEPTION", Message: "Account REJECT-1 not found"}})
		subj, body := event("acme", "rej-1", "REJECT-1", 1)
		seq := h.publish(subj, body, "rej-1")
		m := dlqFor(t, seq)
		checkDLQ(t, m, seq, subj, "rejected", body)
		if m.Header.Get("Gcis-Dlq-Error-Code") != "FIELD_CUSTOM_VALIDATION_EXCEPTION" || m.Header.Get("Gcis-Dlq-Http-Status") != "200" {
			t.Errorf("error code/status headers = %q/%q", m.Header.Get("Gcis-Dlq-Error-Code"), m.Header.Get("Gcis-Dlq-Http-Status"))
		}
		if !strings.Contains(m.Header.Get("Gcis-Dlq-Reason"), "Account REJECT-1 not found") {
			t.Errorf("reason %q lacks Salesforce's message", m.Header.Get("Gcis-Dlq-Reason"))
		}
	})
	t.Run("accepted and duplicate are acked", func(t *testing.T) {
		before, _ := h.orgEvents("acme")
		subj, body := event("acme", "dup-1", "00000777", 1)
		h.publish(subj, body, "dup-1")
		h.publish(subj, body, "dup-1-again") // same eventId, new Nats-Msg-Id: reaches the org twice
		h.waitFor(15*time.Second, "duplicate counted", func() bool {
			evs, dups := h.orgEvents("acme")
			return len(evs) == len(before)+1 && dups >= 1
		})
		h.consumerSettled("acme", 10*time.Second)
	})
	t.Run("no connector: waits in the stream, then delivered from the start", func(t *testing.T) {
		subj, body := event("late", "late-1", "00000201", 1)
		h.publish(subj, body, "late-1")
		time.Sleep(300 * time.Millisecond)
		if evs, _ := h.orgEvents("late"); len(evs) != 0 {
			t.Fatalf("%d events delivered without a connector", len(evs))
		}
		if err := h.b.SetConnector(context.Background(), h.connector("late", nil)); err != nil {
			t.Fatal(err)
		}
		evs := h.waitOrgCount("late", 1, 15*time.Second)
		if evs[0].SourceEventID != "late-1" {
			t.Fatalf("delivered %s", evs[0].SourceEventID)
		}
	})
	t.Run("not subscribed: acked and skipped", func(t *testing.T) {
		c := h.connector("picky", nil)
		c.Subscriptions = []string{"velocity.*"}
		if err := h.b.SetConnector(context.Background(), c); err != nil {
			t.Fatal(err)
		}
		subj, body := event("picky", "skip-1", "00000301", 1)
		h.publish(subj, body, "skip-1")
		h.consumerSettled("picky", 15*time.Second)
		if evs, _ := h.orgEvents("picky"); len(evs) != 0 {
			t.Fatalf("unsubscribed event delivered")
		}
		for _, m := range h.deadLetters() {
			if strings.HasPrefix(m.Subject, "gcis.dlq.picky.") {
				t.Fatalf("unsubscribed event dead-lettered")
			}
		}
	})
	t.Run("operator pause holds, resume delivers", func(t *testing.T) {
		if err := h.b.Pause(context.Background(), "c-acme"); err != nil {
			t.Fatal(err)
		}
		st, _ := h.b.Status("c-acme")
		if st.State != "paused" {
			t.Fatalf("state = %q, want paused", st.State)
		}
		before, _ := h.orgEvents("acme")
		subj, body := event("acme", "paused-1", "00000888", 1)
		h.publish(subj, body, "paused-1")
		time.Sleep(500 * time.Millisecond)
		if evs, _ := h.orgEvents("acme"); len(evs) != len(before) {
			t.Fatalf("delivered while paused")
		}
		if err := h.b.Resume(context.Background(), "c-acme"); err != nil {
			t.Fatal(err)
		}
		h.waitOrgCount("acme", len(before)+1, 15*time.Second)
	})
}

// TestDLQHeadersDropJetStreamControl checks original headers are kept and
// Nats-* headers dropped in the dead letter.
func TestDLQHeadersDropJetStreamControl(t *testing.T) {
	h := newHarness(t, harnessOpts{})
	m := nats.NewMsg("gcis.events.acme.junifer.bill-accepted")
	m.Data = []byte("not json")
	m.Header.Set("Nats-Msg-Id", "hdr-1")
	m.Header.Set("X-Trace", "abc")
	m.Header.Set("Gcis-Dlq-Class", "spoofed")
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if _, err := h.js.PublishMsg(ctx, m); err != nil {
		t.Fatal(err)
	}
	dl := h.waitDeadLetters(1, 15*time.Second)
	hd := dl[0].Header
	if hd.Get("X-Trace") != "abc" || hd.Get("Gcis-Dlq-Class") != "invalid" || hd.Get("Nats-Msg-Id") != "dlq-GCIS_EVENTS-1" {
		t.Fatalf("headers = %v", hd)
	}
}

var _ = bridge.Connector{}
