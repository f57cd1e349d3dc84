package salesforce

import (
	"errors"
	"sync/atomic"
	"time"

	"github.com/sony/gobreaker/v2"
)

// breaker is the client's circuit breaker: gobreaker's two-step breaker,
// counting only errors marked countable (502/503/504, timeouts, connection
// errors) as failures; every other error is excluded (neither success nor
// failure).
type breaker struct {
	cb       *gobreaker.TwoStepCircuitBreaker[*PublishResult]
	openFor  time.Duration
	openedAt atomic.Int64 // unix nanoseconds of the last change to open
}

// newBreaker builds a closed breaker from the client's configuration.
func (c *Client) newBreaker() *breaker {
	b := &breaker{openFor: c.cfg.Breaker.OpenFor}
	failures := c.cfg.Breaker.Failures
	b.cb = gobreaker.NewTwoStepCircuitBreaker[*PublishResult](gobreaker.Settings{
		Name:        c.cfg.ConnectorID,
		MaxRequests: 1,
		Timeout:     c.cfg.Breaker.OpenFor,
		ReadyToTrip: func(n gobreaker.Counts) bool { return n.ConsecutiveFailures >= failures },
		OnStateChange: func(_ string, from, to gobreaker.State) {
			if to == gobreaker.StateOpen {
				b.openedAt.Store(now().UnixNano())
			}
			if c.cfg.OnBreakerChange != nil {
				c.cfg.OnBreakerChange(from, to)
			}
		},
		IsSuccessful: func(err error) bool { return err == nil },
		IsExcluded:   func(err error) bool { return err != nil && !countsTowardBreaker(err) },
	})
	return b
}

// countsTowardBreaker reports whether err is a failure the breaker counts.
func countsTowardBreaker(err error) bool {
	var e *Error
	return errors.As(err, &e) && e.countable
}

func (b *breaker) state() gobreaker.State { return b.cb.State() }

// allow asks the breaker for a request. When it refuses, the error is an
// *Error of ClassConnector with Hold "breaker" and RetryAfter set to the
// time left until the breaker lets a trial request through.
func (b *breaker) allow(c *Client, op string) (func(error), error) {
	done, err := b.cb.Allow()
	if err == nil {
		return done, nil
	}
	msg := "circuit breaker is open"
	if errors.Is(err, gobreaker.ErrTooManyRequests) {
		msg = "circuit breaker is half-open and its trial request is in flight"
	}
	e := c.newError(ClassConnector, op, 0, "", msg, err)
	e.Hold = HoldBreaker
	if errors.Is(err, gobreaker.ErrOpenState) {
		if at := b.openedAt.Load(); at != 0 {
			if left := time.Unix(0, at).Add(b.openFor).Sub(now()); left > 0 {
				e.RetryAfter = left
			}
		}
	}
	return nil, e
}

// resetBreaker replaces a breaker that is not closed with a new, closed one
// (after a successful Probe proved the org reachable) and reports the
// change.
func (c *Client) resetBreaker() {
	old := c.breaker.Load()
	from := old.state()
	if from == gobreaker.StateClosed {
		return
	}
	if !c.breaker.CompareAndSwap(old, c.newBreaker()) {
		return // another reset won
	}
	if c.cfg.OnBreakerChange != nil {
		c.cfg.OnBreakerChange(from, gobreaker.StateClosed)
	}
}
