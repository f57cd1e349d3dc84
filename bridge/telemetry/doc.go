// Package telemetry is gcis-bridge's logging, metrics and health.
//
//   - [NewLogger] builds the zap logger from the `log` configuration: JSON
//     or console, ISO 8601 times, snake_case keys, and a redacting core
//     ([RedactCore]) so that secrets cannot be logged by accident.
//   - [NewWatermillLogger] adapts that logger for Watermill, demoting its
//     per-message and per-handler Info logs to Debug.
//   - [NewMetrics] registers the Prometheus metrics of operations.md;
//     [NewRegistry] gives a registry with the Go runtime and process
//     collectors too.
//   - [Health] holds readiness checks; [NewMetricsServer] serves /metrics,
//     /healthz and /readyz.
//
// The package imports no other package of the module.
package telemetry
