package salesforce_test

import (
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gentrack/gcis-bridge/bridge/salesforce"
)

func TestClient_token_errors(t *testing.T) {
	oauthErr := func(status int, code, desc string) func(w http.ResponseWriter, r *http.Request, n int) {
		return func(w http.ResponseWriter, _ *http.Request, _ int) {
			w.Header().Set("Cache-Control", "no-store")
			writeJSON(w, status, map[string]string{"error": code, "error_description": desc})
		}
	}
	raw := func(status int, ctype, body string) func(w http.ResponseWriter, r *http.Request, n int) {
		return func(w http.ResponseWriter, _ *http.Request, _ int) {
			w.Header().Set("Content-Type", ctype)
			w.WriteHeader(status)
			_, _ = w.Write([]byte(body))
		}
	}
	tests := []struct {
		name    string
		token   func(w http.ResponseWriter, r *http.Request, n int)
		class   salesforce.Class
		hold    string
		status  int
		code    string
		message string
	}{
		{"invalid_client_id", oauthErr(400, "invalid_client_id", "client identifier invalid"),
			salesforce.ClassAuth, salesforce.HoldAuth, 400, "invalid_client_id", "client identifier invalid"},
		{"invalid_client", oauthErr(400, "invalid_client", "invalid client credentials"),
			salesforce.ClassAuth, salesforce.HoldAuth, 400, "invalid_client", "invalid client credentials"},
		{"no run-as user", oauthErr(400, "invalid_grant", "no client credentials user enabled"),
			salesforce.ClassAuth, salesforce.HoldAuth, 400, "invalid_grant", "no client credentials user enabled"},
		{"wrong domain", oauthErr(400, "invalid_grant", "request not supported on this domain"),
			salesforce.ClassAuth, salesforce.HoldAuth, 400, "invalid_grant", "request not supported on this domain"},
		{"unsupported_grant_type", oauthErr(400, "unsupported_grant_type", "grant type not supported"),
			salesforce.ClassAuth, salesforce.HoldAuth, 400, "unsupported_grant_type", "grant type not supported"},
		{"401 invalid_client", oauthErr(401, "invalid_client", "invalid client credentials"),
			salesforce.ClassAuth, salesforce.HoldAuth, 401, "invalid_client", "invalid client credentials"},
		{"404 HTML", raw(404, "text/html", "<html><title>Not Found</title></html>"),
			salesforce.ClassAuth, salesforce.HoldAuth, 404, "", "HTML page: Not Found"},
		{"200 without instance_url", func(w http.ResponseWriter, _ *http.Request, n int) {
			writeJSON(w, 200, map[string]string{"access_token": tokenFor(n), "token_type": "Bearer"})
		}, salesforce.ClassAuth, salesforce.HoldAuth, 200, "", "invalid token response: no instance_url"},
		{"200 without access_token", func(w http.ResponseWriter, _ *http.Request, _ int) {
			writeJSON(w, 200, map[string]string{"instance_url": "https://acme.my.salesforce.com"})
		}, salesforce.ClassAuth, salesforce.HoldAuth, 0, "", "invalid token response: oauth2: server response missing access_token"},
		{"500", oauthErr(500, "server_error", "internal"),
			salesforce.ClassTransient, "", 500, "server_error", "internal"},
		{"503 HTML", raw(503, "text/html", html503),
			salesforce.ClassTransient, "", 503, "", "HTML page: Service Not Available"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := newOrg(t)
			o.setToken(tt.token)
			c := newClient(t, o)
			events, ids := batch(1)
			_, err := c.Publish(t.Context(), "b", events, ids)
			var e *salesforce.Error
			require.ErrorAs(t, err, &e)
			assert.Equal(t, "token", e.Op)
			assert.Equal(t, tt.class, e.Class)
			assert.Equal(t, tt.hold, e.Hold)
			assert.Equal(t, tt.status, e.HTTPStatus)
			assert.Equal(t, tt.code, e.Code)
			assert.Equal(t, tt.message, e.Message)
			assert.Zero(t, o.apiReqs.Load(), "no API call without a token")

			// Probe reports the same failure.
			perr := c.Probe(t.Context())
			assert.Equal(t, tt.class, salesforce.ClassOf(perr))
		})
	}
}

func TestClient_refuses_http_instance_url_without_allow_insecure(t *testing.T) {
	var apiCalls atomic.Int32
	plain := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { apiCalls.Add(1) }))
	defer plain.Close()
	login := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, 200, map[string]string{"access_token": tokenFor(1), "instance_url": plain.URL})
	}))
	defer login.Close()
	c, err := salesforce.New(salesforce.Config{
		ConnectorID: "acme", LoginURL: login.URL, ConsumerKey: testKey, ConsumerSecret: testSecret,
		HTTPClient: login.Client(), // trusts the test certificate
	})
	require.NoError(t, err)
	defer c.Close()
	events, ids := batch(1)
	_, err = c.Publish(t.Context(), "b", events, ids)
	var e *salesforce.Error
	require.ErrorAs(t, err, &e)
	assert.Equal(t, salesforce.ClassAuth, e.Class)
	assert.Equal(t, "invalid token response: instance_url must be https", e.Message)
	assert.Zero(t, apiCalls.Load(), "the bearer token is never sent over plain http")
}

func TestClient_verifies_certificates(t *testing.T) {
	login := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, 200, map[string]string{"access_token": tokenFor(1), "instance_url": "https://127.0.0.1:1"})
	}))
	login.Config.ErrorLog = log.New(io.Discard, "", 0) // the refused handshake is expected
	login.StartTLS()
	defer login.Close()
	// The default HTTP client: system trust store, which does not hold the
	// test server's certificate.
	c, err := salesforce.New(salesforce.Config{ConnectorID: "acme", LoginURL: login.URL, ConsumerKey: testKey, ConsumerSecret: testSecret})
	require.NoError(t, err)
	defer c.Close()
	events, ids := batch(1)
	_, err = c.Publish(t.Context(), "b", events, ids)
	var e *salesforce.Error
	require.ErrorAs(t, err, &e)
	assert.Equal(t, salesforce.ClassAuth, e.Class, "a certificate that fails verification is the connector's fault: %v", err)
	assert.Equal(t, salesforce.HoldAuth, e.Hold)
	assert.Contains(t, e.Error(), "certificate")
}
