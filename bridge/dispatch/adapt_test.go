package dispatch_test

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gentrack/gcis-bridge/bridge/dispatch"
	"github.com/gentrack/gcis-bridge/bridge/salesforce/sfsim"
)

// A governor limit (500 APEX_ERROR LimitException) halves the batch size;
// successes bring it back gradually.
func TestGovernorHalvesBatchSize(t *testing.T) {
	t.Parallel()
	const n = 8
	h := newHarness(t, setup{disp: func(c *dispatch.Config) { c.BatchMaxEvents = n; c.Linger = time.Hour }})
	h.fault(sfsim.Fault{Kind: sfsim.KindApexError, Count: 1})
	var its []*dispatch.Item
	for i, id := range ids("ev", n) {
		its = append(its, h.item(id, ids("k", n)[i]))
	}
	for _, o := range waitAll(t, h.submit(its...)) {
		assert.Equal(t, dispatch.Delivered, o.Result)
	}
	p := h.posts()
	require.NotEmpty(t, p)
	assert.Equal(t, 500, p[0].Status)
	assert.Equal(t, n, p[0].Events)
	total := 0
	for _, r := range p[1:] {
		assert.LessOrEqual(t, r.Events, n/2, "retry batch larger than the halved size")
		total += r.Events
	}
	assert.Equal(t, n, total)
	bm := h.d.Stats().BatchMax
	assert.Less(t, bm, n, "batch size already back to normal")
	assert.GreaterOrEqual(t, bm, n/2+1, "no growth after successes")

	// Each success grows it back, up to BatchMaxEvents and no further.
	for i := 0; i < n && h.d.Stats().BatchMax < n; i++ {
		prev := h.d.Stats().BatchMax
		assert.Equal(t, dispatch.Delivered, h.send(fmt.Sprintf("more-%d", i), fmt.Sprintf("m%d", i)).Result)
		assert.Greater(t, h.d.Stats().BatchMax, prev)
	}
	assert.Equal(t, n, h.d.Stats().BatchMax)
	assert.Equal(t, dispatch.Delivered, h.send("last", "last").Result)
	assert.Equal(t, n, h.d.Stats().BatchMax)
}

// A concurrency limit (403 REQUEST_LIMIT_EXCEEDED Concurrent…) lowers the
// requests in flight, and the item is retried; a run of successes brings it
// back.
func TestConcurrentLimitLowersMaxInFlight(t *testing.T) {
	t.Parallel()
	h := newHarness(t, setup{disp: func(c *dispatch.Config) { c.MaxInFlight = 4; c.BatchMaxEvents = 1 }})
	h.fault(sfsim.Fault{Kind: sfsim.KindConcurrentLimit, Count: 1})
	assert.Equal(t, dispatch.Delivered, h.send("ev-1", "A").Result)
	assert.Equal(t, 3, h.d.Stats().MaxInFlight)
	assert.Equal(t, []request{{"throttled", 1}, {"ok", 1}}, h.requestLog())
	assert.Empty(t, h.holdReasons())

	// Lowered means lowered: a backlog now runs at most 3 requests at once.
	h.fault(sfsim.Fault{Kind: sfsim.KindLatency, Latency: &sfsim.Latency{Fixed: 40 * time.Millisecond}, Count: 6})
	var its []*dispatch.Item
	for i := range 6 {
		its = append(its, old(h.item(fmt.Sprintf("bl-%d", i), fmt.Sprintf("bl%d", i))))
	}
	var mu sync.Mutex
	peak := 0
	stop, done := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(done)
		for i := 0; i < 10000; i++ {
			st := h.d.Stats()
			mu.Lock()
			peak = max(peak, st.InFlight)
			mu.Unlock()
			select {
			case <-stop:
				return
			case <-time.After(2 * time.Millisecond):
			}
		}
	}()
	waitAll(t, h.submit(its...))
	close(stop)
	<-done
	mu.Lock()
	assert.LessOrEqual(t, peak, 3)
	mu.Unlock()

	for i := 0; i < 30 && h.d.Stats().MaxInFlight < 4; i++ {
		assert.Equal(t, dispatch.Delivered, h.send(fmt.Sprintf("ok-%d", i), fmt.Sprintf("ok%d", i)).Result)
	}
	assert.Equal(t, 4, h.d.Stats().MaxInFlight, "never grew back")
}

// API usage above LimitSlowdownRatio slows the tenant: requests are spaced
// by at least SlowInterval; usage back below ends it.
func TestSlowDownOnAPIUsage(t *testing.T) {
	t.Parallel()
	const slowInterval = 150 * time.Millisecond
	h := newHarness(t, setup{disp: func(c *dispatch.Config) {
		c.SlowInterval = slowInterval
		c.BatchMaxEvents = 1
		c.MaxInFlight = 4
	}})
	assert.Equal(t, dispatch.Delivered, h.send("warm", "W").Result)
	assert.False(t, h.d.Stats().Slow)

	require.NoError(t, h.sim.SetAPIUsage(orgID, 95_000)) // of 100,000
	assert.Equal(t, dispatch.Delivered, h.send("trigger", "T").Result)
	assert.True(t, h.d.Stats().Slow)
	h.mu.Lock()
	require.NotEmpty(t, h.usage)
	assert.Equal(t, [2]int{95_001, 100_000}, h.usage[len(h.usage)-1])
	h.mu.Unlock()

	before := len(h.posts())
	var its []*dispatch.Item
	for i := range 4 {
		its = append(its, old(h.item(fmt.Sprintf("slow-%d", i), fmt.Sprintf("s%d", i))))
	}
	for _, o := range waitAll(t, h.submit(its...)) {
		assert.Equal(t, dispatch.Delivered, o.Result)
	}
	p := h.posts()[before-1:] // the trigger request, then the four
	require.Len(t, p, 5)
	for i := 1; i < len(p); i++ {
		// The dispatcher spaces its sends; the org sees them with a little
		// scheduling noise.
		assert.GreaterOrEqual(t, p[i].Time.Sub(p[i-1].Time), slowInterval*8/10, "gap before request %d", i)
	}

	require.NoError(t, h.sim.SetAPIUsage(orgID, 10))
	assert.Equal(t, dispatch.Delivered, h.send("relief", "R").Result)
	assert.False(t, h.d.Stats().Slow)
}
