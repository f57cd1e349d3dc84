package config

import (
	"fmt"
	"net"
	"net/url"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Messages that callers may want to match.
const (
	// MsgMyDomain is the message for a login_url on login.salesforce.com or
	// test.salesforce.com (salesforce.md §1).
	MsgMyDomain = "the client credentials flow needs your My Domain URL (https://<domain>.my.salesforce.com)"
	// MsgRequired is the message for a missing required value.
	MsgRequired = "required"
)

var (
	connectorIDRe   = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{0,62}$`)
	tenantRe        = regexp.MustCompile(`^[A-Za-z0-9_-]{1,64}$`)
	eventTypeRe     = regexp.MustCompile(`^[a-z0-9]+(-[a-z0-9]+)*$`)
	eventEndpointRe = regexp.MustCompile(`^[A-Za-z0-9_-]+(/[A-Za-z0-9_.-]+)*$`)
	headerNameRe    = regexp.MustCompile("^[!#$%&'*+.^_`|~0-9A-Za-z-]+$")
)

// Sources are the event sources a subscription may name. Do not modify.
var Sources = []string{"velocity", "junifer"}

// Validate checks every value of the configuration and returns a
// [*ValidationError] listing all problems, in document order, or nil.
func (c *Config) Validate() error {
	var ps problems
	c.validate(&ps)
	return ps.err("")
}

// ValidateConnector checks one connector as [Config.Validate] would, with
// its delivery overrides applied to c.Delivery, and returns a
// [*ValidationError] whose paths are relative to the connector
// (login_url, delivery.max_in_flight). It does not check that the id and
// tenant are unique. For connectors created through the admin API.
func (c *Config) ValidateConnector(k Connector) error {
	var ps problems
	k.validate(&ps, "", c.Delivery)
	return ps.errAt("", reflect.TypeOf(Connector{}))
}

func (c *Config) validate(ps *problems) {
	// nats
	if c.NATS.URL == "" {
		if c.NATS.Embedded.StoreDir == "" {
			ps.add("nats.embedded.store_dir", "required when nats.url is empty (embedded server)")
		}
	} else if !validNATSURLs(c.NATS.URL) {
		ps.add("nats.url", "must be nats://, tls://, ws:// or wss:// URLs separated by commas, or empty for the embedded server")
	}

	// streams
	validateStream(ps, "streams.events", c.Streams.Events)
	validateStream(ps, "streams.dead_letter", c.Streams.DeadLetter)
	if c.Streams.Events.Name != "" && c.Streams.Events.Name == c.Streams.DeadLetter.Name {
		ps.add("streams.dead_letter.name", "must differ from streams.events.name")
	}
	for i, a := range c.Streams.DeadLetter.Subjects {
		for j, b := range c.Streams.Events.Subjects {
			if validSubject(a) && validSubject(b) && subjectsOverlap(a, b) {
				ps.add(index("streams.dead_letter.subjects", i),
					fmt.Sprintf("overlaps streams.events.subjects[%d] %q", j, b))
			}
		}
	}

	// delivery
	validateDelivery(ps, "delivery", c.Delivery)

	// admin
	validateListen(ps, "admin.listen", c.Admin.Listen, true)
	switch {
	case c.Admin.Token == "":
		ps.add("admin.token", MsgRequired)
	case len([]rune(c.Admin.Token.Reveal())) < MinAdminTokenLength:
		ps.add("admin.token", fmt.Sprintf("must be at least %d characters", MinAdminTokenLength))
	}
	for i, h := range c.Admin.AllowedHosts {
		if !validHost(h) {
			ps.add(index("admin.allowed_hosts", i), fmt.Sprintf("must be a host name or host:port, got %q", h))
		}
	}

	// public
	if c.Public.Listen != "" {
		validateListen(ps, "public.listen", c.Public.Listen, true)
		if c.Public.BaseURL == "" {
			ps.add("public.base_url", "required when public.listen is set")
		}
	}
	if c.Public.BaseURL != "" {
		if msg := checkHTTPURL(c.Public.BaseURL, false); msg != "" {
			ps.add("public.base_url", msg)
		} else if c.Public.Listen == "" {
			ps.add("public.listen", "required when public.base_url is set")
		}
	}

	// metrics, log
	validateListen(ps, "metrics.listen", c.Metrics.Listen, true)
	switch c.Log.Level {
	case "debug", "info", "warn", "error":
	default:
		ps.add("log.level", fmt.Sprintf("must be one of debug, info, warn, error, got %q", c.Log.Level))
	}
	switch c.Log.Format {
	case "json", "console":
	default:
		ps.add("log.format", fmt.Sprintf("must be json or console, got %q", c.Log.Format))
	}

	// connectors
	var global problems
	validateDelivery(&global, "", c.Delivery)
	globalMsgs := map[Problem]bool{}
	for _, p := range global.list {
		globalMsgs[p] = true
	}
	ids := map[string]int{}
	tenants := map[string]int{}
	for i, k := range c.Connectors {
		prefix := index("connectors", i)
		var kp problems
		k.validate(&kp, "", c.Delivery)
		for _, p := range kp.list {
			if strings.HasPrefix(p.Path, "delivery.") && globalMsgs[Problem{Path: strings.TrimPrefix(p.Path, "delivery."), Message: p.Message}] {
				continue // already reported under delivery
			}
			ps.add(join(prefix, p.Path), p.Message)
		}
		if k.ID != "" {
			if j, dup := ids[k.ID]; dup {
				ps.add(prefix+".id", fmt.Sprintf("duplicate of connectors[%d].id %q", j, k.ID))
			} else {
				ids[k.ID] = i
			}
		}
		if k.Tenant != "" {
			if j, dup := tenants[k.Tenant]; dup {
				ps.add(prefix+".tenant", fmt.Sprintf("tenant %q already has connector %q (connectors[%d]): one connector per tenant", k.Tenant, c.Connectors[j].ID, j))
			} else {
				tenants[k.Tenant] = i
			}
		}
	}
}

