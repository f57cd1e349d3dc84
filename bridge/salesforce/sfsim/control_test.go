package sfsim_test

import (
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gentrack/gcis-bridge/bridge/salesforce/sfsim"
)

// ctl calls the control API with a JSON body (nil for none).
func (s *sim) ctl(method, path string, body any) response {
	s.t.Helper()
	var b []byte
	switch v := body.(type) {
	case nil:
	case string:
		b = []byte(v)
	default:
		b = mustJSON(s.t, v)
	}
	return s.request(method, s.HTTP.URL+"/_sim"+path, b, "Content-Type", "application/json")
}

func TestControl_orgs(t *testing.T) {
	s := newSim(t, nil)
	steps := []struct {
		name   string
		method string
		path   string
		body   any
		status int
		want   string // JSON the answer must contain (subset check by JSONEq on a field), or "" to skip
	}{
		{"healthz", http.MethodGet, "/healthz", nil, 200, `{"status":"ok"}`},
		{"healthz POST", http.MethodPost, "/healthz", nil, 405, ""},
		{"define", http.MethodPost, "/orgs", `{"id":"beta","consumer_key":"bk","consumer_secret":"bs","daily_api_max":50,"session_timeout":"90s","run_as_user":false}`, 201, ""},
		{"define twice", http.MethodPost, "/orgs", `{"id":"BETA","consumer_key":"bk","consumer_secret":"bs"}`, 409, ""},
		{"define invalid", http.MethodPost, "/orgs", `{"id":"bad id","consumer_key":""}`, 400, ""},
		{"define unknown field", http.MethodPost, "/orgs", `{"id":"x","consumer_key":"k","consumer_secret":"s","colour":"red"}`, 400, ""},
		{"define bad duration", http.MethodPost, "/orgs", `{"id":"x","consumer_key":"k","consumer_secret":"s","session_timeout":90}`, 400, ""},
		{"define malformed", http.MethodPost, "/orgs", `{`, 400, ""},
		{"orgs PUT", http.MethodPut, "/orgs", nil, 405, ""},
		{"get unknown", http.MethodGet, "/orgs/nobody", nil, 404, ""},
		{"patch", http.MethodPatch, "/orgs/beta", `{"run_as_user":true,"concurrent_limit":3,"long_request_threshold":"5s"}`, 200, ""},
		{"patch invalid", http.MethodPatch, "/orgs/beta", `{"concurrent_limit":-1}`, 400, ""},
		{"patch unknown field", http.MethodPatch, "/orgs/beta", `{"nope":1}`, 400, ""},
		{"unknown route", http.MethodGet, "/orgs/beta/whatever", nil, 404, ""},
		{"unknown top route", http.MethodGet, "/nothing", nil, 404, ""},
	}
	for _, st := range steps {
		r := s.ctl(st.method, st.path, st.body)
		require.Equal(t, st.status, r.Status, "%s: %s", st.name, r.Body)
		assert.Equal(t, "application/json", r.Header.Get("Content-Type"), st.name)
		if st.want != "" {
			assert.JSONEq(t, st.want, string(r.Body), st.name)
		}
		if st.status >= 400 {
			var e map[string]any
			r.json(t, &e)
			assert.NotEmpty(t, e["error"], st.name)
		}
	}
	r := s.ctl(http.MethodGet, "/orgs/beta", nil)
	require.Equal(t, http.StatusOK, r.Status)
	var view map[string]any
	r.json(t, &view)
	assert.Equal(t, "beta", view["id"])
	assert.Equal(t, float64(50), view["daily_api_max"])
	assert.Equal(t, "1m30s", view["session_timeout"])
	assert.Equal(t, true, view["run_as_user"])
	assert.Equal(t, float64(3), view["concurrent_limit"])
	assert.Equal(t, "beta.my.salesforce.com", view["host"])
	assert.Equal(t, "/orgs/beta", view["path_prefix"])
	assert.Regexp(t, `^00D`, view["org_id"])

	r = s.ctl(http.MethodGet, "/orgs", nil)
	require.Equal(t, http.StatusOK, r.Status)
	assert.NotContains(t, string(r.Body), acmeSecret, "no secrets in the org list")
	assert.NotContains(t, string(r.Body), `"bs"`)
	var list struct {
		Orgs []map[string]any `json:"orgs"`
	}
	r.json(t, &list)
	require.Len(t, list.Orgs, 2)
	assert.Equal(t, "acme", list.Orgs[0]["id"])
	assert.Equal(t, "beta", list.Orgs[1]["id"])

	// The new org works.
	s.token("beta", "bk", "bs")
	require.Equal(t, http.StatusNoContent, s.ctl(http.MethodDelete, "/orgs/beta", nil).Status)
	assert.Equal(t, http.StatusNotFound, s.ctl(http.MethodGet, "/orgs/beta", nil).Status)
}

