package dispatch_test

import (
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gentrack/gcis-bridge/bridge/dispatch"
	"github.com/gentrack/gcis-bridge/bridge/salesforce/sfsim"
)

// created and duplicate are both delivered; a duplicate carries the
// record id of the original.
func TestDeliveredCreatedAndDuplicate(t *testing.T) {
	t.Parallel()
	h := newHarness(t, setup{})
	first := h.send("ev-1", "A")
	require.Equal(t, dispatch.Delivered, first.Result)
	assert.Equal(t, "created", first.Status)
	assert.NotEmpty(t, first.RecordID)
	assert.Nil(t, first.Failure)

	again := h.send("ev-1", "A") // a redelivery of the same event
	require.Equal(t, dispatch.Delivered, again.Result)
	assert.Equal(t, "duplicate", again.Status)
	assert.Equal(t, first.RecordID, again.RecordID)
	assert.Equal(t, []string{"ev-1"}, h.stored())
	assert.Empty(t, h.deadLetters())
	assert.Empty(t, h.releasedIDs())
}

// A per-item error dead-letters that event as rejected (HTTP 200, the
// error's code); the rest of the request is delivered.
func TestItemErrorDeadLettersRejected(t *testing.T) {
	t.Parallel()
	h := newHarness(t, setup{disp: func(c *dispatch.Config) { c.BatchMaxEvents = 3 }})
	h.fault(sfsim.Fault{Kind: sfsim.KindItemError, Rule: &sfsim.ItemRule{
		Field: "sourceEventId", Equals: "bad", Message: "Account 3004172851 not found",
	}})
	subs := h.submit(h.item("ok-1", "A"), h.item("bad", "B"), h.item("ok-2", "C"))
	out := waitAll(t, subs)
	assert.Equal(t, dispatch.Delivered, out[0].Result)
	assert.Equal(t, dispatch.Delivered, out[2].Result)
	require.Equal(t, dispatch.DeadLettered, out[1].Result)
	f := out[1].Failure
	require.NotNil(t, f)
	assert.Equal(t, "rejected", f.Class)
	assert.Equal(t, "FIELD_CUSTOM_VALIDATION_EXCEPTION", f.ErrorCode)
	assert.Equal(t, 200, f.HTTPStatus)
	assert.Equal(t, 1, f.Attempts)
	assert.Contains(t, f.Reason, "Account 3004172851 not found")

	dl := h.deadLetters()
	require.Len(t, dl, 1, "stored before the outcome")
	assert.Equal(t, "bad", dl[0].id)
	assert.Equal(t, *f, dl[0].f)
	h.mu.Lock()
	assert.Equal(t, []string{"bad"}, h.observedD)
	h.mu.Unlock()
	assert.ElementsMatch(t, []string{"ok-1", "ok-2"}, h.stored())
	assert.Len(t, h.posts(), 1, "a rejected item is not retried")
}

// A transient item error (UNABLE_TO_LOCK_ROW) is retried, then delivered.
func TestItemLockRowRetried(t *testing.T) {
	t.Parallel()
	h := newHarness(t, setup{})
	h.fault(sfsim.Fault{Kind: sfsim.KindItemError, Count: 2, Rule: &sfsim.ItemRule{StatusCode: "UNABLE_TO_LOCK_ROW"}})
	o := h.send("ev-1", "A")
	assert.Equal(t, dispatch.Delivered, o.Result)
	assert.Equal(t, "created", o.Status)
	assert.Len(t, h.posts(), 3)
	assert.Empty(t, h.deadLetters())
	assert.Equal(t, []string{"ev-1"}, h.stored())
}

// When the dead-letter store fails, the item is released (nak), not lost
// and not acked.
func TestDeadLetterWriteFailureReleases(t *testing.T) {
	t.Parallel()
	h := newHarness(t, setup{})
	h.mu.Lock()
	h.deadErr = errors.New("dead-letter stream unavailable")
	h.mu.Unlock()
	h.fault(sfsim.Fault{Kind: sfsim.KindItemError, Rule: &sfsim.ItemRule{Field: "sourceEventId", Equals: "bad"}})
	o := h.send("bad", "A")
	assert.Equal(t, dispatch.Released, o.Result)
	assert.Equal(t, []string{"bad"}, h.releasedIDs())
	h.mu.Lock()
	assert.Equal(t, 3, h.deadCalls, "the store is tried three times")
	assert.Empty(t, h.observedD)
	h.mu.Unlock()
}

