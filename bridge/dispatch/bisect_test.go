package dispatch_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gentrack/gcis-bridge/bridge/dispatch"
	"github.com/gentrack/gcis-bridge/bridge/salesforce/sfsim"
)

// A poison event that makes the package refuse the whole request (400) is
// isolated by bisection and dead-lettered alone; the others are delivered.
func TestBisectionIsolatesPoisonEvent(t *testing.T) {
	t.Parallel()
	const n = 8
	h := newHarness(t, setup{disp: func(c *dispatch.Config) { c.BatchMaxEvents = n; c.Linger = time.Hour }})
	h.fault(sfsim.Fault{Kind: sfsim.KindRequestError, Rule: &sfsim.ItemRule{Field: "sourceEventId", Equals: "ev-06"}})
	var its []*dispatch.Item
	for i, id := range ids("ev", n) {
		its = append(its, h.item(id, ids("k", n)[i]))
	}
	out := waitAll(t, h.submit(its...))
	for i, o := range out {
		if its[i].ID == "ev-06" {
			continue
		}
		assert.Equal(t, dispatch.Delivered, o.Result, its[i].ID)
	}
	poison := out[5]
	require.Equal(t, dispatch.DeadLettered, poison.Result)
	f := poison.Failure
	require.NotNil(t, f)
	assert.Equal(t, "rejected", f.Class)
	assert.Equal(t, "JSON_PARSER_ERROR", f.ErrorCode)
	assert.Equal(t, 400, f.HTTPStatus)
	assert.Equal(t, 1, f.Attempts)

	dl := h.deadLetters()
	require.Len(t, dl, 1)
	assert.Equal(t, "ev-06", dl[0].id)
	assert.Len(t, h.stored(), n-1)
	assert.NotContains(t, h.stored(), "ev-06")
	assert.Empty(t, h.holdReasons())
	// 8 → 4 → 2 → 1: one refused request per level.
	refused := 0
	for _, p := range h.posts() {
		if p.Status == 400 {
			refused++
		}
	}
	assert.Equal(t, 4, refused)
}

// When every request is refused with the same 400, the package no longer
// accepts our schema: hold "schema", nothing dead-lettered; the items stay
// owned until Hold lets go of them.
func TestBisectionEveryRequestRefusedHoldsSchema(t *testing.T) {
	t.Parallel()
	const n = 4
	h := newHarness(t, setup{disp: func(c *dispatch.Config) { c.BatchMaxEvents = n; c.Linger = time.Hour }})
	h.fault(sfsim.Fault{Kind: sfsim.KindRequestError})
	var its []*dispatch.Item
	for i, id := range ids("ev", n) {
		its = append(its, h.item(id, ids("k", n)[i]))
	}
	subs := h.submit(its...)
	eventually(t, "the schema hold", func() bool { return len(h.holdReasons()) > 0 })
	assert.Equal(t, []string{"schema"}, h.holdReasons())
	assert.Equal(t, "schema", h.d.Held())
	assert.Equal(t, "schema", h.d.Stats().Held)
	time.Sleep(30 * time.Millisecond)
	for _, s := range subs {
		assert.True(t, s.pending(), "%s settled during the hold", s.it.ID)
	}
	assert.Empty(t, h.releasedIDs())
	assert.Equal(t, n, h.d.Stats().Owned)

	h.d.Hold("schema")
	for _, o := range waitAll(t, subs) {
		assert.Equal(t, dispatch.Released, o.Result)
	}
	assert.ElementsMatch(t, ids("ev", n), h.releasedIDs())
	h.mu.Lock()
	assert.Zero(t, h.deadCalls, "nothing dead-lettered")
	h.mu.Unlock()
	assert.Empty(t, h.stored())
}

// Poison events spread over time, each in a single-event request among
// successful ones, are each dead-lettered: the package accepts our schema,
// so the tenant must not be held. The contract (salesforce.md §3) holds
// only "if every single-event request fails with the same error".
func TestScatteredPoisonEventsDoNotHoldTenant(t *testing.T) {
	t.Parallel()
	h := newHarness(t, setup{disp: func(c *dispatch.Config) { c.BatchMaxEvents = 1 }})
	h.fault(sfsim.Fault{Kind: sfsim.KindRequestError, Rule: &sfsim.ItemRule{Field: "sourceEventId", Prefix: "poison"}})
	for round := 1; round <= 3; round++ {
		for i := 1; i <= 3; i++ {
			id := "good-" + string(rune('0'+round)) + string(rune('0'+i))
			assert.Equal(t, dispatch.Delivered, h.send(id, id).Result)
		}
		id := "poison-" + string(rune('0'+round))
		s := h.submit(old(h.item(id, id)))[0]
		select {
		case o := <-s.ch:
			s.got = &o
			assert.Equal(t, dispatch.DeadLettered, o.Result, id)
		case <-time.After(3 * time.Second):
			t.Fatalf("%s: no outcome; holds %v, Held %q", id, h.holdReasons(), h.d.Held())
		}
	}
	assert.Empty(t, h.holdReasons())
	assert.Len(t, h.deadLetters(), 3)
}
