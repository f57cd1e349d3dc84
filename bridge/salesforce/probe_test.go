package salesforce_test

import (
	"encoding/json"
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gentrack/gcis-bridge/bridge/salesforce"
)

func TestClient_Probe(t *testing.T) {
	tests := []struct {
		name  string
		api   func(w http.ResponseWriter, r *http.Request, n int)
		class salesforce.Class
		hold  string
	}{
		{"ok", acceptAll, "", ""},
		{"package missing", func(w http.ResponseWriter, _ *http.Request, _ int) {
			sfErr(w, 404, "NOT_FOUND", "Could not find a match for URL")
		}, salesforce.ClassConnector, salesforce.HoldEndpoint},
		{"daily limit", func(w http.ResponseWriter, _ *http.Request, _ int) {
			sfErr(w, 403, "REQUEST_LIMIT_EXCEEDED", "TotalRequests Limit exceeded.")
		}, salesforce.ClassLimit, salesforce.HoldLimit},
		{"session refused", func(w http.ResponseWriter, _ *http.Request, _ int) {
			sfErr(w, 401, "INVALID_SESSION_ID", "Session expired or invalid")
		}, salesforce.ClassAuth, salesforce.HoldAuth},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := newOrg(t)
			o.setAPI(tt.api)
			c := newClient(t, o)
			err := c.Probe(t.Context())
			assert.Equal(t, tt.class, salesforce.ClassOf(err))
			if tt.class != "" {
				var e *salesforce.Error
				require.ErrorAs(t, err, &e)
				assert.Equal(t, tt.hold, e.Hold)
				assert.Equal(t, "probe", e.Op)
			}
			reqs := o.recordedRequests()
			require.NotEmpty(t, reqs)
			assert.Equal(t, http.MethodGet, reqs[0].Method)
			assert.Equal(t, "/services/apexrest/gtx_bu/v2/event", reqs[0].Path)
		})
	}

	t.Run("each probe fetches a fresh token", func(t *testing.T) {
		o := newOrg(t)
		c := newClient(t, o)
		require.NoError(t, c.Probe(t.Context()))
		require.NoError(t, c.Probe(t.Context()))
		assert.EqualValues(t, 2, o.tokenReqs.Load())
		reqs := o.recordedRequests()
		assert.Equal(t, "Bearer "+tokenFor(2), reqs[1].Header.Get("Authorization"))
	})
}

