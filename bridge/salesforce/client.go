package salesforce

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sony/gobreaker/v2"
	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"
)

// Client is the bridge's client for one connector's Salesforce org. It is
// safe for concurrent use. Create it with [New]; release it with
// [Client.Close].
type Client struct {
	cfg       Config
	cc        *clientcredentials.Config
	hc        *http.Client
	tokens    *tokenSource
	base      context.Context
	cancel    context.CancelFunc
	callOpts  string // Sforce-Call-Options value
	userAgent string
	connJSON  []byte // connectorId as a JSON string

	breaker atomic.Pointer[breaker]
	usage   atomic.Pointer[Usage]
}

// New validates cfg (after applying defaults) and returns a Client. It does
// no I/O: the first token is fetched by the first call.
func New(cfg Config) (*Client, error) {
	cfg.setDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("invalid config: %w", err)
	}
	c := &Client{
		cfg:       cfg,
		callOpts:  "client=gcis-bridge/" + cfg.UserAgentVersion,
		userAgent: "gcis-bridge/" + cfg.UserAgentVersion,
		connJSON:  jsonString(cfg.ConnectorID),
	}
	c.hc = noRedirects(cfg.HTTPClient)
	c.cc = newClientCredentials(&c.cfg)
	base, cancel := context.WithCancel(context.Background())
	c.base = context.WithValue(base, oauth2.HTTPClient, c.hc)
	c.cancel = cancel
	c.tokens = &tokenSource{
		cc:        c.cc,
		base:      c.base,
		allowHTTP: cfg.AllowInsecureHTTP,
		newFetch:  func() (context.Context, context.CancelFunc) { return context.WithTimeout(c.base, cfg.RequestTimeout) },
	}
	c.breaker.Store(c.newBreaker())
	return c, nil
}

// Close ends the client: a token fetch in progress is abandoned and later
// calls return [ErrClosed]. It does not close the HTTPClient's connections
// (the default transport is shared). Close is idempotent.
func (c *Client) Close() error {
	c.cancel()
	return nil
}

// InvalidateToken drops the cached access token; the next call fetches a
// new one (once, however many calls are waiting).
func (c *Client) InvalidateToken() { c.tokens.invalidate() }

// Usage returns the API usage last reported by Salesforce (zero if none
// yet).
func (c *Client) Usage() Usage {
	if u := c.usage.Load(); u != nil {
		return *u
	}
	return Usage{}
}

// BreakerState returns the state of the client's circuit breaker.
func (c *Client) BreakerState() gobreaker.State { return c.breaker.Load().state() }

// --- HTTP ---------------------------------------------------------------

var (
	defaultClientOnce sync.Once
	defaultClient     *http.Client
)

// sharedHTTPClient returns the process-wide default HTTP client: system
// trust store (never InsecureSkipVerify), TLS 1.2+, dial / handshake /
// idle timeouts, one connection pool shared by every Client. Request
// deadlines come from contexts.
func sharedHTTPClient() *http.Client {
	defaultClientOnce.Do(func() {
		tr := &http.Transport{
			Proxy: http.ProxyFromEnvironment,
			DialContext: (&net.Dialer{
				Timeout:   10 * time.Second,
				KeepAlive: 30 * time.Second,
			}).DialContext,
			TLSClientConfig:       &tls.Config{MinVersion: tls.VersionTLS12},
			ForceAttemptHTTP2:     true,
			MaxIdleConns:          1024,
			MaxIdleConnsPerHost:   32,
			IdleConnTimeout:       90 * time.Second,
			TLSHandshakeTimeout:   10 * time.Second,
			ExpectContinueTimeout: time.Second,
		}
		defaultClient = &http.Client{Transport: tr}
	})
	return defaultClient
}

// noRedirects returns a copy of hc (or of the shared default) that never
// follows a redirect: a redirect is reported as the 3xx response itself.
func noRedirects(hc *http.Client) *http.Client {
	if hc == nil {
		hc = sharedHTTPClient()
	}
	cp := *hc
	cp.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	return &cp
}

// response is a completed HTTP exchange with a 2xx status.
type response struct {
	status int
	header http.Header
	body   []byte
	usage  Usage
}

// Body size limits.
const (
	maxSuccessBody = 16 << 20
	maxErrorBody   = 1 << 20
)

// do performs one API call on the org: it gets a token, sends the request
// to {instance_url}/{path}, and on 401 invalidates the token, fetches a new
// one and retries exactly once. A non-2xx answer, a timeout or a network
// error is returned as a classified *Error; the caller's own cancellation
// as its context error; a closed client as ErrClosed.
func (c *Client) do(ctx context.Context, op, method, path string, body []byte) (*response, error) {
	for attempt := 1; ; attempt++ {
		sess, err := c.tokens.get(ctx)
		if err != nil {
			return nil, c.tokenError(ctx, err)
		}
		resp, err := c.roundTrip(ctx, op, sess, method, path, body)
		if err != nil {
			return nil, err
		}
		if resp.status == http.StatusUnauthorized && attempt == 1 {
			c.tokens.invalidateIf(sess)
			continue
		}
		if resp.status < 200 || resp.status > 299 {
			return nil, c.classify(op, resp)
		}
		return resp, nil
	}
}

