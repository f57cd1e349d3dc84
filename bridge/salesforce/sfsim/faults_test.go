package sfsim_test

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gentrack/gcis-bridge/bridge/salesforce/sfsim"
)

func TestFaults_responses(t *testing.T) {
	publish2 := func(s *sim, tok string) response {
		return s.publish(tok, batchBody(t, "b", event("f1"), event("f2")))
	}
	tests := []struct {
		name    string
		fault   sfsim.Fault
		call    func(s *sim, tok string) response
		status  int
		ctype   string
		code    string // errorCode of a JSON error array
		message string
		html    string // substring of an HTML page
		header  [2]string
		stored  int
	}{
		{name: "503 JSON default", fault: sfsim.Fault{Kind: sfsim.KindHTTPError},
			status: 503, code: "SERVER_UNAVAILABLE", message: "Server too busy"},
		{name: "503 HTML", fault: sfsim.Fault{Kind: sfsim.KindHTTPError, Status: 503, HTML: true},
			status: 503, html: "Service Not Available"},
		{name: "502 HTML by default", fault: sfsim.Fault{Kind: sfsim.KindHTTPError, Status: 502},
			status: 502, html: "Bad Gateway"},
		{name: "500", fault: sfsim.Fault{Kind: sfsim.KindHTTPError, Status: 500},
			status: 500, code: "UNKNOWN_EXCEPTION"},
		{name: "404 on the endpoint", fault: sfsim.Fault{Kind: sfsim.KindHTTPError, Status: 404},
			status: 404, code: "NOT_FOUND", message: "Could not find a match for URL"},
		{name: "403 custom code", fault: sfsim.Fault{Kind: sfsim.KindHTTPError, Status: 403, ErrorCode: "APEX_REST_SERVICES_DISABLED", Message: "Apex REST is disabled"},
			status: 403, code: "APEX_REST_SERVICES_DISABLED", message: "Apex REST is disabled"},
		{name: "403 default", fault: sfsim.Fault{Kind: sfsim.KindHTTPError, Status: 403},
			status: 403, code: "API_CURRENTLY_DISABLED", message: "API is disabled for this User"},
		{name: "410 fallback", fault: sfsim.Fault{Kind: sfsim.KindHTTPError, Status: 410},
			status: 410, code: "GONE", message: "Gone"},
		{name: "420 edge HTML", fault: sfsim.Fault{Kind: sfsim.KindHTTPError, Status: 420},
			status: 420, html: "Edge Routing Error"},
		{name: "429 fallback", fault: sfsim.Fault{Kind: sfsim.KindHTTPError, Status: 429},
			status: 429, code: "TOO_MANY_REQUESTS", message: "Too Many Requests"},
		{name: "503 with Retry-After", fault: sfsim.Fault{Kind: sfsim.KindHTTPError, Status: 503, RetryAfter: 7},
			status: 503, code: "SERVER_UNAVAILABLE", header: [2]string{"Retry-After", "7"}},
		{name: "daily limit", fault: sfsim.Fault{Kind: sfsim.KindLimitExceeded},
			status: 403, code: "REQUEST_LIMIT_EXCEEDED", message: "TotalRequests Limit exceeded."},
		{name: "concurrency", fault: sfsim.Fault{Kind: sfsim.KindConcurrentLimit},
			status: 403, code: "REQUEST_LIMIT_EXCEEDED", message: "ConcurrentPerOrgLongTxn Limit exceeded."},
		{name: "concurrency, API form", fault: sfsim.Fault{Kind: sfsim.KindConcurrentLimit, Message: "ConcurrentRequests (Concurrent API Requests) Limit exceeded."},
			status: 403, code: "REQUEST_LIMIT_EXCEEDED", message: "ConcurrentRequests (Concurrent API Requests) Limit exceeded."},
		{name: "governor limit", fault: sfsim.Fault{Kind: sfsim.KindApexError},
			status: 500, code: "APEX_ERROR", message: "System.LimitException: Too many SOQL queries: 101"},
		{name: "CPU limit", fault: sfsim.Fault{Kind: sfsim.KindApexError, Message: "System.LimitException: Apex CPU time limit exceeded"},
			status: 500, code: "APEX_ERROR", message: "System.LimitException: Apex CPU time limit exceeded"},
		{name: "request error (poison event matches)", fault: sfsim.Fault{Kind: sfsim.KindRequestError, Rule: &sfsim.ItemRule{Field: "sourceEventId", Equals: "f2"}},
			status: 400, code: "JSON_PARSER_ERROR", message: "Illegal value for primitive: externalContextId at [line:1, column:1]"},
		{name: "request error custom", fault: sfsim.Fault{Kind: sfsim.KindRequestError, Status: 400, ErrorCode: "INVALID_TYPE", Message: "Cannot deserialize instance"},
			status: 400, code: "INVALID_TYPE", message: "Cannot deserialize instance"},
		{name: "row lock", fault: sfsim.Fault{Kind: sfsim.KindLockRow},
			status: 500, code: "APEX_ERROR", message: "System.DmlException: Insert failed. First exception on row 0; first error: UNABLE_TO_LOCK_ROW, unable to obtain exclusive access to this record: []\n\n(gtx_bu)"},
		{name: "commit then 503", fault: sfsim.Fault{Kind: sfsim.KindCommitThenFail},
			status: 503, code: "SERVER_UNAVAILABLE", stored: 2},
		{name: "commit then 500 HTML", fault: sfsim.Fault{Kind: sfsim.KindCommitThenFail, Status: 500, HTML: true},
			status: 500, html: "Internal Server Error", stored: 2},
		{name: "invalid session", fault: sfsim.Fault{Kind: sfsim.KindInvalidSession},
			status: 401, code: "INVALID_SESSION_ID", message: "Session expired or invalid"},
		{name: "limits endpoint 503", fault: sfsim.Fault{Kind: sfsim.KindHTTPError, Target: sfsim.TargetLimits},
			call: func(s *sim, tok string) response {
				return s.api(http.MethodGet, "acme", "/services/data/v62.0/limits", tok, nil)
			},
			status: 503, code: "SERVER_UNAVAILABLE"},
		{name: "limits forbidden", fault: sfsim.Fault{Kind: sfsim.KindHTTPError, Target: sfsim.TargetLimits, Status: 403, ErrorCode: "INSUFFICIENT_ACCESS"},
			call: func(s *sim, tok string) response {
				return s.api(http.MethodGet, "acme", "/services/data/v62.0/limits", tok, nil)
			},
			status: 403, code: "INSUFFICIENT_ACCESS"},
		{name: "token endpoint 500 HTML", fault: sfsim.Fault{Kind: sfsim.KindHTTPError, Target: sfsim.TargetToken, Status: 500, HTML: true},
			call: func(s *sim, _ string) response {
				return s.postForm(s.orgURL("acme", "/services/oauth2/token"), url.Values{"grant_type": {"client_credentials"},
					"client_id": {acmeKey}, "client_secret": {acmeSecret}})
			},
			status: 500, html: "Internal Server Error"},
		{name: "versions 503 HTML", fault: sfsim.Fault{Kind: sfsim.KindHTTPError, Target: sfsim.TargetVersions, HTML: true},
			call: func(s *sim, _ string) response {
				return s.request(http.MethodGet, s.orgURL("acme", "/services/data/"), nil)
			},
			status: 503, html: "Service Not Available"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newSim(t, nil)
			tok := s.acmeToken()
			added := s.addFault("acme", tt.fault)
			call := tt.call
			if call == nil {
				call = publish2
			}
			r := call(s, tok)
			require.Equal(t, tt.status, r.Status, "body: %s", r.Body)
			if tt.html != "" {
				assert.Equal(t, "text/html;charset=UTF-8", r.Header.Get("Content-Type"))
				assert.Contains(t, string(r.Body), tt.html)
			} else {
				requireSFError(t, r, tt.status, tt.code, tt.message)
			}
			if tt.header[0] != "" {
				assert.Equal(t, tt.header[1], r.Header.Get(tt.header[0]))
			}
			events, _, _ := s.S.Events("acme")
			assert.Len(t, events, tt.stored)
			faults, err := s.S.Faults("acme")
			require.NoError(t, err)
			require.Len(t, faults, 1)
			assert.Equal(t, added.ID, faults[0].ID)
			assert.Equal(t, 1, faults[0].Fired)
			st, _ := s.S.Stats("acme")
			last := st.RequestLog[len(st.RequestLog)-1]
			assert.Equal(t, string(tt.fault.Kind), last.Fault)
			assert.Equal(t, added.ID, last.FaultID)
			assert.Equal(t, tt.status, last.Status)
		})
	}
}

