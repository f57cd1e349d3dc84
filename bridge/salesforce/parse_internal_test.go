package salesforce

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestParseLimitInfo(t *testing.T) {
	tests := []struct {
		in   string
		want Usage
		ok   bool
	}{
		{"api-usage=10018/100000", Usage{10018, 100000}, true},
		{"api-usage=10018/100000; api-bursts=1/750", Usage{10018, 100000}, true},
		{"api-bursts=1/750; api-usage=5/15000", Usage{5, 15000}, true},
		{" API-Usage = 7 / 100 ", Usage{7, 100}, true},
		{"per-app-api-usage=17/250(appName=x), api-usage=18/5000", Usage{18, 5000}, true},
		{"api-usage=0/1", Usage{0, 1}, true},
		{"api-usage=1/0", Usage{}, false},
		{"api-usage=-1/100", Usage{}, false},
		{"api-usage=1e3/100", Usage{}, false},
		{"api-usage=99999999999/100", Usage{}, false},
		{"api-usage=12", Usage{}, false},
		{"per-app-api-usage=17/250(appName=x)", Usage{}, false},
		{"", Usage{}, false},
	}
	for _, tt := range tests {
		got, ok := parseLimitInfo(tt.in)
		assert.Equal(t, tt.ok, ok, tt.in)
		assert.Equal(t, tt.want, got, tt.in)
	}
}

func FuzzParseLimitInfo(f *testing.F) {
	for _, s := range []string{"api-usage=10018/100000", "api-usage=10018/100000; api-bursts=1/750", "api-usage=1/0", ";;,=/", "api-usage= 2 /3,", "api-usage=4294967296/1"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		u, ok := parseLimitInfo(s)
		if !ok {
			if u != (Usage{}) {
				t.Fatalf("%q: not ok but %+v", s, u)
			}
			return
		}
		if u.Used < 0 || u.Max <= 0 || u.Used > maxHeaderInt || u.Max > maxHeaderInt {
			t.Fatalf("%q: out of range %+v", s, u)
		}
		if !strings.Contains(strings.ToLower(s), "api-usage") {
			t.Fatalf("%q: usage without an api-usage entry", s)
		}
	})
}

func TestParseRetryAfter(t *testing.T) {
	now := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		in   string
		want time.Duration
		ok   bool
	}{
		{"7", 7 * time.Second, true},
		{" 120 ", 2 * time.Minute, true},
		{"0", 0, true},
		{now.Add(90 * time.Second).Format(http.TimeFormat), 90 * time.Second, true},
		{now.Add(-time.Hour).Format(http.TimeFormat), 0, true},
		{"Thu, 01 Jan 2026 12:00:30 GMT", 30 * time.Second, true},
		{"999999999999", maxRetryAfter, true},
		{"100000", maxRetryAfter, true},
		{"-5", 0, false},
		{"1.5", 0, false},
		{"soon", 0, false},
		{"", 0, false},
		{"12345678901x", 0, false},
	}
	for _, tt := range tests {
		got, ok := parseRetryAfter(tt.in, now)
		assert.Equal(t, tt.ok, ok, tt.in)
		assert.Equal(t, tt.want, got, tt.in)
	}
}

func FuzzParseRetryAfter(f *testing.F) {
	now := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	for _, s := range []string{"7", "0", "Thu, 01 Jan 2026 12:00:30 GMT", "Monday, 02-Jan-06 15:04:05 MST", "Mon Jan  2 15:04:05 2006", "999999999999", "-1", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		d, ok := parseRetryAfter(s, now)
		if d < 0 || d > maxRetryAfter {
			t.Fatalf("%q: %v out of range", s, d)
		}
		if !ok && d != 0 {
			t.Fatalf("%q: not ok but %v", s, d)
		}
	})
}

func FuzzParseErrorBody(f *testing.F) {
	for _, s := range []string{
		`[{"message":"Session expired or invalid","errorCode":"INVALID_SESSION_ID"}]`,
		`[{"message":"a\nb","errorCode":"APEX_ERROR"},{"message":"c","errorCode":"D"}]`,
		`{"error":"invalid_client","error_description":"invalid client credentials"}`,
		`<html><title>Down</title></html>`, `[]`, `{}`, `null`, ``,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		code, msg, ok := parseErrorBody(body)
		if !ok && (code != "" || msg != "") {
			t.Fatalf("not ok but %q %q", code, msg)
		}
		d := describeBody(http.Header{"Content-Type": {"text/html"}}, body, 503)
		for _, s := range []string{foldLine(code), foldLine(msg), foldLine(d)} {
			if strings.ContainsAny(s, "\n\r") || !utf8.ValidString(s) || len(s) > maxMessageLen+len("…") {
				t.Fatalf("fold gave %q", s)
			}
		}
	})
}

func TestFoldLine(t *testing.T) {
	tests := []struct{ in, want string }{
		{"a\n\nb", "a b"},
		{"  lead\ttab\r\ntrail  ", "lead tab trail"},
		{"ctl\x00\x1b[31mred", "ctl [31mred"},
		{"bad \xff utf8", "bad \uFFFD utf8"},
		{"line\u2028sep", "line sep"},
		{"", ""},
	}
	for _, tt := range tests {
		assert.Equal(t, tt.want, foldLine(tt.in), "%q", tt.in)
	}
	long := foldLine(strings.Repeat("é", 2000))
	assert.True(t, utf8.ValidString(long))
	assert.LessOrEqual(t, len(long), maxMessageLen+len("…"))
}

func FuzzBuildBody(f *testing.F) {
	f.Add("acme-prod", "01JF7ZK2X6Q3W5V8N9R0T4Y2M1", 3)
	f.Add("quote\"back\\slash\u2028", "\x00\xff", 1)
	f.Fuzz(func(t *testing.T, connector, batchID string, n int) {
		n = 1 + (n%50+50)%50
		c := &Client{connJSON: jsonString(connector)}
		events := make([]json.RawMessage, n)
		for i := range events {
			events[i] = json.RawMessage(`{"sourceEventId":"e` + strings.Repeat("x", i) + `","n":[1,2.50,{"a":null}]}`)
		}
		body := c.buildBody(batchID, events)
		require.True(t, json.Valid(body), "%s", body)
		var got struct {
			SchemaVersion string            `json:"schemaVersion"`
			ConnectorID   string            `json:"connectorId"`
			BatchID       string            `json:"batchId"`
			Events        []json.RawMessage `json:"events"`
		}
		require.NoError(t, json.Unmarshal(body, &got))
		assert.Equal(t, "2.0", got.SchemaVersion)
		assert.Equal(t, perByteValid(connector), got.ConnectorID)
		assert.Equal(t, perByteValid(batchID), got.BatchID)
		require.Len(t, got.Events, n)
		for i := range events {
			assert.Equal(t, string(events[i]), string(got.Events[i]))
		}
		assert.Equal(t, len(body), cap(body), "the body is built in one allocation")
	})
}

// perByteValid replaces each invalid UTF-8 byte with U+FFFD, as
// encoding/json does.
func perByteValid(s string) string {
	var b strings.Builder
	for _, r := range s {
		b.WriteRune(r) // ranging yields U+FFFD for each invalid byte
	}
	return b.String()
}
