package salesforce

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
)

// StepStatus is the outcome of one Test Connection step.
type StepStatus string

// Step outcomes.
const (
	StepOK      StepStatus = "ok"
	StepWarning StepStatus = "warning"
	StepFailed  StepStatus = "failed"
	StepSkipped StepStatus = "skipped"
)

// Test Connection step names, in order.
const (
	StepToken    = "token"
	StepVersions = "versions"
	StepLimits   = "limits"
	StepEndpoint = "endpoint"
)

// SchemaVersion is the event schema version the bridge sends.
const SchemaVersion = "2.0"

// Report is the result of [Client.TestConnection]: one entry per step, in
// order, plus what was learnt. It is JSON-serialisable and holds no secret.
type Report struct {
	// OK is true when no step failed (warnings allowed).
	OK bool `json:"ok"`
	// Steps are token, versions, limits, endpoint.
	Steps []Step `json:"steps"`
	// InstanceURL is the API base returned by the token call.
	InstanceURL string `json:"instanceUrl,omitempty"`
	// APIVersion is the newest REST API version the org offers (e.g. "62.0").
	APIVersion string `json:"apiVersion,omitempty"`
	// DailyAPIRequests is the org's DailyApiRequests limit, when readable.
	DailyAPIRequests *Limit `json:"dailyApiRequests,omitempty"`
	// Package describes the installed managed package, when it answered.
	Package *PackageInfo `json:"package,omitempty"`
	// DurationMS is the whole test's duration in milliseconds.
	DurationMS float64 `json:"durationMs"`
}

// Step is one Test Connection step.
type Step struct {
	// Name is "token", "versions", "limits" or "endpoint".
	Name string `json:"name"`
	// Status is ok, warning, failed or skipped.
	Status StepStatus `json:"status"`
	// Reason explains the status in one line.
	Reason string `json:"reason,omitempty"`
	// Class, HTTPStatus and Code describe a failure or warning.
	Class      Class  `json:"class,omitempty"`
	HTTPStatus int    `json:"httpStatus,omitempty"`
	Code       string `json:"code,omitempty"`
	// DurationMS is the step's duration in milliseconds.
	DurationMS float64 `json:"durationMs"`
}

// Limit is one entry of /limits.
type Limit struct {
	Max       int `json:"max"`
	Remaining int `json:"remaining"`
}

// PackageInfo is the event endpoint's self-description.
type PackageInfo struct {
	Package        string   `json:"package"`
	Version        string   `json:"version"`
	SchemaVersions []string `json:"schemaVersions"`
}

