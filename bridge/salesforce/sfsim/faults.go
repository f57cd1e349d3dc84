package sfsim

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// ErrInvalidFault is wrapped by every fault validation error.
var ErrInvalidFault = errors.New("invalid fault")

// FaultKind names what a [Fault] does.
type FaultKind string

// Fault kinds. Each is described in docs/sfsim.md with its defaults.
const (
	// KindLatency delays matching requests by a duration drawn from Latency,
	// then lets them proceed. Several latency faults add up.
	KindLatency FaultKind = "latency"
	// KindHTTPError answers matching requests with Status (default 503)
	// and a Salesforce error array (ErrorCode, Message) or, with HTML, an
	// HTML page. It acts before authentication, like Salesforce's edge.
	KindHTTPError FaultKind = "http_error"
	// KindReset closes the connection without a response (TCP RST).
	KindReset FaultKind = "reset"
	// KindHang never answers: the request is held until the client gives up
	// or the server is closed.
	KindHang FaultKind = "hang"
	// KindExpireSessions ends every session of the org when the fault is
	// added (an admin's "expire all sessions"). It is not kept.
	KindExpireSessions FaultKind = "expire_sessions"
	// KindInvalidSession answers 401 INVALID_SESSION_ID and ends the
	// presented session, as an early expiry or a revocation does.
	KindInvalidSession FaultKind = "invalid_session"
	// KindTokenError makes the token endpoint answer the token error named
	// by TokenError (see [TokenErrors]).
	KindTokenError FaultKind = "token_error"
	// KindLimitExceeded answers 403 REQUEST_LIMIT_EXCEEDED "TotalRequests
	// Limit exceeded.", as when the daily allocation is used up.
	KindLimitExceeded FaultKind = "limit_exceeded"
	// KindConcurrentLimit answers 403 REQUEST_LIMIT_EXCEEDED
	// "ConcurrentPerOrgLongTxn Limit exceeded." (Message may give the
	// "ConcurrentRequests (Concurrent API Requests) Limit exceeded." form).
	KindConcurrentLimit FaultKind = "concurrent_limit"
	// KindApexError answers 500 APEX_ERROR with Message (default a governor
	// limit: "System.LimitException: Too many SOQL queries: 101"), after the
	// body was parsed and before anything is stored.
	KindApexError FaultKind = "apex_error"
	// KindLockRow answers 500 APEX_ERROR with a DmlException carrying
	// UNABLE_TO_LOCK_ROW, before anything is stored.
	KindLockRow FaultKind = "lock_row"
	// KindItemError rejects the events matched by Rule with a per-item
	// error (default FIELD_CUSTOM_VALIDATION_EXCEPTION); Probability, Count
	// and the window apply per matching event.
	KindItemError FaultKind = "item_error"
	// KindRequestError rejects the whole request, after the body was parsed,
	// with Status (default 400), ErrorCode (default JSON_PARSER_ERROR) and
	// Message when any event of the batch matches Rule (every request when
	// Rule is nil or has no Field): a "poison" event that makes the package
	// refuse the batch, as the bridge's bisection expects.
	KindRequestError FaultKind = "request_error"
	// KindCommitThenFail stores the batch normally, then answers Status
	// (default 503) or, with Then, resets or hangs the connection.
	KindCommitThenFail FaultKind = "commit_then_fail"
)

// Fault targets: which requests of an org a fault applies to.
const (
	TargetToken           = "token"             // POST /services/oauth2/token
	TargetOAuth           = "oauth"             // token, introspect and revoke
	TargetEvent           = "event"             // /services/apexrest/...
	TargetLimits          = "limits"            // /services/data/vXX.X/limits
	TargetVersions        = "versions"          // /services/data/
	TargetNamedCredential = "named_credentials" // /services/data/vXX.X/named-credentials/...
	TargetData            = "data"              // /services/data/vXX.X/... (limits, named credentials, ...)
	TargetAPI             = "api"               // every authenticated call: data and apexrest
	TargetAny             = "any"               // every Salesforce request of the org
)

