// Package dispatch delivers one tenant's events to its Salesforce org: it
// keeps events of one ordering key in order (lanes), forms batches bounded by
// count, bytes and linger, bounds concurrent requests, retries transient
// failures itself while keeping the messages owned, isolates bad events by
// bisection, adapts batch size and concurrency to Salesforce's signals, and
// hands the connector's faults to the caller as holds.
//
// The dispatcher knows nothing of NATS or Watermill: the caller submits Items
// (with a Touch func that extends the message's ack deadline) and receives one
// Outcome per item: delivered (ack), dead-lettered (ack after the dead letter
// was stored) or released (nak: hold or shutdown).
package dispatch

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/oklog/ulid/v2"
	"go.uber.org/zap"

	"github.com/gentrack/gcis-bridge/bridge/salesforce"
)

// Sender publishes one batch; *salesforce.Client implements it.
type Sender interface {
	Publish(ctx context.Context, batchID string, events []json.RawMessage, ids []string) (*salesforce.PublishResult, error)
}

// Backoff is an exponential backoff with jitter.
type Backoff struct {
	Initial    time.Duration
	Max        time.Duration
	Multiplier float64
	Jitter     float64
}

// Delay returns the wait before retry number attempt (1-based).
func (b Backoff) Delay(attempt int) time.Duration {
	if attempt < 1 {
		attempt = 1
	}
	d := float64(b.Initial) * math.Pow(b.Multiplier, float64(attempt-1))
	if d > float64(b.Max) || math.IsInf(d, 0) || math.IsNaN(d) {
		d = float64(b.Max)
	}
	if b.Jitter > 0 {
		d *= 1 + b.Jitter*(2*rand.Float64()-1)
	}
	return time.Duration(min(d, float64(b.Max)))
}

// Failure describes why an event goes to the dead-letter stream.
type Failure struct {
	Class      string // "rejected" or "exhausted"
	Reason     string
	ErrorCode  string
	HTTPStatus int
	Attempts   int
}

// Result is what became of one item.
type Result int

const (
	// Delivered means Salesforce accepted the event (created or duplicate): ack.
	Delivered Result = iota + 1
	// DeadLettered means the event was stored in the dead-letter stream: ack.
	DeadLettered
	// Released means the dispatcher let go of the event (hold, shutdown, or a
	// dead-letter write that failed): nak, JetStream redelivers it.
	Released
)

func (r Result) String() string {
	switch r {
	case Delivered:
		return "delivered"
	case DeadLettered:
		return "dead_lettered"
	case Released:
		return "released"
	}
	return "unknown"
}

// Outcome is the final word on one item.
type Outcome struct {
	Result   Result
	Status   string // created | duplicate, when delivered
	RecordID string
	Failure  *Failure // when dead-lettered
}

// Item is one mapped event owned by the dispatcher until its Outcome.
type Item struct {
	// ID is the sourceEventId (unique per batch).
	ID string
	// Key is the ordering key (tenant-scoped: source + ordering value).
	Key string
	// JSON is the encoded managed-package event.
	JSON []byte
	// Seq is the stream sequence, for logs.
	Seq uint64
	// Source and EventType label metrics.
	Source, EventType string
	// Published is when the event entered the stream (latency metric).
	Published time.Time
	// Touch extends the message's ack deadline (JetStream InProgress).
	// Optional.
	Touch func() error
	// Release lets go of the message (JetStream nak) so that it is
	// redelivered. The dispatcher calls it before the Released outcome, in
	// stream order per key, because JetStream redelivers in nak order.
	// Optional.
	Release func() error
	// Ref is the caller's own reference to the message (opaque here).
	Ref any

	attempts  int
	lastErr   *salesforce.Error
	enqueued  time.Time
	lastTouch time.Time
	done      chan Outcome
}

// Observer receives the dispatcher's signals for metrics and logs. Every
// field is optional.
type Observer struct {
	// Request is called after every Salesforce request with its outcome
	// ("ok" or an error class), duration and batch size.
	Request func(outcome string, d time.Duration, events int)
	// Delivered is called per delivered item.
	Delivered func(it *Item, status string)
	// DeadLettered is called per dead-lettered item.
	DeadLettered func(it *Item, f Failure)
	// Usage reports Sforce-Limit-Info.
	Usage func(used, max int)
}

