package salesforce

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"time"
)

// Item statuses of a publish result.
const (
	StatusCreated   = "created"
	StatusDuplicate = "duplicate"
	StatusError     = "error"
)

// Item error codes that mean "retry this event" rather than "reject it".
const (
	CodeUnableToLockRow       = "UNABLE_TO_LOCK_ROW"
	CodeRequestRunningTooLong = "REQUEST_RUNNING_TOO_LONG"
)

// PublishResult is the outcome of a publish call Salesforce answered with
// 200: one result per event, in request order (validated by Publish).
type PublishResult struct {
	// Results holds one entry per event, in request order.
	Results []ItemResult `json:"results"`
	// HTTPStatus is the response status (200).
	HTTPStatus int `json:"httpStatus"`
	// Usage is this response's Sforce-Limit-Info api-usage (zero if absent).
	Usage Usage `json:"usage"`
	// Duration is the time Publish took, a token fetch and a retry after
	// 401 included.
	Duration time.Duration `json:"duration"`
}

// ItemResult is the package's result for one event.
type ItemResult struct {
	// SourceEventID echoes the event's sourceEventId.
	SourceEventID string `json:"sourceEventId"`
	// Status is "created", "duplicate" or "error".
	Status string `json:"status"`
	// ID is the Salesforce record id (created, duplicate).
	ID string `json:"id,omitempty"`
	// Errors explains an "error" status; the first one is the reason.
	Errors []ItemError `json:"errors,omitempty"`
}

// ItemError is one error of a rejected event.
type ItemError struct {
	StatusCode string   `json:"statusCode"`
	Message    string   `json:"message"`
	Fields     []string `json:"fields,omitempty"`
}

// Accepted reports whether Salesforce stored the event (created) or already
// had it (duplicate): ack it.
func (r ItemResult) Accepted() bool {
	return r.Status == StatusCreated || r.Status == StatusDuplicate
}

// Transient reports whether an "error" result is a transient item failure
// to retry (its first error is UNABLE_TO_LOCK_ROW or
// REQUEST_RUNNING_TOO_LONG) rather than a rejection.
func (r ItemResult) Transient() bool {
	if r.Status != StatusError || len(r.Errors) == 0 {
		return false
	}
	switch r.Errors[0].StatusCode {
	case CodeUnableToLockRow, CodeRequestRunningTooLong:
		return true
	}
	return false
}

// EventPath returns the request path of the publish endpoint:
// /services/apexrest/{event_endpoint}.
func (c *Client) EventPath() string { return "/services/apexrest/" + c.cfg.EventEndpoint }

// Publish sends one batch {schemaVersion:"2.0", connectorId, batchId,
// events} to the package's endpoint and returns the per-item results.
// events are pre-encoded managed-package event JSON objects, appended to
// the body as they are; ids are their sourceEventIds in the same order, used
// to check the response (same count, same ids in the same order, known
// statuses; otherwise a ClassTransient *Error).
//
// A batch that cannot be sent as given (no events, a count mismatch, an
// empty event or id, an id twice) is a ClassPermanent *Error with no
// request made. Failures of Salesforce are *Error (see [ClassOf]); the
// caller's cancellation is returned as its context error; after Close,
// [ErrClosed]. Publish goes through the circuit breaker: when it is open the
// error is ClassConnector with Hold "breaker" and no request is made.
func (c *Client) Publish(ctx context.Context, batchID string, events []json.RawMessage, ids []string) (*PublishResult, error) {
	if err := c.checkBatch(batchID, events, ids); err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, callerErr("publish", err)
	}
	if c.base.Err() != nil {
		return nil, ErrClosed
	}
	body := c.buildBody(batchID, events)

	done, err := c.breaker.Load().allow(c, "publish")
	if err != nil {
		return nil, err
	}
	start := time.Now()
	res, err := c.publish(ctx, body, batchID, ids)
	done(err)
	if err != nil {
		return nil, err
	}
	res.Duration = time.Since(start)
	return res, nil
}

