package admin_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"

	"github.com/gentrack/gcis-bridge/bridge/admin"
	"github.com/gentrack/gcis-bridge/bridge/deadletter"
	"github.com/gentrack/gcis-bridge/bridge/embednats"
)

// dlAPI is the dead-letter API over real HTTP and an embedded JetStream
// holding 6 dead letters: acme ×4 (seq 1–4), beta ×2 (seq 5–6).
type dlAPI struct {
	srv    *httptest.Server
	js     jetstream.JetStream
	events jetstream.Stream
	logs   *observer.ObservedLogs
}

func newDLAPI(t *testing.T) *dlAPI {
	t.Helper()
	_, nc := embednats.ConnectTest(t)
	js, err := jetstream.New(nc)
	require.NoError(t, err)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	_, err = deadletter.EnsureStream(ctx, js, deadletter.StreamConfig("", "", 1))
	require.NoError(t, err)
	_, err = deadletter.EnsureStream(ctx, js, jetstream.StreamConfig{Name: "GCIS_EVENTS", Subjects: []string{"gcis.events.>"}, Duplicates: 2 * time.Minute})
	require.NoError(t, err)
	w, err := deadletter.NewWriter(js, deadletter.WriterConfig{})
	require.NoError(t, err)
	seed := []struct {
		tenant string
		class  deadletter.Class
		code   string
	}{
		{"acme", deadletter.ClassRejected, "FIELD_CUSTOM_VALIDATION_EXCEPTION"},
		{"acme", deadletter.ClassExhausted, ""},
		{"acme", deadletter.ClassInvalid, ""},
		{"acme", deadletter.ClassRejected, "REQUIRED_FIELD_MISSING"},
		{"beta", deadletter.ClassUnmapped, ""},
		{"beta", deadletter.ClassRejected, "FIELD_CUSTOM_VALIDATION_EXCEPTION"},
	}
	for i, s := range seed {
		_, err := w.Write(ctx, deadletter.Original{
			Subject: "gcis.events." + s.tenant + ".junifer.bill-accepted", Stream: "GCIS_EVENTS", Sequence: uint64(i + 1),
			Header: nats.Header{"Traceparent": {"00-x-y-01"}},
			Data:   fmt.Appendf(nil, `{"eventId":"ev-%d","data":{}}`, i+1),
		}, deadletter.Info{Class: s.class, ErrorCode: s.code, Reason: "r", Attempts: 1})
		require.NoError(t, err)
	}
	core, logs := observer.New(zap.InfoLevel)
	store, err := deadletter.NewStore(js, deadletter.StoreConfig{Logger: zap.New(core)})
	require.NoError(t, err)
	mux := http.NewServeMux()
	(&admin.DeadLetterAPI{Store: store, Logger: zap.New(core)}).Routes(mux)
	// Stand-in for the server's auth middleware: it names the caller.
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mux.ServeHTTP(w, r.WithContext(admin.WithCaller(r.Context(), "api:test-client")))
	})
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	events, err := js.Stream(ctx, "GCIS_EVENTS")
	require.NoError(t, err)
	return &dlAPI{srv: srv, js: js, events: events, logs: logs}
}

func (a *dlAPI) do(t *testing.T, method, path, body string, out any) int {
	t.Helper()
	req, err := http.NewRequest(method, a.srv.URL+path, strings.NewReader(body))
	require.NoError(t, err)
	resp, err := a.srv.Client().Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	assert.Equal(t, "application/json", resp.Header.Get("Content-Type"))
	if out != nil {
		require.NoError(t, json.Unmarshal(raw, out), "body: %s", raw)
	}
	return resp.StatusCode
}

type listResp struct {
	DeadLetters []deadletter.View `json:"dead_letters"`
	NextSeq     uint64            `json:"next_seq"`
}

type errResp struct {
	Error struct {
		Code    string            `json:"code"`
		Message string            `json:"message"`
		Fields  map[string]string `json:"fields"`
	} `json:"error"`
}

func seqs(vs []deadletter.View) []uint64 {
	out := []uint64{}
	for _, v := range vs {
		out = append(out, v.Sequence)
	}
	return out
}

