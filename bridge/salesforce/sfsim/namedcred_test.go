package sfsim_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const ncBase = "/services/data/v62.0/named-credentials"

// gentrack is a stand-in for the Gentrack token service and gateway.
type gentrack struct {
	srv      *httptest.Server
	mu       sync.Mutex
	clientID string
	secrets  map[string]bool
	basic    bool // require HTTP Basic client authentication
	tokens   int
}

func newGentrack(t *testing.T, clientID, secret string, basic bool) *gentrack {
	g := &gentrack{clientID: clientID, secrets: map[string]bool{secret: true}, basic: basic}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /v1/token", func(w http.ResponseWriter, r *http.Request) {
		_ = r.ParseForm()
		id, sec, ok := r.BasicAuth()
		if !g.basic {
			id, sec, ok = r.PostForm.Get("client_id"), r.PostForm.Get("client_secret"), r.PostForm.Get("client_id") != ""
		}
		g.mu.Lock()
		valid := ok && id == g.clientID && g.secrets[sec] && r.PostForm.Get("grant_type") == "client_credentials"
		if valid {
			g.tokens++
		}
		g.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		if !valid {
			w.Header().Set("WWW-Authenticate", `Basic realm="gcis"`)
			w.WriteHeader(http.StatusUnauthorized)
			_, _ = io.WriteString(w, `{"error":"invalid_client"}`)
			return
		}
		_, _ = io.WriteString(w, `{"access_token":"jwt-abc","token_type":"Bearer","expires_in":900}`)
	})
	mux.HandleFunc("/v1/", func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer jwt-abc" {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		body, _ := io.ReadAll(r.Body)
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("X-Trace-Id", "t-1")
		_ = json.NewEncoder(w).Encode(map[string]string{"method": r.Method, "path": r.URL.RequestURI(), "body": string(body),
			"content_type": r.Header.Get("Content-Type")})
	})
	g.srv = httptest.NewServer(mux)
	t.Cleanup(g.srv.Close)
	return g
}

func (g *gentrack) setSecrets(s ...string) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.secrets = map[string]bool{}
	for _, v := range s {
		g.secrets[v] = true
	}
}

func mustJSON(t testing.TB, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	require.NoError(t, err)
	return b
}

func externalCredentialInput(tokenURL, variant string) map[string]any {
	return map[string]any{
		"developerName":                 "GCIS_Gentrack",
		"masterLabel":                   "GCIS Gentrack",
		"authenticationProtocol":        "OAuth",
		"authenticationProtocolVariant": variant,
		"parameters": []any{
			map[string]any{"parameterName": "AuthProviderUrl", "parameterType": "AuthProviderUrl", "parameterValue": tokenURL},
		},
		"principals": []any{map[string]any{"principalName": "GCIS_Principal", "principalType": "NamedPrincipal", "sequenceNumber": 1}},
	}
}

func namedCredentialInput(calloutURL string) map[string]any {
	return map[string]any{
		"developerName":       "GCIS_Gentrack_API",
		"masterLabel":         "GCIS Gentrack API",
		"type":                "SecuredEndpoint",
		"calloutUrl":          calloutURL,
		"externalCredentials": []any{map[string]any{"developerName": "GCIS_Gentrack"}},
		"calloutOptions":      map[string]any{"generateAuthorizationHeader": true, "allowMergeFieldsInHeader": false, "allowMergeFieldsInBody": false},
	}
}

func credentialInput(clientID, secret string) map[string]any {
	return map[string]any{
		"externalCredential":            "GCIS_Gentrack",
		"principalName":                 "GCIS_Principal",
		"principalType":                 "NamedPrincipal",
		"authenticationProtocol":        "OAuth",
		"authenticationProtocolVariant": "ClientCredentialsClientSecretBasic",
		"credentials": map[string]any{
			"clientId":     map[string]any{"value": clientID, "encrypted": false},
			"clientSecret": map[string]any{"value": secret, "encrypted": true},
		},
	}
}

// callout performs POST /_sim/orgs/acme/callout.
func (s *sim) callout(req map[string]any) response {
	s.t.Helper()
	return s.request(http.MethodPost, s.HTTP.URL+"/_sim/orgs/acme/callout", mustJSON(s.t, req), "Content-Type", "application/json")
}

