package bridge_test

import (
	"encoding/json"
	"fmt"
	"runtime"
	"sort"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"go.uber.org/zap"

	"github.com/gentrack/gcis-bridge/bridge"
	"github.com/gentrack/gcis-bridge/bridge/dispatch"
	"github.com/gentrack/gcis-bridge/bridge/salesforce/sfsim"
)

// defaultDelivery is the contract's default delivery configuration.
func defaultDelivery(d *bridge.Delivery) {
	*d = bridge.Delivery{
		BatchMaxEvents: 200, BatchMaxBytes: 2 << 20, Linger: 100 * time.Millisecond, MaxInFlight: 4,
		RequestTimeout: 30 * time.Second, MaxAttempts: 10, MaxAckPending: 5000,
		Backoff:         dispatch.Backoff{Initial: time.Second, Max: 5 * time.Minute, Multiplier: 2, Jitter: 0.2},
		BreakerFailures: 5, BreakerOpenFor: 30 * time.Second, LimitSlowdownRatio: 0.9,
	}
}

func latency150(h *harness, tenant string) {
	h.fault(tenant, sfsim.Fault{Kind: sfsim.KindLatency, Latency: &sfsim.Latency{Dist: "fixed", Fixed: 150 * time.Millisecond}})
}

// publishBillingRun publishes one bill per account (a billing run), with
// distinct accounts, as fast as JetStream acknowledges.
func publishBillingRun(b testing.TB, h *harness, tenant string, n int) {
	b.Helper()
	for i := range n {
		id := fmt.Sprintf("run-%s-%07d", tenant, i)
		subj, body := event(tenant, id, fmt.Sprintf("%08d", 10000000+i), i)
		m := nats.NewMsg(subj)
		m.Data = body
		m.Header.Set(jetstream.MsgIDHeader, id)
		if _, err := h.js.PublishMsgAsync(m); err != nil {
			b.Fatal(err)
		}
		if i%2000 == 1999 {
			<-h.js.PublishAsyncComplete()
		}
	}
	<-h.js.PublishAsyncComplete()
}

func p99(ds []time.Duration) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := append([]time.Duration(nil), ds...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	return s[min(len(s)-1, len(s)*99/100)]
}

// BenchmarkBacklogOneTenant: one tenant, a backlog of a billing run already
// in the stream when the connector starts, the org answering every request
// after 150 ms, max_in_flight 4, default batching. Reports events/s and
// events per API call. Targets: ≥ 4,000 events/s, ≥ 150 events per call.
func BenchmarkBacklogOneTenant(b *testing.B) {
	const n = 20000
	for range b.N {
		h := newHarness(b, harnessOpts{tenants: []string{"acme"}, noConnector: map[string]bool{"acme": true}, logger: zap.NewNop()})
		latency150(h, "acme")
		publishBillingRun(b, h, "acme", n)
		start := time.Now()
		if err := h.b.SetConnector(b.Context(), h.connector("acme", defaultDelivery)); err != nil {
			b.Fatal(err)
		}
		var peakG int
		var peakHeap uint64
		var ms runtime.MemStats
		samples := 0
		h.waitFor(5*time.Minute, "backlog delivered", func() bool {
			if samples++; samples%20 == 0 { // every ~200 ms
				peakG = max(peakG, runtime.NumGoroutine())
				runtime.ReadMemStats(&ms)
				peakHeap = max(peakHeap, ms.HeapInuse)
			}
			h.mu.Lock()
			defer h.mu.Unlock()
			return h.delivered["acme"] >= n
		})
		el := time.Since(start)
		b.ReportMetric(float64(peakG), "peak-goroutines")
		b.ReportMetric(float64(peakHeap)/(1<<20), "peak-heap-MB")
		h.mu.Lock()
		calls := h.requests["acme"]
		h.mu.Unlock()
		b.ReportMetric(float64(n)/el.Seconds(), "events/s")
		b.ReportMetric(float64(n)/float64(calls), "events/call")
		h.stop()
	}
}

// BenchmarkTrickleLatency: 10 events/s for one tenant, org latency 150 ms,
// linger 100 ms. Reports p99 publish→Salesforce-ack latency (target ≤
// linger + 150 ms, plus the request itself).
func BenchmarkTrickleLatency(b *testing.B) {
	for range b.N {
		h := newHarness(b, harnessOpts{tenants: []string{"acme"}, delivery: defaultDelivery, logger: zap.NewNop()})
		latency150(h, "acme")
		const n = 100
		published := map[string]time.Time{}
		st, err := h.js.Stream(b.Context(), "GCIS_EVENTS")
		if err != nil {
			b.Fatal(err)
		}
		tick := time.NewTicker(100 * time.Millisecond)
		for i := range n {
			<-tick.C
			id := fmt.Sprintf("trickle-%05d", i)
			subj, body := event("acme", id, fmt.Sprintf("%08d", i%7), i)
			seq := h.publish(subj, body, id)
			m, err := st.GetMsg(b.Context(), seq)
			if err != nil {
				b.Fatal(err)
			}
			published[id] = m.Time
		}
		tick.Stop()
		h.waitFor(time.Minute, "trickle delivered", func() bool {
			h.mu.Lock()
			defer h.mu.Unlock()
			return h.delivered["acme"] >= n
		})
		h.mu.Lock()
		lat := p99(h.latencies["acme"])
		h.mu.Unlock()
		b.ReportMetric(float64(lat.Milliseconds()), "p99-ack-ms")
		// Publish → stored at the org (the contract's measure).
		recs, _, err := h.sim.Records(orgID("acme"))
		if err != nil {
			b.Fatal(err)
		}
		var toOrg []time.Duration
		for _, r := range recs {
			var e struct {
				SourceEventID string `json:"sourceEventId"`
			}
			if err := json.Unmarshal(r.Event, &e); err != nil {
				b.Fatal(err)
			}
			toOrg = append(toOrg, r.ReceivedAt.Sub(published[e.SourceEventID]))
		}
		b.ReportMetric(float64(p99(toOrg).Milliseconds()), "p99-to-org-ms")
		h.stop()
	}
}

