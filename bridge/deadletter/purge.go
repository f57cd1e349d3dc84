package deadletter

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"go.uber.org/zap"
)

// PurgeOptions tune [Store.Purge].
type PurgeOptions struct {
	// Confirm, when set, is called with the number of dead letters about
	// to be deleted, before any is; returning false aborts with
	// [ErrAborted]. Optional.
	Confirm func(total int) bool
	// Progress, when set, is called as dead letters are deleted one by one
	// (a purge by subject alone deletes them in one request and calls it
	// once). Optional.
	Progress func(done, total int)
	// Actor names who asked, for the audit log.
	Actor string
}

// PurgeResult counts what a purge did.
type PurgeResult struct {
	// Matched is the number of dead letters selected.
	Matched int `json:"matched"`
	// Purged were deleted.
	Purged int `json:"purged"`
	// Failed could not be deleted.
	Failed int `json:"failed"`
	// Errors holds the first [MaxErrors] failures.
	Errors []error `json:"-"`
}

// Purge deletes the dead letters matching f. A zero filter deletes every
// dead letter; callers must make sure that is meant (the CLI requires
// --all). A filter on tenant, source and type alone is one purge request
// on the subject filter; any other condition deletes the matching dead
// letters one by one while streaming. Dead letters stored after the purge
// started are never deleted. Every run is logged at info as an audit line.
func (s *Store) Purge(ctx context.Context, f Filter, o PurgeOptions) (res PurgeResult, err error) {
	start := time.Now()
	defer func() {
		fields := append(filterFields(f),
			zap.String("actor", o.Actor),
			zap.Int("matched", res.Matched),
			zap.Int("purged", res.Purged),
			zap.Int("failed", res.Failed),
			zap.Duration("duration", time.Since(start)))
		if err != nil {
			fields = append(fields, zap.Error(err))
		}
		s.log.Info("Dead-letter purge", fields...)
	}()
	if err := f.Validate(); err != nil {
		return res, err
	}
	st, err := s.stream(ctx)
	if err != nil {
		return res, err
	}
	if f.subjectOnly() {
		return s.purgeBySubject(ctx, st, f, o)
	}
	total := -1
	if o.Confirm != nil || o.Progress != nil {
		if total, err = s.Count(ctx, f); err != nil {
			return res, err
		}
		if o.Confirm != nil && !o.Confirm(total) {
			return res, ErrAborted
		}
	}
	var (
		mu   sync.Mutex // guards res and Progress
		wg   sync.WaitGroup
		todo = make(chan uint64, 256)
		done int
	)
	for range s.cfg.Deleters {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for seq := range todo {
				err := deleteMsg(ctx, st, seq)
				mu.Lock()
				switch {
				case err == nil:
					res.Purged++
				case ctx.Err() != nil:
					res.Matched-- // not attempted, as far as anyone can tell
				default:
					res.Failed++
					if len(res.Errors) < MaxErrors {
						res.Errors = append(res.Errors, &ReplayError{seq, err})
					}
				}
				done++
				if o.Progress != nil {
					o.Progress(done, max(total, done))
				}
				mu.Unlock()
			}
		}()
	}
	err = s.scan(ctx, f, true, func(d *DeadLetter) error {
		mu.Lock()
		res.Matched++
		mu.Unlock()
		select {
		case todo <- d.Sequence:
			return nil
		case <-ctx.Done():
			mu.Lock()
			res.Matched--
			mu.Unlock()
			return ctx.Err()
		}
	})
	close(todo)
	wg.Wait()
	return res, err
}

// purgeBySubject purges everything on f's subject filter up to the last
// sequence at the start, in one request.
func (s *Store) purgeBySubject(ctx context.Context, st jetstream.Stream, f Filter, o PurgeOptions) (PurgeResult, error) {
	var res PurgeResult
	subj := f.Subject(s.cfg.SubjectPrefix)
	all := subj == s.cfg.SubjectPrefix+".>"
	var infoOpts []jetstream.StreamInfoOpt
	if !all {
		infoOpts = append(infoOpts, jetstream.WithSubjectFilter(subj))
	}
	info, err := st.Info(ctx, infoOpts...)
	if err != nil {
		return res, err
	}
	n := info.State.Msgs
	if !all {
		n = 0
		for _, c := range info.State.Subjects {
			n += c
		}
	}
	res.Matched = int(n)
	if o.Confirm != nil && !o.Confirm(res.Matched) {
		return res, ErrAborted
	}
	if n == 0 {
		return res, nil
	}
	opts := []jetstream.StreamPurgeOpt{jetstream.WithPurgeSequence(info.State.LastSeq + 1)}
	if !all {
		opts = append(opts, jetstream.WithPurgeSubject(subj))
	}
	if err := st.Purge(ctx, opts...); err != nil {
		res.Failed = res.Matched
		res.Errors = []error{err}
		return res, fmt.Errorf("purge dead letters: %w", err)
	}
	res.Purged = res.Matched
	if o.Progress != nil {
		o.Progress(res.Purged, res.Purged)
	}
	return res, nil
}
