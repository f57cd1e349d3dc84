package sfsim_test

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gentrack/gcis-bridge/bridge/salesforce/sfsim"
)

var tokenPattern = regexp.MustCompile(`^(00D[0-9A-Za-z]{12})!AQ[A-Za-z0-9._]{90,}$`)

func TestToken_success(t *testing.T) {
	s := newSim(t, nil, sfsim.OrgConfig{ID: "acme", ConsumerKey: acmeKey, ConsumerSecret: acmeSecret, SecondarySecret: "old-secret"},
		sfsim.OrgConfig{ID: "plus", ConsumerKey: "k+/=", ConsumerSecret: "s3cr:t+/="})
	tests := []struct {
		name     string
		org      string
		form     url.Values
		basic    [2]string
		secret   string // the secret the signature must be keyed with
		host     string
		proto    string
		instance string
	}{
		{name: "form", org: "acme", form: url.Values{"client_id": {acmeKey}, "client_secret": {acmeSecret}}, secret: acmeSecret,
			instance: s.HTTP.URL + "/orgs/acme"},
		{name: "basic", org: "acme", basic: [2]string{acmeKey, acmeSecret}, secret: acmeSecret, instance: s.HTTP.URL + "/orgs/acme"},
		{name: "secondary secret", org: "acme", form: url.Values{"client_id": {acmeKey}, "client_secret": {"old-secret"}},
			secret: "old-secret", instance: s.HTTP.URL + "/orgs/acme"},
		{name: "basic with form-encoded values", org: "plus", basic: [2]string{url.QueryEscape("k+/="), url.QueryEscape("s3cr:t+/=")},
			secret: "s3cr:t+/=", instance: s.HTTP.URL + "/orgs/plus"},
		{name: "basic raw values", org: "plus", basic: [2]string{"k+/=", "s3cr:t+/="}, secret: "s3cr:t+/=", instance: s.HTTP.URL + "/orgs/plus"},
		{name: "host routing with port", org: "", host: "acme.my.salesforce.com:8443",
			form: url.Values{"client_id": {acmeKey}, "client_secret": {acmeSecret}}, secret: acmeSecret,
			instance: "http://acme.my.salesforce.com:8443"},
		{name: "host routing", org: "", host: "ACME.my.salesforce.com",
			form: url.Values{"client_id": {acmeKey}, "client_secret": {acmeSecret}}, secret: acmeSecret,
			instance: "http://ACME.my.salesforce.com"},
		{name: "behind a TLS proxy", org: "", host: "acme.my.salesforce.com", proto: "https",
			form: url.Values{"client_id": {acmeKey}, "client_secret": {acmeSecret}}, secret: acmeSecret,
			instance: "https://acme.my.salesforce.com"},
		{name: "sandbox host", org: "", host: "acme.sandbox.my.salesforce.com",
			form: url.Values{"client_id": {acmeKey}, "client_secret": {acmeSecret}}, secret: acmeSecret,
			instance: "http://acme.sandbox.my.salesforce.com"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			form := url.Values{"grant_type": {"client_credentials"}}
			for k, v := range tt.form {
				form[k] = v
			}
			u := s.HTTP.URL + "/services/oauth2/token"
			if tt.org != "" {
				u = s.orgURL(tt.org, "/services/oauth2/token")
			}
			var headers []string
			if tt.basic[0] != "" {
				headers = append(headers, "Authorization", "Basic "+base64.StdEncoding.EncodeToString([]byte(tt.basic[0]+":"+tt.basic[1])))
			}
			if tt.host != "" {
				headers = append(headers, "Host", tt.host)
			}
			if tt.proto != "" {
				headers = append(headers, "X-Forwarded-Proto", tt.proto)
			}
			r := s.postForm(u, form, headers...)
			require.Equal(t, http.StatusOK, r.Status, "body: %s", r.Body)
			assert.Equal(t, jsonCT, r.Header.Get("Content-Type"))
			assert.Equal(t, "no-store", r.Header.Get("Cache-Control"))
			var body map[string]any
			r.json(t, &body)
			assert.NotContains(t, body, "expires_in")
			assert.NotContains(t, body, "refresh_token")
			for _, k := range []string{"access_token", "signature", "scope", "instance_url", "id", "token_type", "issued_at"} {
				assert.IsType(t, "", body[k], k)
			}
			assert.Equal(t, "Bearer", body["token_type"])
			assert.Equal(t, "api", body["scope"])
			assert.Equal(t, tt.instance, body["instance_url"])
			assert.Equal(t, strconv.FormatInt(s.Clock.Now().UnixMilli(), 10), body["issued_at"])
			m := tokenPattern.FindStringSubmatch(body["access_token"].(string))
			require.NotNil(t, m, "token format")
			id := body["id"].(string)
			require.Regexp(t, `^https://login\.salesforce\.com/id/00D[0-9A-Za-z]{15}/005[0-9A-Za-z]{15}$`, id)
			orgID18 := strings.Split(id, "/")[4]
			assert.Equal(t, m[1], orgID18[:15], "token starts with the org id")
			assert.True(t, sfsim.ValidID(orgID18))
			mac := hmac.New(sha256.New, []byte(tt.secret))
			mac.Write([]byte(id + body["issued_at"].(string)))
			assert.Equal(t, base64.StdEncoding.EncodeToString(mac.Sum(nil)), body["signature"])
		})
	}
}

