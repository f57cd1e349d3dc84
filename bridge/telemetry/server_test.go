package telemetry_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gentrack/gcis-bridge/bridge/telemetry"
)

// startServer starts a metrics server on a free loopback port.
func startServer(t *testing.T, cfg telemetry.ServerConfig) (*telemetry.Server, string) {
	t.Helper()
	cfg.Listen = "127.0.0.1:0"
	s := telemetry.NewMetricsServer(cfg)
	require.NoError(t, s.Start())
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		assert.NoError(t, s.Shutdown(ctx))
	})
	return s, "http://" + s.Addr()
}

var client = &http.Client{Timeout: 10 * time.Second}

func get(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := client.Get(url)
	require.NoError(t, err)
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp.StatusCode, string(body)
}

func TestServer_healthz_and_readyz(t *testing.T) {
	h := telemetry.NewHealth()
	h.CheckTimeout = 200 * time.Millisecond
	_, base := startServer(t, telemetry.ServerConfig{Health: h})

	code, body := get(t, base+"/healthz")
	assert.Equal(t, http.StatusOK, code)
	assert.JSONEq(t, `{"status":"ok"}`, body)

	code, body = get(t, base+"/readyz")
	assert.Equal(t, http.StatusOK, code, "no checks: ready")
	assert.JSONEq(t, `{"status":"ok","checks":[]}`, body)

	h.SetReady("nats", nil)
	h.Check("streams", func(ctx context.Context) error { return nil })
	code, body = get(t, base+"/readyz")
	assert.Equal(t, http.StatusOK, code)
	assert.JSONEq(t, `{"status":"ok","checks":[{"name":"nats","status":"ok"},{"name":"streams","status":"ok"}]}`, body)

	h.SetReady("nats", errors.New("nats: no servers available for connection (nats://bridge:pw123456@nats:4222)"))
	h.Check("connector_store", func(ctx context.Context) error { panic("store exploded") })
	h.Check("streams", func(ctx context.Context) error {
		<-ctx.Done() // a check that hangs until its deadline
		return ctx.Err()
	})
	code, body = get(t, base+"/readyz")
	assert.Equal(t, http.StatusServiceUnavailable, code)
	var rep telemetry.Report
	require.NoError(t, json.Unmarshal([]byte(body), &rep))
	assert.Equal(t, telemetry.Report{Status: "unavailable", Checks: []telemetry.CheckResult{
		{Name: "connector_store", Status: "failed", Error: "check panicked: store exploded"},
		{Name: "nats", Status: "failed", Error: "nats: no servers available for connection (nats://bridge:[redacted]@nats:4222)"},
		{Name: "streams", Status: "failed", Error: "check timed out after 200ms"},
	}}, rep)
	code, _ = get(t, base+"/healthz")
	assert.Equal(t, http.StatusOK, code, "alive although not ready")

	h.Remove("connector_store")
	h.Remove("streams")
	h.SetReady("nats", nil)
	code, _ = get(t, base+"/readyz")
	assert.Equal(t, http.StatusOK, code, "ready again")
}

func TestServer_metrics(t *testing.T) {
	reg := telemetry.NewRegistry()
	m := telemetry.NewMetrics(reg)
	m.EventsReceived.WithLabelValues("acme", "junifer", "bill-accepted").Add(3)
	m.DeadLetters.Set(2)
	_, base := startServer(t, telemetry.ServerConfig{Registry: reg})

	code, body := get(t, base+"/metrics")
	assert.Equal(t, http.StatusOK, code)
	assert.Contains(t, body, `gcis_events_received_total{event_type="bill-accepted",source="junifer",tenant="acme"} 3`)
	assert.Contains(t, body, "gcis_dead_letters 2")
	assert.Contains(t, body, "go_goroutines")
}

func TestServer_methods_and_paths(t *testing.T) {
	_, base := startServer(t, telemetry.ServerConfig{})
	resp, err := client.Post(base+"/healthz", "text/plain", strings.NewReader("x"))
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, http.StatusMethodNotAllowed, resp.StatusCode)
	assert.Equal(t, "GET, HEAD", resp.Header.Get("Allow"))

	code, _ := get(t, base+"/nope")
	assert.Equal(t, http.StatusNotFound, code)
	code, body := get(t, base+"/")
	assert.Equal(t, http.StatusOK, code)
	assert.Contains(t, body, "/metrics")
}

func TestServer_lifecycle(t *testing.T) {
	s := telemetry.NewMetricsServer(telemetry.ServerConfig{Listen: "127.0.0.1:0"})
	assert.Equal(t, "", s.Addr(), "not started")
	require.NoError(t, s.Shutdown(context.Background()), "shutdown before start")

	s = telemetry.NewMetricsServer(telemetry.ServerConfig{Listen: "127.0.0.1:0"})
	require.NoError(t, s.Start())
	addr := s.Addr()
	host, port, err := net.SplitHostPort(addr)
	require.NoError(t, err)
	assert.Equal(t, "127.0.0.1", host)
	assert.NotEqual(t, "0", port)
	require.ErrorIs(t, s.Start(), telemetry.ErrServerStarted)

	busy := telemetry.NewMetricsServer(telemetry.ServerConfig{Listen: addr})
	err = busy.Start()
	require.Error(t, err)
	assert.Contains(t, err.Error(), "metrics listen "+addr)

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	require.NoError(t, s.Shutdown(ctx))
	require.NoError(t, s.Shutdown(ctx), "idempotent")
	_, err = client.Get("http://" + addr + "/healthz")
	assert.Error(t, err, "closed")
	require.ErrorIs(t, s.Start(), telemetry.ErrServerStarted, "no restart after shutdown")
}

func TestHealth_zero_value_and_report(t *testing.T) {
	var h telemetry.Health
	rep := h.Ready(context.Background())
	assert.True(t, rep.Ready())
	h.SetReady("a", errors.New("down"))
	rep = h.Ready(context.Background())
	assert.False(t, rep.Ready())
	assert.Equal(t, []telemetry.CheckResult{{Name: "a", Status: "failed", Error: "down"}}, rep.Checks)
}
