// Package salesforce is the bridge's client for one tenant's Salesforce org:
// the OAuth 2.0 client-credentials token (cached, refreshed once per 401
// INVALID_SESSION_ID, one refresh at a time), the Apex REST publish call of
// the gtx_bu managed package, Test Connection, a per-client circuit breaker,
// and API-usage tracking from Sforce-Limit-Info.
//
// Every failure of a call to Salesforce is an [*Error] carrying exactly one
// [Class], decided here once, which tells the caller what to do next:
//
//	ClassAuth        hold the tenant (Hold "auth"): token refused, or 401 after a fresh token
//	ClassLimit       hold the tenant (Hold "limit"): daily API allocation exhausted
//	ClassThrottled   retry with backoff and lower concurrency: concurrent-request limits
//	ClassTransient   retry with backoff (honour RetryAfter; halve the batch on Governor)
//	ClassPermanent   the request itself is bad (400): bisect, dead-letter the bad events
//	ClassConnector   hold the tenant: endpoint missing or refused (Hold "endpoint"),
//	                 or the circuit breaker is open (Hold "breaker")
//
// [ClassOf] returns "" for the caller's own cancellation or deadline and for
// [ErrClosed]: those are not failures. Error texts never contain the consumer
// secret or an access token.
//
// Only 502, 503, 504, timeouts and connection errors count toward the
// breaker; everything else is neither a success nor a failure for it.
//
// This package is a leaf: it imports no other package of the project.
package salesforce