func TestNamedCredential_lifecycle_and_callout(t *testing.T) {
	for _, variant := range []string{"ClientCredentialsClientSecretBasic", "ClientCredentialsClientSecret"} {
		t.Run(variant, func(t *testing.T) {
			s := newSim(t, nil)
			tok := s.acmeToken()
			g := newGentrack(t, "gcis_abc", "secret-1", variant == "ClientCredentialsClientSecretBasic")

			// 1. External credential.
			r := s.api(http.MethodPost, "acme", ncBase+"/external-credentials", tok, mustJSON(t, externalCredentialInput(g.srv.URL+"/v1/token", variant)))
			require.Equal(t, http.StatusCreated, r.Status, "body: %s", r.Body)
			assert.Equal(t, jsonCT, r.Header.Get("Content-Type"))
			assert.NotEmpty(t, r.Header.Get("Sforce-Limit-Info"))
			var ec map[string]any
			r.json(t, &ec)
			assert.Equal(t, "GCIS_Gentrack", ec["developerName"])
			assert.Regexp(t, `^0pt[0-9A-Za-z]{15}$`, ec["id"])
			assert.Equal(t, "/services/data/v62.0/named-credentials/external-credentials/GCIS_Gentrack", ec["url"])

			// 2. Named credential.
			r = s.api(http.MethodPost, "acme", ncBase+"/named-credential-setup", tok, mustJSON(t, namedCredentialInput(g.srv.URL+"/v1")))
			require.Equal(t, http.StatusCreated, r.Status, "body: %s", r.Body)

			// 3. Principal secrets.
			r = s.api(http.MethodPost, "acme", ncBase+"/credential", tok, mustJSON(t, credentialInput("gcis_abc", "secret-1")))
			require.Equal(t, http.StatusCreated, r.Status, "body: %s", r.Body)
			assert.NotContains(t, string(r.Body), "secret-1")

			// Read back.
			r = s.api(http.MethodGet, "acme", ncBase+"/credential?externalCredential=GCIS_Gentrack&principalName=GCIS_Principal&principalType=NamedPrincipal", tok, nil)
			require.Equal(t, http.StatusOK, r.Status)
			assert.NotContains(t, string(r.Body), "secret-1", "encrypted values are masked")
			var cred struct {
				AuthenticationStatus string `json:"authenticationStatus"`
				Credentials          map[string]struct {
					Value     string `json:"value"`
					Encrypted bool   `json:"encrypted"`
				} `json:"credentials"`
			}
			r.json(t, &cred)
			assert.Equal(t, "Configured", cred.AuthenticationStatus)
			assert.Equal(t, "gcis_abc", cred.Credentials["clientId"].Value)
			assert.True(t, cred.Credentials["clientSecret"].Encrypted)
			r = s.api(http.MethodGet, "acme", ncBase+"/external-credentials/GCIS_Gentrack", tok, nil)
			require.Equal(t, http.StatusOK, r.Status)
			assert.Contains(t, string(r.Body), `"relatedNamedCredentials":[{"developerName":"GCIS_Gentrack_API"`)
			r = s.api(http.MethodGet, "acme", ncBase+"/named-credential-setup/GCIS_Gentrack_API", tok, nil)
			require.Equal(t, http.StatusOK, r.Status)
			assert.Contains(t, string(r.Body), `"calloutUrl":"`+g.srv.URL+`/v1"`)
			r = s.api(http.MethodGet, "acme", ncBase+"/named-credential-setup", tok, nil)
			assert.Contains(t, string(r.Body), `"namedCredentials":[{`)
			r = s.api(http.MethodGet, "acme", ncBase+"/external-credentials", tok, nil)
			assert.Contains(t, string(r.Body), `"externalCredentials":[{`)

			// Callout.
			r = s.callout(map[string]any{"method": "POST", "path": "/junifer/accounts/accountNumber/00000101?x=1", "body": map[string]any{"a": 1}})
			require.Equal(t, http.StatusOK, r.Status, "body: %s", r.Body)
			var out struct {
				Status  int                 `json:"status"`
				Headers map[string][]string `json:"headers"`
				Body    string              `json:"body"`
			}
			r.json(t, &out)
			assert.Equal(t, 200, out.Status)
			assert.Equal(t, []string{"t-1"}, out.Headers["X-Trace-Id"])
			assert.JSONEq(t, `{"method":"POST","path":"/v1/junifer/accounts/accountNumber/00000101?x=1","body":"{\"a\":1}","content_type":"application/json"}`, out.Body)

			// Rotate: only the new secret works upstream; PUT replaces it in the org.
			g.setSecrets("secret-2")
			r = s.callout(map[string]any{"method": "GET", "path": "/velocity/accounts/1"})
			require.Equal(t, http.StatusBadGateway, r.Status)
			var ce map[string]any
			r.json(t, &ce)
			assert.Equal(t, "token", ce["stage"])
			assert.Equal(t, float64(401), ce["token_status"])
			assert.NotContains(t, string(r.Body), "secret-1")
			r = s.api(http.MethodPut, "acme", ncBase+"/credential", tok, mustJSON(t, credentialInput("gcis_abc", "secret-2")))
			require.Equal(t, http.StatusOK, r.Status, "body: %s", r.Body)
			r = s.callout(map[string]any{"path": "/velocity/accounts/1"})
			require.Equal(t, http.StatusOK, r.Status, "body: %s", r.Body)
			assert.Contains(t, string(r.Body), `\"method\":\"GET\"`)

			// Revoke: DELETE removes the secrets; the callout has no credential.
			r = s.api(http.MethodDelete, "acme", ncBase+"/credential?externalCredential=GCIS_Gentrack&principalName=GCIS_Principal&principalType=NamedPrincipal", tok, nil)
			require.Equal(t, http.StatusNoContent, r.Status)
			r = s.callout(map[string]any{"path": "/velocity/accounts/1"})
			require.Equal(t, http.StatusUnprocessableEntity, r.Status)
			assert.Contains(t, string(r.Body), `"stage":"config"`)

			st, _ := s.S.Stats("acme")
			assert.Equal(t, int64(4), st.Callouts)
			summary := s.request(http.MethodGet, s.HTTP.URL+"/_sim/orgs/acme/named-credentials", nil)
			assert.JSONEq(t, `{"external_credentials":["GCIS_Gentrack"],"named_credentials":["GCIS_Gentrack_API"],"credentials":[]}`, string(summary.Body))
		})
	}
}

