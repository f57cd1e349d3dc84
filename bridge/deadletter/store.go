package deadletter

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"go.uber.org/zap"
)

// ErrNotFound is returned (wrapped) by [Store.Get] for a sequence that
// holds no dead letter.
var ErrNotFound = errors.New("dead letter not found")

// ErrStopped may be returned by a [Store.List] callback to end the listing
// early without error.
var ErrStopped = errors.New("stop listing")

// StoreConfig configures a [Store]. The zero value is the contract's
// default.
type StoreConfig struct {
	// Stream is the dead-letter stream. Optional; default GCIS_DLQ.
	Stream string
	// SubjectPrefix of dead-letter subjects. Optional; default gcis.dlq.
	SubjectPrefix string
	// EventsStream, when set, is the stream replays must land in
	// (publishes expect it). Optional; default the dead letter's
	// Gcis-Original-Stream.
	EventsStream string
	// Logger receives the audit line of every replay and purge. Optional;
	// default no logging.
	Logger *zap.Logger
	// IdleTimeout bounds the wait for the next message of a scan when the
	// server said more were pending (they may have been deleted meanwhile).
	// Optional; default 2s.
	IdleTimeout time.Duration
	// MaxBufferedBytes bounds the bytes of messages buffered by a scan and
	// of replays awaiting their ack. Optional; default 8 MiB; raised to the
	// server's max_payload (plus headers) when that is larger, since a
	// scan must be able to buffer the largest message.
	MaxBufferedBytes int
	// Deleters is how many dead letters a replay or purge deletes
	// concurrently (each deletion is one JetStream API round trip).
	// Optional; default 32.
	Deleters int
}

func (c *StoreConfig) setDefaults() {
	if c.Stream == "" {
		c.Stream = DefaultStream
	}
	if c.SubjectPrefix == "" {
		c.SubjectPrefix = DefaultSubjectPrefix
	}
	if c.Logger == nil {
		c.Logger = zap.NewNop()
	}
	if c.IdleTimeout == 0 {
		c.IdleTimeout = 2 * time.Second
	}
	if c.MaxBufferedBytes == 0 {
		c.MaxBufferedBytes = 8 << 20
	}
	if c.Deleters == 0 {
		c.Deleters = 32
	}
}

// Validate reports a configuration that cannot work.
func (c StoreConfig) Validate() error {
	var errs []error
	if !validToken(c.Stream) {
		errs = append(errs, fmt.Errorf("stream: invalid name %q", c.Stream))
	}
	if !validPrefix(c.SubjectPrefix) {
		errs = append(errs, fmt.Errorf("subject_prefix: invalid subject prefix %q", c.SubjectPrefix))
	}
	if c.IdleTimeout < 0 {
		errs = append(errs, errors.New("idle_timeout: must not be negative"))
	}
	if c.MaxBufferedBytes < 1<<20 {
		errs = append(errs, errors.New("max_buffered_bytes: must be at least 1 MiB"))
	}
	if c.Deleters < 1 || c.Deleters > 256 {
		errs = append(errs, errors.New("deleters: must be from 1 to 256"))
	}
	return errors.Join(errs...)
}

// Store reads and manages the dead-letter stream for operators. It is safe
// for concurrent use; it holds no resources of its own (scans create
// ephemeral ordered consumers that they delete when done).
type Store struct {
	js  jetstream.JetStream
	cfg StoreConfig
	log *zap.Logger

	// afterPublish, when set (tests), runs after a replay's publish was
	// acknowledged and before the dead letter is deleted; returning false
	// simulates a crash at that point.
	afterPublish func(seq uint64) bool
}

// NewStore returns a store over the dead-letter stream reached through js.
func NewStore(js jetstream.JetStream, cfg StoreConfig) (*Store, error) {
	cfg.setDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("invalid config: %w", err)
	}
	return &Store{js: js, cfg: cfg, log: cfg.Logger}, nil
}