// Fault is a failure injected into one org's requests. Which requests it
// applies to is given by Target and Method; when it acts by From/Until or
// Duration, Skip, Count and Probability. Zero values mean: the kind's
// default target, any method, always active, fire every time.
type Fault struct {
	// ID identifies the fault once added; assigned by the server.
	ID string `json:"id,omitempty"`
	// Kind says what the fault does. Required.
	Kind FaultKind `json:"kind"`
	// Target selects the requests: one of the Target* constants. Default:
	// "token" for token_error, "api" for invalid_session, limit_exceeded and
	// concurrent_limit, "event" for everything else.
	Target string `json:"target,omitempty"`
	// Method restricts the fault to one HTTP method, e.g. "POST".
	Method string `json:"method,omitempty"`
	// Probability that a matching request is affected, in (0,1]; 0 means 1.
	Probability float64 `json:"probability,omitempty"`
	// Count is how many times the fault fires before it is spent; 0 means
	// no limit.
	Count int `json:"count,omitempty"`
	// Skip lets the first Skip matching requests through (e.g. Skip 2,
	// Count 1 fails only the third).
	Skip int `json:"skip,omitempty"`
	// From and Until bound the window in which the fault is active.
	From  time.Time `json:"from,omitzero"`
	Until time.Time `json:"until,omitzero"`
	// Duration, when set, makes the fault active for that long from when it
	// is added (it sets Until).
	Duration time.Duration `json:"-"`

	// Status is the HTTP status of http_error (default 503) and
	// commit_then_fail (default 503), or of a token error (default 400).
	Status int `json:"status,omitempty"`
	// ErrorCode overrides the errorCode of the error body (for token_error:
	// the "error" field).
	ErrorCode string `json:"error_code,omitempty"`
	// Message overrides the message of the error body (for token_error:
	// "error_description").
	Message string `json:"message,omitempty"`
	// HTML answers with an HTML page instead of a JSON error array.
	HTML bool `json:"html,omitempty"`
	// RetryAfter, when positive, adds a Retry-After header (seconds).
	RetryAfter int `json:"retry_after,omitempty"`
	// TokenError names the token error of a token_error fault: one of the
	// keys of [TokenErrors]. Required for token_error.
	TokenError string `json:"token_error,omitempty"`
	// Latency is the delay distribution of a latency fault. Required for
	// latency.
	Latency *Latency `json:"latency,omitempty"`
	// Rule selects and describes the per-item rejection of item_error.
	Rule *ItemRule `json:"rule,omitempty"`
	// Then is what commit_then_fail does after storing: "" (answer Status),
	// "reset" or "hang".
	Then string `json:"then,omitempty"`
}

// faultJSON carries Duration as a string.
type faultAlias Fault

// MarshalJSON writes Duration as a Go duration string.
func (f Fault) MarshalJSON() ([]byte, error) {
	return json.Marshal(struct {
		faultAlias
		Duration duration `json:"duration,omitzero"`
	}{faultAlias(f), duration(f.Duration)})
}

// UnmarshalJSON reads the control API's form of a fault: durations are
// strings such as "30s" and unknown names are an error.
func (f *Fault) UnmarshalJSON(b []byte) error {
	var j struct {
		faultAlias
		Duration duration `json:"duration,omitzero"`
	}
	if err := strictUnmarshal(b, &j); err != nil {
		return err
	}
	*f = Fault(j.faultAlias)
	f.Duration = time.Duration(j.Duration)
	return nil
}

// Latency is a delay distribution.
type Latency struct {
	// Dist is "fixed" (default: Fixed, or Mean), "uniform" (between Min and
	// Max) or "normal" (Mean ± StdDev, clamped to [Min, Max] when Max > 0).
	Dist   string        `json:"dist,omitempty"`
	Fixed  time.Duration `json:"-"`
	Min    time.Duration `json:"-"`
	Max    time.Duration `json:"-"`
	Mean   time.Duration `json:"-"`
	StdDev time.Duration `json:"-"`
}

