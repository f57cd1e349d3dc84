package deadletter_test

import (
	"context"
	"encoding/json"
	"errors"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gentrack/gcis-bridge/bridge/deadletter"
)

// fixture is the standard seed: 10 dead letters, sequences 1..10.
var fixture = []spec{
	{"acme", "junifer", "bill-accepted", deadletter.ClassRejected, "FIELD_CUSTOM_VALIDATION_EXCEPTION"},    // 1
	{"acme", "junifer", "bill-accepted", deadletter.ClassExhausted, ""},                                    // 2
	{"acme", "velocity", "payment-received", deadletter.ClassUnmapped, ""},                                 // 3
	{"acme", "junifer", "account-created", deadletter.ClassInvalid, ""},                                    // 4
	{"beta", "junifer", "bill-accepted", deadletter.ClassRejected, "REQUIRED_FIELD_MISSING"},               // 5
	{"beta", "velocity", "bill-accepted", deadletter.ClassUnsupported, ""},                                 // 6
	{"beta", "junifer", "payment-received", deadletter.ClassRejected, "FIELD_CUSTOM_VALIDATION_EXCEPTION"}, // 7
	{"gamma", "junifer", "bill-accepted", deadletter.ClassExhausted, ""},                                   // 8
	{"gamma", "velocity", "bill-accepted", deadletter.ClassRejected, "field_custom_validation_exception"},  // 9
	{"acme", "junifer", "bill-accepted", deadletter.ClassRejected, "FIELD_CUSTOM_VALIDATION_EXCEPTION"},    // 10
}

func TestStore_List_filters(t *testing.T) {
	e := newEnv(t)
	seqs := e.add(t, fixture...)
	require.Equal(t, []uint64{1, 2, 3, 4, 5, 6, 7, 8, 9, 10}, seqs)

	// Time bounds are checked against the stored times, whatever they are.
	d4, err := e.store.Get(testCtx(t), 4)
	require.NoError(t, err)
	d7, err := e.store.Get(testCtx(t), 7)
	require.NoError(t, err)
	var sinceD4, untilD7, between []uint64
	for _, s := range seqs {
		d, err := e.store.Get(testCtx(t), s)
		require.NoError(t, err)
		if !d.Time.Before(d4.Time) {
			sinceD4 = append(sinceD4, s)
		}
		if !d.Time.After(d7.Time) {
			untilD7 = append(untilD7, s)
		}
		if !d.Time.Before(d4.Time) && !d.Time.After(d7.Time) {
			between = append(between, s)
		}
	}

	tests := []struct {
		name string
		f    deadletter.Filter
		want []uint64
	}{
		{"all", deadletter.Filter{}, seqs},
		{"tenant", deadletter.Filter{Tenant: "beta"}, []uint64{5, 6, 7}},
		{"source", deadletter.Filter{Source: "velocity"}, []uint64{3, 6, 9}},
		{"type", deadletter.Filter{EventType: "bill-accepted"}, []uint64{1, 2, 5, 6, 8, 9, 10}},
		{"tenant+source+type", deadletter.Filter{Tenant: "acme", Source: "junifer", EventType: "bill-accepted"}, []uint64{1, 2, 10}},
		{"class", deadletter.Filter{Class: []deadletter.Class{deadletter.ClassExhausted}}, []uint64{2, 8}},
		{"classes", deadletter.Filter{Class: []deadletter.Class{deadletter.ClassInvalid, deadletter.ClassUnsupported}}, []uint64{4, 6}},
		{"error code any case", deadletter.Filter{ErrorCode: "field_custom_validation_exception"}, []uint64{1, 7, 9, 10}},
		{"tenant+class", deadletter.Filter{Tenant: "acme", Class: []deadletter.Class{deadletter.ClassRejected}}, []uint64{1, 10}},
		{"seq range", deadletter.Filter{SeqFrom: 3, SeqTo: 6}, []uint64{3, 4, 5, 6}},
		{"seq from", deadletter.Filter{SeqFrom: 8}, []uint64{8, 9, 10}},
		{"seq to", deadletter.Filter{SeqTo: 2}, []uint64{1, 2}},
		{"seq past end", deadletter.Filter{SeqFrom: 11}, nil},
		{"seq range + tenant", deadletter.Filter{Tenant: "gamma", SeqFrom: 1, SeqTo: 8}, []uint64{8}},
		{"since", deadletter.Filter{Since: d4.Time}, sinceD4},
		{"until", deadletter.Filter{Until: d7.Time}, untilD7},
		{"since+until", deadletter.Filter{Since: d4.Time, Until: d7.Time}, between},
		{"limit", deadletter.Filter{Limit: 3}, []uint64{1, 2, 3}},
		{"limit after filter", deadletter.Filter{Class: []deadletter.Class{deadletter.ClassRejected}, Limit: 2}, []uint64{1, 5}},
		{"no match", deadletter.Filter{Tenant: "nobody"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, e.seqsOf(t, tt.f))
			n, err := e.store.Count(testCtx(t), tt.f)
			require.NoError(t, err)
			assert.Equal(t, len(tt.want), n)
		})
	}
}

