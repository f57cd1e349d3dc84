package bridge

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/sony/gobreaker/v2"
	"go.uber.org/zap"

	"github.com/gentrack/gcis-bridge/bridge/deadletter"
	"github.com/gentrack/gcis-bridge/bridge/dispatch"
	"github.com/gentrack/gcis-bridge/bridge/salesforce"
	"github.com/gentrack/gcis-bridge/transform"
)

// Connector is one connector instance: a tenant and the Salesforce org its
// events go to.
type Connector struct {
	ID                string
	Tenant            string
	LoginURL          string
	ConsumerKey       string
	ConsumerSecret    string
	EventEndpoint     string
	AllowInsecureHTTP bool
	// Subscriptions: "*", "<source>.*" or "<source>.<eventType>". Empty = "*".
	Subscriptions []string
	// StartFrom: "all" (default), "new" or an RFC 3339 time.
	StartFrom string
	// Mappings overrides the bridge's default mapping set. Optional.
	Mappings *transform.MappingSet
	// Delivery settings (already merged with the defaults).
	Delivery Delivery
	// Paused is an operator pause.
	Paused bool
}

// Subscribed reports whether the connector takes events of this type.
func (c *Connector) Subscribed(source, eventType string) bool {
	if len(c.Subscriptions) == 0 {
		return true
	}
	for _, s := range c.Subscriptions {
		if s == "*" || s == source+".*" || s == source+"."+eventType {
			return true
		}
	}
	return false
}

// Status is a connector's runtime state, for the admin API and console.
type Status struct {
	ConnectorID  string    `json:"connector_id"`
	Tenant       string    `json:"tenant"`
	State        string    `json:"state"` // active | paused | holding: <reason> | stopped
	HoldReason   string    `json:"hold_reason,omitempty"`
	HoldSince    time.Time `json:"hold_since,omitzero"`
	NextProbe    time.Time `json:"next_probe,omitzero"`
	Breaker      string    `json:"breaker"`
	APIUsed      int       `json:"api_used"`
	APIMax       int       `json:"api_max"`
	LastError    string    `json:"last_error,omitempty"`
	InFlight     int       `json:"in_flight"`
	Owned        int       `json:"owned"`
	BatchMax     int       `json:"batch_max_events"`
	MaxInFlight  int       `json:"max_in_flight"`
	APISlowdown  bool      `json:"api_slowdown"`
	ConsumerName string    `json:"consumer"`
}

type tenant struct {
	b      *Bridge
	conn   Connector
	client *salesforce.Client
	disp   *dispatch.Dispatcher
	sub    *Subscriber
	handle *message.Handler
	log    *zap.Logger

	// ctl serializes holds, probes and resumes; gen numbers them.
	ctl sync.Mutex
	gen uint64

	mu         sync.Mutex
	holdReason string
	holdSince  time.Time
	nextProbe  time.Time
	lastErr    string
	probeStop  context.CancelFunc
	running    bool
}

func (t *tenant) consumerName() string { return "gcis-sf-" + t.conn.Tenant }

func (t *tenant) setLastError(err error) {
	t.mu.Lock()
	t.lastErr = err.Error()
	t.mu.Unlock()
}

// SetConnector adds a connector or replaces one with the same id; a running
// bridge starts (or restarts) its consumer at once.
func (b *Bridge) SetConnector(ctx context.Context, c Connector) error {
	if c.EventEndpoint == "" {
		c.EventEndpoint = "gtx_bu/v2/event"
	}
	if c.StartFrom == "" {
		c.StartFrom = "all"
	}
	t := &tenant{b: b, conn: c, log: b.log.With(zap.String("tenant", c.Tenant), zap.String("connector", c.ID))}
	if err := t.build(); err != nil {
		return err
	}
	b.mu.Lock()
	if b.closed {
		b.mu.Unlock()
		return errors.New("bridge: closed")
	}
	for id, o := range b.tenants {
		if id != c.ID && o.conn.Tenant == c.Tenant {
			b.mu.Unlock()
			return fmt.Errorf("bridge: tenant %s already has connector %s", c.Tenant, id)
		}
	}
	old := b.tenants[c.ID]
	b.tenants[c.ID] = t
	runCtx := b.runCtx
	b.mu.Unlock()
	if old != nil && old.running {
		sctx, cancel := context.WithTimeout(ctx, b.cfg.ShutdownTimeout)
		old.stop(sctx)
		cancel()
	}
	if runCtx != nil {
		return b.startTenant(runCtx, t)
	}
	return nil
}

