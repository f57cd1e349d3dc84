package deadletter

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// Defaults of the contract (README §1).
const (
	// DefaultStream is the dead-letter stream name.
	DefaultStream = "GCIS_DLQ"
	// DefaultSubjectPrefix is the dead-letter subject prefix.
	DefaultSubjectPrefix = "gcis.dlq"
	// DefaultEventsStream is the events stream name.
	DefaultEventsStream = "GCIS_EVENTS"
	// DefaultEventsPrefix is the event subject prefix.
	DefaultEventsPrefix = "gcis.events"
	// DefaultMaxAge is how long dead letters are kept.
	DefaultMaxAge = 30 * 24 * time.Hour
	// DefaultDuplicates is the dead-letter stream's duplicate window.
	DefaultDuplicates = time.Hour
)

// missingToken stands in a dead-letter subject for a token the original
// subject lacks.
const missingToken = "_"

// StreamConfig returns the contract's configuration of the dead-letter
// stream (README §1): subjects `<prefix>.>`, file storage, limits
// retention, 30 days, duplicate window 1 h. Empty name and prefix mean the
// defaults; replicas below 1 mean 1.
func StreamConfig(name, subjectPrefix string, replicas int) jetstream.StreamConfig {
	if name == "" {
		name = DefaultStream
	}
	if subjectPrefix == "" {
		subjectPrefix = DefaultSubjectPrefix
	}
	return jetstream.StreamConfig{
		Name:       name,
		Subjects:   []string{subjectPrefix + ".>"},
		Storage:    jetstream.FileStorage,
		Retention:  jetstream.LimitsPolicy,
		MaxAge:     DefaultMaxAge,
		Duplicates: DefaultDuplicates,
		Replicas:   max(replicas, 1),
	}
}

// EnsureStream creates the stream cfg describes when no stream of that
// name exists, and reports whether it did. An existing stream is never
// changed, whatever its configuration; the caller inspects it if it cares.
// Losing a creation race with another replica is not an error.
func EnsureStream(ctx context.Context, js jetstream.StreamManager, cfg jetstream.StreamConfig) (created bool, err error) {
	if cfg.Name == "" {
		return false, errors.New("ensure stream: name required")
	}
	_, err = js.Stream(ctx, cfg.Name)
	if err == nil {
		return false, nil
	}
	if !errors.Is(err, jetstream.ErrStreamNotFound) {
		return false, fmt.Errorf("ensure stream %s: %w", cfg.Name, err)
	}
	_, err = js.CreateStream(ctx, cfg)
	switch {
	case err == nil:
		return true, nil
	case errors.Is(err, jetstream.ErrStreamNameAlreadyInUse):
		return false, nil
	default:
		return false, fmt.Errorf("create stream %s: %w", cfg.Name, err)
	}
}

// WriterConfig configures a [Writer]. The zero value is the contract's
// default.
type WriterConfig struct {
	// Stream is the dead-letter stream; publishes expect it. Optional;
	// default GCIS_DLQ.
	Stream string
	// SubjectPrefix of dead-letter subjects. Optional; default gcis.dlq.
	SubjectPrefix string
	// EventsPrefix of event subjects, stripped to find the tenant, source
	// and type tokens. Optional; default gcis.events.
	EventsPrefix string
	// Now is the clock for Gcis-Dlq-Time. Optional; default time.Now.
	Now func() time.Time
}

func (c *WriterConfig) setDefaults() {
	if c.Stream == "" {
		c.Stream = DefaultStream
	}
	if c.SubjectPrefix == "" {
		c.SubjectPrefix = DefaultSubjectPrefix
	}
	if c.EventsPrefix == "" {
		c.EventsPrefix = DefaultEventsPrefix
	}
	if c.Now == nil {
		c.Now = time.Now
	}
}

// Validate reports a configuration that cannot work.
func (c WriterConfig) Validate() error {
	var errs []error
	if strings.ContainsAny(c.Stream, " \t.*>") {
		errs = append(errs, fmt.Errorf("stream: invalid name %q", c.Stream))
	}
	if !validPrefix(c.SubjectPrefix) {
		errs = append(errs, fmt.Errorf("subject_prefix: invalid subject prefix %q", c.SubjectPrefix))
	}
	if !validPrefix(c.EventsPrefix) {
		errs = append(errs, fmt.Errorf("events_prefix: invalid subject prefix %q", c.EventsPrefix))
	}
	return errors.Join(errs...)
}

// validPrefix reports whether p is a literal subject of one or more tokens.
func validPrefix(p string) bool {
	if p == "" {
		return false
	}
	for _, t := range strings.Split(p, ".") {
		if !validToken(t) {
			return false
		}
	}
	return true
}

// Original is the failed event as it was read from the events stream.
type Original struct {
	// Subject the event was read from. Required.
	Subject string
	// Stream the event was read from, e.g. GCIS_EVENTS. Required.
	Stream string
	// Sequence is the event's stream sequence. Required.
	Sequence uint64
	// Header of the original message; it is not modified.
	Header nats.Header
	// Data is the original body, stored byte for byte.
	Data []byte
}

