package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/spf13/cobra"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gentrack/gcis-bridge/bridge/deadletter"
	"github.com/gentrack/gcis-bridge/bridge/embednats"
)

// dlqRun is the outcome of one command line.
type dlqRun struct {
	code        int
	out, errOut string
	err         error
}

// runDLQ runs `gcis-bridge dlq args...` under a throwaway root that maps
// errors to exit codes as main does: usage errors (ours and cobra's flag
// errors) 2, others 1.
func runDLQ(t *testing.T, deps dlqDeps, stdin string, args ...string) dlqRun {
	t.Helper()
	root := &cobra.Command{Use: "gcis-bridge", SilenceUsage: true, SilenceErrors: true}
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return usageError{err} })
	root.AddCommand(newDLQCmdWith(deps))
	var out, errOut bytes.Buffer
	root.SetArgs(append([]string{"dlq"}, args...))
	root.SetOut(&out)
	root.SetErr(&errOut)
	root.SetIn(strings.NewReader(stdin))
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	err := root.ExecuteContext(ctx)
	r := dlqRun{out: out.String(), errOut: errOut.String(), err: err}
	var ue usageError
	switch {
	case err == nil:
	case errors.As(err, &ue):
		r.code = 2
	default:
		r.code = 1
	}
	return r
}

func testDeps() dlqDeps {
	return dlqDeps{
		stdinTerminal:  func() bool { return false },
		stderrTerminal: func() bool { return false },
		now:            func() time.Time { return time.Date(2025, 3, 4, 12, 0, 0, 0, time.UTC) },
		actor:          func() string { return "cli:tester@host" },
	}
}

// dlqEnv is an embedded JetStream with both streams and seeded dead letters.
type dlqEnv struct {
	url    string
	js     jetstream.JetStream
	events jetstream.Stream
}

type seedDL struct {
	tenant, source, typ string
	class               deadletter.Class
	code                string
}

var seedSet = []seedDL{
	{"acme", "junifer", "bill-accepted", deadletter.ClassRejected, "FIELD_CUSTOM_VALIDATION_EXCEPTION"}, // 1
	{"acme", "junifer", "bill-accepted", deadletter.ClassExhausted, ""},                                 // 2
	{"acme", "velocity", "payment-received", deadletter.ClassInvalid, ""},                               // 3
	{"beta", "junifer", "bill-accepted", deadletter.ClassRejected, "REQUIRED_FIELD_MISSING"},            // 4
	{"beta", "velocity", "account-created", deadletter.ClassUnmapped, ""},                               // 5
}

func newDLQEnv(t *testing.T, seed []seedDL) *dlqEnv {
	t.Helper()
	s, nc := embednats.ConnectTest(t)
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
	for i, d := range seed {
		n := i + 1
		_, err := w.Write(ctx, deadletter.Original{
			Subject: "gcis.events." + d.tenant + "." + d.source + "." + d.typ, Stream: "GCIS_EVENTS", Sequence: uint64(n),
			Header: nats.Header{"Traceparent": {"00-aa-bb-01"}},
			Data:   fmt.Appendf(nil, `{"eventId":"ev-%d","tenantId":%q,"data":{"amount":%d}}`, n, d.tenant, n*10),
		}, deadletter.Info{Class: d.class, ErrorCode: d.code, Reason: fmt.Sprintf("reason %d\nsecond line", n), Attempts: n, HTTPStatus: 400})
		require.NoError(t, err)
	}
	e := &dlqEnv{url: s.URL(), js: js}
	e.events, err = js.Stream(ctx, "GCIS_EVENTS")
	require.NoError(t, err)
	return e
}

func (e *dlqEnv) run(t *testing.T, args ...string) dlqRun {
	t.Helper()
	return runDLQ(t, testDeps(), "", append([]string{"--nats", e.url}, args...)...)
}

