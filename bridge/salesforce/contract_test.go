package salesforce_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/sony/gobreaker/v2"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gentrack/gcis-bridge/bridge/salesforce"
	"github.com/gentrack/gcis-bridge/bridge/salesforce/sfsim"
)

// The contract test runs the real client against the simulator, which was
// written separately from the contract (it shares no code with this
// package), over real HTTP.

const (
	simOrg    = "acme"
	simKey    = "3MVG9acmeKey"
	simSecret = "acme-secret-9b1f0c"
)

// simEnv is a simulator serving one org on a 127.0.0.1 listener.
type simEnv struct {
	sim *sfsim.Server
	srv *httptest.Server
}

func newSim(t *testing.T, edit ...func(*sfsim.OrgConfig)) *simEnv {
	t.Helper()
	oc := sfsim.OrgConfig{ID: simOrg, ConsumerKey: simKey, ConsumerSecret: simSecret}
	for _, e := range edit {
		e(&oc)
	}
	sim, err := sfsim.New(sfsim.Config{Orgs: []sfsim.OrgConfig{oc}, Seed: 1})
	require.NoError(t, err)
	srv := httptest.NewServer(sim)
	t.Cleanup(srv.Close)
	t.Cleanup(sim.Close) // runs first: releases hung requests
	return &simEnv{sim: sim, srv: srv}
}

func (e *simEnv) loginURL() string { return e.srv.URL + "/orgs/" + simOrg }

func (e *simEnv) client(t *testing.T, mods ...func(*salesforce.Config)) *salesforce.Client {
	t.Helper()
	cfg := salesforce.Config{
		ConnectorID:       "acme-prod",
		LoginURL:          e.loginURL(),
		ConsumerKey:       simKey,
		ConsumerSecret:    simSecret,
		AllowInsecureHTTP: true,
		UserAgentVersion:  "contract",
		RequestTimeout:    5 * time.Second,
	}
	for _, m := range mods {
		m(&cfg)
	}
	c, err := salesforce.New(cfg)
	require.NoError(t, err)
	t.Cleanup(func() { _ = c.Close() })
	return c
}

func (e *simEnv) fault(t *testing.T, f sfsim.Fault) {
	t.Helper()
	require.NoError(t, e.sim.SetFault(simOrg, f))
}

func (e *simEnv) stored(t *testing.T) ([]json.RawMessage, int) {
	t.Helper()
	events, dups, err := e.sim.Events(simOrg)
	require.NoError(t, err)
	return events, dups
}

// contractBatch returns n managed-package events as the bridge sends them
// (salesforce.md §2); ids get the given prefix.
func contractBatch(prefix string, n int) ([]json.RawMessage, []string) {
	events := make([]json.RawMessage, n)
	ids := make([]string, n)
	for i := range n {
		ids[i] = fmt.Sprintf("%s-5e7a1c02-8b3f-4d6e-a1f9-%012d", prefix, i)
		ctx := fmt.Sprintf("%08d", 101+i)
		if prefix == "reject" && i%2 == 1 {
			ctx = "REJECT-" + ctx
		}
		events[i] = json.RawMessage(fmt.Sprintf(`{"sourceEventId":%q,"tenantId":"acme-energy","sourceSystem":"Junifer",`+
			`"sourceEventType":"bill-accepted","eventType":"Bill","eventSubtype":"Accepted","eventContext":"Account",`+
			`"externalContextId":%q,"externalReference":"11803","occurredAt":"2025-04-02T05:01:44.000Z",`+
			`"correlationId":"c-%s-onboarding","eventAttributes":[{"name":"issueDt","value":"2025-04-02"},`+
			`{"name":"grossAmount","value":"148.620"},{"name":"firstBillFl","value":"true"}]}`, ids[i], ctx, ctx))
	}
	return events, ids
}

