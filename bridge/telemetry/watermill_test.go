package telemetry_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/ThreeDotsLabs/watermill"
	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/ThreeDotsLabs/watermill/pubsub/gochannel"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"

	"github.com/gentrack/gcis-bridge/bridge/telemetry"
)

func observed(level zapcore.Level) (watermill.LoggerAdapter, *observer.ObservedLogs) {
	core, logs := observer.New(level)
	return telemetry.NewWatermillLogger(zap.New(core)), logs
}

func TestWatermillLogger_levels(t *testing.T) {
	tests := []struct {
		name      string
		log       func(w watermill.LoggerAdapter)
		wantLevel zapcore.Level
	}{
		{"error", func(w watermill.LoggerAdapter) { w.Error("Handler returned error", errors.New("boom"), nil) }, zapcore.ErrorLevel},
		{"info kept", func(w watermill.LoggerAdapter) { w.Info("Running router handlers", watermill.LogFields{"count": 3}) }, zapcore.InfoLevel},
		{"router closed kept", func(w watermill.LoggerAdapter) { w.Info("Router closed", nil) }, zapcore.InfoLevel},
		{"per handler demoted", func(w watermill.LoggerAdapter) { w.Info("Starting handler", nil) }, zapcore.DebugLevel},
		{"adding handler demoted", func(w watermill.LoggerAdapter) { w.Info("Adding handler", nil) }, zapcore.DebugLevel},
		{"subscriber stopped demoted", func(w watermill.LoggerAdapter) { w.Info("Subscriber stopped", nil) }, zapcore.DebugLevel},
		{"per message demoted", func(w watermill.LoggerAdapter) { w.Info("got msg", watermill.LogFields{"ID": "x"}) }, zapcore.DebugLevel},
		{"gochannel per message demoted", func(w watermill.LoggerAdapter) { w.Info("No subscribers to send message", nil) }, zapcore.DebugLevel},
		{"debug", func(w watermill.LoggerAdapter) { w.Debug("Subscribing to topic", nil) }, zapcore.DebugLevel},
		{"trace is debug", func(w watermill.LoggerAdapter) { w.Trace("Message acked", nil) }, zapcore.DebugLevel},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w, logs := observed(zapcore.DebugLevel)
			tt.log(w)
			require.Equal(t, 1, logs.Len())
			assert.Equal(t, tt.wantLevel, logs.All()[0].Level)

			quiet, qlogs := observed(zapcore.InfoLevel)
			tt.log(quiet)
			assert.Equal(t, tt.wantLevel >= zapcore.InfoLevel, qlogs.Len() == 1, "written at info only if not demoted")
		})
	}
}

func TestWatermillLogger_fields(t *testing.T) {
	w, logs := observed(zapcore.DebugLevel)
	w = w.With(watermill.LogFields{"handler_name": "gcis-sf-acme", "subscriberName": "s1"})
	w.Error("Handler returned error", errors.New("boom"), watermill.LogFields{
		"message_uuid": "u1", "ReceivedSubject": "gcis.events.acme.junifer.bill-accepted", "retryNum": 2, "ID": "m1",
	})
	w.Debug("no fields", nil)

	require.Equal(t, 2, logs.Len())
	e := logs.All()[0]
	assert.Equal(t, "Handler returned error", e.Message)
	assert.Equal(t, map[string]any{
		"handler_name":     "gcis-sf-acme",
		"subscriber_name":  "s1",
		"message_uuid":     "u1",
		"received_subject": "gcis.events.acme.junifer.bill-accepted",
		"retry_num":        int64(2),
		"id":               "m1",
		"error":            "boom",
	}, e.ContextMap())
	assert.Equal(t, map[string]any{"handler_name": "gcis-sf-acme", "subscriber_name": "s1"}, logs.All()[1].ContextMap())
}

func TestWatermillLogger_nil_logger_discards(t *testing.T) {
	w := telemetry.NewWatermillLogger(nil)
	w.With(watermill.LogFields{"a": 1}).Info("x", nil)
	w.Error("x", nil, nil)
}

// A real router: per message and per handler, nothing is logged at Info.
func TestWatermillLogger_real_router_logs_no_per_message_info(t *testing.T) {
	core, logs := observer.New(zapcore.DebugLevel)
	wl := telemetry.NewWatermillLogger(zap.New(core))

	pubsub := gochannel.NewGoChannel(gochannel.Config{}, wl)
	router, err := message.NewRouter(message.RouterConfig{CloseTimeout: 5 * time.Second}, wl)
	require.NoError(t, err)
	handled := make(chan string, 10)
	for _, tenant := range []string{"acme", "beta"} {
		router.AddConsumerHandler("gcis-sf-"+tenant, "events."+tenant, pubsub, func(msg *message.Message) error {
			handled <- string(msg.Payload)
			return nil
		})
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	runErr := make(chan error, 1)
	go func() { runErr <- router.Run(ctx) }()
	select {
	case <-router.Running():
	case <-time.After(10 * time.Second):
		t.Fatal("router did not start")
	}
	for i, tenant := range []string{"acme", "beta", "acme"} {
		require.NoError(t, pubsub.Publish("events."+tenant, message.NewMessage(watermill.NewUUID(), []byte{byte('0' + i)})))
	}
	for range 3 {
		select {
		case <-handled:
		case <-time.After(10 * time.Second):
			t.Fatal("message not handled")
		}
	}
	require.NoError(t, router.Close())
	require.NoError(t, <-runErr)
	require.NoError(t, pubsub.Close())

	var infos []string
	debugMessages := map[string]bool{}
	for _, e := range logs.All() {
		if e.Level >= zapcore.InfoLevel {
			infos = append(infos, e.Message)
		} else {
			debugMessages[e.Message] = true
		}
		for k := range e.ContextMap() {
			assert.Equal(t, telemetry.SnakeCase(k), k, "snake_case key")
		}
	}
	for _, m := range infos {
		assert.Contains(t, []string{
			"Running router handlers", "Waiting for messages", "All messages processed",
			"Closing router", "Router closed", "Pub/Sub closed",
		}, m, "only router lifecycle at info")
	}
	assert.True(t, debugMessages["Starting handler"], "per-handler log kept at debug")
	assert.True(t, debugMessages["Message acked"], "per-message trace kept at debug")
}

func TestSnakeCase(t *testing.T) {
	tests := []struct{ in, want string }{
		{"message_uuid", "message_uuid"},
		{"ReceivedSubject", "received_subject"},
		{"retryNum", "retry_num"},
		{"handlerName", "handler_name"},
		{"ID", "id"},
		{"Len", "len"},
		{"HTTPStatus", "http_status"},
		{"eventID", "event_id"},
		{"stream2Seq", "stream2_seq"},
		{"nats-msg id", "nats_msg_id"},
		{"already__double", "already_double"},
		{"trailing_", "trailing"},
		{"", ""},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			assert.Equal(t, tt.want, telemetry.SnakeCase(tt.in))
		})
	}
}
