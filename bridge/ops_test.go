package bridge_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	dto "github.com/prometheus/client_model/go"

	"github.com/gentrack/gcis-bridge/bridge"
	"github.com/gentrack/gcis-bridge/bridge/embednats"
	"github.com/gentrack/gcis-bridge/bridge/salesforce/sfsim"
	"github.com/gentrack/gcis-bridge/transform/catalog"
)

// TestMetricsAfterTraffic checks the contract's metrics are produced, with
// the tenant label, by real traffic: deliveries, a dead letter, a skipped
// event, requests, batch sizes, latency and a hold.
func TestMetricsAfterTraffic(t *testing.T) {
	h := newHarness(t, harnessOpts{})
	h.fault("acme", sfsim.Fault{Kind: sfsim.KindItemError, Rule: &sfsim.ItemRule{Field: "externalContextId", Prefix: "REJECT"}})
	h.publishN("acme", 10, []string{"00000101", "00000102"}, "m")
	subj, body := event("acme", "m-rej", "REJECT-9", 1)
	h.publish(subj, body, "m-rej")
	h.waitOrgCount("acme", 10, 15*time.Second)
	h.waitDeadLetters(1, 15*time.Second)
	if err := h.b.Pause(context.Background(), "c-acme"); err != nil {
		t.Fatal(err)
	}

	families, err := h.reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	byName := map[string]*dto.MetricFamily{}
	for _, f := range families {
		byName[f.GetName()] = f
	}
	value := func(name string, labels map[string]string) float64 {
		t.Helper()
		f := byName[name]
		if f == nil {
			t.Fatalf("metric %s missing", name)
		}
		for _, m := range f.GetMetric() {
			ok := true
			got := map[string]string{}
			for _, l := range m.GetLabel() {
				got[l.GetName()] = l.GetValue()
			}
			for k, v := range labels {
				if got[k] != v {
					ok = false
				}
			}
			if !ok {
				continue
			}
			switch {
			case m.Counter != nil:
				return m.Counter.GetValue()
			case m.Gauge != nil:
				return m.Gauge.GetValue()
			case m.Histogram != nil:
				return float64(m.Histogram.GetSampleCount())
			}
		}
		t.Fatalf("metric %s has no series with %v", name, labels)
		return 0
	}
	if v := value("gcis_events_received_total", map[string]string{"tenant": "acme", "source": "junifer", "event_type": "bill-accepted"}); v < 11 {
		t.Errorf("received = %v, want ≥ 11", v)
	}
	if v := value("gcis_events_delivered_total", map[string]string{"tenant": "acme", "status": "created"}); v != 10 {
		t.Errorf("delivered = %v, want 10", v)
	}
	if v := value("gcis_events_dead_lettered_total", map[string]string{"tenant": "acme", "class": "rejected"}); v != 1 {
		t.Errorf("dead-lettered = %v, want 1", v)
	}
	if v := value("gcis_salesforce_requests_total", map[string]string{"tenant": "acme", "outcome": "ok"}); v < 1 {
		t.Errorf("requests ok = %v", v)
	}
	for _, hist := range []string{"gcis_salesforce_request_duration_seconds", "gcis_batch_events", "gcis_delivery_latency_seconds"} {
		if v := value(hist, map[string]string{"tenant": "acme"}); v < 1 {
			t.Errorf("%s has %v samples", hist, v)
		}
	}
	if v := value("gcis_connector_holding", map[string]string{"tenant": "acme", "reason": "paused"}); v != 1 {
		t.Errorf("holding{paused} = %v, want 1", v)
	}
}

// TestReadinessRefusesInterestRetention: an existing GCIS_EVENTS with
// interest retention would drop events of tenants without a connector, so
// the bridge is not ready (and says why).
func TestReadinessRefusesInterestRetention(t *testing.T) {
	_, nc := embednats.ConnectTest(t)
	js, _ := jetstream.New(nc)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if _, err := js.CreateStream(ctx, jetstream.StreamConfig{Name: "GCIS_EVENTS", Subjects: []string{"gcis.events.>"}, Retention: jetstream.InterestPolicy}); err != nil {
		t.Fatal(err)
	}
	b, err := bridge.New(bridge.Config{Conn: nc, Mappings: catalog.DefaultMappings()})
	if err != nil {
		t.Fatal(err)
	}
	runCtx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- b.Run(runCtx) }()
	select {
	case <-b.Started():
	case err := <-done:
		t.Fatal(err)
	}
	err = b.Ready(ctx)
	if err == nil || !strings.Contains(err.Error(), "retention") {
		t.Fatalf("Ready = %v, want an error about retention", err)
	}
	st, _ := js.Stream(ctx, "GCIS_EVENTS")
	if st.CachedInfo().Config.Retention != jetstream.InterestPolicy {
		t.Fatal("the bridge changed an existing stream")
	}
	stop()
	<-done
}

// TestRefusesSmallMaxPayload: the server's max_payload must exceed the
// largest event plus 8 KiB of dead-letter headers.
func TestRefusesSmallMaxPayload(t *testing.T) {
	s, err := embednats.Start(embednats.Config{StoreDir: t.TempDir(), MaxPayload: 256 << 10})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Shutdown()
	nc, err := s.Connect()
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	b, err := bridge.New(bridge.Config{Conn: nc, Mappings: catalog.DefaultMappings()})
	if err != nil {
		t.Fatal(err)
	}
	err = b.Run(context.Background())
	if err == nil || !strings.Contains(err.Error(), "max_payload") {
		t.Fatalf("Run = %v, want a max_payload error", err)
	}
}
