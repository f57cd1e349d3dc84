package telemetry

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"sort"
	"sync"
	"time"
)

// DefaultCheckTimeout bounds one readiness check when Health.CheckTimeout
// is zero.
const DefaultCheckTimeout = 2 * time.Second

// CheckFunc is a readiness check: nil means ready. It must return soon
// after ctx is done.
type CheckFunc func(ctx context.Context) error

// Health holds the readiness checks behind /readyz (operations.md: connected
// to NATS, streams present, connector store loaded). The zero value is
// ready to use and has no checks, so it reports ready. It is safe for
// concurrent use.
type Health struct {
	// CheckTimeout bounds each check during [Health.Ready]. Optional;
	// default 2s. Set it before use.
	CheckTimeout time.Duration

	mu     sync.Mutex
	checks map[string]CheckFunc
}

// NewHealth returns a Health with no checks.
func NewHealth() *Health { return &Health{} }

// Check registers fn under name, replacing any check of that name. A nil
// fn removes the check.
func (h *Health) Check(name string, fn CheckFunc) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if fn == nil {
		delete(h.checks, name)
		return
	}
	if h.checks == nil {
		h.checks = map[string]CheckFunc{}
	}
	h.checks[name] = fn
}

// SetReady registers a check of fixed result: err nil means ready. Components
// that learn their state from events (connected, store loaded) call SetReady on
// each change.
func (h *Health) SetReady(name string, err error) {
	h.Check(name, func(context.Context) error { return err })
}

// Remove removes the check of that name.
func (h *Health) Remove(name string) { h.Check(name, nil) }

// Check states in a [Report].
const (
	StatusOK          = "ok"
	StatusFailed      = "failed"
	StatusUnavailable = "unavailable"
)

// Report is the result of [Health.Ready], and the /readyz body.
type Report struct {
	// Status is "ok" when every check passed, else "unavailable".
	Status string `json:"status"`
	// Checks are the check results, sorted by name.
	Checks []CheckResult `json:"checks"`
}

// Ready reports whether every check passed.
func (r Report) Ready() bool { return r.Status == StatusOK }

// CheckResult is the result of one check.
type CheckResult struct {
	// Name of the check.
	Name string `json:"name"`
	// Status is "ok" or "failed".
	Status string `json:"status"`
	// Error is why it failed (secrets scrubbed).
	Error string `json:"error,omitempty"`
}

// errCheckTimeout is reported for a check that did not return in time.
var errCheckTimeout = errors.New("check timed out")

// Ready runs every check concurrently, each bounded by CheckTimeout, and
// reports the results. A check that panics, or does not return in time,
// fails (a check that ignores its context is left running).
func (h *Health) Ready(ctx context.Context) Report {
	h.mu.Lock()
	names := make([]string, 0, len(h.checks))
	fns := make([]CheckFunc, 0, len(h.checks))
	for name := range h.checks {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		fns = append(fns, h.checks[name])
	}
	timeout := h.CheckTimeout
	h.mu.Unlock()
	if timeout <= 0 {
		timeout = DefaultCheckTimeout
	}

	results := make([]CheckResult, len(names))
	var wg sync.WaitGroup
	for i := range names {
		wg.Add(1)
		go func() {
			defer wg.Done()
			err := runCheck(ctx, fns[i], timeout)
			results[i] = CheckResult{Name: names[i], Status: StatusOK}
			if err != nil {
				results[i].Status = StatusFailed
				results[i].Error = Scrub(err.Error())
			}
		}()
	}
	wg.Wait()
	rep := Report{Status: StatusOK, Checks: results}
	for _, r := range results {
		if r.Status != StatusOK {
			rep.Status = StatusUnavailable
		}
	}
	return rep
}

func runCheck(ctx context.Context, fn CheckFunc, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	done := make(chan error, 1)
	go func() {
		defer func() {
			if r := recover(); r != nil {
				done <- fmt.Errorf("check panicked: %v", r)
			}
		}()
		done <- fn(ctx)
	}()
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
		if errors.Is(ctx.Err(), context.DeadlineExceeded) {
			return fmt.Errorf("%w after %s", errCheckTimeout, timeout)
		}
		return ctx.Err()
	}
}

// LivenessHandler serves /healthz: 200 {"status":"ok"} while the process
// is alive.
func (h *Health) LivenessHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !allowGet(w, r) {
			return
		}
		writeJSON(w, http.StatusOK, map[string]string{"status": StatusOK})
	})
}

// ReadinessHandler serves /readyz: 200 when every check passes, else 503;
// the body is the [Report] as JSON.
func (h *Health) ReadinessHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !allowGet(w, r) {
			return
		}
		rep := h.Ready(r.Context())
		code := http.StatusOK
		if !rep.Ready() {
			code = http.StatusServiceUnavailable
		}
		writeJSON(w, code, rep)
	})
}

func allowGet(w http.ResponseWriter, r *http.Request) bool {
	if r.Method == http.MethodGet || r.Method == http.MethodHead {
		return true
	}
	w.Header().Set("Allow", "GET, HEAD")
	http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
	return false
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	body, err := json.Marshal(v)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(code)
	_, _ = w.Write(append(body, '\n'))
}