type latencyJSON struct {
	Dist   string   `json:"dist,omitempty"`
	Fixed  duration `json:"fixed,omitzero"`
	Min    duration `json:"min,omitzero"`
	Max    duration `json:"max,omitzero"`
	Mean   duration `json:"mean,omitzero"`
	StdDev duration `json:"stddev,omitzero"`
}

// MarshalJSON writes durations as Go duration strings.
func (l Latency) MarshalJSON() ([]byte, error) {
	return json.Marshal(latencyJSON{l.Dist, duration(l.Fixed), duration(l.Min), duration(l.Max), duration(l.Mean), duration(l.StdDev)})
}

// UnmarshalJSON reads durations as Go duration strings ("150ms").
func (l *Latency) UnmarshalJSON(b []byte) error {
	var j latencyJSON
	if err := strictUnmarshal(b, &j); err != nil {
		return err
	}
	*l = Latency{j.Dist, time.Duration(j.Fixed), time.Duration(j.Min), time.Duration(j.Max), time.Duration(j.Mean), time.Duration(j.StdDev)}
	return nil
}

// sample draws one delay; u is uniform in [0,1), n standard normal.
func (l Latency) sample(u, n float64) time.Duration {
	var d time.Duration
	switch l.Dist {
	case "uniform":
		d = l.Min + time.Duration(u*float64(l.Max-l.Min))
	case "normal":
		d = l.Mean + time.Duration(n*float64(l.StdDev))
		if d < l.Min {
			d = l.Min
		}
		if l.Max > 0 && d > l.Max {
			d = l.Max
		}
	default:
		d = l.Fixed
		if d == 0 {
			d = l.Mean
		}
	}
	return max(d, 0)
}

func (l Latency) validate() error {
	switch l.Dist {
	case "", "fixed":
		if l.Fixed < 0 || l.Mean < 0 {
			return errors.New("latency: fixed must not be negative")
		}
	case "uniform":
		if l.Min < 0 || l.Max < l.Min {
			return errors.New("latency: uniform needs 0 <= min <= max")
		}
	case "normal":
		if l.Mean < 0 || l.StdDev < 0 || l.Min < 0 || (l.Max > 0 && l.Max < l.Min) {
			return errors.New("latency: normal needs mean, stddev >= 0 and min <= max")
		}
	default:
		return fmt.Errorf("latency: unknown dist %q (fixed, uniform, normal)", l.Dist)
	}
	return nil
}

// ItemRule selects events of a batch and says how they are rejected.
type ItemRule struct {
	// Field is the event field tested: a JSON name such as
	// "externalContextId", or "attribute:NAME" for an eventAttributes value.
	// Empty: every event matches (use Probability or Count to pick some).
	Field string `json:"field,omitempty"`
	// Prefix, Equals and Contains test the field's value; all given tests
	// must hold. With a Field but no test, an event matches when the field is
	// present.
	Prefix   string `json:"prefix,omitempty"`
	Equals   string `json:"equals,omitempty"`
	Contains string `json:"contains,omitempty"`
	// StatusCode of the item error. Default FIELD_CUSTOM_VALIDATION_EXCEPTION.
	StatusCode string `json:"status_code,omitempty"`
	// Message of the item error. Default depends on StatusCode.
	Message string `json:"message,omitempty"`
	// Fields of the item error. Default [Field] when Field names an event
	// field.
	Fields []string `json:"fields,omitempty"`
}

func (r *ItemRule) matches(e *eventItem) bool {
	if r == nil || r.Field == "" {
		return true
	}
	v, ok := e.field(r.Field)
	if !ok {
		return false
	}
	if r.Prefix != "" && !strings.HasPrefix(v, r.Prefix) {
		return false
	}
	if r.Equals != "" && v != r.Equals {
		return false
	}
	if r.Contains != "" && !strings.Contains(v, r.Contains) {
		return false
	}
	return true
}

