// Package bridge runs the event flow: one durable JetStream consumer per
// tenant with a connector, read through a Watermill router; each event is
// decoded and mapped (package transform), delivered by the tenant's
// dispatcher (package dispatch) through the tenant's Salesforce client
// (package salesforce), and dead-lettered (package deadletter) when it cannot
// be delivered. Connector faults hold the tenant: its consumer is paused and
// the connector probed until it recovers.
package bridge

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sort"
	"sync"
	"time"

	"github.com/ThreeDotsLabs/watermill"
	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"go.uber.org/zap"

	"github.com/gentrack/gcis-bridge/bridge/deadletter"
	"github.com/gentrack/gcis-bridge/bridge/dispatch"
	"github.com/gentrack/gcis-bridge/bridge/telemetry"
	"github.com/gentrack/gcis-bridge/transform"
)

// Streams names the two streams and their settings.
type Streams struct {
	Events           string        // default GCIS_EVENTS
	EventsSubjects   []string      // default gcis.events.>
	EventsReplicas   int           // default 1
	EventsMaxAge     time.Duration // default 7 days
	EventsDuplicates time.Duration // duplicate window, default 2 min
	DeadLetter       string        // default GCIS_DLQ
	DeadLetterSubj   []string      // default gcis.dlq.>
	DeadLetterRepl   int           // default 1
	DeadLetterMaxAge time.Duration // default 30 days
	DeadLetterDups   time.Duration // duplicate window, default 1 h
}

// Delivery holds the delivery settings of one connector.
type Delivery struct {
	BatchMaxEvents     int
	BatchMaxBytes      int
	Linger             time.Duration
	MaxInFlight        int
	RequestTimeout     time.Duration
	MaxAttempts        int
	MaxAckPending      int
	Backoff            dispatch.Backoff
	BreakerFailures    uint32
	BreakerOpenFor     time.Duration
	LimitSlowdownRatio float64
}

// Probe sets how a held tenant is probed.
type Probe struct {
	// Initial is the first probe delay after a hold. Default 10s.
	Initial time.Duration
	// LimitInitial is the first probe delay after a daily-limit hold.
	// Default 30s (salesforce.md §3).
	LimitInitial time.Duration
	// Max caps the doubling delay. Default 5m.
	Max time.Duration
}

// Hooks let the composition root observe the flow (the demo's summary,
// tests). Every field is optional and must not block.
type Hooks struct {
	// Delivered is called per event Salesforce accepted.
	Delivered func(tenant, source, eventType, status string, latency time.Duration)
	// DeadLettered is called per dead-lettered event.
	DeadLettered func(tenant, class string)
	// Request is called per Salesforce request.
	Request func(tenant, outcome string, events int)
	// Hold is called when a tenant enters (reason != "") or leaves a hold.
	Hold func(tenant, reason string)
}

// Config configures a Bridge.
type Config struct {
	// Conn is the NATS connection. Required. The bridge does not close it.
	Conn *nats.Conn
	// Streams names the streams; zero values take the contract's defaults.
	Streams Streams
	// EventsPrefix is the subject prefix of events. Default "gcis.events".
	EventsPrefix string
	// DeadLetterPrefix is the subject prefix of dead letters. Default "gcis.dlq".
	DeadLetterPrefix string
	// MaxEventBytes is the largest event accepted. Default 512 KiB.
	MaxEventBytes int
	// AckWait is the consumers' ack deadline. Default 30s.
	AckWait time.Duration
	// PinnedTTL is how long JetStream keeps a tenant's consumer pinned to a
	// replica that stopped pulling (a crashed one) before another may take
	// over. Default 30s.
	PinnedTTL time.Duration
	// Mappings is the default mapping set. Required.
	Mappings *transform.MappingSet
	// Probe sets hold probing.
	Probe Probe
	// ShutdownTimeout bounds the graceful drain. Default 30s.
	ShutdownTimeout time.Duration
	// Version is sent as Sforce-Call-Options client=gcis-bridge/<version>.
	Version string
	// HTTPClient is used for Salesforce calls. Optional.
	HTTPClient *http.Client
	// Metrics receives the bridge's metrics. Optional.
	Metrics *telemetry.Metrics
	// Logger is optional.
	Logger *zap.Logger
	// Hooks observe the flow. Optional.
	Hooks Hooks
}

