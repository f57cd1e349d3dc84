package admin

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"

	"github.com/gentrack/gcis-bridge/bridge"
	"github.com/gentrack/gcis-bridge/bridge/salesforce"
	"github.com/gentrack/gcis-bridge/transform"
	"github.com/gentrack/gcis-bridge/transform/catalog"
)

const testToken = "admin-test-token-0123456789abcdefXYZ" // 36 characters

// recRuntime is a Runtime that serves fixed connector statuses and records
// the calls the server makes.
type recRuntime struct {
	mu       sync.Mutex
	statuses []bridge.Status
	calls    []string
	pauseErr error
	report   salesforce.Report
	testErr  error
}

func newRecRuntime(ids ...string) *recRuntime {
	rt := &recRuntime{report: salesforce.Report{OK: true, InstanceURL: "https://acme.my.salesforce.com", APIVersion: "62.0",
		Steps: []salesforce.Step{{Name: "token", Status: "ok"}, {Name: "endpoint", Status: "ok"}}}}
	for _, id := range ids {
		rt.statuses = append(rt.statuses, bridge.Status{ConnectorID: id, Tenant: "tenant-" + id, State: "active", Breaker: "closed",
			ConsumerName: "gcis-sf-tenant-" + id})
	}
	return rt
}

func (r *recRuntime) record(call string) {
	r.mu.Lock()
	r.calls = append(r.calls, call)
	r.mu.Unlock()
}

// Calls returns the calls recorded so far, apart from status reads.
func (r *recRuntime) Calls() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.calls)
}

func (r *recRuntime) Statuses() []bridge.Status {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.statuses)
}

func (r *recRuntime) Status(id string) (bridge.Status, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, s := range r.statuses {
		if s.ConnectorID == id {
			return s, true
		}
	}
	return bridge.Status{}, false
}

func (r *recRuntime) setState(id, state string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for i := range r.statuses {
		if r.statuses[i].ConnectorID == id {
			r.statuses[i].State = state
		}
	}
}

func (r *recRuntime) Pause(_ context.Context, id string) error {
	r.record("pause " + id)
	if r.pauseErr != nil {
		return r.pauseErr
	}
	r.setState(id, "paused")
	return nil
}

func (r *recRuntime) Resume(_ context.Context, id string) error {
	r.record("resume " + id)
	r.setState(id, "active")
	return nil
}

func (r *recRuntime) TestConnection(ctx context.Context, id string) (salesforce.Report, error) {
	r.record("test " + id)
	if _, ok := ctx.Deadline(); !ok {
		return salesforce.Report{}, errors.New("no deadline on the Test Connection context")
	}
	return r.report, r.testErr
}

// Tenants lists one tenant per connector plus one without a connector.
func (r *recRuntime) Tenants(context.Context) ([]bridge.TenantInfo, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := []bridge.TenantInfo{{Tenant: "orphan", Events: 3}}
	for _, st := range r.statuses {
		out = append(out, bridge.TenantInfo{Tenant: st.Tenant, Events: 1, Connector: st.ConnectorID})
	}
	return out, nil
}

// Mappings serves the catalogue defaults, and for "custom-prod" a set with
// one override.
func (r *recRuntime) Mappings(id string) (*transform.MappingSet, bool) {
	switch id {
	case "":
		return catalog.DefaultMappings(), true
	case "custom-prod":
		over, err := transform.ParseMappings("custom.yaml", []byte(`
mappings:
  - source: junifer
    eventType: bill-accepted
    target: { eventType: Invoice, eventSubtype: Issued, eventContext: Account }
    externalContextId: $.accountNumber
`))
		if err != nil {
			panic(err)
		}
		return catalog.DefaultMappings().With(over), true
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, st := range r.statuses {
		if st.ConnectorID == id {
			return catalog.DefaultMappings(), true
		}
	}
	return nil, false
}

// adminServer is a started admin server on 127.0.0.1:0.
type adminServer struct {
	s    *Server
	rt   *recRuntime
	logs *observer.ObservedLogs
	base string
}

func startAdmin(t *testing.T, rt *recRuntime, allowed ...string) *adminServer {
	t.Helper()
	core, logs := observer.New(zap.InfoLevel)
	s, err := New(Config{Listen: "127.0.0.1:0", Token: testToken, AllowedHosts: allowed, Runtime: rt, Logger: zap.New(core)})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := s.Shutdown(ctx); err != nil {
			t.Errorf("shutdown: %v", err)
		}
	})
	return &adminServer{s: s, rt: rt, logs: logs, base: "http://" + s.Addr()}
}