func TestStore_List_parses_fields_and_stops(t *testing.T) {
	e := newEnv(t)
	e.add(t, fixture[:3]...)
	var got []*deadletter.DeadLetter
	err := e.store.List(testCtx(t), deadletter.Filter{}, func(d *deadletter.DeadLetter) error {
		got = append(got, d)
		if len(got) == 2 {
			return deadletter.ErrStopped
		}
		return nil
	})
	require.NoError(t, err)
	require.Len(t, got, 2)
	d := got[0]
	assert.Equal(t, uint64(1), d.Sequence)
	assert.Equal(t, "gcis.dlq.acme.junifer.bill-accepted", d.Subject)
	assert.Equal(t, "acme", d.Tenant)
	assert.Equal(t, "junifer", d.Source)
	assert.Equal(t, "bill-accepted", d.EventType)
	assert.Equal(t, deadletter.ClassRejected, d.Class)
	assert.Equal(t, "FIELD_CUSTOM_VALIDATION_EXCEPTION", d.ErrorCode)
	assert.Equal(t, "because rejected", d.Reason)
	assert.Equal(t, 1, d.Attempts)
	assert.Equal(t, "c-acme", d.Connector)
	assert.Equal(t, "gcis.events.acme.junifer.bill-accepted", d.OriginalSubject)
	assert.Equal(t, "GCIS_EVENTS", d.OriginalStream)
	assert.Equal(t, uint64(1), d.OriginalSequence)
	assert.True(t, fixedNow.Equal(d.DeadLetteredAt))
	assert.False(t, d.Time.IsZero())
	assert.JSONEq(t, string(body(1, fixture[0])), string(d.Data))
	assert.Equal(t, "ev-1", d.EventID())

	boom := errors.New("boom")
	err = e.store.List(testCtx(t), deadletter.Filter{}, func(*deadletter.DeadLetter) error { return boom })
	assert.ErrorIs(t, err, boom)
}

func TestStore_empty_stream(t *testing.T) {
	e := newEnv(t)
	assert.Empty(t, e.seqsOf(t, deadletter.Filter{}))
	st, err := e.store.Stats(testCtx(t), deadletter.Filter{})
	require.NoError(t, err)
	assert.Zero(t, st.Total)
	res, err := e.store.Replay(testCtx(t), deadletter.Filter{}, deadletter.ReplayOptions{})
	require.NoError(t, err)
	assert.Zero(t, res.Matched)
}

func TestStore_missing_stream(t *testing.T) {
	e := newEnv(t)
	s, err := deadletter.NewStore(e.js, deadletter.StoreConfig{Stream: "NOPE"})
	require.NoError(t, err)
	err = s.List(testCtx(t), deadletter.Filter{}, func(*deadletter.DeadLetter) error { return nil })
	require.Error(t, err)
	assert.Contains(t, err.Error(), "NOPE")
}

func TestStore_List_skips_deleted_messages(t *testing.T) {
	e := newEnv(t)
	e.add(t, fixture...)
	require.NoError(t, e.dlq.DeleteMsg(testCtx(t), 10))
	require.NoError(t, e.dlq.DeleteMsg(testCtx(t), 5))
	assert.Equal(t, []uint64{1, 2, 3, 4, 6, 7, 8, 9}, e.seqsOf(t, deadletter.Filter{}))
	assert.Equal(t, []uint64{6, 7}, e.seqsOf(t, deadletter.Filter{Tenant: "beta"}))
}

