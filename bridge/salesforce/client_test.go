package salesforce_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/sony/gobreaker/v2"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gentrack/gcis-bridge/bridge/salesforce"
)

func TestClient_token_flow_uses_instance_url(t *testing.T) {
	login := newOrg(t)    // serves only the token endpoint
	instance := newOrg(t) // serves the API
	login.mu.Lock()
	login.instanceURL = instance.URL()
	login.mu.Unlock()
	c := newClient(t, login)

	events, ids := batch(3)
	res, err := c.Publish(t.Context(), "01JF7ZK2X6Q3W5V8N9R0T4Y2M1", events, ids)
	require.NoError(t, err)

	// The token request: client credentials in the form body, nothing in a
	// Basic header.
	forms := login.tokenForms()
	require.Len(t, forms, 1)
	assert.Equal(t, "client_credentials", forms[0].Get("grant_type"))
	assert.Equal(t, testKey, forms[0].Get("client_id"))
	assert.Equal(t, testSecret, forms[0].Get("client_secret"))
	assert.Zero(t, login.apiReqs.Load(), "the API must be called on instance_url, not login_url")

	// The publish request went to instance_url with the contract's headers.
	reqs := instance.recordedRequests()
	require.Len(t, reqs, 1)
	r := reqs[0]
	assert.Equal(t, http.MethodPost, r.Method)
	assert.Equal(t, "/services/apexrest/gtx_bu/v2/event", r.Path)
	assert.Equal(t, "Bearer "+tokenFor(1), r.Header.Get("Authorization"))
	assert.Equal(t, "application/json", r.Header.Get("Content-Type"))
	assert.Equal(t, "application/json", r.Header.Get("Accept"))
	assert.Equal(t, "client=gcis-bridge/1.2.3", r.Header.Get("Sforce-Call-Options"))

	// The body: the batch envelope with the events exactly as given.
	var body map[string]json.RawMessage
	require.NoError(t, json.Unmarshal(r.Body, &body))
	assert.JSONEq(t, `"2.0"`, string(body["schemaVersion"]))
	assert.JSONEq(t, `"acme-prod"`, string(body["connectorId"]))
	assert.JSONEq(t, `"01JF7ZK2X6Q3W5V8N9R0T4Y2M1"`, string(body["batchId"]))
	var got []json.RawMessage
	require.NoError(t, json.Unmarshal(body["events"], &got))
	require.Len(t, got, 3)
	for i := range got {
		assert.Equal(t, string(events[i]), string(got[i]), "event %d must be sent byte for byte", i)
	}

	require.Len(t, res.Results, 3)
	for i, it := range res.Results {
		assert.Equal(t, ids[i], it.SourceEventID)
		assert.True(t, it.Accepted())
	}
	assert.Equal(t, http.StatusOK, res.HTTPStatus)

	// The token is kept: no expires_in means no refresh until a 401.
	_, err = c.Publish(t.Context(), "01JF7ZK2X6Q3W5V8N9R0T4Y2M2", events, ids)
	require.NoError(t, err)
	assert.EqualValues(t, 1, login.tokenReqs.Load())
}

func TestClient_single_flight_refresh_after_invalidation(t *testing.T) {
	o := newOrg(t)
	c := newClient(t, o)
	events, ids := batch(2)
	_, err := c.Publish(t.Context(), "b0", events, ids)
	require.NoError(t, err)
	require.EqualValues(t, 1, o.tokenReqs.Load())

	// Hold the next token request until every publisher is running.
	gate := make(chan struct{})
	o.setToken(func(w http.ResponseWriter, r *http.Request, n int) {
		select {
		case <-gate:
		case <-r.Context().Done():
		case <-time.After(10 * time.Second):
		}
		o.issue(w, n)
	})
	c.InvalidateToken()

	const n = 16
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i := range n {
		wg.Go(func() {
			_, errs[i] = c.Publish(t.Context(), "b"+string(rune('a'+i)), events, ids)
		})
	}
	require.Eventually(t, func() bool { return o.tokenReqs.Load() == 2 }, 5*time.Second, time.Millisecond)
	close(gate)
	wg.Wait()
	for _, err := range errs {
		require.NoError(t, err)
	}
	assert.EqualValues(t, 2, o.tokenReqs.Load(), "one token request for all concurrent publishes")
	for _, r := range o.recordedRequests()[1:] {
		assert.Equal(t, "Bearer "+tokenFor(2), r.Header.Get("Authorization"))
	}
}