func TestContract_token_and_publish(t *testing.T) {
	env := newSim(t)
	var usage []salesforce.Usage
	c := env.client(t, func(cfg *salesforce.Config) {
		cfg.OnUsage = func(used, max int) { usage = append(usage, salesforce.Usage{Used: used, Max: max}) }
	})

	events, ids := contractBatch("first", 5)
	res, err := c.Publish(t.Context(), "01JF7ZK2X6Q3W5V8N9R0T4Y2M1", events, ids)
	require.NoError(t, err)
	require.Len(t, res.Results, 5)
	for i, r := range res.Results {
		assert.Equal(t, ids[i], r.SourceEventID)
		assert.Equal(t, salesforce.StatusCreated, r.Status, "%+v", r)
		assert.NotEmpty(t, r.ID)
	}

	// The package stored exactly what was sent, in order.
	stored, dups := env.stored(t)
	require.Len(t, stored, 5)
	assert.Zero(t, dups)
	for i := range events {
		assert.JSONEq(t, string(events[i]), string(stored[i]))
	}

	// A resend (new batchId) is deduplicated by sourceEventId.
	res, err = c.Publish(t.Context(), "01JF7ZK2X6Q3W5V8N9R0T4Y2M2", events, ids)
	require.NoError(t, err)
	for i, r := range res.Results {
		assert.Equal(t, salesforce.StatusDuplicate, r.Status)
		assert.Equal(t, ids[i], r.SourceEventID)
	}
	stored, dups = env.stored(t)
	assert.Len(t, stored, 5)
	assert.Equal(t, 5, dups)

	// API usage is read from Sforce-Limit-Info.
	assert.Positive(t, c.Usage().Max)
	assert.Positive(t, c.Usage().Used)
	assert.NotEmpty(t, usage)

	stats, err := env.sim.Stats(simOrg)
	require.NoError(t, err)
	assert.EqualValues(t, 1, stats.TokensIssued, "the token is kept between calls")
	assert.EqualValues(t, 2, stats.Batches)
}

func TestContract_item_results(t *testing.T) {
	env := newSim(t)
	c := env.client(t)
	env.fault(t, sfsim.Fault{Kind: sfsim.KindItemError, Rule: &sfsim.ItemRule{Field: "externalContextId", Prefix: "REJECT"}})
	events, ids := contractBatch("reject", 4)
	res, err := c.Publish(t.Context(), "b-items", events, ids)
	require.NoError(t, err)
	for i, r := range res.Results {
		if i%2 == 1 {
			assert.Equal(t, salesforce.StatusError, r.Status)
			require.NotEmpty(t, r.Errors)
			assert.Equal(t, "FIELD_CUSTOM_VALIDATION_EXCEPTION", r.Errors[0].StatusCode)
			assert.False(t, r.Transient())
		} else {
			assert.True(t, r.Accepted(), "%+v", r)
		}
	}

	env.sim.ClearFaults(simOrg)
	env.fault(t, sfsim.Fault{Kind: sfsim.KindItemError, Rule: &sfsim.ItemRule{StatusCode: salesforce.CodeUnableToLockRow}, Count: 1})
	events, ids = contractBatch("lock", 2)
	res, err = c.Publish(t.Context(), "b-lock", events, ids)
	require.NoError(t, err)
	assert.True(t, res.Results[0].Transient(), "%+v", res.Results[0])
	assert.True(t, res.Results[1].Accepted())

	// Events that fail the package's own validation are per-item errors.
	bad := []json.RawMessage{json.RawMessage(`{"sourceEventId":"bad-1","tenantId":"acme-energy"}`)}
	res, err = c.Publish(t.Context(), "b-bad", bad, []string{"bad-1"})
	require.NoError(t, err)
	assert.Equal(t, salesforce.StatusError, res.Results[0].Status)
	assert.Equal(t, "REQUIRED_FIELD_MISSING", res.Results[0].Errors[0].StatusCode)
}

func TestContract_session_refresh(t *testing.T) {
	tests := []struct {
		name  string
		fault sfsim.Fault
	}{
		{"invalid session once", sfsim.Fault{Kind: sfsim.KindInvalidSession, Count: 1}},
		{"all sessions expired", sfsim.Fault{Kind: sfsim.KindExpireSessions}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := newSim(t)
			c := env.client(t)
			events, ids := contractBatch("warm", 1)
			_, err := c.Publish(t.Context(), "b0", events, ids)
			require.NoError(t, err)

			env.fault(t, tt.fault)
			events, ids = contractBatch("after", 2)
			res, err := c.Publish(t.Context(), "b1", events, ids)
			require.NoError(t, err, "a fresh token and one retry recover")
			assert.Len(t, res.Results, 2)
			stored, _ := env.stored(t)
			assert.Len(t, stored, 3)
			stats, err := env.sim.Stats(simOrg)
			require.NoError(t, err)
			assert.EqualValues(t, 2, stats.TokensIssued, "exactly one refresh")
		})
	}
}