// RemoveConnector stops a connector's consumer (draining in-flight batches)
// and forgets it. The durable consumer stays, so a connector created again
// for the tenant resumes where this one stopped.
func (b *Bridge) RemoveConnector(ctx context.Context, id string) error {
	b.mu.Lock()
	t := b.tenants[id]
	delete(b.tenants, id)
	b.mu.Unlock()
	if t == nil {
		return fmt.Errorf("bridge: no connector %s", id)
	}
	t.stop(ctx)
	if m := b.cfg.Metrics; m != nil {
		m.ForgetTenant(t.conn.Tenant)
	}
	return nil
}

// Pause holds a connector by operator request: its consumer is paused and
// nothing is delivered until Resume.
func (b *Bridge) Pause(ctx context.Context, id string) error {
	t := b.tenant(id)
	if t == nil {
		return fmt.Errorf("bridge: no connector %s", id)
	}
	t.mu.Lock()
	t.conn.Paused = true
	t.mu.Unlock()
	t.hold(ctx, "paused", nil)
	return nil
}

// Resume ends an operator pause (or a hold) at once.
func (b *Bridge) Resume(ctx context.Context, id string) error {
	t := b.tenant(id)
	if t == nil {
		return fmt.Errorf("bridge: no connector %s", id)
	}
	t.mu.Lock()
	t.conn.Paused = false
	t.mu.Unlock()
	return t.resume(ctx)
}

// Status returns a connector's runtime state.
func (b *Bridge) Status(id string) (Status, bool) {
	t := b.tenant(id)
	if t == nil {
		return Status{}, false
	}
	return t.status(), true
}

// Statuses returns the runtime state of every connector, by id.
func (b *Bridge) Statuses() []Status {
	var out []Status
	for _, t := range b.snapshot() {
		out = append(out, t.status())
	}
	return out
}

// TenantInfo is one tenant seen on the event stream.
type TenantInfo struct {
	Tenant string `json:"tenant"`
	// Events is how many events of the tenant the stream holds.
	Events uint64 `json:"events"`
	// Connector is the tenant's connector id, "" when it has none (its
	// events wait in the stream).
	Connector string `json:"connector,omitempty"`
}

// Tenants lists the tenants seen on the event stream (from the stream's
// per-subject counts), with their connectors.
func (b *Bridge) Tenants(ctx context.Context) ([]TenantInfo, error) {
	st, err := b.js.Stream(ctx, b.cfg.Streams.Events)
	if err != nil {
		return nil, fmt.Errorf("stream %s: %w", b.cfg.Streams.Events, err)
	}
	info, err := st.Info(ctx, jetstream.WithSubjectFilter(b.cfg.EventsPrefix+".>"))
	if err != nil {
		return nil, fmt.Errorf("stream %s: %w", b.cfg.Streams.Events, err)
	}
	counts := map[string]uint64{}
	for subj, n := range info.State.Subjects {
		if s, err := transform.ParseSubject(b.cfg.EventsPrefix, subj); err == nil {
			counts[s.Tenant] += n
		}
	}
	byTenant := map[string]string{}
	for _, t := range b.snapshot() {
		byTenant[t.conn.Tenant] = t.conn.ID
		if _, ok := counts[t.conn.Tenant]; !ok {
			counts[t.conn.Tenant] = 0
		}
	}
	out := make([]TenantInfo, 0, len(counts))
	for ten, n := range counts {
		out = append(out, TenantInfo{Tenant: ten, Events: n, Connector: byTenant[ten]})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Tenant < out[j].Tenant })
	return out, nil
}