func TestFaults_commit_then_fail_then_resend_is_duplicate(t *testing.T) {
	s := newSim(t, nil)
	tok := s.acmeToken()
	s.addFault("acme", sfsim.Fault{Kind: sfsim.KindCommitThenFail, Count: 1})
	body := batchBody(t, "b1", event("c1"), event("c2"))
	require.Equal(t, http.StatusServiceUnavailable, s.publish(tok, body).Status)
	r := s.publish(tok, batchBody(t, "b2", event("c1"), event("c2")))
	require.Equal(t, http.StatusOK, r.Status)
	var res publishResult
	r.json(t, &res)
	assert.Equal(t, "duplicate", res.Results[0].Status)
	assert.Equal(t, "duplicate", res.Results[1].Status)
	events, dups, _ := s.S.Events("acme")
	assert.Len(t, events, 2)
	assert.Equal(t, 2, dups)
}

func TestFaults_token_errors(t *testing.T) {
	for name, pair := range sfsim.TokenErrors {
		t.Run(name, func(t *testing.T) {
			s := newSim(t, nil)
			s.addFault("acme", sfsim.Fault{Kind: sfsim.KindTokenError, TokenError: name})
			r := s.postForm(s.orgURL("acme", "/services/oauth2/token"), url.Values{"grant_type": {"client_credentials"},
				"client_id": {acmeKey}, "client_secret": {acmeSecret}})
			require.Equal(t, http.StatusBadRequest, r.Status)
			assert.Equal(t, jsonCT, r.Header.Get("Content-Type"))
			assert.JSONEq(t, `{"error":"`+pair[0]+`","error_description":"`+pair[1]+`"}`, string(r.Body))
		})
	}
	t.Run("status and text override, for a window", func(t *testing.T) {
		s := newSim(t, nil)
		s.addFault("acme", sfsim.Fault{Kind: sfsim.KindTokenError, TokenError: "invalid_client", Status: 401, Duration: time.Minute})
		form := url.Values{"grant_type": {"client_credentials"}, "client_id": {acmeKey}, "client_secret": {acmeSecret}}
		r := s.postForm(s.orgURL("acme", "/services/oauth2/token"), form)
		require.Equal(t, http.StatusUnauthorized, r.Status)
		assert.JSONEq(t, `{"error":"invalid_client","error_description":"invalid client credentials"}`, string(r.Body))
		s.Clock.Advance(time.Minute)
		assert.Equal(t, http.StatusOK, s.postForm(s.orgURL("acme", "/services/oauth2/token"), form).Status)
	})
	t.Run("token faults leave API calls alone", func(t *testing.T) {
		s := newSim(t, nil)
		tok := s.acmeToken()
		s.addFault("acme", sfsim.Fault{Kind: sfsim.KindTokenError, TokenError: "invalid_client_id"})
		assert.Equal(t, http.StatusOK, s.api(http.MethodGet, "acme", eventPath, tok, nil).Status)
	})
}