func (e *dlqEnv) eventCount(t *testing.T) uint64 {
	t.Helper()
	info, err := e.events.Info(context.Background())
	require.NoError(t, err)
	return info.State.Msgs
}

func (e *dlqEnv) dlqCount(t *testing.T) uint64 {
	t.Helper()
	st, err := e.js.Stream(context.Background(), "GCIS_DLQ")
	require.NoError(t, err)
	return st.CachedInfo().State.Msgs
}

func TestDLQ_usage_errors_exit_2_and_name_the_flag(t *testing.T) {
	// An unreachable server: usage errors must be found before connecting.
	const nowhere = "nats://127.0.0.1:1"
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"unknown class", []string{"list", "--class", "rejected,bogus"}, "--class"},
		{"unknown class repeated flag", []string{"replay", "--class", "rejected", "--class", "nope"}, "--class"},
		{"bad since", []string{"list", "--since", "yesterday"}, "--since"},
		{"bad until", []string{"stats", "--until", "2025-13-01"}, "--until"},
		{"until before since", []string{"list", "--since", "1h", "--until", "2h"}, "--until"},
		{"bad seq", []string{"list", "--seq", "abc"}, "--seq"},
		{"reversed seq", []string{"purge", "--seq", "20-10"}, "--seq"},
		{"bad tenant", []string{"list", "--tenant", "a.b"}, "--tenant"},
		{"bad type", []string{"list", "--type", "bill accepted"}, "--type"},
		{"bad rate", []string{"replay", "--rate", "fast"}, "--rate"},
		{"negative limit", []string{"replay", "--limit", "-1"}, "--limit"},
		{"list negative limit", []string{"list", "--limit", "-3"}, "--limit"},
		{"limit not a number", []string{"list", "--limit", "x"}, "--limit"},
		{"unknown flag", []string{"list", "--colour"}, "--colour"},
		{"show without seq", []string{"show"}, "exactly one"},
		{"show two seqs", []string{"show", "1", "2"}, "exactly one"},
		{"show bad seq", []string{"show", "abc"}, "SEQ"},
		{"show zero", []string{"show", "0"}, "SEQ"},
		{"purge without filter", []string{"purge"}, "--all"},
		{"purge all with filter", []string{"purge", "--all", "--tenant", "acme"}, "--all"},
		{"unknown subcommand", []string{"frob"}, "unknown command"},
		{"no subcommand", nil, "subcommand is required"},
		{"extra argument", []string{"list", "extra"}, "extra"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := runDLQ(t, testDeps(), "", append([]string{"--nats", nowhere}, tt.args...)...)
			require.Equal(t, 2, r.code, "err: %v", r.err)
			assert.Contains(t, r.err.Error(), tt.want)
			assert.Empty(t, r.out)
		})
	}
}

func TestDLQ_unreachable_nats_exits_1_with_clear_error(t *testing.T) {
	r := runDLQ(t, testDeps(), "", "--nats", "nats://127.0.0.1:1", "list")
	require.Equal(t, 1, r.code)
	assert.Contains(t, r.err.Error(), "cannot connect to NATS at nats://127.0.0.1:1")
}

func TestDLQ_missing_stream_exits_1(t *testing.T) {
	e := newDLQEnv(t, nil)
	r := e.run(t, "--dlq-stream", "NOPE", "stats")
	require.Equal(t, 1, r.code)
	assert.Contains(t, r.err.Error(), "dead-letter stream NOPE not found")
}