func (k Connector) validate(ps *problems, prefix string, base Delivery) {
	p := func(key string) string { return join(prefix, key) }
	switch {
	case k.ID == "":
		ps.add(p("id"), MsgRequired)
	case !connectorIDRe.MatchString(k.ID):
		ps.add(p("id"), fmt.Sprintf("must match ^[a-z0-9][a-z0-9-]{0,62}$ (lower-case letters, digits and -), got %q", k.ID))
	}
	switch {
	case k.Tenant == "":
		ps.add(p("tenant"), MsgRequired)
	case !tenantRe.MatchString(k.Tenant):
		ps.add(p("tenant"), fmt.Sprintf("must be 1 to 64 characters of A-Z, a-z, 0-9, _ and -, got %q", k.Tenant))
	}
	if k.LoginURL == "" {
		ps.add(p("login_url"), MsgRequired)
	} else if msg := checkLoginURL(k.LoginURL, k.AllowInsecureHTTP); msg != "" {
		ps.add(p("login_url"), msg)
	}
	if k.ConsumerKey == "" {
		ps.add(p("consumer_key"), MsgRequired)
	}
	if k.ConsumerSecret == "" {
		ps.add(p("consumer_secret"), MsgRequired)
	}
	switch {
	case k.EventEndpoint == "":
		ps.add(p("event_endpoint"), MsgRequired)
	case !validEventEndpoint(k.EventEndpoint):
		ps.add(p("event_endpoint"), fmt.Sprintf("must be a path below /services/apexrest/ such as gtx_bu/v2/event, got %q", k.EventEndpoint))
	}
	if u := k.GentrackAPI.JuniferURL; u != "" {
		if msg := checkHTTPURL(u, k.AllowInsecureHTTP); msg != "" {
			ps.add(p("gentrack_api.junifer_url"), msg)
		}
	}
	if u := k.GentrackAPI.VelocityURL; u != "" {
		if msg := checkHTTPURL(u, k.AllowInsecureHTTP); msg != "" {
			ps.add(p("gentrack_api.velocity_url"), msg)
		}
	}
	for name, v := range k.GentrackAPI.Headers {
		hp := p("gentrack_api.headers." + name)
		switch {
		case !headerNameRe.MatchString(name):
			ps.add(hp, "is not a valid HTTP header name")
		case isReservedHeader(name):
			ps.add(hp, "cannot be set: the gateway manages this header")
		case strings.ContainsAny(v.Reveal(), "\r\n\x00"):
			ps.add(hp, "must not contain line breaks")
		}
	}
	if len(k.Subscriptions) == 0 {
		ps.add(p("subscriptions"), `must list at least one subscription ("*" for every event)`)
	}
	for i, s := range k.Subscriptions {
		if !validSubscription(s) {
			ps.add(index(p("subscriptions"), i), fmt.Sprintf(`must be "*", "<source>.*" or "<source>.<eventType>" (source velocity or junifer, eventType kebab-case), got %q`, s))
		}
	}
	switch k.StartFrom {
	case "all", "new":
	default:
		if _, err := time.Parse(time.RFC3339, k.StartFrom); err != nil {
			ps.add(p("start_from"), fmt.Sprintf("must be all, new or an RFC 3339 time such as 2025-03-04T09:15:22Z, got %q", k.StartFrom))
		}
	}
	if k.Delivery != nil {
		validateDelivery(ps, p("delivery"), k.Delivery.Apply(base))
	}
}