// response is one HTTP exchange's outcome.
type response struct {
	status int
	header http.Header
	body   []byte
}

// errorBody is the contract's error format.
type errorBody struct {
	Error *struct {
		Code    string            `json:"code"`
		Message string            `json:"message"`
		Fields  map[string]string `json:"fields"`
	} `json:"error"`
}

// do sends a request; auth is the Authorization header ("" for none) and
// host overrides the Host header when set.
func (a *adminServer) do(t *testing.T, method, path, auth, host string) response {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, method, a.base+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	if host != "" {
		req.Host = host
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return response{resp.StatusCode, resp.Header, body}
}

func (a *adminServer) authed(t *testing.T, method, path string) response {
	t.Helper()
	return a.do(t, method, path, "Bearer "+testToken, "")
}

// wantError checks status and the contract's error body.
func wantError(t *testing.T, r response, status int, code string) errorBody {
	t.Helper()
	if r.status != status {
		t.Fatalf("status %d, want %d: %s", r.status, status, r.body)
	}
	if ct := r.header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Errorf("Content-Type %q, want application/json", ct)
	}
	var e errorBody
	if err := json.Unmarshal(r.body, &e); err != nil || e.Error == nil {
		t.Fatalf("error body %q is not {\"error\":{\"code\",\"message\"}} (%v)", r.body, err)
	}
	if e.Error.Code != code || e.Error.Message == "" {
		t.Fatalf("error %+v, want code %q and a message", *e.Error, code)
	}
	return e
}

func TestConfigValidate(t *testing.T) {
	rt := newRecRuntime()
	cases := []struct {
		name    string
		cfg     Config
		wantErr []string // substrings of the error; nil = valid
	}{
		{"32-character token", Config{Token: strings.Repeat("k", 32), Runtime: rt}, nil},
		{"31-character token", Config{Token: strings.Repeat("k", 31), Runtime: rt}, []string{"token", "32"}},
		{"no token", Config{Runtime: rt}, []string{"token"}},
		{"no runtime", Config{Token: testToken}, []string{"Runtime"}},
		{"both", Config{}, []string{"token", "Runtime"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.cfg.Validate()
			_, newErr := New(tc.cfg)
			if tc.wantErr == nil {
				if err != nil || newErr != nil {
					t.Fatalf("Validate: %v, New: %v; want valid", err, newErr)
				}
				return
			}
			if err == nil || newErr == nil {
				t.Fatalf("Validate: %v, New: %v; want errors", err, newErr)
			}
			for _, w := range tc.wantErr {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not mention %q", err, w)
				}
			}
			if tc.cfg.Token != "" && strings.Contains(err.Error(), tc.cfg.Token) {
				t.Errorf("error %q reveals the token", err)
			}
		})
	}
}

