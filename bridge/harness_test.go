package bridge_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest"

	"github.com/gentrack/gcis-bridge/bridge"
	"github.com/gentrack/gcis-bridge/bridge/dispatch"
	"github.com/gentrack/gcis-bridge/bridge/embednats"
	"github.com/gentrack/gcis-bridge/bridge/salesforce/sfsim"
	"github.com/gentrack/gcis-bridge/bridge/telemetry"
	"github.com/gentrack/gcis-bridge/transform/catalog"
)

// harness runs the real parts: embedded JetStream, the Salesforce simulator
// over HTTP, and a bridge with one connector per tenant.
type harness struct {
	t       testing.TB
	ns      *embednats.Server
	nc      *nats.Conn
	js      jetstream.JetStream
	sim     *sfsim.Server
	simURL  string
	b       *bridge.Bridge
	cancel  context.CancelFunc
	runDone chan error
	reg     *prometheus.Registry

	mu        sync.Mutex
	delivered map[string]int // by tenant
	dead      map[string]int // by class
	holds     map[string][]string
	latencies map[string][]time.Duration
	requests  map[string]int
	opts      harnessOpts
}

type harnessOpts struct {
	tenants  []string
	delivery func(*bridge.Delivery)
	// noConnector lists tenants that get an org but no connector at start.
	noConnector map[string]bool
	logger      *zap.Logger
}

func fastDelivery() bridge.Delivery {
	return bridge.Delivery{
		BatchMaxEvents: 200, BatchMaxBytes: 2 << 20, Linger: 20 * time.Millisecond, MaxInFlight: 4,
		RequestTimeout: 5 * time.Second, MaxAttempts: 10, MaxAckPending: 5000,
		Backoff:         dispatch.Backoff{Initial: 20 * time.Millisecond, Max: 200 * time.Millisecond, Multiplier: 2, Jitter: 0.2},
		BreakerFailures: 5, BreakerOpenFor: 300 * time.Millisecond, LimitSlowdownRatio: 0.9,
	}
}

func orgID(tenant string) string { return "org-" + strings.ToLower(tenant) }

func newHarness(t testing.TB, o harnessOpts) *harness {
	t.Helper()
	if len(o.tenants) == 0 {
		o.tenants = []string{"acme"}
	}
	h := &harness{t: t, delivered: map[string]int{}, dead: map[string]int{}, holds: map[string][]string{},
		latencies: map[string][]time.Duration{}, requests: map[string]int{}}
	h.ns, h.nc = embednats.ConnectTest(t)
	var err error
	if h.js, err = jetstream.New(h.nc); err != nil {
		t.Fatal(err)
	}
	orgs := make([]sfsim.OrgConfig, len(o.tenants))
	for i, ten := range o.tenants {
		orgs[i] = sfsim.OrgConfig{ID: orgID(ten), ConsumerKey: "3MVG9" + ten, ConsumerSecret: "secret-" + ten}
	}
	if h.sim, err = sfsim.New(sfsim.Config{Orgs: orgs}); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h.sim)
	t.Cleanup(func() { h.sim.Close(); srv.Close() })
	h.simURL = srv.URL
	h.opts = o
	h.startBridge()
	return h
}

// restartHarness starts a new bridge on the same JetStream and simulator
// (the first must be stopped), as a restarted process would.
func restartHarness(t testing.TB, old *harness) *harness {
	t.Helper()
	h := &harness{t: t, ns: old.ns, nc: old.nc, js: old.js, sim: old.sim, simURL: old.simURL, opts: old.opts,
		delivered: map[string]int{}, dead: map[string]int{}, holds: map[string][]string{},
		latencies: map[string][]time.Duration{}, requests: map[string]int{}}
	h.startBridge()
	return h
}

