package salesforce

import (
	"context"
	"errors"
	"net/url"
	"strings"
	"sync"

	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"
	"golang.org/x/sync/singleflight"
)

// session is one issued access token and the API base it belongs to.
type session struct {
	accessToken string
	instanceURL string // no trailing slash
}

// tokenSource caches the org's access token. Salesforce returns no
// expires_in, so a token is kept until a call gets 401 and the caller
// invalidates it; one fetch runs at a time (single-flight), and callers
// that find the cache empty share it.
type tokenSource struct {
	cc        *clientcredentials.Config
	base      context.Context // long-lived; carries oauth2.HTTPClient; ended by Client.Close
	allowHTTP bool
	newFetch  func() (context.Context, context.CancelFunc)

	sf singleflight.Group

	mu      sync.Mutex
	current *session
	seen    []string // recent access tokens, for redaction
}

// cached returns the current session or nil.
func (ts *tokenSource) cached() *session {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	return ts.current
}

// invalidate drops the cached token.
func (ts *tokenSource) invalidate() {
	ts.mu.Lock()
	ts.current = nil
	ts.mu.Unlock()
}

// invalidateIf drops the cached token if it is still s (so that many calls
// failing with the same stale token cause one refresh, not many).
func (ts *tokenSource) invalidateIf(s *session) {
	ts.mu.Lock()
	if ts.current == s {
		ts.current = nil
	}
	ts.mu.Unlock()
}

// get returns the cached session or fetches one. The fetch runs on the
// long-lived context, shared by every caller waiting for it; ctx only
// bounds this caller's wait.
func (ts *tokenSource) get(ctx context.Context) (*session, error) {
	if s := ts.cached(); s != nil {
		return s, nil
	}
	ch := ts.sf.DoChan("token", func() (any, error) {
		if s := ts.cached(); s != nil {
			return s, nil // another fetch finished between our check and now
		}
		s, err := ts.fetch()
		if err != nil {
			return nil, err
		}
		ts.mu.Lock()
		ts.current = s
		ts.seen = append(ts.seen, s.accessToken)
		if len(ts.seen) > 4 {
			ts.seen = ts.seen[len(ts.seen)-4:]
		}
		ts.mu.Unlock()
		return s, nil
	})
	select {
	case r := <-ch:
		if r.Err != nil {
			return nil, r.Err
		}
		return r.Val.(*session), nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// fetch runs the client-credentials grant once. Errors are returned raw
// (classified by the caller).
func (ts *tokenSource) fetch() (*session, error) {
	if ts.base.Err() != nil {
		return nil, ErrClosed
	}
	ctx, cancel := ts.newFetch()
	defer cancel()
	tok, err := ts.cc.TokenSource(ctx).Token()
	if err != nil {
		if ts.base.Err() != nil {
			return nil, ErrClosed
		}
		if ctx.Err() != nil {
			return nil, ErrTimeout
		}
		return nil, err
	}
	inst, _ := tok.Extra("instance_url").(string)
	base, err := checkInstanceURL(inst, ts.allowHTTP)
	if err != nil {
		return nil, &badTokenResponse{reason: err.Error()}
	}
	return &session{accessToken: tok.AccessToken, instanceURL: base}, nil
}

// secrets returns the recent access tokens (for redaction).
func (ts *tokenSource) secrets() []string {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	return append([]string(nil), ts.seen...)
}

// badTokenResponse: the token endpoint answered 2xx with something that is
// not a usable Salesforce token.
type badTokenResponse struct{ reason string }

func (e *badTokenResponse) Error() string { return "invalid token response: " + e.reason }

// checkInstanceURL validates the instance_url of a token response and
// returns it without a trailing slash.
func checkInstanceURL(raw string, allowHTTP bool) (string, error) {
	if raw == "" {
		return "", errors.New("no instance_url")
	}
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" || u.User != nil || u.RawQuery != "" || u.Fragment != "" {
		return "", errors.New("instance_url is not a usable URL")
	}
	switch {
	case u.Scheme == "https":
	case u.Scheme == "http" && allowHTTP:
	default:
		return "", errors.New("instance_url must be https")
	}
	return strings.TrimRight(raw, "/"), nil
}

// newClientCredentials builds the x/oauth2 config: credentials in the form
// body (AuthStyleInParams), token URL {login_url}/services/oauth2/token.
func newClientCredentials(cfg *Config) *clientcredentials.Config {
	return &clientcredentials.Config{
		ClientID:     cfg.ConsumerKey,
		ClientSecret: cfg.ConsumerSecret,
		TokenURL:     cfg.LoginURL + "/services/oauth2/token",
		AuthStyle:    oauth2.AuthStyleInParams,
	}
}