// TestContract_whole_request_errors injects every whole-request failure the
// simulator offers and checks the client's classification.
func TestContract_whole_request_errors(t *testing.T) {
	type want struct {
		class    salesforce.Class
		hold     string
		status   int
		code     string
		governor bool
		counted  bool // toward the breaker
	}
	tests := []struct {
		name   string
		org    func(*sfsim.OrgConfig)
		fault  *sfsim.Fault
		before func(t *testing.T, env *simEnv)
		want   want
	}{
		{name: "invalid session persists", fault: &sfsim.Fault{Kind: sfsim.KindInvalidSession},
			want: want{salesforce.ClassAuth, salesforce.HoldAuth, 401, "INVALID_SESSION_ID", false, false}},
		{name: "daily limit (fault)", fault: &sfsim.Fault{Kind: sfsim.KindLimitExceeded},
			want: want{salesforce.ClassLimit, salesforce.HoldLimit, 403, "REQUEST_LIMIT_EXCEEDED", false, false}},
		{name: "daily limit (usage)", before: func(t *testing.T, env *simEnv) {
			require.NoError(t, env.sim.SetAPIUsage(simOrg, 1_000_000))
		}, want: want{salesforce.ClassLimit, salesforce.HoldLimit, 403, "REQUEST_LIMIT_EXCEEDED", false, false}},
		{name: "long transactions", fault: &sfsim.Fault{Kind: sfsim.KindConcurrentLimit},
			want: want{salesforce.ClassThrottled, "", 403, "REQUEST_LIMIT_EXCEEDED", false, false}},
		{name: "concurrent requests", fault: &sfsim.Fault{Kind: sfsim.KindConcurrentLimit, Message: "ConcurrentRequests (Concurrent API Requests) Limit exceeded."},
			want: want{salesforce.ClassThrottled, "", 403, "REQUEST_LIMIT_EXCEEDED", false, false}},
		{name: "API disabled", fault: &sfsim.Fault{Kind: sfsim.KindHTTPError, Status: 403, ErrorCode: "API_CURRENTLY_DISABLED", Message: "API is disabled for this User"},
			want: want{salesforce.ClassConnector, salesforce.HoldEndpoint, 403, "API_CURRENTLY_DISABLED", false, false}},
		{name: "Apex REST disabled", fault: &sfsim.Fault{Kind: sfsim.KindHTTPError, Status: 403, ErrorCode: "APEX_REST_SERVICES_DISABLED", Message: "Apex REST services are not enabled"},
			want: want{salesforce.ClassConnector, salesforce.HoldEndpoint, 403, "APEX_REST_SERVICES_DISABLED", false, false}},
		{name: "package not installed", org: func(o *sfsim.OrgConfig) { f := false; o.PackageInstalled = &f },
			want: want{salesforce.ClassConnector, salesforce.HoldEndpoint, 404, "NOT_FOUND", false, false}},
		{name: "wrong endpoint", before: func(t *testing.T, env *simEnv) {}, // client built with a bad event_endpoint below
			want: want{salesforce.ClassConnector, salesforce.HoldEndpoint, 404, "NOT_FOUND", false, false}},
		{name: "405", fault: &sfsim.Fault{Kind: sfsim.KindHTTPError, Status: 405, ErrorCode: "METHOD_NOT_ALLOWED", Message: "HTTP Method 'POST' not allowed"},
			want: want{salesforce.ClassConnector, salesforce.HoldEndpoint, 405, "METHOD_NOT_ALLOWED", false, false}},
		{name: "410", fault: &sfsim.Fault{Kind: sfsim.KindHTTPError, Status: 410, ErrorCode: "GONE", Message: "retired"},
			want: want{salesforce.ClassConnector, salesforce.HoldEndpoint, 410, "GONE", false, false}},
		{name: "415", fault: &sfsim.Fault{Kind: sfsim.KindHTTPError, Status: 415, ErrorCode: "UNSUPPORTED_MEDIA_TYPE", Message: "no"},
			want: want{salesforce.ClassConnector, salesforce.HoldEndpoint, 415, "UNSUPPORTED_MEDIA_TYPE", false, false}},
		{name: "400 JSON_PARSER_ERROR", fault: &sfsim.Fault{Kind: sfsim.KindHTTPError, Status: 400, ErrorCode: "JSON_PARSER_ERROR", Message: `Unrecognized field "foo"`},
			want: want{salesforce.ClassPermanent, "", 400, "JSON_PARSER_ERROR", false, false}},
		{name: "500 APEX_ERROR governor limit", fault: &sfsim.Fault{Kind: sfsim.KindApexError},
			want: want{salesforce.ClassTransient, "", 500, "APEX_ERROR", true, false}},
		{name: "500 APEX_ERROR row lock", fault: &sfsim.Fault{Kind: sfsim.KindLockRow},
			want: want{salesforce.ClassTransient, "", 500, "APEX_ERROR", false, false}},
		{name: "500 other", fault: &sfsim.Fault{Kind: sfsim.KindHTTPError, Status: 500, ErrorCode: "UNKNOWN_EXCEPTION", Message: "An unexpected error occurred"},
			want: want{salesforce.ClassTransient, "", 500, "UNKNOWN_EXCEPTION", false, false}},
		{name: "502 HTML", fault: &sfsim.Fault{Kind: sfsim.KindHTTPError, Status: 502, HTML: true},
			want: want{salesforce.ClassTransient, "", 502, "", false, true}},
		{name: "503 JSON", fault: &sfsim.Fault{Kind: sfsim.KindHTTPError, Status: 503},
			want: want{salesforce.ClassTransient, "", 503, "", false, true}},
		{name: "503 HTML", fault: &sfsim.Fault{Kind: sfsim.KindHTTPError, Status: 503, HTML: true},
			want: want{salesforce.ClassTransient, "", 503, "", false, true}},
		{name: "connection reset", fault: &sfsim.Fault{Kind: sfsim.KindReset},
			want: want{salesforce.ClassTransient, "", 0, "", false, true}},
		{name: "hang", fault: &sfsim.Fault{Kind: sfsim.KindHang},
			want: want{salesforce.ClassTransient, "", 0, "", false, true}},
		{name: "commit then fail", fault: &sfsim.Fault{Kind: sfsim.KindCommitThenFail},
			want: want{salesforce.ClassTransient, "", 503, "", false, true}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var orgEdits []func(*sfsim.OrgConfig)
			if tt.org != nil {
				orgEdits = append(orgEdits, tt.org)
			}
			env := newSim(t, orgEdits...)
			if tt.fault != nil {
				env.fault(t, *tt.fault)
			}
			if tt.before != nil {
				tt.before(t, env)
			}
			tr := &transitions{}
			c := env.client(t, func(cfg *salesforce.Config) {
				cfg.RequestTimeout = 300 * time.Millisecond // for "hang"
				cfg.Breaker = salesforce.BreakerConfig{Failures: 1, OpenFor: time.Hour}
				cfg.OnBreakerChange = tr.record
				if tt.name == "wrong endpoint" {
					cfg.EventEndpoint = "gtx_bu/v9/evnt"
				}
			})
			events, ids := contractBatch("x", 3)
			_, err := c.Publish(t.Context(), "b", events, ids)
			var e *salesforce.Error
			require.ErrorAs(t, err, &e)
			assert.Equal(t, tt.want.class, e.Class, "%v", err)
			assert.Equal(t, tt.want.hold, e.Hold)
			assert.Equal(t, tt.want.status, e.HTTPStatus)
			if tt.want.code != "" {
				assert.Equal(t, tt.want.code, e.Code)
			}
			assert.Equal(t, tt.want.governor, e.Governor)
			if tt.want.counted {
				assert.Equal(t, gobreaker.StateOpen, c.BreakerState(), "counted toward the breaker")
			} else {
				assert.Equal(t, gobreaker.StateClosed, c.BreakerState(), "not counted toward the breaker")
			}

			if tt.name == "commit then fail" {
				// The batch was stored; resending it is correct and
				// deduplicated.
				env.sim.ClearFaults(simOrg)
				c2 := env.client(t)
				res, err := c2.Publish(t.Context(), "b-resend", events, ids)
				require.NoError(t, err)
				for _, r := range res.Results {
					assert.Equal(t, salesforce.StatusDuplicate, r.Status)
				}
			}
		})
	}
}