func TestClient_refreshes_token_on_invalid_session_and_retries_once(t *testing.T) {
	o := newOrg(t)
	c := newClient(t, o)
	// The first token is revoked as soon as it is issued.
	o.setAPI(func(w http.ResponseWriter, r *http.Request, n int) {
		if r.Header.Get("Authorization") == "Bearer "+tokenFor(1) {
			sfErr(w, http.StatusUnauthorized, "INVALID_SESSION_ID", "Session expired or invalid")
			return
		}
		acceptAll(w, r, n)
	})
	events, ids := batch(2)
	res, err := c.Publish(t.Context(), "b1", events, ids)
	require.NoError(t, err)
	assert.Len(t, res.Results, 2)
	assert.EqualValues(t, 2, o.tokenReqs.Load())
	assert.EqualValues(t, 2, o.apiReqs.Load())
	reqs := o.recordedRequests()
	assert.Equal(t, string(reqs[0].Body), string(reqs[1].Body), "the retry resends the same body")
}

func TestClient_still_401_after_refresh_is_auth_hold(t *testing.T) {
	o := newOrg(t)
	c := newClient(t, o)
	o.setAPI(func(w http.ResponseWriter, _ *http.Request, _ int) {
		sfErr(w, http.StatusUnauthorized, "INVALID_SESSION_ID", "Session expired or invalid")
	})
	events, ids := batch(1)
	_, err := c.Publish(t.Context(), "b1", events, ids)
	var e *salesforce.Error
	require.ErrorAs(t, err, &e)
	assert.Equal(t, salesforce.ClassAuth, e.Class)
	assert.Equal(t, salesforce.HoldAuth, e.Hold)
	assert.Equal(t, "INVALID_SESSION_ID", e.Code)
	assert.Equal(t, http.StatusUnauthorized, e.HTTPStatus)
	assert.EqualValues(t, 2, o.tokenReqs.Load(), "exactly one refresh")
	assert.EqualValues(t, 2, o.apiReqs.Load(), "exactly one retry")
}

func TestClient_concurrent_401s_refresh_once(t *testing.T) {
	o := newOrg(t)
	c := newClient(t, o)
	events, ids := batch(1)
	_, err := c.Publish(t.Context(), "warm", events, ids)
	require.NoError(t, err)

	// The org revokes token 1; its 401s are held until every publisher has
	// sent its request with it.
	revoked := make(chan struct{})
	o.setAPI(func(w http.ResponseWriter, r *http.Request, n int) {
		if r.Header.Get("Authorization") == "Bearer "+tokenFor(1) {
			select {
			case <-revoked:
			case <-time.After(10 * time.Second):
			}
			sfErr(w, http.StatusUnauthorized, "INVALID_SESSION_ID", "Session expired or invalid")
			return
		}
		acceptAll(w, r, n)
	})
	const n = 8
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i := range n {
		wg.Go(func() { _, errs[i] = c.Publish(t.Context(), "b", events, ids) })
	}
	require.Eventually(t, func() bool { return o.apiReqs.Load() == 1+n }, 5*time.Second, time.Millisecond)
	close(revoked)
	wg.Wait()
	for _, err := range errs {
		require.NoError(t, err)
	}
	assert.EqualValues(t, 2, o.tokenReqs.Load(), "n calls failing with the same token cause one refresh")
	assert.EqualValues(t, 1+2*n, o.apiReqs.Load())
}