// Mappings returns the effective mapping set of a connector (its own
// overrides over the defaults), or the defaults for id "".
func (b *Bridge) Mappings(id string) (*transform.MappingSet, bool) {
	if id == "" {
		return b.cfg.Mappings, true
	}
	t := b.tenant(id)
	if t == nil {
		return nil, false
	}
	if t.conn.Mappings != nil {
		return t.conn.Mappings, true
	}
	return b.cfg.Mappings, true
}

// TestConnection runs the connector's Test Connection check.
func (b *Bridge) TestConnection(ctx context.Context, id string) (salesforce.Report, error) {
	t := b.tenant(id)
	if t == nil {
		return salesforce.Report{}, fmt.Errorf("bridge: no connector %s", id)
	}
	return t.client.TestConnection(ctx), nil
}

func (b *Bridge) tenant(id string) *tenant {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.tenants[id]
}

// build creates the tenant's Salesforce client and dispatcher.
func (t *tenant) build() error {
	b, c := t.b, t.conn
	d := c.Delivery
	tenantLabel := c.Tenant
	client, err := salesforce.New(salesforce.Config{
		ConnectorID:       c.ID,
		LoginURL:          c.LoginURL,
		ConsumerKey:       c.ConsumerKey,
		ConsumerSecret:    c.ConsumerSecret,
		EventEndpoint:     c.EventEndpoint,
		AllowInsecureHTTP: c.AllowInsecureHTTP,
		HTTPClient:        b.cfg.HTTPClient,
		RequestTimeout:    d.RequestTimeout,
		UserAgentVersion:  b.cfg.Version,
		Breaker:           salesforce.BreakerConfig{Failures: d.BreakerFailures, OpenFor: d.BreakerOpenFor},
		OnBreakerChange: func(from, to gobreaker.State) {
			t.log.Warn("circuit breaker", zap.String("from", from.String()), zap.String("to", to.String()))
			if m := b.cfg.Metrics; m != nil {
				m.BreakerState.WithLabelValues(tenantLabel).Set(float64(to))
			}
		},
		OnUsage: func(used, max int) {
			if m := b.cfg.Metrics; m != nil && max > 0 {
				m.APIUsageRatio.WithLabelValues(tenantLabel).Set(float64(used) / float64(max))
			}
		},
	})
	if err != nil {
		return fmt.Errorf("connector %s: %w", c.ID, err)
	}
	t.client = client
	disp, err := dispatch.New(dispatch.Config{
		Tenant:             c.Tenant,
		ConnectorID:        c.ID,
		Sender:             client,
		DeadLetter:         t.deadLetterItem,
		OnHold:             func(reason string, err error) { t.hold(context.Background(), reason, err) },
		BatchMaxEvents:     d.BatchMaxEvents,
		BatchMaxBytes:      d.BatchMaxBytes,
		Linger:             d.Linger,
		MaxInFlight:        d.MaxInFlight,
		RequestTimeout:     d.RequestTimeout,
		MaxAttempts:        d.MaxAttempts,
		Backoff:            d.Backoff,
		LimitSlowdownRatio: d.LimitSlowdownRatio,
		TouchInterval:      b.cfg.AckWait / 3,
		Logger:             b.log,
		Observer:           t.observer(),
	})
	if err != nil {
		return fmt.Errorf("connector %s: %w", c.ID, err)
	}
	t.disp = disp
	return nil
}

