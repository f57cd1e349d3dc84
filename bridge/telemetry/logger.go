package telemetry

import (
	"fmt"
	"io"
	"os"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
)

// LogConfig configures [NewLogger]. The zero value logs JSON at info to
// stderr.
type LogConfig struct {
	// Level is debug, info, warn or error. Optional; default info.
	Level string
	// Format is json or console. Optional; default json.
	Format string
	// Output receives the log lines. Optional; default os.Stderr (stdout is
	// left to command output).
	Output io.Writer
}

func (c *LogConfig) setDefaults() {
	if c.Level == "" {
		c.Level = "info"
	}
	if c.Format == "" {
		c.Format = "json"
	}
	if c.Output == nil {
		c.Output = os.Stderr
	}
}

// Validate reports an unknown level or format.
func (c LogConfig) Validate() error {
	if _, err := parseLevel(c.Level); err != nil {
		return err
	}
	switch c.Format {
	case "", "json", "console":
		return nil
	}
	return fmt.Errorf("log format %q: must be json or console", c.Format)
}

func parseLevel(s string) (zapcore.Level, error) {
	switch s {
	case "debug":
		return zapcore.DebugLevel, nil
	case "", "info":
		return zapcore.InfoLevel, nil
	case "warn":
		return zapcore.WarnLevel, nil
	case "error":
		return zapcore.ErrorLevel, nil
	}
	return 0, fmt.Errorf("log level %q: must be debug, info, warn or error", s)
}

// NewLogger builds the process logger: one line per entry, JSON or
// console, ISO 8601 times, keys time, level, logger, caller, msg and
// stacktrace (the last at panic level only), and a [RedactCore] so that no
// secret is written by accident. Callers log with snake_case field keys
// (tenant, connector, event_id, subject, stream_seq, attempt, batch_id,
// http_status, error_code, class). Sync the logger before exit.
func NewLogger(cfg LogConfig) (*zap.Logger, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("invalid config: %w", err)
	}
	cfg.setDefaults()
	level, _ := parseLevel(cfg.Level)

	enc := zapcore.EncoderConfig{
		TimeKey:        "time",
		LevelKey:       "level",
		NameKey:        "logger",
		CallerKey:      "caller",
		FunctionKey:    zapcore.OmitKey,
		MessageKey:     "msg",
		StacktraceKey:  "stacktrace",
		LineEnding:     zapcore.DefaultLineEnding,
		EncodeLevel:    zapcore.LowercaseLevelEncoder,
		EncodeTime:     zapcore.ISO8601TimeEncoder,
		EncodeDuration: zapcore.StringDurationEncoder,
		EncodeCaller:   zapcore.ShortCallerEncoder,
		EncodeName:     zapcore.FullNameEncoder,
	}
	var encoder zapcore.Encoder
	if cfg.Format == "console" {
		encoder = zapcore.NewConsoleEncoder(enc)
	} else {
		encoder = zapcore.NewJSONEncoder(enc)
	}
	out := zapcore.Lock(zapcore.AddSync(cfg.Output))
	core := RedactCore(zapcore.NewCore(encoder, out, level))
	return zap.New(core,
		zap.AddCaller(),
		zap.AddStacktrace(zapcore.DPanicLevel),
		zap.ErrorOutput(out),
	), nil
}
