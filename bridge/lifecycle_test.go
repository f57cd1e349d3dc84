package bridge_test

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/gentrack/gcis-bridge/bridge/salesforce/sfsim"
	"github.com/gentrack/gcis-bridge/transform"
	"github.com/gentrack/gcis-bridge/transform/catalog"
)

// TestConnectorRemovedAndAddedAgain: removing a connector stops its
// consumer (nothing more is delivered, nothing lost); adding it again
// resumes where it stopped.
func TestConnectorRemovedAndAddedAgain(t *testing.T) {
	h := newHarness(t, harnessOpts{})
	h.publishN("acme", 5, []string{"00000101"}, "first")
	h.waitOrgCount("acme", 5, 15*time.Second)
	if err := h.b.RemoveConnector(context.Background(), "c-acme"); err != nil {
		t.Fatal(err)
	}
	if _, ok := h.b.Status("c-acme"); ok {
		t.Fatal("removed connector still has a status")
	}
	h.publishN("acme", 5, []string{"00000102"}, "second")
	time.Sleep(300 * time.Millisecond)
	if evs, _ := h.orgEvents("acme"); len(evs) != 5 {
		t.Fatalf("%d events at the org after the connector was removed, want 5", len(evs))
	}
	if err := h.b.SetConnector(context.Background(), h.connector("acme", nil)); err != nil {
		t.Fatal(err)
	}
	evs := h.waitOrgCount("acme", 10, 15*time.Second)
	if len(evs) != 10 {
		t.Fatalf("%d events, want 10 (no duplicates from the restart)", len(evs))
	}
	h.consumerSettled("acme", 10*time.Second)
}

// TestGracefulShutdownSettlesEverything stops the bridge while requests are
// in flight: afterwards nothing is left unacknowledged (every message was
// acked after delivery or nak'd for redelivery), and a new bridge on the
// same stream delivers the rest.
func TestGracefulShutdownSettlesEverything(t *testing.T) {
	h := newHarness(t, harnessOpts{})
	h.fault("acme", sfsim.Fault{Kind: sfsim.KindLatency, Latency: &sfsim.Latency{Dist: "fixed", Fixed: 300 * time.Millisecond}})
	h.publishN("acme", 60, []string{"00000101", "00000102", "00000103", "00000104", "00000105", "00000106"}, "g")
	h.waitFor(10*time.Second, "requests in flight", func() bool {
		st, _ := h.b.Status("c-acme")
		return st.InFlight > 0
	})
	h.stop()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c, err := h.js.Consumer(ctx, "GCIS_EVENTS", "gcis-sf-acme")
	if err != nil {
		t.Fatal(err)
	}
	info := c.CachedInfo()
	if info.NumAckPending != 0 {
		t.Fatalf("%d messages left unacknowledged after a graceful stop", info.NumAckPending)
	}
	delivered, _ := h.orgEvents("acme")
	if len(delivered) == 60 {
		t.Log("everything was delivered before the stop (the drain flushed it)")
	}

	// A second bridge on the same JetStream delivers the rest.
	h2 := restartHarness(t, h)
	h2.waitOrgCount("acme", 60, 30*time.Second)
	h2.consumerSettled("acme", 15*time.Second)
}

// TestConnectorMappingOverride: a connector's own mapping (same YAML form
// as the defaults) replaces the default for its type.
func TestConnectorMappingOverride(t *testing.T) {
	h := newHarness(t, harnessOpts{tenants: []string{"acme", "globex"}})
	over, err := transform.ParseMappings("acme-overrides.yaml", []byte(`
mappings:
  - source: junifer
    eventType: bill-accepted
    target: { eventType: Invoice, eventSubtype: Issued, eventContext: Account }
    externalContextId: $.accountNumber
    externalReference: $.id
    attributes:
      - grossAmount
      - { name: total, path: $.grossAmount }
`))
	if err != nil {
		t.Fatal(err)
	}
	c := h.connector("acme", nil)
	c.Mappings = catalog.DefaultMappings().With(over)
	if err := h.b.SetConnector(context.Background(), c); err != nil {
		t.Fatal(err)
	}
	for _, ten := range []string{"acme", "globex"} {
		subj, body := event(ten, "ov-"+ten, "00000101", 1)
		h.publish(subj, body, "ov-"+ten)
	}
	a := h.waitOrgCount("acme", 1, 15*time.Second)
	g := h.waitOrgCount("globex", 1, 15*time.Second)
	var got, def struct {
		EventType       string `json:"eventType"`
		EventSubtype    string `json:"eventSubtype"`
		EventAttributes []struct{ Name, Value string }
	}
	_ = json.Unmarshal(a[0].raw, &got)
	_ = json.Unmarshal(g[0].raw, &def)
	if got.EventType != "Invoice" || got.EventSubtype != "Issued" || len(got.EventAttributes) != 2 || got.EventAttributes[1].Name != "total" || got.EventAttributes[1].Value != "148.620" {
		t.Fatalf("acme (override) got %+v", got)
	}
	if def.EventType != "Bill" || def.EventSubtype != "Accepted" {
		t.Fatalf("globex (defaults) got %+v", def)
	}
}