// TestConnection checks the connector end to end (salesforce.md §4): a
// fresh token; GET /services/data/ and the newest version's /limits (a 403
// there, other than a request limit, is a warning: the integration user
// lacks View Setup); GET the event endpoint, which must describe the gtx_bu
// package accepting schema 2.0. It bypasses the breaker, never returns an
// error, and stops early only when there is no token.
func (c *Client) TestConnection(ctx context.Context) Report {
	start := time.Now()
	var rep Report
	step := func(name string, f func() Step) {
		t := time.Now()
		s := f()
		s.Name = name
		s.Reason, s.Code = c.redact(s.Reason), c.redact(s.Code) // bodies may echo anything
		s.DurationMS = ms(time.Since(t))
		rep.Steps = append(rep.Steps, s)
	}

	// 1. Token.
	var sess *session
	step(StepToken, func() Step {
		if c.base.Err() != nil {
			return failedStep(ErrClosed)
		}
		c.tokens.invalidate()
		s, err := c.tokens.get(ctx)
		if err != nil {
			return failedStep(c.tokenError(ctx, err))
		}
		sess = s
		rep.InstanceURL = s.instanceURL
		return Step{Status: StepOK, Reason: "token issued; instance_url " + s.instanceURL}
	})
	if sess == nil {
		for _, n := range []string{StepVersions, StepLimits, StepEndpoint} {
			rep.Steps = append(rep.Steps, Step{Name: n, Status: StepSkipped, Reason: "no token"})
		}
		rep.DurationMS = ms(time.Since(start))
		return rep
	}

	// 2. Versions, then limits.
	var versionURL string
	step(StepVersions, func() Step {
		resp, err := c.do(ctx, StepVersions, http.MethodGet, "/services/data/", nil)
		if err != nil {
			return failedStep(err)
		}
		var vs []apiVersion
		if err := json.Unmarshal(resp.body, &vs); err != nil || len(vs) == 0 {
			return Step{Status: StepFailed, Class: ClassConnector, HTTPStatus: resp.status, Reason: "GET /services/data/ did not list API versions"}
		}
		best := slices.MaxFunc(vs, func(a, b apiVersion) int { return compareVersions(a.Version, b.Version) })
		if !strings.HasPrefix(best.URL, "/services/data/") || strings.ContainsAny(best.URL, "?#") {
			best.URL = "/services/data/v" + best.Version
		}
		versionURL = strings.TrimRight(best.URL, "/")
		rep.APIVersion = best.Version
		return Step{Status: StepOK, Reason: "newest API version " + best.Version}
	})
	step(StepLimits, func() Step {
		if versionURL == "" {
			return Step{Status: StepSkipped, Reason: "no API version"}
		}
		resp, err := c.do(ctx, StepLimits, http.MethodGet, versionURL+"/limits", nil)
		if err != nil {
			var e *Error
			if errors.As(err, &e) && e.HTTPStatus == http.StatusForbidden && e.Class == ClassConnector {
				s := failedStep(err)
				s.Status = StepWarning
				s.Reason = "cannot read API limits (the integration user lacks View Setup and Configuration): " + s.Reason
				return s
			}
			return failedStep(err)
		}
		var lim map[string]struct {
			Max       *int `json:"Max"`
			Remaining *int `json:"Remaining"`
		}
		_ = json.Unmarshal(resp.body, &lim)
		d, ok := lim["DailyApiRequests"]
		if !ok || d.Max == nil || d.Remaining == nil {
			return Step{Status: StepWarning, HTTPStatus: resp.status, Reason: "limits response has no DailyApiRequests"}
		}
		rep.DailyAPIRequests = &Limit{Max: *d.Max, Remaining: *d.Remaining}
		if *d.Max > 0 && *d.Remaining >= 0 && *d.Remaining <= *d.Max {
			c.recordUsage(Usage{Used: *d.Max - *d.Remaining, Max: *d.Max})
		}
		return Step{Status: StepOK, Reason: fmt.Sprintf("daily API requests: %d of %d remaining", *d.Remaining, *d.Max)}
	})

	// 3. The package's endpoint.
	step(StepEndpoint, func() Step {
		resp, err := c.do(ctx, StepEndpoint, http.MethodGet, c.EventPath(), nil)
		if err != nil {
			s := failedStep(err)
			var e *Error
			if errors.As(err, &e) && e.HTTPStatus == http.StatusNotFound {
				s.Reason = "the gtx_bu package is not installed or event_endpoint " + c.cfg.EventEndpoint + " is wrong: " + s.Reason
			}
			return s
		}
		var p PackageInfo
		if err := json.Unmarshal(resp.body, &p); err != nil || p.Package == "" {
			return Step{Status: StepFailed, Class: ClassConnector, HTTPStatus: resp.status,
				Reason: "the endpoint answered but not with the package's description: " + describeBody(resp.header, resp.body, resp.status)}
		}
		for i, v := range p.SchemaVersions {
			p.SchemaVersions[i] = c.redact(v)
		}
		p.Package, p.Version = c.redact(p.Package), c.redact(p.Version)
		rep.Package = &p
		desc := fmt.Sprintf("package %s %s", p.Package, p.Version)
		if !slices.Contains(p.SchemaVersions, SchemaVersion) {
			return Step{Status: StepFailed, Class: ClassConnector, HTTPStatus: resp.status,
				Reason: fmt.Sprintf("%s does not accept schemaVersion %s (accepts %s)", desc, SchemaVersion, strings.Join(p.SchemaVersions, ", "))}
		}
		if p.Package != "gtx_bu" {
			return Step{Status: StepWarning, HTTPStatus: resp.status, Reason: desc + ": expected package gtx_bu"}
		}
		return Step{Status: StepOK, Reason: desc + " accepts schemaVersion " + SchemaVersion}
	})

	rep.OK = !slices.ContainsFunc(rep.Steps, func(s Step) bool { return s.Status == StepFailed })
	rep.DurationMS = ms(time.Since(start))
	return rep
}

// apiVersion is one entry of GET /services/data/.
type apiVersion struct {
	Version string `json:"version"`
	URL     string `json:"url"`
}

// failedStep describes err as a failed step.
func failedStep(err error) Step {
	s := Step{Status: StepFailed, Class: ClassOf(err), Reason: err.Error()}
	var e *Error
	if errors.As(err, &e) {
		s.HTTPStatus, s.Code = e.HTTPStatus, e.Code
		s.Reason = e.Error()
	}
	return s
}

// compareVersions compares dotted decimal versions ("62.0" < "100.0").
func compareVersions(a, b string) int {
	as, bs := strings.Split(a, "."), strings.Split(b, ".")
	for i := range max(len(as), len(bs)) {
		var x, y int
		if i < len(as) {
			x, _ = strconv.Atoi(as[i])
		}
		if i < len(bs) {
			y, _ = strconv.Atoi(bs[i])
		}
		if c := cmp.Compare(x, y); c != 0 {
			return c
		}
	}
	return 0
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
