package salesforce

import (
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Usage is the org's API usage as last reported by Salesforce
// (Sforce-Limit-Info: api-usage=Used/Max). The zero Usage means unknown.
type Usage struct {
	Used int `json:"used"`
	Max  int `json:"max"`
}

// Ratio returns Used/Max, or 0 when Max is unknown.
func (u Usage) Ratio() float64 {
	if u.Max <= 0 {
		return 0
	}
	return float64(u.Used) / float64(u.Max)
}

// maxHeaderInt bounds the numbers accepted in headers (no overflow on any
// platform, far above any real allocation).
const maxHeaderInt = 1<<31 - 1

// parseLimitInfo reads the api-usage entry of a Sforce-Limit-Info header
// value, e.g. "api-usage=10018/100000; api-bursts=1/750". Other entries
// (separated by ';' or ',') are ignored. It reports false when there is no
// well-formed api-usage entry (Used ≥ 0, Max > 0, decimal digits only).
func parseLimitInfo(v string) (Usage, bool) {
	for len(v) > 0 {
		var entry string
		if i := strings.IndexAny(v, ";,"); i >= 0 {
			entry, v = v[:i], v[i+1:]
		} else {
			entry, v = v, ""
		}
		key, val, ok := strings.Cut(entry, "=")
		if !ok || !strings.EqualFold(strings.TrimSpace(key), "api-usage") {
			continue
		}
		usedS, maxS, ok := strings.Cut(strings.TrimSpace(val), "/")
		if !ok {
			continue
		}
		used, ok1 := parseDecimal(strings.TrimSpace(usedS))
		mx, ok2 := parseDecimal(strings.TrimSpace(maxS))
		if ok1 && ok2 && mx > 0 {
			return Usage{Used: used, Max: mx}, true
		}
	}
	return Usage{}, false
}

// parseDecimal parses a non-empty string of ASCII digits up to maxHeaderInt.
func parseDecimal(s string) (int, bool) {
	if s == "" || len(s) > 10 {
		return 0, false
	}
	n := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int(c-'0')
	}
	if n > maxHeaderInt {
		return 0, false
	}
	return n, true
}

// maxRetryAfter caps a server-requested wait.
const maxRetryAfter = 24 * time.Hour

// parseRetryAfter reads a Retry-After value: delta-seconds or an HTTP-date
// (relative to now). It reports false for an absent or malformed value. The
// result is within [0, 24h]; a date in the past gives 0.
func parseRetryAfter(v string, now time.Time) (time.Duration, bool) {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0, false
	}
	if v[0] >= '0' && v[0] <= '9' {
		if len(v) > 6 { // more than 11 days of seconds: cap
			for i := 0; i < len(v); i++ {
				if v[i] < '0' || v[i] > '9' {
					return 0, false
				}
			}
			return maxRetryAfter, true
		}
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			return 0, false
		}
		return min(time.Duration(n)*time.Second, maxRetryAfter), true
	}
	t, err := http.ParseTime(v)
	if err != nil {
		return 0, false
	}
	d := t.Sub(now)
	if d < 0 {
		return 0, true
	}
	return min(d, maxRetryAfter), true
}