func (r *ItemRule) itemError() itemError {
	code := "FIELD_CUSTOM_VALIDATION_EXCEPTION"
	var fields []string
	if r != nil {
		if r.StatusCode != "" {
			code = r.StatusCode
		}
		fields = r.Fields
		if fields == nil && r.Field != "" && !strings.HasPrefix(r.Field, "attribute:") {
			fields = []string{r.Field}
		}
	}
	msg := ""
	if r != nil {
		msg = r.Message
	}
	if msg == "" {
		switch code {
		case "UNABLE_TO_LOCK_ROW":
			msg = "unable to obtain exclusive access to this record"
		case "REQUEST_RUNNING_TOO_LONG":
			msg = "Your request was running for too long, and has been stopped."
		default:
			msg = "Rejected by the validation rules of the gtx_bu package"
		}
	}
	if fields == nil {
		fields = []string{}
	}
	return itemError{StatusCode: code, Message: msg, Fields: fields}
}

// TokenErrors maps the names accepted in [Fault.TokenError] to the OAuth
// error and error_description the token endpoint answers.
var TokenErrors = map[string][2]string{
	"invalid_client_id":      {"invalid_client_id", "client identifier invalid"},
	"invalid_client":         {"invalid_client", "invalid client credentials"},
	"no_run_as_user":         {"invalid_grant", "no client credentials user enabled"},
	"wrong_domain":           {"invalid_grant", "request not supported on this domain"},
	"unsupported_grant_type": {"unsupported_grant_type", "grant type not supported"},
	"invalid_request":        {"invalid_request", "grant type is missing"},
	"invalid_app_access":     {"invalid_app_access", "user is not admin approved to access this app"},
	"inactive_org":           {"inactive_org", "the organization is inactive"},
	"inactive_user":          {"inactive_user", "the user is inactive"},
	"rate_limit_exceeded":    {"rate_limit_exceeded", "rate limit exceeded"},
}

func defaultTarget(k FaultKind) string {
	switch k {
	case KindTokenError:
		return TargetToken
	case KindInvalidSession, KindLimitExceeded, KindConcurrentLimit:
		return TargetAPI
	default:
		return TargetEvent
	}
}

var validTargets = map[string]bool{
	TargetToken: true, TargetOAuth: true, TargetEvent: true, TargetLimits: true,
	TargetVersions: true, TargetNamedCredential: true, TargetData: true, TargetAPI: true, TargetAny: true,
}

// Validate reports what is wrong with the fault, wrapping [ErrInvalidFault].
func (f Fault) Validate() error {
	var errs []string
	switch f.Kind {
	case KindLatency:
		if f.Latency == nil {
			errs = append(errs, "latency: required for kind latency")
		} else if err := f.Latency.validate(); err != nil {
			errs = append(errs, err.Error())
		}
	case KindHTTPError:
		if f.Status != 0 && (f.Status < 400 || f.Status > 599) {
			errs = append(errs, "status: must be 400-599")
		}
	case KindRequestError:
		if f.Status != 0 && (f.Status < 400 || f.Status > 599) {
			errs = append(errs, "status: must be 400-599")
		}
	case KindCommitThenFail:
		if f.Status != 0 && (f.Status < 400 || f.Status > 599) {
			errs = append(errs, "status: must be 400-599")
		}
		if f.Then != "" && f.Then != "reset" && f.Then != "hang" {
			errs = append(errs, `then: must be "", "reset" or "hang"`)
		}
	case KindTokenError:
		if _, ok := TokenErrors[f.TokenError]; !ok && f.ErrorCode == "" {
			errs = append(errs, "token_error: unknown name "+fmt.Sprintf("%q", f.TokenError))
		}
		if f.Status != 0 && (f.Status < 400 || f.Status > 599) {
			errs = append(errs, "status: must be 400-599")
		}
	case KindItemError:
		if f.Rule != nil && strings.HasPrefix(f.Rule.Field, "attribute:") && len(f.Rule.Field) == len("attribute:") {
			errs = append(errs, "rule.field: attribute name missing")
		}
	case KindReset, KindHang, KindExpireSessions, KindInvalidSession, KindLimitExceeded,
		KindConcurrentLimit, KindApexError, KindLockRow:
	case "":
		errs = append(errs, "kind: required")
	default:
		errs = append(errs, fmt.Sprintf("kind: unknown %q", f.Kind))
	}
	if f.Target != "" && !validTargets[f.Target] {
		errs = append(errs, fmt.Sprintf("target: unknown %q", f.Target))
	}
	if f.Probability < 0 || f.Probability > 1 || math.IsNaN(f.Probability) {
		errs = append(errs, "probability: must be in [0,1]")
	}
	if f.Count < 0 {
		errs = append(errs, "count: must not be negative")
	}
	if f.Skip < 0 {
		errs = append(errs, "skip: must not be negative")
	}
	if f.Duration < 0 {
		errs = append(errs, "duration: must not be negative")
	}
	if !f.Until.IsZero() && !f.From.IsZero() && !f.Until.After(f.From) {
		errs = append(errs, "until: must be after from")
	}
	if f.RetryAfter < 0 {
		errs = append(errs, "retry_after: must not be negative")
	}
	if f.Method != "" && f.Method != strings.ToUpper(f.Method) {
		errs = append(errs, "method: must be upper case")
	}
	if len(errs) > 0 {
		return fmt.Errorf("%w: %s", ErrInvalidFault, strings.Join(errs, "; "))
	}
	return nil
}