func TestContract_retry_after(t *testing.T) {
	env := newSim(t)
	env.fault(t, sfsim.Fault{Kind: sfsim.KindHTTPError, Status: 503, RetryAfter: 7})
	c := env.client(t)
	events, ids := contractBatch("ra", 1)
	_, err := c.Publish(t.Context(), "b", events, ids)
	var e *salesforce.Error
	require.ErrorAs(t, err, &e)
	assert.Equal(t, salesforce.ClassTransient, e.Class)
	assert.Equal(t, 7*time.Second, e.RetryAfter)
}

func TestContract_token_errors(t *testing.T) {
	tests := []struct {
		name   string
		org    func(*sfsim.OrgConfig)
		client func(*salesforce.Config)
		fault  *sfsim.Fault
		code   string
		desc   string
		class  salesforce.Class
	}{
		{name: "wrong secret", client: func(c *salesforce.Config) { c.ConsumerSecret = "wrong" },
			code: "invalid_client", desc: "invalid client credentials", class: salesforce.ClassAuth},
		{name: "unknown key", client: func(c *salesforce.Config) { c.ConsumerKey = "3MVG9unknown" },
			code: "invalid_client_id", desc: "client identifier invalid", class: salesforce.ClassAuth},
		{name: "no run-as user", org: func(o *sfsim.OrgConfig) { f := false; o.RunAsUser = &f },
			code: "invalid_grant", desc: "no client credentials user enabled", class: salesforce.ClassAuth},
		{name: "wrong domain (fault)", fault: &sfsim.Fault{Kind: sfsim.KindTokenError, TokenError: "wrong_domain"},
			code: "invalid_grant", desc: "request not supported on this domain", class: salesforce.ClassAuth},
		{name: "unsupported grant (fault)", fault: &sfsim.Fault{Kind: sfsim.KindTokenError, TokenError: "unsupported_grant_type"},
			code: "unsupported_grant_type", desc: "grant type not supported", class: salesforce.ClassAuth},
		{name: "token endpoint 503", fault: &sfsim.Fault{Kind: sfsim.KindHTTPError, Target: sfsim.TargetToken, Status: 503, HTML: true},
			class: salesforce.ClassTransient},
		{name: "token endpoint reset", fault: &sfsim.Fault{Kind: sfsim.KindReset, Target: sfsim.TargetToken},
			class: salesforce.ClassTransient},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var orgEdits []func(*sfsim.OrgConfig)
			if tt.org != nil {
				orgEdits = append(orgEdits, tt.org)
			}
			env := newSim(t, orgEdits...)
			if tt.fault != nil {
				env.fault(t, *tt.fault)
			}
			var mods []func(*salesforce.Config)
			if tt.client != nil {
				mods = append(mods, tt.client)
			}
			c := env.client(t, mods...)
			events, ids := contractBatch("tok", 1)
			_, err := c.Publish(t.Context(), "b", events, ids)
			var e *salesforce.Error
			require.ErrorAs(t, err, &e)
			assert.Equal(t, "token", e.Op)
			assert.Equal(t, tt.class, e.Class, "%v", err)
			if tt.class == salesforce.ClassAuth {
				assert.Equal(t, salesforce.HoldAuth, e.Hold)
				assert.Equal(t, tt.code, e.Code)
				assert.Equal(t, tt.desc, e.Message)
			}
			assert.NotContains(t, err.Error(), simSecret)

			rep := c.TestConnection(t.Context())
			assert.False(t, rep.OK)
			assert.Equal(t, salesforce.StepFailed, rep.Steps[0].Status)
			if tt.code != "" {
				assert.Contains(t, rep.Steps[0].Reason, tt.code+": "+tt.desc)
			}
		})
	}
}