func TestServerRequiresBearerToken(t *testing.T) {
	a := startAdmin(t, newRecRuntime("acme-prod"))
	cases := []struct {
		name, auth string
	}{
		{"no header", ""},
		{"wrong token", "Bearer " + strings.Repeat("x", len(testToken))},
		{"token prefix", "Bearer " + testToken[:len(testToken)-1]},
		{"token with extra", "Bearer " + testToken + "0"},
		{"no scheme", testToken},
		{"basic scheme", "Basic " + testToken},
		{"scheme only", "Bearer "},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			for _, route := range []struct{ method, path string }{
				{"GET", "/api/v1/connectors"},
				{"GET", "/api/v1/connectors/acme-prod"},
				{"POST", "/api/v1/connectors/acme-prod/pause"},
				{"POST", "/api/v1/connectors/acme-prod/test"},
			} {
				r := a.do(t, route.method, route.path, tc.auth, "")
				wantError(t, r, http.StatusUnauthorized, "unauthorized")
				if !strings.HasPrefix(r.header.Get("WWW-Authenticate"), "Bearer") {
					t.Errorf("%s %s: WWW-Authenticate %q", route.method, route.path, r.header.Get("WWW-Authenticate"))
				}
				if strings.Contains(string(r.body), testToken[:16]) {
					t.Errorf("401 body reveals the token: %s", r.body)
				}
			}
		})
	}
	if calls := a.rt.Calls(); len(calls) != 0 {
		t.Fatalf("runtime called without a valid token: %v", calls)
	}
	if r := a.authed(t, "GET", "/api/v1/connectors"); r.status != http.StatusOK {
		t.Fatalf("valid token: status %d: %s", r.status, r.body)
	}
}

func TestServerHostGuard(t *testing.T) {
	a := startAdmin(t, newRecRuntime("acme-prod"), "admin.example.com")
	_, port, err := net.SplitHostPort(a.s.Addr())
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		host string
		ok   bool
	}{
		{"", true}, // the listen address, as the client sends it
		{"127.0.0.1:" + port, true},
		{"localhost:" + port, true},
		{"admin.example.com", true},
		{"admin.example.com:443", true},
		{"ADMIN.Example.com", true},
		{"evil.example.com", false},
		{"evil.example.com:" + port, false},
		{"admin.example.com.evil.net", false},
		{"127.0.0.1.evil.net:" + port, false},
		{"example.com", false},
	}
	for _, tc := range cases {
		t.Run(tc.host, func(t *testing.T) {
			r := a.do(t, "GET", "/api/v1/connectors", "Bearer "+testToken, tc.host)
			if tc.ok {
				if r.status != http.StatusOK {
					t.Fatalf("Host %q: status %d, want 200: %s", tc.host, r.status, r.body)
				}
				return
			}
			wantError(t, r, http.StatusMisdirectedRequest, "misdirected_request")
			// A rebinding page has no token either; it must not learn more.
			wantError(t, a.do(t, "POST", "/api/v1/connectors/acme-prod/pause", "", tc.host), http.StatusMisdirectedRequest, "misdirected_request")
		})
	}
	if calls := a.rt.Calls(); len(calls) != 0 {
		t.Fatalf("runtime called from a host not allowed: %v", calls)
	}
}

func TestServerConnectors(t *testing.T) {
	a := startAdmin(t, newRecRuntime("acme-prod", "globex-prod"))

	t.Run("list", func(t *testing.T) {
		r := a.authed(t, "GET", "/api/v1/connectors")
		var got struct {
			Connectors []bridge.Status `json:"connectors"`
		}
		if r.status != http.StatusOK || json.Unmarshal(r.body, &got) != nil {
			t.Fatalf("status %d body %s", r.status, r.body)
		}
		ids := []string{}
		for _, c := range got.Connectors {
			ids = append(ids, c.ConnectorID)
		}
		if !slices.Equal(ids, []string{"acme-prod", "globex-prod"}) || got.Connectors[0].Tenant != "tenant-acme-prod" {
			t.Fatalf("connectors %s", r.body)
		}
	})
	t.Run("list is an array when there are none", func(t *testing.T) {
		empty := startAdmin(t, newRecRuntime())
		r := empty.authed(t, "GET", "/api/v1/connectors")
		var got map[string]json.RawMessage
		if r.status != http.StatusOK || json.Unmarshal(r.body, &got) != nil {
			t.Fatalf("status %d body %s", r.status, r.body)
		}
		if string(got["connectors"]) != "[]" {
			t.Fatalf(`"connectors" = %s, want [] (clients iterate over it)`, got["connectors"])
		}
	})
	t.Run("get", func(t *testing.T) {
		r := a.authed(t, "GET", "/api/v1/connectors/globex-prod")
		var got bridge.Status
		if r.status != http.StatusOK || json.Unmarshal(r.body, &got) != nil {
			t.Fatalf("status %d body %s", r.status, r.body)
		}
		if got.ConnectorID != "globex-prod" || got.State != "active" || got.ConsumerName != "gcis-sf-tenant-globex-prod" {
			t.Fatalf("status %s", r.body)
		}
	})
	t.Run("get unknown", func(t *testing.T) {
		e := wantError(t, a.authed(t, "GET", "/api/v1/connectors/nope"), http.StatusNotFound, "not_found")
		if !strings.Contains(e.Error.Message, "nope") {
			t.Errorf("message %q does not name the connector", e.Error.Message)
		}
	})
	t.Run("unknown route", func(t *testing.T) {
		wantError(t, a.authed(t, "GET", "/api/v1/nothing-here"), http.StatusNotFound, "not_found")
	})
	if calls := a.rt.Calls(); len(calls) != 0 {
		t.Fatalf("reads called %v", calls)
	}
}

