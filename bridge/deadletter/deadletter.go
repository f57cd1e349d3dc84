package deadletter

import (
	"encoding/json"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/nats-io/nats.go"
)

// DeadLetter is one message of the dead-letter stream with its headers
// parsed. Parsing is lenient: a missing or malformed header leaves its
// field zero.
type DeadLetter struct {
	// Sequence in the dead-letter stream.
	Sequence uint64
	// Time the dead letter was stored (stream time).
	Time time.Time
	// Subject in the dead-letter stream: <prefix>.<tenant>.<source>.<type>.
	Subject string
	// Header holds every header as stored (JetStream's own included when
	// the server added them).
	Header nats.Header
	// Data is the original event body; nil when only headers were read.
	Data []byte

	// Tenant, Source and EventType are the subject's tokens.
	Tenant, Source, EventType string
	// Class is Gcis-Dlq-Class.
	Class Class
	// ErrorCode is Gcis-Dlq-Error-Code.
	ErrorCode string
	// Reason is Gcis-Dlq-Reason.
	Reason string
	// HTTPStatus is Gcis-Dlq-Http-Status; 0 when absent.
	HTTPStatus int
	// Attempts is Gcis-Dlq-Attempts.
	Attempts int
	// Connector is Gcis-Dlq-Connector.
	Connector string
	// DeadLetteredAt is Gcis-Dlq-Time.
	DeadLetteredAt time.Time
	// OriginalSubject, OriginalStream and OriginalSequence are the
	// Gcis-Original-* headers.
	OriginalSubject  string
	OriginalStream   string
	OriginalSequence uint64
}

// Parse builds a DeadLetter from a stored message. prefix is the
// dead-letter subject prefix (default gcis.dlq) whose following tokens are
// the tenant, source and event type.
func Parse(prefix, subject string, seq uint64, stored time.Time, h nats.Header, data []byte) *DeadLetter {
	d := &DeadLetter{
		Sequence:         seq,
		Time:             stored,
		Subject:          subject,
		Header:           h,
		Data:             data,
		Class:            Class(h.Get(HeaderClass)),
		ErrorCode:        h.Get(HeaderErrorCode),
		Reason:           h.Get(HeaderReason),
		Connector:        h.Get(HeaderConnector),
		OriginalSubject:  h.Get(HeaderOriginalSubject),
		OriginalStream:   h.Get(HeaderOriginalStream),
		OriginalSequence: parseUint(h.Get(HeaderOriginalSequence)),
		HTTPStatus:       int(min(parseUint(h.Get(HeaderHTTPStatus)), 999)),
		Attempts:         int(min(parseUint(h.Get(HeaderAttempts)), 1<<31-1)),
	}
	if t, err := time.Parse(time.RFC3339Nano, h.Get(HeaderTime)); err == nil {
		d.DeadLetteredAt = t
	}
	if rest, ok := strings.CutPrefix(subject, prefix+"."); ok {
		parts := strings.SplitN(rest, ".", 4)
		fields := []*string{&d.Tenant, &d.Source, &d.EventType}
		for i := range min(len(parts), 3) {
			*fields[i] = parts[i]
		}
	}
	return d
}

func parseUint(s string) uint64 {
	n, err := strconv.ParseUint(strings.TrimSpace(s), 10, 64)
	if err != nil {
		return 0
	}
	return n
}

// EventID returns the body's top-level "eventId" when it is a usable
// message id (1–128 printable characters, no white space), else "".
func (d *DeadLetter) EventID() string { return eventID(d.Data) }

func eventID(data []byte) string {
	var env struct {
		EventID json.RawMessage `json:"eventId"`
	}
	if json.Unmarshal(data, &env) != nil || len(env.EventID) == 0 || env.EventID[0] != '"' {
		return ""
	}
	var id string
	if json.Unmarshal(env.EventID, &id) != nil || id == "" || len(id) > 128 {
		return ""
	}
	for _, r := range id {
		if r <= ' ' || r == 0x7f || r == utf8.RuneError {
			return ""
		}
	}
	return id
}

