package salesforce_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/sony/gobreaker/v2"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gentrack/gcis-bridge/bridge/salesforce"
)

const html503 = `<!DOCTYPE html><html><head><title>Service Not Available</title></head><body><h1>Down for maintenance</h1></body></html>`

// TestClient_classifies_responses runs every row of salesforce.md §3's
// response table (and the client's own additions) over real HTTP.
func TestClient_classifies_responses(t *testing.T) {
	type want struct {
		class    salesforce.Class
		hold     string
		code     string
		governor bool
		status   int
	}
	raw := func(status int, ctype, body string) func(w http.ResponseWriter, r *http.Request, n int) {
		return func(w http.ResponseWriter, _ *http.Request, _ int) {
			if ctype != "" {
				w.Header().Set("Content-Type", ctype)
			}
			w.WriteHeader(status)
			_, _ = w.Write([]byte(body))
		}
	}
	sf := func(status int, code, msg string) func(w http.ResponseWriter, r *http.Request, n int) {
		return func(w http.ResponseWriter, _ *http.Request, _ int) { sfErr(w, status, code, msg) }
	}
	// ok200 answers 200 with results altered by edit.
	ok200 := func(edit func(results []map[string]any) any) func(w http.ResponseWriter, r *http.Request, n int) {
		return func(w http.ResponseWriter, r *http.Request, _ int) {
			b, ids, err := decodeBatch(r)
			if err != nil {
				sfErr(w, http.StatusBadRequest, "JSON_PARSER_ERROR", err.Error())
				return
			}
			results := make([]map[string]any, len(ids))
			for i, id := range ids {
				results[i] = map[string]any{"sourceEventId": id, "status": "created", "id": "a0B"}
			}
			writeJSON(w, http.StatusOK, map[string]any{"batchId": b.BatchID, "results": edit(results)})
		}
	}

	tests := []struct {
		name string
		api  func(w http.ResponseWriter, r *http.Request, n int)
		want want
	}{
		{"401 twice", sf(401, "INVALID_SESSION_ID", "Session expired or invalid"),
			want{salesforce.ClassAuth, salesforce.HoldAuth, "INVALID_SESSION_ID", false, 401}},
		{"403 TotalRequests", sf(403, "REQUEST_LIMIT_EXCEEDED", "TotalRequests Limit exceeded."),
			want{salesforce.ClassLimit, salesforce.HoldLimit, "REQUEST_LIMIT_EXCEEDED", false, 403}},
		{"403 ConcurrentRequests", sf(403, "REQUEST_LIMIT_EXCEEDED", "ConcurrentRequests (Concurrent API Requests) Limit exceeded."),
			want{salesforce.ClassThrottled, "", "REQUEST_LIMIT_EXCEEDED", false, 403}},
		{"403 ConcurrentPerOrgLongTxn", sf(403, "REQUEST_LIMIT_EXCEEDED", "ConcurrentPerOrgLongTxn Limit exceeded."),
			want{salesforce.ClassThrottled, "", "REQUEST_LIMIT_EXCEEDED", false, 403}},
		{"403 API_CURRENTLY_DISABLED", sf(403, "API_CURRENTLY_DISABLED", "API is disabled for this User"),
			want{salesforce.ClassConnector, salesforce.HoldEndpoint, "API_CURRENTLY_DISABLED", false, 403}},
		{"403 APEX_REST_SERVICES_DISABLED", sf(403, "APEX_REST_SERVICES_DISABLED", "Apex REST services are disabled"),
			want{salesforce.ClassConnector, salesforce.HoldEndpoint, "APEX_REST_SERVICES_DISABLED", false, 403}},
		{"403 other", sf(403, "INSUFFICIENT_ACCESS", "no access"),
			want{salesforce.ClassConnector, salesforce.HoldEndpoint, "INSUFFICIENT_ACCESS", false, 403}},
		{"404 NOT_FOUND", sf(404, "NOT_FOUND", "Could not find a match for URL"),
			want{salesforce.ClassConnector, salesforce.HoldEndpoint, "NOT_FOUND", false, 404}},
		{"405", sf(405, "METHOD_NOT_ALLOWED", "HTTP Method 'POST' not allowed"),
			want{salesforce.ClassConnector, salesforce.HoldEndpoint, "METHOD_NOT_ALLOWED", false, 405}},
		{"409", sf(409, "CONFLICT", "conflict"),
			want{salesforce.ClassConnector, salesforce.HoldEndpoint, "CONFLICT", false, 409}},
		{"410", sf(410, "UNSUPPORTED_API_VERSION", "retired"),
			want{salesforce.ClassConnector, salesforce.HoldEndpoint, "UNSUPPORTED_API_VERSION", false, 410}},
		{"415", sf(415, "UNSUPPORTED_MEDIA_TYPE", "bad content type"),
			want{salesforce.ClassConnector, salesforce.HoldEndpoint, "UNSUPPORTED_MEDIA_TYPE", false, 415}},
		{"420 HTML from the edge", raw(420, "text/html", html503),
			want{salesforce.ClassConnector, salesforce.HoldEndpoint, "", false, 420}},
		{"302 redirect", func(w http.ResponseWriter, r *http.Request, _ int) {
			http.Redirect(w, r, "https://elsewhere.example/services?token=x", http.StatusFound)
		}, want{salesforce.ClassConnector, salesforce.HoldEndpoint, "", false, 302}},
		{"400 JSON_PARSER_ERROR", sf(400, "JSON_PARSER_ERROR", "Unexpected character ('x' (code 120)): was expecting ... at [line:1, column:18]"),
			want{salesforce.ClassPermanent, "", "JSON_PARSER_ERROR", false, 400}},
		{"400 other", sf(400, "INVALID_FIELD", "No such column"),
			want{salesforce.ClassPermanent, "", "INVALID_FIELD", false, 400}},
		{"400 without a body", raw(400, "", ""),
			want{salesforce.ClassPermanent, "", "", false, 400}},
		{"500 APEX_ERROR UNABLE_TO_LOCK_ROW", sf(500, "APEX_ERROR", "System.DmlException: Insert failed. First exception on row 0; first error: UNABLE_TO_LOCK_ROW, unable to obtain exclusive access to this record: []"),
			want{salesforce.ClassTransient, "", "APEX_ERROR", false, 500}},
		{"500 APEX_ERROR LimitException", sf(500, "APEX_ERROR", "System.LimitException: Apex CPU time limit exceeded\n\n(Class.gtx_bu.EventResource.doPost: line 42, column 1)"),
			want{salesforce.ClassTransient, "", "APEX_ERROR", true, 500}},
		{"500 APEX_ERROR heap", sf(500, "APEX_ERROR", "System.LimitException: Apex heap size too large: 6291457"),
			want{salesforce.ClassTransient, "", "APEX_ERROR", true, 500}},
		{"500 INTERNAL_SERVER_ERROR", sf(500, "INTERNAL_SERVER_ERROR", "Invalid status code for HTTP response: 429"),
			want{salesforce.ClassTransient, "", "INTERNAL_SERVER_ERROR", false, 500}},
		{"500 HTML", raw(500, "text/html", html503),
			want{salesforce.ClassTransient, "", "", false, 500}},
		{"502 HTML", raw(502, "text/html", html503),
			want{salesforce.ClassTransient, "", "", false, 502}},
		{"503 SERVER_UNAVAILABLE", sf(503, "SERVER_UNAVAILABLE", "Server too busy"),
			want{salesforce.ClassTransient, "", "SERVER_UNAVAILABLE", false, 503}},
		{"503 HTML", raw(503, "text/html;charset=UTF-8", html503),
			want{salesforce.ClassTransient, "", "", false, 503}},
		{"504", raw(504, "text/plain", "gateway timeout"),
			want{salesforce.ClassTransient, "", "", false, 504}},
		{"200 not JSON", raw(200, "text/html", html503),
			want{salesforce.ClassTransient, "", "", false, 200}},
		{"200 too few results", ok200(func(r []map[string]any) any { return r[:1] }),
			want{salesforce.ClassTransient, "", "", false, 200}},
		{"200 too many results", ok200(func(r []map[string]any) any { return append(r, r[0]) }),
			want{salesforce.ClassTransient, "", "", false, 200}},
		{"200 results out of order", ok200(func(r []map[string]any) any { r[0], r[1] = r[1], r[0]; return r }),
			want{salesforce.ClassTransient, "", "", false, 200}},
		{"200 unknown status", ok200(func(r []map[string]any) any { r[1]["status"] = "queued"; return r }),
			want{salesforce.ClassTransient, "", "", false, 200}},
		{"200 wrong batchId", func(w http.ResponseWriter, r *http.Request, _ int) {
			_, ids, _ := decodeBatch(r)
			res := []map[string]any{}
			for _, id := range ids {
				res = append(res, map[string]any{"sourceEventId": id, "status": "created"})
			}
			writeJSON(w, http.StatusOK, map[string]any{"batchId": "other", "results": res})
		}, want{salesforce.ClassTransient, "", "", false, 200}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := newOrg(t)
			o.setAPI(tt.api)
			c := newClient(t, o)
			events, ids := batch(3)
			res, err := c.Publish(t.Context(), "01JF7ZK2X6Q3W5V8N9R0T4Y2M1", events, ids)
			require.Nil(t, res)
			var e *salesforce.Error
			require.ErrorAs(t, err, &e)
			assert.Equal(t, tt.want.class, e.Class, "class")
			assert.Equal(t, tt.want.class, salesforce.ClassOf(err))
			assert.Equal(t, tt.want.hold, e.Hold, "hold")
			assert.Equal(t, tt.want.code, e.Code, "code")
			assert.Equal(t, tt.want.governor, e.Governor, "governor")
			assert.Equal(t, tt.want.status, e.HTTPStatus, "status")
			assert.Equal(t, "publish", e.Op)
			assert.NotContains(t, e.Error(), "\n", "one line")
			assert.NotContains(t, e.Message, "\n", "one line")
			assert.NotContains(t, e.Error(), "token=x", "redirect targets are shown without their query")
			if tt.want.status == 401 {
				assert.EqualValues(t, 2, o.apiReqs.Load())
			} else {
				assert.EqualValues(t, 1, o.apiReqs.Load(), "only a 401 is retried by the client")
			}
		})
	}
}