// startBridge creates and runs a bridge with one connector per tenant.
func (h *harness) startBridge() {
	t, o := h.t, h.opts
	var err error
	logger := o.logger
	if logger == nil {
		logger = zaptest.NewLogger(t, zaptest.Level(zap.WarnLevel))
	}
	h.reg = prometheus.NewRegistry()
	h.b, err = bridge.New(bridge.Config{
		Conn:            h.nc,
		Mappings:        catalog.DefaultMappings(),
		Metrics:         telemetry.NewMetrics(h.reg),
		Logger:          logger,
		AckWait:         3 * time.Second,
		Probe:           bridge.Probe{Initial: 100 * time.Millisecond, LimitInitial: 100 * time.Millisecond, Max: 400 * time.Millisecond},
		ShutdownTimeout: 5 * time.Second,
		Hooks: bridge.Hooks{
			Delivered: func(tenant, _, _, _ string, lat time.Duration) {
				h.mu.Lock()
				h.delivered[tenant]++
				h.latencies[tenant] = append(h.latencies[tenant], lat)
				h.mu.Unlock()
			},
			DeadLettered: func(_, class string) {
				h.mu.Lock()
				h.dead[class]++
				h.mu.Unlock()
			},
			Hold: func(tenant, reason string) {
				h.mu.Lock()
				h.holds[tenant] = append(h.holds[tenant], reason)
				h.mu.Unlock()
			},
			Request: func(tenant, _ string, _ int) {
				h.mu.Lock()
				h.requests[tenant]++
				h.mu.Unlock()
			},
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, ten := range o.tenants {
		if o.noConnector[ten] {
			continue
		}
		if err := h.b.SetConnector(context.Background(), h.connector(ten, o.delivery)); err != nil {
			t.Fatal(err)
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	h.cancel = cancel
	h.runDone = make(chan error, 1)
	go func() { h.runDone <- h.b.Run(ctx) }()
	select {
	case <-h.b.Started():
	case err := <-h.runDone:
		t.Fatalf("bridge run: %v", err)
	case <-time.After(20 * time.Second):
		t.Fatal("bridge did not start")
	}
	t.Cleanup(h.stop)
}

func (h *harness) connector(tenant string, tweak func(*bridge.Delivery)) bridge.Connector {
	d := fastDelivery()
	if tweak != nil {
		tweak(&d)
	}
	return bridge.Connector{
		ID: "c-" + strings.ToLower(tenant), Tenant: tenant, LoginURL: h.simURL + "/orgs/" + orgID(tenant),
		ConsumerKey: "3MVG9" + tenant, ConsumerSecret: "secret-" + tenant, AllowInsecureHTTP: true, Delivery: d,
	}
}

func (h *harness) stop() {
	if h.cancel == nil {
		return
	}
	h.cancel()
	select {
	case <-h.runDone:
	case <-time.After(20 * time.Second):
		h.t.Error("bridge did not stop in time")
	}
	h.cancel = nil
}

// event builds a Junifer bill-accepted envelope for tenant with the given
// event id and account number; n varies the bill id.
func event(tenant, id, account string, n int) (subject string, body []byte) {
	body = fmt.Appendf(nil, `{"eventId":%q,"eventType":"bill-accepted","nativeEventType":"junifer::BillAccepted","schemaVersion":"1.0.0",`+
		`"source":"junifer","sourceVersion":"6.2.1","tenantId":%q,"occurredAt":"2025-04-02T06:01:44.123+01:00",`+
		`"correlationId":"c-%s","data":{"id":%d,"accountId":60117,"accountNumber":%q,"issueDt":"2025-04-02","dueDt":"2025-04-16",`+
		`"periodFrom":"2025-03-01","periodTo":"2025-03-31","grossAmount":"148.620","netAmount":"141.54","salesTaxAmount":"7.08",`+
		`"currency":"GBP","final":false,"versionNumber":1,"supersededFl":false,"firstBillFl":true,"meterPoints":[]}}`,
		id, tenant, account, n, account)
	return "gcis.events." + tenant + ".junifer.bill-accepted", body
}

func (h *harness) publish(subject string, body []byte, msgID string) uint64 {
	h.t.Helper()
	m := nats.NewMsg(subject)
	m.Data = body
	if msgID != "" {
		m.Header.Set(jetstream.MsgIDHeader, msgID)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	ack, err := h.js.PublishMsg(ctx, m)
	if err != nil {
		h.t.Fatalf("publish %s: %v", subject, err)
	}
	return ack.Sequence
}

// publishN publishes n bill events for tenant over the given accounts
// (round robin) and returns their event ids in publish order.
func (h *harness) publishN(tenant string, n int, accounts []string, prefix string) []string {
	h.t.Helper()
	ids := make([]string, n)
	for i := range n {
		acct := accounts[i%len(accounts)]
		ids[i] = fmt.Sprintf("%s-%s-%05d", prefix, tenant, i)
		subj, body := event(tenant, ids[i], acct, i)
		m := nats.NewMsg(subj)
		m.Data = body
		m.Header.Set(jetstream.MsgIDHeader, ids[i])
		if _, err := h.js.PublishMsgAsync(m); err != nil {
			h.t.Fatal(err)
		}
	}
	select {
	case <-h.js.PublishAsyncComplete():
	case <-time.After(30 * time.Second):
		h.t.Fatal("publish did not complete")
	}
	return ids
}

// waitFor polls cond every 10 ms until it holds or timeout passes.
func (h *harness) waitFor(timeout time.Duration, what string, cond func() bool) {
	h.t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			h.t.Fatalf("timed out after %s waiting for %s", timeout, what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

type orgEvent struct {
	SourceEventID     string `json:"sourceEventId"`
	TenantID          string `json:"tenantId"`
	ExternalContextID string `json:"externalContextId"`
	raw               json.RawMessage
}

func (h *harness) orgEvents(tenant string) ([]orgEvent, int) {
	h.t.Helper()
	raws, dups, err := h.sim.Events(orgID(tenant))
	if err != nil {
		h.t.Fatal(err)
	}
	out := make([]orgEvent, len(raws))
	for i, r := range raws {
		if err := json.Unmarshal(r, &out[i]); err != nil {
			h.t.Fatal(err)
		}
		out[i].raw = r
	}
	return out, dups
}

func (h *harness) waitOrgCount(tenant string, n int, timeout time.Duration) []orgEvent {
	h.t.Helper()
	var evs []orgEvent
	h.waitFor(timeout, fmt.Sprintf("%d events at the org of %s", n, tenant), func() bool {
		evs, _ = h.orgEvents(tenant)
		return len(evs) >= n
	})
	return evs
}

// deadLetters reads every message of the dead-letter stream.
func (h *harness) deadLetters() []jetstream.RawStreamMsg {
	h.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	st, err := h.js.Stream(ctx, "GCIS_DLQ")
	if err != nil {
		h.t.Fatal(err)
	}
	info, err := st.Info(ctx)
	if err != nil {
		h.t.Fatal(err)
	}
	var out []jetstream.RawStreamMsg
	for seq := info.State.FirstSeq; seq <= info.State.LastSeq && info.State.Msgs > 0; seq++ {
		m, err := st.GetMsg(ctx, seq)
		if err != nil {
			continue
		}
		out = append(out, *m)
	}
	return out
}

func (h *harness) waitDeadLetters(n int, timeout time.Duration) []jetstream.RawStreamMsg {
	h.t.Helper()
	var dl []jetstream.RawStreamMsg
	h.waitFor(timeout, fmt.Sprintf("%d dead letters", n), func() bool {
		dl = h.deadLetters()
		return len(dl) >= n
	})
	return dl
}

// consumerSettled waits until the tenant's consumer has nothing pending
// and nothing unacknowledged.
func (h *harness) consumerSettled(tenant string, timeout time.Duration) {
	h.t.Helper()
	h.waitFor(timeout, "consumer of "+tenant+" fully acked", func() bool {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		c, err := h.js.Consumer(ctx, "GCIS_EVENTS", "gcis-sf-"+tenant)
		if err != nil {
			return false
		}
		i := c.CachedInfo()
		return i.NumPending == 0 && i.NumAckPending == 0
	})
}

func (h *harness) holdsOf(tenant string) []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]string(nil), h.holds[tenant]...)
}

func (h *harness) fault(tenant string, f sfsim.Fault) {
	h.t.Helper()
	if err := h.sim.SetFault(orgID(tenant), f); err != nil {
		h.t.Fatal(err)
	}
}