func (t *tenant) observer() dispatch.Observer {
	b, tenantLabel := t.b, t.conn.Tenant
	m, h := b.cfg.Metrics, b.cfg.Hooks
	return dispatch.Observer{
		Request: func(outcome string, d time.Duration, events int) {
			if m != nil {
				m.SalesforceRequests.WithLabelValues(tenantLabel, outcome).Inc()
				m.SalesforceRequestDuration.WithLabelValues(tenantLabel).Observe(d.Seconds())
				if outcome == "ok" {
					m.BatchEvents.WithLabelValues(tenantLabel).Observe(float64(events))
				}
			}
			if h.Request != nil {
				h.Request(tenantLabel, outcome, events)
			}
		},
		Delivered: func(it *dispatch.Item, status string) {
			lat := time.Since(it.Published)
			if m != nil {
				m.EventsDelivered.WithLabelValues(tenantLabel, it.Source, it.EventType, status).Inc()
				if !it.Published.IsZero() {
					m.DeliveryLatency.WithLabelValues(tenantLabel).Observe(lat.Seconds())
				}
			}
			if h.Delivered != nil {
				h.Delivered(tenantLabel, it.Source, it.EventType, status, lat)
			}
			t.log.Debug("delivered", zap.String("event_id", it.ID), zap.Uint64("stream_seq", it.Seq), zap.String("status", status))
		},
	}
}

// An operator pause pauses the consumer for operatorPause; at start, a
// consumer paused beyond operatorPauseHorizon is taken as operator-paused.
const (
	operatorPause        = 100 * 365 * 24 * time.Hour
	operatorPauseHorizon = 10 * 365 * 24 * time.Hour
)

// startTenant ensures the tenant's durable consumer and adds its handler to
// the router.
func (b *Bridge) startTenant(ctx context.Context, t *tenant) error {
	cons, err := b.ensureConsumer(ctx, t)
	if err != nil {
		return err
	}
	// An operator pause outlives restarts: it is the consumer's own pause
	// (persisted by JetStream) with a deadline far in the future, unlike a
	// hold's pause, which ends shortly after the next probe.
	if ci := cons.CachedInfo(); ci != nil && ci.Paused && ci.Config.PauseUntil != nil && time.Until(*ci.Config.PauseUntil) > operatorPauseHorizon {
		t.mu.Lock()
		t.conn.Paused = true
		t.mu.Unlock()
	}
	sub, err := NewSubscriber(SubscriberConfig{
		JetStream:       b.js,
		Stream:          b.cfg.Streams.Events,
		PullMaxMessages: min(max(t.conn.Delivery.BatchMaxEvents*2, 100), 1000),
		DrainTimeout:    b.cfg.ShutdownTimeout,
		HandlerSettles:  true,
		PullExpiry:      max(time.Second, min(10*time.Second, b.cfg.PinnedTTL/3)),
		Logger:          b.wlog,
	})
	if err != nil {
		return err
	}
	t.sub = sub
	t.handle = b.router.AddConsumerHandler("connector-"+t.conn.ID, t.consumerName(), sub, t.handleMessage)
	if err := b.router.RunHandlers(ctx); err != nil {
		return fmt.Errorf("connector %s: start handler: %w", t.conn.ID, err)
	}
	t.mu.Lock()
	t.running = true
	paused := t.conn.Paused
	t.mu.Unlock()
	if paused {
		t.hold(ctx, "paused", nil)
	} else if _, err := b.js.ResumeConsumer(ctx, b.cfg.Streams.Events, t.consumerName()); err != nil {
		// Reconcile: a pause left by an earlier hold ends; if the fault
		// persists, the first request holds the tenant again.
		t.log.Debug("resume consumer", zap.Error(err))
	}
	t.log.Info("connector started", zap.String("consumer", t.consumerName()), zap.String("start_from", t.conn.StartFrom))
	return nil
}