func TestFaults_invalid_session_ends_the_session(t *testing.T) {
	s := newSim(t, nil)
	tok := s.acmeToken()
	s.addFault("acme", sfsim.Fault{Kind: sfsim.KindInvalidSession, Count: 1})
	require.Equal(t, http.StatusUnauthorized, s.api(http.MethodGet, "acme", eventPath, tok, nil).Status)
	require.Equal(t, http.StatusUnauthorized, s.api(http.MethodGet, "acme", eventPath, tok, nil).Status, "the token stays dead")
	tok2 := s.acmeToken()
	assert.Equal(t, http.StatusOK, s.api(http.MethodGet, "acme", eventPath, tok2, nil).Status)
}

func TestFaults_expire_sessions(t *testing.T) {
	s := newSim(t, nil)
	tok1, tok2 := s.acmeToken(), s.acmeToken()
	f := s.addFault("acme", sfsim.Fault{Kind: sfsim.KindExpireSessions})
	assert.NotEmpty(t, f.ID)
	for _, tok := range []string{tok1, tok2} {
		requireSFError(t, s.api(http.MethodGet, "acme", eventPath, tok, nil), http.StatusUnauthorized, "INVALID_SESSION_ID", "Session expired or invalid")
	}
	faults, _ := s.S.Faults("acme")
	assert.Empty(t, faults, "expire_sessions acts once and is not kept")
	assert.Equal(t, http.StatusOK, s.api(http.MethodGet, "acme", eventPath, s.acmeToken(), nil).Status)
}

