package telemetry_test

import (
	"sort"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gentrack/gcis-bridge/bridge/telemetry"
)

// gather returns the metric families of g by name.
func gather(t *testing.T, g prometheus.Gatherer) map[string][]metricSample {
	t.Helper()
	families, err := g.Gather()
	require.NoError(t, err)
	out := map[string][]metricSample{}
	for _, f := range families {
		for _, m := range f.GetMetric() {
			s := metricSample{typ: f.GetType().String(), help: f.GetHelp(), labels: map[string]string{}}
			for _, l := range m.GetLabel() {
				s.labels[l.GetName()] = l.GetValue()
			}
			switch {
			case m.GetCounter() != nil:
				s.value = m.GetCounter().GetValue()
			case m.GetGauge() != nil:
				s.value = m.GetGauge().GetValue()
			case m.GetHistogram() != nil:
				s.value = float64(m.GetHistogram().GetSampleCount())
			}
			out[f.GetName()] = append(out[f.GetName()], s)
		}
	}
	return out
}

type metricSample struct {
	typ, help string
	labels    map[string]string
	value     float64
}

// value returns the value of the series of name with exactly these labels.
func value(t *testing.T, g prometheus.Gatherer, name string, labels map[string]string) float64 {
	t.Helper()
	for _, s := range gather(t, g)[name] {
		if assert.ObjectsAreEqual(labels, s.labels) {
			return s.value
		}
	}
	t.Fatalf("no series %s%v", name, labels)
	return 0
}

// touch creates one series in every vector so that it is gathered.
func touch(m *telemetry.Metrics) {
	m.EventsReceived.WithLabelValues("acme", "junifer", "bill-accepted").Inc()
	m.EventsDelivered.WithLabelValues("acme", "junifer", "bill-accepted", telemetry.StatusCreated).Inc()
	m.EventsDeadLettered.WithLabelValues("acme", "junifer", "rejected").Inc()
	m.EventsSkipped.WithLabelValues("acme", telemetry.SkipNotSubscribed).Inc()
	m.SalesforceRequests.WithLabelValues("acme", telemetry.OutcomeOK).Inc()
	m.SalesforceRequestDuration.WithLabelValues("acme").Observe(0.2)
	m.BatchEvents.WithLabelValues("acme").Observe(200)
	m.DeliveryLatency.WithLabelValues("acme").Observe(90)
	m.BreakerState.WithLabelValues("acme").Set(telemetry.BreakerOpen)
	m.SetHolding("acme", telemetry.HoldBreaker)
	m.APIUsageRatio.WithLabelValues("acme").Set(0.42)
	m.ConsumerPending.WithLabelValues("acme").Set(17)
	m.DeadLetters.Set(3)
}

func TestNewMetrics_names_types_and_labels_match_the_contract(t *testing.T) {
	reg := telemetry.NewRegistry()
	m := telemetry.NewMetrics(reg)
	touch(m)

	// operations.md, "Metrics".
	want := map[string]struct {
		typ    string
		labels []string
	}{
		"gcis_events_received_total":               {"COUNTER", []string{"event_type", "source", "tenant"}},
		"gcis_events_delivered_total":              {"COUNTER", []string{"event_type", "source", "status", "tenant"}},
		"gcis_events_dead_lettered_total":          {"COUNTER", []string{"class", "source", "tenant"}},
		"gcis_events_skipped_total":                {"COUNTER", []string{"reason", "tenant"}},
		"gcis_salesforce_requests_total":           {"COUNTER", []string{"outcome", "tenant"}},
		"gcis_salesforce_request_duration_seconds": {"HISTOGRAM", []string{"tenant"}},
		"gcis_batch_events":                        {"HISTOGRAM", []string{"tenant"}},
		"gcis_delivery_latency_seconds":            {"HISTOGRAM", []string{"tenant"}},
		"gcis_breaker_state":                       {"GAUGE", []string{"tenant"}},
		"gcis_connector_holding":                   {"GAUGE", []string{"reason", "tenant"}},
		"gcis_salesforce_api_usage_ratio":          {"GAUGE", []string{"tenant"}},
		"gcis_consumer_pending":                    {"GAUGE", []string{"tenant"}},
		"gcis_dead_letters":                        {"GAUGE", nil},
	}

	got := gather(t, reg)
	for name, w := range want {
		samples, ok := got[name]
		if !assert.True(t, ok, "missing %s", name) {
			continue
		}
		for _, s := range samples {
			assert.Equal(t, w.typ, s.typ, name)
			assert.NotEmpty(t, s.help, name)
			var labels []string
			for l := range s.labels {
				labels = append(labels, l)
			}
			sort.Strings(labels)
			assert.Equal(t, w.labels, labels, name)
		}
	}
	for name := range got {
		if strings.HasPrefix(name, "gcis_") {
			_, ok := want[name]
			assert.True(t, ok, "unexpected metric %s", name)
		}
	}
	assert.Contains(t, got, "go_goroutines", "Go runtime collector")
	assert.Contains(t, got, "process_cpu_seconds_total", "process collector")

	assert.InDelta(t, 2, value(t, reg, "gcis_breaker_state", map[string]string{"tenant": "acme"}), 0)
	assert.InDelta(t, 1, value(t, reg, "gcis_connector_holding", map[string]string{"tenant": "acme", "reason": "breaker"}), 0)
	assert.InDelta(t, 0, value(t, reg, "gcis_connector_holding", map[string]string{"tenant": "acme", "reason": "auth"}), 0)
	assert.InDelta(t, 3, value(t, reg, "gcis_dead_letters", map[string]string{}), 0)
}