func TestContract_probe_and_test_connection(t *testing.T) {
	env := newSim(t)
	c := env.client(t)
	require.NoError(t, c.Probe(t.Context()))

	rep := c.TestConnection(t.Context())
	require.True(t, rep.OK, "%+v", rep)
	for _, s := range rep.Steps {
		assert.Equal(t, salesforce.StepOK, s.Status, "%s: %s", s.Name, s.Reason)
	}
	assert.Equal(t, env.loginURL(), rep.InstanceURL)
	assert.NotEmpty(t, rep.APIVersion)
	require.NotNil(t, rep.DailyAPIRequests)
	assert.Positive(t, rep.DailyAPIRequests.Max)
	require.NotNil(t, rep.Package)
	assert.Equal(t, "gtx_bu", rep.Package.Package)
	assert.Contains(t, rep.Package.SchemaVersions, "2.0")

	// The daily limit: Probe keeps the hold, Test Connection fails the step.
	require.NoError(t, env.sim.SetAPIUsage(simOrg, 1_000_000))
	assert.Equal(t, salesforce.ClassLimit, salesforce.ClassOf(c.Probe(t.Context())))

	// Package missing: the endpoint step fails with the reason.
	env2 := newSim(t, func(o *sfsim.OrgConfig) { f := false; o.PackageInstalled = &f })
	c2 := env2.client(t)
	err := c2.Probe(t.Context())
	var e *salesforce.Error
	require.ErrorAs(t, err, &e)
	assert.Equal(t, salesforce.HoldEndpoint, e.Hold)
	rep = c2.TestConnection(t.Context())
	assert.False(t, rep.OK)
	assert.Equal(t, salesforce.StepFailed, rep.Steps[3].Status)
	assert.Contains(t, rep.Steps[3].Reason, "not installed")
}

