package bridge_test

import (
	"slices"
	"testing"
	"time"

	"github.com/gentrack/gcis-bridge/bridge"
	"github.com/gentrack/gcis-bridge/bridge/salesforce/sfsim"
)

// TestSalesforceReactions covers the reaction table of salesforce.md §3:
// each row injects the condition in the simulator and asserts the outcome.
func TestSalesforceReactions(t *testing.T) {
	accounts := []string{"00000101", "00000102", "00000103", "00000104"}
	type outcome struct {
		deliveredAll bool
		hold         string // hold reason expected at some point ("" = none)
		deadClass    string // every event dead-lettered with this class
	}
	cases := []struct {
		name     string
		faults   []sfsim.Fault
		clearAt  time.Duration // clear faults after this long (0 = never)
		delivery func(*bridge.Delivery)
		want     outcome
	}{
		{name: "401 INVALID_SESSION_ID: new token, retried once",
			faults: []sfsim.Fault{{Kind: sfsim.KindInvalidSession, Count: 1}},
			want:   outcome{deliveredAll: true}},
		{name: "401 on every call: auth hold, then delivered when it clears",
			faults:  []sfsim.Fault{{Kind: sfsim.KindInvalidSession}},
			clearAt: 500 * time.Millisecond,
			want:    outcome{deliveredAll: true, hold: "auth"}},
		{name: "token error invalid_client: auth hold",
			faults:  []sfsim.Fault{{Kind: sfsim.KindTokenError, TokenError: "invalid_client"}},
			clearAt: 500 * time.Millisecond,
			want:    outcome{deliveredAll: true, hold: "auth"}},
		{name: "403 TotalRequests: limit hold",
			faults:  []sfsim.Fault{{Kind: sfsim.KindLimitExceeded}},
			clearAt: 500 * time.Millisecond,
			want:    outcome{deliveredAll: true, hold: "limit"}},
		{name: "403 concurrent limit: throttled, retried",
			faults: []sfsim.Fault{{Kind: sfsim.KindConcurrentLimit, Count: 3}},
			want:   outcome{deliveredAll: true}},
		{name: "403 API_CURRENTLY_DISABLED: connector hold",
			faults:  []sfsim.Fault{{Kind: sfsim.KindHTTPError, Status: 403, ErrorCode: "API_CURRENTLY_DISABLED", Message: "API is disabled for this User"}},
			clearAt: 500 * time.Millisecond,
			want:    outcome{deliveredAll: true, hold: "endpoint"}},
		{name: "404 NOT_FOUND on the endpoint: connector hold",
			faults:  []sfsim.Fault{{Kind: sfsim.KindHTTPError, Status: 404, ErrorCode: "NOT_FOUND", Message: "Could not find a match for URL"}},
			clearAt: 500 * time.Millisecond,
			want:    outcome{deliveredAll: true, hold: "endpoint"}},
		{name: "405 unlisted 4xx: connector hold",
			faults:  []sfsim.Fault{{Kind: sfsim.KindHTTPError, Status: 405, ErrorCode: "METHOD_NOT_ALLOWED", Message: "HTTP Method 'POST' not allowed"}},
			clearAt: 500 * time.Millisecond,
			want:    outcome{deliveredAll: true, hold: "endpoint"}},
		{name: "400 on every request: schema refusal holds, nothing dead-lettered",
			faults:  []sfsim.Fault{{Kind: sfsim.KindRequestError, Message: "Unexpected parameter encountered during deserialization: eventAttributes"}},
			clearAt: 800 * time.Millisecond,
			want:    outcome{deliveredAll: true, hold: "schema"}},
		{name: "500 UNABLE_TO_LOCK_ROW: retried",
			faults: []sfsim.Fault{{Kind: sfsim.KindLockRow, Count: 2}},
			want:   outcome{deliveredAll: true}},
		{name: "500 governor limit: retried with smaller batches",
			faults: []sfsim.Fault{{Kind: sfsim.KindApexError, Count: 2}},
			want:   outcome{deliveredAll: true}},
		{name: "500 other: retried",
			faults:  []sfsim.Fault{{Kind: sfsim.KindHTTPError, Status: 500, ErrorCode: "UNKNOWN_EXCEPTION", Message: "An unexpected error occurred"}},
			clearAt: 300 * time.Millisecond,
			want:    outcome{deliveredAll: true}},
		{name: "503 HTML: retried",
			faults: []sfsim.Fault{{Kind: sfsim.KindHTTPError, Status: 503, HTML: true, Count: 2}},
			want:   outcome{deliveredAll: true}},
		{name: "502 repeated: breaker opens, tenant held, then recovers",
			faults:  []sfsim.Fault{{Kind: sfsim.KindHTTPError, Status: 502}},
			clearAt: time.Second,
			want:    outcome{deliveredAll: true, hold: "breaker"}},
		{name: "connection reset: retried",
			faults: []sfsim.Fault{{Kind: sfsim.KindReset, Count: 2}},
			want:   outcome{deliveredAll: true}},
		{name: "hang until timeout: retried",
			faults:   []sfsim.Fault{{Kind: sfsim.KindHang, Count: 1}},
			delivery: func(d *bridge.Delivery) { d.RequestTimeout = 300 * time.Millisecond },
			want:     outcome{deliveredAll: true}},
		{name: "commit then 503: resent, package deduplicates",
			faults: []sfsim.Fault{{Kind: sfsim.KindCommitThenFail, Count: 1}},
			want:   outcome{deliveredAll: true}},
		{name: "item UNABLE_TO_LOCK_ROW: item retried",
			faults: []sfsim.Fault{{Kind: sfsim.KindItemError, Count: 3, Rule: &sfsim.ItemRule{StatusCode: "UNABLE_TO_LOCK_ROW", Message: "unable to obtain exclusive access to this record"}}},
			want:   outcome{deliveredAll: true}},
		{name: "transient failures past max_attempts: exhausted",
			faults:   []sfsim.Fault{{Kind: sfsim.KindHTTPError, Status: 500, ErrorCode: "UNKNOWN_EXCEPTION", Message: "boom"}},
			delivery: func(d *bridge.Delivery) { d.MaxAttempts = 3 },
			want:     outcome{deadClass: "exhausted"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			h := newHarness(t, harnessOpts{delivery: tc.delivery})
			for _, f := range tc.faults {
				h.fault("acme", f)
			}
			const n = 40
			ids := h.publishN("acme", n, accounts, "r")
			if tc.clearAt > 0 {
				time.Sleep(tc.clearAt)
				h.sim.ClearFaults(orgID("acme"))
			}
			switch {
			case tc.want.deliveredAll:
				evs := h.waitOrgCount("acme", n, 30*time.Second)
				got := map[string]bool{}
				for _, e := range evs {
					got[e.SourceEventID] = true
				}
				for _, id := range ids {
					if !got[id] {
						t.Fatalf("event %s missing at the org", id)
					}
				}
				h.consumerSettled("acme", 15*time.Second)
				if dl := h.deadLetters(); len(dl) != 0 {
					t.Fatalf("%d dead letters (first: %s %s), want none", len(dl), dl[0].Header.Get("Gcis-Dlq-Class"), dl[0].Header.Get("Gcis-Dlq-Reason"))
				}
			case tc.want.deadClass != "":
				dl := h.waitDeadLetters(n, 30*time.Second)
				for _, m := range dl {
					if m.Header.Get("Gcis-Dlq-Class") != tc.want.deadClass {
						t.Fatalf("class %q, want %q", m.Header.Get("Gcis-Dlq-Class"), tc.want.deadClass)
					}
					if m.Header.Get("Gcis-Dlq-Attempts") != "3" || m.Header.Get("Gcis-Dlq-Http-Status") != "500" {
						t.Fatalf("attempts/status headers = %q/%q", m.Header.Get("Gcis-Dlq-Attempts"), m.Header.Get("Gcis-Dlq-Http-Status"))
					}
				}
				h.consumerSettled("acme", 15*time.Second)
			}
			holds := h.holdsOf("acme")
			if tc.want.hold == "" && len(holds) > 0 {
				t.Fatalf("unexpected holds %v", holds)
			}
			if tc.want.hold != "" {
				if !slices.Contains(holds, tc.want.hold) {
					t.Fatalf("holds %v, want %q", holds, tc.want.hold)
				}
				if holds[len(holds)-1] != "" {
					t.Fatalf("hold never ended: %v", holds)
				}
			}
		})
	}
}