func TestToken_errors(t *testing.T) {
	noRunAs := false
	s := newSim(t, nil, acmeOrg(), sfsim.OrgConfig{ID: "norunas", ConsumerKey: "k2", ConsumerSecret: "s2", RunAsUser: &noRunAs})
	good := url.Values{"grant_type": {"client_credentials"}, "client_id": {acmeKey}, "client_secret": {acmeSecret}}
	with := func(k, v string) url.Values {
		f := url.Values{}
		for kk, vv := range good {
			f[kk] = vv
		}
		if v == "" {
			f.Del(k)
		} else {
			f.Set(k, v)
		}
		return f
	}
	tests := []struct {
		name    string
		method  string
		url     string
		form    url.Values
		headers []string
		code    string
		desc    string
	}{
		{name: "unknown consumer key", form: with("client_id", "nope"), code: "invalid_client_id", desc: "client identifier invalid"},
		{name: "missing consumer key", form: with("client_id", ""), code: "invalid_client_id", desc: "client identifier invalid"},
		{name: "wrong secret", form: with("client_secret", "wrong"), code: "invalid_client", desc: "invalid client credentials"},
		{name: "missing secret", form: with("client_secret", ""), code: "invalid_client", desc: "invalid client credentials"},
		{name: "no run as user", url: "/orgs/norunas/services/oauth2/token",
			form: url.Values{"grant_type": {"client_credentials"}, "client_id": {"k2"}, "client_secret": {"s2"}},
			code: "invalid_grant", desc: "no client credentials user enabled"},
		{name: "generic host", url: "/services/oauth2/token", form: good, code: "invalid_grant", desc: "request not supported on this domain"},
		{name: "login.salesforce.com", url: "/services/oauth2/token", form: good, headers: []string{"Host", "login.salesforce.com"},
			code: "invalid_grant", desc: "request not supported on this domain"},
		{name: "test.salesforce.com", url: "/services/oauth2/token", form: good, headers: []string{"Host", "test.salesforce.com"},
			code: "invalid_grant", desc: "request not supported on this domain"},
		{name: "password grant", form: with("grant_type", "password"), code: "unsupported_grant_type", desc: "grant type not supported"},
		{name: "missing grant", form: with("grant_type", ""), code: "invalid_request", desc: "grant type is missing"},
		{name: "GET", method: http.MethodGet, code: "invalid_request", desc: "must use HTTP POST"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			u := s.orgURL("acme", "/services/oauth2/token")
			if tt.url != "" {
				u = s.HTTP.URL + tt.url
			}
			var r response
			if tt.method == http.MethodGet {
				r = s.request(http.MethodGet, u, nil, tt.headers...)
			} else {
				r = s.postForm(u, tt.form, tt.headers...)
			}
			require.Equal(t, http.StatusBadRequest, r.Status, "body: %s", r.Body)
			assert.Equal(t, jsonCT, r.Header.Get("Content-Type"))
			assert.Equal(t, "no-store", r.Header.Get("Cache-Control"))
			var body map[string]string
			r.json(t, &body)
			assert.Equal(t, map[string]string{"error": tt.code, "error_description": tt.desc}, body)
			assert.NotContains(t, string(r.Body), acmeSecret)
		})
	}
	st, err := s.S.Stats("acme")
	require.NoError(t, err)
	assert.Zero(t, st.TokensIssued)
	assert.Positive(t, st.TokenErrors)
}

