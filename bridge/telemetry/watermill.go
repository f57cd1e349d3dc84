package telemetry

import (
	"sort"
	"strings"
	"unicode"

	"github.com/ThreeDotsLabs/watermill"
	"go.uber.org/zap"
)

// demotedInfo are the Info messages of Watermill v1.5.1 and watermill-nats
// v2.1.3 that are logged once per message or once per handler (so once per
// tenant, a thousand at start): they are logged at Debug.
//
//   - message/router.go: "Adding handler", "Starting handler",
//     "Subscriber stopped" (per handler)
//   - watermill-nats pkg/jetstream/message_handler.go: "got msg" (per message)
//   - watermill-nats pkg/nats/subscriber.go: "Subscriber closed" (per
//     subscriber)
//   - pubsub/gochannel/pubsub.go: "No subscribers to send message",
//     "Pub/Sub closed, discarding msg" (per message)
//
// The router's own Info logs ("Running router handlers", "Waiting for
// messages", "All messages processed", "Closing router", "Router closed")
// stay at Info.
var demotedInfo = map[string]bool{
	"Adding handler":                 true,
	"Starting handler":               true,
	"Subscriber stopped":             true,
	"Subscriber closed":              true,
	"got msg":                        true,
	"No subscribers to send message": true,
	"Pub/Sub closed, discarding msg": true,
}

// NewWatermillLogger adapts l for Watermill. Error logs at Error with the
// error under "error"; Info at Info, except Watermill's per-message and
// per-handler messages (see the source), which are demoted to Debug; Debug
// and Trace at Debug. Watermill's field keys become snake_case
// (message_uuid, handler_name, ReceivedSubject → received_subject,
// retryNum → retry_num). Caller information points at Watermill's code.
// A nil l discards everything.
func NewWatermillLogger(l *zap.Logger) watermill.LoggerAdapter {
	if l == nil {
		l = zap.NewNop()
	}
	return &watermillLogger{l: l.WithOptions(zap.AddCallerSkip(1))}
}

type watermillLogger struct {
	l *zap.Logger
}

var _ watermill.LoggerAdapter = (*watermillLogger)(nil)

func (w *watermillLogger) Error(msg string, err error, fields watermill.LogFields) {
	if ce := w.l.Check(zap.ErrorLevel, msg); ce != nil {
		fs := zapFields(fields, 1)
		if err != nil {
			fs = append(fs, zap.Error(err))
		}
		ce.Write(fs...)
	}
}

func (w *watermillLogger) Info(msg string, fields watermill.LogFields) {
	level := zap.InfoLevel
	if demotedInfo[msg] {
		level = zap.DebugLevel
	}
	if ce := w.l.Check(level, msg); ce != nil {
		ce.Write(zapFields(fields, 0)...)
	}
}

func (w *watermillLogger) Debug(msg string, fields watermill.LogFields) {
	if ce := w.l.Check(zap.DebugLevel, msg); ce != nil {
		ce.Write(zapFields(fields, 0)...)
	}
}

// Trace logs at Debug: zap has no lower level.
func (w *watermillLogger) Trace(msg string, fields watermill.LogFields) {
	w.Debug(msg, fields)
}

func (w *watermillLogger) With(fields watermill.LogFields) watermill.LoggerAdapter {
	return &watermillLogger{l: w.l.With(zapFields(fields, 0)...)}
}

// zapFields converts Watermill fields, sorted by key for stable output,
// with room for extra more fields.
func zapFields(fields watermill.LogFields, extra int) []zap.Field {
	if len(fields) == 0 && extra == 0 {
		return nil
	}
	keys := make([]string, 0, len(fields))
	for k := range fields {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	out := make([]zap.Field, 0, len(keys)+extra)
	for _, k := range keys {
		out = append(out, zap.Any(SnakeCase(k), fields[k]))
	}
	return out
}

// SnakeCase converts a field key to snake_case: ReceivedSubject →
// received_subject, retryNum → retry_num, HTTPStatus → http_status,
// ID → id, "nats-msg id" → nats_msg_id. Keys already in snake_case are
// unchanged.
func SnakeCase(s string) string {
	rs := []rune(s)
	var b strings.Builder
	b.Grow(len(s) + 4)
	under := func() {
		if b.Len() > 0 && !strings.HasSuffix(b.String(), "_") {
			b.WriteByte('_')
		}
	}
	for i, r := range rs {
		switch {
		case unicode.IsUpper(r):
			if i > 0 {
				prev := rs[i-1]
				nextLower := i+1 < len(rs) && unicode.IsLower(rs[i+1])
				if unicode.IsLower(prev) || unicode.IsDigit(prev) || (unicode.IsUpper(prev) && nextLower) {
					under()
				}
			}
			b.WriteRune(unicode.ToLower(r))
		case unicode.IsLetter(r) || unicode.IsDigit(r):
			b.WriteRune(r)
		default:
			under()
		}
	}
	return strings.TrimSuffix(b.String(), "_")
}
