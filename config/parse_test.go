package config_test

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gentrack/gcis-bridge/config"
)

func envOf(m map[string]string) func(string) (string, bool) {
	return func(k string) (string, bool) {
		v, ok := m[k]
		return v, ok
	}
}

// parseErr parses doc and returns its validation error; the test fails if
// there is none.
func parseErr(t *testing.T, doc string, env map[string]string) *config.ValidationError {
	t.Helper()
	_, err := config.Parse("test.yaml", []byte(doc), envOf(env))
	var verr *config.ValidationError
	require.ErrorAs(t, err, &verr, "error: %v", err)
	return verr
}

const minimal = "admin:\n  token: " + testToken + "\n"

func TestParse_example_file(t *testing.T) {
	data, err := os.ReadFile("../deploy/config/gcis-bridge.example.yaml")
	require.NoError(t, err)
	env := map[string]string{
		"GCIS_ADMIN_TOKEN":        testToken,
		"ACME_SF_CONSUMER_KEY":    "3MVG9-key",
		"ACME_SF_CONSUMER_SECRET": "S3CR3T",
		"ACME_JUNIFER_APIKEY":     "junifer-key",
	}
	cfg, err := config.Parse("gcis-bridge.example.yaml", data, envOf(env))
	require.NoError(t, err)

	want := config.Default()
	want.Admin.Token = testToken
	want.Admin.AllowedHosts = []string{}
	want.Connectors = []config.Connector{{
		ID:             "acme-prod",
		Tenant:         "acme-energy",
		LoginURL:       "https://acme.my.salesforce.com",
		ConsumerKey:    "3MVG9-key",
		ConsumerSecret: "S3CR3T",
		EventEndpoint:  "gtx_bu/v2/event",
		GentrackAPI: config.GentrackAPI{
			JuniferURL: "https://junifer.acme.internal/rest/v1",
			Headers:    map[string]config.Secret{"X-Junifer-X-apikey": "junifer-key"},
		},
		Subscriptions: []string{"*"},
		StartFrom:     "all",
		Delivery:      &config.DeliveryOverride{MaxInFlight: ptr(8)},
	}}
	assert.Equal(t, want, cfg, "every value in the example is the default")
	assert.Equal(t, 8, cfg.Effective("acme-prod").MaxInFlight)
	assert.Equal(t, "S3CR3T", cfg.Connectors[0].ConsumerSecret.Reveal())
}

func TestParse_bad_example_reports_every_mistake(t *testing.T) {
	data, err := os.ReadFile("../deploy/config/bad.example.yaml")
	require.NoError(t, err)
	_, err = config.Parse("bad.example.yaml", data, envOf(nil))
	var verr *config.ValidationError
	require.ErrorAs(t, err, &verr)
	assert.Equal(t, []string{
		"nats.url",
		"streams.events.replicas",
		"delivery.batch_max_events",
		"delivery.batch_max_bytes",
		"delivery.linger",
		"delivery.max_inflight",
		"delivery.max_ack_pending",
		"delivery.backoff.jitter",
		"admin.token",
		"public.base_url",
		"metrics.listen",
		"log.level",
		"connectors[0].login_url",
		"connectors[0].consumer_secret",
		"connectors[0].subscriptions[0]",
		"connectors[0].start_from",
		"connectors[1].id",
		"connectors[1].consumer_secret",
		"connectors[1].tenant",
		"connectors[1].login_url",
		"connectors[1].event_endpoint",
		"connectors[1].delivery.max_in_flight",
	}, verr.Paths())
	lines := strings.Split(err.Error(), "\n")
	assert.Len(t, lines, len(verr.Problems), "one problem per line")
	assert.Contains(t, lines, `bad.example.yaml:17: delivery.max_inflight: unknown key (did you mean "max_in_flight"?)`)
	assert.Contains(t, lines, `bad.example.yaml:15: delivery.batch_max_bytes: unit "MB" in "10MB" is ambiguous: use MiB (1024 KiB)`)
	assert.Contains(t, lines, "bad.example.yaml:34: connectors[0].consumer_secret: environment variable BAD_EXAMPLE_UNSET_SECRET is not set (write ${BAD_EXAMPLE_UNSET_SECRET:-default} to give a default)")
	assert.Contains(t, lines, "bad.example.yaml:32: connectors[0].login_url: "+config.MsgMyDomain)
	assert.NotContains(t, err.Error(), "too-short", "the admin token is not echoed")
}