func TestToken_rotation_keeps_two_secrets(t *testing.T) {
	s := newSim(t, nil)
	oldTok := s.acmeToken()
	newSecret, oldSecret := "acme-secret-2", acmeSecret
	require.NoError(t, s.S.UpdateOrg("acme", sfsim.OrgPatch{ConsumerSecret: &newSecret, SecondarySecret: &oldSecret}))
	s.token("acme", acmeKey, "acme-secret-2")
	s.token("acme", acmeKey, acmeSecret)
	empty := ""
	require.NoError(t, s.S.UpdateOrg("acme", sfsim.OrgPatch{SecondarySecret: &empty}))
	r := s.postForm(s.orgURL("acme", "/services/oauth2/token"), url.Values{
		"grant_type": {"client_credentials"}, "client_id": {acmeKey}, "client_secret": {acmeSecret}})
	require.Equal(t, http.StatusBadRequest, r.Status)
	assert.Contains(t, string(r.Body), `"invalid_client"`)
	// A token issued before the rotation stays valid.
	assert.Equal(t, http.StatusOK, s.api(http.MethodGet, "acme", "/services/data/v62.0/limits", oldTok, nil).Status)
}

func TestSession_sliding_timeout(t *testing.T) {
	s := newSim(t, nil, sfsim.OrgConfig{ID: "acme", ConsumerKey: acmeKey, ConsumerSecret: acmeSecret, SessionTimeout: 10 * time.Minute})
	tok := s.acmeToken()
	limits := func() response { return s.api(http.MethodGet, "acme", "/services/data/v62.0/limits", tok, nil) }
	for i := 0; i < 3; i++ { // each use slides the timeout
		s.Clock.Advance(9 * time.Minute)
		require.Equal(t, http.StatusOK, limits().Status, "use %d", i)
	}
	s.Clock.Advance(10 * time.Minute)
	requireSFError(t, limits(), http.StatusUnauthorized, "INVALID_SESSION_ID", "Session expired or invalid")
	// Once expired it stays expired.
	s.Clock.Advance(-10 * time.Minute)
	requireSFError(t, limits(), http.StatusUnauthorized, "INVALID_SESSION_ID", "Session expired or invalid")
}

func TestSession_default_timeout_is_two_hours(t *testing.T) {
	s := newSim(t, nil)
	tok := s.acmeToken()
	s.Clock.Advance(2*time.Hour - time.Second)
	require.Equal(t, http.StatusOK, s.api(http.MethodGet, "acme", "/services/data/v62.0/limits", tok, nil).Status)
	s.Clock.Advance(2 * time.Hour)
	require.Equal(t, http.StatusUnauthorized, s.api(http.MethodGet, "acme", "/services/data/v62.0/limits", tok, nil).Status)
}

