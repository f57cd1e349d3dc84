package deadletter_test

import (
	"context"
	"slices"
	"strconv"
	"sync/atomic"
	"testing"

	"github.com/nats-io/nats.go"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"

	"github.com/gentrack/gcis-bridge/bridge/deadletter"
)

func TestReplay_republishes_exactly(t *testing.T) {
	e := newEnv(t)
	orig := deadletter.Original{
		Subject: "gcis.events.acme.junifer.bill-accepted", Stream: "GCIS_EVENTS", Sequence: 77,
		Header: nats.Header{"Nats-Msg-Id": {"ev-77"}, "Traceparent": {"00-1-2-01"}, "X-Multi": {"a", "b"}},
		Data:   []byte(`{"eventId":"ev-77","data":{"x":1}}`),
	}
	seq, err := e.w.Write(testCtx(t), orig, deadletter.Info{Class: deadletter.ClassExhausted, Reason: "timeout", HTTPStatus: 503, Attempts: 10, Connector: "acme"})
	require.NoError(t, err)

	res, err := e.store.Replay(testCtx(t), deadletter.Filter{}, deadletter.ReplayOptions{Actor: "test"})
	require.NoError(t, err)
	assert.Equal(t, deadletter.ReplayResult{Matched: 1, Replayed: 1}, res)

	msgs := e.eventMsgs(t)
	require.Len(t, msgs, 1)
	m := msgs[0]
	assert.Equal(t, orig.Subject, m.Subject)
	assert.Equal(t, orig.Data, m.Data)
	assert.Equal(t, nats.Header{
		"Nats-Msg-Id":          {"ev-77-replay-" + strconv.FormatUint(seq, 10)},
		"Nats-Expected-Stream": {"GCIS_EVENTS"},
		"Gcis-Replayed-From":   {strconv.FormatUint(seq, 10)},
		"Traceparent":          {"00-1-2-01"},
		"X-Multi":              {"a", "b"},
	}, m.Header)
	assert.EqualValues(t, 0, dlqCount(t, e), "dead letter removed after the ack")
}

func TestReplay_msg_id_without_readable_eventId(t *testing.T) {
	tests := []struct {
		name, body, want string
	}{
		{"not JSON", "garbage", "replay-1"},
		{"no eventId", `{"eventType":"x"}`, "replay-1"},
		{"eventId not a string", `{"eventId":42}`, "replay-1"},
		{"eventId empty", `{"eventId":""}`, "replay-1"},
		{"eventId with space", `{"eventId":"a b"}`, "replay-1"},
		{"eventId with newline", `{"eventId":"a\nb"}`, "replay-1"},
		{"uuid", `{"eventId":"0b9d3a1c-7f7e-4d55-9a43-1f0a6cdd1e2f"}`, "0b9d3a1c-7f7e-4d55-9a43-1f0a6cdd1e2f-replay-1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			_, err := e.w.Write(testCtx(t), deadletter.Original{Subject: "gcis.events.a.junifer.x", Stream: "GCIS_EVENTS", Sequence: 1, Data: []byte(tt.body)},
				deadletter.Info{Class: deadletter.ClassInvalid})
			require.NoError(t, err)
			res, err := e.store.Replay(testCtx(t), deadletter.Filter{Class: []deadletter.Class{deadletter.ClassInvalid}}, deadletter.ReplayOptions{})
			require.NoError(t, err)
			require.Equal(t, 1, res.Replayed)
			msgs := e.eventMsgs(t)
			require.Len(t, msgs, 1)
			assert.Equal(t, tt.want, msgs[0].Header.Get("Nats-Msg-Id"))
			assert.Equal(t, tt.body, string(msgs[0].Data))
		})
	}
}

func TestReplay_filtered_subset_leaves_the_rest(t *testing.T) {
	e := newEnv(t)
	e.add(t, fixture...)
	var each []uint64
	res, err := e.store.Replay(testCtx(t), deadletter.Filter{Tenant: "acme", Class: []deadletter.Class{deadletter.ClassRejected}},
		deadletter.ReplayOptions{Each: func(d *deadletter.DeadLetter, err error) {
			assert.NoError(t, err)
			each = append(each, d.Sequence)
		}})
	require.NoError(t, err)
	assert.Equal(t, deadletter.ReplayResult{Matched: 2, Replayed: 2}, res)
	slices.Sort(each) // removals run concurrently
	assert.Equal(t, []uint64{1, 10}, each)
	assert.Equal(t, []uint64{2, 3, 4, 5, 6, 7, 8, 9}, e.seqsOf(t, deadletter.Filter{}))
	msgs := e.eventMsgs(t)
	require.Len(t, msgs, 2)
	assert.Equal(t, "ev-1-replay-1", msgs[0].Header.Get("Nats-Msg-Id"))
	assert.Equal(t, "ev-10-replay-10", msgs[1].Header.Get("Nats-Msg-Id"))
}