func (c *Config) setDefaults() {
	s := &c.Streams
	if s.Events == "" {
		s.Events = "GCIS_EVENTS"
	}
	if len(s.EventsSubjects) == 0 {
		s.EventsSubjects = []string{"gcis.events.>"}
	}
	if s.EventsReplicas <= 0 {
		s.EventsReplicas = 1
	}
	if s.EventsMaxAge <= 0 {
		s.EventsMaxAge = 7 * 24 * time.Hour
	}
	if s.DeadLetter == "" {
		s.DeadLetter = "GCIS_DLQ"
	}
	if len(s.DeadLetterSubj) == 0 {
		s.DeadLetterSubj = []string{"gcis.dlq.>"}
	}
	if s.DeadLetterRepl <= 0 {
		s.DeadLetterRepl = 1
	}
	if s.DeadLetterMaxAge <= 0 {
		s.DeadLetterMaxAge = 30 * 24 * time.Hour
	}
	if s.EventsDuplicates <= 0 {
		s.EventsDuplicates = 2 * time.Minute
	}
	if s.DeadLetterDups <= 0 {
		s.DeadLetterDups = time.Hour
	}
	if c.EventsPrefix == "" {
		c.EventsPrefix = "gcis.events"
	}
	if c.DeadLetterPrefix == "" {
		c.DeadLetterPrefix = "gcis.dlq"
	}
	if c.MaxEventBytes <= 0 {
		c.MaxEventBytes = 512 << 10
	}
	if c.AckWait <= 0 {
		c.AckWait = 30 * time.Second
	}
	if c.PinnedTTL <= 0 {
		c.PinnedTTL = 30 * time.Second
	}
	if c.Probe.Initial <= 0 {
		c.Probe.Initial = 10 * time.Second
	}
	if c.Probe.LimitInitial <= 0 {
		c.Probe.LimitInitial = 30 * time.Second
	}
	if c.Probe.Max <= 0 {
		c.Probe.Max = 5 * time.Minute
	}
	if c.ShutdownTimeout <= 0 {
		c.ShutdownTimeout = 30 * time.Second
	}
	if c.Version == "" {
		c.Version = "dev"
	}
	if c.Logger == nil {
		c.Logger = zap.NewNop()
	}
}

// Validate reports what is missing.
func (c *Config) Validate() error {
	var errs []error
	if c.Conn == nil {
		errs = append(errs, errors.New("bridge: Conn is required"))
	}
	if c.Mappings == nil {
		errs = append(errs, errors.New("bridge: Mappings is required"))
	}
	return errors.Join(errs...)
}

// Bridge runs the event flow for every connector it is given.
type Bridge struct {
	cfg    Config
	log    *zap.Logger
	js     jetstream.JetStream
	dlq    *deadletter.Writer
	router *message.Router
	wlog   watermill.LoggerAdapter

	mu      sync.Mutex
	tenants map[string]*tenant // by connector id
	runCtx  context.Context
	// runCancel ends the router's run; shutdown calls it first so that the
	// router closes itself (and does not report its handlers stopping as
	// an error).
	runCancel context.CancelFunc
	started   chan struct{}
	ready     error
	closed    bool
	stopOnce  sync.Once
}

