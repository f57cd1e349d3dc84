package salesforce

import (
	"encoding/json"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"
)

// classify turns a non-2xx response into the one *Error the contract's
// response table gives it (salesforce.md §3). A 401 reaching here already
// had its one retry with a fresh token.
func (c *Client) classify(op string, r *response) *Error {
	code, msg, ok := parseErrorBody(r.body)
	if !ok {
		msg = describeBody(r.header, r.body, r.status)
	}
	st := r.status
	var e *Error
	switch {
	case st == http.StatusUnauthorized:
		e = c.newError(ClassAuth, op, st, code, msg, nil)
		e.Hold = HoldAuth
	case st == http.StatusForbidden && code == "REQUEST_LIMIT_EXCEEDED":
		lm := strings.ToLower(msg)
		switch {
		case strings.Contains(lm, "concurrent"):
			e = c.newError(ClassThrottled, op, st, code, msg, nil)
		default:
			// "TotalRequests Limit exceeded." — and any other wording of a
			// request limit: holding (and probing) cannot lose events,
			// retrying could exhaust their attempts.
			e = c.newError(ClassLimit, op, st, code, msg, nil)
			e.Hold = HoldLimit
		}
	case st == http.StatusBadRequest:
		e = c.newError(ClassPermanent, op, st, code, msg, nil)
	case st >= 500:
		e = c.newError(ClassTransient, op, st, code, msg, nil)
		e.countable = countedStatus(st)
		if st == http.StatusInternalServerError && strings.Contains(strings.ToLower(msg), "limitexception") {
			e.Governor = true
		}
	case st >= 300 && st < 400:
		m := "unexpected redirect"
		if loc := r.header.Get("Location"); loc != "" {
			m += " to " + redactURL(loc)
		}
		e = c.newError(ClassConnector, op, st, "", m, nil)
		e.Hold = HoldEndpoint
	default:
		// 403 API_CURRENTLY_DISABLED / APEX_REST_SERVICES_DISABLED / other
		// 403s, 404, 405, 410, 415 and every other unlisted status.
		e = c.newError(ClassConnector, op, st, code, msg, nil)
		e.Hold = HoldEndpoint
	}
	e.RetryAfter, _ = parseRetryAfter(r.header.Get("Retry-After"), now())
	return e
}

// countedStatus reports the statuses that count toward the breaker: the
// edge could not reach the instance (502), the instance is unavailable
// (503), or a gateway timed out (504).
func countedStatus(status int) bool {
	return status == http.StatusBadGateway || status == http.StatusServiceUnavailable || status == http.StatusGatewayTimeout
}

// sfError is one element of Salesforce's error array.
type sfError struct {
	Message   string `json:"message"`
	ErrorCode string `json:"errorCode"`
	// OAuth-style bodies.
	Error            string `json:"error"`
	ErrorDescription string `json:"error_description"`
}

// parseErrorBody reads Salesforce's error body: an array
// [{"message","errorCode"}…] (the first element decides; the others are
// counted in the message), or a single such object, or an OAuth-style
// {"error","error_description"}. ok is false for anything else.
func parseErrorBody(body []byte) (code, msg string, ok bool) {
	b := trimSpace(body)
	if len(b) == 0 {
		return "", "", false
	}
	var list []sfError
	switch b[0] {
	case '[':
		if json.Unmarshal(b, &list) != nil || len(list) == 0 {
			return "", "", false
		}
	case '{':
		var one sfError
		if json.Unmarshal(b, &one) != nil {
			return "", "", false
		}
		list = []sfError{one}
	default:
		return "", "", false
	}
	first := list[0]
	code, msg = first.ErrorCode, first.Message
	if code == "" && msg == "" {
		code, msg = first.Error, first.ErrorDescription
	}
	if code == "" && msg == "" {
		return "", "", false
	}
	if len(list) > 1 {
		msg += " (and " + strconv.Itoa(len(list)-1) + " more errors)"
	}
	return code, msg, true
}

