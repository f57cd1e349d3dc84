package sfsim

import (
	"crypto/subtle"
	"net/http"
	"net/url"
	"strconv"
)

// maxFormBytes bounds OAuth request bodies.
const maxFormBytes = 64 << 10

// tokenResponse is the client-credentials success body, in Salesforce's
// field order. There is deliberately no expires_in and no refresh_token.
type tokenResponse struct {
	AccessToken    string `json:"access_token"`
	Signature      string `json:"signature"`
	Scope          string `json:"scope"`
	InstanceURL    string `json:"instance_url"`
	ID             string `json:"id"`
	TokenType      string `json:"token_type"`
	IssuedAt       string `json:"issued_at"`
	APIInstanceURL string `json:"api_instance_url"`
	TokenFormat    string `json:"token_format"`
}

// introspection is the RFC 7662 answer for an active token.
type introspection struct {
	Active    bool   `json:"active"`
	Scope     string `json:"scope,omitempty"`
	ClientID  string `json:"client_id,omitempty"`
	Username  string `json:"username,omitempty"`
	Sub       string `json:"sub,omitempty"`
	TokenType string `json:"token_type,omitempty"`
	Exp       int64  `json:"exp,omitempty"`
	Iat       int64  `json:"iat,omitempty"`
	Nbf       int64  `json:"nbf,omitempty"`
}

func (c *call) oauthError(status int, code, desc string) {
	h := c.w.Header()
	h.Set("Cache-Control", "no-store")
	h.Set("Pragma", "no-cache")
	c.rec.ErrorCode = code
	if c.o != nil && c.ep == epToken {
		c.o.stats.add(func(st *orgStats) { st.tokenErrors++ })
	}
	c.writeJSON(status, struct {
		Error            string `json:"error"`
		ErrorDescription string `json:"error_description"`
	}{code, desc})
}

// postForm parses an x-www-form-urlencoded body; other bodies give an empty
// form (so that grant_type is "missing", as Salesforce reports).
func (c *call) postForm() (url.Values, bool) {
	c.r.Body = http.MaxBytesReader(c.w, c.r.Body, maxFormBytes)
	if err := c.r.ParseForm(); err != nil {
		c.oauthError(http.StatusBadRequest, "invalid_request", "invalid request body")
		return nil, false
	}
	return c.r.PostForm, true
}

// clientCredentials returns the client id and secret from HTTP Basic (the
// values may be form-encoded, RFC 6749 §2.3.1) or from the form.
func clientCredentials(r *http.Request, form url.Values) (id, secret string) {
	if u, p, ok := r.BasicAuth(); ok {
		return u, p
	}
	return form.Get("client_id"), form.Get("client_secret")
}

// sameValue compares a presented value, raw or form-decoded, with want in
// constant time.
func sameValue(presented, want string) bool {
	if want == "" {
		return false
	}
	if subtle.ConstantTimeCompare([]byte(presented), []byte(want)) == 1 {
		return true
	}
	if dec, err := url.QueryUnescape(presented); err == nil && dec != presented {
		return subtle.ConstantTimeCompare([]byte(dec), []byte(want)) == 1
	}
	return false
}

// matchSecret returns the configured secret the presented one equals.
func matchSecret(cfg OrgConfig, presented string) (string, bool) {
	for _, s := range []string{cfg.ConsumerSecret, cfg.SecondarySecret} {
		if sameValue(presented, s) {
			return s, true
		}
	}
	return "", false
}