func TestDeadLetterAPI_list_filters(t *testing.T) {
	a := newDLAPI(t)
	tests := []struct {
		name  string
		query string
		want  []uint64
		next  uint64
	}{
		{"all", "", []uint64{1, 2, 3, 4, 5, 6}, 0},
		{"tenant", "?tenant=beta", []uint64{5, 6}, 0},
		{"class comma list", "?class=rejected,unmapped", []uint64{1, 4, 5, 6}, 0},
		{"class repeated", "?class=exhausted&class=invalid", []uint64{2, 3}, 0},
		{"error code", "?error_code=FIELD_CUSTOM_VALIDATION_EXCEPTION", []uint64{1, 6}, 0},
		{"seq", "?seq=2-4", []uint64{2, 3, 4}, 0},
		{"since", "?since=1h", []uint64{1, 2, 3, 4, 5, 6}, 0},
		{"until in the past", "?until=1h", []uint64{}, 0},
		{"page", "?limit=2", []uint64{1, 2}, 3},
		{"next page", "?limit=2&from_seq=3", []uint64{3, 4}, 5},
		{"filtered page", "?class=rejected&limit=2", []uint64{1, 4}, 6},
		{"last page", "?limit=2&from_seq=5", []uint64{5, 6}, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got listResp
			require.Equal(t, http.StatusOK, a.do(t, "GET", "/api/v1/dead-letters"+tt.query, "", &got))
			assert.Equal(t, tt.want, seqs(got.DeadLetters))
			assert.Equal(t, tt.next, got.NextSeq)
		})
	}
}

func TestDeadLetterAPI_list_bodies_only_on_request(t *testing.T) {
	a := newDLAPI(t)
	var got listResp
	require.Equal(t, http.StatusOK, a.do(t, "GET", "/api/v1/dead-letters?seq=1", "", &got))
	require.Len(t, got.DeadLetters, 1)
	v := got.DeadLetters[0]
	assert.Equal(t, "acme", v.Tenant)
	assert.Equal(t, deadletter.ClassRejected, v.Class)
	assert.Equal(t, "gcis.events.acme.junifer.bill-accepted", v.OriginalSubject)
	assert.Empty(t, v.Body)
	assert.Empty(t, v.Headers)

	require.Equal(t, http.StatusOK, a.do(t, "GET", "/api/v1/dead-letters?seq=1&include_body=true", "", &got))
	assert.JSONEq(t, `{"eventId":"ev-1","data":{}}`, string(got.DeadLetters[0].Body))
	assert.Equal(t, []string{"00-x-y-01"}, got.DeadLetters[0].Headers["Traceparent"])
}

func TestDeadLetterAPI_bad_filters_are_400_naming_the_field(t *testing.T) {
	a := newDLAPI(t)
	tests := []struct {
		name, method, path, body, field string
	}{
		{"class", "GET", "/api/v1/dead-letters?class=bogus", "", "class"},
		{"since", "GET", "/api/v1/dead-letters?since=yesterday", "", "since"},
		{"until", "GET", "/api/v1/dead-letters?until=x", "", "until"},
		{"seq", "GET", "/api/v1/dead-letters?seq=9-1", "", "seq"},
		{"tenant", "GET", "/api/v1/dead-letters?tenant=a.b", "", "tenant"},
		{"limit", "GET", "/api/v1/dead-letters?limit=0", "", "limit"},
		{"limit too big", "GET", "/api/v1/dead-letters?limit=5000", "", "limit"},
		{"limit with bodies", "GET", "/api/v1/dead-letters?limit=500&include_body=true", "", "limit"},
		{"from_seq", "GET", "/api/v1/dead-letters?from_seq=x", "", "from_seq"},
		{"unknown parameter", "GET", "/api/v1/dead-letters?clas=rejected", "", "clas"},
		{"stats class", "GET", "/api/v1/dead-letters/stats?class=nope", "", "class"},
		{"show seq", "GET", "/api/v1/dead-letters/abc", "", "seq"},
		{"replay class", "POST", "/api/v1/dead-letters/replay", `{"class":"rejected,nope"}`, "class"},
		{"replay class type", "POST", "/api/v1/dead-letters/replay", `{"class":42}`, "class"},
		{"replay since", "POST", "/api/v1/dead-letters/replay", `{"since":"whenever"}`, "since"},
		{"replay unknown field", "POST", "/api/v1/dead-letters/replay", `{"tenant":"acme","clas":"rejected"}`, "clas"},
		{"replay limit type", "POST", "/api/v1/dead-letters/replay", `{"limit":"ten"}`, "limit"},
		{"replay rate", "POST", "/api/v1/dead-letters/replay", `{"rate":-5}`, "rate"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var e errResp
			require.Equal(t, http.StatusBadRequest, a.do(t, tt.method, tt.path, tt.body, &e))
			assert.Equal(t, "invalid_request", e.Error.Code)
			assert.Contains(t, e.Error.Fields, tt.field, "message: %s", e.Error.Message)
		})
	}
	n, err := a.events.Info(context.Background())
	require.NoError(t, err)
	assert.Zero(t, n.State.Msgs, "no bad request replayed anything")
}

