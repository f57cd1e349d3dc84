package bridge_test

import (
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/gentrack/gcis-bridge/bridge"
	"github.com/gentrack/gcis-bridge/bridge/salesforce/sfsim"
)

// TestOrderingProperty publishes random interleavings of events over a few
// accounts while the org fails at random (whole-request 503s, resets,
// commit-then-fail, per-item lock errors) and checks that, per account, the
// org first stored the events in publish order.
func TestOrderingProperty(t *testing.T) {
	seeds := []uint64{1, 2, 3}
	for _, seed := range seeds {
		t.Run(fmt.Sprintf("seed=%d", seed), func(t *testing.T) {
			rng := rand.New(rand.NewPCG(seed, seed*7919))
			h := newHarness(t, harnessOpts{delivery: func(d *bridge.Delivery) {
				d.MaxAttempts = 1000 // transient failures must not exhaust events here
				d.BatchMaxEvents = 1 + rng.IntN(50)
				d.MaxInFlight = 1 + rng.IntN(4)
			}})
			h.fault("acme", sfsim.Fault{Kind: sfsim.KindHTTPError, Status: 503, Probability: 0.2})
			h.fault("acme", sfsim.Fault{Kind: sfsim.KindReset, Probability: 0.05})
			h.fault("acme", sfsim.Fault{Kind: sfsim.KindCommitThenFail, Probability: 0.1})
			h.fault("acme", sfsim.Fault{Kind: sfsim.KindItemError, Probability: 0.1, Rule: &sfsim.ItemRule{StatusCode: "UNABLE_TO_LOCK_ROW", Message: "unable to obtain exclusive access to this record"}})
			accounts := make([]string, 2+rng.IntN(6))
			for i := range accounts {
				accounts[i] = fmt.Sprintf("%08d", 100+i)
			}
			const n = 300
			order := map[string][]string{} // account -> event ids in publish order
			for i := range n {
				acct := accounts[rng.IntN(len(accounts))]
				id := fmt.Sprintf("o%d-%04d", seed, i)
				order[acct] = append(order[acct], id)
				subj, body := event("acme", id, acct, i)
				h.publish(subj, body, id)
				if rng.IntN(10) == 0 {
					time.Sleep(time.Duration(rng.IntN(20)) * time.Millisecond)
				}
			}
			evs := h.waitOrgCount("acme", n, 60*time.Second)
			got := map[string][]string{}
			seen := map[string]bool{}
			for _, e := range evs {
				if seen[e.SourceEventID] {
					continue
				}
				seen[e.SourceEventID] = true
				got[e.ExternalContextID] = append(got[e.ExternalContextID], e.SourceEventID)
			}
			for acct, want := range order {
				if fmt.Sprint(got[acct]) != fmt.Sprint(want) {
					t.Fatalf("account %s: org order\n%v\nwant publish order\n%v", acct, got[acct], want)
				}
			}
			if dl := h.deadLetters(); len(dl) != 0 {
				t.Fatalf("%d dead letters", len(dl))
			}
		})
	}
}

// TestIsolation runs 20 tenants; one org answers 403 TotalRequests and one
// 503s. The other 18 deliver everything; the faulty tenants are held (or
// retried) and deliver everything once the faults clear; nothing is
// dead-lettered. (Latency figures are measured by BenchmarkIsolation.)
func TestIsolation(t *testing.T) {
	tenants := make([]string, 20)
	for i := range tenants {
		tenants[i] = fmt.Sprintf("t%02d", i)
	}
	h := newHarness(t, harnessOpts{tenants: tenants, delivery: func(d *bridge.Delivery) { d.MaxAttempts = 1000 }})
	h.fault("t00", sfsim.Fault{Kind: sfsim.KindLimitExceeded})
	h.fault("t01", sfsim.Fault{Kind: sfsim.KindHTTPError, Status: 503})
	const n = 100
	for _, ten := range tenants {
		h.publishN(ten, n, []string{"00000101", "00000102", "00000103", "00000104", "00000105"}, "iso")
	}
	for _, ten := range tenants[2:] {
		h.waitOrgCount(ten, n, 30*time.Second)
		h.consumerSettled(ten, 15*time.Second)
	}
	if evs, _ := h.orgEvents("t00"); len(evs) != 0 {
		t.Fatalf("limit-exhausted org stored %d events", len(evs))
	}
	h.waitFor(10*time.Second, "t00 held for limit and t01 held for breaker", func() bool {
		st0, _ := h.b.Status("c-t00")
		st1, _ := h.b.Status("c-t01")
		return st0.HoldReason == "limit" && st1.HoldReason == "breaker"
	})
	h.sim.ClearFaults(orgID("t00"))
	h.sim.ClearFaults(orgID("t01"))
	for _, ten := range tenants[:2] {
		h.waitOrgCount(ten, n, 30*time.Second)
		h.consumerSettled(ten, 15*time.Second)
	}
	if dl := h.deadLetters(); len(dl) != 0 {
		t.Fatalf("%d dead letters, want none", len(dl))
	}
}