func TestFaults_item_rules(t *testing.T) {
	t.Run("prefix rule", func(t *testing.T) {
		s := newSim(t, nil)
		tok := s.acmeToken()
		s.addFault("acme", sfsim.Fault{Kind: sfsim.KindItemError, Rule: &sfsim.ItemRule{
			Field: "externalContextId", Prefix: "REJECT", Message: "Account 3004172851 not found"}})
		bad := event("r2")
		bad["externalContextId"] = "REJECT-1"
		r := s.publish(tok, batchBody(t, "b", event("r1"), bad, event("r3")))
		require.Equal(t, http.StatusOK, r.Status)
		var res publishResult
		r.json(t, &res)
		assert.Equal(t, "created", res.Results[0].Status)
		assert.Equal(t, "error", res.Results[1].Status)
		require.Len(t, res.Results[1].Errors, 1)
		assert.Equal(t, "FIELD_CUSTOM_VALIDATION_EXCEPTION", res.Results[1].Errors[0].StatusCode)
		assert.Equal(t, "Account 3004172851 not found", res.Results[1].Errors[0].Message)
		assert.Equal(t, []string{"externalContextId"}, res.Results[1].Errors[0].Fields)
		assert.Equal(t, "created", res.Results[2].Status)
		events, _, _ := s.S.Events("acme")
		assert.Len(t, events, 2)
	})
	t.Run("attribute rule with equals", func(t *testing.T) {
		s := newSim(t, nil)
		tok := s.acmeToken()
		s.addFault("acme", sfsim.Fault{Kind: sfsim.KindItemError, Rule: &sfsim.ItemRule{Field: "attribute:grossAmount", Equals: "148.62", StatusCode: "INVALID_FIELD"}})
		other := event("a2")
		other["eventAttributes"] = []any{map[string]any{"name": "grossAmount", "value": "1.00"}}
		r := s.publish(tok, batchBody(t, "b", event("a1"), other))
		var res publishResult
		r.json(t, &res)
		assert.Equal(t, "error", res.Results[0].Status)
		assert.Equal(t, "INVALID_FIELD", res.Results[0].Errors[0].StatusCode)
		assert.Equal(t, []string{}, res.Results[0].Errors[0].Fields)
		assert.Equal(t, "created", res.Results[1].Status)
	})
	t.Run("transient item lock, once", func(t *testing.T) {
		s := newSim(t, nil)
		tok := s.acmeToken()
		s.addFault("acme", sfsim.Fault{Kind: sfsim.KindItemError, Count: 1, Rule: &sfsim.ItemRule{StatusCode: "UNABLE_TO_LOCK_ROW"}})
		r := s.publish(tok, batchBody(t, "b", event("l1"), event("l2")))
		var res publishResult
		r.json(t, &res)
		assert.Equal(t, "error", res.Results[0].Status)
		assert.Equal(t, "UNABLE_TO_LOCK_ROW", res.Results[0].Errors[0].StatusCode)
		assert.Equal(t, "unable to obtain exclusive access to this record", res.Results[0].Errors[0].Message)
		assert.Equal(t, "created", res.Results[1].Status)
		r = s.publish(tok, batchBody(t, "b2", event("l1"), event("l2")))
		res = publishResult{}
		r.json(t, &res)
		assert.Equal(t, "created", res.Results[0].Status, "the retry goes through")
		assert.Equal(t, "duplicate", res.Results[1].Status)
	})
	t.Run("probability picks some events", func(t *testing.T) {
		s := newSim(t, nil)
		tok := s.acmeToken()
		s.addFault("acme", sfsim.Fault{Kind: sfsim.KindItemError, Probability: 0.5})
		r := s.publish(tok, batchBody(t, "b", eventsN("p", 200)...))
		var res publishResult
		r.json(t, &res)
		rejected := 0
		for _, it := range res.Results {
			if it.Status == "error" {
				rejected++
			}
		}
		assert.Greater(t, rejected, 50)
		assert.Less(t, rejected, 150)
		faults, _ := s.S.Faults("acme")
		assert.Equal(t, 200, faults[0].Matched)
		assert.Equal(t, rejected, faults[0].Fired)
	})
}