func TestParse_defaults_for_absent_keys(t *testing.T) {
	cfg, err := config.Parse("", []byte(minimal), nil)
	require.NoError(t, err)
	want := config.Default()
	want.Admin.Token = testToken
	assert.Equal(t, want, cfg)

	d := cfg.Delivery
	assert.Equal(t, 200, d.BatchMaxEvents)
	assert.Equal(t, 2*config.MiB, d.BatchMaxBytes)
	assert.Equal(t, 100*time.Millisecond, d.Linger.Std())
	assert.Equal(t, 4, d.MaxInFlight)
	assert.Equal(t, 30*time.Second, d.RequestTimeout.Std())
	assert.Equal(t, 10, d.MaxAttempts)
	assert.Equal(t, 5000, d.MaxAckPending)
	assert.Equal(t, 512*config.KiB, d.MaxEventBytes)
	assert.Equal(t, config.Backoff{Initial: config.Duration(time.Second), Max: config.Duration(5 * time.Minute), Multiplier: 2, Jitter: 0.2}, d.Backoff)
	assert.Equal(t, config.Breaker{Failures: 5, OpenFor: config.Duration(30 * time.Second)}, d.Breaker)
	assert.InDelta(t, 0.9, d.LimitSlowdownRatio, 0)
	assert.Equal(t, config.StreamConfig{Name: "GCIS_EVENTS", Subjects: []string{"gcis.events.>"}, Replicas: 1,
		MaxAge: config.Duration(7 * 24 * time.Hour), DuplicateWindow: config.Duration(2 * time.Minute)}, cfg.Streams.Events)
	assert.Equal(t, config.StreamConfig{Name: "GCIS_DLQ", Subjects: []string{"gcis.dlq.>"}, Replicas: 1,
		MaxAge: config.Duration(720 * time.Hour), DuplicateWindow: config.Duration(time.Hour)}, cfg.Streams.DeadLetter)
	assert.Equal(t, "127.0.0.1:8080", cfg.Admin.Listen)
	assert.Equal(t, "127.0.0.1:9090", cfg.Metrics.Listen)
	assert.Equal(t, config.Log{Level: "info", Format: "json"}, cfg.Log)
	assert.Equal(t, "nats://127.0.0.1:4222", cfg.NATS.URL)
}

func TestParse_connector_defaults_and_partial_sections(t *testing.T) {
	doc := minimal + `
nats: { url: "" }
streams:
  events: { replicas: 3 }
delivery:
  backoff: { jitter: 0 }
metrics:            # every child commented out: keeps the defaults
#  listen: 127.0.0.1:9999
connectors:
  - id: sim
    tenant: t1
    login_url: http://127.0.0.1:8081
    allow_insecure_http: true
    consumer_key: k
    consumer_secret: s
`
	cfg, err := config.Parse("", []byte(doc), nil)
	require.NoError(t, err)
	assert.Equal(t, "", cfg.NATS.URL, "explicit empty url: embedded server")
	assert.Equal(t, 3, cfg.Streams.Events.Replicas)
	assert.Equal(t, "GCIS_EVENTS", cfg.Streams.Events.Name, "other stream keys keep defaults")
	assert.InDelta(t, 0.0, cfg.Delivery.Backoff.Jitter, 0, "explicit zero kept")
	assert.Equal(t, config.Duration(time.Second), cfg.Delivery.Backoff.Initial)
	assert.Equal(t, "127.0.0.1:9090", cfg.Metrics.Listen)
	k := cfg.Connectors[0]
	assert.Equal(t, "gtx_bu/v2/event", k.EventEndpoint)
	assert.Equal(t, []string{"*"}, k.Subscriptions)
	assert.Equal(t, "all", k.StartFrom)
	assert.Nil(t, k.Delivery)
}