// A whole-request 503 is retried until it passes; a fault that does not
// pass exhausts MaxAttempts and dead-letters as exhausted.
func TestRetryWholeRequest(t *testing.T) {
	t.Parallel()
	t.Run("recovers", func(t *testing.T) {
		t.Parallel()
		h := newHarness(t, setup{disp: func(c *dispatch.Config) { c.MaxAttempts = 5 }})
		h.fault(sfsim.Fault{Kind: sfsim.KindHTTPError, Status: 503, Count: 2})
		o := h.send("ev-1", "A")
		assert.Equal(t, dispatch.Delivered, o.Result)
		assert.Equal(t, []request{{"transient", 1}, {"transient", 1}, {"ok", 1}}, h.requestLog())
		assert.Len(t, h.posts(), 3)
		assert.Equal(t, []string{"ev-1"}, h.stored())
	})
	t.Run("exhausted", func(t *testing.T) {
		t.Parallel()
		const maxAttempts = 3
		h := newHarness(t, setup{disp: func(c *dispatch.Config) { c.MaxAttempts = maxAttempts }})
		h.fault(sfsim.Fault{Kind: sfsim.KindHTTPError, Status: 503})
		o := h.send("ev-1", "A")
		require.Equal(t, dispatch.DeadLettered, o.Result)
		f := o.Failure
		require.NotNil(t, f)
		assert.Equal(t, "exhausted", f.Class)
		assert.Equal(t, maxAttempts, f.Attempts)
		assert.Equal(t, 503, f.HTTPStatus)
		assert.Equal(t, "SERVER_UNAVAILABLE", f.ErrorCode)
		assert.Contains(t, f.Reason, "HTTP 503")
		assert.Len(t, h.posts(), maxAttempts, "attempts beyond MaxAttempts")
		dl := h.deadLetters()
		require.Len(t, dl, 1)
		assert.Equal(t, *f, dl[0].f)
		assert.Empty(t, h.stored())
	})
	t.Run("Retry-After honoured", func(t *testing.T) {
		t.Parallel()
		h := newHarness(t, setup{})
		h.fault(sfsim.Fault{Kind: sfsim.KindHTTPError, Status: 503, Count: 1, RetryAfter: 1})
		o := h.send("ev-1", "A")
		assert.Equal(t, dispatch.Delivered, o.Result)
		p := h.posts()
		require.Len(t, p, 2)
		// Backoff alone would retry after 10ms.
		assert.GreaterOrEqual(t, p[1].Time.Sub(p[0].Time), 900*time.Millisecond)
	})
}

// A later event of a key waits while the head of its key is retried, and
// other keys go on.
func TestRetryKeepsOrderPerKey(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		fault sfsim.Fault
	}{
		{"whole request 503", sfsim.Fault{Kind: sfsim.KindHTTPError, Status: 503, Count: 3}},
		{"item UNABLE_TO_LOCK_ROW", sfsim.Fault{Kind: sfsim.KindItemError, Count: 3,
			Rule: &sfsim.ItemRule{Field: "sourceEventId", Equals: "a1", StatusCode: "UNABLE_TO_LOCK_ROW"}}},
		{"apex lock row", sfsim.Fault{Kind: sfsim.KindLockRow, Count: 3}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			h := newHarness(t, setup{disp: func(c *dispatch.Config) { c.BatchMaxEvents = 2; c.Linger = time.Hour }})
			h.fault(tc.fault)
			subs := h.submit(old(h.item("a1", "A")), old(h.item("a2", "A")), old(h.item("a3", "A")), old(h.item("b1", "B")))
			// a1+b1 first; a2, a3 follow one by one (published long ago,
			// so linger does not hold them).
			for _, o := range waitAll(t, subs) {
				assert.Equal(t, dispatch.Delivered, o.Result)
			}
			stored := h.stored()
			assert.True(t, before(stored, "a1", "a2") && before(stored, "a2", "a3"), "order of key A: %v", stored)
			batch := h.batchOf()
			for _, pair := range [][2]string{{"a1", "a2"}, {"a2", "a3"}} {
				assert.NotEqual(t, batch[pair[0]], batch[pair[1]])
				assert.True(t, startsAfterEnd(h.postByBatch(batch[pair[0]]), h.postByBatch(batch[pair[1]])),
					"%s sent before %s settled", pair[1], pair[0])
			}
			assert.Empty(t, h.deadLetters())
			assert.Empty(t, h.releasedIDs())
		})
	}
}

// Items owned longer than TouchInterval get their ack deadline extended:
// the one being retried and the one waiting behind it.
func TestTouchWhileWaiting(t *testing.T) {
	t.Parallel()
	h := newHarness(t, setup{disp: func(c *dispatch.Config) {
		c.TouchInterval = 20 * time.Millisecond
		c.Backoff = dispatch.Backoff{Initial: 100 * time.Millisecond, Max: 100 * time.Millisecond, Multiplier: 2}
		c.BatchMaxEvents = 1
	}})
	h.fault(sfsim.Fault{Kind: sfsim.KindHTTPError, Status: 503, Count: 3})
	a2 := h.item("a2", "A")
	a2.Touch = func() error { // a failing Touch does not matter
		h.mu.Lock()
		h.touches["a2"]++
		h.mu.Unlock()
		return errors.New("message already acked")
	}
	subs := h.submit(old(h.item("a1", "A")), a2)
	for _, o := range waitAll(t, subs) {
		assert.Equal(t, dispatch.Delivered, o.Result)
	}
	assert.GreaterOrEqual(t, h.touchCount("a1"), 1, "retried item not touched")
	assert.GreaterOrEqual(t, h.touchCount("a2"), 1, "waiting item not touched")
	assert.Equal(t, []string{"a1", "a2"}, h.stored())
}

// Touch is not called for an item settled well within TouchInterval.
func TestNoTouchWhenQuick(t *testing.T) {
	t.Parallel()
	h := newHarness(t, setup{disp: func(c *dispatch.Config) { c.TouchInterval = time.Hour }})
	o := h.send("ev-1", "A")
	assert.Equal(t, dispatch.Delivered, o.Result)
	assert.Zero(t, h.touchCount("ev-1"))
}