// FaultState is a fault with its counters, as listed by the control API.
type FaultState struct {
	Fault
	// Matched counts requests (or events, for item_error) that matched the
	// fault's target and window.
	Matched int `json:"matched"`
	// Fired counts the times it acted.
	Fired int `json:"fired"`
	// Active tells whether it can still fire (not spent, window not over).
	Active bool `json:"active"`
}

// MarshalJSON flattens the fault and its counters into one object.
func (fs FaultState) MarshalJSON() ([]byte, error) {
	fb, err := fs.Fault.MarshalJSON()
	if err != nil {
		return nil, err
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(fb, &m); err != nil {
		return nil, err
	}
	m["matched"], _ = json.Marshal(fs.Matched)
	m["fired"], _ = json.Marshal(fs.Fired)
	m["active"], _ = json.Marshal(fs.Active)
	return json.Marshal(m)
}

// UnmarshalJSON reads the form written by MarshalJSON.
func (fs *FaultState) UnmarshalJSON(b []byte) error {
	var m map[string]json.RawMessage
	if err := json.Unmarshal(b, &m); err != nil {
		return err
	}
	for name, dst := range map[string]any{"matched": &fs.Matched, "fired": &fs.Fired, "active": &fs.Active} {
		if v, ok := m[name]; ok {
			if err := json.Unmarshal(v, dst); err != nil {
				return fmt.Errorf("%s: %w", name, err)
			}
			delete(m, name)
		}
	}
	rest, err := json.Marshal(m)
	if err != nil {
		return err
	}
	return fs.Fault.UnmarshalJSON(rest)
}

type activeFault struct {
	f       Fault
	matched int
	fired   int
}

func (a *activeFault) spent(now time.Time) bool {
	if a.f.Count > 0 && a.fired >= a.f.Count {
		return true
	}
	return !a.f.Until.IsZero() && !now.Before(a.f.Until)
}

// faultSet is one org's faults, in the order they were added.
type faultSet struct {
	n  atomic.Int32 // len(list), read without the lock on the hot path
	mu sync.Mutex
	l  []*activeFault
}

func (fs *faultSet) add(f Fault) {
	fs.mu.Lock()
	fs.l = append(fs.l, &activeFault{f: f})
	fs.n.Store(int32(len(fs.l)))
	fs.mu.Unlock()
}

func (fs *faultSet) clear() {
	fs.mu.Lock()
	fs.l = nil
	fs.n.Store(0)
	fs.mu.Unlock()
}

func (fs *faultSet) remove(id string) bool {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	for i, a := range fs.l {
		if a.f.ID == id {
			fs.l = append(fs.l[:i:i], fs.l[i+1:]...)
			fs.n.Store(int32(len(fs.l)))
			return true
		}
	}
	return false
}

func (fs *faultSet) list(now time.Time) []FaultState {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	out := make([]FaultState, 0, len(fs.l))
	for _, a := range fs.l {
		out = append(out, FaultState{Fault: a.f, Matched: a.matched, Fired: a.fired, Active: !a.spent(now)})
	}
	return out
}

// targetMatches tells whether a target covers an endpoint.
func targetMatches(target string, ep endpoint) bool {
	switch target {
	case TargetAny:
		return true
	case TargetToken:
		return ep == epToken
	case TargetOAuth:
		return ep == epToken || ep == epIntrospect || ep == epRevoke
	case TargetEvent:
		return ep == epEvent
	case TargetLimits:
		return ep == epLimits
	case TargetVersions:
		return ep == epVersions
	case TargetNamedCredential:
		return ep == epNamedCred
	case TargetData:
		return ep == epLimits || ep == epNamedCred || ep == epData
	case TargetAPI:
		return ep == epLimits || ep == epNamedCred || ep == epData || ep == epEvent
	}
	return false
}

// pick returns the first fault of one of the kinds that fires for this
// request, counting it; nil if none does.
func (fs *faultSet) pick(s *Server, now time.Time, ep endpoint, method string, kinds ...FaultKind) *Fault {
	if fs.n.Load() == 0 {
		return nil
	}
	fs.mu.Lock()
	defer fs.mu.Unlock()
	for _, a := range fs.l {
		if !kindIn(a.f.Kind, kinds) || !targetMatches(a.f.Target, ep) || (a.f.Method != "" && a.f.Method != method) {
			continue
		}
		if a.fires(s, now) {
			f := a.f
			return &f
		}
	}
	return nil
}

// latency sums the delays of every latency fault that fires.
func (fs *faultSet) latency(s *Server, now time.Time, ep endpoint, method string) (time.Duration, bool) {
	if fs.n.Load() == 0 {
		return 0, false
	}
	fs.mu.Lock()
	defer fs.mu.Unlock()
	var total time.Duration
	fired := false
	for _, a := range fs.l {
		if a.f.Kind != KindLatency || !targetMatches(a.f.Target, ep) || (a.f.Method != "" && a.f.Method != method) {
			continue
		}
		if a.fires(s, now) {
			u, n := s.randPair()
			total += a.f.Latency.sample(u, n)
			fired = true
		}
	}
	return total, fired
}

// itemFault returns the first item_error fault that rejects this event.
func (fs *faultSet) itemFault(s *Server, now time.Time, method string, e *eventItem) *Fault {
	if fs.n.Load() == 0 {
		return nil
	}
	fs.mu.Lock()
	defer fs.mu.Unlock()
	for _, a := range fs.l {
		if a.f.Kind != KindItemError || !targetMatches(a.f.Target, epEvent) || (a.f.Method != "" && a.f.Method != method) {
			continue
		}
		if !a.f.Rule.matches(e) {
			continue
		}
		if a.fires(s, now) {
			f := a.f
			return &f
		}
	}
	return nil
}

// requestFault returns the first request_error fault whose rule matches an
// event of the batch and that fires.
func (fs *faultSet) requestFault(s *Server, now time.Time, method string, items []eventItem) *Fault {
	if fs.n.Load() == 0 {
		return nil
	}
	fs.mu.Lock()
	defer fs.mu.Unlock()
	for _, a := range fs.l {
		if a.f.Kind != KindRequestError || !targetMatches(a.f.Target, epEvent) || (a.f.Method != "" && a.f.Method != method) {
			continue
		}
		hit := false
		for i := range items {
			if a.f.Rule.matches(&items[i]) {
				hit = true
				break
			}
		}
		if hit && a.fires(s, now) {
			f := a.f
			return &f
		}
	}
	return nil
}

// fires applies window, skip, count and probability. Called with the lock.
func (a *activeFault) fires(s *Server, now time.Time) bool {
	if !a.f.From.IsZero() && now.Before(a.f.From) {
		return false
	}
	if a.spent(now) {
		return false
	}
	a.matched++
	if a.matched <= a.f.Skip {
		return false
	}
	if p := a.f.Probability; p > 0 && p < 1 && s.randFloat() >= p {
		return false
	}
	a.fired++
	return true
}

func kindIn(k FaultKind, ks []FaultKind) bool {
	for _, x := range ks {
		if x == k {
			return true
		}
	}
	return false
}