// ReplayMsgID is the Nats-Msg-Id a replay of d carries:
// `<eventId>-replay-<sequence>`, or `replay-<sequence>` when the body has
// no usable eventId. It is the same on every run, which makes an
// interrupted replay safe to run again.
func (d *DeadLetter) ReplayMsgID() string {
	seq := strconv.FormatUint(d.Sequence, 10)
	if id := d.EventID(); id != "" {
		return id + "-replay-" + seq
	}
	return "replay-" + seq
}

// ReplayMessage builds the message a replay publishes: the original body
// and headers (without Nats-*, Gcis-Dlq-* and Gcis-Original-*) to the
// original subject, with Nats-Msg-Id = [DeadLetter.ReplayMsgID] and
// Gcis-Replayed-From = the dead-letter sequence. It returns nil when the
// dead letter has no original subject.
func (d *DeadLetter) ReplayMessage() *nats.Msg {
	if d.OriginalSubject == "" {
		return nil
	}
	h := make(nats.Header, len(d.Header))
	for k, v := range d.Header {
		if hasPrefixFold(k, PrefixJetStream) || hasPrefixFold(k, PrefixDLQ) ||
			hasPrefixFold(k, PrefixOriginal) || strings.EqualFold(k, HeaderReplayedFrom) {
			continue
		}
		h[k] = v
	}
	h.Set(HeaderMsgID, d.ReplayMsgID())
	h.Set(HeaderReplayedFrom, strconv.FormatUint(d.Sequence, 10))
	return &nats.Msg{Subject: d.OriginalSubject, Header: h, Data: d.Data}
}

// View is the JSON form of a dead letter, shared by `dlq list --json`,
// `dlq show --json` and the admin API.
type View struct {
	Sequence         uint64              `json:"seq"`
	Time             time.Time           `json:"time"`
	Subject          string              `json:"subject"`
	Tenant           string              `json:"tenant"`
	Source           string              `json:"source"`
	EventType        string              `json:"event_type"`
	Class            Class               `json:"class"`
	ErrorCode        string              `json:"error_code,omitempty"`
	Reason           string              `json:"reason"`
	HTTPStatus       int                 `json:"http_status,omitempty"`
	Attempts         int                 `json:"attempts"`
	Connector        string              `json:"connector,omitempty"`
	DeadLetteredAt   *time.Time          `json:"dead_lettered_at,omitempty"`
	OriginalSubject  string              `json:"original_subject"`
	OriginalStream   string              `json:"original_stream"`
	OriginalSequence uint64              `json:"original_seq"`
	EventID          string              `json:"event_id,omitempty"`
	Headers          map[string][]string `json:"headers,omitempty"`
	// Body is the body when it is JSON; BodyText when it is other UTF-8
	// text; BodyBase64 otherwise. All are absent when the body was not
	// asked for.
	Body       json.RawMessage `json:"body,omitempty"`
	BodyText   string          `json:"body_text,omitempty"`
	BodyBase64 []byte          `json:"body_base64,omitempty"`
}

// View returns the JSON form of d, with the headers and body when
// withBody is set.
func (d *DeadLetter) View(withBody bool) View {
	v := View{
		Sequence: d.Sequence, Time: d.Time.UTC(), Subject: d.Subject,
		Tenant: d.Tenant, Source: d.Source, EventType: d.EventType,
		Class: d.Class, ErrorCode: d.ErrorCode, Reason: d.Reason,
		HTTPStatus: d.HTTPStatus, Attempts: d.Attempts, Connector: d.Connector,
		OriginalSubject: d.OriginalSubject, OriginalStream: d.OriginalStream,
		OriginalSequence: d.OriginalSequence,
	}
	if !d.DeadLetteredAt.IsZero() {
		t := d.DeadLetteredAt.UTC()
		v.DeadLetteredAt = &t
	}
	if !withBody {
		return v
	}
	v.Headers = d.Header
	v.EventID = d.EventID()
	switch {
	case len(d.Data) == 0:
	case json.Valid(d.Data):
		v.Body = d.Data
	case utf8.Valid(d.Data):
		v.BodyText = string(d.Data)
	default:
		v.BodyBase64 = d.Data
	}
	return v
}

// MarshalJSON encodes d as its [View] with headers and body.
func (d *DeadLetter) MarshalJSON() ([]byte, error) { return json.Marshal(d.View(true)) }