func TestFaults_matching(t *testing.T) {
	get := func(s *sim, tok string) int { return s.api(http.MethodGet, "acme", eventPath, tok, nil).Status }
	t.Run("count", func(t *testing.T) {
		s := newSim(t, nil)
		tok := s.acmeToken()
		s.addFault("acme", sfsim.Fault{Kind: sfsim.KindHTTPError, Count: 2})
		assert.Equal(t, []int{503, 503, 200, 200}, []int{get(s, tok), get(s, tok), get(s, tok), get(s, tok)})
		faults, _ := s.S.Faults("acme")
		assert.False(t, faults[0].Active)
	})
	t.Run("skip", func(t *testing.T) {
		s := newSim(t, nil)
		tok := s.acmeToken()
		s.addFault("acme", sfsim.Fault{Kind: sfsim.KindHTTPError, Skip: 1, Count: 1})
		assert.Equal(t, []int{200, 503, 200}, []int{get(s, tok), get(s, tok), get(s, tok)})
	})
	t.Run("window", func(t *testing.T) {
		s := newSim(t, nil)
		tok := s.acmeToken()
		now := s.Clock.Now()
		s.addFault("acme", sfsim.Fault{Kind: sfsim.KindHTTPError, From: now.Add(time.Minute), Until: now.Add(2 * time.Minute)})
		assert.Equal(t, 200, get(s, tok))
		s.Clock.Advance(time.Minute)
		assert.Equal(t, 503, get(s, tok))
		s.Clock.Advance(time.Minute)
		assert.Equal(t, 200, get(s, tok))
	})
	t.Run("duration", func(t *testing.T) {
		s := newSim(t, nil)
		tok := s.acmeToken()
		f := s.addFault("acme", sfsim.Fault{Kind: sfsim.KindHTTPError, Duration: 30 * time.Second})
		assert.Equal(t, s.Clock.Now().Add(30*time.Second), f.Until)
		assert.Equal(t, 503, get(s, tok))
		s.Clock.Advance(30 * time.Second)
		assert.Equal(t, 200, get(s, tok))
	})
	t.Run("probability", func(t *testing.T) {
		s := newSim(t, nil)
		tok := s.acmeToken()
		s.addFault("acme", sfsim.Fault{Kind: sfsim.KindHTTPError, Probability: 0.3})
		n503 := 0
		for i := 0; i < 60; i++ {
			if get(s, tok) == 503 {
				n503++
			}
		}
		assert.Greater(t, n503, 5)
		assert.Less(t, n503, 40)
	})
	t.Run("method", func(t *testing.T) {
		s := newSim(t, nil)
		tok := s.acmeToken()
		s.addFault("acme", sfsim.Fault{Kind: sfsim.KindHTTPError, Method: http.MethodPost})
		assert.Equal(t, 200, get(s, tok))
		assert.Equal(t, 503, s.publish(tok, batchBody(t, "b", event("m"))).Status)
	})
	t.Run("target", func(t *testing.T) {
		s := newSim(t, nil)
		tok := s.acmeToken()
		s.addFault("acme", sfsim.Fault{Kind: sfsim.KindHTTPError, Target: sfsim.TargetData})
		assert.Equal(t, 200, get(s, tok))
		assert.Equal(t, 503, s.api(http.MethodGet, "acme", "/services/data/v62.0/limits", tok, nil).Status)
		assert.Equal(t, 200, s.request(http.MethodGet, s.orgURL("acme", "/services/data/"), nil).Status)
	})
	t.Run("other orgs are not affected", func(t *testing.T) {
		s := newSim(t, nil, acmeOrg(), sfsim.OrgConfig{ID: "beta", ConsumerKey: "bk", ConsumerSecret: "bs"})
		s.addFault("beta", sfsim.Fault{Kind: sfsim.KindHTTPError, Target: sfsim.TargetAny})
		assert.Equal(t, 200, get(s, s.acmeToken()))
	})
	t.Run("first fault in order wins", func(t *testing.T) {
		s := newSim(t, nil)
		tok := s.acmeToken()
		s.addFault("acme", sfsim.Fault{Kind: sfsim.KindHTTPError, Status: 500, Count: 1})
		s.addFault("acme", sfsim.Fault{Kind: sfsim.KindHTTPError, Status: 502, Count: 1})
		assert.Equal(t, []int{500, 502, 200}, []int{get(s, tok), get(s, tok), get(s, tok)})
	})
	t.Run("remove and clear", func(t *testing.T) {
		s := newSim(t, nil)
		tok := s.acmeToken()
		f := s.addFault("acme", sfsim.Fault{Kind: sfsim.KindHTTPError})
		require.NoError(t, s.S.RemoveFault("acme", f.ID))
		assert.ErrorIs(t, s.S.RemoveFault("acme", f.ID), sfsim.ErrUnknownFault)
		assert.Equal(t, 200, get(s, tok))
		s.addFault("acme", sfsim.Fault{Kind: sfsim.KindHTTPError})
		s.S.ClearFaults("acme")
		assert.Equal(t, 200, get(s, tok))
	})
}