func TestControl_faults_events_stats_reset(t *testing.T) {
	s := newSim(t, nil)
	tok := s.acmeToken()

	r := s.ctl(http.MethodPost, "/orgs/acme/faults", `{"kind":"item_error","rule":{"field":"externalContextId","prefix":"REJECT","message":"Account not found"},"duration":"1h"}`)
	require.Equal(t, http.StatusCreated, r.Status, "body: %s", r.Body)
	var f map[string]any
	r.json(t, &f)
	assert.Equal(t, "f1", f["id"])
	assert.Equal(t, "event", f["target"])
	assert.Equal(t, "1h0m0s", f["duration"])
	assert.Equal(t, s.Clock.Now().Add(time.Hour).Format(time.RFC3339), f["until"])

	require.Equal(t, http.StatusBadRequest, s.ctl(http.MethodPost, "/orgs/acme/faults", `{"kind":"nope"}`).Status)
	require.Equal(t, http.StatusBadRequest, s.ctl(http.MethodPost, "/orgs/acme/faults", `{"kind":"latency","latency":{"fixed":5}}`).Status)
	require.Equal(t, http.StatusNotFound, s.ctl(http.MethodPost, "/orgs/nobody/faults", `{"kind":"hang"}`).Status)
	r = s.ctl(http.MethodPost, "/orgs/acme/faults", `{"kind":"latency","latency":{"dist":"uniform","min":"1ms","max":"2ms"},"target":"limits"}`)
	require.Equal(t, http.StatusCreated, r.Status, "body: %s", r.Body)

	bad := event("c2")
	bad["externalContextId"] = "REJECT-9"
	require.Equal(t, http.StatusOK, s.publish(tok, batchBody(t, "b1", event("c1"), bad)).Status)
	require.Equal(t, http.StatusOK, s.publish(tok, batchBody(t, "b2", event("c1"))).Status)

	r = s.ctl(http.MethodGet, "/orgs/acme/faults", nil)
	require.Equal(t, http.StatusOK, r.Status)
	var faults struct {
		Faults []sfsim.FaultState `json:"faults"`
	}
	r.json(t, &faults)
	require.Len(t, faults.Faults, 2)
	assert.Equal(t, sfsim.KindItemError, faults.Faults[0].Kind)
	assert.Equal(t, 1, faults.Faults[0].Fired)
	assert.True(t, faults.Faults[0].Active)
	assert.Equal(t, time.Millisecond, faults.Faults[1].Latency.Min)

	r = s.ctl(http.MethodGet, "/orgs/acme/events", nil)
	require.Equal(t, http.StatusOK, r.Status)
	var ev struct {
		Events     []json.RawMessage `json:"events"`
		Duplicates int               `json:"duplicates"`
	}
	r.json(t, &ev)
	require.Len(t, ev.Events, 1)
	assert.Equal(t, 1, ev.Duplicates)
	assert.JSONEq(t, string(mustJSON(t, event("c1"))), string(ev.Events[0]))

	r = s.ctl(http.MethodGet, "/orgs/acme/records", nil)
	require.Equal(t, http.StatusOK, r.Status)
	assert.Contains(t, string(r.Body), `"batch_id":"b1"`)

	r = s.ctl(http.MethodGet, "/orgs/acme/stats?log=1", nil)
	require.Equal(t, http.StatusOK, r.Status)
	var st sfsim.OrgStats
	r.json(t, &st)
	assert.Equal(t, int64(2), st.APIUsage.Used)
	assert.Equal(t, int64(1), st.TokensIssued)
	assert.Equal(t, int64(2), st.Batches)
	assert.Equal(t, map[string]int64{"1": 1, "2": 1}, st.BatchSizes)
	assert.Equal(t, 2, st.MaxBatchSize)
	assert.Equal(t, int64(1), st.EventsRejected)
	assert.Equal(t, int64(3), st.Requests)
	assert.Equal(t, map[string]int64{"200": 3}, st.ByStatus)
	require.Len(t, st.RequestLog, 1)
	assert.Equal(t, "b2", st.RequestLog[0].BatchID)
	assert.Equal(t, http.StatusBadRequest, s.ctl(http.MethodGet, "/orgs/acme/stats?log=x", nil).Status)

	r = s.ctl(http.MethodPut, "/orgs/acme/usage", `{"used":99999}`)
	require.Equal(t, http.StatusOK, r.Status)
	assert.JSONEq(t, `{"used":99999,"max":100000,"remaining":1}`, string(r.Body))
	assert.Equal(t, http.StatusOK, s.publish(tok, batchBody(t, "b3", event("c3"))).Status)
	requireSFError(t, s.publish(tok, batchBody(t, "b4", event("c4"))), http.StatusForbidden, "REQUEST_LIMIT_EXCEEDED", "TotalRequests Limit exceeded.")
	assert.Equal(t, http.StatusBadRequest, s.ctl(http.MethodPut, "/orgs/acme/usage", `{"used":-1}`).Status)

	r = s.ctl(http.MethodPost, "/orgs/acme/expire-sessions", nil)
	require.Equal(t, http.StatusOK, r.Status)
	assert.JSONEq(t, `{"expired":1}`, string(r.Body))

	require.Equal(t, http.StatusNoContent, s.ctl(http.MethodDelete, "/orgs/acme/faults/f1", nil).Status)
	require.Equal(t, http.StatusNotFound, s.ctl(http.MethodDelete, "/orgs/acme/faults/f1", nil).Status)
	require.Equal(t, http.StatusNoContent, s.ctl(http.MethodDelete, "/orgs/acme/faults", nil).Status)
	r = s.ctl(http.MethodGet, "/orgs/acme/faults", nil)
	assert.JSONEq(t, `{"faults":[]}`, string(r.Body))

	require.Equal(t, http.StatusNoContent, s.ctl(http.MethodPost, "/orgs/acme/reset", nil).Status)
	r = s.ctl(http.MethodGet, "/orgs/acme/events", nil)
	assert.JSONEq(t, `{"events":[],"duplicates":0}`, string(r.Body))
	stats, _ := s.S.Stats("acme")
	assert.Zero(t, stats.APIUsage.Used)
	assert.Zero(t, stats.Requests)

	// Reset keeps ids unique; POST /_sim/reset resets every org.
	tok = s.acmeToken()
	r = s.publish(tok, batchBody(t, "b5", event("c1")))
	var res publishResult
	r.json(t, &res)
	assert.Equal(t, "created", res.Results[0].Status)
	require.Equal(t, http.StatusNoContent, s.ctl(http.MethodPost, "/reset", nil).Status)
	events, _, _ := s.S.Events("acme")
	assert.Empty(t, events)
	assert.Equal(t, http.StatusMethodNotAllowed, s.ctl(http.MethodGet, "/reset", nil).Status)
}