func TestIntrospect(t *testing.T) {
	s := newSim(t, nil, sfsim.OrgConfig{ID: "acme", ConsumerKey: acmeKey, ConsumerSecret: acmeSecret, SessionTimeout: time.Hour})
	tok := s.acmeToken()
	issued := s.Clock.Now()
	u := s.orgURL("acme", "/services/oauth2/introspect")
	auth := url.Values{"client_id": {acmeKey}, "client_secret": {acmeSecret}, "token_type_hint": {"access_token"}}
	form := func(token string) url.Values {
		f := url.Values{"token": {token}}
		for k, v := range auth {
			f[k] = v
		}
		return f
	}
	t.Run("active", func(t *testing.T) {
		r := s.postForm(u, form(tok))
		require.Equal(t, http.StatusOK, r.Status)
		var body map[string]any
		r.json(t, &body)
		assert.Equal(t, true, body["active"])
		assert.Equal(t, acmeKey, body["client_id"])
		assert.Equal(t, "access_token", body["token_type"])
		assert.Equal(t, float64(issued.Add(time.Hour).Unix()), body["exp"])
		assert.Equal(t, float64(issued.Unix()), body["iat"])
		assert.Regexp(t, `^https://login\.salesforce\.com/id/`, body["sub"])
	})
	t.Run("basic client auth", func(t *testing.T) {
		r := s.postForm(u, url.Values{"token": {tok}}, "Authorization",
			"Basic "+base64.StdEncoding.EncodeToString([]byte(acmeKey+":"+acmeSecret)))
		require.Equal(t, http.StatusOK, r.Status)
		assert.Contains(t, string(r.Body), `"active":true`)
	})
	t.Run("unknown token", func(t *testing.T) {
		r := s.postForm(u, form("00Dxx!garbage"))
		require.Equal(t, http.StatusOK, r.Status)
		assert.JSONEq(t, `{"active":false}`, string(r.Body))
	})
	t.Run("bad client", func(t *testing.T) {
		f := form(tok)
		f.Set("client_secret", "wrong")
		r := s.postForm(u, f)
		require.Equal(t, http.StatusUnauthorized, r.Status)
		assert.JSONEq(t, `{"error":"invalid_client","error_description":"invalid client credentials"}`, string(r.Body))
	})
	t.Run("expired", func(t *testing.T) {
		s.Clock.Advance(time.Hour)
		r := s.postForm(u, form(tok))
		require.Equal(t, http.StatusOK, r.Status)
		assert.JSONEq(t, `{"active":false}`, string(r.Body))
	})
}

func TestRevoke(t *testing.T) {
	s := newSim(t, nil)
	tok := s.acmeToken()
	u := s.orgURL("acme", "/services/oauth2/revoke")
	tests := []struct {
		name   string
		form   url.Values
		status int
		body   string
	}{
		{name: "missing token", form: url.Values{}, status: 400, body: `{"error":"unsupported_token_type","error_description":"this token type is not supported"}`},
		{name: "unknown token", form: url.Values{"token": {"nope"}}, status: 400, body: `{"error":"invalid_token","error_description":"invalid token"}`},
		{name: "revoked", form: url.Values{"token": {tok}}, status: 200},
		{name: "revoked twice", form: url.Values{"token": {tok}}, status: 400, body: `{"error":"invalid_token","error_description":"invalid token"}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := s.postForm(u, tt.form)
			require.Equal(t, tt.status, r.Status)
			if tt.body != "" {
				assert.JSONEq(t, tt.body, string(r.Body))
			} else {
				assert.Empty(t, r.Body)
			}
		})
	}
	requireSFError(t, s.api(http.MethodGet, "acme", "/services/data/v62.0/limits", tok, nil),
		http.StatusUnauthorized, "INVALID_SESSION_ID", "Session expired or invalid")
	// GET with a query parameter is accepted too.
	tok2 := s.acmeToken()
	r := s.request(http.MethodGet, u+"?token="+url.QueryEscape(tok2), nil)
	require.Equal(t, http.StatusOK, r.Status)
	require.Equal(t, http.StatusUnauthorized, s.api(http.MethodGet, "acme", "/services/data/v62.0/limits", tok2, nil).Status)
}

func TestToken_instance_url_round_trip(t *testing.T) {
	s := newSim(t, nil)
	tok, instance := s.token("acme", acmeKey, acmeSecret)
	require.Equal(t, s.HTTP.URL+"/orgs/acme", instance)
	r := s.request(http.MethodGet, instance+eventPath, nil, "Authorization", "Bearer "+tok)
	require.Equal(t, http.StatusOK, r.Status, "body: %s", r.Body)
	assert.JSONEq(t, `{"package":"gtx_bu","version":"2.4.0","schemaVersions":["2.0"]}`, string(r.Body))
}

func TestToken_of_another_org_is_refused(t *testing.T) {
	s := newSim(t, nil, acmeOrg(), sfsim.OrgConfig{ID: "beta", ConsumerKey: "bk", ConsumerSecret: "bs"})
	tok, _ := s.token("beta", "bk", "bs")
	requireSFError(t, s.api(http.MethodGet, "acme", eventPath, tok, nil), http.StatusUnauthorized, "INVALID_SESSION_ID", "Session expired or invalid")
}