// Config configures a Dispatcher.
type Config struct {
	// Tenant and ConnectorID label logs. Required: ConnectorID.
	Tenant      string
	ConnectorID string
	// Sender publishes batches. Required.
	Sender Sender
	// DeadLetter stores an item in the dead-letter stream and returns once
	// the store acknowledged it. Required.
	DeadLetter func(ctx context.Context, it *Item, f Failure) error
	// OnHold is called once when a connector fault puts the tenant on hold
	// (reason: auth, limit, endpoint, schema, breaker). Optional.
	OnHold func(reason string, err error)

	BatchMaxEvents     int           // default 200
	BatchMaxBytes      int           // default 2 MiB
	Linger             time.Duration // default 100ms
	MaxInFlight        int           // default 4
	RequestTimeout     time.Duration // default 30s
	MaxAttempts        int           // default 10
	Backoff            Backoff       // default 1s, 5m, 2, 0.2
	LimitSlowdownRatio float64       // default 0.9
	// SlowInterval is the minimum gap between requests while API usage is
	// above LimitSlowdownRatio. Default 1s.
	SlowInterval time.Duration
	// KeyBatchMax is how many events of one ordering key one request may
	// carry (in stream order). Default 1: order then holds even when the
	// package fails one item transiently and accepts a later item of the
	// same key in the same request. Raise it only for a package that fails
	// every later item of a key together.
	KeyBatchMax int
	// TouchInterval is how often owned messages get their ack deadline
	// extended. Default 10s (a third of JetStream's default AckWait).
	TouchInterval time.Duration

	Observer Observer
	Logger   *zap.Logger
}

func (c *Config) setDefaults() {
	if c.BatchMaxEvents <= 0 {
		c.BatchMaxEvents = 200
	}
	if c.BatchMaxBytes <= 0 {
		c.BatchMaxBytes = 2 << 20
	}
	if c.Linger <= 0 {
		c.Linger = 100 * time.Millisecond
	}
	if c.MaxInFlight <= 0 {
		c.MaxInFlight = 4
	}
	if c.RequestTimeout <= 0 {
		c.RequestTimeout = 30 * time.Second
	}
	if c.MaxAttempts <= 0 {
		c.MaxAttempts = 10
	}
	if c.Backoff.Initial <= 0 {
		c.Backoff.Initial = time.Second
	}
	if c.Backoff.Max <= 0 {
		c.Backoff.Max = 5 * time.Minute
	}
	if c.Backoff.Multiplier < 1 {
		c.Backoff.Multiplier = 2
	}
	if c.LimitSlowdownRatio <= 0 {
		c.LimitSlowdownRatio = 0.9
	}
	if c.SlowInterval <= 0 {
		c.SlowInterval = time.Second
	}
	if c.KeyBatchMax <= 0 {
		c.KeyBatchMax = 1
	}
	if c.TouchInterval <= 0 {
		c.TouchInterval = 10 * time.Second
	}
	if c.Logger == nil {
		c.Logger = zap.NewNop()
	}
}

// Validate reports a configuration that cannot work.
func (c *Config) Validate() error {
	var errs []error
	if c.ConnectorID == "" {
		errs = append(errs, errors.New("dispatch: ConnectorID is required"))
	}
	if c.Sender == nil {
		errs = append(errs, errors.New("dispatch: Sender is required"))
	}
	if c.DeadLetter == nil {
		errs = append(errs, errors.New("dispatch: DeadLetter is required"))
	}
	if c.BatchMaxEvents > 200 {
		errs = append(errs, errors.New("dispatch: BatchMaxEvents must be at most 200"))
	}
	return errors.Join(errs...)
}

type lane struct {
	key       string
	pending   []*Item
	inflight  int
	notBefore time.Time
	queued    bool // in the ready queue
}

// batchOverhead bounds the request envelope around the events
// ({"schemaVersion":"2.0","connectorId":…,"batchId":<ULID>,"events":[…]})
// without the connector id.
const batchOverhead = 128

