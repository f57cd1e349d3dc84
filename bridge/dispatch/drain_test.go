package dispatch_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gentrack/gcis-bridge/bridge/dispatch"
	"github.com/gentrack/gcis-bridge/bridge/salesforce"
	"github.com/gentrack/gcis-bridge/bridge/salesforce/sfsim"
)

// Drain lets in-flight requests complete within its context; afterwards
// new items are released at once.
func TestDrainCompletesInFlight(t *testing.T) {
	t.Parallel()
	h := newHarness(t, setup{disp: func(c *dispatch.Config) { c.BatchMaxEvents = 1 }})
	h.fault(sfsim.Fault{Kind: sfsim.KindLatency, Latency: &sfsim.Latency{Fixed: 200 * time.Millisecond}})
	subs := h.submit(old(h.item("a1", "A")), old(h.item("b1", "B")))
	eventually(t, "two requests in flight", func() bool { return h.d.Stats().InFlight == 2 })
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	h.d.Drain(ctx)
	require.NoError(t, ctx.Err(), "Drain waited for its deadline")
	for _, o := range waitAll(t, subs) {
		assert.Equal(t, dispatch.Delivered, o.Result)
	}
	assert.Zero(t, h.d.Stats().Owned)
	assert.Empty(t, h.releasedIDs())

	late := h.submit(h.item("a2", "A"))[0]
	assert.False(t, late.pending(), "an item submitted after Drain is not released at once")
	assert.Equal(t, dispatch.Released, late.wait(t).Result)
	assert.Equal(t, []string{"a2"}, h.releasedIDs())
	assert.Equal(t, []string{"a1", "b1"}, sortedCopy(h.stored()))
}

// Drain sends what linger holds, and releases items waiting for a retry
// (in order per key) without waiting for their backoff.
func TestDrainReleasesPending(t *testing.T) {
	t.Parallel()
	h := newHarness(t, setup{disp: func(c *dispatch.Config) {
		c.BatchMaxEvents = 1
		c.Backoff = dispatch.Backoff{Initial: time.Hour, Max: time.Hour, Multiplier: 2}
	}})
	h.fault(sfsim.Fault{Kind: sfsim.KindHTTPError, Status: 503, Count: 1})
	subs := h.submit(old(h.item("a1", "A")), old(h.item("a2", "A")), old(h.item("a3", "A")))
	eventually(t, "a1 waiting for its retry", func() bool {
		st := h.d.Stats()
		return len(h.requestLog()) == 1 && st.InFlight == 0 && st.Owned == 3
	})
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	h.d.Drain(ctx)
	require.NoError(t, ctx.Err(), "Drain waited for its deadline")
	for _, o := range waitAll(t, subs) {
		assert.Equal(t, dispatch.Released, o.Result)
	}
	assert.Equal(t, []string{"a1", "a2", "a3"}, h.releasedIDs())
	assert.Empty(t, h.stored())
	assert.Len(t, h.posts(), 1)
}

// When the drain context ends, an in-flight request is cancelled and its
// items are released, before the later items of their keys.
func TestDrainCancelsHungRequest(t *testing.T) {
	t.Parallel()
	h := newHarness(t, setup{disp: func(c *dispatch.Config) { c.BatchMaxEvents = 2; c.Linger = time.Hour }})
	h.fault(sfsim.Fault{Kind: sfsim.KindHang})
	subs := h.submit(h.item("a1", "A"), h.item("a2", "A"), h.item("b1", "B"))
	eventually(t, "the request hanging at the org", func() bool {
		st, err := h.sim.Stats(orgID)
		return err == nil && st.InFlight == 1
	})
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	h.d.Drain(ctx)
	for _, o := range waitAll(t, subs) {
		assert.Equal(t, dispatch.Released, o.Result)
	}
	rel := h.releasedIDs()
	assert.ElementsMatch(t, []string{"a1", "a2", "b1"}, rel)
	assert.True(t, before(rel, "a1", "a2"), "release order of key A: %v", rel)
	assert.Zero(t, h.d.Stats().InFlight)
	assert.Zero(t, h.d.Stats().Owned)
	assert.Empty(t, h.holdReasons())
	h.mu.Lock()
	assert.Zero(t, h.deadCalls)
	h.mu.Unlock()
	eventually(t, "the org to see the client give up", func() bool {
		st, err := h.sim.Stats(orgID)
		return err == nil && st.InFlight == 0
	})
}