// TestWholeRequest400Bisects checks that a poison event causing a
// whole-request 400 is isolated by bisection and dead-lettered alone.
func TestWholeRequest400Bisects(t *testing.T) {
	h := newHarness(t, harnessOpts{delivery: func(d *bridge.Delivery) { d.Linger = 200 * time.Millisecond }})
	h.fault("acme", sfsim.Fault{Kind: sfsim.KindRequestError, Rule: &sfsim.ItemRule{Field: "externalContextId", Prefix: "POISON"}})
	accounts := []string{"00000101", "00000102", "POISON-1", "00000104", "00000105", "00000106", "00000107", "00000108"}
	h.publishN("acme", 32, accounts, "b")
	dl := h.waitDeadLetters(4, 30*time.Second)
	h.waitOrgCount("acme", 28, 30*time.Second)
	h.consumerSettled("acme", 15*time.Second)
	for _, m := range dl {
		if m.Header.Get("Gcis-Dlq-Class") != "rejected" || m.Header.Get("Gcis-Dlq-Error-Code") != "JSON_PARSER_ERROR" || m.Header.Get("Gcis-Dlq-Http-Status") != "400" {
			t.Fatalf("dead letter headers %v", m.Header)
		}
	}
	if len(h.deadLetters()) != 4 {
		t.Fatalf("%d dead letters, want 4", len(h.deadLetters()))
	}
}