func TestClient_error_messages(t *testing.T) {
	o := newOrg(t)
	c := newClient(t, o)
	events, ids := batch(1)

	o.setAPI(func(w http.ResponseWriter, _ *http.Request, _ int) {
		sfErr(w, 500, "APEX_ERROR", "System.LimitException: Apex CPU time limit exceeded\n\n(Class.gtx_bu.EventResource.doPost: line 42, column 1)")
	})
	_, err := c.Publish(t.Context(), "b", events, ids)
	assert.EqualError(t, err, "salesforce publish: transient: HTTP 500 APEX_ERROR: System.LimitException: Apex CPU time limit exceeded (Class.gtx_bu.EventResource.doPost: line 42, column 1)")

	o.setAPI(func(w http.ResponseWriter, _ *http.Request, _ int) {
		w.Header().Set("Content-Type", "text/html")
		w.Header().Set("Retry-After", "30")
		w.WriteHeader(503)
		_, _ = w.Write([]byte(html503))
	})
	_, err = c.Publish(t.Context(), "b", events, ids)
	assert.EqualError(t, err, "salesforce publish: transient: HTTP 503: HTML page: Service Not Available (retry after 30s)")

	o.setAPI(func(w http.ResponseWriter, _ *http.Request, _ int) {
		writeJSON(w, 400, []map[string]string{
			{"errorCode": "JSON_PARSER_ERROR", "message": "Unrecognized field \"foo\""},
			{"errorCode": "JSON_PARSER_ERROR", "message": "second"},
		})
	})
	_, err = c.Publish(t.Context(), "b", events, ids)
	assert.EqualError(t, err, `salesforce publish: permanent: HTTP 400 JSON_PARSER_ERROR: Unrecognized field "foo" (and 1 more errors)`)

	long := strings.Repeat("x", 5000)
	o.setAPI(func(w http.ResponseWriter, _ *http.Request, _ int) { sfErr(w, 400, "JSON_PARSER_ERROR", long) })
	_, err = c.Publish(t.Context(), "b", events, ids)
	var e *salesforce.Error
	require.ErrorAs(t, err, &e)
	assert.LessOrEqual(t, len(e.Message), 1024+len("…"))
	assert.True(t, strings.HasSuffix(e.Message, "…"))
}

