package salesforce_test

import (
	"context"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/sony/gobreaker/v2"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gentrack/gcis-bridge/bridge/salesforce"
)

// transitions records breaker state changes.
type transitions struct {
	mu sync.Mutex
	s  []string
}

func (tr *transitions) record(from, to gobreaker.State) {
	tr.mu.Lock()
	tr.s = append(tr.s, from.String()+">"+to.String())
	tr.mu.Unlock()
}

func (tr *transitions) get() []string {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	return append([]string(nil), tr.s...)
}

// failure answers an API request with one kind of failure.
type failure func(w http.ResponseWriter, r *http.Request)

var failures = map[string]failure{
	"503 JSON": func(w http.ResponseWriter, _ *http.Request) { sfErr(w, 503, "SERVER_UNAVAILABLE", "Server too busy") },
	"503 HTML": func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		w.WriteHeader(503)
		_, _ = w.Write([]byte(html503))
	},
	"502":  func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(502) },
	"504":  func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(504) },
	"hang": func(_ http.ResponseWriter, r *http.Request) { waitDone(r.Context()) },
	"reset": func(w http.ResponseWriter, _ *http.Request) {
		if conn, _, err := http.NewResponseController(w).Hijack(); err == nil {
			_ = conn.Close()
		}
	},
	"500 APEX_ERROR": func(w http.ResponseWriter, _ *http.Request) {
		sfErr(w, 500, "APEX_ERROR", "System.LimitException: Apex CPU time limit exceeded")
	},
	"500 other": func(w http.ResponseWriter, _ *http.Request) { sfErr(w, 500, "UNKNOWN_EXCEPTION", "oops") },
	"400":       func(w http.ResponseWriter, _ *http.Request) { sfErr(w, 400, "JSON_PARSER_ERROR", "bad") },
	"401": func(w http.ResponseWriter, _ *http.Request) {
		sfErr(w, 401, "INVALID_SESSION_ID", "Session expired or invalid")
	},
	"403 limit": func(w http.ResponseWriter, _ *http.Request) {
		sfErr(w, 403, "REQUEST_LIMIT_EXCEEDED", "TotalRequests Limit exceeded.")
	},
	"403 concurrent": func(w http.ResponseWriter, _ *http.Request) {
		sfErr(w, 403, "REQUEST_LIMIT_EXCEEDED", "ConcurrentRequests (Concurrent API Requests) Limit exceeded.")
	},
	"404": func(w http.ResponseWriter, _ *http.Request) {
		sfErr(w, 404, "NOT_FOUND", "Could not find a match for URL")
	},
	"200 mismatch": func(w http.ResponseWriter, _ *http.Request) { writeJSON(w, 200, map[string]any{"results": []any{}}) },
}

func waitDone(ctx context.Context) {
	select {
	case <-ctx.Done():
	case <-time.After(10 * time.Second):
	}
}

// breakerOrg is an org whose API answers with the current failure, or
// accepts when it is nil.
func breakerOrg(t *testing.T, tr *transitions, mods ...func(*salesforce.Config)) (*org, *salesforce.Client, func(failure)) {
	o := newOrg(t)
	var mu sync.Mutex
	var current failure
	o.setAPI(func(w http.ResponseWriter, r *http.Request, n int) {
		mu.Lock()
		f := current
		mu.Unlock()
		if f == nil {
			acceptAll(w, r, n)
			return
		}
		f(w, r)
	})
	mods = append([]func(*salesforce.Config){func(cfg *salesforce.Config) {
		cfg.Breaker = salesforce.BreakerConfig{Failures: 2, OpenFor: time.Hour}
		cfg.RequestTimeout = 50 * time.Millisecond
		cfg.OnBreakerChange = tr.record
	}}, mods...)
	c := newClient(t, o, mods...)
	return o, c, func(f failure) { mu.Lock(); current = f; mu.Unlock() }
}