func TestFaults_latency(t *testing.T) {
	tests := []struct {
		name     string
		latency  sfsim.Latency
		min, max float64 // expected DelayMS bounds
	}{
		{name: "fixed", latency: sfsim.Latency{Fixed: 20 * time.Millisecond}, min: 20, max: 20},
		{name: "uniform", latency: sfsim.Latency{Dist: "uniform", Min: 2 * time.Millisecond, Max: 6 * time.Millisecond}, min: 2, max: 6},
		{name: "normal clamped", latency: sfsim.Latency{Dist: "normal", Mean: 5 * time.Millisecond, StdDev: 50 * time.Millisecond,
			Min: time.Millisecond, Max: 9 * time.Millisecond}, min: 1, max: 9},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newSim(t, nil)
			tok := s.acmeToken()
			s.addFault("acme", sfsim.Fault{Kind: sfsim.KindLatency, Latency: &tt.latency})
			for i := 0; i < 5; i++ {
				require.Equal(t, http.StatusOK, s.api(http.MethodGet, "acme", eventPath, tok, nil).Status)
			}
			st, _ := s.S.Stats("acme")
			require.NotEmpty(t, st.RequestLog)
			for _, rec := range st.RequestLog {
				if rec.Endpoint != "event" {
					continue
				}
				assert.Equal(t, "latency", rec.Fault)
				assert.GreaterOrEqual(t, rec.DelayMS, tt.min)
				assert.LessOrEqual(t, rec.DelayMS, tt.max)
			}
		})
	}
	t.Run("latency then error", func(t *testing.T) {
		s := newSim(t, nil)
		tok := s.acmeToken()
		s.addFault("acme", sfsim.Fault{Kind: sfsim.KindLatency, Latency: &sfsim.Latency{Fixed: time.Millisecond}})
		s.addFault("acme", sfsim.Fault{Kind: sfsim.KindHTTPError})
		require.Equal(t, 503, s.api(http.MethodGet, "acme", eventPath, tok, nil).Status)
		st, _ := s.S.Stats("acme")
		last := st.RequestLog[len(st.RequestLog)-1]
		assert.Equal(t, "http_error", last.Fault)
		assert.Equal(t, 1.0, last.DelayMS)
	})
}

