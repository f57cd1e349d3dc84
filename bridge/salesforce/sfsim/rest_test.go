package sfsim_test

import (
	"context"
	"net/http"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gentrack/gcis-bridge/bridge/salesforce/sfsim"
)

func TestVersions_unauthenticated(t *testing.T) {
	s := newSim(t, nil)
	for _, u := range []string{s.orgURL("acme", "/services/data/"), s.orgURL("acme", "/services/data"), s.HTTP.URL + "/services/data/"} {
		r := s.request(http.MethodGet, u, nil)
		require.Equal(t, http.StatusOK, r.Status, u)
		assert.Equal(t, jsonCT, r.Header.Get("Content-Type"))
		assert.Empty(t, r.Header.Get("Sforce-Limit-Info"), "no limit info on the versions list")
		var list []map[string]string
		r.json(t, &list)
		require.Len(t, list, 62-31+1)
		assert.Equal(t, map[string]string{"label": "Winter '25", "url": "/services/data/v62.0", "version": "62.0"}, list[len(list)-1])
		assert.Equal(t, map[string]string{"label": "Summer '14", "url": "/services/data/v31.0", "version": "31.0"}, list[0])
		assert.Equal(t, "Spring '24", list[60-31]["label"])
	}
	st, err := s.S.Stats("acme")
	require.NoError(t, err)
	assert.Zero(t, st.APIUsage.Used, "the versions list does not count")
}

func TestLimits_and_usage_header(t *testing.T) {
	s := newSim(t, nil)
	tok := s.acmeToken()
	for i := 1; i <= 3; i++ {
		r := s.api(http.MethodGet, "acme", "/services/data/v62.0/limits", tok, nil)
		require.Equal(t, http.StatusOK, r.Status)
		assert.Equal(t, jsonCT, r.Header.Get("Content-Type"))
		assert.Equal(t, "api-usage="+strconv.Itoa(i)+"/100000", r.Header.Get("Sforce-Limit-Info"))
		var body map[string]struct{ Max, Remaining int64 }
		r.json(t, &body)
		assert.Equal(t, int64(100000), body["DailyApiRequests"].Max)
		assert.Equal(t, int64(100000-i), body["DailyApiRequests"].Remaining)
		assert.Contains(t, body, "DailyAsyncApexExecutions")
	}
	r := s.api(http.MethodGet, "acme", eventPath, tok, nil)
	assert.Equal(t, "api-usage=4/100000", r.Header.Get("Sforce-Limit-Info"), "apexrest calls count and carry the header")
}

func TestDailyLimit_exhaustion(t *testing.T) {
	s := newSim(t, nil, sfsim.OrgConfig{ID: "acme", ConsumerKey: acmeKey, ConsumerSecret: acmeSecret, DailyAPIMax: 3})
	tok := s.acmeToken()
	for i := 0; i < 3; i++ {
		require.Equal(t, http.StatusOK, s.api(http.MethodGet, "acme", eventPath, tok, nil).Status)
	}
	for _, path := range []string{eventPath, "/services/data/v62.0/limits"} {
		r := s.api(http.MethodGet, "acme", path, tok, nil)
		requireSFError(t, r, http.StatusForbidden, "REQUEST_LIMIT_EXCEEDED", "TotalRequests Limit exceeded.")
		assert.Equal(t, "api-usage=3/3", r.Header.Get("Sforce-Limit-Info"))
	}
	// Raising the allocation lets calls through again.
	more := 10
	require.NoError(t, s.S.UpdateOrg("acme", sfsim.OrgPatch{DailyAPIMax: &more}))
	assert.Equal(t, http.StatusOK, s.api(http.MethodGet, "acme", eventPath, tok, nil).Status)
	require.NoError(t, s.S.SetAPIUsage("acme", 10))
	assert.Equal(t, http.StatusForbidden, s.api(http.MethodGet, "acme", eventPath, tok, nil).Status)
}

func TestUnauthenticated_API_calls(t *testing.T) {
	s := newSim(t, nil)
	tests := []struct {
		name   string
		header string
	}{
		{name: "no header", header: ""},
		{name: "garbage token", header: "Bearer 00Dxx!nope"},
		{name: "basic scheme", header: "Basic YTpi"},
		{name: "empty bearer", header: "Bearer "},
	}
	for _, tt := range tests {
		for _, path := range []string{eventPath, "/services/data/v62.0/limits", "/services/data/v62.0/named-credentials/external-credentials"} {
			t.Run(tt.name+path, func(t *testing.T) {
				var h []string
				if tt.header != "" {
					h = []string{"Authorization", tt.header}
				}
				r := s.request(http.MethodGet, s.orgURL("acme", path), nil, h...)
				requireSFError(t, r, http.StatusUnauthorized, "INVALID_SESSION_ID", "Session expired or invalid")
			})
		}
	}
	st, _ := s.S.Stats("acme")
	assert.Zero(t, st.APIUsage.Used, "refused calls do not count")
}