func (b *Bridge) ensureConsumer(ctx context.Context, t *tenant) (jetstream.Consumer, error) {
	name := t.consumerName()
	maxAck := t.conn.Delivery.MaxAckPending
	if maxAck <= 0 {
		maxAck = 5000
	}
	cfg := jetstream.ConsumerConfig{
		Durable:        name,
		FilterSubject:  b.cfg.EventsPrefix + "." + t.conn.Tenant + ".>",
		AckPolicy:      jetstream.AckExplicitPolicy,
		AckWait:        b.cfg.AckWait,
		MaxAckPending:  maxAck,
		MaxDeliver:     -1,
		PriorityPolicy: jetstream.PriorityPolicyPinned,
		PriorityGroups: []string{PriorityGroup},
		PinnedTTL:      b.cfg.PinnedTTL,
		Description:    "gcis-bridge connector " + t.conn.ID,
	}
	switch sf := t.conn.StartFrom; sf {
	case "", "all":
		cfg.DeliverPolicy = jetstream.DeliverAllPolicy
	case "new":
		cfg.DeliverPolicy = jetstream.DeliverNewPolicy
	default:
		ts, err := time.Parse(time.RFC3339, sf)
		if err != nil {
			return nil, fmt.Errorf("connector %s: start_from %q: want all, new or an RFC 3339 time", t.conn.ID, sf)
		}
		cfg.DeliverPolicy = jetstream.DeliverByStartTimePolicy
		cfg.OptStartTime = &ts
	}
	cctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	cons, err := b.js.CreateConsumer(cctx, b.cfg.Streams.Events, cfg)
	if errors.Is(err, jetstream.ErrConsumerExists) {
		// Existing consumer: keep its position; update what may change.
		existing, gerr := b.js.Consumer(cctx, b.cfg.Streams.Events, name)
		if gerr != nil {
			return nil, fmt.Errorf("connector %s: consumer %s: %w", t.conn.ID, name, gerr)
		}
		ec := existing.CachedInfo().Config
		if ec.MaxAckPending != maxAck || ec.AckWait != b.cfg.AckWait || ec.PinnedTTL != b.cfg.PinnedTTL {
			ec.MaxAckPending, ec.AckWait = maxAck, b.cfg.AckWait
			if ec.PriorityPolicy == jetstream.PriorityPolicyPinned {
				ec.PinnedTTL = b.cfg.PinnedTTL
			}
			if existing, err = b.js.UpdateConsumer(cctx, b.cfg.Streams.Events, ec); err != nil {
				return nil, fmt.Errorf("connector %s: update consumer %s: %w", t.conn.ID, name, err)
			}
		}
		return existing, nil
	}
	if err != nil {
		return nil, fmt.Errorf("connector %s: create consumer %s: %w", t.conn.ID, name, err)
	}
	return cons, nil
}

// handleMessage is the Watermill handler of one tenant: decode, map, hand
// to the dispatcher, wait for the outcome.
func (t *tenant) handleMessage(msg *message.Message) (err error) {
	b := t.b
	d, ok := ReceivedFrom(msg.Context())
	if !ok {
		return errors.New("message without JetStream delivery")
	}
	// The handler settles its message (HandlerSettles): ack when it
	// returns nil (delivered, dead-lettered, skipped, or already nak'd by
	// the dispatcher), nak on an error.
	defer func() { d.Settle(err == nil) }()
	// A panic becomes an error (nak: JetStream redelivers) instead of
	// taking every tenant down. (watermill's Recoverer middleware would do
	// the same but brings two more modules.)
	defer func() {
		if r := recover(); r != nil {
			t.log.Error("handler panic", zap.Any("panic", r), zap.Stack("stack"))
			err = fmt.Errorf("handler panic: %v", r)
		}
	}()
	subj, subjErr := transform.ParseSubject(b.cfg.EventsPrefix, d.Subject)
	if m := b.cfg.Metrics; m != nil {
		src, typ := subj.Source, subj.EventType
		if subjErr != nil {
			src, typ = "_", "_"
		}
		m.EventsReceived.WithLabelValues(t.conn.Tenant, src, typ).Inc()
	}
	defer d.Done()
	var env *transform.Envelope
	err = subjErr
	if err == nil {
		env, err = transform.Decode(subj, msg.Payload, transform.DecodeOptions{MaxBytes: b.cfg.MaxEventBytes})
	}
	if err != nil {
		d.Done()
		return t.deadLetterRaw(d, msg, err, subj.Source)
	}
	if !t.conn.Subscribed(env.Source, env.EventType) {
		if m := b.cfg.Metrics; m != nil {
			m.EventsSkipped.WithLabelValues(t.conn.Tenant, "not_subscribed").Inc()
		}
		return nil
	}
	set := b.cfg.Mappings
	if t.conn.Mappings != nil {
		set = t.conn.Mappings
	}
	mapped, err := set.Map(env)
	if err != nil {
		d.Done()
		return t.deadLetterRaw(d, msg, err, env.Source)
	}
	it := &dispatch.Item{
		ID:        env.EventID,
		Key:       env.Source + "\x00" + mapped.OrderingKey,
		JSON:      mapped.JSON,
		Seq:       d.StreamSeq,
		Source:    env.Source,
		EventType: env.EventType,
		Published: d.Published,
		Touch:     d.Msg.InProgress,
		Release:   d.Msg.Nak,
		Ref:       d,
	}
	var done <-chan dispatch.Outcome
	d.InOrder(func() { done = t.disp.Submit(it) })
	<-done
	// Delivered or dead-lettered: the router acks. Released: the dispatcher
	// already nak'd the message (in stream order per key), so the router's
	// ack is a no-op (nats.go refuses to settle a message twice) and no
	// handler error is logged for what is a normal hold or shutdown.
	return nil
}

