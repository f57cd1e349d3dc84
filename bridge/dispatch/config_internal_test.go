package dispatch

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gentrack/gcis-bridge/bridge/salesforce"
)

// nopSender satisfies Sender for configuration tests (it is never called).
type nopSender struct{}

func (nopSender) Publish(context.Context, string, []json.RawMessage, []string) (*salesforce.PublishResult, error) {
	panic("not called")
}

func nopDeadLetter(context.Context, *Item, Failure) error { return nil }

func TestConfigDefaults(t *testing.T) {
	var c Config
	c.setDefaults()
	assert.Equal(t, 200, c.BatchMaxEvents)
	assert.Equal(t, 2<<20, c.BatchMaxBytes)
	assert.Equal(t, 100*time.Millisecond, c.Linger)
	assert.Equal(t, 4, c.MaxInFlight)
	assert.Equal(t, 30*time.Second, c.RequestTimeout)
	assert.Equal(t, 10, c.MaxAttempts)
	assert.Equal(t, Backoff{Initial: time.Second, Max: 5 * time.Minute, Multiplier: 2}, c.Backoff)
	assert.Equal(t, 0.9, c.LimitSlowdownRatio)
	assert.Equal(t, time.Second, c.SlowInterval)
	assert.Equal(t, 1, c.KeyBatchMax)
	assert.Equal(t, 10*time.Second, c.TouchInterval)
	assert.NotNil(t, c.Logger)

	// Negative values are defaulted too; set values are kept.
	n := Config{BatchMaxEvents: -1, Linger: -time.Second, MaxInFlight: -2, Backoff: Backoff{Multiplier: 0.5}}
	n.setDefaults()
	assert.Equal(t, 200, n.BatchMaxEvents)
	assert.Equal(t, 100*time.Millisecond, n.Linger)
	assert.Equal(t, 4, n.MaxInFlight)
	assert.Equal(t, 2.0, n.Backoff.Multiplier, "a multiplier below 1 would shrink the delay")

	k := Config{BatchMaxEvents: 17, BatchMaxBytes: 1000, Linger: time.Minute, MaxInFlight: 9, RequestTimeout: time.Second,
		MaxAttempts: 3, Backoff: Backoff{Initial: 5, Max: 6, Multiplier: 1.5, Jitter: 0.1}, LimitSlowdownRatio: 0.5,
		SlowInterval: time.Minute, KeyBatchMax: 3, TouchInterval: time.Hour}
	want := k
	k.setDefaults()
	k.Logger = nil
	assert.Equal(t, want, k)
}

func TestConfigValidate(t *testing.T) {
	valid := func() Config { return Config{ConnectorID: "acme-prod", Sender: nopSender{}, DeadLetter: nopDeadLetter} }
	tests := []struct {
		name string
		edit func(*Config)
		want string // "" = valid
	}{
		{"valid", func(*Config) {}, ""},
		{"max batch", func(c *Config) { c.BatchMaxEvents = 200 }, ""},
		{"no sender", func(c *Config) { c.Sender = nil }, "Sender is required"},
		{"no dead letter", func(c *Config) { c.DeadLetter = nil }, "DeadLetter is required"},
		{"batch over 200", func(c *Config) { c.BatchMaxEvents = 201 }, "at most 200"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := valid()
			tc.edit(&c)
			err := c.Validate()
			d, nerr := New(c)
			if tc.want == "" {
				require.NoError(t, err)
				require.NoError(t, nerr)
				d.Drain(context.Background())
				return
			}
			require.Error(t, err)
			assert.Contains(t, err.Error(), tc.want)
			require.Error(t, nerr)
			assert.Nil(t, d)
		})
	}

	// Every problem at once.
	err := (&Config{BatchMaxEvents: 500}).Validate()
	require.Error(t, err)
	for _, want := range []string{"Sender", "DeadLetter", "200"} {
		assert.Contains(t, err.Error(), want)
	}
}

// Config documents ConnectorID as required ("Required: ConnectorID"), but
// Validate accepts a config without it.
func TestConfigValidateRequiresConnectorID(t *testing.T) {
	c := Config{Sender: nopSender{}, DeadLetter: nopDeadLetter}
	assert.Error(t, c.Validate(), "ConnectorID is documented as required")
}

// New applies the defaults: the effective limits start at the configured
// values.
func TestNewStats(t *testing.T) {
	d, err := New(Config{ConnectorID: "c", Sender: nopSender{}, DeadLetter: nopDeadLetter})
	require.NoError(t, err)
	defer d.Drain(context.Background())
	assert.Equal(t, Stats{MaxInFlight: 4, BatchMax: 200}, d.Stats())
	assert.Empty(t, d.Held())
}

func TestBackoffDelay(t *testing.T) {
	b := Backoff{Initial: time.Second, Max: 10 * time.Second, Multiplier: 2}
	tests := []struct {
		attempt int
		want    time.Duration
	}{
		{-3, time.Second},
		{0, time.Second},
		{1, time.Second},
		{2, 2 * time.Second},
		{3, 4 * time.Second},
		{4, 8 * time.Second},
		{5, 10 * time.Second}, // 16s capped
		{60, 10 * time.Second},
		{100000, 10 * time.Second}, // +Inf capped
	}
	for _, tc := range tests {
		assert.Equal(t, tc.want, b.Delay(tc.attempt), "attempt %d", tc.attempt)
	}

	// Jitter spreads each delay within ±Jitter of the base.
	b.Jitter = 0.2
	for _, tc := range tests {
		lo := time.Duration(float64(tc.want) * 0.8)
		hi := time.Duration(float64(tc.want) * 1.2)
		below, above := false, false
		for range 200 {
			d := b.Delay(tc.attempt)
			require.GreaterOrEqual(t, d, lo, "attempt %d", tc.attempt)
			require.LessOrEqual(t, d, hi, "attempt %d", tc.attempt)
			below = below || d < tc.want
			above = above || d > tc.want
		}
		if tc.want < b.Max {
			assert.True(t, below && above, "attempt %d: no spread", tc.attempt)
		} else {
			// At the cap, whether jitter may exceed Max is left open; it
			// must still spread the retries.
			assert.True(t, below, "attempt %d: no spread", tc.attempt)
		}
	}
}

func TestResultString(t *testing.T) {
	for r, want := range map[Result]string{Delivered: "delivered", DeadLettered: "dead_lettered", Released: "released", 0: "unknown"} {
		assert.Equal(t, want, r.String())
	}
}
