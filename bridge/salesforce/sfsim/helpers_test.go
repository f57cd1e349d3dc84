package sfsim_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/gentrack/gcis-bridge/bridge/salesforce/sfsim"
)

const (
	acmeKey    = "3MVG9acmeKey"
	acmeSecret = "acme-secret"
	jsonCT     = "application/json;charset=UTF-8"
	eventPath  = "/services/apexrest/gtx_bu/v2/event"
)

// clock is a settable time source.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *clock { return &clock{t: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// sim is a simulator served over real HTTP on loopback.
type sim struct {
	t      testing.TB
	S      *sfsim.Server
	HTTP   *httptest.Server
	Clock  *clock
	Client *http.Client
}

func acmeOrg() sfsim.OrgConfig {
	return sfsim.OrgConfig{ID: "acme", ConsumerKey: acmeKey, ConsumerSecret: acmeSecret}
}

// newSim starts a simulator with the given orgs (acme when none) and a fake
// clock; edit, when given, adjusts the Config.
func newSim(t testing.TB, edit func(*sfsim.Config), orgs ...sfsim.OrgConfig) *sim {
	t.Helper()
	if len(orgs) == 0 {
		orgs = []sfsim.OrgConfig{acmeOrg()}
	}
	clk := newClock()
	cfg := sfsim.Config{Orgs: orgs, Now: clk.Now, Seed: 42}
	if edit != nil {
		edit(&cfg)
	}
	s, err := sfsim.New(cfg)
	require.NoError(t, err)
	ts := httptest.NewServer(s)
	t.Cleanup(func() {
		s.Close()
		ts.Close()
	})
	return &sim{t: t, S: s, HTTP: ts, Clock: clk, Client: &http.Client{Timeout: 20 * time.Second}}
}

func (s *sim) orgURL(org, path string) string { return s.HTTP.URL + "/orgs/" + org + path }

// response is a finished HTTP exchange.
type response struct {
	Status int
	Header http.Header
	Body   []byte
}

func (r response) json(t testing.TB, v any) {
	t.Helper()
	require.NoError(t, json.Unmarshal(r.Body, v), "body: %s", r.Body)
}

// sfErrors decodes a Salesforce error array.
func (r response) sfErrors(t testing.TB) []map[string]any {
	t.Helper()
	var v []map[string]any
	r.json(t, &v)
	return v
}

// request performs one HTTP request; headers are name, value pairs.
func (s *sim) request(method, u string, body []byte, headers ...string) response {
	s.t.Helper()
	req, err := http.NewRequest(method, u, bytes.NewReader(body))
	require.NoError(s.t, err)
	if body == nil {
		req.Body = nil
	}
	for i := 0; i+1 < len(headers); i += 2 {
		if strings.EqualFold(headers[i], "Host") {
			req.Host = headers[i+1]
			continue
		}
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := s.Client.Do(req)
	require.NoError(s.t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(s.t, err)
	return response{Status: resp.StatusCode, Header: resp.Header, Body: b}
}

func (s *sim) postForm(u string, form url.Values, headers ...string) response {
	s.t.Helper()
	return s.request(http.MethodPost, u, []byte(form.Encode()), append([]string{"Content-Type", "application/x-www-form-urlencoded"}, headers...)...)
}

// token fetches a token for org with its key and secret; it returns the
// access token and instance URL.
func (s *sim) token(org, key, secret string) (string, string) {
	s.t.Helper()
	r := s.postForm(s.orgURL(org, "/services/oauth2/token"), url.Values{
		"grant_type": {"client_credentials"}, "client_id": {key}, "client_secret": {secret},
	})
	require.Equal(s.t, http.StatusOK, r.Status, "token: %s", r.Body)
	var tr struct {
		AccessToken string `json:"access_token"`
		InstanceURL string `json:"instance_url"`
	}
	r.json(s.t, &tr)
	return tr.AccessToken, tr.InstanceURL
}

func (s *sim) acmeToken() string {
	tok, _ := s.token("acme", acmeKey, acmeSecret)
	return tok
}

// api calls an authenticated endpoint of org.
func (s *sim) api(method, org, path, tok string, body []byte, headers ...string) response {
	s.t.Helper()
	h := append([]string{"Authorization", "Bearer " + tok}, headers...)
	if body != nil {
		h = append(h, "Content-Type", "application/json")
	}
	return s.request(method, s.orgURL(org, path), body, h...)
}

func (s *sim) publish(tok string, body []byte) response {
	s.t.Helper()
	return s.api(http.MethodPost, "acme", eventPath, tok, body)
}

// event returns a valid managed-package event.
func event(id string) map[string]any {
	return map[string]any{
		"sourceEventId":     id,
		"tenantId":          "acme-energy",
		"sourceSystem":      "Junifer",
		"sourceEventType":   "bill-accepted",
		"eventType":         "Bill",
		"eventSubtype":      "Accepted",
		"eventContext":      "Account",
		"externalContextId": "00000101",
		"externalReference": "11803",
		"occurredAt":        "2025-04-02T05:01:44.000Z",
		"correlationId":     "c-00000101-onboarding",
		"eventAttributes": []any{
			map[string]any{"name": "issueDt", "value": "2025-04-02"},
			map[string]any{"name": "grossAmount", "value": "148.62"},
		},
	}
}

func batchBody(t testing.TB, batchID string, events ...map[string]any) []byte {
	t.Helper()
	list := make([]any, len(events))
	for i, e := range events {
		list[i] = e
	}
	b, err := json.Marshal(map[string]any{"schemaVersion": "2.0", "connectorId": "acme-prod", "batchId": batchID, "events": list})
	require.NoError(t, err)
	return b
}

func eventsN(prefix string, n int) []map[string]any {
	out := make([]map[string]any, n)
	for i := range out {
		out[i] = event(fmt.Sprintf("%s-%03d", prefix, i))
	}
	return out
}

// publishResult is the decoded 200 answer of the event endpoint.
type publishResult struct {
	BatchID string `json:"batchId"`
	Results []struct {
		SourceEventID string `json:"sourceEventId"`
		Status        string `json:"status"`
		ID            string `json:"id"`
		Errors        []struct {
			StatusCode string   `json:"statusCode"`
			Message    string   `json:"message"`
			Fields     []string `json:"fields"`
		} `json:"errors"`
	} `json:"results"`
}

func (s *sim) addFault(org string, f sfsim.Fault) sfsim.Fault {
	s.t.Helper()
	added, err := s.S.AddFault(org, f)
	require.NoError(s.t, err)
	return added
}

// requireSFError checks a Salesforce error-array answer exactly.
func requireSFError(t testing.TB, r response, status int, code, message string) {
	t.Helper()
	require.Equal(t, status, r.Status, "body: %s", r.Body)
	require.Equal(t, jsonCT, r.Header.Get("Content-Type"))
	errs := r.sfErrors(t)
	require.Len(t, errs, 1)
	require.Equal(t, code, errs[0]["errorCode"])
	if message != "" {
		require.Equal(t, message, errs[0]["message"])
	}
}