func TestControl_unknown_org_everywhere(t *testing.T) {
	s := newSim(t, nil)
	for _, p := range []string{"/orgs/nobody", "/orgs/nobody/faults", "/orgs/nobody/events", "/orgs/nobody/stats", "/orgs/nobody/reset"} {
		r := s.ctl(http.MethodGet, p, nil)
		assert.Equal(t, http.StatusNotFound, r.Status, p)
	}
	_, _, err := s.S.Events("nobody")
	assert.ErrorIs(t, err, sfsim.ErrUnknownOrg)
	_, err = s.S.Stats("nobody")
	assert.ErrorIs(t, err, sfsim.ErrUnknownOrg)
	assert.ErrorIs(t, s.S.Reset("nobody"), sfsim.ErrUnknownOrg)
	assert.ErrorIs(t, s.S.AddOrg(acmeOrg()), sfsim.ErrOrgExists)
	assert.ErrorIs(t, s.S.AddOrg(sfsim.OrgConfig{ID: "x"}), sfsim.ErrInvalidConfig)
}

func TestLoadOrgsFile(t *testing.T) {
	dir := t.TempDir()
	write := func(name, text string) string {
		p := filepath.Join(dir, name)
		require.NoError(t, os.WriteFile(p, []byte(text), 0o600))
		return p
	}
	good := write("good.yaml", `
orgs:
  - id: acme
    consumer_key: 3MVG9acmeKey
    consumer_secret: acme-secret
    daily_api_max: 100000
    run_as_user: true
    package_installed: true
  - id: beta
    consumer_key: bk
    consumer_secret: bs
    secondary_secret: old
    run_as_user: false
    session_timeout: 15m
    concurrent_limit: 10
    long_request_threshold: 5s
    package_version: 2.9.0
`)
	orgs, err := sfsim.LoadOrgsFile(good)
	require.NoError(t, err)
	require.Len(t, orgs, 2)
	assert.Equal(t, "acme", orgs[0].ID)
	assert.Equal(t, 100000, orgs[0].DailyAPIMax)
	assert.Equal(t, 2*time.Hour, orgs[0].SessionTimeout, "default")
	assert.False(t, *orgs[1].RunAsUser)
	assert.True(t, *orgs[1].PackageInstalled, "default")
	assert.Equal(t, 15*time.Minute, orgs[1].SessionTimeout)
	assert.Equal(t, 5*time.Second, orgs[1].LongRequestThreshold)
	assert.Equal(t, "old", orgs[1].SecondarySecret)
	assert.Equal(t, "2.9.0", orgs[1].PackageVersion)

	tests := []struct {
		name, text string
		wantErrs   []string
	}{
		{"unknown key", "orgs:\n  - id: a\n    consumer_key: k\n    consumer_secret: s\n    colour: red\n", []string{"colour"}},
		{"missing fields, all reported", "orgs:\n  - id: a\n  - id: 'bad id'\n    consumer_key: k\n    consumer_secret: s\n",
			[]string{"orgs[0]", "consumer_key: required", "consumer_secret: required", "orgs[1]", "id: must be"}},
		{"duplicate id", "orgs:\n  - {id: a, consumer_key: k, consumer_secret: s}\n  - {id: A, consumer_key: k, consumer_secret: s}\n", []string{"defined twice"}},
		{"not yaml", "orgs: [", []string{"yaml"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := sfsim.LoadOrgsFile(write(tt.name+".yaml", tt.text))
			require.ErrorIs(t, err, sfsim.ErrInvalidConfig)
			for _, w := range tt.wantErrs {
				assert.Contains(t, err.Error(), w)
			}
			assert.NotContains(t, err.Error(), "secret-value")
		})
	}
	_, err = sfsim.LoadOrgsFile(filepath.Join(dir, "missing.yaml"))
	require.Error(t, err)
}