func TestParse_explicit_zero_is_validated_not_defaulted(t *testing.T) {
	verr := parseErr(t, minimal+"delivery:\n  max_in_flight: 0\n", nil)
	assert.Equal(t, []config.Problem{{Path: "delivery.max_in_flight", Message: "must be at least 1, got 0", Line: 4}}, verr.Problems)
}

func TestParse_env_expansion(t *testing.T) {
	tests := []struct {
		name string
		doc  string
		env  map[string]string
		get  func(c *config.Config) any
		want any
	}{
		{"plain", "log:\n  level: ${LVL}\n", map[string]string{"LVL": "debug"},
			func(c *config.Config) any { return c.Log.Level }, "debug"},
		{"default when unset", "log:\n  level: ${LVL:-warn}\n", nil,
			func(c *config.Config) any { return c.Log.Level }, "warn"},
		{"default when empty", "log:\n  level: ${LVL:-warn}\n", map[string]string{"LVL": ""},
			func(c *config.Config) any { return c.Log.Level }, "warn"},
		{"set wins over default", "log:\n  level: ${LVL:-warn}\n", map[string]string{"LVL": "error"},
			func(c *config.Config) any { return c.Log.Level }, "error"},
		{"empty default", "secrets:\n  key_file: ${KF:-}\n", nil,
			func(c *config.Config) any { return c.Secrets.KeyFile }, ""},
		{"inside a value", "nats:\n  url: nats://${HOST}:4222\n", map[string]string{"HOST": "nats-1"},
			func(c *config.Config) any { return c.NATS.URL }, "nats://nats-1:4222"},
		{"two references", "nats:\n  url: nats://${HOST}:${PORT:-4222}\n", map[string]string{"HOST": "h"},
			func(c *config.Config) any { return c.NATS.URL }, "nats://h:4222"},
		{"plain scalar retyped as int", "streams:\n  events:\n    replicas: ${R}\n", map[string]string{"R": "3"},
			func(c *config.Config) any { return c.Streams.Events.Replicas }, 3},
		{"plain scalar retyped as bool", "connectors:\n  - id: a\n    tenant: t\n    login_url: http://x\n    consumer_key: k\n    consumer_secret: s\n    allow_insecure_http: ${INSECURE:-true}\n", nil,
			func(c *config.Config) any { return c.Connectors[0].AllowInsecureHTTP }, true},
		{"size", "delivery:\n  batch_max_bytes: ${BMB:-1MiB}\n", nil,
			func(c *config.Config) any { return c.Delivery.BatchMaxBytes }, config.MiB},
		{"dollar escape", "secrets:\n  key_file: /keys/$$HOME/${N}\n", map[string]string{"N": "k"},
			func(c *config.Config) any { return c.Secrets.KeyFile }, "/keys/$HOME/k"},
		{"lone dollar kept", "secrets:\n  key_file: /a$b/c$\n", nil,
			func(c *config.Config) any { return c.Secrets.KeyFile }, "/a$b/c$"},
		{"value is not re-expanded", "secrets:\n  key_file: ${A}\n", map[string]string{"A": "${B}"},
			func(c *config.Config) any { return c.Secrets.KeyFile }, "${B}"},
		{"value with yaml syntax stays a string", "admin:\n  token: ${TOK}\n", map[string]string{"TOK": "*not-an-alias: #x [y] " + testToken},
			func(c *config.Config) any { return c.Admin.Token.Reveal() }, "*not-an-alias: #x [y] " + testToken},
		{"quoted value", "connectors:\n  - {id: a, tenant: t, login_url: 'https://a.my.salesforce.com', consumer_key: \"${K}\", consumer_secret: '${S}'}\n",
			map[string]string{"K": "123", "S": "true"},
			func(c *config.Config) any {
				return c.Connectors[0].ConsumerKey.Reveal() + "/" + c.Connectors[0].ConsumerSecret.Reveal()
			}, "123/true"},
		{"block scalar", "secrets:\n  key_file: |-\n    /x/${N}\n", map[string]string{"N": "y"},
			func(c *config.Config) any { return c.Secrets.KeyFile }, "/x/y"},
		{"comments not expanded", "# ${NOT_SET}\nlog:\n  level: info # ${ALSO_NOT_SET}\n", nil,
			func(c *config.Config) any { return c.Log.Level }, "info"},
		{"keys not expanded", "connectors:\n  - {id: a, tenant: t, login_url: 'https://a.my.salesforce.com', consumer_key: k, consumer_secret: s, gentrack_api: {headers: {'X-$$K': v}}}\n", nil,
			func(c *config.Config) any { return c.Connectors[0].GentrackAPI.Headers["X-$$K"].Reveal() }, "v"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := map[string]string{"T": testToken}
			for k, v := range tt.env {
				env[k] = v
			}
			doc := tt.doc
			if !strings.Contains(doc, "admin:") {
				doc = "admin:\n  token: ${T}\n" + doc
			}
			cfg, err := config.Parse("", []byte(doc), envOf(env))
			require.NoError(t, err)
			assert.Equal(t, tt.want, tt.get(cfg))
		})
	}
}