func (c *Client) publish(ctx context.Context, body []byte, batchID string, ids []string) (*PublishResult, error) {
	resp, err := c.do(ctx, "publish", http.MethodPost, c.EventPath(), body)
	if err != nil {
		return nil, err
	}
	var out struct {
		BatchID string       `json:"batchId"`
		Results []ItemResult `json:"results"`
	}
	if err := json.Unmarshal(resp.body, &out); err != nil {
		return nil, c.newError(ClassTransient, "publish", resp.status, "", "response is not a batch result: "+describeBody(resp.header, resp.body, resp.status), err)
	}
	if reason := checkResults(out.BatchID, batchID, out.Results, ids); reason != "" {
		return nil, c.newError(ClassTransient, "publish", resp.status, "", "response does not match the request: "+reason, nil)
	}
	return &PublishResult{Results: out.Results, HTTPStatus: resp.status, Usage: resp.usage}, nil
}

// checkResults compares a response with its request; "" means they match.
func checkResults(gotBatch, batchID string, results []ItemResult, ids []string) string {
	if gotBatch != "" && gotBatch != batchID {
		return fmt.Sprintf("batchId %q, sent %q", gotBatch, batchID)
	}
	if len(results) != len(ids) {
		return fmt.Sprintf("%d results for %d events", len(results), len(ids))
	}
	for i, r := range results {
		if r.SourceEventID != ids[i] {
			return fmt.Sprintf("result %d is for sourceEventId %q, sent %q", i, r.SourceEventID, ids[i])
		}
		switch r.Status {
		case StatusCreated, StatusDuplicate, StatusError:
		default:
			return fmt.Sprintf("result %d has unknown status %q", i, r.Status)
		}
	}
	return ""
}

// checkBatch rejects a batch that cannot be sent as given.
func (c *Client) checkBatch(batchID string, events []json.RawMessage, ids []string) error {
	bad := func(format string, args ...any) error {
		return c.newError(ClassPermanent, "publish", 0, "", "invalid batch: "+fmt.Sprintf(format, args...), nil)
	}
	switch {
	case batchID == "":
		return bad("empty batchId")
	case len(events) == 0:
		return bad("no events")
	case len(events) != len(ids):
		return bad("%d events but %d ids", len(events), len(ids))
	}
	seen := make(map[string]struct{}, len(ids))
	for i, id := range ids {
		if id == "" {
			return bad("event %d has an empty sourceEventId", i)
		}
		if len(events[i]) == 0 {
			return bad("event %d is empty", i)
		}
		if _, dup := seen[id]; dup {
			return bad("sourceEventId %q appears twice", id)
		}
		seen[id] = struct{}{}
	}
	return nil
}

// buildBody writes the batch JSON in one allocation, appending the
// pre-encoded events as they are.
func (c *Client) buildBody(batchID string, events []json.RawMessage) []byte {
	const (
		head    = `{"schemaVersion":"2.0","connectorId":`
		batch   = `,"batchId":`
		evs     = `,"events":[`
		tail    = `]}`
		fixedSz = len(head) + len(batch) + len(evs) + len(tail)
	)
	bid := jsonString(batchID)
	n := fixedSz + len(c.connJSON) + len(bid) + len(events) - 1 // commas
	for _, e := range events {
		n += len(e)
	}
	b := make([]byte, 0, n)
	b = append(b, head...)
	b = append(b, c.connJSON...)
	b = append(b, batch...)
	b = append(b, bid...)
	b = append(b, evs...)
	for i, e := range events {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, e...)
	}
	return append(b, tail...)
}

// jsonString returns s encoded as a JSON string.
func jsonString(s string) []byte {
	b, _ := json.Marshal(s) // a string always marshals
	return b
}

// Probe checks whether a held connector has recovered: it requests a fresh
// token and GETs the event endpoint. nil means both worked; the breaker, if
// not closed, is then reset to closed (the org is reachable again).
// Otherwise the error is classified like Publish's (Op "token" or
// "probe"). Probe bypasses the breaker.
func (c *Client) Probe(ctx context.Context) error {
	if c.base.Err() != nil {
		return ErrClosed
	}
	c.tokens.invalidate()
	if _, err := c.do(ctx, "probe", http.MethodGet, c.EventPath(), nil); err != nil {
		return err
	}
	c.resetBreaker()
	return nil
}
