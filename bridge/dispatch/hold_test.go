package dispatch_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gentrack/gcis-bridge/bridge/dispatch"
	"github.com/gentrack/gcis-bridge/bridge/salesforce"
	"github.com/gentrack/gcis-bridge/bridge/salesforce/sfsim"
)

// A connector fault holds the tenant: OnHold once with the reason; the
// items stay owned (parked) until Hold lets go of them, in stream order per
// key; while let go, new items are released at once; Resume delivers again.
func TestConnectorFaultHolds(t *testing.T) {
	t.Parallel()
	tests := []struct {
		reason string
		fault  sfsim.Fault
		client func(*salesforce.Config)
	}{
		{reason: "limit", fault: sfsim.Fault{Kind: sfsim.KindLimitExceeded}},
		{reason: "auth", fault: sfsim.Fault{Kind: sfsim.KindTokenError, TokenError: "invalid_client"}},
		{reason: "endpoint", fault: sfsim.Fault{Kind: sfsim.KindHTTPError, Status: 404, ErrorCode: "NOT_FOUND", Message: "Could not find a match for URL"}},
		// Two 503s open the breaker; the next attempt is refused by it.
		{reason: "breaker", fault: sfsim.Fault{Kind: sfsim.KindHTTPError, Status: 503},
			client: func(c *salesforce.Config) { c.Breaker = salesforce.BreakerConfig{Failures: 2, OpenFor: time.Hour} }},
	}
	for _, tc := range tests {
		t.Run(tc.reason, func(t *testing.T) {
			t.Parallel()
			h := newHarness(t, setup{client: tc.client, disp: func(c *dispatch.Config) { c.BatchMaxEvents = 1; c.MaxInFlight = 4 }})
			h.fault(tc.fault)
			subs := h.submit(h.item("a1", "A"), h.item("a2", "A"), h.item("b1", "B"), h.item("c1", "C"))
			eventually(t, "OnHold", func() bool { return len(h.holdReasons()) > 0 })
			assert.Equal(t, tc.reason, h.d.Held())

			// Parked: nothing released, nothing settled, nothing sent.
			a3 := h.submit(h.item("a3", "A"))[0]
			// Requests already in flight when the fault was seen may
			// still reach the org: count from when they have settled.
			eventually(t, "in-flight requests settled", func() bool { return h.d.Stats().InFlight == 0 })
			posts := len(h.posts())
			time.Sleep(50 * time.Millisecond)
			assert.Equal(t, posts, len(h.posts()), "requests sent while held")
			assert.Empty(t, h.releasedIDs(), "released before Hold")
			for _, s := range append(slices.Clone(subs), a3) {
				assert.True(t, s.pending(), "%s settled while parked", s.it.ID)
			}
			st := h.d.Stats()
			assert.Equal(t, 5, st.Owned)
			assert.Equal(t, tc.reason, st.Held)
			assert.Equal(t, []string{tc.reason}, h.holdReasons(), "OnHold once")

			// The caller paused the consumer: let go, in order per key.
			h.d.Hold(tc.reason)
			for _, o := range waitAll(t, append(subs, a3)) {
				assert.Equal(t, dispatch.Released, o.Result)
			}
			rel := h.releasedIDs()
			assert.ElementsMatch(t, []string{"a1", "a2", "a3", "b1", "c1"}, rel)
			assert.True(t, before(rel, "a1", "a2") && before(rel, "a2", "a3"), "release order of key A: %v", rel)
			assert.Zero(t, h.d.Stats().Owned)

			// Held and let go: a new item is released at once.
			late := h.submit(h.item("a4", "A"))[0]
			assert.False(t, late.pending(), "not released at once")
			assert.Equal(t, dispatch.Released, late.wait(t).Result)
			assert.Equal(t, "a4", h.releasedIDs()[len(h.releasedIDs())-1])

			// The fault is gone and the tenant resumed: delivery again.
			h.sim.ClearFaults(orgID)
			require.NoError(t, h.client.Probe(context.Background()), "probe (closes the breaker)")
			h.d.Resume()
			assert.Empty(t, h.d.Held())
			assert.Equal(t, dispatch.Delivered, h.send("a5", "A").Result)
			assert.Equal(t, []string{"a5"}, h.stored())
			assert.Equal(t, []string{tc.reason}, h.holdReasons())
			h.mu.Lock()
			assert.Zero(t, h.deadCalls)
			h.mu.Unlock()
		})
	}
}

// An operator hold (Hold "paused") while a request is in flight: the
// request's items keep their result (delivered), a new item of that key is
// released only after them, a new item of another key at once.
func TestHoldWithRequestInFlight(t *testing.T) {
	t.Parallel()
	h := newHarness(t, setup{disp: func(c *dispatch.Config) { c.BatchMaxEvents = 1 }})
	h.fault(sfsim.Fault{Kind: sfsim.KindLatency, Latency: &sfsim.Latency{Fixed: 300 * time.Millisecond}})
	a1 := h.submit(old(h.item("a1", "A")))[0]
	eventually(t, "a1 in flight", func() bool { return h.d.Stats().InFlight == 1 })
	h.d.Hold("paused")
	assert.Equal(t, "paused", h.d.Held())

	a2 := h.submit(h.item("a2", "A"))[0]
	assert.True(t, a2.pending(), "a2 released before a1's request settled")
	assert.Empty(t, h.releasedIDs())
	b1 := h.submit(h.item("b1", "B"))[0]
	assert.False(t, b1.pending(), "b1 (idle key) not released at once")
	assert.Equal(t, dispatch.Released, b1.wait(t).Result)

	assert.Equal(t, dispatch.Delivered, a1.wait(t).Result)
	assert.Equal(t, dispatch.Released, a2.wait(t).Result)
	assert.Equal(t, []string{"b1", "a2"}, h.releasedIDs())
	assert.Equal(t, []string{"a1"}, h.stored())
	assert.Empty(t, h.holdReasons(), "an operator hold is not a connector fault")

	h.d.Resume()
	assert.Equal(t, dispatch.Delivered, h.send("a2", "A").Result)
	assert.Equal(t, []string{"a1", "a2"}, h.stored())
}

// An operator pause wins over a connector hold's reason.
func TestHoldPausedOverridesReason(t *testing.T) {
	t.Parallel()
	h := newHarness(t, setup{})
	h.fault(sfsim.Fault{Kind: sfsim.KindLimitExceeded})
	s := h.submit(old(h.item("a1", "A")))[0]
	eventually(t, "OnHold", func() bool { return len(h.holdReasons()) > 0 })
	h.d.Hold("limit")
	assert.Equal(t, "limit", h.d.Held())
	h.d.Hold("paused")
	assert.Equal(t, "paused", h.d.Held())
	h.d.Hold("limit")
	assert.Equal(t, "paused", h.d.Held(), "a later connector hold replaced the operator pause")
	require.Equal(t, dispatch.Released, s.wait(t).Result)
}