func TestFaults_connection(t *testing.T) {
	t.Run("reset", func(t *testing.T) {
		s := newSim(t, nil)
		tok := s.acmeToken()
		s.addFault("acme", sfsim.Fault{Kind: sfsim.KindReset, Count: 1})
		req, _ := http.NewRequest(http.MethodGet, s.orgURL("acme", eventPath), nil)
		req.Header.Set("Authorization", "Bearer "+tok)
		// A fresh connection: on a reused one the client would retry the GET.
		fresh := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}, Timeout: 10 * time.Second}
		_, err := fresh.Do(req)
		require.Error(t, err)
		assert.Equal(t, http.StatusOK, s.api(http.MethodGet, "acme", eventPath, tok, nil).Status)
		// The reset request is logged with status 0 (its entry may land
		// after the next request's: the log is written when a call ends).
		st, _ := s.S.Stats("acme")
		var reset *sfsim.RequestRecord
		for i := range st.RequestLog {
			if st.RequestLog[i].Fault == "reset" {
				reset = &st.RequestLog[i]
			}
		}
		require.NotNil(t, reset, "no reset in the request log")
		assert.Equal(t, 0, reset.Status)
	})
	t.Run("commit then reset", func(t *testing.T) {
		s := newSim(t, nil)
		tok := s.acmeToken()
		s.addFault("acme", sfsim.Fault{Kind: sfsim.KindCommitThenFail, Then: "reset"})
		req, _ := http.NewRequest(http.MethodPost, s.orgURL("acme", eventPath), strings.NewReader(string(batchBody(t, "b", event("cr")))))
		req.Header.Set("Authorization", "Bearer "+tok)
		req.Header.Set("Content-Type", "application/json")
		_, err := s.Client.Do(req)
		require.Error(t, err)
		events, _, _ := s.S.Events("acme")
		assert.Len(t, events, 1, "stored before the connection was reset")
	})
	t.Run("hang until the client gives up", func(t *testing.T) {
		s := newSim(t, nil)
		tok := s.acmeToken()
		s.addFault("acme", sfsim.Fault{Kind: sfsim.KindHang, Count: 1})
		ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
		defer cancel()
		req, _ := http.NewRequestWithContext(ctx, http.MethodPost, s.orgURL("acme", eventPath), strings.NewReader(string(batchBody(t, "b", event("h")))))
		req.Header.Set("Authorization", "Bearer "+tok)
		req.Header.Set("Content-Type", "application/json")
		_, err := s.Client.Do(req)
		require.ErrorIs(t, err, context.DeadlineExceeded)
		require.Eventually(t, func() bool { st, _ := s.S.Stats("acme"); return st.InFlight == 0 }, 10*time.Second, 5*time.Millisecond,
			"the handler returns once the client is gone")
	})
	t.Run("latency ends when the client gives up", func(t *testing.T) {
		s := newSim(t, nil)
		tok := s.acmeToken()
		s.addFault("acme", sfsim.Fault{Kind: sfsim.KindLatency, Latency: &sfsim.Latency{Fixed: time.Hour}})
		ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
		defer cancel()
		req, _ := http.NewRequestWithContext(ctx, http.MethodPost, s.orgURL("acme", eventPath), strings.NewReader(string(batchBody(t, "b", event("l")))))
		req.Header.Set("Authorization", "Bearer "+tok)
		req.Header.Set("Content-Type", "application/json")
		_, err := s.Client.Do(req)
		require.ErrorIs(t, err, context.DeadlineExceeded)
		require.Eventually(t, func() bool { st, _ := s.S.Stats("acme"); return st.InFlight == 0 }, 10*time.Second, 5*time.Millisecond)
		events, _, _ := s.S.Events("acme")
		assert.Empty(t, events)
	})
	t.Run("latency keeps the body", func(t *testing.T) {
		s := newSim(t, nil)
		tok := s.acmeToken()
		s.addFault("acme", sfsim.Fault{Kind: sfsim.KindLatency, Latency: &sfsim.Latency{Fixed: time.Millisecond}})
		r := s.publish(tok, batchBody(t, "b", event("lk")))
		require.Equal(t, http.StatusOK, r.Status, "body: %s", r.Body)
		events, _, _ := s.S.Events("acme")
		assert.Len(t, events, 1)
	})
	for _, kind := range []sfsim.FaultKind{sfsim.KindHang, sfsim.KindLatency, sfsim.KindCommitThenFail} {
		t.Run("Close releases "+string(kind), func(t *testing.T) {
			s := newSim(t, nil)
			tok := s.acmeToken()
			f := sfsim.Fault{Kind: kind}
			switch kind {
			case sfsim.KindLatency:
				f.Latency = &sfsim.Latency{Fixed: time.Hour}
			case sfsim.KindCommitThenFail:
				f.Then = "hang"
			}
			s.addFault("acme", f)
			errc := make(chan error, 1)
			go func() {
				req, _ := http.NewRequest(http.MethodPost, s.orgURL("acme", eventPath), strings.NewReader(string(batchBody(t, "b", event("h")))))
				req.Header.Set("Authorization", "Bearer "+tok)
				req.Header.Set("Content-Type", "application/json")
				resp, err := (&http.Client{Timeout: time.Minute}).Do(req)
				if err == nil {
					resp.Body.Close()
				}
				errc <- err
			}()
			require.Eventually(t, func() bool { st, _ := s.S.Stats("acme"); return st.InFlight == 1 }, 10*time.Second, 5*time.Millisecond)
			s.S.Close()
			select {
			case err := <-errc:
				require.Error(t, err, "the connection is reset")
			case <-time.After(20 * time.Second):
				t.Fatal("Close did not release the request")
			}
		})
	}
}

