package salesforce_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/gentrack/gcis-bridge/bridge/salesforce"
)

const (
	testKey    = "3MVG9testConsumerKey"
	testSecret = "consumer-SECRET-7f3a9c+/=&x"
	tokenMark  = "SECRETTOKEN"
)

// tokenFor is the access token the fake org issues on its n-th token request.
func tokenFor(n int) string { return fmt.Sprintf("00DSIM!tok-%d-%s", n, tokenMark) }

// org is a fake Salesforce org on a real 127.0.0.1 listener: a token
// endpoint and an API handler. Handlers receive the 1-based number of the
// request of their kind.
type org struct {
	t   testing.TB
	srv *httptest.Server

	tokenReqs atomic.Int32
	apiReqs   atomic.Int32

	mu       sync.Mutex
	token    func(w http.ResponseWriter, r *http.Request, n int)
	api      func(w http.ResponseWriter, r *http.Request, n int)
	forms    []url.Values
	requests []recorded
	// instanceURL overrides the instance_url issued (default: this server).
	instanceURL string
	// noRecord stops recording API requests (benchmarks).
	noRecord bool
}

// recorded is an API request as the org saw it.
type recorded struct {
	Method, Path string
	Header       http.Header
	Body         []byte
}

func newOrg(t testing.TB) *org {
	t.Helper()
	o := &org{t: t}
	o.srv = httptest.NewServer(http.HandlerFunc(o.serve))
	t.Cleanup(o.srv.Close)
	return o
}

// URL is the org's login URL (and default instance URL).
func (o *org) URL() string { return o.srv.URL }

func (o *org) setToken(f func(w http.ResponseWriter, r *http.Request, n int)) {
	o.mu.Lock()
	o.token = f
	o.mu.Unlock()
}

func (o *org) setAPI(f func(w http.ResponseWriter, r *http.Request, n int)) {
	o.mu.Lock()
	o.api = f
	o.mu.Unlock()
}

func (o *org) recordedRequests() []recorded {
	o.mu.Lock()
	defer o.mu.Unlock()
	return append([]recorded(nil), o.requests...)
}

func (o *org) tokenForms() []url.Values {
	o.mu.Lock()
	defer o.mu.Unlock()
	return append([]url.Values(nil), o.forms...)
}

func (o *org) serve(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path == "/services/oauth2/token" {
		n := int(o.tokenReqs.Add(1))
		_ = r.ParseForm()
		o.mu.Lock()
		o.forms = append(o.forms, r.PostForm)
		f := o.token
		o.mu.Unlock()
		if f != nil {
			f(w, r, n)
			return
		}
		o.issue(w, n)
		return
	}
	n := int(o.apiReqs.Add(1))
	body, _ := io.ReadAll(r.Body)
	o.mu.Lock()
	if !o.noRecord {
		o.requests = append(o.requests, recorded{Method: r.Method, Path: r.URL.Path, Header: r.Header.Clone(), Body: body})
	}
	f := o.api
	o.mu.Unlock()
	r.Body = io.NopCloser(strings.NewReader(string(body)))
	if f == nil {
		f = acceptAll
	}
	f(w, r, n)
}

// issue writes a successful token response for the n-th token request.
func (o *org) issue(w http.ResponseWriter, n int) {
	o.mu.Lock()
	inst := o.instanceURL
	o.mu.Unlock()
	if inst == "" {
		inst = o.srv.URL
	}
	writeJSON(w, http.StatusOK, map[string]string{
		"access_token": tokenFor(n),
		"instance_url": inst,
		"id":           "https://login.salesforce.com/id/00DSIM0000000001AAA/005SIM0000000001AAA",
		"token_type":   "Bearer",
		"issued_at":    "1767225600000",
		"signature":    "c2ln",
		"scope":        "api",
	})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json;charset=UTF-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// sfErr writes Salesforce's error array.
func sfErr(w http.ResponseWriter, status int, code, msg string) {
	writeJSON(w, status, []map[string]string{{"errorCode": code, "message": msg}})
}

// batchReq is the request body the package receives.
type batchReq struct {
	SchemaVersion string            `json:"schemaVersion"`
	ConnectorID   string            `json:"connectorId"`
	BatchID       string            `json:"batchId"`
	Events        []json.RawMessage `json:"events"`
}

func decodeBatch(r *http.Request) (batchReq, []string, error) {
	var b batchReq
	if err := json.NewDecoder(r.Body).Decode(&b); err != nil {
		return b, nil, err
	}
	ids := make([]string, len(b.Events))
	for i, e := range b.Events {
		var ev struct {
			SourceEventID string `json:"sourceEventId"`
		}
		if err := json.Unmarshal(e, &ev); err != nil {
			return b, nil, err
		}
		ids[i] = ev.SourceEventID
	}
	return b, ids, nil
}

// acceptAll answers a publish with "created" for every event, and GETs of
// the event endpoint with the package description.
func acceptAll(w http.ResponseWriter, r *http.Request, _ int) {
	if r.Method == http.MethodGet {
		writeJSON(w, http.StatusOK, map[string]any{"package": "gtx_bu", "version": "2.1.0", "schemaVersions": []string{"2.0"}})
		return
	}
	b, ids, err := decodeBatch(r)
	if err != nil {
		sfErr(w, http.StatusBadRequest, "JSON_PARSER_ERROR", err.Error())
		return
	}
	results := make([]map[string]string, len(ids))
	for i, id := range ids {
		results[i] = map[string]string{"sourceEventId": id, "status": "created", "id": fmt.Sprintf("a0B%015d", i)}
	}
	writeJSON(w, http.StatusOK, map[string]any{"batchId": b.BatchID, "results": results})
}

// onlyLatestToken wraps an API handler: requests whose bearer token is not
// the org's latest issued token get 401 INVALID_SESSION_ID.
func (o *org) onlyLatestToken(next func(w http.ResponseWriter, r *http.Request, n int)) func(w http.ResponseWriter, r *http.Request, n int) {
	return func(w http.ResponseWriter, r *http.Request, n int) {
		if r.Header.Get("Authorization") != "Bearer "+tokenFor(int(o.tokenReqs.Load())) {
			sfErr(w, http.StatusUnauthorized, "INVALID_SESSION_ID", "Session expired or invalid")
			return
		}
		next(w, r, n)
	}
}

// newClient returns a client for o, closed at the end of the test.
func newClient(t testing.TB, o *org, mods ...func(*salesforce.Config)) *salesforce.Client {
	t.Helper()
	cfg := salesforce.Config{
		ConnectorID:       "acme-prod",
		LoginURL:          o.URL(),
		ConsumerKey:       testKey,
		ConsumerSecret:    testSecret,
		AllowInsecureHTTP: true,
		UserAgentVersion:  "1.2.3",
	}
	for _, m := range mods {
		m(&cfg)
	}
	c, err := salesforce.New(cfg)
	require.NoError(t, err)
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// batch returns n small events and their ids.
func batch(n int) ([]json.RawMessage, []string) {
	events := make([]json.RawMessage, n)
	ids := make([]string, n)
	for i := range n {
		ids[i] = fmt.Sprintf("evt-%04d", i)
		events[i] = json.RawMessage(fmt.Sprintf(`{"sourceEventId":%q,"tenantId":"acme-energy","sourceSystem":"Junifer","eventType":"Bill","externalContextId":"%08d","eventAttributes":[{"name":"grossAmount","value":"148.620"}]}`, ids[i], i))
	}
	return events, ids
}