func TestError_matching(t *testing.T) {
	base := &salesforce.Error{Class: salesforce.ClassLimit, Op: "publish", HTTPStatus: 403, Code: "REQUEST_LIMIT_EXCEEDED", Hold: salesforce.HoldLimit, Err: errors.New("cause")}
	wrapped := fmt.Errorf("dispatch: %w", base)

	tests := []struct {
		name   string
		target error
		want   bool
	}{
		{"class", &salesforce.Error{Class: salesforce.ClassLimit}, true},
		{"code", &salesforce.Error{Code: "REQUEST_LIMIT_EXCEEDED"}, true},
		{"status and hold", &salesforce.Error{HTTPStatus: 403, Hold: salesforce.HoldLimit}, true},
		{"other class", &salesforce.Error{Class: salesforce.ClassAuth}, false},
		{"other code", &salesforce.Error{Class: salesforce.ClassLimit, Code: "X"}, false},
		{"empty target matches nothing", &salesforce.Error{}, false},
		{"sentinel", salesforce.ErrClosed, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, errors.Is(base, tt.target))
			assert.Equal(t, tt.want, errors.Is(wrapped, tt.target))
		})
	}
	var e *salesforce.Error
	require.ErrorAs(t, wrapped, &e)
	assert.Same(t, base, e)
	assert.EqualError(t, errors.Unwrap(base), "cause")
	assert.Equal(t, salesforce.ClassLimit, salesforce.ClassOf(wrapped))
}

