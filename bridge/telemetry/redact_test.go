package telemetry_test

import (
	"bytes"
	"errors"
	"fmt"
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"

	"github.com/gentrack/gcis-bridge/bridge/telemetry"
)

const secret = "S3cr3tV4lue9x" // what must never be written

type stringer string

func (s stringer) String() string { return string(s) }

type sfRequest struct {
	ClientID     string `json:"client_id"`
	ClientSecret string `json:"client_secret"`
	Note         string `json:"note"`
}

func TestRedactCore_removes_secrets_from_every_field_kind(t *testing.T) {
	sfToken := "00D5g000004SSSS!AQ4AQ" + secret
	jwt := "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0." + secret
	tests := []struct {
		name string
		log  func(l *zap.Logger)
		keep []string // text that must survive
	}{
		{"sensitive key string", func(l *zap.Logger) { l.Info("m", zap.String("consumer_secret", secret)) }, []string{`"consumer_secret":"[redacted]"`}},
		{"client_secret", func(l *zap.Logger) { l.Info("m", zap.String("client_secret", secret)) }, nil},
		{"access_token", func(l *zap.Logger) { l.Info("m", zap.String("access_token", secret)) }, nil},
		{"password", func(l *zap.Logger) { l.Info("m", zap.String("password", secret)) }, nil},
		{"token", func(l *zap.Logger) { l.Info("m", zap.String("token", secret)) }, nil},
		{"Authorization header", func(l *zap.Logger) { l.Info("m", zap.String("Authorization", "Bearer "+secret)) }, nil},
		{"apikey header", func(l *zap.Logger) { l.Info("m", zap.String("X-Junifer-X-apikey", secret)) }, nil},
		{"api_key", func(l *zap.Logger) { l.Info("m", zap.String("api_key", secret)) }, nil},
		{"sensitive key any type", func(l *zap.Logger) { l.Info("m", zap.Int("token", 123456789)) }, []string{`"token":"[redacted]"`}},
		{"sensitive key binary", func(l *zap.Logger) { l.Info("m", zap.Binary("secret_key", []byte(secret))) }, nil},
		{"bearer in value", func(l *zap.Logger) { l.Info("m", zap.String("header", "Bearer "+secret)) }, []string{`"header":"Bearer [redacted]"`}},
		{"form body", func(l *zap.Logger) {
			l.Info("m", zap.String("body", "grant_type=client_credentials&client_id=3MVG9abc&client_secret="+secret))
		}, []string{"grant_type=client_credentials&client_id=3MVG9abc&client_secret=[redacted]"}},
		{"json body", func(l *zap.Logger) {
			l.Info("m", zap.String("body", `{"access_token":"`+sfToken+`","instance_url":"https://acme.my.salesforce.com"}`))
		}, []string{"instance_url", "https://acme.my.salesforce.com"}},
		{"url password", func(l *zap.Logger) { l.Info("m", zap.String("url", "nats://bridge:"+secret+"@nats:4222")) }, []string{"nats://bridge:[redacted]@nats:4222"}},
		{"jwt", func(l *zap.Logger) { l.Info("m", zap.String("note", "issued "+jwt)) }, []string{"issued [redacted]"}},
		{"salesforce session id", func(l *zap.Logger) { l.Info("m", zap.String("note", "using "+sfToken+" now")) }, []string{"using [redacted] now"}},
		{"byte string", func(l *zap.Logger) { l.Info("m", zap.ByteString("raw", []byte("access_token="+secret))) }, []string{"access_token=[redacted]"}},
		{"message", func(l *zap.Logger) { l.Info("calling with Authorization: Bearer " + secret) }, []string{"calling with Authorization: [redacted]"}},
		{"error", func(l *zap.Logger) {
			l.Error("m", zap.Error(fmt.Errorf("post event: %w", errors.New(`401 {"message":"Session expired","access_token":"`+secret+`"}`))))
		}, []string{"post event: 401", "Session expired"}},
		{"nested error chain", func(l *zap.Logger) {
			inner := fmt.Errorf("request with Bearer %s failed", secret)
			l.Warn("m", zap.NamedError("cause", fmt.Errorf("deliver: %w", errors.Join(inner, errors.New("retrying")))))
		}, []string{"deliver: request with Bearer [redacted] failed", "retrying"}},
		{"stringer", func(l *zap.Logger) { l.Info("m", zap.Stringer("req", stringer("POST /token client_secret="+secret))) }, []string{"POST /token client_secret=[redacted]"}},
		{"http header map", func(l *zap.Logger) {
			l.Info("m", zap.Any("headers", http.Header{"Authorization": {"Bearer " + secret}, "Accept": {"application/json"}}))
		}, []string{"application/json", `"Authorization":"[redacted]"`}},
		{"struct", func(l *zap.Logger) {
			l.Info("m", zap.Any("req", sfRequest{ClientID: "3MVG9abc", ClientSecret: secret, Note: "apikey=" + secret}))
		}, []string{"3MVG9abc", `"client_secret":"[redacted]"`}},
		{"object marshaler", func(l *zap.Logger) {
			l.Info("m", zap.Object("req", zapcore.ObjectMarshalerFunc(func(enc zapcore.ObjectEncoder) error {
				enc.AddString("password", secret)
				enc.AddString("note", "Bearer "+secret)
				enc.AddInt("attempt", 3)
				return enc.AddObject("inner", zapcore.ObjectMarshalerFunc(func(enc zapcore.ObjectEncoder) error {
					enc.AddString("client_secret", secret)
					return enc.AddReflected("m", map[string]string{"token": secret})
				}))
			})))
		}, []string{`"attempt":3`, `"note":"Bearer [redacted]"`}},
		{"array marshaler", func(l *zap.Logger) {
			l.Info("m", zap.Array("list", zapcore.ArrayMarshalerFunc(func(enc zapcore.ArrayEncoder) error {
				enc.AppendString("Bearer " + secret)
				enc.AppendString("plain")
				return enc.AppendObject(zapcore.ObjectMarshalerFunc(func(enc zapcore.ObjectEncoder) error {
					enc.AddString("token", secret)
					return nil
				}))
			})))
		}, []string{"plain"}},
		{"strings", func(l *zap.Logger) { l.Info("m", zap.Strings("args", []string{"--token=" + secret})) }, []string{"--token=[redacted]"}},
		{"inline", func(l *zap.Logger) {
			l.Info("m", zap.Inline(zapcore.ObjectMarshalerFunc(func(enc zapcore.ObjectEncoder) error {
				enc.AddString("consumer_secret", secret)
				return nil
			})))
		}, nil},
		{"with", func(l *zap.Logger) {
			l.With(zap.String("consumer_secret", secret), zap.String("tenant", "acme")).Info("m", zap.String("ok", "yes"))
		}, []string{`"tenant":"acme"`, `"ok":"yes"`}},
		{"with error", func(l *zap.Logger) {
			l.With(zap.Error(errors.New("client_secret=" + secret))).Info("m")
		}, []string{"client_secret=[redacted]"}},
		{"named logger with", func(l *zap.Logger) {
			l.Named("sf").With(zap.String("authorization", "Basic "+secret)).Info("m")
		}, []string{`"logger":"sf"`}},
		{"sugar w", func(l *zap.Logger) { l.Sugar().Infow("m", "password", secret, "tenant", "acme") }, []string{`"tenant":"acme"`}},
		{"sugar f", func(l *zap.Logger) { l.Sugar().Infof("got access_token=%s", secret) }, []string{"got access_token=[redacted]"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var buf bytes.Buffer
			l, err := telemetry.NewLogger(telemetry.LogConfig{Output: &buf, Level: "debug"})
			require.NoError(t, err)
			tt.log(l)
			out := buf.String()
			require.NotEmpty(t, out)
			assert.NotContains(t, out, secret)
			assert.Contains(t, out, telemetry.Redacted)
			for _, k := range tt.keep {
				assert.Contains(t, out, k)
			}
			assert.NotContains(t, out, "errorVerbose", "keys stay snake_case")
		})
	}
}