// Dispatcher delivers one tenant's events. Create it with New, feed it with
// Submit, stop it with Drain.
type Dispatcher struct {
	cfg Config
	log *zap.Logger

	mu          sync.Mutex
	lanes       map[string]*lane
	ready       []*lane // FIFO of lanes with sendable items
	readyItems  int
	readyBytes  int
	readySince  time.Time // when the oldest ready item became ready
	waiting     map[*lane]struct{}
	owned       map[*Item]struct{}
	inFlight    int
	maxInFlight int // effective (lowered on concurrency errors)
	batchMax    int // effective (halved on governor limits)
	okStreak    int
	slow        bool
	lastSend    time.Time
	held        string // hold reason, "" when not held
	letGo       bool   // held items are released (the caller paused the consumer)
	draining    bool
	stopped     bool
	// Schema-refusal detection (reset by any successful request):
	// single400/single400N count consecutive single-event 400s with one
	// signature; schemaSig is the signature the tenant was held for.
	single400  string
	single400N int
	schemaSig  string

	wake    chan struct{}
	reqCtx  context.Context
	cancel  context.CancelFunc
	loopEnd chan struct{}
	sends   sync.WaitGroup
}

// New starts a dispatcher.
func New(cfg Config) (*Dispatcher, error) {
	cfg.setDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(context.Background())
	d := &Dispatcher{
		cfg:         cfg,
		log:         cfg.Logger.With(zap.String("tenant", cfg.Tenant), zap.String("connector", cfg.ConnectorID)),
		lanes:       map[string]*lane{},
		waiting:     map[*lane]struct{}{},
		owned:       map[*Item]struct{}{},
		maxInFlight: cfg.MaxInFlight,
		batchMax:    cfg.BatchMaxEvents,
		wake:        make(chan struct{}, 1),
		reqCtx:      ctx,
		cancel:      cancel,
		loopEnd:     make(chan struct{}),
	}
	go d.loop()
	return d, nil
}

// Submit hands an item to the dispatcher and returns the channel on which
// its Outcome arrives (exactly once).
func (d *Dispatcher) Submit(it *Item) <-chan Outcome {
	it.done = make(chan Outcome, 1)
	now := time.Now()
	it.enqueued, it.lastTouch = now, now
	if !it.Published.IsZero() && it.Published.Before(now) {
		// Linger counts from when the event entered the stream, so that a
		// partial batch waits at most Linger after publication.
		it.enqueued = it.Published
	}
	d.mu.Lock()
	l := d.lanes[it.Key]
	if d.releasing() || d.draining {
		if l != nil && (l.inflight > 0 || len(l.pending) > 0) {
			// Released after the earlier events of its key (when their
			// request settles, or when the drain ends).
			d.owned[it] = struct{}{}
			l.pending = append(l.pending, it)
		} else {
			release([]*Item{it})
		}
		d.mu.Unlock()
		return it.done
	}
	// Not held, or held but not yet let go (the caller is pausing the
	// consumer): the item joins its lane; nothing is sent while held.
	d.owned[it] = struct{}{}
	if l == nil {
		l = &lane{key: it.Key}
		d.lanes[it.Key] = l
	}
	l.pending = append(l.pending, it)
	if l.queued {
		if len(l.pending) <= d.cfg.KeyBatchMax {
			d.readyItems++
			d.readyBytes += len(it.JSON)
		}
	} else if l.inflight == 0 && !d.inBackoff(l, now) {
		d.enqueue(l, now)
	}
	d.mu.Unlock()
	d.signal()
	return it.done
}

// Held returns the current hold reason ("" when not held).
func (d *Dispatcher) Held() string {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.held
}

// Hold puts the dispatcher on hold for reason (e.g. "paused" by an
// operator, or the reason OnHold reported) and lets go of what it owns:
// every item not in flight is released at once, in order per key, and
// items of in-flight requests when the request settles (unless delivered).
// Call it after pausing the consumer, so that released messages are not
// redelivered (and reordered) during the hold.
func (d *Dispatcher) Hold(reason string) {
	d.mu.Lock()
	if d.held == "" || reason == "paused" {
		d.held = reason
	}
	d.letGo = true
	release(d.releasePendingLocked())
	d.mu.Unlock()
}

// releasing reports whether items are let go rather than kept.
func (d *Dispatcher) releasing() bool {
	return d.stopped || (d.held != "" && d.letGo)
}

// Resume ends a hold.
func (d *Dispatcher) Resume() {
	d.mu.Lock()
	d.held, d.letGo = "", false
	d.mu.Unlock()
	d.signal()
}

