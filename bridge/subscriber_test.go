package bridge

import (
	"context"
	"fmt"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ThreeDotsLabs/watermill"
	wmnats "github.com/ThreeDotsLabs/watermill-nats/v2/pkg/jetstream"
	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/gentrack/gcis-bridge/bridge/embednats"
)

// inflightProbe is a handler that holds each message for hold and records
// the highest number of messages in the handler at once.
type inflightProbe struct {
	hold    time.Duration
	cur     atomic.Int64
	max     atomic.Int64
	handled atomic.Int64
}

func (p *inflightProbe) handle(*message.Message) error {
	n := p.cur.Add(1)
	for {
		m := p.max.Load()
		if n <= m || p.max.CompareAndSwap(m, n) {
			break
		}
	}
	time.Sleep(p.hold)
	p.cur.Add(-1)
	p.handled.Add(1)
	return nil
}

func setupStream(tb testing.TB, n int, maxAckPending int) (*nats.Conn, jetstream.JetStream) {
	tb.Helper()
	_, nc := embednats.ConnectTest(tb)
	js, err := jetstream.New(nc)
	if err != nil {
		tb.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := js.CreateStream(ctx, jetstream.StreamConfig{Name: "S", Subjects: []string{"s.>"}}); err != nil {
		tb.Fatal(err)
	}
	if _, err := js.CreateConsumer(ctx, "S", jetstream.ConsumerConfig{Durable: "c", AckPolicy: jetstream.AckExplicitPolicy, MaxAckPending: maxAckPending}); err != nil {
		tb.Fatal(err)
	}
	for i := range n {
		if _, err := js.PublishAsync("s.x", []byte(strconv.Itoa(i))); err != nil {
			tb.Fatal(err)
		}
	}
	select {
	case <-js.PublishAsyncComplete():
	case <-time.After(30 * time.Second):
		tb.Fatal("publish did not complete")
	}
	return nc, js
}

func runRouter(tb testing.TB, sub message.Subscriber, topic string, p *inflightProbe, want int64) time.Duration {
	tb.Helper()
	r, err := message.NewRouter(message.RouterConfig{CloseTimeout: 10 * time.Second}, watermill.NopLogger{})
	if err != nil {
		tb.Fatal(err)
	}
	r.AddConsumerHandler("h", topic, sub, p.handle)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() { _ = r.Run(ctx) }()
	<-r.Running()
	start := time.Now()
	deadline := time.Now().Add(60 * time.Second)
	for p.handled.Load() < want && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	elapsed := time.Since(start)
	_ = r.Close()
	if got := p.handled.Load(); got < want {
		tb.Fatalf("handled %d of %d", got, want)
	}
	return elapsed
}

// TestSubscriberKeepsManyInFlight shows why the bridge has its own
// subscriber: it hands the router up to max_ack_pending messages at once,
// so a batch of 200 can form, and every message is acked exactly once.
func TestSubscriberKeepsManyInFlight(t *testing.T) {
	const n = 600
	_, js := setupStream(t, n, 1000)
	sub, err := NewSubscriber(SubscriberConfig{JetStream: js, Stream: "S"})
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Close()
	p := &inflightProbe{hold: 50 * time.Millisecond}
	runRouter(t, sub, "c", p, n)
	if got := p.max.Load(); got < 200 {
		t.Fatalf("max in flight = %d, want ≥ 200 (a full batch)", got)
	}
	// Every message was acked: nothing pending on the consumer.
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var info *jetstream.ConsumerInfo
	for range 100 {
		c, err := js.Consumer(ctx, "S", "c")
		if err != nil {
			t.Fatal(err)
		}
		info = c.CachedInfo()
		if info.NumAckPending == 0 {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if info.NumAckPending != 0 || info.NumPending != 0 || info.AckFloor.Stream != n {
		t.Fatalf("consumer not fully acked: pending=%d ack_pending=%d ack_floor=%d", info.NumPending, info.NumAckPending, info.AckFloor.Stream)
	}
}

// TestSubscriberNakRedelivers checks that a nacked message is redelivered.
func TestSubscriberNakRedelivers(t *testing.T) {
	_, js := setupStream(t, 1, 10)
	sub, err := NewSubscriber(SubscriberConfig{JetStream: js, Stream: "S"})
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	ch, err := sub.Subscribe(ctx, "c")
	if err != nil {
		t.Fatal(err)
	}
	first := <-ch
	d, ok := ReceivedFrom(first.Context())
	if !ok || d.StreamSeq != 1 || d.NumDelivered != 1 || d.Subject != "s.x" {
		t.Fatalf("delivery = %+v", d)
	}
	first.Nack()
	select {
	case again := <-ch:
		d2, _ := ReceivedFrom(again.Context())
		if d2.StreamSeq != 1 || d2.NumDelivered != 2 {
			t.Fatalf("redelivery = %+v", d2)
		}
		again.Ack()
	case <-ctx.Done():
		t.Fatal("no redelivery after nak")
	}
}

// BenchmarkInFlightPerConsumer measures how many messages a Watermill
// handler can have in flight per JetStream consumer, with watermill-nats'
// subscriber and with the bridge's, and the resulting throughput when the
// handler holds each message for 20 ms (as a batch being formed does).
func BenchmarkInFlightPerConsumer(b *testing.B) {
	const n = 2000
	for _, tc := range []string{"watermill-nats", "bridge-subscriber"} {
		b.Run(tc, func(b *testing.B) {
			for range b.N {
				nc, js := setupStream(b, n, 5000)
				var sub message.Subscriber
				topic := "c"
				want := int64(n)
				if tc == "watermill-nats" {
					want = 100 // one at a time: 2000 × 20 ms would take 40 s
					s, err := wmnats.NewSubscriber(wmnats.SubscriberConfig{
						Conn:                nc,
						Logger:              watermill.NopLogger{},
						AckAsync:            true,
						ResourceInitializer: wmnats.ExistingConsumer(func(string, string) jetstream.ConsumerConfig { return jetstream.ConsumerConfig{Name: "c"} }, ""),
						ConfigureStream:     func(string) jetstream.StreamConfig { return jetstream.StreamConfig{Name: "S"} },
					})
					if err != nil {
						b.Fatal(err)
					}
					sub, topic = s, "S"
				} else {
					s, err := NewSubscriber(SubscriberConfig{JetStream: js, Stream: "S"})
					if err != nil {
						b.Fatal(err)
					}
					sub = s
				}
				p := &inflightProbe{hold: 20 * time.Millisecond}
				el := runRouter(b, sub, topic, p, want)
				b.ReportMetric(float64(p.max.Load()), "max-in-flight")
				b.ReportMetric(float64(want)/el.Seconds(), "msgs/s")
				_ = sub.Close()
			}
		})
	}
}

// TestSubscriberHandlerSettles: with HandlerSettles the handler's Settle
// acks or naks (a nak is redelivered), the router's own Ack is ignored,
// and every message ends acknowledged.
func TestSubscriberHandlerSettles(t *testing.T) {
	const n = 300
	_, js := setupStream(t, n, 1000)
	sub, err := NewSubscriber(SubscriberConfig{JetStream: js, Stream: "S", HandlerSettles: true})
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Close()
	var naked sync.Map
	var redelivered atomic.Int64
	p := &inflightProbe{}
	handler := func(m *message.Message) error {
		d, ok := ReceivedFrom(m.Context())
		if !ok {
			return fmt.Errorf("no delivery")
		}
		if d.NumDelivered > 1 {
			redelivered.Add(1)
		}
		// Nak every 10th message once; ack everything else.
		if d.StreamSeq%10 == 0 {
			if _, done := naked.LoadOrStore(d.StreamSeq, true); !done {
				d.Settle(false)
				return nil // the router's Ack must not undo the nak
			}
		}
		d.Settle(true)
		return p.handle(m)
	}
	r, err := message.NewRouter(message.RouterConfig{CloseTimeout: 10 * time.Second}, watermill.NopLogger{})
	if err != nil {
		t.Fatal(err)
	}
	r.AddConsumerHandler("h", "c", sub, handler)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() { _ = r.Run(ctx) }()
	<-r.Running()
	deadline := time.Now().Add(30 * time.Second)
	for p.handled.Load() < n && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	_ = r.Close()
	if got := p.handled.Load(); got != n {
		t.Fatalf("acked %d of %d", got, n)
	}
	if got := redelivered.Load(); got != n/10 {
		t.Fatalf("%d redeliveries, want %d (one per nak)", got, n/10)
	}
	cctx, ccancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer ccancel()
	var info *jetstream.ConsumerInfo
	for range 100 {
		c, err := js.Consumer(cctx, "S", "c")
		if err != nil {
			t.Fatal(err)
		}
		if info = c.CachedInfo(); info.NumAckPending == 0 && info.NumPending == 0 {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if info.NumAckPending != 0 || info.NumPending != 0 {
		t.Fatalf("consumer not fully acked: pending=%d ack_pending=%d", info.NumPending, info.NumAckPending)
	}
}

// TestAdmissionOrder: steps run in ticket order whatever order the
// goroutines arrive in; Done (skip) and a panicking step release the turn.
func TestAdmissionOrder(t *testing.T) {
	adm := newAdmission()
	const n = 50
	recs := make([]*Received, n)
	for i := range recs {
		recs[i] = &Received{adm: adm, ticket: adm.issue()}
	}
	var mu sync.Mutex
	var order []int
	var wg sync.WaitGroup
	for i := n - 1; i >= 0; i-- { // start them in reverse
		wg.Add(1)
		go func() {
			defer wg.Done()
			switch {
			case i%7 == 3:
				recs[i].Done() // dead-lettered: skips its turn
			case i%11 == 5:
				func() {
					defer func() { _ = recover() }()
					recs[i].InOrder(func() { panic("boom") })
				}()
			default:
				recs[i].InOrder(func() {
					mu.Lock()
					order = append(order, i)
					mu.Unlock()
				})
			}
			recs[i].Done() // harmless after InOrder
		}()
	}
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("admission deadlocked")
	}
	for k := 1; k < len(order); k++ {
		if order[k] <= order[k-1] {
			t.Fatalf("steps ran out of order: %v", order)
		}
	}
	if len(order) == 0 {
		t.Fatal("no step ran")
	}
}