func TestReplay_invalid_and_unsupported_only_when_named(t *testing.T) {
	tests := []struct {
		name     string
		f        deadletter.Filter
		replayed []uint64
		skipped  int
	}{
		{"no class: skipped", deadletter.Filter{}, []uint64{1, 2, 3, 5, 7, 8, 9, 10}, 2},
		{"tenant beta: unsupported skipped", deadletter.Filter{Tenant: "beta"}, []uint64{5, 7}, 1},
		{"invalid named", deadletter.Filter{Class: []deadletter.Class{deadletter.ClassInvalid}}, []uint64{4}, 0},
		{"unsupported named", deadletter.Filter{Class: []deadletter.Class{deadletter.ClassUnsupported}}, []uint64{6}, 0},
		{"both named with another", deadletter.Filter{Class: []deadletter.Class{deadletter.ClassInvalid, deadletter.ClassUnsupported, deadletter.ClassUnmapped}}, []uint64{3, 4, 6}, 0},
		{"limit counts replayable only", deadletter.Filter{SeqFrom: 3, Limit: 3}, []uint64{3, 5, 7}, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			all := e.add(t, fixture...)
			var got []uint64
			res, err := e.store.Replay(testCtx(t), tt.f, deadletter.ReplayOptions{Each: func(d *deadletter.DeadLetter, err error) {
				require.NoError(t, err)
				got = append(got, d.Sequence)
			}})
			require.NoError(t, err)
			slices.Sort(got) // removals run concurrently
			assert.Equal(t, tt.replayed, got)
			assert.Equal(t, len(tt.replayed), res.Replayed)
			assert.Equal(t, tt.skipped, res.Skipped)
			var left []uint64
			for _, s := range all {
				if !contains(tt.replayed, s) {
					left = append(left, s)
				}
			}
			assert.Equal(t, left, e.seqsOf(t, deadletter.Filter{}))
			assert.Len(t, e.eventMsgs(t), len(tt.replayed))
		})
	}
}

func TestReplay_dry_run_changes_nothing(t *testing.T) {
	e := newEnv(t)
	e.add(t, fixture...)
	var got []uint64
	var lastDone, lastTotal int
	res, err := e.store.Replay(testCtx(t), deadletter.Filter{Source: "junifer"}, deadletter.ReplayOptions{
		DryRun:   true,
		Each:     func(d *deadletter.DeadLetter, _ error) { got = append(got, d.Sequence) },
		Progress: func(done, total int) { lastDone, lastTotal = done, total },
	})
	require.NoError(t, err)
	assert.Equal(t, []uint64{1, 2, 5, 7, 8, 10}, got)
	assert.Equal(t, deadletter.ReplayResult{Matched: 6, Skipped: 1}, res)
	assert.Equal(t, 6, lastDone)
	assert.Equal(t, 6, lastTotal)
	assert.EqualValues(t, 10, dlqCount(t, e))
	assert.Empty(t, e.eventMsgs(t))
}

func TestReplay_confirm_sees_total_and_can_abort(t *testing.T) {
	e := newEnv(t)
	e.add(t, fixture...)
	var asked int
	_, err := e.store.Replay(testCtx(t), deadletter.Filter{}, deadletter.ReplayOptions{Limit: 5, Confirm: func(n int) bool { asked = n; return false }})
	assert.ErrorIs(t, err, deadletter.ErrAborted)
	assert.Equal(t, 5, asked)
	assert.EqualValues(t, 10, dlqCount(t, e))
	assert.Empty(t, e.eventMsgs(t))
}

func TestReplay_failures_stay_in_the_dlq(t *testing.T) {
	e := newEnv(t)
	e.add(t, fixture[0])
	// A dead letter without an original subject, and one whose original
	// subject is outside the expected events stream.
	_, err := e.js.PublishMsg(testCtx(t), &nats.Msg{Subject: "gcis.dlq.x.y.z", Header: nats.Header{"Gcis-Dlq-Class": {"rejected"}}, Data: []byte("{}")})
	require.NoError(t, err)
	_, err = e.js.PublishMsg(testCtx(t), &nats.Msg{Subject: "gcis.dlq.x.y.z", Header: nats.Header{
		"Gcis-Dlq-Class": {"rejected"}, "Gcis-Original-Subject": {"gcis.dlq.loop"}, "Gcis-Original-Stream": {"GCIS_EVENTS"},
	}, Data: []byte("{}")})
	require.NoError(t, err)

	res, err := e.store.Replay(testCtx(t), deadletter.Filter{}, deadletter.ReplayOptions{})
	require.NoError(t, err)
	assert.Equal(t, 3, res.Matched)
	assert.Equal(t, 1, res.Replayed)
	assert.Equal(t, 2, res.Failed)
	require.Len(t, res.Errors, 2)
	var re *deadletter.ReplayError
	require.ErrorAs(t, res.Errors[0], &re)
	assert.Equal(t, uint64(2), re.Sequence)
	assert.Equal(t, []uint64{2, 3}, e.seqsOf(t, deadletter.Filter{}))
	assert.Len(t, e.eventMsgs(t), 1)
}