func TestClassOf(t *testing.T) {
	tests := []struct {
		name string
		err  error
		want salesforce.Class
	}{
		{"nil", nil, ""},
		{"canceled", fmt.Errorf("x: %w", context.Canceled), ""},
		{"deadline", fmt.Errorf("x: %w", context.DeadlineExceeded), ""},
		{"closed", salesforce.ErrClosed, ""},
		{"classified", &salesforce.Error{Class: salesforce.ClassPermanent}, salesforce.ClassPermanent},
		{"classified wrapping a cancellation", &salesforce.Error{Class: salesforce.ClassTransient, Err: context.Canceled}, salesforce.ClassTransient},
		{"breaker open", fmt.Errorf("x: %w", gobreaker.ErrOpenState), salesforce.ClassConnector},
		{"unknown", errors.New("boom"), salesforce.ClassTransient},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, salesforce.ClassOf(tt.err))
		})
	}
}

func TestItemResult_Transient(t *testing.T) {
	tests := []struct {
		name          string
		r             salesforce.ItemResult
		transient, ok bool
	}{
		{"created", salesforce.ItemResult{Status: "created"}, false, true},
		{"duplicate", salesforce.ItemResult{Status: "duplicate"}, false, true},
		{"row lock", salesforce.ItemResult{Status: "error", Errors: []salesforce.ItemError{{StatusCode: "UNABLE_TO_LOCK_ROW"}}}, true, false},
		{"running too long", salesforce.ItemResult{Status: "error", Errors: []salesforce.ItemError{{StatusCode: "REQUEST_RUNNING_TOO_LONG"}}}, true, false},
		{"validation", salesforce.ItemResult{Status: "error", Errors: []salesforce.ItemError{{StatusCode: "FIELD_CUSTOM_VALIDATION_EXCEPTION"}, {StatusCode: "UNABLE_TO_LOCK_ROW"}}}, false, false},
		{"error without detail", salesforce.ItemResult{Status: "error"}, false, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.transient, tt.r.Transient())
			assert.Equal(t, tt.ok, tt.r.Accepted())
		})
	}
}

func TestClient_item_results_pass_through(t *testing.T) {
	o := newOrg(t)
	o.setAPI(func(w http.ResponseWriter, r *http.Request, _ int) {
		b, ids, _ := decodeBatch(r)
		writeJSON(w, 200, map[string]any{"batchId": b.BatchID, "results": []map[string]any{
			{"sourceEventId": ids[0], "status": "created", "id": "a0B1"},
			{"sourceEventId": ids[1], "status": "duplicate", "id": "a0B2"},
			{"sourceEventId": ids[2], "status": "error", "errors": []map[string]any{
				{"statusCode": "FIELD_CUSTOM_VALIDATION_EXCEPTION", "message": "Account 3004172851 not found", "fields": []string{"externalContextId"}}}},
		}})
	})
	c := newClient(t, o)
	events, ids := batch(3)
	res, err := c.Publish(t.Context(), "b", events, ids)
	require.NoError(t, err)
	require.Len(t, res.Results, 3)
	assert.Equal(t, salesforce.ItemResult{SourceEventID: ids[0], Status: "created", ID: "a0B1"}, res.Results[0])
	assert.Equal(t, salesforce.ItemResult{SourceEventID: ids[1], Status: "duplicate", ID: "a0B2"}, res.Results[1])
	assert.Equal(t, salesforce.ItemResult{SourceEventID: ids[2], Status: "error", Errors: []salesforce.ItemError{
		{StatusCode: "FIELD_CUSTOM_VALIDATION_EXCEPTION", Message: "Account 3004172851 not found", Fields: []string{"externalContextId"}}}}, res.Results[2])
	assert.Positive(t, res.Duration)
}