// Stats is a snapshot of the dispatcher's state.
type Stats struct {
	Owned, Ready, InFlight, Lanes, MaxInFlight, BatchMax int
	Held                                                 string
	Slow                                                 bool
}

// Stats returns a snapshot of the dispatcher's state.
func (d *Dispatcher) Stats() Stats {
	d.mu.Lock()
	defer d.mu.Unlock()
	return Stats{Owned: len(d.owned), Ready: d.readyItems, InFlight: d.inFlight, Lanes: len(d.lanes),
		MaxInFlight: d.maxInFlight, BatchMax: d.batchMax, Held: d.held, Slow: d.slow}
}

// Drain stops accepting items, sends what is ready without waiting for
// linger, waits for in-flight requests until ctx is done, then cancels what
// is still in flight and releases everything not delivered. It returns when
// every owned item has its outcome.
func (d *Dispatcher) Drain(ctx context.Context) {
	d.mu.Lock()
	d.draining = true
	d.mu.Unlock()
	d.signal()
	done := make(chan struct{})
	go func() {
		for {
			d.mu.Lock()
			idle := d.inFlight == 0 && (d.readyItems == 0 || d.held != "")
			d.mu.Unlock()
			if idle {
				close(done)
				return
			}
			select {
			case <-ctx.Done():
				close(done)
				return
			case <-time.After(10 * time.Millisecond):
			}
		}
	}()
	<-done
	d.mu.Lock()
	d.stopped = true
	release(d.releasePendingLocked())
	d.mu.Unlock()
	d.cancel() // aborts in-flight requests: their items are released
	d.sends.Wait()
	d.signal()
	<-d.loopEnd
}

func (d *Dispatcher) signal() {
	select {
	case d.wake <- struct{}{}:
	default:
	}
}

func (d *Dispatcher) inBackoff(l *lane, now time.Time) bool {
	if !l.notBefore.IsZero() && now.Before(l.notBefore) {
		d.waiting[l] = struct{}{}
		return true
	}
	return false
}

func (d *Dispatcher) enqueue(l *lane, now time.Time) {
	l.queued = true
	if len(d.ready) == 0 {
		d.readySince = now
		if len(l.pending) > 0 && l.pending[0].enqueued.Before(now) {
			d.readySince = l.pending[0].enqueued
		}
	}
	d.ready = append(d.ready, l)
	for _, it := range d.sendable(l) {
		d.readyItems++
		d.readyBytes += len(it.JSON)
	}
}

// sendable returns the lane's items that the next request may carry.
func (d *Dispatcher) sendable(l *lane) []*Item {
	return l.pending[:min(len(l.pending), d.cfg.KeyBatchMax)]
}

// loop forms batches and keeps owned messages alive.
func (d *Dispatcher) loop() {
	defer close(d.loopEnd)
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	lastTouch := time.Now()
	for {
		d.mu.Lock()
		if d.stopped && d.inFlight == 0 {
			d.mu.Unlock()
			return
		}
		now := time.Now()
		next := now.Add(d.cfg.TouchInterval)
		for l := range d.waiting {
			if !now.Before(l.notBefore) {
				delete(d.waiting, l)
				l.notBefore = time.Time{}
				if l.inflight == 0 && len(l.pending) > 0 && !l.queued {
					d.enqueue(l, now)
				}
			} else if l.notBefore.Before(next) {
				next = l.notBefore
			}
		}
		var batches [][]*Item
		for d.held == "" && !d.stopped && d.readyItems > 0 && d.inFlight < d.maxInFlight {
			due := d.readySince.Add(d.cfg.Linger)
			full := d.readyItems >= d.batchMax || d.readyBytes+batchOverhead+len(d.cfg.ConnectorID) >= d.cfg.BatchMaxBytes
			if d.slow {
				if gap := d.lastSend.Add(d.cfg.SlowInterval); now.Before(gap) {
					if gap.Before(next) {
						next = gap
					}
					break
				}
			}
			if !full && !d.draining && now.Before(due) {
				if due.Before(next) {
					next = due
				}
				break
			}
			batch := d.takeLocked(now)
			if len(batch) == 0 {
				break // cannot happen: a queued lane has a sendable item
			}
			batches = append(batches, batch)
			d.inFlight++
			d.sends.Add(1) // under the lock, so Drain's Wait sees it
			d.lastSend = now
			if d.slow {
				continue // the gap check above stops the next one
			}
		}
		var touch []*Item
		if now.Sub(lastTouch) >= d.cfg.TouchInterval/2 {
			lastTouch = now
			for it := range d.owned {
				if it.Touch != nil && now.Sub(it.lastTouch) >= d.cfg.TouchInterval {
					it.lastTouch = now
					touch = append(touch, it)
				}
			}
		}
		d.mu.Unlock()
		for _, b := range batches {
			go d.send(b)
		}
		for _, it := range touch {
			if err := it.Touch(); err != nil {
				d.log.Debug("extend ack deadline", zap.Uint64("stream_seq", it.Seq), zap.Error(err))
			}
		}
		wait := time.Until(next)
		if wait < time.Millisecond {
			wait = time.Millisecond
		}
		timer.Reset(wait)
		select {
		case <-d.wake:
			if !timer.Stop() {
				select {
				case <-timer.C:
				default:
				}
			}
		case <-timer.C:
		}
	}
}

