package deadletter

import (
	"context"
	"errors"
	"fmt"
	"math"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"go.uber.org/zap"
	"golang.org/x/sync/semaphore"
	"golang.org/x/time/rate"
)

// ErrAborted is returned by [Store.Replay] and [Store.Purge] when the
// Confirm callback declined.
var ErrAborted = errors.New("aborted: not confirmed")

// MaxErrors is how many individual errors a [ReplayResult] or
// [PurgeResult] keeps; the counts are always complete.
const MaxErrors = 100

// Replay tuning.
const (
	replayWindow = 256              // publishes awaiting their ack
	ackTimeout   = 10 * time.Second // wait for one publish ack
	drainGrace   = 5 * time.Second  // after cancellation, finishing in-flight replays
)

// ReplayOptions tune [Store.Replay].
type ReplayOptions struct {
	// DryRun matches and reports (Each, Progress) without publishing or
	// deleting anything.
	DryRun bool
	// Rate is the most dead letters replayed per second; 0 is unlimited.
	Rate float64
	// Limit is the most dead letters replayed; 0 is no limit. The smaller
	// of Limit and the filter's Limit applies.
	Limit int
	// Confirm, when set, is called with the number of dead letters about
	// to be replayed, before any is; returning false aborts with
	// [ErrAborted]. Optional.
	Confirm func(total int) bool
	// Progress, when set, is called after each dead letter is handled
	// with the count so far and the total counted before starting.
	// Optional.
	Progress func(done, total int)
	// Each, when set, is called for every dead letter handled: err is nil
	// when it was replayed (or, in a dry run, would be). Optional.
	Each func(d *DeadLetter, err error)
	// Actor names who asked (OS user, API caller) for the audit log.
	Actor string
}

// ReplayResult counts what a replay did.
type ReplayResult struct {
	// Matched is the number of dead letters selected for replay.
	Matched int `json:"matched"`
	// Replayed were published, acknowledged and removed from the DLQ.
	Replayed int `json:"replayed"`
	// Duplicates is the part of Replayed that JetStream recognised as
	// already published (a re-run after an interrupted replay).
	Duplicates int `json:"duplicates"`
	// Failed were not replayed, or replayed but not removed; they stay in
	// the DLQ and a re-run is safe.
	Failed int `json:"failed"`
	// Skipped matched the filter but are of class invalid or unsupported,
	// which are replayed only when the filter names them.
	Skipped int `json:"skipped"`
	// Errors holds the first [MaxErrors] failures.
	Errors []error `json:"-"`
}

func (r *ReplayResult) addError(err error) {
	r.Failed++
	if len(r.Errors) < MaxErrors {
		r.Errors = append(r.Errors, err)
	}
}

// ReplayError is the error of one dead letter in a replay or purge.
type ReplayError struct {
	Sequence uint64
	Err      error
}

// Error implements error.
func (e *ReplayError) Error() string { return fmt.Sprintf("dead letter %d: %v", e.Sequence, e.Err) }

// Unwrap returns the cause.
func (e *ReplayError) Unwrap() error { return e.Err }

// errCrashed ends a replay when the test hook simulates a crash.
var errCrashed = errors.New("simulated crash")

