package salesforce

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/sony/gobreaker/v2"
)

// Defaults applied by [New] to zero fields of [Config].
const (
	DefaultEventEndpoint   = "gtx_bu/v2/event"
	DefaultRequestTimeout  = 30 * time.Second
	DefaultBreakerFailures = 5
	DefaultBreakerOpenFor  = 30 * time.Second
	DefaultVersion         = "dev"
)

// MyDomainMessage is the exact reason given when login_url is
// login.salesforce.com or test.salesforce.com, which the client credentials
// flow does not support.
const MyDomainMessage = "the client credentials flow needs your My Domain URL (https://<domain>.my.salesforce.com)"

// Config configures a [Client] for one connector (tenant ⇄ org). Zero values
// of optional fields mean the documented default.
type Config struct {
	// ConnectorID is sent as connectorId in every batch and names the
	// breaker. Required.
	ConnectorID string
	// LoginURL is the org's My Domain URL, e.g.
	// https://acme.my.salesforce.com; the token is requested from
	// {LoginURL}/services/oauth2/token. It must be https:// unless
	// AllowInsecureHTTP is set; it may carry a path prefix (the simulator
	// serves orgs under /orgs/<id>). Required.
	LoginURL string
	// ConsumerKey is the External Client App's consumer key. Required.
	ConsumerKey string
	// ConsumerSecret is the consumer secret. Required. It never appears in
	// errors or reports.
	ConsumerSecret string
	// EventEndpoint is the Apex REST path under /services/apexrest/.
	// Optional; default "gtx_bu/v2/event".
	EventEndpoint string
	// AllowInsecureHTTP permits http:// login and instance URLs (simulator
	// and tests only). Optional.
	AllowInsecureHTTP bool
	// HTTPClient is used for every call, token included. Optional; the
	// default has a transport using the system trust store (SSL_CERT_FILE
	// works), dial and TLS handshake timeouts and a shared connection pool.
	// Its redirect policy is replaced: the client never follows redirects.
	HTTPClient *http.Client
	// RequestTimeout bounds each HTTP request, reading the response
	// included. Optional; default 30s.
	RequestTimeout time.Duration
	// UserAgentVersion is sent as Sforce-Call-Options:
	// client=gcis-bridge/<version> and in User-Agent. Optional; default "dev".
	UserAgentVersion string
	// Breaker configures the per-client circuit breaker. Optional.
	Breaker BreakerConfig
	// OnBreakerChange, if set, is called on every breaker state change. It
	// runs synchronously while the breaker's lock is held: it must be quick
	// and must not call back into the Client. Optional.
	OnBreakerChange func(from, to gobreaker.State)
	// OnUsage, if set, is called with every Sforce-Limit-Info api-usage
	// value (and the limits read by TestConnection). Optional.
	OnUsage func(used, max int)
}

// BreakerConfig configures the circuit breaker of a [Client].
type BreakerConfig struct {
	// Failures is the number of consecutive counted failures (502, 503,
	// 504, timeouts, connection errors) that opens the breaker. Optional;
	// default 5.
	Failures uint32
	// OpenFor is how long the breaker stays open before it lets one trial
	// request through. Optional; default 30s.
	OpenFor time.Duration
}

// setDefaults fills zero optional fields.
func (c *Config) setDefaults() {
	c.EventEndpoint = strings.Trim(c.EventEndpoint, "/")
	if c.EventEndpoint == "" {
		c.EventEndpoint = DefaultEventEndpoint
	}
	c.LoginURL = strings.TrimRight(c.LoginURL, "/")
	if c.RequestTimeout == 0 {
		c.RequestTimeout = DefaultRequestTimeout
	}
	if c.UserAgentVersion == "" {
		c.UserAgentVersion = DefaultVersion
	}
	if c.Breaker.Failures == 0 {
		c.Breaker.Failures = DefaultBreakerFailures
	}
	if c.Breaker.OpenFor == 0 {
		c.Breaker.OpenFor = DefaultBreakerOpenFor
	}
}

// Validate reports every problem of c at once (errors.Join), each prefixed
// with its configuration key (login_url, consumer_key, ...). Zero optional
// fields are valid.
func (c Config) Validate() error {
	var errs []error
	add := func(key, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s: %s", key, fmt.Sprintf(format, args...)))
	}
	if strings.TrimSpace(c.ConnectorID) == "" {
		add("connector_id", "required")
	}
	if err := validateLoginURL(c.LoginURL, c.AllowInsecureHTTP); err != nil {
		add("login_url", "%s", err.Error())
	}
	if c.ConsumerKey == "" {
		add("consumer_key", "required")
	} else if strings.ContainsFunc(c.ConsumerKey, isSpaceOrControl) {
		add("consumer_key", "must not contain spaces or control characters")
	}
	if c.ConsumerSecret == "" {
		add("consumer_secret", "required")
	}
	if err := validateEndpoint(c.EventEndpoint); err != nil {
		add("event_endpoint", "%s", err.Error())
	}
	if c.RequestTimeout < 0 {
		add("request_timeout", "must not be negative")
	}
	if c.Breaker.OpenFor < 0 {
		add("breaker.open_for", "must not be negative")
	}
	if strings.ContainsFunc(c.UserAgentVersion, isSpaceOrControl) {
		add("version", "must not contain spaces or control characters")
	}
	return errors.Join(errs...)
}

func isSpaceOrControl(r rune) bool { return r <= ' ' || r == 0x7f }

// validateLoginURL applies the login_url rules of the contract.
func validateLoginURL(raw string, allowHTTP bool) error {
	if raw == "" {
		return errors.New("required")
	}
	u, err := url.Parse(raw)
	if err != nil {
		return errors.New("not a valid URL")
	}
	switch u.Scheme {
	case "https":
	case "http":
		if !allowHTTP {
			return errors.New("must be https (http:// needs allow_insecure_http: true, for simulators and tests only)")
		}
	default:
		return errors.New("must be https")
	}
	host := strings.TrimSuffix(strings.ToLower(u.Hostname()), ".")
	if host == "" {
		return errors.New("has no host")
	}
	if host == "login.salesforce.com" || host == "test.salesforce.com" {
		return errors.New(MyDomainMessage)
	}
	if u.User != nil {
		return errors.New("must not contain user information")
	}
	if u.RawQuery != "" || u.Fragment != "" || u.Opaque != "" || strings.HasSuffix(raw, "?") {
		return errors.New("must not have a query or fragment")
	}
	return nil
}

// validateEndpoint checks an event_endpoint path: segments of
// [A-Za-z0-9_.-], no "." or "..", no query.
func validateEndpoint(ep string) error {
	ep = strings.Trim(ep, "/")
	if ep == "" {
		return nil // default
	}
	for seg := range strings.SplitSeq(ep, "/") {
		if seg == "" || seg == "." || seg == ".." {
			return fmt.Errorf("invalid path segment %q", seg)
		}
		for _, r := range seg {
			if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '_' || r == '-' || r == '.') {
				return fmt.Errorf("invalid character %q (allowed: letters, digits, _ - . and /)", r)
			}
		}
	}
	return nil
}