// Get returns the dead letter at seq, or an error wrapping [ErrNotFound].
func (s *Store) Get(ctx context.Context, seq uint64) (*DeadLetter, error) {
	st, err := s.stream(ctx)
	if err != nil {
		return nil, err
	}
	m, err := st.GetMsg(ctx, seq)
	if errors.Is(err, jetstream.ErrMsgNotFound) {
		return nil, fmt.Errorf("%w: sequence %d", ErrNotFound, seq)
	}
	if err != nil {
		return nil, fmt.Errorf("get dead letter %d: %w", seq, err)
	}
	return Parse(s.cfg.SubjectPrefix, m.Subject, m.Sequence, m.Time, m.Header, m.Data), nil
}

// List calls fn for every dead letter matching f, in sequence order, until
// f.Limit matches, the end of the stream as it was when List started, or
// fn returns an error ([ErrStopped] ends the listing with a nil error).
// Memory use is bounded whatever the stream holds.
func (s *Store) List(ctx context.Context, f Filter, fn func(*DeadLetter) error) error {
	if err := f.Validate(); err != nil {
		return err
	}
	err := s.scan(ctx, f, false, func(d *DeadLetter) error { return fn(d) })
	if errors.Is(err, ErrStopped) {
		return nil
	}
	return err
}

// Count returns the number of dead letters matching f (at most f.Limit
// when set). It reads headers only.
func (s *Store) Count(ctx context.Context, f Filter) (int, error) {
	if err := f.Validate(); err != nil {
		return 0, err
	}
	n := 0
	err := s.scan(ctx, f, true, func(*DeadLetter) error { n++; return nil })
	return n, err
}

// Stats are dead-letter counts.
type Stats struct {
	// Total number of matching dead letters.
	Total int `json:"total"`
	// Rows count by tenant × class × error code, sorted by tenant, class
	// (contract order) and error code.
	Rows []StatsRow `json:"rows"`
}

// StatsRow is one count of [Stats].
type StatsRow struct {
	Tenant    string `json:"tenant"`
	Class     Class  `json:"class"`
	ErrorCode string `json:"error_code"`
	Count     int    `json:"count"`
}

// Stats counts the dead letters matching f by tenant × class × error
// code. It reads headers only, streaming (on the order of 100k dead
// letters a second); memory grows with the number of distinct rows, not
// of dead letters.
func (s *Store) Stats(ctx context.Context, f Filter) (Stats, error) {
	if err := f.Validate(); err != nil {
		return Stats{}, err
	}
	type key struct {
		tenant, code string
		class        Class
	}
	counts := map[key]int{}
	var st Stats
	err := s.scan(ctx, f, true, func(d *DeadLetter) error {
		counts[key{d.Tenant, d.ErrorCode, d.Class}]++
		st.Total++
		return nil
	})
	if err != nil {
		return Stats{}, err
	}
	for k, n := range counts {
		st.Rows = append(st.Rows, StatsRow{Tenant: k.tenant, Class: k.class, ErrorCode: k.code, Count: n})
	}
	order := func(c Class) int {
		if i := slices.Index(Classes, c); i >= 0 {
			return i
		}
		return len(Classes)
	}
	slices.SortFunc(st.Rows, func(a, b StatsRow) int {
		return cmp.Or(cmp.Compare(a.Tenant, b.Tenant), cmp.Compare(order(a.Class), order(b.Class)),
			cmp.Compare(a.Class, b.Class), cmp.Compare(a.ErrorCode, b.ErrorCode))
	})
	return st, nil
}

func (s *Store) stream(ctx context.Context) (jetstream.Stream, error) {
	st, err := s.js.Stream(ctx, s.cfg.Stream)
	if err != nil {
		return nil, fmt.Errorf("dead-letter stream %s: %w", s.cfg.Stream, err)
	}
	return st, nil
}

