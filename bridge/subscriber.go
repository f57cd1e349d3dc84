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

// Delivery is what the subscriber knows about a message from JetStream.
type Delivery struct {
	Msg          jetstream.Msg
	Subject      string
	Stream       string
	StreamSeq    uint64
	NumDelivered uint64
	Published    time.Time
}

// DeliveryFrom returns the JetStream delivery of a Watermill message
// received from a Subscriber.
func DeliveryFrom(ctx context.Context) (*Delivery, bool) {
	d, ok := ctx.Value(jsMsgKey{}).(*Delivery)
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
		jetstream.ConsumeErrHandler(func(_ jetstream.ConsumeContext, err error) {
			if !errors.Is(err, jetstream.ErrNoHeartbeat) {
				s.cfg.Logger.Debug("consume", watermill.LogFields{"consumer": topic, "error": err.Error()})
			}
		}),
	}
	if cinfo := cons.CachedInfo(); cinfo != nil && len(cinfo.Config.PriorityGroups) > 0 {
		opts = append(opts, jetstream.PullPriorityGroup(cinfo.Config.PriorityGroups[0]))
	}
	cc, err := cons.Consume(func(m jetstream.Msg) {
		outstanding.Add(1)
		s.deliver(abandon, topic, m, out, &outstanding)
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
		cc.Stop()
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
func (s *Subscriber) deliver(ctx context.Context, topic string, m jetstream.Msg, out chan<- *message.Message, outstanding *sync.WaitGroup) {
	d := &Delivery{Msg: m, Subject: m.Subject()}
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
	select {
	case out <- wm:
	case <-ctx.Done():
		// Not handed over: leave it unacked; JetStream redelivers it.
		cancel()
		outstanding.Done()
		return
	}
	go func() {
		defer outstanding.Done()
		defer cancel()
		select {
		case <-wm.Acked():
			if err := m.Ack(); err != nil {
				s.cfg.Logger.Error("ack", err, watermill.LogFields{"consumer": topic, "stream_seq": d.StreamSeq})
			}
		case <-ctx.Done():
			// Abandoned at shutdown: JetStream redelivers after AckWait.
		case <-wm.Nacked():
			var err error
			if s.cfg.NakDelay > 0 {
				err = m.NakWithDelay(s.cfg.NakDelay)
			} else {
				err = m.Nak()
			}
			if err != nil {
				s.cfg.Logger.Error("nak", err, watermill.LogFields{"consumer": topic, "stream_seq": d.StreamSeq})
			}
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