func TestReplay_interrupted_by_cancel_then_rerun(t *testing.T) {
	e := newEnv(t)
	const n = 1000 // well beyond the replay window, so the cancel lands mid-way
	specs := make([]spec, n)
	for i := range specs {
		specs[i] = spec{"t" + strconv.Itoa(i%7), "junifer", "bill-accepted", deadletter.ClassExhausted, ""}
	}
	e.add(t, specs...)

	ctx, cancel := context.WithCancel(testCtx(t))
	defer cancel()
	res, err := e.store.Replay(ctx, deadletter.Filter{}, deadletter.ReplayOptions{
		Progress: func(done, _ int) {
			if done == 50 {
				cancel()
			}
		},
	})
	require.ErrorIs(t, err, context.Canceled)
	require.Less(t, res.Replayed, n, "cancelled before the end")
	require.GreaterOrEqual(t, res.Replayed, 50)

	res2, err := e.store.Replay(testCtx(t), deadletter.Filter{}, deadletter.ReplayOptions{})
	require.NoError(t, err)
	assert.Equal(t, n, res.Replayed+res2.Replayed, "every dead letter replayed once over both runs")
	assertReplayedOnce(t, e, n)
}

func TestReplay_crash_between_publish_and_delete_then_rerun(t *testing.T) {
	e := newEnv(t)
	const n = 200
	specs := make([]spec, n)
	for i := range specs {
		specs[i] = spec{"acme", "velocity", "payment-received", deadletter.ClassRejected, "X"}
	}
	e.add(t, specs...)

	var published atomic.Int64
	deadletter.SetAfterPublish(e.store, func(uint64) bool { return published.Add(1) <= 120 })
	_, err := e.store.Replay(testCtx(t), deadletter.Filter{}, deadletter.ReplayOptions{})
	require.Error(t, err, "the simulated crash ends the run")
	left := dlqCount(t, e)
	require.EqualValues(t, n-120, left, "the 121st was published but not removed")
	require.Greater(t, len(e.eventMsgs(t)), 120, "published beyond the last removal")

	deadletter.SetAfterPublish(e.store, nil)
	res, err := e.store.Replay(testCtx(t), deadletter.Filter{}, deadletter.ReplayOptions{})
	require.NoError(t, err)
	assert.EqualValues(t, left, res.Replayed)
	assert.Positive(t, res.Duplicates, "republished ones were recognised as duplicates")
	assertReplayedOnce(t, e, n)
}

// assertReplayedOnce checks that the DLQ is empty and the events stream
// holds exactly one message per original event (ev-1..ev-n).
func assertReplayedOnce(t *testing.T, e *env, n int) {
	t.Helper()
	assert.EqualValues(t, 0, dlqCount(t, e), "nothing left in the DLQ")
	msgs := e.eventMsgs(t)
	assert.Len(t, msgs, n, "no duplicates in the events stream")
	seen := map[string]bool{}
	for _, m := range msgs {
		id := m.Header.Get("Nats-Msg-Id")
		assert.False(t, seen[id], "duplicate %s", id)
		seen[id] = true
	}
	for i := 1; i <= n; i++ {
		assert.True(t, seen["ev-"+strconv.Itoa(i)+"-replay-"+strconv.Itoa(i)], "ev-%d lost", i)
	}
}

func TestReplay_audit_log(t *testing.T) {
	e := newEnv(t)
	e.add(t, fixture...)
	core, logs := observer.New(zap.InfoLevel)
	s, err := deadletter.NewStore(e.js, deadletter.StoreConfig{Logger: zap.New(core)})
	require.NoError(t, err)
	_, err = s.Replay(testCtx(t), deadletter.Filter{Tenant: "gamma"}, deadletter.ReplayOptions{Actor: "alice", Rate: 1000})
	require.NoError(t, err)
	_, err = s.Purge(testCtx(t), deadletter.Filter{Tenant: "beta"}, deadletter.PurgeOptions{Actor: "bob"})
	require.NoError(t, err)

	replays := logs.FilterMessage("Dead-letter replay").AllUntimed()
	require.Len(t, replays, 1)
	f := replays[0].ContextMap()
	assert.Equal(t, "alice", f["actor"])
	assert.Equal(t, "gamma", f["filter_tenant"])
	assert.EqualValues(t, 2, f["replayed"])
	assert.EqualValues(t, 0, f["failed"])
	purges := logs.FilterMessage("Dead-letter purge").AllUntimed()
	require.Len(t, purges, 1)
	assert.Equal(t, "bob", purges[0].ContextMap()["actor"])
	assert.EqualValues(t, 3, purges[0].ContextMap()["purged"])
}

func TestReplay_rejects_bad_options(t *testing.T) {
	e := newEnv(t)
	var fe *deadletter.FieldError
	_, err := e.store.Replay(testCtx(t), deadletter.Filter{}, deadletter.ReplayOptions{Rate: -1})
	require.ErrorAs(t, err, &fe)
	assert.Equal(t, "rate", fe.Field)
	_, err = e.store.Replay(testCtx(t), deadletter.Filter{Class: []deadletter.Class{"x"}}, deadletter.ReplayOptions{})
	require.ErrorAs(t, err, &fe)
	assert.Equal(t, "class", fe.Field)
}

func contains(s []uint64, v uint64) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}