func TestParse_env_errors(t *testing.T) {
	tests := []struct {
		name string
		doc  string
		want []config.Problem
	}{
		{"unset", minimal + "log:\n  level: ${GCIS_LOG_LEVEL}\n",
			[]config.Problem{{Path: "log.level", Line: 4, Message: "environment variable GCIS_LOG_LEVEL is not set (write ${GCIS_LOG_LEVEL:-default} to give a default)"}}},
		{"two unset in one value", minimal + "nats:\n  url: nats://${H}:${P}\n",
			[]config.Problem{
				{Path: "nats.url", Line: 4, Message: "environment variable H is not set (write ${H:-default} to give a default)"},
				{Path: "nats.url", Line: 4, Message: "environment variable P is not set (write ${P:-default} to give a default)"},
			}},
		{"line inside block scalar", minimal + "secrets:\n  key_file: |-\n    a\n    ${KF}\n",
			[]config.Problem{{Path: "secrets.key_file", Line: 6, Message: "environment variable KF is not set (write ${KF:-default} to give a default)"}}},
		{"unterminated", minimal + "log:\n  level: ${LVL\n",
			[]config.Problem{{Path: "log.level", Line: 4, Message: `unterminated reference "${LVL": missing }`}}},
		{"bad name", minimal + "log:\n  level: ${1LVL}\n",
			[]config.Problem{{Path: "log.level", Line: 4, Message: "invalid reference ${1LVL}: write ${NAME} or ${NAME:-default} (NAME of letters, digits and _), or $$ for a literal $"}}},
		{"shell form without colon", minimal + "log:\n  level: ${LVL-info}\n",
			[]config.Problem{{Path: "log.level", Line: 4, Message: "invalid reference ${LVL-info}: write ${NAME} or ${NAME:-default} (NAME of letters, digits and _), or $$ for a literal $"}}},
		{"empty", minimal + "log:\n  level: ${}\n",
			[]config.Problem{{Path: "log.level", Line: 4, Message: "invalid reference ${}: write ${NAME} or ${NAME:-default} (NAME of letters, digits and _), or $$ for a literal $"}}},
		{"unset under unknown key is only the unknown key", minimal + "log:\n  lvl: ${NOPE}\n",
			[]config.Problem{{Path: "log.lvl", Line: 4, Message: `unknown key (did you mean "level"?)`}}},
		{"unset secret", "admin:\n  token: ${GCIS_ADMIN_TOKEN}\n",
			[]config.Problem{{Path: "admin.token", Line: 2, Message: "environment variable GCIS_ADMIN_TOKEN is not set (write ${GCIS_ADMIN_TOKEN:-default} to give a default)"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			verr := parseErr(t, tt.doc, nil)
			assert.Equal(t, tt.want, verr.Problems)
		})
	}
}

func TestParse_decode_errors_name_key_path_and_line(t *testing.T) {
	tests := []struct {
		name string
		doc  string
		want []config.Problem
	}{
		{"unknown top-level key", "verbose: true\n",
			[]config.Problem{{Path: "verbose", Line: 3, Message: "unknown key"}}},
		{"unknown nested key with suggestion", "delivery:\n  backoff:\n    jiter: 0.1\n",
			[]config.Problem{{Path: "delivery.backoff.jiter", Line: 5, Message: `unknown key (did you mean "jitter"?)`}}},
		{"unknown key in a connector", "connectors:\n  - id: a\n    tenant: t\n    login_url: https://a.my.salesforce.com\n    consumer_key: k\n    consumer_secret: s\n    loginurl: x\n",
			[]config.Problem{{Path: "connectors[0].loginurl", Line: 9, Message: `unknown key (did you mean "login_url"?)`}}},
		{"unknown key in an override", "connectors:\n  - {id: a, tenant: t, login_url: 'https://a.my.salesforce.com', consumer_key: k, consumer_secret: s, delivery: {breaker: {fails: 2}}}\n",
			[]config.Problem{{Path: "connectors[0].delivery.breaker.fails", Line: 4, Message: "unknown key"}}},
		{"duplicate key", "log:\n  level: info\n  level: debug\n",
			[]config.Problem{{Path: "log.level", Line: 5, Message: "duplicate key (first at line 4)"}}},
		{"not a number", "delivery:\n  max_in_flight: four\n",
			[]config.Problem{{Path: "delivery.max_in_flight", Line: 4, Message: `must be a whole number, got "four"`}}},
		{"quoted number", "delivery:\n  max_in_flight: \"4\"\n",
			[]config.Problem{{Path: "delivery.max_in_flight", Line: 4, Message: `must be a whole number, got "4"`}}},
		{"float for int", "delivery:\n  max_attempts: 2.5\n",
			[]config.Problem{{Path: "delivery.max_attempts", Line: 4, Message: `must be a whole number, got "2.5"`}}},
		{"not a float", "delivery:\n  limit_slowdown_ratio: most\n",
			[]config.Problem{{Path: "delivery.limit_slowdown_ratio", Line: 4, Message: `must be a number, got "most"`}}},
		{"not a bool", "connectors:\n  - {id: a, tenant: t, login_url: 'https://a.my.salesforce.com', consumer_key: k, consumer_secret: s, allow_insecure_http: maybe}\n",
			[]config.Problem{{Path: "connectors[0].allow_insecure_http", Line: 4, Message: `must be true or false, got "maybe"`}}},
		{"duration without unit", "delivery:\n  linger: 100\n",
			[]config.Problem{{Path: "delivery.linger", Line: 4, Message: `duration "100" needs a unit, e.g. 100s or 100ms`}}},
		{"bad duration", "delivery:\n  backoff: {max: soon}\n",
			[]config.Problem{{Path: "delivery.backoff.max", Line: 4, Message: `must be a duration such as 100ms, 30s or 5m, got "soon"`}}},
		{"days are not Go syntax", "streams:\n  events: {max_age: 7d}\n",
			[]config.Problem{{Path: "streams.events.max_age", Line: 4, Message: `must be a duration such as 100ms, 30s or 5m, got "7d"`}}},
		{"decimal size unit", "delivery:\n  batch_max_bytes: 2MB\n",
			[]config.Problem{{Path: "delivery.batch_max_bytes", Line: 4, Message: `unit "MB" in "2MB" is ambiguous: use MiB (1024 KiB)`}}},
		{"scalar for list", "connectors:\n  - {id: a, tenant: t, login_url: 'https://a.my.salesforce.com', consumer_key: k, consumer_secret: s, subscriptions: '*'}\n",
			[]config.Problem{{Path: "connectors[0].subscriptions", Line: 4, Message: "must be a list, not a scalar"}}},
		{"list for section", "log: [info]\n",
			[]config.Problem{{Path: "log", Line: 3, Message: "must be a mapping, not a list"}}},
		{"mapping for string", "log:\n  level: {a: b}\n",
			[]config.Problem{{Path: "log.level", Line: 4, Message: "must be a string, not a mapping"}}},
		{"null list is empty", "connectors:\n  - {id: a, tenant: t, login_url: 'https://a.my.salesforce.com', consumer_key: k, consumer_secret: s, subscriptions: }\n",
			[]config.Problem{{Path: "connectors[0].subscriptions", Line: 4, Message: `must list at least one subscription ("*" for every event)`}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			verr := parseErr(t, minimal+tt.doc, nil)
			assert.Equal(t, tt.want, verr.Problems)
		})
	}
}

func TestParse_missing_key_reported_at_section_line(t *testing.T) {
	doc := "log:\n  level: info\nconnectors:\n  - id: a\n    tenant: t\n    login_url: https://a.my.salesforce.com\n    consumer_key: k\n"
	verr := parseErr(t, doc, nil)
	assert.Equal(t, []config.Problem{
		{Path: "admin.token", Message: "required"},
		{Path: "connectors[0].consumer_secret", Line: 4, Message: "required"},
	}, verr.Problems)
	assert.Equal(t, "test.yaml: admin.token: required\ntest.yaml:4: connectors[0].consumer_secret: required", verr.Error())
}

func TestParse_anchors_and_merge_keys(t *testing.T) {
	doc := minimal + `
connectors:
  - &base
    id: one
    tenant: t1
    login_url: https://one.my.salesforce.com
    consumer_key: k
    consumer_secret: s
    subscriptions: &subs ["velocity.*"]
  - <<: *base
    id: two
    tenant: t2
    subscriptions: *subs
`
	cfg, err := config.Parse("", []byte(doc), nil)
	require.NoError(t, err)
	require.Len(t, cfg.Connectors, 2)
	assert.Equal(t, "two", cfg.Connectors[1].ID)
	assert.Equal(t, "t2", cfg.Connectors[1].Tenant)
	assert.Equal(t, "https://one.my.salesforce.com", cfg.Connectors[1].LoginURL)
	assert.Equal(t, []string{"velocity.*"}, cfg.Connectors[1].Subscriptions)
}

func TestParse_alias_expands_reference_once(t *testing.T) {
	doc := minimal + "secrets:\n  key_file: &kf /k/$$X\nnats:\n  creds_file: *kf\n"
	cfg, err := config.Parse("", []byte(doc), nil)
	require.NoError(t, err)
	assert.Equal(t, "/k/$X", cfg.Secrets.KeyFile)
	assert.Equal(t, "/k/$X", cfg.NATS.CredsFile)
}

func TestParse_not_yaml_or_several_documents(t *testing.T) {
	_, err := config.Parse("c.yaml", []byte("a: [1\n"), nil)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "c.yaml: yaml: line")

	_, err = config.Parse("c.yaml", []byte(minimal+"---\nlog: {}\n"), nil)
	require.EqualError(t, err, "c.yaml: line 3: a configuration file holds one YAML document, found a second")

	verr := parseErr(t, "just a string\n", nil)
	assert.Equal(t, []config.Problem{{Line: 1, Message: "must be a mapping, not a scalar"}}, verr.Problems)
}

