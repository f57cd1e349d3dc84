package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/gentrack/gcis-bridge/bridge/embednats"
	"github.com/gentrack/gcis-bridge/bridge/salesforce/sfsim"
	"github.com/gentrack/gcis-bridge/transform/catalog"
)

func freePort(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// TestServeEndToEnd runs `serve` in process against an embedded JetStream
// and the simulator: events are delivered, health, readiness, metrics and
// the admin API answer, and SIGTERM-like cancellation exits 0.
func TestServeEndToEnd(t *testing.T) {
	ns, nc := embednats.ConnectTest(t)
	sim, err := sfsim.New(sfsim.Config{Orgs: []sfsim.OrgConfig{{ID: "acme", ConsumerKey: "3MVG9acme", ConsumerSecret: "acme-secret-value"}}})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(sim)
	defer srv.Close()
	defer sim.Close()

	adminAddr, metricsAddr := freePort(t), freePort(t)
	const token = "serve-test-admin-token-0123456789abcdef"
	cfg := fmt.Sprintf(`
nats: { url: %s }
admin: { listen: %s, token: "${TEST_ADMIN_TOKEN}" }
metrics: { listen: %s }
log: { level: info }
connectors:
  - id: acme-prod
    tenant: acme
    login_url: %s/orgs/acme
    allow_insecure_http: true
    consumer_key: 3MVG9acme
    consumer_secret: ${TEST_SECRET}
`, ns.URL(), adminAddr, metricsAddr, srv.URL)
	path := filepath.Join(t.TempDir(), "gcis.yaml")
	if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("TEST_ADMIN_TOKEN", token)
	t.Setenv("TEST_SECRET", "acme-secret-value")

	ctx, cancel := context.WithCancel(context.Background())
	var stderr syncBuffer
	done := make(chan int, 1)
	go func() { done <- run(ctx, []string{"serve", "--config", path}, io.Discard, &stderr) }()
	defer func() {
		cancel()
		select {
		case code := <-done:
			if code != 0 {
				t.Errorf("serve exit %d after cancellation", code)
			}
		case <-time.After(30 * time.Second):
			t.Error("serve did not stop within 30s")
		}
		logs := stderr.String()
		if !strings.Contains(logs, "connector started") {
			t.Errorf("the log does not show the connector starting:\n%.2000s", logs)
		}
		if strings.Contains(logs, "acme-secret-value") || strings.Contains(logs, token) {
			t.Error("a secret reached the log")
		}
	}()

	get := func(url string, hdr ...string) (int, string) {
		req, _ := http.NewRequest(http.MethodGet, url, nil)
		if len(hdr) == 2 {
			req.Header.Set(hdr[0], hdr[1])
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return 0, err.Error()
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		if code, _ := get("http://" + metricsAddr + "/readyz"); code == http.StatusOK {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("never ready; log:\n%s", stderr.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
	if code, _ := get("http://" + metricsAddr + "/healthz"); code != http.StatusOK {
		t.Fatalf("/healthz %d", code)
	}

	// Events flow end to end.
	js, _ := jetstream.New(nc)
	for _, typ := range catalog.EventTypes("junifer") {
		ex, err := catalog.Example("junifer", typ)
		if err != nil {
			t.Fatal(err)
		}
		body := bytes.Replace(ex.Body, []byte(`"tenantId":"`+ex.Tenant+`"`), []byte(`"tenantId":"acme"`), 1)
		m := nats.NewMsg("gcis.events.acme.junifer." + typ)
		m.Data = body
		m.Header.Set(jetstream.MsgIDHeader, ex.MsgID)
		pctx, pcancel := context.WithTimeout(ctx, 5*time.Second)
		_, err = js.PublishMsg(pctx, m)
		pcancel()
		if err != nil {
			t.Fatal(err)
		}
	}
	want := len(catalog.EventTypes("junifer"))
	for {
		evs, _, _ := sim.Events("acme")
		if len(evs) == want {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d events at the org", len(evs), want)
		}
		time.Sleep(20 * time.Millisecond)
	}

	code, body := get("http://" + metricsAddr + "/metrics")
	if code != http.StatusOK || !strings.Contains(body, `gcis_events_delivered_total{event_type="bill-accepted",source="junifer",status="created",tenant="acme"} 1`) {
		t.Fatalf("/metrics %d lacks the delivered counter:\n%.2000s", code, body)
	}
	if !strings.Contains(body, "go_goroutines") {
		t.Error("/metrics lacks the Go runtime metrics")
	}

	if code, _ := get("http://" + adminAddr + "/api/v1/connectors"); code != http.StatusUnauthorized {
		t.Fatalf("admin without token: %d, want 401", code)
	}
	code, body = get("http://"+adminAddr+"/api/v1/connectors/acme-prod", "Authorization", "Bearer "+token)
	var st struct {
		State, Breaker string
	}
	if err := json.Unmarshal([]byte(body), &st); code != http.StatusOK || err != nil || st.State != "active" || st.Breaker != "closed" {
		t.Fatalf("connector status %d %s", code, body)
	}
	if strings.Contains(body, "acme-secret-value") {
		t.Fatal("the admin API returned the consumer secret")
	}
}

// syncBuffer is a bytes.Buffer safe for the logger and the test at once.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