// takeLocked removes one batch from the ready queue: lanes in FIFO order,
// up to KeyBatchMax events of each, until the batch is full.
func (d *Dispatcher) takeLocked(now time.Time) []*Item {
	var batch []*Item
	size := batchOverhead + len(d.cfg.ConnectorID)
	full := false
	for len(d.ready) > 0 && !full {
		l := d.ready[0]
		send := d.sendable(l)
		n := 0
		for n < len(send) {
			it := send[n]
			if len(batch) >= d.batchMax || (len(batch) > 0 && size+len(it.JSON)+1 > d.cfg.BatchMaxBytes) {
				full = true
				break
			}
			batch = append(batch, it)
			size += len(it.JSON) + 1
			n++
		}
		if n == 0 {
			break
		}
		// The lane leaves the ready queue: it is busy until the request
		// settles, and its other items wait.
		for _, it := range send {
			d.readyItems--
			d.readyBytes -= len(it.JSON)
		}
		l.pending = append([]*Item(nil), l.pending[n:]...)
		l.inflight += n
		l.queued = false
		d.ready[0] = nil
		d.ready = d.ready[1:]
		if len(batch) >= d.batchMax {
			full = true
		}
	}
	if len(d.ready) > 0 {
		d.readySince = now
		if p := d.ready[0].pending; len(p) > 0 && p[0].enqueued.Before(now) {
			d.readySince = p[0].enqueued
		}
	}
	if d.readyItems <= 0 {
		d.readyItems, d.readyBytes = 0, 0
	}
	return batch
}

// verdict is the fate of one item of a request.
type verdict struct {
	kind     Result // Delivered, DeadLettered (rejected), or 0 = retry
	status   string
	recordID string
	failure  *Failure
	retryErr *salesforce.Error
	released bool
}

func (d *Dispatcher) send(batch []*Item) {
	defer d.sends.Done()
	verdicts, hold := d.attempt(batch, true)
	d.settle(batch, verdicts, hold)
}

type holdSignal struct {
	reason string
	err    error
}