func (c *call) token() {
	if c.r.Method != http.MethodPost {
		c.oauthError(http.StatusBadRequest, "invalid_request", "must use HTTP POST")
		return
	}
	if c.o != nil {
		if f := c.o.faults.pick(c.s, c.now, c.ep, c.r.Method, KindTokenError); f != nil {
			c.fire(f)
			pair := TokenErrors[f.TokenError]
			if f.ErrorCode != "" {
				pair[0] = f.ErrorCode
			}
			if f.Message != "" {
				pair[1] = f.Message
			}
			status := f.Status
			if status == 0 {
				status = http.StatusBadRequest
			}
			c.oauthError(status, pair[0], pair[1])
			return
		}
	}
	form, ok := c.postForm()
	if !ok {
		return
	}
	switch grant := form.Get("grant_type"); {
	case grant == "":
		c.oauthError(http.StatusBadRequest, "invalid_request", "grant type is missing")
		return
	case grant != "client_credentials":
		c.oauthError(http.StatusBadRequest, "unsupported_grant_type", "grant type not supported")
		return
	}
	if c.o == nil {
		c.oauthError(http.StatusBadRequest, "invalid_grant", "request not supported on this domain")
		return
	}
	id, presented := clientCredentials(c.r, form)
	cfg := c.o.config()
	if !sameValue(id, cfg.ConsumerKey) {
		c.oauthError(http.StatusBadRequest, "invalid_client_id", "client identifier invalid")
		return
	}
	secret, ok := matchSecret(cfg, presented)
	if !ok {
		c.oauthError(http.StatusBadRequest, "invalid_client", "invalid client credentials")
		return
	}
	if cfg.RunAsUser != nil && !*cfg.RunAsUser {
		c.oauthError(http.StatusBadRequest, "invalid_grant", "no client credentials user enabled")
		return
	}
	issuedAt := strconv.FormatInt(c.now.UnixMilli(), 10)
	idURL := c.o.identityURL()
	tok := c.o.newSession(c.now)
	c.o.stats.add(func(st *orgStats) { st.tokensIssued++ })
	h := c.w.Header()
	h.Set("Cache-Control", "no-store")
	h.Set("Pragma", "no-cache")
	c.writeJSON(http.StatusOK, tokenResponse{
		AccessToken:    tok,
		Signature:      tokenSignature(secret, idURL, issuedAt),
		Scope:          "api",
		InstanceURL:    c.base,
		ID:             idURL,
		TokenType:      "Bearer",
		IssuedAt:       issuedAt,
		APIInstanceURL: "https://api.salesforce.com",
		TokenFormat:    "opaque",
	})
}

func (o *org) identityURL() string {
	return "https://login.salesforce.com/id/" + o.ident.orgID18 + "/" + o.ident.userID18
}

func (c *call) introspect() {
	if c.r.Method != http.MethodPost {
		c.oauthError(http.StatusBadRequest, "invalid_request", "must use HTTP POST")
		return
	}
	form, ok := c.postForm()
	if !ok {
		return
	}
	h := c.w.Header()
	h.Set("Cache-Control", "no-store")
	if c.o == nil {
		c.writeJSON(http.StatusOK, introspection{Active: false})
		return
	}
	id, presented := clientCredentials(c.r, form)
	cfg := c.o.config()
	if _, ok := matchSecret(cfg, presented); !ok || !sameValue(id, cfg.ConsumerKey) {
		c.oauthError(http.StatusUnauthorized, "invalid_client", "invalid client credentials")
		return
	}
	sess, timeout, live := c.o.peekSession(form.Get("token"), c.now)
	if !live {
		c.writeJSON(http.StatusOK, introspection{Active: false})
		return
	}
	c.writeJSON(http.StatusOK, introspection{
		Active:    true,
		Scope:     "api",
		ClientID:  cfg.ConsumerKey,
		Username:  "integration@" + c.o.id + ".sfsim.example",
		Sub:       c.o.identityURL(),
		TokenType: "access_token",
		Exp:       sess.lastUsed.Add(timeout).Unix(),
		Iat:       sess.issued.Unix(),
		Nbf:       sess.issued.Unix(),
	})
}

func (c *call) revoke() {
	var tok string
	switch c.r.Method {
	case http.MethodPost:
		form, ok := c.postForm()
		if !ok {
			return
		}
		tok = form.Get("token")
	case http.MethodGet:
		tok = c.r.URL.Query().Get("token")
	default:
		c.oauthError(http.StatusBadRequest, "invalid_request", "must use HTTP POST")
		return
	}
	if tok == "" {
		c.oauthError(http.StatusBadRequest, "unsupported_token_type", "this token type is not supported")
		return
	}
	if c.o == nil || !c.o.endSession(tok) {
		c.oauthError(http.StatusBadRequest, "invalid_token", "invalid token")
		return
	}
	c.w.Header().Set("Cache-Control", "no-store")
	c.writeRaw(http.StatusOK, "", nil)
}