// roundTrip sends one request with sess's token and reads the response
// (any status). Only transport failures are errors here.
func (c *Client) roundTrip(ctx context.Context, op string, sess *session, method, path string, body []byte) (*response, error) {
	if err := ctx.Err(); err != nil {
		return nil, callerErr(op, err)
	}
	rctx, cancel := context.WithTimeout(ctx, c.cfg.RequestTimeout)
	defer cancel()
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(rctx, method, sess.instanceURL+path, rd)
	if err != nil {
		return nil, &Error{Class: ClassConnector, Op: op, Hold: HoldEndpoint, Message: "cannot build request URL from instance_url", Err: err}
	}
	req.Header.Set("Authorization", "Bearer "+sess.accessToken)
	req.Header.Set("Accept", "application/json")
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("Sforce-Call-Options", c.callOpts)
	req.Header.Set("User-Agent", c.userAgent)

	hr, err := c.hc.Do(req)
	if err != nil {
		return nil, c.transportError(ctx, rctx, op, 0, err)
	}
	defer hr.Body.Close()
	limit := int64(maxErrorBody)
	if hr.StatusCode >= 200 && hr.StatusCode <= 299 {
		limit = maxSuccessBody
	}
	data, err := io.ReadAll(io.LimitReader(hr.Body, limit+1))
	if err != nil {
		return nil, c.transportError(ctx, rctx, op, hr.StatusCode, err)
	}
	resp := &response{status: hr.StatusCode, header: hr.Header, body: data}
	if int64(len(data)) > limit {
		if hr.StatusCode >= 200 && hr.StatusCode <= 299 {
			return nil, c.newError(ClassTransient, op, hr.StatusCode, "", fmt.Sprintf("response body larger than %d bytes", limit), nil)
		}
		resp.body = data[:limit]
	}
	if v := hr.Header.Get("Sforce-Limit-Info"); v != "" {
		if u, ok := parseLimitInfo(v); ok {
			resp.usage = u
			c.recordUsage(u)
		}
	}
	return resp, nil
}

// recordUsage stores u and reports it.
func (c *Client) recordUsage(u Usage) {
	c.usage.Store(&u)
	if c.cfg.OnUsage != nil {
		c.cfg.OnUsage(u.Used, u.Max)
	}
}

// callerErr wraps the caller's own context error (not a failure).
func callerErr(op string, err error) error {
	return fmt.Errorf("salesforce %s: %w", op, err)
}

// transportError classifies a failure to get or read a response: the
// caller's cancellation, the client's own timeout, or a connection error.
func (c *Client) transportError(ctx, rctx context.Context, op string, status int, err error) error {
	if ctx.Err() != nil {
		return callerErr(op, ctx.Err())
	}
	if c.base.Err() != nil {
		return ErrClosed
	}
	if rctx.Err() != nil {
		e := c.newError(ClassTransient, op, status, "", "no response within "+c.cfg.RequestTimeout.String(), ErrTimeout)
		e.countable = true
		return e
	}
	if isCertError(err) {
		e := c.newError(ClassConnector, op, status, "", "", err)
		e.Hold = HoldEndpoint
		return e
	}
	e := c.newError(ClassTransient, op, status, "", "", err)
	e.countable = true
	return e
}

// tokenError classifies a failure to obtain a token.
func (c *Client) tokenError(ctx context.Context, err error) error {
	if ctx.Err() != nil && errors.Is(err, ctx.Err()) {
		return callerErr("token", err)
	}
	if errors.Is(err, ErrClosed) {
		return ErrClosed
	}
	if errors.Is(err, ErrTimeout) {
		e := c.newError(ClassTransient, "token", 0, "", "no response within "+c.cfg.RequestTimeout.String(), err)
		e.countable = true
		return e
	}
	var re *oauth2.RetrieveError
	if errors.As(err, &re) {
		status := 0
		var hdr http.Header
		if re.Response != nil {
			status, hdr = re.Response.StatusCode, re.Response.Header
		}
		msg := re.ErrorDescription
		if msg == "" && re.ErrorCode == "" {
			msg = describeBody(hdr, re.Body, status)
		}
		var e *Error
		if status >= 500 {
			e = c.newError(ClassTransient, "token", status, re.ErrorCode, msg, err)
			e.countable = countedStatus(status)
		} else {
			e = c.newError(ClassAuth, "token", status, re.ErrorCode, msg, err)
			e.Hold = HoldAuth
		}
		if hdr != nil {
			e.RetryAfter, _ = parseRetryAfter(hdr.Get("Retry-After"), now())
		}
		return e
	}
	var bad *badTokenResponse
	if errors.As(err, &bad) {
		e := c.newError(ClassAuth, "token", http.StatusOK, "", bad.Error(), err)
		e.Hold = HoldAuth
		return e
	}
	if isCertError(err) {
		e := c.newError(ClassAuth, "token", 0, "", "", err)
		e.Hold = HoldAuth
		return e
	}
	var ue interface{ Timeout() bool }
	if errors.As(err, &ue) || isFetchReadError(err) {
		e := c.newError(ClassTransient, "token", 0, "", "", err)
		e.countable = true
		return e
	}
	// x/oauth2's own complaints about a 2xx body: "cannot parse json",
	// "server response missing access_token".
	e := c.newError(ClassAuth, "token", 0, "", "invalid token response: "+err.Error(), err)
	e.Hold = HoldAuth
	return e
}

// isCertError reports a server certificate that failed verification: a
// lasting fault of the connector's URL (or of the trust store), not an
// outage to retry.
func isCertError(err error) bool {
	var cve *tls.CertificateVerificationError
	return errors.As(err, &cve)
}

// isFetchReadError reports x/oauth2's error for a token response whose body
// could not be read (a connection failure, not a bad answer).
func isFetchReadError(err error) bool {
	const prefix = "oauth2: cannot fetch token:"
	s := err.Error()
	return len(s) >= len(prefix) && s[:len(prefix)] == prefix
}

// now is the clock for Retry-After dates and the breaker's open time.
var now = time.Now