func TestDLQ_list(t *testing.T) {
	e := newDLQEnv(t, seedSet)
	r := e.run(t, "list")
	require.Equal(t, 0, r.code, "%v", r.err)
	lines := strings.Split(strings.TrimSpace(r.out), "\n")
	require.Len(t, lines, 6)
	assert.Equal(t, []string{"SEQ", "TIME", "TENANT", "SOURCE", "TYPE", "CLASS", "ERROR", "CODE", "REASON"}, strings.Fields(lines[0]))
	f := strings.Fields(lines[1])
	assert.Equal(t, []string{"1", "acme", "junifer", "bill-accepted", "rejected", "FIELD_CUSTOM_VALIDATION_EXCEPTION", "reason", "1", "second", "line"}, append(f[:1:1], f[2:]...))
	assert.Equal(t, "-", strings.Fields(lines[2])[6], "no error code")

	r = e.run(t, "list", "--tenant", "beta", "--class", "unmapped,rejected")
	require.Equal(t, 0, r.code, "%v", r.err)
	assert.Len(t, strings.Split(strings.TrimSpace(r.out), "\n"), 3)

	r = e.run(t, "list", "--error-code", "REQUIRED_FIELD_MISSING", "--json")
	require.Equal(t, 0, r.code, "%v", r.err)
	var v map[string]any
	require.NoError(t, json.Unmarshal([]byte(r.out), &v), "one JSON object: %s", r.out)
	assert.EqualValues(t, 4, v["seq"])
	assert.Equal(t, "beta", v["tenant"])
	assert.Equal(t, "reason 4 second line", v["reason"])
	assert.EqualValues(t, 40, v["body"].(map[string]any)["data"].(map[string]any)["amount"])

	r = e.run(t, "list", "--seq", "2-4", "--limit", "2", "--json")
	require.Equal(t, 0, r.code, "%v", r.err)
	lines = strings.Split(strings.TrimSpace(r.out), "\n")
	require.Len(t, lines, 2)
	assert.Contains(t, lines[0], `"seq":2`)
	assert.Contains(t, lines[1], `"seq":3`)

	r = e.run(t, "list", "--tenant", "nobody")
	require.Equal(t, 0, r.code)
	assert.Empty(t, r.out)
	assert.Contains(t, r.errOut, "no dead letters match")
}

func TestDLQ_stats(t *testing.T) {
	e := newDLQEnv(t, seedSet)
	r := e.run(t, "stats")
	require.Equal(t, 0, r.code, "%v", r.err)
	want := [][]string{
		{"TENANT", "CLASS", "ERROR", "CODE", "COUNT"},
		{"acme", "invalid", "-", "1"},
		{"acme", "rejected", "FIELD_CUSTOM_VALIDATION_EXCEPTION", "1"},
		{"acme", "exhausted", "-", "1"},
		{"beta", "unmapped", "-", "1"},
		{"beta", "rejected", "REQUIRED_FIELD_MISSING", "1"},
		{"TOTAL", "5"},
	}
	var got [][]string
	for _, l := range strings.Split(strings.TrimSpace(r.out), "\n") {
		got = append(got, strings.Fields(l))
	}
	assert.Equal(t, want, got)

	r = e.run(t, "stats", "--source", "junifer", "--json")
	require.Equal(t, 0, r.code, "%v", r.err)
	var st deadletter.Stats
	require.NoError(t, json.Unmarshal([]byte(r.out), &st))
	assert.Equal(t, 3, st.Total)
}

func TestDLQ_show(t *testing.T) {
	e := newDLQEnv(t, seedSet)
	r := e.run(t, "show", "4")
	require.Equal(t, 0, r.code, "%v", r.err)
	for _, want := range []string{
		"Sequence:  4\n", "Subject:   gcis.dlq.beta.junifer.bill-accepted\n", "Class:     rejected\n", "Reason:    reason 4 second line\n",
		"Gcis-Dlq-Class: rejected", "Gcis-Dlq-Error-Code: REQUIRED_FIELD_MISSING", "Gcis-Dlq-Http-Status: 400",
		"Gcis-Original-Subject: gcis.events.beta.junifer.bill-accepted", "Traceparent: 00-aa-bb-01",
		"Nats-Msg-Id: dlq-GCIS_EVENTS-4", "ev-4-replay-4",
		"{\n  \"eventId\": \"ev-4\",\n  \"tenantId\": \"beta\",\n  \"data\": {\n    \"amount\": 40\n  }\n}",
	} {
		assert.Contains(t, r.out, want)
	}

	r = e.run(t, "show", "2", "--json")
	require.Equal(t, 0, r.code, "%v", r.err)
	var v deadletter.View
	require.NoError(t, json.Unmarshal([]byte(r.out), &v))
	assert.Equal(t, uint64(2), v.Sequence)
	assert.Equal(t, deadletter.ClassExhausted, v.Class)
	assert.Equal(t, []string{"exhausted"}, v.Headers["Gcis-Dlq-Class"])

	r = e.run(t, "show", "99")
	require.Equal(t, 1, r.code)
	assert.Contains(t, r.err.Error(), "no dead letter 99")
}