func TestBreaker_counted_failures_open_it(t *testing.T) {
	for _, name := range []string{"503 JSON", "503 HTML", "502", "504", "hang", "reset"} {
		t.Run(name, func(t *testing.T) {
			tr := &transitions{}
			o, c, set := breakerOrg(t, tr)
			set(failures[name])
			events, ids := batch(1)
			for range 2 {
				_, err := c.Publish(t.Context(), "b", events, ids)
				require.Equal(t, salesforce.ClassTransient, salesforce.ClassOf(err), "%v", err)
			}
			assert.Equal(t, gobreaker.StateOpen, c.BreakerState())
			assert.Equal(t, []string{"closed>open"}, tr.get())

			// Open: no request is made.
			before := o.apiReqs.Load()
			_, err := c.Publish(t.Context(), "b", events, ids)
			var e *salesforce.Error
			require.ErrorAs(t, err, &e)
			assert.Equal(t, salesforce.ClassConnector, e.Class)
			assert.Equal(t, salesforce.HoldBreaker, e.Hold)
			assert.ErrorIs(t, err, gobreaker.ErrOpenState)
			assert.Positive(t, e.RetryAfter)
			assert.LessOrEqual(t, e.RetryAfter, time.Hour)
			assert.Equal(t, before, o.apiReqs.Load())
		})
	}
}

func TestBreaker_other_failures_do_not_count(t *testing.T) {
	for _, name := range []string{"500 APEX_ERROR", "500 other", "400", "401", "403 limit", "403 concurrent", "404", "200 mismatch", "cancel"} {
		t.Run(name, func(t *testing.T) {
			tr := &transitions{}
			_, c, set := breakerOrg(t, tr)
			events, ids := batch(1)
			for range 5 {
				if name == "cancel" {
					set(failures["hang"])
					ctx, cancel := context.WithTimeout(t.Context(), 10*time.Millisecond)
					_, err := c.Publish(ctx, "b", events, ids)
					cancel()
					require.ErrorIs(t, err, context.DeadlineExceeded)
					continue
				}
				set(failures[name])
				_, err := c.Publish(t.Context(), "b", events, ids)
				require.Error(t, err)
			}
			assert.Equal(t, gobreaker.StateClosed, c.BreakerState())
			assert.Empty(t, tr.get())
		})
	}
}

func TestBreaker_excluded_errors_are_neither_success_nor_failure(t *testing.T) {
	tests := []struct {
		name string
		seq  []string // "" is a success
		want gobreaker.State
	}{
		{"excluded errors between failures", []string{"503 JSON", "500 other", "400", "503 JSON"}, gobreaker.StateOpen},
		{"a success resets the count", []string{"503 JSON", "", "503 JSON"}, gobreaker.StateClosed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, c, set := breakerOrg(t, &transitions{})
			events, ids := batch(1)
			for _, step := range tt.seq {
				set(failures[step])
				_, _ = c.Publish(t.Context(), "b", events, ids)
			}
			assert.Equal(t, tt.want, c.BreakerState())
		})
	}
}

func TestBreaker_half_open_then_closed(t *testing.T) {
	tr := &transitions{}
	_, c, set := breakerOrg(t, tr, func(cfg *salesforce.Config) { cfg.Breaker.OpenFor = 20 * time.Millisecond })
	events, ids := batch(1)
	set(failures["503 JSON"])
	for range 2 {
		_, _ = c.Publish(t.Context(), "b", events, ids)
	}
	require.Eventually(t, func() bool { return c.BreakerState() == gobreaker.StateHalfOpen }, 5*time.Second, 5*time.Millisecond)
	set(nil)
	_, err := c.Publish(t.Context(), "b", events, ids)
	require.NoError(t, err)
	assert.Equal(t, gobreaker.StateClosed, c.BreakerState())
	assert.Equal(t, []string{"closed>open", "open>half-open", "half-open>closed"}, tr.get())
}

func TestBreaker_successful_probe_closes_it(t *testing.T) {
	tr := &transitions{}
	o, c, set := breakerOrg(t, tr)
	events, ids := batch(1)
	set(failures["503 JSON"])
	for range 2 {
		_, _ = c.Publish(t.Context(), "b", events, ids)
	}
	require.Equal(t, gobreaker.StateOpen, c.BreakerState())

	// Still failing: the probe says so and the breaker stays open.
	err := c.Probe(t.Context())
	assert.Equal(t, salesforce.ClassTransient, salesforce.ClassOf(err))
	assert.Equal(t, gobreaker.StateOpen, c.BreakerState())

	set(nil)
	tokensBefore := o.tokenReqs.Load()
	require.NoError(t, c.Probe(t.Context()))
	assert.Equal(t, tokensBefore+1, o.tokenReqs.Load(), "a probe requests a fresh token")
	assert.Equal(t, gobreaker.StateClosed, c.BreakerState())
	assert.Equal(t, []string{"closed>open", "open>closed"}, tr.get())
	_, err = c.Publish(t.Context(), "b", events, ids)
	require.NoError(t, err)
}