// TestOperatorPauseSurvivesRestart: an operator pause is kept by a
// restarted bridge (it lives in the consumer's persisted pause), and only
// an explicit resume ends it.
func TestOperatorPauseSurvivesRestart(t *testing.T) {
	h := newHarness(t, harnessOpts{})
	if err := h.b.Pause(context.Background(), "c-acme"); err != nil {
		t.Fatal(err)
	}
	h.stop()
	h2 := restartHarness(t, h)
	st, _ := h2.b.Status("c-acme")
	if st.State != "paused" {
		t.Fatalf("state after restart = %q, want paused", st.State)
	}
	subj, body := event("acme", "after-restart", "00000101", 1)
	h2.publish(subj, body, "after-restart")
	time.Sleep(300 * time.Millisecond)
	if evs, _ := h2.orgEvents("acme"); len(evs) != 0 {
		t.Fatalf("delivered %d events while paused", len(evs))
	}
	if err := h2.b.Resume(context.Background(), "c-acme"); err != nil {
		t.Fatal(err)
	}
	h2.waitOrgCount("acme", 1, 15*time.Second)
}

// TestTenantsSeenOnStream lists tenants from the stream, with and without
// a connector.
func TestTenantsSeenOnStream(t *testing.T) {
	h := newHarness(t, harnessOpts{tenants: []string{"acme", "waiting"}, noConnector: map[string]bool{"waiting": true}})
	h.publishN("acme", 3, []string{"00000101"}, "t")
	h.publishN("waiting", 2, []string{"00000101"}, "t")
	ts, err := h.b.Tenants(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(ts) != 2 || ts[0].Tenant != "acme" || ts[0].Events != 3 || ts[0].Connector != "c-acme" ||
		ts[1].Tenant != "waiting" || ts[1].Events != 2 || ts[1].Connector != "" {
		t.Fatalf("tenants = %+v", ts)
	}
}

// TestStartFrom: a new connector's consumer starts at the retained backlog
// ("all", the default), at new events only ("new"), or at a time.
func TestStartFrom(t *testing.T) {
	tenants := []string{"alla", "newa", "timea"}
	h := newHarness(t, harnessOpts{tenants: tenants, noConnector: map[string]bool{"alla": true, "newa": true, "timea": true}})
	for _, ten := range tenants {
		h.publishN(ten, 3, []string{"00000101"}, "old")
	}
	time.Sleep(20 * time.Millisecond)
	cut := time.Now().UTC()
	time.Sleep(20 * time.Millisecond)
	h.publishN("timea", 2, []string{"00000101"}, "mid")
	for ten, from := range map[string]string{"alla": "all", "newa": "new", "timea": cut.Format(time.RFC3339Nano)} {
		c := h.connector(ten, nil)
		c.StartFrom = from
		if err := h.b.SetConnector(context.Background(), c); err != nil {
			t.Fatal(err)
		}
	}
	for _, ten := range tenants {
		h.publishN(ten, 1, []string{"00000101"}, "new")
	}
	want := map[string]int{"alla": 4, "newa": 1, "timea": 3}
	for ten, n := range want {
		h.waitOrgCount(ten, n, 15*time.Second)
		h.consumerSettled(ten, 10*time.Second)
		if evs, _ := h.orgEvents(ten); len(evs) != n {
			t.Errorf("%s: %d events delivered, want %d", ten, len(evs), n)
		}
	}
}