func TestNamedCredential_errors(t *testing.T) {
	s := newSim(t, nil)
	tok := s.acmeToken()
	ecIn := externalCredentialInput("https://gcis.example.com/v1/token", "ClientCredentialsClientSecretBasic")
	mod := func(m map[string]any, k string, v any) map[string]any {
		out := map[string]any{}
		for kk, vv := range m {
			out[kk] = vv
		}
		if v == nil {
			delete(out, k)
		} else {
			out[k] = v
		}
		return out
	}
	credQuery := "?externalCredential=GCIS_Gentrack&principalName=GCIS_Principal&principalType=NamedPrincipal"
	steps := []struct {
		name   string
		method string
		path   string
		body   any
		status int
		code   string
	}{
		{"credential before its external credential", http.MethodPost, "/credential", credentialInput("id", "s"), 400, "INVALID_INPUT"},
		{"named credential without external credential", http.MethodPost, "/named-credential-setup", namedCredentialInput("https://gcis.example.com/v1"), 400, "INVALID_INPUT"},
		{"external credential missing name", http.MethodPost, "/external-credentials", mod(ecIn, "developerName", nil), 400, "REQUIRED_FIELD_MISSING"},
		{"external credential bad protocol", http.MethodPost, "/external-credentials", mod(ecIn, "authenticationProtocol", "Oauth"), 400, "INVALID_INPUT"},
		{"external credential bad variant", http.MethodPost, "/external-credentials", mod(ecIn, "authenticationProtocolVariant", "ClientSecret"), 400, "INVALID_INPUT"},
		{"external credential bad name", http.MethodPost, "/external-credentials", mod(ecIn, "developerName", "1bad-name"), 400, "INVALID_INPUT"},
		{"malformed JSON", http.MethodPost, "/external-credentials", json.RawMessage(`{"developerName":`), 400, "JSON_PARSER_ERROR"},
		{"wrong type", http.MethodPost, "/external-credentials", json.RawMessage(`{"developerName":["x"]}`), 400, "JSON_PARSER_ERROR"},
		{"get missing", http.MethodGet, "/external-credentials/GCIS_Gentrack", nil, 404, "NOT_FOUND"},
		{"put missing", http.MethodPut, "/external-credentials/GCIS_Gentrack", ecIn, 404, "NOT_FOUND"},
		{"create", http.MethodPost, "/external-credentials", ecIn, 201, ""},
		{"create twice", http.MethodPost, "/external-credentials", ecIn, 400, "DUPLICATE_DEVELOPER_NAME"},
		{"put other name", http.MethodPut, "/external-credentials/Other", ecIn, 400, "INVALID_INPUT"},
		{"put", http.MethodPut, "/external-credentials/GCIS_Gentrack", mod(ecIn, "masterLabel", "Renamed"), 200, ""},
		{"named credential bad URL", http.MethodPost, "/named-credential-setup", mod(namedCredentialInput("x"), "calloutUrl", "ftp://x"), 400, "INVALID_INPUT"},
		{"named credential bad type", http.MethodPost, "/named-credential-setup", mod(namedCredentialInput("https://gcis.example.com/v1"), "type", "Legacy"), 400, "INVALID_INPUT"},
		{"named credential missing URL", http.MethodPost, "/named-credential-setup", mod(namedCredentialInput(""), "calloutUrl", nil), 400, "REQUIRED_FIELD_MISSING"},
		{"named credential", http.MethodPost, "/named-credential-setup", namedCredentialInput("https://gcis.example.com/v1"), 201, ""},
		{"named credential twice", http.MethodPost, "/named-credential-setup", namedCredentialInput("https://gcis.example.com/v1"), 400, "DUPLICATE_DEVELOPER_NAME"},
		{"credential unknown principal", http.MethodPost, "/credential", mod(credentialInput("id", "s"), "principalName", "Nobody"), 400, "INVALID_INPUT"},
		{"credential wrong protocol", http.MethodPost, "/credential", mod(credentialInput("id", "s"), "authenticationProtocol", "Custom"), 400, "INVALID_INPUT"},
		{"credential without values", http.MethodPost, "/credential", mod(credentialInput("id", "s"), "credentials", map[string]any{}), 400, "REQUIRED_FIELD_MISSING"},
		{"credential put before post", http.MethodPut, "/credential", credentialInput("id", "s"), 404, "NOT_FOUND"},
		{"credential", http.MethodPost, "/credential", credentialInput("id", "s"), 201, ""},
		{"credential twice", http.MethodPost, "/credential", credentialInput("id", "s"), 400, "DUPLICATE_VALUE"},
		{"credential get without query", http.MethodGet, "/credential", nil, 400, "REQUIRED_FIELD_MISSING"},
		{"delete referenced external credential", http.MethodDelete, "/external-credentials/GCIS_Gentrack", nil, 400, "DELETE_FAILED"},
		{"collection PATCH", http.MethodPatch, "/external-credentials", ecIn, 405, "METHOD_NOT_ALLOWED"},
		{"unknown resource", http.MethodGet, "/credential/auth-url/o-auth", nil, 404, "NOT_FOUND"},
		{"delete named credential", http.MethodDelete, "/named-credential-setup/GCIS_Gentrack_API", nil, 204, ""},
		{"delete named credential twice", http.MethodDelete, "/named-credential-setup/GCIS_Gentrack_API", nil, 404, "NOT_FOUND"},
		{"delete external credential", http.MethodDelete, "/external-credentials/GCIS_Gentrack", nil, 204, ""},
		{"its credential went with it", http.MethodGet, "/credential" + credQuery, nil, 404, "NOT_FOUND"},
	}
	for _, st := range steps { // in order: each step builds on the previous ones
		var body []byte
		switch b := st.body.(type) {
		case nil:
		case json.RawMessage:
			body = b
		default:
			body = mustJSON(t, b)
		}
		r := s.api(st.method, "acme", ncBase+st.path, tok, body)
		if st.code == "" {
			require.Equal(t, st.status, r.Status, "%s: %s", st.name, r.Body)
			continue
		}
		requireSFError(t, r, st.status, st.code, "")
		assert.NotContains(t, string(r.Body), `"s"`, st.name)
	}
}