func TestContract_breaker_opens_on_outage_and_probe_closes_it(t *testing.T) {
	env := newSim(t)
	tr := &transitions{}
	c := env.client(t, func(cfg *salesforce.Config) {
		cfg.Breaker = salesforce.BreakerConfig{Failures: 3, OpenFor: time.Hour}
		cfg.OnBreakerChange = tr.record
	})
	env.fault(t, sfsim.Fault{Kind: sfsim.KindHTTPError, Status: 503})
	events, ids := contractBatch("outage", 2)
	for range 3 {
		_, err := c.Publish(t.Context(), "b", events, ids)
		require.Equal(t, salesforce.ClassTransient, salesforce.ClassOf(err))
	}
	_, err := c.Publish(t.Context(), "b", events, ids)
	var e *salesforce.Error
	require.ErrorAs(t, err, &e)
	assert.Equal(t, salesforce.HoldBreaker, e.Hold)

	env.sim.ClearFaults(simOrg)
	require.NoError(t, c.Probe(t.Context()))
	assert.Equal(t, gobreaker.StateClosed, c.BreakerState())
	_, err = c.Publish(t.Context(), "b2", events, ids)
	require.NoError(t, err)
	assert.Equal(t, []string{"closed>open", "open>closed"}, tr.get())
	stored, _ := env.stored(t)
	assert.Len(t, stored, 2)
}

func TestContract_caller_cancellation(t *testing.T) {
	env := newSim(t)
	env.fault(t, sfsim.Fault{Kind: sfsim.KindHang})
	c := env.client(t, func(cfg *salesforce.Config) { cfg.Breaker.Failures = 1 })
	ctx, cancel := context.WithTimeout(t.Context(), 50*time.Millisecond)
	defer cancel()
	events, ids := contractBatch("cancel", 1)
	_, err := c.Publish(ctx, "b", events, ids)
	require.ErrorIs(t, err, context.DeadlineExceeded)
	assert.Equal(t, salesforce.Class(""), salesforce.ClassOf(err))
	assert.Equal(t, gobreaker.StateClosed, c.BreakerState())
}