// An item submitted during a drain, whose key still has an earlier item
// waiting for a retry, must be released after that item: JetStream
// redelivers in nak order (Item.Release).
func TestDrainSubmitKeepsReleaseOrder(t *testing.T) {
	t.Parallel()
	h := newHarness(t, setup{disp: func(c *dispatch.Config) {
		c.BatchMaxEvents = 1
		c.Backoff = dispatch.Backoff{Initial: time.Hour, Max: time.Hour, Multiplier: 2}
	}})
	h.fault(sfsim.Fault{Kind: sfsim.KindHTTPError, Status: 503, Count: 1})
	a1 := h.submit(old(h.item("a1", "A")))[0]
	eventually(t, "a1 waiting for its retry", func() bool {
		return len(h.requestLog()) == 1 && h.d.Stats().InFlight == 0
	})
	// b1's request keeps the drain waiting.
	h.fault(sfsim.Fault{Kind: sfsim.KindLatency, Latency: &sfsim.Latency{Fixed: 400 * time.Millisecond}})
	b1 := h.submit(old(h.item("b1", "B")))[0]
	eventually(t, "b1 in flight", func() bool { return h.d.Stats().InFlight == 1 })
	drained := make(chan struct{})
	go func() {
		defer close(drained)
		h.drain(5 * time.Second)
	}()
	time.Sleep(50 * time.Millisecond) // Drain has started (b1 is still in flight)
	require.Equal(t, 1, h.d.Stats().InFlight)
	a2 := h.submit(old(h.item("a2", "A")))[0]
	<-drained
	assert.Equal(t, dispatch.Delivered, b1.wait(t).Result)
	assert.Equal(t, dispatch.Released, a1.wait(t).Result)
	assert.Equal(t, dispatch.Released, a2.wait(t).Result)
	assert.Equal(t, []string{"a1", "a2"}, h.releasedIDs(), "naks of key A out of stream order")
}

// A request that times out (no answer within RequestTimeout) is a
// transient failure (salesforce.md §3: "timeout → retry"): the event is
// retried by the dispatcher, keeping its key's order, not released.
func TestRequestTimeoutIsRetriedInOrder(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name                 string
		clientTO, dispatchTO time.Duration
	}{
		// The client's own timeout fires first: a ClassTransient error.
		{"client timeout first", 300 * time.Millisecond, 5 * time.Second},
		// Equal timeouts, as bridge/tenant.go configures them (both from
		// delivery.request_timeout): the dispatcher's deadline fires first.
		{"same timeout", 300 * time.Millisecond, 300 * time.Millisecond},
		{"dispatcher timeout first", 5 * time.Second, 300 * time.Millisecond},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			h := newHarness(t, setup{
				client: func(c *salesforce.Config) { c.RequestTimeout = tc.clientTO },
				disp:   func(c *dispatch.Config) { c.RequestTimeout = tc.dispatchTO; c.BatchMaxEvents = 1 },
			})
			h.fault(sfsim.Fault{Kind: sfsim.KindHang, Count: 1})
			subs := h.submit(old(h.item("a1", "A")), old(h.item("a2", "A")))
			out := waitAll(t, subs)
			assert.Equal(t, dispatch.Delivered, out[0].Result, "a1 (its request timed out once)")
			assert.Equal(t, dispatch.Delivered, out[1].Result, "a2")
			assert.Empty(t, h.releasedIDs(), "released on a timeout")
			assert.Equal(t, []string{"a1", "a2"}, h.stored())
			reqs := h.requestLog()
			require.NotEmpty(t, reqs)
			assert.Equal(t, "transient", reqs[0].outcome)
		})
	}
}

func sortedCopy(s []string) []string {
	out := append([]string(nil), s...)
	for i := 1; i < len(out); i++ {
		for j := i; j > 0 && out[j] < out[j-1]; j-- {
			out[j], out[j-1] = out[j-1], out[j]
		}
	}
	return out
}