func TestCallout_setup_errors(t *testing.T) {
	s := newSim(t, nil)
	tok := s.acmeToken()
	r := s.callout(map[string]any{"path": "/x"})
	require.Equal(t, http.StatusUnprocessableEntity, r.Status)
	assert.Contains(t, string(r.Body), "no named credential installed")
	r = s.callout(map[string]any{"named_credential": "Nope", "path": "/x"})
	require.Equal(t, http.StatusUnprocessableEntity, r.Status)
	r = s.request(http.MethodPost, s.HTTP.URL+"/_sim/orgs/nobody/callout", []byte(`{"path":"/x"}`))
	require.Equal(t, http.StatusNotFound, r.Status)
	r = s.request(http.MethodPost, s.HTTP.URL+"/_sim/orgs/acme/callout", []byte(`{"path":"/x","bogus":1}`))
	require.Equal(t, http.StatusBadRequest, r.Status)

	// Token endpoint unreachable.
	g := newGentrack(t, "id", "sec", true)
	url := g.srv.URL
	g.srv.Close()
	require.Equal(t, http.StatusCreated, s.api(http.MethodPost, "acme", ncBase+"/external-credentials", tok,
		mustJSON(t, externalCredentialInput(url+"/v1/token", "ClientCredentialsClientSecretBasic"))).Status)
	require.Equal(t, http.StatusCreated, s.api(http.MethodPost, "acme", ncBase+"/named-credential-setup", tok,
		mustJSON(t, namedCredentialInput(url+"/v1"))).Status)
	r = s.callout(map[string]any{"path": "/x"})
	require.Equal(t, http.StatusUnprocessableEntity, r.Status, "no credential yet: %s", r.Body)
	require.Equal(t, http.StatusCreated, s.api(http.MethodPost, "acme", ncBase+"/credential", tok, mustJSON(t, credentialInput("id", "sec"))).Status)
	r = s.callout(map[string]any{"path": "/x"})
	require.Equal(t, http.StatusBadGateway, r.Status)
	assert.Contains(t, string(r.Body), `"stage":"token"`)
	assert.False(t, strings.Contains(string(r.Body), "sec\""), "no secret in the error")
}
