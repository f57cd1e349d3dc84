package dispatch_test

import (
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gentrack/gcis-bridge/bridge/dispatch"
	"github.com/gentrack/gcis-bridge/bridge/salesforce/sfsim"
)

// Full batches go at once, bounded by events or bytes; the partial rest is
// held by linger until Drain flushes it.
func TestBatchLimits(t *testing.T) {
	t.Parallel()
	evLen := len(event("ev-01", "k-01")) // every event of this test has this size
	overhead := 128 + len(connectorID)   // the dispatcher's envelope allowance
	tests := []struct {
		name     string
		edit     func(*dispatch.Config)
		n        int
		full     []int // sizes of the batches sent before the drain
		rest     int   // size of the batch the drain sends
		maxBytes int
	}{
		{
			name: "events",
			edit: func(c *dispatch.Config) { c.BatchMaxEvents = 5 },
			n:    12, full: []int{5, 5}, rest: 2,
		},
		{
			name: "bytes",
			edit: func(c *dispatch.Config) { c.BatchMaxBytes = overhead + 3*(evLen+1) },
			n:    7, full: []int{3, 3}, rest: 1,
			maxBytes: overhead + 3*(evLen+1),
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			h := newHarness(t, setup{disp: func(c *dispatch.Config) {
				c.Linger = time.Hour
				tc.edit(c)
			}})
			var its []*dispatch.Item
			for i, id := range ids("ev", tc.n) {
				its = append(its, h.item(id, ids("k", tc.n)[i]))
			}
			subs := h.submit(its...)
			sent := 0
			for _, n := range tc.full {
				sent += n
			}
			// Lanes leave the ready queue in FIFO order: the first items
			// make the full batches.
			for _, o := range waitAll(t, subs[:sent]) {
				assert.Equal(t, dispatch.Delivered, o.Result)
			}
			assert.Equal(t, tc.full, sizes(h.posts()))
			// The rest waits for linger (an hour): not sent, still owned.
			time.Sleep(50 * time.Millisecond)
			assert.Len(t, h.posts(), len(tc.full), "a partial batch was sent before linger")
			st := h.d.Stats()
			assert.Equal(t, tc.rest, st.Ready)
			assert.Equal(t, tc.rest, st.Owned)
			for _, s := range subs[sent:] {
				assert.True(t, s.pending(), "item %s settled before linger", s.it.ID)
			}

			h.drain(5 * time.Second) // sends what is ready without linger
			for _, o := range waitAll(t, subs) {
				assert.Equal(t, dispatch.Delivered, o.Result)
			}
			assert.Equal(t, append(slices.Clone(tc.full), tc.rest), sizes(h.posts()))
			if tc.maxBytes > 0 {
				for _, p := range h.posts() {
					assert.LessOrEqual(t, p.BodyBytes, int64(tc.maxBytes), "request body over BatchMaxBytes")
				}
			}
		})
	}
}

// A partial batch is sent after linger, not held; linger counts from
// publication.
func TestLingerSendsPartialBatch(t *testing.T) {
	t.Parallel()
	t.Run("after linger", func(t *testing.T) {
		t.Parallel()
		h := newHarness(t, setup{disp: func(c *dispatch.Config) { c.Linger = 30 * time.Millisecond }})
		subs := h.submit(h.item("a", "k1"), h.item("b", "k2"), h.item("c", "k3"))
		for _, o := range waitAll(t, subs) {
			assert.Equal(t, dispatch.Delivered, o.Result)
			assert.Equal(t, "created", o.Status)
			assert.NotEmpty(t, o.RecordID)
		}
		assert.ElementsMatch(t, []string{"a", "b", "c"}, h.stored())
		total := 0
		for _, n := range sizes(h.posts()) {
			total += n
		}
		assert.Equal(t, 3, total)
	})
	t.Run("counted from publication", func(t *testing.T) {
		t.Parallel()
		h := newHarness(t, setup{disp: func(c *dispatch.Config) { c.Linger = time.Hour }})
		// Published two hours ago: its linger is long over.
		o := h.submit(old(h.item("a", "k1")))[0].wait(t)
		assert.Equal(t, dispatch.Delivered, o.Result)
		assert.Equal(t, []string{"a"}, h.stored())
	})
}