func TestClient_caller_cancellation_is_not_a_failure(t *testing.T) {
	o := newOrg(t)
	started := make(chan struct{}, 16)
	o.setAPI(func(w http.ResponseWriter, r *http.Request, _ int) {
		started <- struct{}{}
		select {
		case <-r.Context().Done():
		case <-time.After(10 * time.Second):
		}
	})
	var mu sync.Mutex
	var changes []string
	c := newClient(t, o, func(cfg *salesforce.Config) {
		cfg.Breaker.Failures = 2
		cfg.OnBreakerChange = func(from, to gobreaker.State) {
			mu.Lock()
			changes = append(changes, from.String()+">"+to.String())
			mu.Unlock()
		}
	})
	events, ids := batch(1)
	for range 4 {
		ctx, cancel := context.WithCancel(t.Context())
		go func() {
			select {
			case <-started:
			case <-time.After(10 * time.Second):
			}
			cancel()
		}()
		_, err := c.Publish(ctx, "b", events, ids)
		cancel()
		require.ErrorIs(t, err, context.Canceled)
		assert.Equal(t, salesforce.Class(""), salesforce.ClassOf(err))
		var e *salesforce.Error
		assert.False(t, errors.As(err, &e), "a cancellation is not a classified failure")
	}
	assert.Equal(t, gobreaker.StateClosed, c.BreakerState())
	mu.Lock()
	assert.Empty(t, changes)
	mu.Unlock()

	// A deadline of the caller is not a failure either.
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Millisecond)
	defer cancel()
	_, err := c.Publish(ctx, "b", events, ids)
	require.ErrorIs(t, err, context.DeadlineExceeded)
	assert.Equal(t, salesforce.Class(""), salesforce.ClassOf(err))
}

func TestClient_request_timeout_is_transient(t *testing.T) {
	o := newOrg(t)
	o.setAPI(func(w http.ResponseWriter, r *http.Request, _ int) {
		select {
		case <-r.Context().Done():
		case <-time.After(10 * time.Second):
		}
	})
	c := newClient(t, o, func(cfg *salesforce.Config) { cfg.RequestTimeout = 20 * time.Millisecond })
	events, ids := batch(1)
	_, err := c.Publish(t.Context(), "b", events, ids)
	var e *salesforce.Error
	require.ErrorAs(t, err, &e)
	assert.Equal(t, salesforce.ClassTransient, e.Class)
	assert.ErrorIs(t, err, salesforce.ErrTimeout)
	assert.NotErrorIs(t, err, context.DeadlineExceeded, "the client's own timeout must not look like the caller's deadline")
}

func TestClient_connection_errors_are_transient(t *testing.T) {
	tests := []struct {
		name  string
		setup func(t *testing.T, o *org)
	}{
		{"connection reset mid-request", func(t *testing.T, o *org) {
			o.setAPI(func(w http.ResponseWriter, _ *http.Request, _ int) {
				conn, _, err := http.NewResponseController(w).Hijack()
				if err == nil {
					_ = conn.Close()
				}
			})
		}},
		{"truncated body", func(t *testing.T, o *org) {
			o.setAPI(func(w http.ResponseWriter, _ *http.Request, _ int) {
				w.Header().Set("Content-Length", "1000")
				w.WriteHeader(http.StatusOK)
				_, _ = w.Write([]byte(`{"results":[`))
				conn, _, err := http.NewResponseController(w).Hijack()
				if err == nil {
					_ = conn.Close()
				}
			})
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := newOrg(t)
			tt.setup(t, o)
			c := newClient(t, o)
			events, ids := batch(1)
			_, err := c.Publish(t.Context(), "b", events, ids)
			require.Error(t, err)
			assert.Equal(t, salesforce.ClassTransient, salesforce.ClassOf(err))
		})
	}

	t.Run("connection refused", func(t *testing.T) {
		dead := httptest.NewServer(http.NotFoundHandler())
		url := dead.URL
		dead.Close()
		c, err := salesforce.New(salesforce.Config{ConnectorID: "x", LoginURL: url, ConsumerKey: "k", ConsumerSecret: "s", AllowInsecureHTTP: true})
		require.NoError(t, err)
		defer c.Close()
		events, ids := batch(1)
		_, err = c.Publish(t.Context(), "b", events, ids)
		var e *salesforce.Error
		require.ErrorAs(t, err, &e)
		assert.Equal(t, salesforce.ClassTransient, e.Class)
		assert.Equal(t, "token", e.Op)
		assert.Zero(t, e.HTTPStatus)
	})
}