// attempt sends items and returns one verdict per item; on a whole-request
// 400 it bisects to isolate the bad items.
func (d *Dispatcher) attempt(items []*Item, top bool) ([]verdict, *holdSignal) {
	ctx, cancel := context.WithTimeout(d.reqCtx, d.cfg.RequestTimeout)
	defer cancel()
	events := make([]json.RawMessage, len(items))
	ids := make([]string, len(items))
	for i, it := range items {
		events[i], ids[i] = it.JSON, it.ID
	}
	batchID := ulid.Make().String()
	start := time.Now()
	res, err := d.cfg.Sender.Publish(ctx, batchID, events, ids)
	elapsed := time.Since(start)
	vs := make([]verdict, len(items))
	if err == nil {
		d.log.Debug("batch accepted", zap.String("batch_id", batchID), zap.Int("events", len(items)), zap.Duration("duration", elapsed))
		d.observe("ok", elapsed, len(items))
		d.usage(res.Usage)
		d.adapt(nil)
		d.mu.Lock()
		d.single400, d.single400N, d.schemaSig = "", 0, ""
		d.mu.Unlock()
		for i, r := range res.Results {
			switch r.Status {
			case "created", "duplicate":
				vs[i] = verdict{kind: Delivered, status: r.Status, recordID: r.ID}
			default:
				code, msg := "", "rejected by the package"
				if len(r.Errors) > 0 {
					code, msg = r.Errors[0].StatusCode, r.Errors[0].Message
				}
				if r.Transient() {
					vs[i] = verdict{retryErr: &salesforce.Error{Class: salesforce.ClassTransient, Op: "publish", HTTPStatus: res.HTTPStatus, Code: code, Message: msg}}
				} else {
					vs[i] = verdict{kind: DeadLettered, failure: &Failure{Class: "rejected", Reason: fmt.Sprintf("rejected by Salesforce: %s: %s", code, msg), ErrorCode: code, HTTPStatus: res.HTTPStatus}}
				}
			}
		}
		return vs, nil
	}
	class := salesforce.ClassOf(err)
	var se *salesforce.Error
	if !errors.As(err, &se) {
		se = &salesforce.Error{Class: class, Op: "publish", Message: err.Error()}
	}
	if d.reqCtx.Err() != nil {
		// Cancelled by our shutdown: let go.
		for i := range vs {
			vs[i] = verdict{released: true}
		}
		return vs, nil
	}
	if class == "" {
		// Our own RequestTimeout ran out (the client reports the caller's
		// deadline as no failure): a timeout, transient (salesforce.md §3).
		class = salesforce.ClassTransient
		se = &salesforce.Error{Class: class, Op: "publish", Message: "no response within " + d.cfg.RequestTimeout.String(), Err: err}
	}
	d.observe(string(class), elapsed, len(items))
	d.log.Warn("batch failed", zap.String("batch_id", batchID), zap.Int("events", len(items)), zap.String("class", string(class)),
		zap.Int("http_status", se.HTTPStatus), zap.String("error_code", se.Code), zap.Duration("duration", elapsed), zap.Error(err))
	switch class {
	case salesforce.ClassPermanent:
		if len(items) > 1 {
			mid := len(items) / 2
			left, h1 := d.attempt(items[:mid], false)
			if h1 != nil {
				return releasedAll(len(items)), h1
			}
			right, h2 := d.attempt(items[mid:], false)
			if h2 != nil {
				return releasedAll(len(items)), h2
			}
			vs = append(left, right...)
			if top && allSame400(vs) {
				d.mu.Lock()
				d.schemaSig = se.Code + "|" + se.Message
				d.mu.Unlock()
				return releasedAll(len(items)), &holdSignal{reason: "schema", err: err}
			}
			return vs, nil
		}
		// One event refused: a poison event, unless the package refuses
		// everything (the same error as the one the tenant was held for,
		// or three single events in a row with no success between).
		sig := se.Code + "|" + se.Message
		d.mu.Lock()
		if sig == d.single400 {
			d.single400N++
		} else {
			d.single400, d.single400N = sig, 1
		}
		schema := sig == d.schemaSig || d.single400N >= 3
		if top && schema {
			d.schemaSig = sig
		}
		d.mu.Unlock()
		if top && schema {
			return releasedAll(1), &holdSignal{reason: "schema", err: err}
		}
		vs[0] = verdict{kind: DeadLettered, failure: &Failure{Class: "rejected", Reason: "request rejected by Salesforce: " + se.Code + ": " + se.Message, ErrorCode: se.Code, HTTPStatus: se.HTTPStatus}}
		return vs, nil
	case salesforce.ClassTransient, salesforce.ClassThrottled:
		d.adapt(se)
		for i := range vs {
			vs[i] = verdict{retryErr: se}
		}
		return vs, nil
	default: // auth, limit, connector
		reason := se.Hold
		if reason == "" {
			reason = map[salesforce.Class]string{salesforce.ClassAuth: "auth", salesforce.ClassLimit: "limit"}[class]
			if reason == "" {
				reason = "endpoint"
			}
		}
		return releasedAll(len(items)), &holdSignal{reason: reason, err: err}
	}
}

func releasedAll(n int) []verdict {
	vs := make([]verdict, n)
	for i := range vs {
		vs[i] = verdict{released: true}
	}
	return vs
}