func TestNewMetrics_histogram_buckets_reach_minutes(t *testing.T) {
	last := func(b []float64) float64 { return b[len(b)-1] }
	assert.GreaterOrEqual(t, last(telemetry.DeliveryLatencyBuckets), 3600.0, "held tenants deliver hours late")
	assert.GreaterOrEqual(t, last(telemetry.RequestDurationBuckets), 30.0, "the request timeout")
	assert.InDelta(t, 200, last(telemetry.BatchEventsBuckets), 0, "the largest batch")
	for _, b := range [][]float64{telemetry.DeliveryLatencyBuckets, telemetry.RequestDurationBuckets, telemetry.BatchEventsBuckets} {
		assert.True(t, sort.Float64sAreSorted(b))
	}
}

func TestNewMetrics_registration(t *testing.T) {
	reg := prometheus.NewRegistry()
	telemetry.NewMetrics(reg)
	assert.Panics(t, func() { telemetry.NewMetrics(reg) }, "twice on one registry")

	m := telemetry.NewMetrics(nil) // unregistered: can go into another registry
	m.EventsReceived.WithLabelValues("a", "b", "c").Inc()
	other := prometheus.NewRegistry()
	require.NoError(t, other.Register(m.EventsReceived))
	assert.InDelta(t, 1, value(t, other, "gcis_events_received_total", map[string]string{"tenant": "a", "source": "b", "event_type": "c"}), 0)

	require.NoError(t, telemetry.RegisterRuntimeCollectors(prometheus.NewRegistry()))
	assert.Error(t, telemetry.RegisterRuntimeCollectors(telemetry.NewRegistry()), "already registered")
}

func TestMetrics_ForgetTenant(t *testing.T) {
	reg := prometheus.NewRegistry()
	m := telemetry.NewMetrics(reg)
	touch(m)
	m.EventsReceived.WithLabelValues("beta", "velocity", "x").Inc()

	assert.Equal(t, 17, m.ForgetTenant("acme"), "11 vectors with one series, 6 holding reasons")
	got := gather(t, reg)
	assert.NotContains(t, got, "gcis_breaker_state")
	assert.Len(t, got["gcis_events_received_total"], 1, "other tenants kept")
	assert.Equal(t, "beta", got["gcis_events_received_total"][0].labels["tenant"])
	assert.Contains(t, got, "gcis_dead_letters")
}

func TestMetrics_SetHolding_clears_other_reasons(t *testing.T) {
	reg := prometheus.NewRegistry()
	m := telemetry.NewMetrics(reg)
	m.SetHolding("acme", telemetry.HoldAuth)
	m.SetHolding("acme", telemetry.HoldLimit)
	for _, r := range telemetry.HoldReasons {
		want := 0.0
		if r == telemetry.HoldLimit {
			want = 1
		}
		assert.InDelta(t, want, value(t, reg, "gcis_connector_holding", map[string]string{"tenant": "acme", "reason": r}), 0, r)
	}
	m.SetHolding("acme", "")
	assert.InDelta(t, 0, value(t, reg, "gcis_connector_holding", map[string]string{"tenant": "acme", "reason": telemetry.HoldLimit}), 0)
}
