package deadletter_test

import (
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gentrack/gcis-bridge/bridge/deadletter"
)

func TestWriter_writes_contract_headers_and_body(t *testing.T) {
	e := newEnv(t)
	data := []byte("{\"eventId\":\"e1\"}\x00\xff raw bytes kept")
	orig := deadletter.Original{
		Subject: "gcis.events.acme.junifer.bill-accepted", Stream: "GCIS_EVENTS", Sequence: 42,
		Header: nats.Header{
			"Nats-Msg-Id":          {"e1"},
			"Nats-Expected-Stream": {"GCIS_EVENTS"},
			"nats-rollup":          {"sub"},
			"Traceparent":          {"00-1-2-01"},
			"X-Multi":              {"a", "b"},
			"Gcis-Dlq-Class":       {"bogus"},
			"gcis-dlq-reason":      {"stale"},
			"Gcis-Dlq-Http-Status": {"418"},
			"Gcis-Original-Stream": {"OTHER"},
			"Gcis-Replayed-From":   {"7"},
		},
		Data: data,
	}
	info := deadletter.Info{
		Class: deadletter.ClassRejected, Reason: "FIELD_CUSTOM_VALIDATION_EXCEPTION:\r\n Account is closed\nsee rule",
		ErrorCode: "FIELD_CUSTOM_VALIDATION_EXCEPTION", HTTPStatus: 400, Attempts: 3, Connector: "acme-prod",
	}
	seq, err := e.w.Write(testCtx(t), orig, info)
	require.NoError(t, err)

	m, err := e.dlq.GetMsg(testCtx(t), seq)
	require.NoError(t, err)
	assert.Equal(t, "gcis.dlq.acme.junifer.bill-accepted", m.Subject)
	assert.Equal(t, data, m.Data, "body byte for byte")
	want := nats.Header{
		"Nats-Msg-Id":            {"dlq-GCIS_EVENTS-42"},
		"Nats-Expected-Stream":   {"GCIS_DLQ"}, // the publish expects the DLQ stream; the server keeps it
		"Traceparent":            {"00-1-2-01"},
		"X-Multi":                {"a", "b"},
		"Gcis-Replayed-From":     {"7"},
		"Gcis-Dlq-Class":         {"rejected"},
		"Gcis-Dlq-Reason":        {"FIELD_CUSTOM_VALIDATION_EXCEPTION: Account is closed see rule"},
		"Gcis-Dlq-Error-Code":    {"FIELD_CUSTOM_VALIDATION_EXCEPTION"},
		"Gcis-Dlq-Http-Status":   {"400"},
		"Gcis-Dlq-Attempts":      {"3"},
		"Gcis-Dlq-Connector":     {"acme-prod"},
		"Gcis-Original-Subject":  {"gcis.events.acme.junifer.bill-accepted"},
		"Gcis-Original-Stream":   {"GCIS_EVENTS"},
		"Gcis-Original-Sequence": {"42"},
		"Gcis-Dlq-Time":          {"2025-03-03T22:15:22Z"},
	}
	assert.Equal(t, want, m.Header)
	assert.Equal(t, []string{"00-1-2-01"}, orig.Header["Traceparent"], "original header untouched")
	assert.Len(t, orig.Header, 10, "original header map not modified")
}

func TestWriter_omits_optional_headers(t *testing.T) {
	e := newEnv(t)
	seq, err := e.w.Write(testCtx(t), deadletter.Original{Subject: "gcis.events.t.velocity.x", Stream: "GCIS_EVENTS", Sequence: 1, Data: []byte("x")},
		deadletter.Info{Class: deadletter.ClassInvalid, Reason: "not JSON"})
	require.NoError(t, err)
	m, err := e.dlq.GetMsg(testCtx(t), seq)
	require.NoError(t, err)
	for _, h := range []string{deadletter.HeaderErrorCode, deadletter.HeaderHTTPStatus, deadletter.HeaderConnector} {
		assert.NotContains(t, m.Header, h)
	}
	assert.Equal(t, "0", m.Header.Get(deadletter.HeaderAttempts))
	assert.Equal(t, "not JSON", m.Header.Get(deadletter.HeaderReason))
}

func TestWriter_redelivered_failure_is_not_stored_twice(t *testing.T) {
	e := newEnv(t)
	orig := deadletter.Original{Subject: "gcis.events.t.junifer.bill-accepted", Stream: "GCIS_EVENTS", Sequence: 9, Data: []byte(`{}`)}
	first, err := e.w.Write(testCtx(t), orig, deadletter.Info{Class: deadletter.ClassExhausted, Attempts: 10})
	require.NoError(t, err)
	again, err := e.w.Write(testCtx(t), orig, deadletter.Info{Class: deadletter.ClassExhausted, Attempts: 11})
	require.NoError(t, err)
	assert.Equal(t, first, again)
	assert.EqualValues(t, 1, dlqCount(t, e))

	orig.Sequence = 10 // another event: stored
	_, err = e.w.Write(testCtx(t), orig, deadletter.Info{Class: deadletter.ClassExhausted})
	require.NoError(t, err)
	assert.EqualValues(t, 2, dlqCount(t, e))
}