// allSame400 reports whether every item was rejected by a whole-request 400
// with the same error: the package no longer accepts our schema.
func allSame400(vs []verdict) bool {
	if len(vs) < 2 {
		return false
	}
	var sig string
	for i, v := range vs {
		if v.kind != DeadLettered || v.failure == nil || v.failure.HTTPStatus != 400 {
			return false
		}
		s := v.failure.ErrorCode + "|" + v.failure.Reason
		if i == 0 {
			sig = s
		} else if s != sig {
			return false
		}
	}
	return true
}

func (d *Dispatcher) observe(outcome string, dur time.Duration, n int) {
	if d.cfg.Observer.Request != nil {
		d.cfg.Observer.Request(outcome, dur, n)
	}
}

func (d *Dispatcher) usage(u salesforce.Usage) {
	if u.Max <= 0 {
		return
	}
	if d.cfg.Observer.Usage != nil {
		d.cfg.Observer.Usage(u.Used, u.Max)
	}
	slow := float64(u.Used)/float64(u.Max) >= d.cfg.LimitSlowdownRatio
	d.mu.Lock()
	if slow != d.slow {
		d.log.Warn("API usage slow-down", zap.Bool("slow", slow), zap.Int("api_used", u.Used), zap.Int("api_max", u.Max))
	}
	d.slow = slow
	d.mu.Unlock()
}

// adapt lowers batch size or concurrency on Salesforce's signals and brings
// them back gradually after successes (err == nil).
func (d *Dispatcher) adapt(err *salesforce.Error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	switch {
	case err == nil:
		d.okStreak++
		if d.batchMax < d.cfg.BatchMaxEvents {
			d.batchMax = min(d.cfg.BatchMaxEvents, d.batchMax+max(1, d.cfg.BatchMaxEvents/10))
		}
		if d.maxInFlight < d.cfg.MaxInFlight && d.okStreak >= 20 {
			d.maxInFlight++
			d.okStreak = 0
		}
	case err.Governor:
		d.okStreak = 0
		d.batchMax = max(1, d.batchMax/2)
		d.log.Warn("governor limit: halving batch size", zap.Int("batch_max_events", d.batchMax))
	case err.Class == salesforce.ClassThrottled:
		d.okStreak = 0
		d.maxInFlight = max(1, d.maxInFlight-1)
		d.log.Warn("concurrency limit: fewer requests in flight", zap.Int("max_in_flight", d.maxInFlight))
	default:
		d.okStreak = 0
	}
}