func TestClient_rejects_unsendable_batches_without_a_request(t *testing.T) {
	events, ids := batch(2)
	tests := []struct {
		name    string
		batchID string
		events  []json.RawMessage
		ids     []string
	}{
		{"no events", "b", nil, nil},
		{"count mismatch", "b", events, ids[:1]},
		{"empty batch id", "", events, ids},
		{"empty id", "b", events, []string{"a", ""}},
		{"empty event", "b", []json.RawMessage{events[0], nil}, ids},
		{"duplicate id", "b", events, []string{"a", "a"}},
	}
	o := newOrg(t)
	c := newClient(t, o)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := c.Publish(t.Context(), tt.batchID, tt.events, tt.ids)
			assert.Equal(t, salesforce.ClassPermanent, salesforce.ClassOf(err))
		})
	}
	assert.Zero(t, o.tokenReqs.Load()+o.apiReqs.Load())
}

func TestClient_closed(t *testing.T) {
	o := newOrg(t)
	c := newClient(t, o)
	require.NoError(t, c.Close())
	require.NoError(t, c.Close())
	events, ids := batch(1)
	_, err := c.Publish(t.Context(), "b", events, ids)
	require.ErrorIs(t, err, salesforce.ErrClosed)
	assert.Equal(t, salesforce.Class(""), salesforce.ClassOf(err))
	require.ErrorIs(t, c.Probe(t.Context()), salesforce.ErrClosed)
	assert.Zero(t, o.tokenReqs.Load()+o.apiReqs.Load())
}

func TestClient_usage_from_limit_info(t *testing.T) {
	o := newOrg(t)
	o.setAPI(func(w http.ResponseWriter, r *http.Request, n int) {
		w.Header().Set("Sforce-Limit-Info", "api-usage=10018/100000; api-bursts=1/750")
		acceptAll(w, r, n)
	})
	var mu sync.Mutex
	var seen [][2]int
	c := newClient(t, o, func(cfg *salesforce.Config) {
		cfg.OnUsage = func(used, max int) { mu.Lock(); seen = append(seen, [2]int{used, max}); mu.Unlock() }
	})
	assert.Equal(t, salesforce.Usage{}, c.Usage())
	events, ids := batch(1)
	res, err := c.Publish(t.Context(), "b", events, ids)
	require.NoError(t, err)
	assert.Equal(t, salesforce.Usage{Used: 10018, Max: 100000}, res.Usage)
	assert.Equal(t, salesforce.Usage{Used: 10018, Max: 100000}, c.Usage())
	assert.InDelta(t, 0.10018, c.Usage().Ratio(), 1e-9)
	mu.Lock()
	assert.Equal(t, [][2]int{{10018, 100000}}, seen)
	mu.Unlock()
}

func TestClient_retry_after(t *testing.T) {
	date := time.Now().Add(90 * time.Second).UTC().Format(http.TimeFormat)
	tests := []struct {
		name   string
		header string
		min    time.Duration
		max    time.Duration
	}{
		{"seconds", "7", 7 * time.Second, 7 * time.Second},
		{"http date", date, 80 * time.Second, 90 * time.Second},
		{"absent", "", 0, 0},
		{"garbage", "soon", 0, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := newOrg(t)
			o.setAPI(func(w http.ResponseWriter, _ *http.Request, _ int) {
				if tt.header != "" {
					w.Header().Set("Retry-After", tt.header)
				}
				sfErr(w, http.StatusServiceUnavailable, "SERVER_UNAVAILABLE", "Server too busy")
			})
			c := newClient(t, o)
			events, ids := batch(1)
			_, err := c.Publish(t.Context(), "b", events, ids)
			var e *salesforce.Error
			require.ErrorAs(t, err, &e)
			assert.Equal(t, salesforce.ClassTransient, e.Class)
			assert.GreaterOrEqual(t, e.RetryAfter, tt.min)
			assert.LessOrEqual(t, e.RetryAfter, tt.max)
		})
	}
}