func TestFault_validation(t *testing.T) {
	s := newSim(t, nil)
	tests := []struct {
		name  string
		fault sfsim.Fault
	}{
		{"no kind", sfsim.Fault{}},
		{"unknown kind", sfsim.Fault{Kind: "explode"}},
		{"latency without distribution", sfsim.Fault{Kind: sfsim.KindLatency}},
		{"uniform max below min", sfsim.Fault{Kind: sfsim.KindLatency, Latency: &sfsim.Latency{Dist: "uniform", Min: 2, Max: 1}}},
		{"unknown dist", sfsim.Fault{Kind: sfsim.KindLatency, Latency: &sfsim.Latency{Dist: "pareto"}}},
		{"status out of range", sfsim.Fault{Kind: sfsim.KindHTTPError, Status: 302}},
		{"unknown token error", sfsim.Fault{Kind: sfsim.KindTokenError, TokenError: "nope"}},
		{"probability above one", sfsim.Fault{Kind: sfsim.KindHTTPError, Probability: 1.5}},
		{"negative count", sfsim.Fault{Kind: sfsim.KindHTTPError, Count: -1}},
		{"unknown target", sfsim.Fault{Kind: sfsim.KindHTTPError, Target: "everything"}},
		{"lower-case method", sfsim.Fault{Kind: sfsim.KindHTTPError, Method: "post"}},
		{"until before from", sfsim.Fault{Kind: sfsim.KindHTTPError, From: time.Unix(100, 0), Until: time.Unix(50, 0)}},
		{"bad then", sfsim.Fault{Kind: sfsim.KindCommitThenFail, Then: "explode"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := s.S.AddFault("acme", tt.fault)
			require.ErrorIs(t, err, sfsim.ErrInvalidFault)
		})
	}
	_, err := s.S.AddFault("nobody", sfsim.Fault{Kind: sfsim.KindHTTPError})
	require.ErrorIs(t, err, sfsim.ErrUnknownOrg)
	require.True(t, errors.Is(s.S.SetFault("nobody", sfsim.Fault{Kind: sfsim.KindHTTPError}), sfsim.ErrUnknownOrg))
}