func TestParse_empty_document_needs_token(t *testing.T) {
	verr := parseErr(t, "", nil)
	assert.Equal(t, []config.Problem{{Path: "admin.token", Message: "required"}}, verr.Problems)
}

func TestParse_nil_env_is_empty_environment(t *testing.T) {
	t.Setenv("GCIS_TEST_SHOULD_NOT_BE_SEEN", "x")
	_, err := config.Parse("", []byte(minimal+"secrets: {key_file: '${GCIS_TEST_SHOULD_NOT_BE_SEEN}'}\n"), nil)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "GCIS_TEST_SHOULD_NOT_BE_SEEN is not set")
}

func TestLoad(t *testing.T) {
	dir := t.TempDir()
	keyFile := filepath.Join(dir, "key")
	require.NoError(t, os.WriteFile(keyFile, []byte("k"), 0o600))
	t.Setenv("GCIS_TEST_KEY_FILE", keyFile)
	t.Setenv("GCIS_TEST_ADMIN_TOKEN", testToken)

	good := filepath.Join(dir, "good.yaml")
	require.NoError(t, os.WriteFile(good, []byte("secrets: {key_file: '${GCIS_TEST_KEY_FILE}'}\nadmin: {token: '${GCIS_TEST_ADMIN_TOKEN}'}\n"), 0o600))
	cfg, err := config.Load(good)
	require.NoError(t, err)
	assert.Equal(t, keyFile, cfg.Secrets.KeyFile)
	assert.Equal(t, testToken, cfg.Admin.Token.Reveal())

	missing := filepath.Join(dir, "missing.yaml")
	doc := "secrets: {key_file: " + filepath.Join(dir, "nokey") + "}\nadmin: {token: '${GCIS_TEST_ADMIN_TOKEN}'}\nlog: {level: x}\n" +
		"connectors:\n  - {id: a, tenant: t, login_url: 'https://a.my.salesforce.com', consumer_key: k, consumer_secret: s, mappings_file: " + filepath.Join(dir, "nomap.yaml") + "}\n"
	require.NoError(t, os.WriteFile(missing, []byte(doc), 0o600))
	_, err = config.Load(missing)
	var verr *config.ValidationError
	require.ErrorAs(t, err, &verr)
	assert.Equal(t, []string{"secrets.key_file", "log.level", "connectors[0].mappings_file"}, verr.Paths())
	assert.Equal(t, missing, verr.Source)
	assert.Contains(t, err.Error(), `secrets.key_file: file "`+filepath.Join(dir, "nokey")+`" does not exist`)

	_, err = config.Load(filepath.Join(dir, "nope.yaml"))
	require.ErrorIs(t, err, os.ErrNotExist)
}