// New prepares a Bridge; Run starts it.
func New(cfg Config) (*Bridge, error) {
	cfg.setDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	js, err := jetstream.New(cfg.Conn)
	if err != nil {
		return nil, fmt.Errorf("bridge: jetstream: %w", err)
	}
	wlog := telemetry.NewWatermillLogger(cfg.Logger)
	router, err := message.NewRouter(message.RouterConfig{CloseTimeout: cfg.ShutdownTimeout + 5*time.Second}, wlog)
	if err != nil {
		return nil, fmt.Errorf("bridge: router: %w", err)
	}

	b := &Bridge{
		cfg:     cfg,
		log:     cfg.Logger,
		js:      js,
		router:  router,
		wlog:    wlog,
		tenants: map[string]*tenant{},
		started: make(chan struct{}),
		ready:   errors.New("starting"),
	}
	if b.dlq, err = deadletter.NewWriter(js, deadletter.WriterConfig{
		Stream:        cfg.Streams.DeadLetter,
		SubjectPrefix: cfg.DeadLetterPrefix,
		EventsPrefix:  cfg.EventsPrefix,
	}); err != nil {
		return nil, fmt.Errorf("bridge: %w", err)
	}
	return b, nil
}

// JetStream returns the bridge's JetStream context.
func (b *Bridge) JetStream() jetstream.JetStream { return b.js }

// Ready reports whether the bridge is running with its streams in place
// (for /readyz).
func (b *Bridge) Ready(context.Context) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if !b.cfg.Conn.IsConnected() {
		return errors.New("not connected to NATS")
	}
	return b.ready
}

// Started is closed once Run has ensured the streams and started the router.
func (b *Bridge) Started() <-chan struct{} { return b.started }

// Run ensures the streams, starts the router and blocks until ctx is done;
// then it drains (bounded by ShutdownTimeout) and returns.
func (b *Bridge) Run(ctx context.Context) error {
	if err := b.checkMaxPayload(); err != nil {
		return err
	}
	if err := b.ensureStreams(ctx); err != nil {
		return err
	}
	runCtx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	defer cancel()
	// Watermill closes a router whose handlers have all stopped; the
	// bridge must outlive its last connector being removed, so one
	// handler that never receives anything stays for the bridge's life.
	b.router.AddConsumerHandler("keepalive", "keepalive", idleSubscriber{}, func(*message.Message) error { return nil })
	routerErr := make(chan error, 1)
	go func() { routerErr <- b.router.Run(runCtx) }()
	select {
	case <-b.router.Running():
	case err := <-routerErr:
		return fmt.Errorf("bridge: router: %w", err)
	}
	b.mu.Lock()
	b.runCtx = runCtx
	b.runCancel = cancel
	pending := make([]*tenant, 0, len(b.tenants))
	for _, t := range b.tenants {
		pending = append(pending, t)
	}
	b.mu.Unlock()
	for _, t := range pending {
		if err := b.startTenant(runCtx, t); err != nil {
			b.log.Error("start connector", zap.String("connector", t.conn.ID), zap.Error(err))
			t.setLastError(err)
		}
	}
	go b.gauges(runCtx)
	close(b.started)
	b.log.Info("bridge running", zap.Int("connectors", len(pending)))
	select {
	case <-ctx.Done():
	case err := <-routerErr:
		if err != nil {
			return fmt.Errorf("bridge: router stopped: %w", err)
		}
	}
	b.shutdown()
	return nil
}

// shutdown stops pulling, drains dispatchers within ShutdownTimeout and
// closes the router.
func (b *Bridge) shutdown() {
	b.stopOnce.Do(func() {
		b.mu.Lock()
		b.closed = true
		b.ready = errors.New("shutting down")
		if b.runCancel != nil {
			b.runCancel()
		}
		ts := make([]*tenant, 0, len(b.tenants))
		for _, t := range b.tenants {
			ts = append(ts, t)
		}
		b.mu.Unlock()
		b.log.Info("draining", zap.Duration("shutdown_timeout", b.cfg.ShutdownTimeout))
		ctx, cancel := context.WithTimeout(context.Background(), b.cfg.ShutdownTimeout)
		defer cancel()
		var wg sync.WaitGroup
		for _, t := range ts {
			wg.Add(1)
			go func() {
				defer wg.Done()
				t.stop(ctx)
			}()
		}
		wg.Wait()
		if err := b.router.Close(); err != nil {
			b.log.Warn("router close", zap.Error(err))
		}
		if err := b.cfg.Conn.Flush(); err != nil {
			b.log.Warn("flush acks", zap.Error(err))
		}
		b.log.Info("bridge stopped")
	})
}