func TestRedactCore_console_format(t *testing.T) {
	var buf bytes.Buffer
	l, err := telemetry.NewLogger(telemetry.LogConfig{Output: &buf, Format: "console"})
	require.NoError(t, err)
	l.With(zap.String("token", secret)).Warn("token=" + secret)
	assert.NotContains(t, buf.String(), secret)
	assert.Contains(t, buf.String(), "token=[redacted]")
}

func TestScrub(t *testing.T) {
	tests := []struct{ in, want string }{
		{"plain text stays", "plain text stays"},
		{"Authorization: Bearer abc.def-ghi", "Authorization: [redacted]"},
		{"authorization=Basic dXNlcjpwYXNz", "authorization=[redacted]"},
		{`{"Authorization":"Bearer xyz123"}`, `{"Authorization":"[redacted]"}`},
		{"map[Authorization:[Bearer xyz123] Accept:[*/*]]", "map[Authorization:[redacted] [redacted]] Accept:[*/*]]"},
		{"header bearer xyz123 sent", "header bearer [redacted] sent"},
		{"a=1&client_secret=abc&b=2", "a=1&client_secret=[redacted]&b=2"},
		{"access_token=abc refresh_token=def", "access_token=[redacted] refresh_token=[redacted]"},
		{`{"access_token": "abc", "token_type": "Bearer"}`, `{"access_token": "[redacted]", "token_type": "[redacted]"}`},
		{`body "{\"access_token\":\"abc\",\"x\":1}"`, `body "{\"access_token\":\"[redacted]\",\"x\":1}"`},
		{`{"consumer_secret":"abc","id":"acme"}`, `{"consumer_secret":"[redacted]","id":"acme"}`},
		{"https://user:pw@example.com/x", "https://user:[redacted]@example.com/x"},
		{"https://example.com/x?a=b", "https://example.com/x?a=b"},
		{"X-Api-Key=k1 X-Other=v", "X-Api-Key=[redacted] X-Other=v"},
		{`{"client_secret": "with spaces inside", "n": 1}`, `{"client_secret": "[redacted]", "n": 1}`},
		{`password="two words" user=bob`, `password="[redacted]" user=bob`},
		{`cfg api_key=k1;private_key=k2 session_id=k3 Cookie=k4`, `cfg api_key=[redacted];private_key=[redacted] session_id=[redacted] Cookie=[redacted]`},
		{`token=`, `token=`},
		{`"token":`, `"token":`},
		{`"token": 12`, `"token": 12`},
		{`a==token=x`, `a==token=[redacted]`},
		// Not secrets: kept.
		{"fetch token: invalid_client: client identifier invalid", "fetch token: invalid_client: client identifier invalid"},
		{"Salesforce Basic Information", "Salesforce Basic Information"},
		{"INVALID_SESSION_ID: Session expired or invalid", "INVALID_SESSION_ID: Session expired or invalid"},
		{"event 00D is fine", "event 00D is fine"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			assert.Equal(t, tt.want, telemetry.Scrub(tt.in))
			assert.Equal(t, tt.want, telemetry.Scrub(telemetry.Scrub(tt.in)), "idempotent")
		})
	}
}

