package bridge

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"time"

	"github.com/ThreeDotsLabs/watermill"
	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/nats-io/nats.go/jetstream"
)

// PriorityGroup is the JetStream priority group every tenant consumer uses.
// With the pinned-client policy only one bridge replica pulls a tenant's
// consumer at a time, which keeps per-account order across replicas; the
// server re-pins another replica automatically when the pinned one stops
// pulling (after PinnedTTL).
const PriorityGroup = "gcis"

// jsMsgKey is the context key under which the subscriber stores the
// JetStream message behind a Watermill message.
type jsMsgKey struct{}

// Received is what the subscriber knows about a message from JetStream.
type Received struct {
	Msg          jetstream.Msg
	Subject      string
	Stream       string
	StreamSeq    uint64
	NumDelivered uint64
	Published    time.Time

	// The router runs handlers concurrently, one goroutine per message;
	// admission restores the order in which JetStream delivered them for
	// the step that must keep it (handing events to the dispatcher).
	adm      *admission
	ticket   uint64
	admitted bool

	settleOnce sync.Once
	settleFn   func(ack bool)
}

// Settle acks (ack) or naks the JetStream message, once. With
// SubscriberConfig.HandlerSettles the handler must call it (the router's own
// Ack/Nack are then ignored); otherwise it is a no-op and the router's Ack
// or Nack settles the message.
func (r *Received) Settle(ack bool) {
	if r.settleFn != nil {
		r.settleOnce.Do(func() { r.settleFn(ack) })
	}
}

// InOrder runs fn once every message delivered before this one on the same
// subscription has run its InOrder or Done: handlers that run
// concurrently hand events over in delivery order.
func (r *Received) InOrder(fn func()) {
	if r.adm == nil || r.admitted {
		fn()
		return
	}
	r.admitted = true
	r.adm.wait(r.ticket)
	defer r.adm.done(r.ticket) // even if fn panics: later messages must not wait forever
	fn()
}

// Done releases this message's turn without running anything in order
// (for a message that will not be handed over, e.g. dead-lettered). It is
// safe to call after InOrder, and more than once.
func (r *Received) Done() {
	if r.adm == nil || r.admitted {
		return
	}
	r.admitted = true
	r.adm.done(r.ticket)
}

// admission hands out turns in ticket order.
type admission struct {
	mu    sync.Mutex
	cond  *sync.Cond
	next  uint64
	last  uint64
	early map[uint64]bool // tickets done before their turn
}

func newAdmission() *admission {
	a := &admission{next: 1, early: map[uint64]bool{}}
	a.cond = sync.NewCond(&a.mu)
	return a
}

func (a *admission) issue() uint64 {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.last++
	return a.last
}

func (a *admission) wait(ticket uint64) {
	a.mu.Lock()
	for a.next != ticket {
		a.cond.Wait()
	}
	a.mu.Unlock()
}

func (a *admission) done(ticket uint64) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if ticket != a.next {
		a.early[ticket] = true
		return
	}
	a.next++
	for a.early[a.next] {
		delete(a.early, a.next)
		a.next++
	}
	a.cond.Broadcast()
}

// ReceivedFrom returns what the subscriber received of a Watermill message
// received from a Subscriber.
func ReceivedFrom(ctx context.Context) (*Received, bool) {
	d, ok := ctx.Value(jsMsgKey{}).(*Received)
	return d, ok
}