func TestData_not_found(t *testing.T) {
	s := newSim(t, nil)
	tok := s.acmeToken()
	tests := []struct{ name, path string }{
		{"unknown resource", "/services/data/v62.0/sobjects/Account"},
		{"version above the newest", "/services/data/v99.0/limits"},
		{"retired version", "/services/data/v20.0/limits"},
		{"not a version", "/services/data/latest/limits"},
		{"outside services", "/home/home.jsp"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			requireSFError(t, s.api(http.MethodGet, "acme", tt.path, tok, nil), http.StatusNotFound, "NOT_FOUND", "The requested resource does not exist")
		})
	}
	t.Run("resources", func(t *testing.T) {
		r := s.api(http.MethodGet, "acme", "/services/data/v62.0/", tok, nil)
		require.Equal(t, http.StatusOK, r.Status)
		var m map[string]string
		r.json(t, &m)
		assert.Equal(t, "/services/data/v62.0/limits", m["limits"])
	})
	t.Run("POST limits", func(t *testing.T) {
		r := s.api(http.MethodPost, "acme", "/services/data/v62.0/limits", tok, []byte(`{}`))
		requireSFError(t, r, http.StatusMethodNotAllowed, "METHOD_NOT_ALLOWED", "HTTP Method 'POST' not allowed. Allowed are GET,HEAD")
	})
	t.Run("unknown org", func(t *testing.T) {
		r := s.request(http.MethodGet, s.orgURL("nobody", "/services/data/v62.0/limits"), nil)
		requireSFError(t, r, http.StatusNotFound, "NOT_FOUND", `sfsim: no org "nobody"`)
		r = s.request(http.MethodGet, s.HTTP.URL+"/services/data/v62.0/limits", nil, "Host", "nobody.my.salesforce.com")
		requireSFError(t, r, http.StatusNotFound, "NOT_FOUND", `sfsim: no org "nobody"`)
	})
	t.Run("apexrest on the generic host", func(t *testing.T) {
		requireSFError(t, s.request(http.MethodGet, s.HTTP.URL+eventPath, nil), http.StatusNotFound, "NOT_FOUND", "The requested resource does not exist")
	})
}

// holdOne starts a request that hangs (a hang fault with count 1) and
// waits until the org counts it in flight; the returned func releases it.
func holdOne(t *testing.T, s *sim, tok string) func() {
	t.Helper()
	s.addFault("acme", sfsim.Fault{Kind: sfsim.KindHang, Count: 1})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, s.orgURL("acme", eventPath), nil)
		req.Header.Set("Authorization", "Bearer "+tok)
		if resp, err := http.DefaultClient.Do(req); err == nil {
			resp.Body.Close()
		}
	}()
	require.Eventually(t, func() bool {
		st, _ := s.S.Stats("acme")
		return st.InFlight == 1
	}, 10*time.Second, 5*time.Millisecond)
	return func() {
		cancel()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			t.Error("hung request not released")
		}
	}
}

func TestConcurrentLimit(t *testing.T) {
	t.Run("every in-flight request counts", func(t *testing.T) {
		s := newSim(t, nil, sfsim.OrgConfig{ID: "acme", ConsumerKey: acmeKey, ConsumerSecret: acmeSecret, ConcurrentLimit: 1})
		tok := s.acmeToken()
		release := holdOne(t, s, tok)
		r := s.api(http.MethodGet, "acme", eventPath, tok, nil)
		requireSFError(t, r, http.StatusForbidden, "REQUEST_LIMIT_EXCEEDED", "ConcurrentPerOrgLongTxn Limit exceeded.")
		assert.NotEmpty(t, r.Header.Get("Sforce-Limit-Info"))
		release()
		require.Eventually(t, func() bool { st, _ := s.S.Stats("acme"); return st.InFlight == 0 }, 10*time.Second, 5*time.Millisecond)
		assert.Equal(t, http.StatusOK, s.api(http.MethodGet, "acme", eventPath, tok, nil).Status)
	})
	t.Run("only requests older than the threshold count", func(t *testing.T) {
		s := newSim(t, nil, sfsim.OrgConfig{ID: "acme", ConsumerKey: acmeKey, ConsumerSecret: acmeSecret,
			ConcurrentLimit: 1, LongRequestThreshold: 5 * time.Second})
		tok := s.acmeToken()
		release := holdOne(t, s, tok)
		defer release()
		assert.Equal(t, http.StatusOK, s.api(http.MethodGet, "acme", eventPath, tok, nil).Status, "the held request is not long yet")
		s.Clock.Advance(6 * time.Second)
		requireSFError(t, s.api(http.MethodGet, "acme", eventPath, tok, nil), http.StatusForbidden,
			"REQUEST_LIMIT_EXCEEDED", "ConcurrentPerOrgLongTxn Limit exceeded.")
	})
}
