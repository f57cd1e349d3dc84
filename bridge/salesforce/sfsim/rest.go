package sfsim

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
)

// versionEntry is one element of GET /services/data/.
type versionEntry struct {
	Label   string `json:"label"`
	URL     string `json:"url"`
	Version string `json:"version"`
}

// releaseLabel names the release of an API version: 59.0 is Winter '24,
// 60.0 Spring '24, 61.0 Summer '24, 62.0 Winter '25, …
func releaseLabel(v int) string {
	idx := v - 59
	season := ((idx % 3) + 3) % 3
	year := 24 + floorDiv(idx, 3)
	return fmt.Sprintf("%s '%02d", [...]string{"Winter", "Spring", "Summer"}[season], year)
}

func floorDiv(a, b int) int {
	q := a / b
	if (a%b != 0) && ((a < 0) != (b < 0)) {
		q--
	}
	return q
}

func versionsBody(newest int) []byte {
	list := make([]versionEntry, 0, newest-minSupportedAPIVersion+1)
	for v := minSupportedAPIVersion; v <= newest; v++ {
		list = append(list, versionEntry{Label: releaseLabel(v), URL: fmt.Sprintf("/services/data/v%d.0", v), Version: fmt.Sprintf("%d.0", v)})
	}
	b, _ := json.Marshal(list)
	return b
}

// versions serves GET /services/data/: no authentication, no API usage, no
// Sforce-Limit-Info.
func (c *call) versions() {
	if c.r.Method != http.MethodGet && c.r.Method != http.MethodHead {
		c.methodNotAllowed("GET", "HEAD")
		return
	}
	c.writeRaw(http.StatusOK, jsonContentType, c.s.versions)
}

// bearer extracts the token of "Authorization: Bearer …" (or "OAuth …").
func bearer(r *http.Request) (string, bool) {
	h := r.Header.Get("Authorization")
	scheme, tok, ok := strings.Cut(h, " ")
	if !ok || (!strings.EqualFold(scheme, "Bearer") && !strings.EqualFold(scheme, "OAuth")) {
		return "", false
	}
	tok = strings.TrimSpace(tok)
	return tok, tok != ""
}

// beginAPI authenticates an API call, counts it against the daily
// allocation and applies the limits. It reports whether the call goes on.
func (c *call) beginAPI() bool {
	o := c.o
	if f := o.faults.pick(c.s, c.now, c.ep, c.r.Method, KindInvalidSession); f != nil {
		c.fire(f)
		if tok, ok := bearer(c.r); ok {
			o.endSession(tok)
		}
		c.invalidSession()
		return false
	}
	tok, ok := bearer(c.r)
	if !ok || !o.useSession(tok, c.now) {
		c.invalidSession()
		return false
	}
	if f := o.faults.pick(c.s, c.now, c.ep, c.r.Method, KindLimitExceeded); f != nil {
		c.fire(f)
		c.limitInfo = true
		c.sfError(http.StatusForbidden, "REQUEST_LIMIT_EXCEEDED", "TotalRequests Limit exceeded.")
		return false
	}
	if !o.consumeAPI() {
		c.limitInfo = true
		c.sfError(http.StatusForbidden, "REQUEST_LIMIT_EXCEEDED", "TotalRequests Limit exceeded.")
		return false
	}
	c.limitInfo = true
	if f := o.faults.pick(c.s, c.now, c.ep, c.r.Method, KindConcurrentLimit); f != nil {
		c.fire(f)
		msg := "ConcurrentPerOrgLongTxn Limit exceeded."
		if f.Message != "" {
			msg = f.Message
		}
		c.sfError(http.StatusForbidden, "REQUEST_LIMIT_EXCEEDED", msg)
		return false
	}
	cfg := o.config()
	if o.overConcurrency(c.flightID, c.now, cfg.ConcurrentLimit, cfg.LongRequestThreshold) {
		c.sfError(http.StatusForbidden, "REQUEST_LIMIT_EXCEEDED", "ConcurrentPerOrgLongTxn Limit exceeded.")
		return false
	}
	return true
}

// data serves /services/data/vXX.X/...: the resource list, limits and the
// named-credential resources.
func (c *call) data() {
	if !c.beginAPI() {
		return
	}
	rest := strings.TrimPrefix(c.path, "/services/data/")
	ver, sub, _ := strings.Cut(rest, "/")
	v, err := parseAPIVersion(strings.TrimPrefix(ver, "v"))
	if err != nil || !strings.HasPrefix(ver, "v") || v > c.s.apiVersion {
		c.notFound()
		return
	}
	sub = strings.TrimSuffix(sub, "/")
	switch {
	case sub == "":
		if c.r.Method != http.MethodGet && c.r.Method != http.MethodHead {
			c.methodNotAllowed("GET", "HEAD")
			return
		}
		p := "/services/data/" + ver + "/"
		c.writeJSON(http.StatusOK, map[string]string{
			"limits":            p + "limits",
			"named-credentials": p + "named-credentials",
			"sobjects":          p + "sobjects",
			"query":             p + "query",
			"composite":         p + "composite",
		})
	case sub == "limits":
		if c.r.Method != http.MethodGet && c.r.Method != http.MethodHead {
			c.methodNotAllowed("GET", "HEAD")
			return
		}
		c.limits()
	case sub == "named-credentials" || strings.HasPrefix(sub, "named-credentials/"):
		c.namedCredentials("/services/data/"+ver, strings.TrimPrefix(sub, "named-credentials"))
	default:
		c.notFound()
	}
}

// limitValue is one entry of the limits resource.
type limitValue struct {
	Max       int64 `json:"Max"`
	Remaining int64 `json:"Remaining"`
}

func (c *call) limits() {
	used, limit := c.o.apiUsed.Load(), c.o.apiMax.Load()
	full := func(n int64) limitValue { return limitValue{Max: n, Remaining: n} }
	c.writeJSON(http.StatusOK, map[string]limitValue{
		"DailyApiRequests":                            {Max: limit, Remaining: max(limit-used, 0)},
		"DailyAsyncApexExecutions":                    full(250000),
		"DailyBulkApiBatches":                         full(15000),
		"DailyBulkV2QueryJobs":                        full(10000),
		"DailyBulkV2QueryFileStorageMB":               full(976562),
		"DailyStreamingApiEvents":                     full(1000000),
		"HourlyPublishedPlatformEvents":               full(250000),
		"HourlyPublishedStandardVolumePlatformEvents": full(100000),
		"ConcurrentAsyncGetReportInstances":           full(200),
		"DataStorageMB":                               full(5120),
		"FileStorageMB":                               full(20480),
		"SingleEmail":                                 full(5000),
	})
}