// describeBody summarises a body that is not a Salesforce error, without
// quoting it (it may be an HTML page of any size).
func describeBody(h http.Header, body []byte, status int) string {
	ct := ""
	if h != nil {
		ct, _, _ = mime.ParseMediaType(h.Get("Content-Type"))
	}
	switch {
	case len(trimSpace(body)) == 0:
		return "empty response body"
	case ct == "text/html" || looksHTML(body):
		if t := htmlTitle(body); t != "" {
			return "HTML page: " + t
		}
		return "HTML page"
	case ct != "":
		return "unrecognised " + ct + " response body"
	default:
		return "unrecognised response body"
	}
}

func looksHTML(b []byte) bool {
	b = trimSpace(b)
	return len(b) > 0 && b[0] == '<'
}

// htmlTitle returns the text of the first <title> element (bounded).
func htmlTitle(b []byte) string {
	s := string(b[:min(len(b), 8192)])
	// ASCII-only lowering keeps byte offsets aligned with s (strings.ToLower
	// rewrites invalid UTF-8 and can change lengths).
	ls := asciiLower(s)
	i := strings.Index(ls, "<title")
	if i < 0 {
		return ""
	}
	j := strings.Index(ls[i:], ">")
	if j < 0 {
		return ""
	}
	start := i + j + 1
	end := strings.Index(ls[start:], "</title")
	if end < 0 {
		return ""
	}
	t := s[start : start+end]
	if len(t) > 200 {
		t = t[:200]
	}
	return t
}

func asciiLower(s string) string {
	b := []byte(s)
	for i, c := range b {
		if 'A' <= c && c <= 'Z' {
			b[i] = c + ('a' - 'A')
		}
	}
	return string(b)
}

func trimSpace(b []byte) []byte {
	for len(b) > 0 && (b[0] == ' ' || b[0] == '\t' || b[0] == '\r' || b[0] == '\n') {
		b = b[1:]
	}
	for len(b) > 0 && (b[len(b)-1] == ' ' || b[len(b)-1] == '\t' || b[len(b)-1] == '\r' || b[len(b)-1] == '\n') {
		b = b[:len(b)-1]
	}
	return b
}

// redactURL drops user information and the query from a URL for messages.
func redactURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "(unparseable URL)"
	}
	u.User = nil
	u.RawQuery = ""
	u.Fragment = ""
	return u.String()
}

// newError builds an *Error with code, message and cause text folded to one
// line and stripped of the consumer secret and recent access tokens.
func (c *Client) newError(class Class, op string, status int, code, msg string, cause error) *Error {
	e := &Error{
		Class:      class,
		Op:         op,
		HTTPStatus: status,
		Code:       c.redact(code),
		Message:    c.redact(msg),
		Err:        cause,
	}
	if cause != nil && msg == "" {
		e.detail = c.redact(cause.Error())
	}
	return e
}

// redact removes every known secret (raw, URL-escaped and JSON-escaped
// forms) from s, then folds it to one line.
func (c *Client) redact(s string) string {
	if s == "" {
		return ""
	}
	secrets := append(c.tokens.secrets(), c.cfg.ConsumerSecret)
	for _, sec := range secrets {
		s = redactOne(s, sec)
	}
	s = foldLine(s)
	for _, sec := range secrets {
		s = redactOne(s, sec) // in case folding joined pieces back together
	}
	return s
}

func redactOne(s, secret string) string {
	if secret == "" {
		return s
	}
	forms := []string{secret, url.QueryEscape(secret), url.PathEscape(secret)}
	if j, err := json.Marshal(secret); err == nil {
		forms = append(forms, string(j[1:len(j)-1]))
	}
	for _, f := range forms {
		if f != "" && strings.Contains(s, f) {
			s = strings.ReplaceAll(s, f, "[redacted]")
		}
	}
	return s
}