func validateDelivery(ps *problems, prefix string, d Delivery) {
	p := func(key string) string { return join(prefix, key) }
	if d.BatchMaxEvents < 1 || d.BatchMaxEvents > MaxBatchEvents {
		ps.add(p("batch_max_events"), fmt.Sprintf("must be between 1 and %d, got %d", MaxBatchEvents, d.BatchMaxEvents))
	}
	switch {
	case d.BatchMaxBytes <= 0:
		ps.add(p("batch_max_bytes"), fmt.Sprintf("must be greater than 0, got %s", d.BatchMaxBytes))
	case d.BatchMaxBytes > MaxBatchBytes:
		ps.add(p("batch_max_bytes"), fmt.Sprintf("must be at most %s (the Salesforce request limit), got %s", MaxBatchBytes, d.BatchMaxBytes))
	}
	positive(ps, p("linger"), d.Linger)
	atLeast(ps, p("max_in_flight"), d.MaxInFlight, 1)
	positive(ps, p("request_timeout"), d.RequestTimeout)
	atLeast(ps, p("max_attempts"), d.MaxAttempts, 1)
	if need := 2 * d.BatchMaxEvents * d.MaxInFlight; d.BatchMaxEvents >= 1 && d.MaxInFlight >= 1 && d.MaxAckPending < need {
		ps.add(p("max_ack_pending"), fmt.Sprintf("must be at least 2 × batch_max_events × max_in_flight = 2 × %d × %d = %d, got %d",
			d.BatchMaxEvents, d.MaxInFlight, need, d.MaxAckPending))
	}
	switch {
	case d.MaxEventBytes <= 0:
		ps.add(p("max_event_bytes"), fmt.Sprintf("must be greater than 0, got %s", d.MaxEventBytes))
	case d.BatchMaxBytes > 0 && d.MaxEventBytes > d.BatchMaxBytes:
		ps.add(p("max_event_bytes"), fmt.Sprintf("must be at most batch_max_bytes (%s), got %s", d.BatchMaxBytes, d.MaxEventBytes))
	}
	positive(ps, p("backoff.initial"), d.Backoff.Initial)
	if positive(ps, p("backoff.max"), d.Backoff.Max) && d.Backoff.Initial > 0 && d.Backoff.Max < d.Backoff.Initial {
		ps.add(p("backoff.max"), fmt.Sprintf("must be at least backoff.initial (%s), got %s", d.Backoff.Initial, d.Backoff.Max))
	}
	if !(d.Backoff.Multiplier >= 1) {
		ps.add(p("backoff.multiplier"), fmt.Sprintf("must be at least 1, got %g", d.Backoff.Multiplier))
	}
	if !(d.Backoff.Jitter >= 0 && d.Backoff.Jitter <= 1) {
		ps.add(p("backoff.jitter"), fmt.Sprintf("must be between 0 and 1, got %g", d.Backoff.Jitter))
	}
	atLeast(ps, p("breaker.failures"), d.Breaker.Failures, 1)
	positive(ps, p("breaker.open_for"), d.Breaker.OpenFor)
	if !(d.LimitSlowdownRatio > 0 && d.LimitSlowdownRatio <= 1) {
		ps.add(p("limit_slowdown_ratio"), fmt.Sprintf("must be greater than 0 and at most 1, got %g", d.LimitSlowdownRatio))
	}
	positive(ps, p("shutdown_timeout"), d.ShutdownTimeout)
	if d.PinnedTTL < Duration(3*time.Second) {
		ps.add(p("pinned_ttl"), fmt.Sprintf("must be at least 3s, got %s", d.PinnedTTL))
	}
}