func TestServerControl(t *testing.T) {
	rt := newRecRuntime("acme-prod", "globex-prod")
	a := startAdmin(t, rt)
	state := func(t *testing.T, r response) string {
		t.Helper()
		var st bridge.Status
		if r.status != http.StatusOK || json.Unmarshal(r.body, &st) != nil {
			t.Fatalf("status %d body %s", r.status, r.body)
		}
		return st.State
	}

	if got := state(t, a.authed(t, "POST", "/api/v1/connectors/acme-prod/pause")); got != "paused" {
		t.Fatalf("pause answered state %q, want the status after the call (paused)", got)
	}
	if got := state(t, a.authed(t, "GET", "/api/v1/connectors/acme-prod")); got != "paused" {
		t.Fatalf("state after pause %q", got)
	}
	if got := state(t, a.authed(t, "POST", "/api/v1/connectors/acme-prod/resume")); got != "active" {
		t.Fatalf("resume answered state %q", got)
	}
	if got := state(t, a.authed(t, "GET", "/api/v1/connectors/globex-prod")); got != "active" {
		t.Fatalf("other connector's state %q", got)
	}
	var rep salesforce.Report
	r := a.authed(t, "POST", "/api/v1/connectors/globex-prod/test")
	if r.status != http.StatusOK || json.Unmarshal(r.body, &rep) != nil {
		t.Fatalf("test: status %d body %s", r.status, r.body)
	}
	if !rep.OK || rep.APIVersion != "62.0" || len(rep.Steps) != 2 || rep.Steps[1].Name != "endpoint" {
		t.Fatalf("test report %s", r.body)
	}

	// Unknown connectors are 404 and never reach the runtime.
	for _, action := range []string{"pause", "resume", "test"} {
		wantError(t, a.authed(t, "POST", "/api/v1/connectors/nope/"+action), http.StatusNotFound, "not_found")
	}
	// Only POST controls (405, or 404 once unknown routes get the JSON
	// error body).
	if r := a.authed(t, "GET", "/api/v1/connectors/acme-prod/pause"); r.status != http.StatusMethodNotAllowed && r.status != http.StatusNotFound {
		t.Fatalf("GET pause: status %d, want 405 or 404", r.status)
	}
	want := []string{"pause acme-prod", "resume acme-prod", "test globex-prod"}
	if calls := rt.Calls(); !slices.Equal(calls, want) {
		t.Fatalf("runtime calls %v, want %v", calls, want)
	}

	// The caller is named in the audit log, the token never.
	var audit []observer.LoggedEntry
	for _, e := range a.logs.All() {
		if strings.Contains(e.Message, "connector") {
			audit = append(audit, e)
		}
		for k, v := range e.ContextMap() {
			if s, ok := v.(string); ok && strings.Contains(s, testToken) {
				t.Errorf("log %q field %s reveals the token", e.Message, k)
			}
		}
	}
	if len(audit) != 2 {
		t.Fatalf("%d audit lines for pause and resume, want 2", len(audit))
	}
	for _, e := range audit {
		f := e.ContextMap()
		if f["connector"] != "acme-prod" || f["caller"] != "api:127.0.0.1" {
			t.Errorf("audit line %q fields %v", e.Message, f)
		}
	}

	t.Run("runtime errors", func(t *testing.T) {
		rt.mu.Lock()
		rt.pauseErr = errors.New("connector is being removed")
		rt.testErr = errors.New("bridge: no connector acme-prod")
		rt.mu.Unlock()
		e := wantError(t, a.authed(t, "POST", "/api/v1/connectors/acme-prod/pause"), http.StatusConflict, "conflict")
		if !strings.Contains(e.Error.Message, "being removed") {
			t.Errorf("message %q lacks the runtime's reason", e.Error.Message)
		}
		if got := state(t, a.authed(t, "GET", "/api/v1/connectors/acme-prod")); got != "active" {
			t.Errorf("state %q after a failed pause", got)
		}
		wantError(t, a.authed(t, "POST", "/api/v1/connectors/acme-prod/test"), http.StatusInternalServerError, "internal")
	})
}