// KeyBatchMax 1 (default): two events of a key never share a request and
// the second is sent only once the first settled; other keys share
// requests.
func TestKeyBatchMaxDefault(t *testing.T) {
	t.Parallel()
	h := newHarness(t, setup{disp: func(c *dispatch.Config) {
		c.BatchMaxEvents = 2 // a1 + b1 make a full batch
		c.Linger = time.Hour
	}})
	h.fault(sfsim.Fault{Kind: sfsim.KindLatency, Latency: &sfsim.Latency{Fixed: 80 * time.Millisecond}})
	subs := h.submit(h.item("a1", "A"), h.item("a2", "A"), h.item("b1", "B"), h.item("b2", "B"))
	// a1+b1 go first; a2+b2 (again a full batch) once that request settled.
	for _, o := range waitAll(t, subs) {
		assert.Equal(t, dispatch.Delivered, o.Result)
	}
	batch := h.batchOf()
	assert.Equal(t, batch["a1"], batch["b1"], "different keys batched together")
	assert.Equal(t, batch["a2"], batch["b2"], "different keys batched together")
	assert.NotEqual(t, batch["a1"], batch["a2"], "two events of one key in one request")
	first, second := h.postByBatch(batch["a1"]), h.postByBatch(batch["a2"])
	assert.True(t, startsAfterEnd(first, second), "a2 was sent before a1's request settled: %v+%vms vs %v",
		first.Time, first.DurationMS, second.Time)
	stored := h.stored()
	assert.True(t, before(stored, "a1", "a2"), "order of key A: %v", stored)
	assert.True(t, before(stored, "b1", "b2"), "order of key B: %v", stored)
}

// KeyBatchMax 2 lets two events of a key share a request, in stream order.
func TestKeyBatchMaxTwo(t *testing.T) {
	t.Parallel()
	h := newHarness(t, setup{disp: func(c *dispatch.Config) {
		c.KeyBatchMax = 2
		c.BatchMaxEvents = 2
		c.Linger = time.Hour
	}})
	subs := h.submit(h.item("a1", "A"), h.item("a2", "A"))
	waitAll(t, subs)
	batch := h.batchOf()
	assert.Equal(t, batch["a1"], batch["a2"])
	assert.Equal(t, []string{"a1", "a2"}, h.stored())
}

// Under a backlog, never more than MaxInFlight requests are in flight, and
// the dispatcher does use that many.
func TestMaxInFlightUnderBacklog(t *testing.T) {
	t.Parallel()
	const maxInFlight, n = 2, 8
	h := newHarness(t, setup{disp: func(c *dispatch.Config) {
		c.MaxInFlight = maxInFlight
		c.BatchMaxEvents = 1
	}})
	h.fault(sfsim.Fault{Kind: sfsim.KindLatency, Latency: &sfsim.Latency{Fixed: 60 * time.Millisecond}})
	var its []*dispatch.Item
	for i, id := range ids("ev", n) {
		its = append(its, h.item(id, ids("k", n)[i]))
	}
	var (
		mu       sync.Mutex
		peak     int
		sawReady bool
	)
	stop := make(chan struct{})
	sampled := make(chan struct{})
	go func() {
		defer close(sampled)
		for i := 0; i < 10000; i++ {
			st := h.d.Stats()
			mu.Lock()
			peak = max(peak, st.InFlight)
			sawReady = sawReady || st.Ready > 0
			mu.Unlock()
			select {
			case <-stop:
				return
			case <-time.After(2 * time.Millisecond):
			}
		}
	}()
	subs := h.submit(its...)
	for _, o := range waitAll(t, subs) {
		assert.Equal(t, dispatch.Delivered, o.Result)
	}
	close(stop)
	<-sampled

	st, err := h.sim.Stats(orgID)
	require.NoError(t, err)
	assert.Equal(t, maxInFlight, st.PeakInFlight, "requests in flight at the org")
	mu.Lock()
	assert.LessOrEqual(t, peak, maxInFlight, "Stats().InFlight")
	assert.True(t, sawReady, "no backlog was observed")
	mu.Unlock()
	reqs := h.requestLog()
	assert.Len(t, reqs, n)
	for _, r := range reqs {
		assert.Equal(t, request{"ok", 1}, r)
	}
	assert.Equal(t, 0, h.d.Stats().InFlight)
}

// Stats reports owned items, ready items (KeyBatchMax per lane) and lanes.
func TestStatsSnapshot(t *testing.T) {
	t.Parallel()
	h := newHarness(t, setup{disp: func(c *dispatch.Config) {
		c.Linger = time.Hour
		c.MaxInFlight = 3
		c.BatchMaxEvents = 50
	}})
	h.submit(h.item("a1", "A"), h.item("a2", "A"), h.item("b1", "B"), h.item("c1", "C"))
	st := h.d.Stats()
	assert.Equal(t, dispatch.Stats{Owned: 4, Ready: 3, InFlight: 0, Lanes: 3, MaxInFlight: 3, BatchMax: 50}, st)
}