// SubscriberConfig configures a Subscriber.
type SubscriberConfig struct {
	// JetStream is the JetStream context. Required.
	JetStream jetstream.JetStream
	// Stream is the events stream name. Required.
	Stream string
	// NakDelay is the delay of a nak (the handler let go of the message).
	// Optional; default 0 (redeliver as soon as the consumer allows).
	NakDelay time.Duration
	// PullMaxMessages is how many messages one pull request asks for.
	// Optional; default 500.
	PullMaxMessages int
	// PullExpiry is how long one pull request waits. With a pinned
	// priority group it must be well under the consumer's PinnedTTL, since
	// pulls keep the pin. Optional; default 10s.
	PullExpiry time.Duration
	// HandlerSettles makes the handler settle each message with
	// Received.Settle instead of the subscriber watching the router's
	// Ack/Nack, which saves a goroutine per message in flight. Optional.
	HandlerSettles bool
	// DrainTimeout bounds how long a stopping subscription waits for
	// outstanding messages to be settled before abandoning them to
	// redelivery. Optional; default 30s.
	DrainTimeout time.Duration
	// Logger is optional.
	Logger watermill.LoggerAdapter
}

// Subscriber is a Watermill message.Subscriber over a durable JetStream pull
// consumer that keeps many messages in flight at once.
//
// watermill-nats' subscriber hands the router one message at a time and waits
// for its ack before the next, so a consumer has a single message in flight,
// and a batch of 200 events could never form. This subscriber hands every
// message to the router as it arrives (the consumer's max_ack_pending bounds
// how many are outstanding) and acks asynchronously; the router, middleware
// and handler model stay Watermill's.
//
// The topic passed to Subscribe is the consumer name; the consumer must exist
// (the bridge ensures it).
type Subscriber struct {
	cfg     SubscriberConfig
	mu      sync.Mutex
	closed  bool
	closing chan struct{}
	subs    sync.WaitGroup
}

// NewSubscriber returns a Subscriber.
func NewSubscriber(cfg SubscriberConfig) (*Subscriber, error) {
	if cfg.JetStream == nil || cfg.Stream == "" {
		return nil, errors.New("subscriber: JetStream and Stream are required")
	}
	if cfg.PullMaxMessages <= 0 {
		cfg.PullMaxMessages = 500
	}
	if cfg.PullExpiry < time.Second {
		cfg.PullExpiry = 10 * time.Second
	}
	if cfg.DrainTimeout <= 0 {
		cfg.DrainTimeout = 30 * time.Second
	}
	if cfg.Logger == nil {
		cfg.Logger = watermill.NopLogger{}
	}
	return &Subscriber{cfg: cfg, closing: make(chan struct{})}, nil
}

// Subscribe starts consuming the durable consumer named topic and returns the
// channel of messages. Cancelling ctx or closing the subscriber stops pulling,
// waits for outstanding messages to be acked or nacked, then closes the
// channel.
func (s *Subscriber) Subscribe(ctx context.Context, topic string) (<-chan *message.Message, error) {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil, errors.New("subscriber closed")
	}
	s.subs.Add(1)
	s.mu.Unlock()

	cons, err := s.cfg.JetStream.Consumer(ctx, s.cfg.Stream, topic)
	if err != nil {
		s.subs.Done()
		return nil, fmt.Errorf("consumer %s: %w", topic, err)
	}
	out := make(chan *message.Message)
	// abandon ends the wait for settlement of outstanding messages; it is
	// detached from ctx so that stopping the subscription drains first.
	abandon, cancel := context.WithCancel(context.WithoutCancel(ctx))
	var outstanding sync.WaitGroup
	opts := []jetstream.PullConsumeOpt{
		jetstream.PullMaxMessages(s.cfg.PullMaxMessages),
		jetstream.PullExpiry(s.cfg.PullExpiry),
		jetstream.ConsumeErrHandler(func(_ jetstream.ConsumeContext, err error) {
			switch {
			case errors.Is(err, jetstream.ErrConsumerDeleted), errors.Is(err, jetstream.ErrConsumerNotFound):
				// Someone deleted the tenant's consumer: nothing flows
				// until the connector is set again (which recreates it).
				s.cfg.Logger.Error("consumer gone: the connector receives nothing until it is set again", err, watermill.LogFields{"consumer": topic})
			case errors.Is(err, jetstream.ErrNoHeartbeat):
			default:
				s.cfg.Logger.Debug("consume", watermill.LogFields{"consumer": topic, "error": err.Error()})
			}
		}),
	}
	if cinfo := cons.CachedInfo(); cinfo != nil && len(cinfo.Config.PriorityGroups) > 0 {
		opts = append(opts, jetstream.PullPriorityGroup(cinfo.Config.PriorityGroups[0]))
	}
	adm := newAdmission()
	cc, err := cons.Consume(func(m jetstream.Msg) {
		outstanding.Add(1)
		s.deliver(abandon, topic, m, out, &outstanding, adm)
	}, opts...)
	if err != nil {
		cancel()
		s.subs.Done()
		return nil, fmt.Errorf("consume %s: %w", topic, err)
	}
	go func() {
		defer s.subs.Done()
		select {
		case <-ctx.Done():
		case <-s.closing:
		}
		// Drain, not Stop: messages already pulled into the client's
		// buffer still reach the handler (which settles them: delivered,
		// or nak'd when the dispatcher is draining) instead of sitting
		// unacknowledged on the server until AckWait.
		cc.Drain()
		<-cc.Closed()
		drained := make(chan struct{})
		go func() { outstanding.Wait(); close(drained) }()
		select {
		case <-drained:
		case <-time.After(s.cfg.DrainTimeout):
			s.cfg.Logger.Info("abandoning unsettled messages to redelivery", watermill.LogFields{"consumer": topic})
			cancel()
			<-drained
		}
		cancel()
		close(out)
	}()
	return out, nil
}