func TestClient_TestConnection(t *testing.T) {
	versions := func(w http.ResponseWriter) {
		writeJSON(w, 200, []map[string]string{
			{"label": "Spring '25", "url": "/services/data/v63.0", "version": "63.0"},
			{"label": "Winter '26", "url": "/services/data/v65.0", "version": "65.0"},
			{"label": "Winter '11", "url": "/services/data/v20.0", "version": "20.0"},
		})
	}
	limits := func(w http.ResponseWriter) {
		w.Header().Set("Sforce-Limit-Info", "api-usage=790/115000")
		writeJSON(w, 200, map[string]any{
			"DailyApiRequests":         map[string]int{"Max": 115000, "Remaining": 114210},
			"DailyAsyncApexExecutions": map[string]int{"Max": 250000, "Remaining": 250000},
		})
	}
	pkg := func(w http.ResponseWriter, schemas ...string) {
		writeJSON(w, 200, map[string]any{"package": "gtx_bu", "version": "2.3.1", "schemaVersions": schemas})
	}
	// orgAPI routes the three GETs; override replaces one route's answer.
	orgAPI := func(override map[string]func(w http.ResponseWriter)) func(w http.ResponseWriter, r *http.Request, n int) {
		return func(w http.ResponseWriter, r *http.Request, _ int) {
			if f, ok := override[r.URL.Path]; ok {
				f(w)
				return
			}
			switch r.URL.Path {
			case "/services/data/":
				versions(w)
			case "/services/data/v65.0/limits":
				limits(w)
			case "/services/apexrest/gtx_bu/v2/event":
				pkg(w, "2.0")
			default:
				sfErr(w, 404, "NOT_FOUND", "The requested resource does not exist")
			}
		}
	}
	type stepWant struct {
		status salesforce.StepStatus
		reason string // substring
	}
	tests := []struct {
		name     string
		token    func(w http.ResponseWriter, r *http.Request, n int)
		override map[string]func(w http.ResponseWriter)
		ok       bool
		steps    [4]stepWant
	}{
		{"all good", nil, nil, true, [4]stepWant{
			{salesforce.StepOK, "instance_url http://127.0.0.1"},
			{salesforce.StepOK, "newest API version 65.0"},
			{salesforce.StepOK, "114210 of 115000 remaining"},
			{salesforce.StepOK, "package gtx_bu 2.3.1 accepts schemaVersion 2.0"},
		}},
		{"token refused", func(w http.ResponseWriter, _ *http.Request, _ int) {
			writeJSON(w, 400, map[string]string{"error": "invalid_client", "error_description": "invalid client credentials"})
		}, nil, false, [4]stepWant{
			{salesforce.StepFailed, "salesforce token: auth: HTTP 400 invalid_client: invalid client credentials"},
			{salesforce.StepSkipped, "no token"},
			{salesforce.StepSkipped, "no token"},
			{salesforce.StepSkipped, "no token"},
		}},
		{"no View Setup: a warning", nil, map[string]func(w http.ResponseWriter){
			"/services/data/v65.0/limits": func(w http.ResponseWriter) {
				sfErr(w, 403, "INSUFFICIENT_ACCESS", "insufficient access rights on object id")
			},
		}, true, [4]stepWant{
			{salesforce.StepOK, ""},
			{salesforce.StepOK, ""},
			{salesforce.StepWarning, "lacks View Setup"},
			{salesforce.StepOK, ""},
		}},
		{"daily limit exhausted", nil, map[string]func(w http.ResponseWriter){
			"/services/data/v65.0/limits": func(w http.ResponseWriter) {
				sfErr(w, 403, "REQUEST_LIMIT_EXCEEDED", "TotalRequests Limit exceeded.")
			},
		}, false, [4]stepWant{
			{salesforce.StepOK, ""},
			{salesforce.StepOK, ""},
			{salesforce.StepFailed, "TotalRequests"},
			{salesforce.StepOK, ""},
		}},
		{"package missing", nil, map[string]func(w http.ResponseWriter){
			"/services/apexrest/gtx_bu/v2/event": func(w http.ResponseWriter) {
				sfErr(w, 404, "NOT_FOUND", "Could not find a match for URL")
			},
		}, false, [4]stepWant{
			{salesforce.StepOK, ""},
			{salesforce.StepOK, ""},
			{salesforce.StepOK, ""},
			{salesforce.StepFailed, "not installed or event_endpoint gtx_bu/v2/event is wrong"},
		}},
		{"package without schema 2.0", nil, map[string]func(w http.ResponseWriter){
			"/services/apexrest/gtx_bu/v2/event": func(w http.ResponseWriter) { pkg(w, "3.0") },
		}, false, [4]stepWant{
			{salesforce.StepOK, ""},
			{salesforce.StepOK, ""},
			{salesforce.StepOK, ""},
			{salesforce.StepFailed, "does not accept schemaVersion 2.0 (accepts 3.0)"},
		}},
		{"versions unreadable", nil, map[string]func(w http.ResponseWriter){
			"/services/data/": func(w http.ResponseWriter) { w.WriteHeader(503) },
		}, false, [4]stepWant{
			{salesforce.StepOK, ""},
			{salesforce.StepFailed, "HTTP 503"},
			{salesforce.StepSkipped, "no API version"},
			{salesforce.StepOK, ""},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := newOrg(t)
			if tt.token != nil {
				o.setToken(tt.token)
			}
			o.setAPI(orgAPI(tt.override))
			c := newClient(t, o)
			rep := c.TestConnection(t.Context())
			assert.Equal(t, tt.ok, rep.OK)
			require.Len(t, rep.Steps, 4)
			for i, name := range []string{salesforce.StepToken, salesforce.StepVersions, salesforce.StepLimits, salesforce.StepEndpoint} {
				s := rep.Steps[i]
				assert.Equal(t, name, s.Name)
				assert.Equal(t, tt.steps[i].status, s.Status, "step %s: %s", name, s.Reason)
				assert.Contains(t, s.Reason, tt.steps[i].reason, "step %s", name)
				assert.GreaterOrEqual(t, s.DurationMS, 0.0)
			}

			// JSON-serialisable, and free of secrets.
			data, err := json.Marshal(rep)
			require.NoError(t, err)
			assert.NotContains(t, string(data), testSecret)
			assert.NotContains(t, string(data), tokenMark)
			var back salesforce.Report
			require.NoError(t, json.Unmarshal(data, &back))
			assert.Equal(t, rep.OK, back.OK)
			assert.Len(t, back.Steps, 4)
		})
	}

	t.Run("report contents", func(t *testing.T) {
		o := newOrg(t)
		o.setAPI(orgAPI(nil))
		var used, max int
		c := newClient(t, o, func(cfg *salesforce.Config) { cfg.OnUsage = func(u, m int) { used, max = u, m } })
		rep := c.TestConnection(t.Context())
		require.True(t, rep.OK)
		assert.Equal(t, o.URL(), rep.InstanceURL)
		assert.Equal(t, "65.0", rep.APIVersion)
		assert.Equal(t, &salesforce.Limit{Max: 115000, Remaining: 114210}, rep.DailyAPIRequests)
		assert.Equal(t, &salesforce.PackageInfo{Package: "gtx_bu", Version: "2.3.1", SchemaVersions: []string{"2.0"}}, rep.Package)
		assert.Equal(t, 790, used)
		assert.Equal(t, 115000, max)
		assert.Equal(t, salesforce.Usage{Used: 790, Max: 115000}, c.Usage())
	})
}