// deadLetterRaw dead-letters an event the transform refused.
func (t *tenant) deadLetterRaw(d *Received, msg *message.Message, err error, source string) error {
	class, ok := transform.ClassOf(err)
	if !ok {
		class = transform.ClassInvalid
	}
	reason := err.Error()
	var te *transform.Error
	if errors.As(err, &te) {
		reason = te.Reason
	}
	werr := t.writeDeadLetter(d, deadletter.Info{
		Class:     deadletter.Class(class),
		Reason:    reason,
		Attempts:  1,
		Connector: t.conn.ID,
	})
	if werr != nil {
		t.log.Error("dead-letter write failed; event left for redelivery", zap.Uint64("stream_seq", d.StreamSeq), zap.Error(werr))
		return werr
	}
	t.countDeadLetter(source, string(class))
	t.log.Info("dead-lettered", zap.String("subject", d.Subject), zap.Uint64("stream_seq", d.StreamSeq), zap.String("class", string(class)), zap.String("reason", reason))
	return nil
}

func (t *tenant) countDeadLetter(source, class string) {
	if source == "" {
		source = "_"
	}
	if m := t.b.cfg.Metrics; m != nil {
		m.EventsDeadLettered.WithLabelValues(t.conn.Tenant, source, class).Inc()
	}
	if h := t.b.cfg.Hooks.DeadLettered; h != nil {
		h(t.conn.Tenant, class)
	}
}

// deadLetterItem is the dispatcher's dead-letter writer.
func (t *tenant) deadLetterItem(ctx context.Context, it *dispatch.Item, f dispatch.Failure) error {
	d, _ := it.Ref.(*Received)
	if d == nil {
		return errors.New("item without delivery")
	}
	err := t.writeDeadLetterCtx(ctx, d, deadletter.Info{
		Class:      deadletter.Class(f.Class),
		Reason:     f.Reason,
		ErrorCode:  f.ErrorCode,
		HTTPStatus: f.HTTPStatus,
		Attempts:   f.Attempts,
		Connector:  t.conn.ID,
	})
	if err == nil {
		t.countDeadLetter(it.Source, f.Class)
		t.log.Info("dead-lettered", zap.String("event_id", it.ID), zap.Uint64("stream_seq", it.Seq), zap.String("class", f.Class),
			zap.String("error_code", f.ErrorCode), zap.Int("http_status", f.HTTPStatus), zap.Int("attempt", f.Attempts))
	}
	return err
}