func TestDLQ_replay(t *testing.T) {
	e := newDLQEnv(t, seedSet)
	r := e.run(t, "replay", "--dry-run")
	require.Equal(t, 0, r.code, "%v", r.err)
	assert.Len(t, strings.Split(strings.TrimSpace(r.out), "\n"), 5, "header + 4 replayable: %s", r.out)
	assert.NotContains(t, r.out, "invalid")
	assert.Contains(t, r.errOut, "dry run: 4 would be replayed, skipped 1 of class invalid/unsupported")
	assert.EqualValues(t, 0, e.eventCount(t))
	assert.EqualValues(t, 5, e.dlqCount(t))

	r = e.run(t, "replay", "--tenant", "acme", "--yes", "--rate", "1000/s")
	require.Equal(t, 0, r.code, "%v", r.err)
	assert.Contains(t, r.out, "replayed 2, failed 0, skipped 1")
	assert.EqualValues(t, 2, e.eventCount(t))
	assert.EqualValues(t, 3, e.dlqCount(t))
	assert.Contains(t, r.errOut, `"msg":"Dead-letter replay"`, "audit line")
	assert.Contains(t, r.errOut, `"actor":"cli:tester@host"`)

	r = e.run(t, "replay", "--class", "invalid", "--yes")
	require.Equal(t, 0, r.code, "%v", r.err)
	assert.Contains(t, r.out, "replayed 1, failed 0")
	assert.EqualValues(t, 2, e.dlqCount(t))
}

func TestDLQ_replay_asks_on_a_terminal(t *testing.T) {
	e := newDLQEnv(t, seedSet)
	deps := testDeps()
	deps.stdinTerminal = func() bool { return true }
	deps.stderrTerminal = func() bool { return true } // draws the progress bar too

	r := runDLQ(t, deps, "n\n", "--nats", e.url, "replay", "--tenant", "beta")
	require.Equal(t, 1, r.code)
	assert.Contains(t, r.errOut, "Replay 2 dead letters from GCIS_DLQ to their original subjects? [y/N]")
	assert.EqualValues(t, 0, e.eventCount(t))

	r = runDLQ(t, deps, "y\n", "--nats", e.url, "replay", "--tenant", "beta")
	require.Equal(t, 0, r.code, "%v", r.err)
	assert.Contains(t, r.out, "replayed 2, failed 0")
	assert.EqualValues(t, 2, e.eventCount(t))

	r = runDLQ(t, deps, "", "--nats", e.url, "replay", "--tenant", "acme", "--yes")
	require.Equal(t, 0, r.code, "%v", r.err)
	assert.NotContains(t, r.errOut, "[y/N]", "--yes does not ask")
}