func TestDeadLetterAPI_get_and_stats(t *testing.T) {
	a := newDLAPI(t)
	var v deadletter.View
	require.Equal(t, http.StatusOK, a.do(t, "GET", "/api/v1/dead-letters/4", "", &v))
	assert.Equal(t, uint64(4), v.Sequence)
	assert.Equal(t, "REQUIRED_FIELD_MISSING", v.ErrorCode)
	assert.Equal(t, "ev-4", v.EventID)
	assert.JSONEq(t, `{"eventId":"ev-4","data":{}}`, string(v.Body))

	var e errResp
	require.Equal(t, http.StatusNotFound, a.do(t, "GET", "/api/v1/dead-letters/99", "", &e))
	assert.Equal(t, "not_found", e.Error.Code)

	var st deadletter.Stats
	require.Equal(t, http.StatusOK, a.do(t, "GET", "/api/v1/dead-letters/stats?tenant=acme", "", &st))
	assert.Equal(t, 4, st.Total)
	assert.Equal(t, []deadletter.StatsRow{
		{Tenant: "acme", Class: deadletter.ClassInvalid, Count: 1},
		{Tenant: "acme", Class: deadletter.ClassRejected, ErrorCode: "FIELD_CUSTOM_VALIDATION_EXCEPTION", Count: 1},
		{Tenant: "acme", Class: deadletter.ClassRejected, ErrorCode: "REQUIRED_FIELD_MISSING", Count: 1},
		{Tenant: "acme", Class: deadletter.ClassExhausted, Count: 1},
	}, st.Rows)
}

type replayResp struct {
	Matched     int               `json:"matched"`
	Replayed    int               `json:"replayed"`
	Failed      int               `json:"failed"`
	Skipped     int               `json:"skipped"`
	DryRun      bool              `json:"dry_run"`
	Errors      []json.RawMessage `json:"errors"`
	DeadLetters []deadletter.View `json:"dead_letters"`
}

func TestDeadLetterAPI_replay(t *testing.T) {
	a := newDLAPI(t)

	var dry replayResp
	require.Equal(t, http.StatusOK, a.do(t, "POST", "/api/v1/dead-letters/replay", `{"tenant":"acme","dry_run":true}`, &dry))
	assert.True(t, dry.DryRun)
	assert.Equal(t, 3, dry.Matched)
	assert.Equal(t, 1, dry.Skipped, "invalid is not replayed unless named")
	assert.Equal(t, []uint64{1, 2, 4}, seqs(dry.DeadLetters))
	info, err := a.events.Info(context.Background())
	require.NoError(t, err)
	assert.Zero(t, info.State.Msgs)

	var res replayResp
	require.Equal(t, http.StatusOK, a.do(t, "POST", "/api/v1/dead-letters/replay", `{"class":["rejected"],"error_code":"FIELD_CUSTOM_VALIDATION_EXCEPTION","rate":500}`, &res))
	assert.Equal(t, 2, res.Replayed)
	assert.Zero(t, res.Failed)
	assert.Empty(t, res.Errors)
	info, err = a.events.Info(context.Background())
	require.NoError(t, err)
	assert.EqualValues(t, 2, info.State.Msgs)

	var left listResp
	require.Equal(t, http.StatusOK, a.do(t, "GET", "/api/v1/dead-letters", "", &left))
	assert.Equal(t, []uint64{2, 3, 4, 5}, seqs(left.DeadLetters))

	audit := a.logs.FilterMessage("Dead-letter replay").AllUntimed()
	require.Len(t, audit, 2)
	assert.Equal(t, "api:test-client", audit[1].ContextMap()["actor"])
	assert.Equal(t, true, audit[0].ContextMap()["dry_run"])

	require.Equal(t, http.StatusOK, a.do(t, "POST", "/api/v1/dead-letters/replay", `{"limit":1}`, &res))
	assert.Equal(t, 1, res.Replayed)
	require.Equal(t, http.StatusOK, a.do(t, "GET", "/api/v1/dead-letters", "", &left))
	assert.Equal(t, []uint64{3, 4, 5}, seqs(left.DeadLetters))
}

func TestCaller(t *testing.T) {
	ctx := context.Background()
	assert.Empty(t, admin.CallerFrom(ctx))
	assert.Equal(t, "api:10.0.0.1", admin.CallerFrom(admin.WithCaller(ctx, "api:10.0.0.1")))
}