func (t *tenant) writeDeadLetter(d *Received, info deadletter.Info) error {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return t.writeDeadLetterCtx(ctx, d, info)
}

func (t *tenant) writeDeadLetterCtx(ctx context.Context, d *Received, info deadletter.Info) error {
	_, err := t.b.dlq.Write(ctx, deadletter.Original{
		Subject:  d.Subject,
		Stream:   d.Stream,
		Sequence: d.StreamSeq,
		Header:   d.Msg.Headers(),
		Data:     d.Msg.Data(),
	}, info)
	return err
}

// hold puts the tenant on hold: the consumer is paused first (so that
// released messages are not redelivered during the hold), then the
// dispatcher lets go of what it owns, and (unless an operator paused it)
// the connector is probed until it recovers.
//
// Holds, probes and resumes are serialized by t.ctl and numbered by
// t.gen: a probe loop of an earlier hold can never pause the consumer
// after a later resume.
func (t *tenant) hold(ctx context.Context, reason string, cause error) {
	b := t.b
	t.ctl.Lock()
	t.gen++
	gen := t.gen
	t.mu.Lock()
	if t.probeStop != nil {
		t.probeStop()
		t.probeStop = nil
	}
	prev := t.holdReason
	t.holdReason = reason
	if prev == "" {
		t.holdSince = time.Now()
	}
	if cause != nil {
		t.lastErr = cause.Error()
	}
	operator := t.conn.Paused
	t.mu.Unlock()
	first := b.cfg.Probe.Initial
	if reason == "limit" {
		first = b.cfg.Probe.LimitInitial
	}
	if operator {
		t.pauseConsumer(ctx, time.Now().Add(operatorPause))
	} else {
		t.pauseConsumer(ctx, time.Now().Add(first+time.Minute))
	}
	t.disp.Hold(reason)
	var pctx context.Context
	if !operator {
		var cancel context.CancelFunc
		pctx, cancel = context.WithCancel(context.Background())
		t.mu.Lock()
		t.probeStop = cancel
		t.mu.Unlock()
	}
	t.ctl.Unlock()
	if m := b.cfg.Metrics; m != nil {
		m.SetHolding(t.conn.Tenant, reason)
	}
	if h := b.cfg.Hooks.Hold; h != nil {
		h(t.conn.Tenant, reason)
	}
	if operator {
		t.log.Info("connector paused by operator")
		return
	}
	t.log.Warn("holding connector", zap.String("reason", reason), zap.Duration("first_probe_in", first), zap.Error(cause))
	go t.probeLoop(pctx, gen, first)
}

func (t *tenant) pauseConsumer(ctx context.Context, until time.Time) {
	cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	if _, err := t.b.js.PauseConsumer(cctx, t.b.cfg.Streams.Events, t.consumerName(), until); err != nil {
		t.log.Warn("pause consumer", zap.Error(err))
	}
}

// probeLoop probes the held connector with doubling delays and resumes the
// tenant once the probe succeeds. It stops when the hold of generation gen
// is superseded.
func (t *tenant) probeLoop(ctx context.Context, gen uint64, delay time.Duration) {
	const margin = time.Minute
	for {
		next := time.Now().Add(delay)
		t.ctl.Lock()
		if gen != t.gen || ctx.Err() != nil {
			t.ctl.Unlock()
			return
		}
		t.mu.Lock()
		t.nextProbe = next
		t.mu.Unlock()
		// Extend the pause past the next probe: if this replica dies, the
		// consumer resumes by itself and another replica takes over.
		t.pauseConsumer(ctx, next.Add(margin))
		t.ctl.Unlock()
		select {
		case <-ctx.Done():
			return
		case <-time.After(delay):
		}
		pctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		err := t.client.Probe(pctx)
		cancel()
		if ctx.Err() != nil {
			return
		}
		if err == nil {
			t.log.Info("probe succeeded: resuming connector")
			if rerr := t.resumeGen(ctx, gen); rerr != nil {
				t.log.Warn("resume", zap.Error(rerr))
			}
			return
		}
		t.setLastError(err)
		delay = min(delay*2, t.b.cfg.Probe.Max)
		t.log.Warn("probe failed", zap.Error(err), zap.Duration("next_probe_in", delay))
	}
}