func TestDLQ_replay_failures_exit_1_after_counts(t *testing.T) {
	e := newDLQEnv(t, seedSet[:1])
	// A dead letter whose original subject is outside the events stream.
	_, err := e.js.PublishMsg(context.Background(), &nats.Msg{Subject: "gcis.dlq.acme.junifer.x",
		Header: nats.Header{"Gcis-Dlq-Class": {"rejected"}, "Gcis-Original-Subject": {"elsewhere.x"}}, Data: []byte("{}")})
	require.NoError(t, err)
	r := e.run(t, "replay", "--yes")
	require.Equal(t, 1, r.code)
	assert.Contains(t, r.out, "replayed 1, failed 1")
	assert.Contains(t, r.errOut, "dead letter 2:")
	assert.Contains(t, r.err.Error(), "1 of 2 dead letters failed to replay")
}

func TestDLQ_purge(t *testing.T) {
	e := newDLQEnv(t, seedSet)
	r := e.run(t, "purge", "--class", "rejected", "--yes")
	require.Equal(t, 0, r.code, "%v", r.err)
	assert.Contains(t, r.out, "purged 2, failed 0")
	assert.EqualValues(t, 3, e.dlqCount(t))
	assert.Contains(t, r.errOut, `"msg":"Dead-letter purge"`)

	deps := testDeps()
	deps.stdinTerminal = func() bool { return true }
	r = runDLQ(t, deps, "no\n", "--nats", e.url, "purge", "--all")
	require.Equal(t, 1, r.code)
	assert.Contains(t, r.errOut, "Delete 3 dead letters from GCIS_DLQ?")
	assert.EqualValues(t, 3, e.dlqCount(t))

	r = e.run(t, "purge", "--all")
	require.Equal(t, 0, r.code, "%v", r.err)
	assert.Contains(t, r.out, "purged 3, failed 0")
	assert.EqualValues(t, 0, e.dlqCount(t))
}

func TestDLQ_settings_from_config_file(t *testing.T) {
	e := newDLQEnv(t, seedSet)
	dir := t.TempDir()
	cfg := filepath.Join(dir, "gcis.yaml")
	require.NoError(t, os.WriteFile(cfg, []byte(`
nats:
  url: ${DLQ_TEST_NATS_URL}
  creds_file: "${DLQ_TEST_CREDS:-}"
streams:
  dead_letter: { name: GCIS_DLQ }
delivery: { max_attempts: 3 }
`), 0o600))
	t.Setenv("DLQ_TEST_NATS_URL", e.url)
	r := runDLQ(t, testDeps(), "", "--config", cfg, "stats", "--json")
	require.Equal(t, 0, r.code, "%v", r.err)
	assert.Contains(t, r.out, `"total":5`)

	// --nats wins over the file.
	r = runDLQ(t, testDeps(), "", "--config", cfg, "--nats", "nats://127.0.0.1:1", "stats")
	require.Equal(t, 1, r.code)

	// An unset variable is an error naming the key.
	os.Unsetenv("DLQ_TEST_NATS_URL")
	r = runDLQ(t, testDeps(), "", "--config", cfg, "stats")
	require.Equal(t, 1, r.code)
	assert.Contains(t, r.err.Error(), "nats.url")
	assert.Contains(t, r.err.Error(), "DLQ_TEST_NATS_URL")
}

func TestParseRate(t *testing.T) {
	tests := []struct {
		in      string
		want    float64
		wantErr bool
	}{
		{"0", 0, false},
		{"200", 200, false},
		{"200/s", 200, false},
		{"600/m", 10, false},
		{"3600/h", 1, false},
		{"0.5/s", 0.5, false},
		{"-1", 0, true},
		{"fast", 0, true},
		{"NaN", 0, true},
		{"10/d", 0, true},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := parseRate(tt.in)
			if tt.wantErr {
				assert.Error(t, err)
				return
			}
			require.NoError(t, err)
			assert.InDelta(t, tt.want, got, 1e-9)
		})
	}
}

func TestRedactURL(t *testing.T) {
	assert.Equal(t, "nats://u:xxxxx@h:4222,nats://h2:4222", redactURL("nats://u:secret@h:4222,nats://h2:4222"))
	assert.Equal(t, "nats://h:4222", redactURL("nats://h:4222"))
}
