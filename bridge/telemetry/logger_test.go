package telemetry_test

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/zap"

	"github.com/gentrack/gcis-bridge/bridge/telemetry"
)

// lines decodes JSON log lines.
func lines(t *testing.T, buf *bytes.Buffer) []map[string]any {
	t.Helper()
	var out []map[string]any
	for _, l := range strings.Split(strings.TrimSpace(buf.String()), "\n") {
		if l == "" {
			continue
		}
		var m map[string]any
		require.NoError(t, json.Unmarshal([]byte(l), &m), "line %q", l)
		out = append(out, m)
	}
	return out
}

func TestNewLogger_json_lines(t *testing.T) {
	var buf bytes.Buffer
	l, err := telemetry.NewLogger(telemetry.LogConfig{Output: &buf})
	require.NoError(t, err)
	l.Debug("not at info")
	l.Info("Batch delivered", zap.String("tenant", "acme"), zap.Uint64("stream_seq", 42), zap.Int("http_status", 200))
	require.NoError(t, l.Sync())

	got := lines(t, &buf)
	require.Len(t, got, 1, "debug is below the default info level")
	e := got[0]
	assert.Equal(t, "info", e["level"])
	assert.Equal(t, "Batch delivered", e["msg"])
	assert.Equal(t, "acme", e["tenant"])
	assert.InDelta(t, 42, e["stream_seq"], 0)
	assert.InDelta(t, 200, e["http_status"], 0)
	assert.Contains(t, e["caller"], "telemetry/logger_test.go:")
	ts, ok := e["time"].(string)
	require.True(t, ok)
	_, err = time.Parse("2006-01-02T15:04:05.000Z0700", ts)
	assert.NoError(t, err, "ISO 8601 time, got %q", ts)
}

func TestNewLogger_levels_and_formats(t *testing.T) {
	tests := []struct {
		name      string
		cfg       telemetry.LogConfig
		wantLines int
		check     func(t *testing.T, out string)
	}{
		{"debug logs everything", telemetry.LogConfig{Level: "debug"}, 4, nil},
		{"info", telemetry.LogConfig{Level: "info"}, 3, nil},
		{"warn", telemetry.LogConfig{Level: "warn"}, 2, nil},
		{"error", telemetry.LogConfig{Level: "error"}, 1, nil},
		{"console", telemetry.LogConfig{Level: "info", Format: "console"}, 3, func(t *testing.T, out string) {
			first := strings.Split(out, "\n")[0]
			assert.Contains(t, first, "\tinfo\t")
			assert.Contains(t, first, "\ti\t{\"tenant\": \"acme\"}")
			assert.False(t, strings.HasPrefix(first, "{"), "not JSON: %q", first)
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var buf bytes.Buffer
			tt.cfg.Output = &buf
			l, err := telemetry.NewLogger(tt.cfg)
			require.NoError(t, err)
			l.Debug("d", zap.String("tenant", "acme"))
			l.Info("i", zap.String("tenant", "acme"))
			l.Warn("w")
			l.Error("e")
			assert.Len(t, strings.Split(strings.TrimSpace(buf.String()), "\n"), tt.wantLines)
			if tt.check != nil {
				tt.check(t, buf.String())
			}
		})
	}
}

func TestNewLogger_rejects_bad_config(t *testing.T) {
	_, err := telemetry.NewLogger(telemetry.LogConfig{Level: "verbose"})
	require.EqualError(t, err, `invalid config: log level "verbose": must be debug, info, warn or error`)
	_, err = telemetry.NewLogger(telemetry.LogConfig{Format: "xml"})
	require.EqualError(t, err, `invalid config: log format "xml": must be json or console`)
}