// resume ends a hold at once (operator request).
func (t *tenant) resume(ctx context.Context) error { return t.resumeGen(ctx, 0) }

// resumeGen ends the hold of generation gen (0: whatever hold there is):
// the dispatcher accepts events again, then the consumer is resumed.
func (t *tenant) resumeGen(ctx context.Context, gen uint64) error {
	t.ctl.Lock()
	defer t.ctl.Unlock()
	if gen != 0 && gen != t.gen {
		return nil // superseded by a later hold or resume
	}
	t.mu.Lock()
	if t.conn.Paused {
		t.mu.Unlock()
		return errors.New("connector is paused by an operator")
	}
	t.gen++
	prev := t.holdReason
	t.holdReason = ""
	t.holdSince = time.Time{}
	t.nextProbe = time.Time{}
	if t.probeStop != nil {
		t.probeStop()
		t.probeStop = nil
	}
	t.mu.Unlock()
	t.disp.Resume()
	if m := t.b.cfg.Metrics; m != nil && prev != "" {
		m.SetHolding(t.conn.Tenant, "")
	}
	if h := t.b.cfg.Hooks.Hold; h != nil && prev != "" {
		h(t.conn.Tenant, "")
	}
	cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	if _, err := t.b.js.ResumeConsumer(cctx, t.b.cfg.Streams.Events, t.consumerName()); err != nil {
		return fmt.Errorf("resume consumer: %w", err)
	}
	return nil
}

// stop stops pulling, drains the dispatcher within ctx and waits for the
// handler to finish.
func (t *tenant) stop(ctx context.Context) {
	t.mu.Lock()
	if t.probeStop != nil {
		t.probeStop()
		t.probeStop = nil
	}
	running := t.running
	t.running = false
	t.mu.Unlock()
	if !running {
		t.disp.Drain(ctx)
		return
	}
	t.handle.Stop()   // stop pulling; the subscription waits for outstanding messages
	t.disp.Drain(ctx) // flush or release everything owned
	select {
	case <-t.handle.Stopped():
	case <-ctx.Done():
	}
	_ = t.sub.Close()
	// Everything this replica owned is settled: hand the pin over now
	// rather than after PinnedTTL, so a rolling restart does not stall the
	// tenant.
	uctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if st, err := t.b.js.Stream(uctx, t.b.cfg.Streams.Events); err == nil {
		if err := st.UnpinConsumer(uctx, t.consumerName(), PriorityGroup); err != nil {
			t.log.Debug("unpin consumer", zap.Error(err))
		}
	}
}

func (t *tenant) status() Status {
	t.mu.Lock()
	s := Status{
		ConnectorID:  t.conn.ID,
		Tenant:       t.conn.Tenant,
		HoldReason:   t.holdReason,
		HoldSince:    t.holdSince,
		NextProbe:    t.nextProbe,
		LastError:    t.lastErr,
		ConsumerName: t.consumerName(),
	}
	running := t.running
	t.mu.Unlock()
	switch {
	case !running:
		s.State = "stopped"
	case s.HoldReason == "paused":
		s.State = "paused"
	case s.HoldReason != "":
		s.State = "holding: " + s.HoldReason
	default:
		s.State = "active"
	}
	s.Breaker = strings.ReplaceAll(t.client.BreakerState().String(), " ", "-")
	u := t.client.Usage()
	s.APIUsed, s.APIMax = u.Used, u.Max
	ds := t.disp.Stats()
	s.InFlight, s.Owned, s.BatchMax, s.MaxInFlight, s.APISlowdown = ds.InFlight, ds.Owned, ds.BatchMax, ds.MaxInFlight, ds.Slow
	return s
}