// settle applies the verdicts of one request.
func (d *Dispatcher) settle(batch []*Item, vs []verdict, hold *holdSignal) {
	// Count attempts and write dead letters before taking the lock: the
	// items are this goroutine's until settled.
	for i, it := range batch {
		v := &vs[i]
		if v.kind == 0 && !v.released && v.retryErr != nil {
			it.attempts++
			it.lastErr = v.retryErr
			if it.attempts >= d.cfg.MaxAttempts {
				e := v.retryErr
				v.kind = DeadLettered
				v.failure = &Failure{Class: "exhausted", Reason: fmt.Sprintf("gave up after %d transient failures; last: %s", it.attempts, oneLine(e)),
					ErrorCode: e.Code, HTTPStatus: e.HTTPStatus}
			}
		}
		if v.kind == DeadLettered {
			v.failure.Attempts = it.attempts
			if v.failure.Attempts == 0 {
				v.failure.Attempts = 1
			}
			if err := d.writeDeadLetter(it, *v.failure); err != nil {
				d.log.Error("dead-letter write failed; releasing the event for redelivery", zap.Uint64("stream_seq", it.Seq), zap.Error(err))
				v.kind, v.released = 0, true
			}
		}
	}
	if hold != nil {
		d.log.Warn("connector fault: holding tenant", zap.String("reason", hold.reason), zap.Error(hold.err))
	}
	d.mu.Lock()
	var rel []*Item
	newHold := false
	if hold != nil && d.held == "" {
		// Enter the hold, keeping everything until the caller has paused
		// the consumer and calls Hold to let go.
		d.held = hold.reason
		newHold = true
	}
	now := time.Now()
	type retry struct {
		l     *lane
		items []*Item
	}
	var retries []retry
	var outs []func()
	for i, it := range batch {
		v := vs[i]
		l := d.lanes[it.Key]
		l.inflight--
		switch {
		case v.kind == Delivered:
			delete(d.owned, it)
			o := Outcome{Result: Delivered, Status: v.status, RecordID: v.recordID}
			item := it
			outs = append(outs, func() {
				if d.cfg.Observer.Delivered != nil {
					d.cfg.Observer.Delivered(item, o.Status)
				}
				item.done <- o
			})
		case v.kind == DeadLettered:
			delete(d.owned, it)
			f := *v.failure
			item := it
			outs = append(outs, func() {
				if d.cfg.Observer.DeadLettered != nil {
					d.cfg.Observer.DeadLettered(item, f)
				}
				item.done <- Outcome{Result: DeadLettered, Failure: &f}
			})
		case (v.released && hold == nil) || d.releasing():
			delete(d.owned, it)
			rel = append(rel, it)
		default:
			if n := len(retries); n > 0 && retries[n-1].l == l {
				retries[n-1].items = append(retries[n-1].items, it)
			} else {
				retries = append(retries, retry{l: l, items: []*Item{it}})
			}
		}
	}
	for _, r := range retries {
		// Back at the head of the lane, in order, before later arrivals.
		r.l.pending = append(append([]*Item(nil), r.items...), r.l.pending...)
		worst, after := 0, time.Duration(0)
		for _, it := range r.items {
			worst = max(worst, it.attempts)
			if it.lastErr != nil {
				after = max(after, it.lastErr.RetryAfter)
			}
		}
		r.l.notBefore = now.Add(max(d.cfg.Backoff.Delay(worst), after))
	}
	for _, b := range batch {
		l := d.lanes[b.Key]
		if l == nil || l.inflight > 0 {
			continue
		}
		switch {
		case len(l.pending) == 0:
			delete(d.lanes, l.key)
			delete(d.waiting, l)
		case d.releasing():
			rel = append(rel, l.pending...)
			for _, it := range l.pending {
				delete(d.owned, it)
			}
			l.pending = nil
			delete(d.lanes, l.key)
			delete(d.waiting, l)
		case !l.queued && !d.inBackoff(l, now):
			d.enqueue(l, now)
		}
	}
	d.inFlight--
	release(rel) // under the lock: naks leave in stream order per key
	d.mu.Unlock()
	for _, f := range outs {
		f()
	}
	if newHold && d.cfg.OnHold != nil {
		d.cfg.OnHold(hold.reason, hold.err)
	}
	d.signal()
}

func (d *Dispatcher) writeDeadLetter(it *Item, f Failure) error {
	var err error
	for attempt := 1; attempt <= 3; attempt++ {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		err = d.cfg.DeadLetter(ctx, it, f)
		cancel()
		if err == nil {
			return nil
		}
		if attempt < 3 {
			time.Sleep(time.Duration(attempt) * 200 * time.Millisecond)
		}
	}
	return err
}

// releasePendingLocked removes the items of every idle lane for release.
// Lanes with a request in flight keep their items: they are released when
// the request settles, after the in-flight ones, so that naks (and
// JetStream's redeliveries) follow stream order per key.
func (d *Dispatcher) releasePendingLocked() []*Item {
	var rel []*Item
	for k, l := range d.lanes {
		l.queued = false
		if l.inflight > 0 {
			continue
		}
		rel = append(rel, l.pending...)
		for _, it := range l.pending {
			delete(d.owned, it)
		}
		l.pending = nil
		delete(d.lanes, k)
	}
	d.ready = nil
	d.readyItems, d.readyBytes = 0, 0
	clear(d.waiting)
	return rel
}

// release naks items in the given order, then reports them released. It
// runs under the dispatcher's lock so that naks of one key leave in order.
func release(items []*Item) {
	for _, it := range items {
		if it.Release != nil {
			_ = it.Release()
		}
	}
	for _, it := range items {
		it.done <- Outcome{Result: Released}
	}
}

func oneLine(e *salesforce.Error) string {
	s := e.Code
	if e.Message != "" {
		if s != "" {
			s += ": "
		}
		s += e.Message
	}
	if s == "" {
		s = e.Error()
	}
	if e.HTTPStatus != 0 {
		s = fmt.Sprintf("HTTP %d %s", e.HTTPStatus, s)
	}
	return s
}
