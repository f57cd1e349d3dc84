package telemetry

import (
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
)

// Label values of gcis_salesforce_requests_total{outcome}.
const (
	OutcomeOK        = "ok"
	OutcomeAuth      = "auth"
	OutcomeLimit     = "limit"
	OutcomeThrottled = "throttled"
	OutcomeTransient = "transient"
	OutcomePermanent = "permanent"
	OutcomeConnector = "connector"
)

// Label values of gcis_events_delivered_total{status}.
const (
	StatusCreated   = "created"
	StatusDuplicate = "duplicate"
)

// Label values of gcis_connector_holding{reason}.
const (
	HoldAuth     = "auth"
	HoldLimit    = "limit"
	HoldEndpoint = "endpoint"
	HoldSchema   = "schema"
	HoldBreaker  = "breaker"
	HoldPaused   = "paused"
)

// HoldReasons lists every gcis_connector_holding reason.
var HoldReasons = []string{HoldAuth, HoldLimit, HoldEndpoint, HoldSchema, HoldBreaker, HoldPaused}

// SkipNotSubscribed is the gcis_events_skipped_total reason of an event
// whose type the connector does not subscribe to.
const SkipNotSubscribed = "not_subscribed"

// Values of gcis_breaker_state.
const (
	BreakerClosed   = 0
	BreakerHalfOpen = 1
	BreakerOpen     = 2
)

// Histogram buckets, in seconds or events.
var (
	// RequestDurationBuckets cover a Salesforce call: 50 ms to the 30 s
	// request timeout and beyond.
	RequestDurationBuckets = []float64{0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 20, 30, 60}
	// BatchEventsBuckets cover 1 to 200 events per request.
	BatchEventsBuckets = []float64{1, 2, 5, 10, 20, 50, 100, 150, 200}
	// DeliveryLatencyBuckets cover publish → Salesforce ack, from 50 ms to
	// hours (held tenants deliver late).
	DeliveryLatencyBuckets = []float64{0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800, 3600, 4 * 3600}
)

// Metrics are the bridge's Prometheus metrics (operations.md, "Metrics").
// All vectors are safe for concurrent use. Tenant ids are the only
// per-tenant label; no secret is ever a label value.
type Metrics struct {
	// EventsReceived is gcis_events_received_total{tenant, source, event_type}.
	EventsReceived *prometheus.CounterVec
	// EventsDelivered is gcis_events_delivered_total{tenant, source,
	// event_type, status} with status created or duplicate.
	EventsDelivered *prometheus.CounterVec
	// EventsDeadLettered is gcis_events_dead_lettered_total{tenant, source, class}.
	EventsDeadLettered *prometheus.CounterVec
	// EventsSkipped is gcis_events_skipped_total{tenant, reason}.
	EventsSkipped *prometheus.CounterVec
	// SalesforceRequests is gcis_salesforce_requests_total{tenant, outcome}
	// with outcome ok, auth, limit, throttled, transient, permanent or
	// connector.
	SalesforceRequests *prometheus.CounterVec
	// SalesforceRequestDuration is gcis_salesforce_request_duration_seconds{tenant}.
	SalesforceRequestDuration *prometheus.HistogramVec
	// BatchEvents is gcis_batch_events{tenant}: events per request.
	BatchEvents *prometheus.HistogramVec
	// DeliveryLatency is gcis_delivery_latency_seconds{tenant}: publish →
	// Salesforce ack.
	DeliveryLatency *prometheus.HistogramVec
	// BreakerState is gcis_breaker_state{tenant}: 0 closed, 1 half-open,
	// 2 open.
	BreakerState *prometheus.GaugeVec
	// ConnectorHolding is gcis_connector_holding{tenant, reason}: 1 while
	// the tenant is held for that reason.
	ConnectorHolding *prometheus.GaugeVec
	// APIUsageRatio is gcis_salesforce_api_usage_ratio{tenant}: share of the
	// org's daily API allocation used.
	APIUsageRatio *prometheus.GaugeVec
	// ConsumerPending is gcis_consumer_pending{tenant}: unprocessed messages
	// in the tenant's consumer.
	ConsumerPending *prometheus.GaugeVec
	// DeadLetters is gcis_dead_letters: messages in the dead-letter stream.
	DeadLetters prometheus.Gauge
}