func (b *Bridge) checkMaxPayload() error {
	need := int64(b.cfg.MaxEventBytes) + 8<<10
	if mp := b.cfg.Conn.MaxPayload(); mp < need {
		return fmt.Errorf("bridge: the NATS server's max_payload (%d bytes) must exceed max_event_bytes plus 8 KiB of dead-letter headers (%d bytes): raise max_payload on the server or lower delivery.max_event_bytes", mp, need)
	}
	return nil
}

func (b *Bridge) ensureStreams(ctx context.Context) error {
	s := b.cfg.Streams
	cctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	created, err := deadletter.EnsureStream(cctx, b.js, jetstream.StreamConfig{
		Name: s.Events, Subjects: s.EventsSubjects, Storage: jetstream.FileStorage,
		Retention: jetstream.LimitsPolicy, MaxAge: s.EventsMaxAge, Duplicates: s.EventsDuplicates, Replicas: s.EventsReplicas,
	})
	if err != nil {
		return fmt.Errorf("bridge: ensure stream %s: %w", s.Events, err)
	}
	if created {
		b.log.Info("created stream", zap.String("stream", s.Events))
	}
	if _, err := deadletter.EnsureStream(cctx, b.js, jetstream.StreamConfig{
		Name: s.DeadLetter, Subjects: s.DeadLetterSubj, Storage: jetstream.FileStorage,
		Retention: jetstream.LimitsPolicy, MaxAge: s.DeadLetterMaxAge, Duplicates: s.DeadLetterDups, Replicas: s.DeadLetterRepl,
	}); err != nil {
		return fmt.Errorf("bridge: ensure stream %s: %w", s.DeadLetter, err)
	}
	st, err := b.js.Stream(cctx, s.Events)
	if err != nil {
		return fmt.Errorf("bridge: stream %s: %w", s.Events, err)
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	b.ready = nil
	if st.CachedInfo().Config.Retention != jetstream.LimitsPolicy {
		b.ready = fmt.Errorf("stream %s has %s retention: events of tenants without a connector would be lost; it needs limits retention", s.Events, st.CachedInfo().Config.Retention)
		b.log.Error("stream retention", zap.Error(b.ready))
	}
	return nil
}

// gauges refreshes the backlog gauges.
func (b *Bridge) gauges(ctx context.Context) {
	m := b.cfg.Metrics
	if m == nil {
		return
	}
	tick := time.NewTicker(5 * time.Second)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		if st, err := b.js.Stream(ctx, b.cfg.Streams.DeadLetter); err == nil {
			m.DeadLetters.Set(float64(st.CachedInfo().State.Msgs))
		}
		for _, t := range b.snapshot() {
			if ci, err := b.js.Consumer(ctx, b.cfg.Streams.Events, t.consumerName()); err == nil {
				info := ci.CachedInfo()
				m.ConsumerPending.WithLabelValues(t.conn.Tenant).Set(float64(info.NumPending + uint64(info.NumAckPending)))
			}
		}
	}
}

func (b *Bridge) snapshot() []*tenant {
	b.mu.Lock()
	defer b.mu.Unlock()
	ts := make([]*tenant, 0, len(b.tenants))
	for _, t := range b.tenants {
		ts = append(ts, t)
	}
	sort.Slice(ts, func(i, j int) bool { return ts[i].conn.ID < ts[j].conn.ID })
	return ts
}

// idleSubscriber is a message.Subscriber that never delivers anything; its
// channel closes when the subscription's context ends.
type idleSubscriber struct{}

func (idleSubscriber) Subscribe(ctx context.Context, _ string) (<-chan *message.Message, error) {
	ch := make(chan *message.Message)
	go func() {
		<-ctx.Done()
		close(ch)
	}()
	return ch, nil
}

func (idleSubscriber) Close() error { return nil }
