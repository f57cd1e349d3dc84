package deadletter_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/stretchr/testify/require"

	"github.com/gentrack/gcis-bridge/bridge/deadletter"
	"github.com/gentrack/gcis-bridge/bridge/embednats"
)

// env is an embedded JetStream with both contract streams.
type env struct {
	js     jetstream.JetStream
	dlq    jetstream.Stream
	events jetstream.Stream
	w      *deadletter.Writer
	store  *deadletter.Store
	nextOS uint64 // next original sequence handed out by add
}

var fixedNow = time.Date(2025, 3, 4, 9, 15, 22, 0, time.FixedZone("AEDT", 11*3600))

func newEnv(tb testing.TB) *env {
	tb.Helper()
	return newEnvAt(tb, embednats.StartTest(tb).URL())
}

// newEnvAt sets up the streams on the server at url.
func newEnvAt(tb testing.TB, url string) *env {
	tb.Helper()
	nc, err := nats.Connect(url)
	require.NoError(tb, err)
	tb.Cleanup(nc.Close)
	js, err := jetstream.New(nc)
	require.NoError(tb, err)
	ctx := testCtx(tb)
	_, err = deadletter.EnsureStream(ctx, js, deadletter.StreamConfig("", "", 1))
	require.NoError(tb, err)
	_, err = deadletter.EnsureStream(ctx, js, jetstream.StreamConfig{
		Name: "GCIS_EVENTS", Subjects: []string{"gcis.events.>"}, Storage: jetstream.FileStorage,
		MaxAge: 7 * 24 * time.Hour, Duplicates: 2 * time.Minute,
	})
	require.NoError(tb, err)
	e := &env{js: js, nextOS: 1}
	e.dlq, err = js.Stream(ctx, "GCIS_DLQ")
	require.NoError(tb, err)
	e.events, err = js.Stream(ctx, "GCIS_EVENTS")
	require.NoError(tb, err)
	e.w, err = deadletter.NewWriter(js, deadletter.WriterConfig{Now: func() time.Time { return fixedNow }})
	require.NoError(tb, err)
	e.store, err = deadletter.NewStore(js, deadletter.StoreConfig{IdleTimeout: 500 * time.Millisecond})
	require.NoError(tb, err)
	return e
}

func testCtx(tb testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	tb.Cleanup(cancel)
	return ctx
}

// spec is one dead letter to seed.
type spec struct {
	tenant, source, typ string
	class               deadletter.Class
	code                string
}

// body returns an event envelope with eventId ev-<n>.
func body(n uint64, s spec) []byte {
	return fmt.Appendf(nil, `{"eventId":"ev-%d","eventType":%q,"source":%q,"tenantId":%q,"data":{"n":%d}}`,
		n, s.typ, s.source, s.tenant, n)
}

// add writes dead letters for specs and returns their DLQ sequences.
func (e *env) add(tb testing.TB, specs ...spec) []uint64 {
	tb.Helper()
	seqs := make([]uint64, 0, len(specs))
	for _, s := range specs {
		os := e.nextOS
		e.nextOS++
		h := nats.Header{"Traceparent": {"00-abc-def-01"}, "Nats-Msg-Id": {fmt.Sprintf("ev-%d", os)}}
		seq, err := e.w.Write(testCtx(tb), deadletter.Original{
			Subject: "gcis.events." + s.tenant + "." + s.source + "." + s.typ,
			Stream:  "GCIS_EVENTS", Sequence: os, Header: h, Data: body(os, s),
		}, deadletter.Info{Class: s.class, ErrorCode: s.code, Reason: "because " + string(s.class), Attempts: 1, Connector: "c-" + s.tenant})
		require.NoError(tb, err)
		seqs = append(seqs, seq)
	}
	return seqs
}

// seqsOf lists the sequences Store.List returns for f.
func (e *env) seqsOf(tb testing.TB, f deadletter.Filter) []uint64 {
	tb.Helper()
	var got []uint64
	require.NoError(tb, e.store.List(testCtx(tb), f, func(d *deadletter.DeadLetter) error {
		got = append(got, d.Sequence)
		return nil
	}))
	return got
}

// eventMsgs returns every message of the events stream (bounded count).
func (e *env) eventMsgs(tb testing.TB) []*jetstream.RawStreamMsg {
	tb.Helper()
	ctx := testCtx(tb)
	info, err := e.events.Info(ctx)
	require.NoError(tb, err)
	var out []*jetstream.RawStreamMsg
	for seq := info.State.FirstSeq; seq <= info.State.LastSeq && info.State.Msgs > 0; seq++ {
		m, err := e.events.GetMsg(ctx, seq)
		if err != nil {
			continue
		}
		out = append(out, m)
	}
	return out
}

func dlqCount(tb testing.TB, e *env) uint64 {
	tb.Helper()
	info, err := e.dlq.Info(testCtx(tb))
	require.NoError(tb, err)
	return info.State.Msgs
}