// Replay republishes the dead letters matching f to their original
// subjects (contract README §4) and removes each one only after JetStream
// acknowledged its publish. Dead letters of class invalid and unsupported
// are replayed only when f.Class names them (otherwise they are counted in
// Skipped). The stream is streamed through: memory stays bounded, with at
// most a window of publishes awaiting their ack.
//
// Cancelling ctx stops new publishes; replays already published are still
// acknowledged and removed for a short grace period. A replay interrupted
// at any point (even by a crash between publish and removal) can be run
// again: each replay carries the same Nats-Msg-Id on every run, so the
// events stream deduplicates it within its duplicate window.
//
// The error is non-nil when the replay could not run or was cut short;
// per-dead-letter failures are counted in the result, not returned. Each
// and Progress are called one at a time, in no guaranteed sequence order
// (removals run concurrently). Every run is
// logged at info as an audit line.
func (s *Store) Replay(ctx context.Context, f Filter, o ReplayOptions) (res ReplayResult, err error) {
	start := time.Now()
	defer func() { s.auditReplay(f, o, res, err, time.Since(start)) }()
	if err := f.Validate(); err != nil {
		return res, err
	}
	if o.Rate < 0 || math.IsNaN(o.Rate) || math.IsInf(o.Rate, 0) {
		return res, &FieldError{"rate", fmt.Errorf("%v is not a rate", o.Rate)}
	}
	if o.Limit < 0 {
		return res, &FieldError{"limit", errors.New("must not be negative")}
	}
	limit := f.Limit
	if o.Limit > 0 && (limit == 0 || o.Limit < limit) {
		limit = o.Limit
	}
	scanF := f
	scanF.Limit = 0
	// selectFn decides for each matching dead letter: replay it, skip it
	// (class), or stop (limit reached).
	selectFn := func(count *int, skipped *int, d *DeadLetter) (bool, error) {
		if len(f.Class) == 0 && !d.Class.ReplayedByDefault() {
			*skipped++
			return false, nil
		}
		if limit > 0 && *count >= limit {
			return false, ErrStopped
		}
		*count++
		return true, nil
	}

	total := -1
	if o.Confirm != nil || o.Progress != nil {
		n, skipped := 0, 0
		err := s.scan(ctx, scanF, true, func(d *DeadLetter) error {
			_, err := selectFn(&n, &skipped, d)
			return err
		})
		if err != nil && !errors.Is(err, ErrStopped) {
			return res, err
		}
		total = n
		if o.Confirm != nil && !o.Confirm(total) {
			return res, ErrAborted
		}
	}
	if o.DryRun {
		err := s.scan(ctx, scanF, false, func(d *DeadLetter) error {
			ok, err := selectFn(&res.Matched, &res.Skipped, d)
			if ok {
				if o.Each != nil {
					o.Each(d, nil)
				}
				if o.Progress != nil {
					o.Progress(res.Matched, max(total, res.Matched))
				}
			}
			return err
		})
		if errors.Is(err, ErrStopped) {
			err = nil
		}
		return res, err
	}
	return s.replay(ctx, scanF, o, total, selectFn)
}

// inflight is one replay between publish and removal.
type inflight struct {
	d         *DeadLetter
	fut       jetstream.PubAckFuture
	err       error // publish could not start, or failed
	size      int64 // bytes held in the window semaphore
	duplicate bool  // the ack said JetStream already had it
}

func (s *Store) replay(ctx context.Context, f Filter, o ReplayOptions, total int,
	selectFn func(count, skipped *int, d *DeadLetter) (bool, error)) (ReplayResult, error) {
	st, err := s.stream(ctx)
	if err != nil {
		return ReplayResult{}, err
	}
	// runCtx stops the producer (cancelled ctx or simulated crash); the
	// completer works on under drainCtx, which outlives ctx by drainGrace
	// so published replays still get removed.
	runCtx, stopRun := context.WithCancel(ctx)
	defer stopRun()
	drainCtx, stopDrain := context.WithCancel(context.WithoutCancel(ctx))
	defer stopDrain()
	stopAfter := context.AfterFunc(ctx, func() { time.AfterFunc(drainGrace, stopDrain) })
	defer stopAfter()

	var limiter *rate.Limiter
	if o.Rate > 0 {
		limiter = rate.NewLimiter(rate.Limit(o.Rate), max(1, int(o.Rate/20)))
	}
	maxBytes := int64(s.bufferBytes())
	sem := semaphore.NewWeighted(maxBytes)
	pending := make(chan inflight, replayWindow) // published, awaiting the ack
	acked := make(chan inflight, replayWindow)   // acknowledged, to delete

	var (
		mu      sync.Mutex // guards res, done and the callbacks
		res     ReplayResult
		done    int
		crashed atomic.Bool
		wg      sync.WaitGroup
	)
	// finish records the outcome of one dead letter.
	finish := func(p inflight, err error) {
		sem.Release(p.size)
		mu.Lock()
		defer mu.Unlock()
		if err != nil {
			res.addError(&ReplayError{p.d.Sequence, err})
		} else {
			res.Replayed++
			if p.duplicate {
				res.Duplicates++
			}
		}
		done++
		if o.Each != nil {
			o.Each(p.d, err)
		}
		if o.Progress != nil {
			o.Progress(done, max(total, done))
		}
	}
	// The ack waiter takes publishes in order and passes acknowledged ones
	// to the deleters.
	wg.Add(1)
	go func() {
		defer wg.Done()
		defer close(acked)
		for p := range pending {
			if crashed.Load() {
				sem.Release(p.size)
				continue
			}
			if p.err == nil {
				var ack *jetstream.PubAck
				if ack, p.err = awaitAck(drainCtx, p.fut); p.err == nil {
					p.duplicate = ack.Duplicate
				}
			}
			if p.err == nil && s.afterPublish != nil && !s.afterPublish(p.d.Sequence) {
				crashed.Store(true)
				stopRun()
				sem.Release(p.size)
				continue
			}
			if p.err != nil {
				finish(p, p.err)
				continue
			}
			acked <- p
		}
	}()
	// Deleters remove acknowledged dead letters concurrently: each deletion
	// is a round trip, the bottleneck of a sequential replay.
	for range s.cfg.Deleters {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for p := range acked {
				err := deleteMsg(drainCtx, st, p.d.Sequence)
				if err != nil {
					err = fmt.Errorf("replayed (Nats-Msg-Id %s) but not removed, re-run to remove: %w", p.d.ReplayMsgID(), err)
				}
				finish(p, err)
			}
		}()
	}

	opts := []jetstream.PublishOpt{}
	if s.cfg.EventsStream != "" {
		opts = append(opts, jetstream.WithExpectStream(s.cfg.EventsStream))
	}
	scanErr := s.scan(runCtx, f, false, func(d *DeadLetter) error {
		mu.Lock()
		ok, err := selectFn(&res.Matched, &res.Skipped, d)
		mu.Unlock()
		if !ok {
			return err
		}
		if limiter != nil {
			if err := limiter.Wait(runCtx); err != nil {
				mu.Lock()
				res.Matched-- // not attempted
				mu.Unlock()
				return err
			}
		}
		msg := d.ReplayMessage()
		if msg == nil {
			pending <- inflight{d: d, err: errors.New("no " + HeaderOriginalSubject + " header")}
			return nil
		}
		size := min(int64(len(d.Data)+256), maxBytes)
		if err := sem.Acquire(runCtx, size); err != nil {
			mu.Lock()
			res.Matched--
			mu.Unlock()
			return err
		}
		popts := opts
		if s.cfg.EventsStream == "" && d.OriginalStream != "" {
			popts = append(popts[:len(popts):len(popts)], jetstream.WithExpectStream(d.OriginalStream))
		}
		fut, err := s.js.PublishMsgAsync(msg, popts...)
		pending <- inflight{d: d, fut: fut, err: err, size: size}
		return nil
	})
	close(pending)
	wg.Wait()
	if errors.Is(scanErr, ErrStopped) {
		scanErr = nil
	}
	if crashed.Load() {
		scanErr = errCrashed
	}
	return res, scanErr
}

