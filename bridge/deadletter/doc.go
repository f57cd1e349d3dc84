// Package deadletter holds the dead-letter contract of gcis-bridge: the
// header names and classes a dead letter carries (contract README §4), the
// [Writer] the bridge uses to store a failed event in the GCIS_DLQ stream,
// and the [Store] operators use (through `gcis-bridge dlq` and the admin
// API) to list, count, show, replay and purge dead letters.
//
// The package is a leaf: it imports no other package of the project, so the
// CLI can use it without the event flow.
//
// Everything streams: listing, counting, replaying and purging read the
// stream through an ordered consumer with bounded client buffers, so memory
// stays flat however many dead letters there are.
//
// Replay is crash-safe. A dead letter is removed only after the publish of
// its event has been acknowledged, and the republished message always
// carries the same Nats-Msg-Id (`<eventId>-replay-<dead-letter sequence>`),
// so a replay that is interrupted between the publish and the removal and is
// run again within the events stream's duplicate window (2 minutes by
// default) is deduplicated by JetStream. Run again later, the event is
// published a second time and Salesforce's deduplication by sourceEventId
// makes the second delivery harmless.
package deadletter