// scan streams the dead letters matching f to fn in sequence order, up to
// the stream's last sequence when the scan started (so dead letters written
// meanwhile, a replay's own failures included, are not chased) and up to
// f.Limit matches. headersOnly skips the bodies.
func (s *Store) scan(ctx context.Context, f Filter, headersOnly bool, fn func(*DeadLetter) error) error {
	st, err := s.stream(ctx)
	if err != nil {
		return err
	}
	state := st.CachedInfo().State
	if state.Msgs == 0 {
		return nil
	}
	last := state.LastSeq
	if f.SeqTo != 0 {
		last = min(last, f.SeqTo)
	}
	first := max(state.FirstSeq, f.SeqFrom, 1)
	if first > last {
		return nil
	}
	occ := jetstream.OrderedConsumerConfig{
		DeliverPolicy:     jetstream.DeliverByStartSequencePolicy,
		OptStartSeq:       first,
		HeadersOnly:       headersOnly,
		InactiveThreshold: 30 * time.Second,
	}
	if subj := f.Subject(s.cfg.SubjectPrefix); subj != s.cfg.SubjectPrefix+".>" {
		occ.FilterSubjects = []string{subj}
	}
	if !f.Since.IsZero() && f.SeqFrom == 0 {
		since := f.Since
		occ.DeliverPolicy, occ.OptStartSeq, occ.OptStartTime = jetstream.DeliverByStartTimePolicy, 0, &since
	}
	cons, err := st.OrderedConsumer(ctx, occ)
	if err != nil {
		return fmt.Errorf("read dead-letter stream %s: %w", s.cfg.Stream, err)
	}
	defer func() {
		// The ordered consumer is ephemeral; delete it rather than leave it
		// to the inactivity threshold.
		if ci := cons.CachedInfo(); ci != nil {
			dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Second)
			_ = st.DeleteConsumer(dctx, ci.Name)
			cancel()
		}
	}()
	if ci := cons.CachedInfo(); ci == nil || ci.NumPending == 0 {
		return nil
	}
	var opt jetstream.PullMessagesOpt = jetstream.PullMaxBytes(s.bufferBytes())
	if headersOnly {
		opt = jetstream.PullMaxMessages(1000)
	}
	it, err := cons.Messages(opt)
	if err != nil {
		return fmt.Errorf("read dead-letter stream %s: %w", s.cfg.Stream, err)
	}
	defer it.Stop()
	matched := 0
	for {
		msg, err := s.next(ctx, cons, it)
		if err != nil {
			return err
		}
		if msg == nil {
			return nil
		}
		meta, err := msg.Metadata()
		if err != nil {
			return fmt.Errorf("read dead-letter stream %s: %w", s.cfg.Stream, err)
		}
		seq := meta.Sequence.Stream
		if seq > last {
			return nil
		}
		d := Parse(s.cfg.SubjectPrefix, msg.Subject(), seq, meta.Timestamp, msg.Headers(), msg.Data())
		if headersOnly {
			d.Data = nil
		}
		if f.match(d) {
			if err := fn(d); err != nil {
				return err
			}
			matched++
			if f.Limit > 0 && matched >= f.Limit {
				return nil
			}
		}
		if meta.NumPending == 0 || seq == last {
			return nil
		}
	}
}

// bufferBytes is the byte bound of scan buffers and of the replay window:
// MaxBufferedBytes, or more when the server accepts larger messages.
func (s *Store) bufferBytes() int {
	n := s.cfg.MaxBufferedBytes
	if nc := s.js.Conn(); nc != nil {
		n = max(n, int(nc.MaxPayload())+64<<10)
	}
	return n
}

// next returns the scan's next message, or nil when the consumer has
// nothing more although the server announced more (deleted meanwhile).
func (s *Store) next(ctx context.Context, cons jetstream.Consumer, it jetstream.MessagesContext) (jetstream.Msg, error) {
	for idle := 0; ; idle++ {
		nctx, cancel := context.WithTimeout(ctx, s.cfg.IdleTimeout)
		msg, err := it.Next(jetstream.NextContext(nctx))
		cancel()
		if err == nil {
			return msg, nil
		}
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		if !errors.Is(err, context.DeadlineExceeded) {
			return nil, fmt.Errorf("read dead-letter stream %s: %w", s.cfg.Stream, err)
		}
		info, ierr := cons.Info(ctx)
		if ierr == nil && info.NumPending == 0 && info.NumAckPending == 0 {
			return nil, nil
		}
		if idle >= 4 {
			return nil, fmt.Errorf("read dead-letter stream %s: no message for %s although more are pending", s.cfg.Stream, 5*s.cfg.IdleTimeout)
		}
	}
}
