// Package config is the gcis-bridge configuration document: it reads the
// YAML file, expands ${NAME} references from the environment, rejects
// unknown keys, applies the defaults and validates every value, reporting
// all problems at once with their key paths.
//
// The package has no behaviour beyond the document: it opens no
// connections and starts nothing. It imports no other package of the
// module.
//
// # Environment references
//
// ${NAME} is replaced by the value of the environment variable NAME; an
// unset variable is an error naming the variable and the line, unless it is
// written ${NAME:-default} (the default is used when NAME is unset or
// empty). $$ stands for a literal $. A $ followed by anything else is kept
// as it is. Names match [A-Za-z_][A-Za-z0-9_]*. Defaults are literal text:
// they are not expanded again and cannot contain "}".
//
// References are expanded inside the scalar values of the parsed YAML
// document, not in its raw text: comments and keys are never expanded, and
// a value from the environment can never change the document's structure
// (a secret that contains ": ", "#" or starts with "*" stays one string).
// After expansion a plain (unquoted) scalar is typed again from its new
// text, so `replicas: ${REPLICAS}` with REPLICAS=3 is the integer 3.
//
// # Defaults
//
// A key that is absent takes its default (see [Default] and
// [DefaultDelivery]). A key that is present keeps its value, even a zero, and
// is validated: `max_in_flight: 0` is an error, not the default. Connectors
// get their own defaults (event_endpoint gtx_bu/v2/event, subscriptions
// ["*"], start_from all).
//
// # Sizes and durations
//
// A [ByteSize] is a whole number of bytes, optionally followed by B, KiB,
// MiB or GiB (case-insensitive, a space allowed before the unit). Decimal
// units (KB, MB, GB, k, M) are rejected with a message naming the binary
// unit to use, because their meaning (1000 or 1024) is ambiguous. A
// [Duration] uses Go syntax (100ms, 30s, 5m, 720h).
//
// # secrets.key_file
//
// secrets.key_file is optional. Without it the bridge has no key to seal
// secrets at rest, so connectors can only be defined in this file (their
// secrets come from the environment and stay in memory); the connector
// store refuses to keep API-created connectors. The demo runs without one.
//
// # Validation
//
// [Config.Validate] reports every problem as a [Problem] in a
// [*ValidationError], each written `key.path[i].sub: message`, in document
// order: the order of the keys in the documented file layout (the order of
// the Config struct), list items by index. [Parse] and [Load] also report
// unresolved references, unknown and duplicate keys and ill-typed values
// the same way, each with the line it is on, ordered as in the file; a
// missing key is reported at the line of its section. A value that cannot
// be read is reported once: its validation problems are not added.
package config