// deliver hands one JetStream message to the router and settles it
// asynchronously once the handler acks or nacks.
func (s *Subscriber) deliver(ctx context.Context, topic string, m jetstream.Msg, out chan<- *message.Message, outstanding *sync.WaitGroup, adm *admission) {
	d := &Received{Msg: m, Subject: m.Subject(), adm: adm, ticket: adm.issue()}
	if md, err := m.Metadata(); err == nil {
		d.Stream = md.Stream
		d.StreamSeq = md.Sequence.Stream
		d.NumDelivered = md.NumDelivered
		d.Published = md.Timestamp
	}
	uuid := m.Headers().Get("Nats-Msg-Id")
	if uuid == "" {
		uuid = d.Stream + "-" + strconv.FormatUint(d.StreamSeq, 10)
	}
	wm := message.NewMessage(uuid, m.Data())
	for k := range m.Headers() {
		wm.Metadata.Set(k, m.Headers().Get(k))
	}
	msgCtx, cancel := context.WithCancel(context.WithValue(ctx, jsMsgKey{}, d))
	wm.SetContext(msgCtx)
	settle := func(ack bool) {
		defer outstanding.Done()
		defer cancel()
		var err error
		switch {
		case ack:
			err = m.Ack()
		case s.cfg.NakDelay > 0:
			err = m.NakWithDelay(s.cfg.NakDelay)
		default:
			err = m.Nak()
		}
		// Already settled: the dispatcher nak'd it itself (in order).
		if err != nil && !errors.Is(err, jetstream.ErrMsgAlreadyAckd) {
			s.cfg.Logger.Error("settle", err, watermill.LogFields{"consumer": topic, "stream_seq": d.StreamSeq, "ack": ack})
		}
	}
	if s.cfg.HandlerSettles {
		d.settleFn = settle
	}
	select {
	case out <- wm:
	case <-ctx.Done():
		// Not handed over: leave it unacked; JetStream redelivers it.
		d.Done()
		cancel()
		outstanding.Done()
		return
	}
	if s.cfg.HandlerSettles {
		return
	}
	go func() {
		select {
		case <-wm.Acked():
			settle(true)
		case <-wm.Nacked():
			settle(false)
		case <-ctx.Done():
			// Abandoned at shutdown: JetStream redelivers after AckWait.
			cancel()
			outstanding.Done()
		}
	}()
}

// Close stops every subscription and waits until their channels are closed.
func (s *Subscriber) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	close(s.closing)
	s.mu.Unlock()
	s.subs.Wait()
	return nil
}