func TestNew_validation(t *testing.T) {
	tests := []struct {
		name string
		cfg  sfsim.Config
	}{
		{"bad api version", sfsim.Config{APIVersion: "62"}},
		{"old api version", sfsim.Config{APIVersion: "20.0"}},
		{"negative body limit", sfsim.Config{MaxBodyBytes: -1}},
		{"invalid org", sfsim.Config{Orgs: []sfsim.OrgConfig{{ID: "a"}}}},
		{"duplicate org", sfsim.Config{Orgs: []sfsim.OrgConfig{acmeOrg(), acmeOrg()}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := sfsim.New(tt.cfg)
			require.ErrorIs(t, err, sfsim.ErrInvalidConfig)
		})
	}
	s, err := sfsim.New(sfsim.Config{APIVersion: "64.0"})
	require.NoError(t, err)
	require.NoError(t, s.AddOrg(acmeOrg()))
	assert.Len(t, s.Orgs(), 1)
}

func TestCaseSafeID(t *testing.T) {
	tests := []struct{ in, want string }{
		{"a0B5g000001AbCd", "a0B5g000001AbCdEAK"},
		{"001000000000000", "001000000000000AAA"},
		{"ABCDEABCDEABCDE", "ABCDEABCDEABCDE555"},
		{"short", "short"},
	}
	for _, tt := range tests {
		assert.Equal(t, tt.want, sfsim.CaseSafeID(tt.in), tt.in)
	}
	assert.True(t, sfsim.ValidID("a0B5g000001AbCdEAK"))
	assert.False(t, sfsim.ValidID("a0B5g000001AbCdEAA"))
	assert.False(t, sfsim.ValidID("a0B5g000001AbCd"))
	assert.False(t, sfsim.ValidID("a0B5g000001Ab-dEAK"))
}

func FuzzCaseSafeID(f *testing.F) {
	f.Add("a0B5g000001AbCd")
	f.Add("00D000000000000")
	f.Fuzz(func(t *testing.T, s string) {
		id := sfsim.CaseSafeID(s)
		if len(s) != 15 {
			if id != s {
				t.Fatalf("changed a non-15 input")
			}
			return
		}
		if len(id) != 18 || id[:15] != s {
			t.Fatalf("bad 18-char id %q", id)
		}
	})
}