func TestWriter_rejects_bad_input(t *testing.T) {
	e := newEnv(t)
	tests := []struct {
		name string
		o    deadletter.Original
		info deadletter.Info
	}{
		{"unknown class", deadletter.Original{Subject: "gcis.events.a.b.c", Stream: "S", Sequence: 1}, deadletter.Info{Class: "nope"}},
		{"no stream", deadletter.Original{Subject: "gcis.events.a.b.c", Sequence: 1}, deadletter.Info{Class: deadletter.ClassInvalid}},
		{"no sequence", deadletter.Original{Subject: "gcis.events.a.b.c", Stream: "S"}, deadletter.Info{Class: deadletter.ClassInvalid}},
		{"no subject", deadletter.Original{Stream: "S", Sequence: 1}, deadletter.Info{Class: deadletter.ClassInvalid}},
		{"subject with CRLF", deadletter.Original{Subject: "gcis.events.a\r\nX-Evil: 1", Stream: "S", Sequence: 1}, deadletter.Info{Class: deadletter.ClassInvalid}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := e.w.Write(testCtx(t), tt.o, tt.info)
			require.Error(t, err)
		})
	}
	assert.EqualValues(t, 0, dlqCount(t, e))
}

func TestWriter_fails_when_stream_missing(t *testing.T) {
	e := newEnv(t)
	w, err := deadletter.NewWriter(e.js, deadletter.WriterConfig{Stream: "NOPE"})
	require.NoError(t, err)
	_, err = w.Write(testCtx(t), deadletter.Original{Subject: "gcis.events.a.b.c", Stream: "GCIS_EVENTS", Sequence: 1}, deadletter.Info{Class: deadletter.ClassInvalid})
	require.Error(t, err, "publish must expect the configured stream")
	assert.EqualValues(t, 0, dlqCount(t, e))
}

func TestDLQSubject(t *testing.T) {
	tests := []struct {
		name, original, want string
	}{
		{"full", "gcis.events.acme.velocity.bill-accepted", "gcis.dlq.acme.velocity.bill-accepted"},
		{"missing type", "gcis.events.acme.velocity", "gcis.dlq.acme.velocity._"},
		{"missing source and type", "gcis.events.acme", "gcis.dlq.acme._._"},
		{"prefix only", "gcis.events", "gcis.dlq._._._"},
		{"other prefix", "billing.acme.velocity.x", "gcis.dlq._._._"},
		{"extra tokens ignored", "gcis.events.a.b.c.d.e", "gcis.dlq.a.b.c"},
		{"empty", "", "gcis.dlq._._._"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, deadletter.DLQSubject("gcis.dlq", "gcis.events", tt.original))
		})
	}
}

func TestFoldReason(t *testing.T) {
	long := strings.Repeat("é", 700) // 1400 bytes
	tests := []struct {
		name, in, want string
	}{
		{"plain", "Account is closed", "Account is closed"},
		{"crlf folded", "line one\r\nline two\n\nthree\r", "line one line two three"},
		{"tabs and spaces collapsed", " a\t\tb  c ", "a b c"},
		{"invalid utf8 replaced", "bad \xff byte", "bad \uFFFD byte"},
		{"empty", "", ""},
		{"cut on rune boundary", long, strings.Repeat("é", 510) + "…"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := deadletter.FoldReason(tt.in)
			assert.Equal(t, tt.want, got)
			assert.LessOrEqual(t, len(got), deadletter.MaxReasonBytes)
		})
	}
}

func FuzzFoldReason(f *testing.F) {
	for _, s := range []string{"", "a\r\nb", strings.Repeat("x\n", 900), "\xff\xfe", "é\u2028z"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got := deadletter.FoldReason(s)
		if len(got) > deadletter.MaxReasonBytes {
			t.Fatalf("len %d > max", len(got))
		}
		if strings.ContainsAny(got, "\r\n\x00") {
			t.Fatalf("control characters in %q", got)
		}
		if !strings.HasPrefix(got, strings.TrimSpace(got)) || got != strings.TrimSpace(got) {
			t.Fatalf("not trimmed: %q", got)
		}
		if deadletter.FoldReason(got) != got {
			t.Fatalf("not idempotent: %q", got)
		}
	})
}

func TestEnsureStream(t *testing.T) {
	e := newEnv(t)
	ctx := testCtx(t)
	cfg := deadletter.StreamConfig("DLQ2", "other.dlq", 0)
	assert.Equal(t, jetstream.FileStorage, cfg.Storage)
	assert.Equal(t, jetstream.LimitsPolicy, cfg.Retention)
	assert.Equal(t, 30*24*time.Hour, cfg.MaxAge)
	assert.Equal(t, time.Hour, cfg.Duplicates)
	assert.Equal(t, 1, cfg.Replicas)

	created, err := deadletter.EnsureStream(ctx, e.js, cfg)
	require.NoError(t, err)
	assert.True(t, created)

	changed := cfg
	changed.MaxAge = time.Hour
	created, err = deadletter.EnsureStream(ctx, e.js, changed)
	require.NoError(t, err)
	assert.False(t, created)
	st, err := e.js.Stream(ctx, "DLQ2")
	require.NoError(t, err)
	assert.Equal(t, 30*24*time.Hour, st.CachedInfo().Config.MaxAge, "an existing stream is never changed")
	assert.Equal(t, []string{"other.dlq.>"}, st.CachedInfo().Config.Subjects)
}