// Writer stores dead letters in the dead-letter stream. It is safe for
// concurrent use and holds no resources of its own.
type Writer struct {
	js  jetstream.Publisher
	cfg WriterConfig
}

// NewWriter returns a writer publishing through js. The stream must exist
// (see [EnsureStream]).
func NewWriter(js jetstream.Publisher, cfg WriterConfig) (*Writer, error) {
	cfg.setDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("invalid config: %w", err)
	}
	return &Writer{js: js, cfg: cfg}, nil
}

// Write stores o as a dead letter for the reason in info and returns its
// dead-letter stream sequence. It returns only once JetStream has
// acknowledged the write, so the caller may then ack the original. Writing
// the same original (stream, sequence) again within the dead-letter
// stream's duplicate window stores nothing and returns the first sequence.
func (w *Writer) Write(ctx context.Context, o Original, info Info) (uint64, error) {
	msg, err := w.Message(o, info)
	if err != nil {
		return 0, err
	}
	ack, err := w.js.PublishMsg(ctx, msg, jetstream.WithExpectStream(w.cfg.Stream))
	if err != nil {
		return 0, fmt.Errorf("dead-letter %s seq %d: %w", o.Stream, o.Sequence, err)
	}
	return ack.Sequence, nil
}

// Message builds the dead-letter message for o without publishing it.
func (w *Writer) Message(o Original, info Info) (*nats.Msg, error) {
	if !info.Class.Valid() {
		return nil, fmt.Errorf("dead-letter: %w %q", ErrUnknownClass, info.Class)
	}
	if o.Stream == "" || o.Sequence == 0 {
		return nil, fmt.Errorf("dead-letter %q: original stream and sequence required", o.Subject)
	}
	if o.Subject == "" || strings.ContainsFunc(o.Subject+o.Stream, func(r rune) bool { return r <= ' ' || r == 0x7f }) {
		return nil, fmt.Errorf("dead-letter %q: not a subject", o.Subject)
	}
	h := make(nats.Header, len(o.Header)+11)
	for k, v := range o.Header {
		if hasPrefixFold(k, PrefixJetStream) || isContractHeader(k) {
			continue
		}
		h[k] = append([]string(nil), v...)
	}
	h.Set(HeaderMsgID, "dlq-"+o.Stream+"-"+strconv.FormatUint(o.Sequence, 10))
	h.Set(HeaderClass, string(info.Class))
	h.Set(HeaderReason, FoldReason(info.Reason))
	if code := FoldReason(info.ErrorCode); code != "" {
		h.Set(HeaderErrorCode, code)
	}
	if info.HTTPStatus != 0 {
		h.Set(HeaderHTTPStatus, strconv.Itoa(info.HTTPStatus))
	}
	h.Set(HeaderAttempts, strconv.Itoa(info.Attempts))
	if c := FoldReason(info.Connector); c != "" {
		h.Set(HeaderConnector, c)
	}
	h.Set(HeaderOriginalSubject, o.Subject)
	h.Set(HeaderOriginalStream, o.Stream)
	h.Set(HeaderOriginalSequence, strconv.FormatUint(o.Sequence, 10))
	h.Set(HeaderTime, w.cfg.Now().UTC().Format(time.RFC3339))
	return &nats.Msg{
		Subject: w.Subject(o.Subject),
		Header:  h,
		Data:    o.Data,
	}, nil
}

// Subject returns the dead-letter subject for an event subject:
// `<prefix>.<tenant>.<source>.<eventType>`, each token taken from the
// original subject after the events prefix, `_` for a missing one.
func (w *Writer) Subject(original string) string {
	return DLQSubject(w.cfg.SubjectPrefix, w.cfg.EventsPrefix, original)
}

// DLQSubject returns the dead-letter subject under dlqPrefix for the event
// subject original under eventsPrefix (see [Writer.Subject]). A subject
// outside eventsPrefix yields `<dlqPrefix>._._._`.
func DLQSubject(dlqPrefix, eventsPrefix, original string) string {
	tokens := [3]string{missingToken, missingToken, missingToken}
	if rest, ok := strings.CutPrefix(original, eventsPrefix+"."); ok {
		for i, t := range strings.SplitN(rest, ".", 4) {
			if i == 3 {
				break
			}
			if validToken(t) {
				tokens[i] = t
			}
		}
	}
	return dlqPrefix + "." + tokens[0] + "." + tokens[1] + "." + tokens[2]
}

// isContractHeader reports whether k is one of the headers the writer sets
// (any case), so an original's copy is replaced.
func isContractHeader(k string) bool {
	return hasPrefixFold(k, PrefixDLQ) || hasPrefixFold(k, PrefixOriginal)
}

// validToken reports whether t is a literal subject token.
func validToken(t string) bool {
	if t == "" || t == "*" || t == ">" {
		return false
	}
	for i := 0; i < len(t); i++ {
		switch c := t[i]; {
		case c <= ' ', c == '.', c == 0x7f:
			return false
		case c == '*' || c == '>':
			return false
		}
	}
	return true
}