func TestStore_Get(t *testing.T) {
	e := newEnv(t)
	e.add(t, fixture[:2]...)
	d, err := e.store.Get(testCtx(t), 2)
	require.NoError(t, err)
	assert.Equal(t, deadletter.ClassExhausted, d.Class)
	assert.Equal(t, "00-abc-def-01", d.Header.Get("Traceparent"))

	_, err = e.store.Get(testCtx(t), 99)
	assert.ErrorIs(t, err, deadletter.ErrNotFound)

	raw, err := json.Marshal(d)
	require.NoError(t, err)
	var v map[string]any
	require.NoError(t, json.Unmarshal(raw, &v))
	assert.Equal(t, "exhausted", v["class"])
	assert.Equal(t, "acme", v["tenant"])
	assert.Equal(t, "ev-2", v["event_id"])
	assert.Equal(t, map[string]any{"n": float64(2)}, v["body"].(map[string]any)["data"])
}

func TestStore_Stats(t *testing.T) {
	e := newEnv(t)
	e.add(t, fixture...)
	st, err := e.store.Stats(testCtx(t), deadletter.Filter{})
	require.NoError(t, err)
	assert.Equal(t, 10, st.Total)
	assert.Equal(t, []deadletter.StatsRow{
		{"acme", deadletter.ClassInvalid, "", 1},
		{"acme", deadletter.ClassUnmapped, "", 1},
		{"acme", deadletter.ClassRejected, "FIELD_CUSTOM_VALIDATION_EXCEPTION", 2},
		{"acme", deadletter.ClassExhausted, "", 1},
		{"beta", deadletter.ClassUnsupported, "", 1},
		{"beta", deadletter.ClassRejected, "FIELD_CUSTOM_VALIDATION_EXCEPTION", 1},
		{"beta", deadletter.ClassRejected, "REQUIRED_FIELD_MISSING", 1},
		{"gamma", deadletter.ClassRejected, "field_custom_validation_exception", 1},
		{"gamma", deadletter.ClassExhausted, "", 1},
	}, st.Rows)

	st, err = e.store.Stats(testCtx(t), deadletter.Filter{Source: "velocity"})
	require.NoError(t, err)
	assert.Equal(t, 3, st.Total)
	assert.Len(t, st.Rows, 3)
}

func TestStore_Purge(t *testing.T) {
	tests := []struct {
		name   string
		f      deadletter.Filter
		purged int
		left   []uint64
	}{
		{"by tenant (one request)", deadletter.Filter{Tenant: "acme"}, 5, []uint64{5, 6, 7, 8, 9}},
		{"by tenant and type", deadletter.Filter{Tenant: "beta", EventType: "bill-accepted"}, 2, []uint64{1, 2, 3, 4, 7, 8, 9, 10}},
		{"by class (one by one)", deadletter.Filter{Class: []deadletter.Class{deadletter.ClassRejected}}, 5, []uint64{2, 3, 4, 6, 8}},
		{"by seq range", deadletter.Filter{SeqFrom: 2, SeqTo: 4}, 3, []uint64{1, 5, 6, 7, 8, 9, 10}},
		{"all", deadletter.Filter{}, 10, nil},
		{"nothing", deadletter.Filter{Tenant: "nobody"}, 0, []uint64{1, 2, 3, 4, 5, 6, 7, 8, 9, 10}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			e.add(t, fixture...)
			res, err := e.store.Purge(testCtx(t), tt.f, deadletter.PurgeOptions{Actor: "test"})
			require.NoError(t, err)
			assert.Equal(t, tt.purged, res.Purged)
			assert.Equal(t, tt.purged, res.Matched)
			assert.Zero(t, res.Failed)
			assert.Equal(t, tt.left, e.seqsOf(t, deadletter.Filter{}))
		})
	}
}

func TestStore_Purge_confirm_declined(t *testing.T) {
	e := newEnv(t)
	e.add(t, fixture...)
	for _, f := range []deadletter.Filter{{}, {Class: []deadletter.Class{deadletter.ClassRejected}}} {
		var asked int
		_, err := e.store.Purge(testCtx(t), f, deadletter.PurgeOptions{Confirm: func(n int) bool { asked = n; return false }})
		assert.ErrorIs(t, err, deadletter.ErrAborted)
		assert.NotZero(t, asked)
	}
	assert.EqualValues(t, 10, dlqCount(t, e))
}

func TestStore_cancelled_context(t *testing.T) {
	e := newEnv(t)
	e.add(t, fixture...)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	err := e.store.List(ctx, deadletter.Filter{}, func(*deadletter.DeadLetter) error { return nil })
	assert.ErrorIs(t, err, context.Canceled)
}