// BenchmarkIsolation: 20 tenants publishing 50 events/s each against orgs
// answering after 150 ms; with faults, one org answers 403 TotalRequests and
// one 503s. Reports the healthy tenants' p99 latency without and with the
// faults, and their ratio (target ≤ 2).
func BenchmarkIsolation(b *testing.B) {
	run := func(b *testing.B, faults bool) time.Duration {
		tenants := make([]string, 20)
		for i := range tenants {
			tenants[i] = fmt.Sprintf("t%02d", i)
		}
		h := newHarness(b, harnessOpts{tenants: tenants, delivery: func(d *bridge.Delivery) {
			defaultDelivery(d)
			d.MaxAttempts = 1000
		}, logger: zap.NewNop()})
		for _, t := range tenants {
			latency150(h, t)
		}
		if faults {
			h.fault("t00", sfsim.Fault{Kind: sfsim.KindLimitExceeded})
			h.fault("t01", sfsim.Fault{Kind: sfsim.KindHTTPError, Status: 503})
		}
		const rounds = 60 // 3 s at 20 ms per round
		tick := time.NewTicker(20 * time.Millisecond)
		for r := range rounds {
			<-tick.C
			for _, t := range tenants {
				id := fmt.Sprintf("iso-%s-%04d", t, r)
				subj, body := event(t, id, fmt.Sprintf("%08d", r%13), r)
				m := nats.NewMsg(subj)
				m.Data = body
				m.Header.Set(jetstream.MsgIDHeader, id)
				if _, err := h.js.PublishMsgAsync(m); err != nil {
					b.Fatal(err)
				}
			}
		}
		tick.Stop()
		<-h.js.PublishAsyncComplete()
		var all []time.Duration
		h.waitFor(2*time.Minute, "healthy tenants delivered", func() bool {
			h.mu.Lock()
			defer h.mu.Unlock()
			for _, t := range tenants[2:] {
				if h.delivered[t] < rounds {
					return false
				}
			}
			return true
		})
		h.mu.Lock()
		for _, t := range tenants[2:] {
			all = append(all, h.latencies[t]...)
		}
		h.mu.Unlock()
		h.stop()
		return p99(all)
	}
	for range b.N {
		base := run(b, false)
		faulty := run(b, true)
		b.ReportMetric(float64(base.Milliseconds()), "p99-ms-baseline")
		b.ReportMetric(float64(faulty.Milliseconds()), "p99-ms-with-faults")
		b.ReportMetric(float64(faulty)/float64(base), "ratio")
	}
}

// BenchmarkManyTenants starts one connector per tenant for 1,000 tenants
// (1,000 durable consumers and router handlers on one embedded JetStream),
// publishes 5 events per tenant and waits until all are delivered.
// Reports start-up time, delivery time and heap in use.
func BenchmarkManyTenants(b *testing.B) {
	const tenants, per = 1000, 5
	for range b.N {
		names := make([]string, tenants)
		for i := range names {
			names[i] = fmt.Sprintf("t%04d", i)
		}
		start := time.Now()
		h := newHarness(b, harnessOpts{tenants: names, logger: zap.NewNop()})
		started := time.Since(start)
		start = time.Now()
		for _, t := range names {
			for j := range per {
				id := fmt.Sprintf("many-%s-%d", t, j)
				subj, body := event(t, id, fmt.Sprintf("%08d", j), j)
				m := nats.NewMsg(subj)
				m.Data = body
				m.Header.Set(jetstream.MsgIDHeader, id)
				if _, err := h.js.PublishMsgAsync(m); err != nil {
					b.Fatal(err)
				}
			}
			if t[len(t)-2:] == "99" {
				<-h.js.PublishAsyncComplete()
			}
		}
		<-h.js.PublishAsyncComplete()
		h.waitFor(5*time.Minute, "every tenant delivered", func() bool {
			h.mu.Lock()
			defer h.mu.Unlock()
			total := 0
			for _, n := range h.delivered {
				total += n
			}
			return total >= tenants*per
		})
		delivered := time.Since(start)
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		b.ReportMetric(started.Seconds(), "start-s")
		b.ReportMetric(delivered.Seconds(), "deliver-s")
		b.ReportMetric(float64(ms.HeapInuse)/(1<<20), "heap-MB")
		b.ReportMetric(float64(runtime.NumGoroutine()), "goroutines")
		h.stop()
	}
}