func TestIsSensitiveKey(t *testing.T) {
	for _, k := range []string{
		"secret", "consumer_secret", "client_secret", "ClientSecret", "password", "db.password", "passwd",
		"token", "access_token", "refresh_token", "id_token", "Authorization", "authorization", "Proxy-Authorization",
		"apikey", "api_key", "X-Api-Key", "X-Junifer-X-apikey", "Cookie", "Set-Cookie", "private_key", "session_id",
		"a_very_long_key_name_that_goes_on_and_on_and_on_and_on_to_hold_a_secret_at_the_end",
	} {
		assert.True(t, telemetry.IsSensitiveKey(k), k)
	}
	for _, k := range []string{
		"tenant", "connector", "event_id", "subject", "stream_seq", "attempt", "batch_id", "http_status",
		"error_code", "class", "error", "msg", "consumer_key", "client_id", "instance_url", "session", "key",
		"a_very_long_key_name_that_goes_on_and_on_and_on_and_on_without_anything_at_the_end",
	} {
		assert.False(t, telemetry.IsSensitiveKey(k), k)
	}
}

func BenchmarkScrub(b *testing.B) {
	cases := map[string]string{
		"clean": "Batch delivered to acme-energy in 123ms with 200 events",
		"dirty": `POST /services/oauth2/token grant_type=client_credentials&client_id=abc&client_secret=def -> {"access_token":"00D5g000004SSSS!AQ4AQxyz"}`,
	}
	for name, s := range cases {
		b.Run(name, func(b *testing.B) {
			for b.Loop() {
				_ = telemetry.Scrub(s)
			}
		})
	}
}

func BenchmarkLogger_Info(b *testing.B) {
	var buf bytes.Buffer
	l, err := telemetry.NewLogger(telemetry.LogConfig{Output: &buf})
	require.NoError(b, err)
	l = l.With(zap.String("tenant", "acme-energy"), zap.String("connector", "acme-prod"))
	for b.Loop() {
		buf.Reset()
		l.Info("Batch delivered", zap.String("batch_id", "01JF7ZK2X6Q3W5V8N9R0T4Y2M1"), zap.Int("events", 200), zap.Int("http_status", 200))
	}
}