// awaitAck waits for the publish acknowledgement of fut.
func awaitAck(ctx context.Context, fut jetstream.PubAckFuture) (*jetstream.PubAck, error) {
	t := time.NewTimer(ackTimeout)
	defer t.Stop()
	select {
	case ack := <-fut.Ok():
		return ack, nil
	case err := <-fut.Err():
		return nil, fmt.Errorf("publish: %w", err)
	case <-t.C:
		return nil, fmt.Errorf("publish: no acknowledgement in %s", ackTimeout)
	case <-ctx.Done():
		return nil, fmt.Errorf("publish: %w", ctx.Err())
	}
}

// deleteMsg removes seq; a message already gone counts as removed.
func deleteMsg(ctx context.Context, st jetstream.Stream, seq uint64) error {
	dctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	err := st.DeleteMsg(dctx, seq)
	if errors.Is(err, jetstream.ErrMsgNotFound) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("delete: %w", err)
	}
	return nil
}

func (s *Store) auditReplay(f Filter, o ReplayOptions, res ReplayResult, err error, took time.Duration) {
	fields := append(filterFields(f),
		zap.String("actor", o.Actor),
		zap.Bool("dry_run", o.DryRun),
		zap.Float64("rate", o.Rate),
		zap.Int("limit", o.Limit),
		zap.Int("matched", res.Matched),
		zap.Int("replayed", res.Replayed),
		zap.Int("duplicates", res.Duplicates),
		zap.Int("failed", res.Failed),
		zap.Int("skipped", res.Skipped),
		zap.Duration("duration", took),
	)
	if err != nil {
		fields = append(fields, zap.Error(err))
	}
	s.log.Info("Dead-letter replay", fields...)
}

// filterFields describes f for the audit log.
func filterFields(f Filter) []zap.Field {
	classes := make([]string, len(f.Class))
	for i, c := range f.Class {
		classes[i] = string(c)
	}
	fields := []zap.Field{
		zap.String("filter_tenant", f.Tenant),
		zap.String("filter_source", f.Source),
		zap.String("filter_type", f.EventType),
		zap.Strings("filter_class", classes),
		zap.String("filter_error_code", f.ErrorCode),
		zap.Uint64("filter_seq_from", f.SeqFrom),
		zap.Uint64("filter_seq_to", f.SeqTo),
		zap.Int("filter_limit", f.Limit),
	}
	if !f.Since.IsZero() {
		fields = append(fields, zap.Time("filter_since", f.Since))
	}
	if !f.Until.IsZero() {
		fields = append(fields, zap.Time("filter_until", f.Until))
	}
	return fields
}
