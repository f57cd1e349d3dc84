// Package transform turns a Gentrack billing event (Velocity or Junifer) read
// from NATS into the managed-package event the bridge posts to Salesforce.
//
// It is pure: no I/O, no clocks, no goroutines. The bridge calls, per message:
//
//	subj, err := transform.ParseSubject(prefix, msg.Subject)   // tenant, source, event type
//	env, err := transform.Decode(subj, msg.Data, opts)        // envelope rules (contract README §2–3)
//	mapped, err := mappings.Map(env)                           // JSONPath mapping (catalog.md, salesforce.md §2)
//
// Every failure is an [*Error] whose [Class] names the dead-letter class
// (invalid, unsupported or unmapped) and whose Reason is one line a person
// can act on; [ClassOf] reads it through any wrapping.
//
// Mappings are YAML documents (see [ParseMappings]); the defaults for the
// event catalogue live in package transform/catalog. A [MappingSet] is
// immutable once built and safe for concurrent use.
//
// Value rendering never goes through float64: numbers keep the exact text
// of the source JSON, objects and arrays are the source text with
// insignificant whitespace removed (key order and escapes kept).
package transform