// NewMetrics creates the metrics and registers them with reg; a nil reg
// leaves them unregistered (for tests). It panics if one of them is
// already registered with reg, as prometheus.MustRegister does: call it
// once per registry.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	tenant := []string{"tenant"}
	m := &Metrics{
		EventsReceived: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "gcis_events_received_total",
			Help: "Events read from the event stream.",
		}, []string{"tenant", "source", "event_type"}),
		EventsDelivered: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "gcis_events_delivered_total",
			Help: "Events Salesforce accepted, by status (created or duplicate).",
		}, []string{"tenant", "source", "event_type", "status"}),
		EventsDeadLettered: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "gcis_events_dead_lettered_total",
			Help: "Events written to the dead-letter stream, by class.",
		}, []string{"tenant", "source", "class"}),
		EventsSkipped: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "gcis_events_skipped_total",
			Help: "Events acknowledged without delivery, by reason.",
		}, []string{"tenant", "reason"}),
		SalesforceRequests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "gcis_salesforce_requests_total",
			Help: "Requests to Salesforce, by outcome (ok, auth, limit, throttled, transient, permanent, connector).",
		}, []string{"tenant", "outcome"}),
		SalesforceRequestDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "gcis_salesforce_request_duration_seconds",
			Help:    "Duration of requests to Salesforce.",
			Buckets: RequestDurationBuckets,
		}, tenant),
		BatchEvents: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "gcis_batch_events",
			Help:    "Events per request to Salesforce.",
			Buckets: BatchEventsBuckets,
		}, tenant),
		DeliveryLatency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "gcis_delivery_latency_seconds",
			Help:    "Time from publish to Salesforce acknowledgement.",
			Buckets: DeliveryLatencyBuckets,
		}, tenant),
		BreakerState: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "gcis_breaker_state",
			Help: "Circuit breaker state: 0 closed, 1 half-open, 2 open.",
		}, tenant),
		ConnectorHolding: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "gcis_connector_holding",
			Help: "1 while the tenant's events are held, by reason (auth, limit, endpoint, schema, breaker, paused).",
		}, []string{"tenant", "reason"}),
		APIUsageRatio: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "gcis_salesforce_api_usage_ratio",
			Help: "Share of the org's daily API allocation used.",
		}, tenant),
		ConsumerPending: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "gcis_consumer_pending",
			Help: "Unprocessed messages in the tenant's consumer.",
		}, tenant),
		DeadLetters: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "gcis_dead_letters",
			Help: "Messages in the dead-letter stream.",
		}),
	}
	if reg != nil {
		reg.MustRegister(m.collectors()...)
	}
	return m
}

func (m *Metrics) collectors() []prometheus.Collector {
	return []prometheus.Collector{
		m.EventsReceived, m.EventsDelivered, m.EventsDeadLettered, m.EventsSkipped,
		m.SalesforceRequests, m.SalesforceRequestDuration, m.BatchEvents, m.DeliveryLatency,
		m.BreakerState, m.ConnectorHolding, m.APIUsageRatio, m.ConsumerPending, m.DeadLetters,
	}
}

// SetHolding sets gcis_connector_holding{tenant, reason} to 1 for reason
// and 0 for every other reason; an empty reason clears them all.
func (m *Metrics) SetHolding(tenant, reason string) {
	for _, r := range HoldReasons {
		v := 0.0
		if r == reason {
			v = 1
		}
		m.ConnectorHolding.WithLabelValues(tenant, r).Set(v)
	}
}

// ForgetTenant deletes every series of the tenant, for a removed
// connector. It returns the number of series deleted.
func (m *Metrics) ForgetTenant(tenant string) int {
	l := prometheus.Labels{"tenant": tenant}
	n := 0
	for _, v := range []interface {
		DeletePartialMatch(prometheus.Labels) int
	}{
		m.EventsReceived, m.EventsDelivered, m.EventsDeadLettered, m.EventsSkipped,
		m.SalesforceRequests, m.SalesforceRequestDuration, m.BatchEvents, m.DeliveryLatency,
		m.BreakerState, m.ConnectorHolding, m.APIUsageRatio, m.ConsumerPending,
	} {
		n += v.DeletePartialMatch(l)
	}
	return n
}

// RegisterRuntimeCollectors registers the Go runtime (go_*) and process
// (process_*) collectors with reg. The default Prometheus registry already
// has them; a fresh registry needs this.
func RegisterRuntimeCollectors(reg prometheus.Registerer) error {
	if err := reg.Register(collectors.NewGoCollector()); err != nil {
		return err
	}
	return reg.Register(collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
}

// NewRegistry returns a fresh registry with the Go runtime and process
// collectors registered: pass it to [NewMetrics] and [ServerConfig].
func NewRegistry() *prometheus.Registry {
	reg := prometheus.NewRegistry()
	if err := RegisterRuntimeCollectors(reg); err != nil {
		panic(err) // a fresh registry holds nothing to collide with
	}
	return reg
}