func positive(ps *problems, path string, d Duration) bool {
	if d <= 0 {
		ps.add(path, fmt.Sprintf("must be greater than 0, got %s", d))
		return false
	}
	return true
}

func atLeast(ps *problems, path string, v, lo int) {
	if v < lo {
		ps.add(path, fmt.Sprintf("must be at least %d, got %d", lo, v))
	}
}

func validateStream(ps *problems, prefix string, s StreamConfig) {
	switch {
	case s.Name == "":
		ps.add(prefix+".name", MsgRequired)
	case !validStreamName(s.Name):
		ps.add(prefix+".name", fmt.Sprintf(`must not contain spaces, ".", "*", ">", "/" or "\" and be at most 255 characters, got %q`, s.Name))
	}
	if len(s.Subjects) == 0 {
		ps.add(prefix+".subjects", "must list at least one subject")
	}
	for i, subj := range s.Subjects {
		if !validSubject(subj) {
			ps.add(index(prefix+".subjects", i), fmt.Sprintf(`is not a valid subject (dot-separated tokens; "*" a whole token; ">" only last), got %q`, subj))
		}
	}
	if s.Replicas < 1 || s.Replicas > 5 {
		ps.add(prefix+".replicas", fmt.Sprintf("must be between 1 and 5, got %d", s.Replicas))
	}
	positive(ps, prefix+".max_age", s.MaxAge)
	if positive(ps, prefix+".duplicate_window", s.DuplicateWindow) && s.MaxAge > 0 && s.DuplicateWindow > s.MaxAge {
		ps.add(prefix+".duplicate_window", fmt.Sprintf("must be at most max_age (%s), got %s", s.MaxAge, s.DuplicateWindow))
	}
}

func validateListen(ps *problems, path, addr string, required bool) {
	if addr == "" {
		if required {
			ps.add(path, MsgRequired)
		}
		return
	}
	_, port, err := net.SplitHostPort(addr)
	if err != nil {
		ps.add(path, fmt.Sprintf("must be host:port, e.g. 127.0.0.1:8080, got %q", addr))
		return
	}
	if n, err := strconv.Atoi(port); err != nil || n < 0 || n > 65535 {
		ps.add(path, fmt.Sprintf("port must be a number from 0 to 65535, got %q", addr))
	}
}

func validHost(h string) bool {
	if h == "" || strings.ContainsAny(h, "/\\ \t@?#") {
		return false
	}
	if host, port, err := net.SplitHostPort(h); err == nil {
		n, err := strconv.Atoi(port)
		return host != "" && err == nil && n >= 0 && n <= 65535
	}
	return !strings.Contains(h, ":") || net.ParseIP(h) != nil
}

