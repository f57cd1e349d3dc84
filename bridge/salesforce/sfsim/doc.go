// Package sfsim is a Salesforce simulator: an [http.Handler] that serves
// several simulated orgs at once, each with
//
//   - the OAuth 2.0 client-credentials token endpoint, token introspection
//     and revocation (/services/oauth2/...), with Salesforce's token format,
//     error bodies, sliding session timeout and two valid consumer secrets;
//   - the REST versions list and org limits (/services/data/...), daily API
//     accounting with the Sforce-Limit-Info header, and a concurrency limit;
//   - the managed package gtx_bu (Apex REST, /services/apexrest/gtx_bu/v2/event)
//     with per-item validation, results in request order and an event store
//     deduplicated by sourceEventId;
//   - the Connect REST named-credential resources, and a callout emulation
//     that uses an installed named credential;
//   - a control API under /_sim/ (not Salesforce) to define orgs, inject
//     faults by probability, count or time window, and read the state.
//
// An org is reached either by Host (<org>.my.salesforce.com, with or without
// a port) or by the path prefix /orgs/<org>/. The token response's
// instance_url points back at the org the same way it was reached, so a
// client that logs in at http://127.0.0.1:PORT/orgs/acme then calls
// {instance_url}/services/apexrest/gtx_bu/v2/event.
//
// The simulator deliberately shares no code with the bridge's Salesforce
// client: its wire types are written from the contract and research
// documents, so that one misreading cannot make both sides agree.
//
// All state is in memory. A [Server] is safe for concurrent use; per-org
// state has its own locks, and no global lock is held while a request body
// is decoded. See docs/sfsim.md for the control API.
package sfsim