func TestParse_merge_chains_are_not_exponential(t *testing.T) {
	var b strings.Builder
	b.WriteString(minimal + "x0: &a0 {level: debug}\n")
	for i := 1; i < 40; i++ {
		b.WriteString("x" + strconv.Itoa(i) + ": &a" + strconv.Itoa(i) + " {<<: [*a" + strconv.Itoa(i-1) + ", *a" + strconv.Itoa(i-1) + "]}\n")
	}
	b.WriteString("log:\n  <<: *a39\n")
	cfg, err := config.Parse("", []byte(b.String()), nil)
	var verr *config.ValidationError
	require.ErrorAs(t, err, &verr)
	assert.Len(t, verr.Problems, 40, "only the 40 unknown x keys")
	assert.Equal(t, "debug", cfg.Log.Level, "merged through 39 levels")
}

func TestParse_alias_fan_out_is_bounded(t *testing.T) {
	var b strings.Builder
	b.WriteString(minimal + "x: &s [")
	for i := 0; i < 500; i++ {
		b.WriteString("'*',")
	}
	b.WriteString("]\nconnectors:\n  - &k {id: a, tenant: t, login_url: 'https://a.my.salesforce.com', consumer_key: k, consumer_secret: s, subscriptions: *s}\n")
	for i := 0; i < 500; i++ {
		b.WriteString("  - *k\n")
	}
	_, err := config.Parse("", []byte(b.String()), nil)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "document too large: more than 200000 values (aliases included)")
}

func BenchmarkParse_example(b *testing.B) {
	data, err := os.ReadFile("../deploy/config/gcis-bridge.example.yaml")
	require.NoError(b, err)
	env := envOf(map[string]string{"GCIS_ADMIN_TOKEN": testToken, "ACME_SF_CONSUMER_KEY": "k", "ACME_SF_CONSUMER_SECRET": "s"})
	for b.Loop() {
		if _, err := config.Parse("example.yaml", data, env); err != nil {
			b.Fatal(err)
		}
	}
}