func checkLoginURL(raw string, allowHTTP bool) string {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" || u.Opaque != "" {
		return "must be an absolute URL such as https://acme.my.salesforce.com"
	}
	if msg := checkScheme(u, allowHTTP); msg != "" {
		return msg
	}
	host := strings.TrimSuffix(strings.ToLower(u.Hostname()), ".")
	if host == "login.salesforce.com" || host == "test.salesforce.com" {
		return MsgMyDomain
	}
	if u.User != nil {
		return "must not contain credentials"
	}
	if u.RawQuery != "" || u.Fragment != "" || u.ForceQuery {
		return "must not have a query or fragment"
	}
	if u.Path != "" && u.Path != "/" && !allowHTTP {
		// A path prefix is only for simulators (sfsim serves orgs at
		// /orgs/<id>/), which run with allow_insecure_http.
		return "must be the org's base URL, without a path (the bridge appends /services/oauth2/token)"
	}
	return ""
}

func checkHTTPURL(raw string, allowHTTP bool) string {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" || u.Opaque != "" {
		return "must be an absolute https URL"
	}
	if msg := checkScheme(u, allowHTTP); msg != "" {
		return msg
	}
	if u.User != nil {
		return "must not contain credentials"
	}
	if u.RawQuery != "" || u.Fragment != "" || u.ForceQuery {
		return "must not have a query or fragment"
	}
	return ""
}

func checkScheme(u *url.URL, allowHTTP bool) string {
	switch strings.ToLower(u.Scheme) {
	case "https":
		return ""
	case "http":
		if allowHTTP {
			return ""
		}
		return "must be https"
	default:
		if allowHTTP {
			return "must be https or http"
		}
		return "must be https"
	}
}

func validNATSURLs(s string) bool {
	for _, part := range strings.Split(s, ",") {
		part = strings.TrimSpace(part)
		u, err := url.Parse(part)
		if err != nil || u.Host == "" {
			return false
		}
		switch strings.ToLower(u.Scheme) {
		case "nats", "tls", "ws", "wss":
		default:
			return false
		}
	}
	return true
}

func validEventEndpoint(s string) bool {
	if !eventEndpointRe.MatchString(s) {
		return false
	}
	for _, seg := range strings.Split(s, "/") {
		if seg == "." || seg == ".." {
			return false
		}
	}
	return true
}

func validSubscription(s string) bool {
	if s == "*" {
		return true
	}
	src, typ, ok := strings.Cut(s, ".")
	if !ok || !slices.Contains(Sources, src) {
		return false
	}
	return typ == "*" || eventTypeRe.MatchString(typ)
}

func isReservedHeader(name string) bool {
	switch strings.ToLower(name) {
	case "host", "content-length", "connection", "transfer-encoding", "te", "upgrade",
		"keep-alive", "proxy-connection", "proxy-authorization", "trailer":
		return true
	}
	return false
}

func validStreamName(s string) bool {
	return len(s) <= 255 && !strings.ContainsAny(s, " \t\r\n.*>/\\")
}

func validSubject(s string) bool {
	if s == "" || strings.ContainsAny(s, " \t\r\n") {
		return false
	}
	toks := strings.Split(s, ".")
	for i, t := range toks {
		switch {
		case t == "":
			return false
		case t == ">" && i != len(toks)-1:
			return false
		case t != "*" && t != ">" && strings.ContainsAny(t, "*>"):
			return false
		}
	}
	return true
}

// subjectsOverlap reports whether some subject matches both valid subject
// patterns a and b.
func subjectsOverlap(a, b string) bool {
	ta, tb := strings.Split(a, "."), strings.Split(b, ".")
	for i := 0; i < len(ta) && i < len(tb); i++ {
		x, y := ta[i], tb[i]
		if x == ">" || y == ">" {
			return true
		}
		if x != "*" && y != "*" && x != y {
			return false
		}
	}
	return len(ta) == len(tb)
}