func TestServerMappings(t *testing.T) {
	a := startAdmin(t, newRecRuntime("acme-prod"))
	type mapping struct {
		Source, EventType string
		Target            struct{ EventType string }
	}
	get := func(path string) (int, []mapping) {
		r := a.authed(t, "GET", path)
		var body struct{ Mappings []mapping }
		if r.status == http.StatusOK {
			if err := json.Unmarshal(r.body, &body); err != nil {
				t.Fatalf("%s: %v", path, err)
			}
		}
		return r.status, body.Mappings
	}
	code, def := get("/api/v1/mappings")
	if code != http.StatusOK || len(def) != 22 {
		t.Fatalf("defaults: %d, %d mappings, want 22", code, len(def))
	}
	target := func(ms []mapping) string {
		for _, m := range ms {
			if m.Source == "junifer" && m.EventType == "bill-accepted" {
				return m.Target.EventType
			}
		}
		return ""
	}
	if got := target(def); got != "Bill" {
		t.Fatalf("default junifer bill-accepted target %q, want Bill", got)
	}
	code, custom := get("/api/v1/mappings?connector=custom-prod")
	if code != http.StatusOK || len(custom) != 22 || target(custom) != "Invoice" {
		t.Fatalf("custom: %d, %d mappings, target %q", code, len(custom), target(custom))
	}
	if code, _ := get("/api/v1/mappings?connector=nope"); code != http.StatusNotFound {
		t.Fatalf("unknown connector: %d, want 404", code)
	}
}

func TestServerTenants(t *testing.T) {
	a := startAdmin(t, newRecRuntime("acme-prod"))
	r := a.authed(t, "GET", "/api/v1/tenants")
	var body struct{ Tenants []bridge.TenantInfo }
	if err := json.Unmarshal(r.body, &body); r.status != http.StatusOK || err != nil {
		t.Fatalf("%d %s", r.status, r.body)
	}
	if len(body.Tenants) != 2 || body.Tenants[0].Tenant != "orphan" || body.Tenants[0].Connector != "" || body.Tenants[1].Connector != "acme-prod" {
		t.Fatalf("tenants %+v", body.Tenants)
	}
}

func TestServerShutdown(t *testing.T) {
	s, err := New(Config{Listen: "127.0.0.1:0", Token: testToken, Runtime: newRecRuntime()})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Start(); err != nil {
		t.Fatal(err)
	}
	addr := s.Addr()
	if _, port, _ := net.SplitHostPort(addr); port == "0" || port == "" {
		t.Fatalf("Addr() = %q, want the bound port", addr)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := s.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	if c, err := net.DialTimeout("tcp", addr, 2*time.Second); err == nil {
		c.Close()
		t.Fatalf("still listening on %s after Shutdown", addr)
	}
}
