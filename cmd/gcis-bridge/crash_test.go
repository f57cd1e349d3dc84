package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/gentrack/gcis-bridge/bridge/embednats"
	"github.com/gentrack/gcis-bridge/bridge/salesforce/sfsim"
	"github.com/gentrack/gcis-bridge/transform/catalog"
)

// buildBinary builds gcis-bridge into a temporary directory.
func buildBinary(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "gcis-bridge")
	cmd := exec.Command("go", "build", "-o", bin, ".")
	cmd.Stderr = os.Stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("build: %v", err)
	}
	return bin
}

// publishSynthetic publishes n generated events (300 accounts) and returns
// their ids, failing the test on any publish error.
func publishSynthetic(t *testing.T, js jetstream.JetStream, n int) []string {
	t.Helper()
	gen, err := catalog.NewGenerator(catalog.GeneratorConfig{Seed: 9, Tenants: []string{"acme"}, AccountsPerTenant: 300})
	if err != nil {
		t.Fatal(err)
	}
	ids := make([]string, 0, n)
	futures := make([]jetstream.PubAckFuture, 0, n)
	for range n {
		e := gen.Next()
		m := nats.NewMsg(e.Subject)
		m.Data = e.Body
		m.Header.Set(jetstream.MsgIDHeader, e.MsgID)
		f, err := js.PublishMsgAsync(m)
		if err != nil {
			t.Fatal(err)
		}
		futures = append(futures, f)
		ids = append(ids, e.MsgID)
		if len(futures)%1000 == 0 {
			select {
			case <-js.PublishAsyncComplete():
			case <-time.After(30 * time.Second):
				t.Fatal("publish timed out")
			}
		}
	}
	for _, f := range futures {
		select {
		case <-f.Ok():
		case err := <-f.Err():
			t.Fatalf("publish: %v", err)
		case <-time.After(30 * time.Second):
			t.Fatal("publish timed out")
		}
	}
	return ids
}

// TestCrashKill9 kills the bridge process with SIGKILL several times while
// it delivers, restarts it, and checks that afterwards every event is at the
// org or in the dead-letter stream: at-least-once, nothing missing.
// Duplicates at the org are counted and reported.
func TestCrashKill9(t *testing.T) {
	bin := buildBinary(t)
	ns, nc := embednats.ConnectTest(t)
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	sim, err := sfsim.New(sfsim.Config{Orgs: []sfsim.OrgConfig{{ID: "acme", ConsumerKey: "3MVG9acme", ConsumerSecret: "acme-secret"}}})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(sim)
	defer srv.Close()
	defer sim.Close()
	// Each request takes 20-60 ms, so batches are in flight when killed.
	if err := sim.SetFault("acme", sfsim.Fault{Kind: sfsim.KindLatency, Latency: &sfsim.Latency{Dist: "uniform", Min: 20 * time.Millisecond, Max: 60 * time.Millisecond}}); err != nil {
		t.Fatal(err)
	}
	if err := sim.SetFault("acme", sfsim.Fault{Kind: sfsim.KindItemError, Rule: &sfsim.ItemRule{Field: "externalContextId", Prefix: "REJECT"}}); err != nil {
		t.Fatal(err)
	}

	dir := t.TempDir()
	cfgPath := filepath.Join(dir, "config.yaml")
	keyPath := filepath.Join(dir, "secrets.key")
	if err := os.WriteFile(keyPath, []byte("MDEyMzQ1Njc4OTAxMjM0NTY3ODkwMTIzNDU2Nzg5MDE="), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg := fmt.Sprintf(`
nats:
  url: %s
secrets:
  key_file: %s
admin:
  listen: 127.0.0.1:0
  token: crash-test-admin-token-0123456789abcdef
metrics:
  listen: 127.0.0.1:0
log:
  level: warn
delivery:
  batch_max_events: 50
  linger: 20ms
  shutdown_timeout: 5s
  pinned_ttl: 3s
  backoff: { initial: 50ms, max: 500ms, multiplier: 2, jitter: 0.2 }
connectors:
  - id: acme-prod
    tenant: acme
    login_url: %s/orgs/acme
    allow_insecure_http: true
    consumer_key: 3MVG9acme
    consumer_secret: acme-secret
`, ns.URL(), keyPath, srv.URL)
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}

	type proc struct {
		cmd    *exec.Cmd
		exited chan error
	}
	start := func() proc {
		cmd := exec.Command(bin, "serve", "--config", cfgPath)
		cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		p := proc{cmd: cmd, exited: make(chan error, 1)}
		go func() { p.exited <- cmd.Wait() }()
		return p
	}
	stored := func() int {
		evs, _, err := sim.Events("acme")
		if err != nil {
			t.Fatal(err)
		}
		return len(evs)
	}
	// Publish 3,000 events for 300 accounts while the first process runs:
	// the bridge creates the streams at start.
	first := start()
	waitCtx, waitCancel := context.WithTimeout(context.Background(), 30*time.Second)
	for {
		if _, err := js.Stream(waitCtx, "GCIS_EVENTS"); err == nil {
			break
		}
		if waitCtx.Err() != nil {
			t.Fatal("the bridge did not create GCIS_EVENTS")
		}
		time.Sleep(20 * time.Millisecond)
	}
	waitCancel()
	ids := publishSynthetic(t, js, 3000)
	n := len(ids)
	kills := 0
	for round := range 4 {
		p := first
		if round > 0 {
			p = start()
		}
		// Let it deliver part of the backlog, then kill it mid-flight.
		deadline := time.Now().Add(30 * time.Second)
		target := (round + 1) * n / 6
		for stored() < target && time.Now().Before(deadline) {
			select {
			case err := <-p.exited:
				t.Fatalf("bridge exited by itself: %v", err)
			case <-time.After(20 * time.Millisecond):
			}
		}
		_ = p.cmd.Process.Signal(syscall.SIGKILL)
		<-p.exited
		kills++
	}
	// Final run: drain everything, then stop gracefully.
	p := start()
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	dlqCount := func() int {
		st, err := js.Stream(ctx, "GCIS_DLQ")
		if err != nil {
			return 0
		}
		return int(st.CachedInfo().State.Msgs)
	}
	settled := func() bool {
		c, err := js.Consumer(ctx, "GCIS_EVENTS", "gcis-sf-acme")
		if err != nil {
			return false
		}
		i := c.CachedInfo()
		return i.NumPending == 0 && i.NumAckPending == 0
	}
	for !settled() {
		select {
		case err := <-p.exited:
			t.Fatalf("bridge exited by itself: %v", err)
		case <-ctx.Done():
			_ = p.cmd.Process.Kill()
			t.Fatalf("backlog not drained after the kills (%d stored at the org)", stored())
		case <-time.After(50 * time.Millisecond):
		}
	}
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-p.exited:
		if err != nil {
			t.Errorf("graceful stop after SIGTERM: %v", err)
		}
	case <-time.After(30 * time.Second):
		_ = p.cmd.Process.Kill()
		t.Error("no exit within 30s of SIGTERM")
	}

	// Account for every event.
	raws, dupReqs, err := sim.Events("acme")
	if err != nil {
		t.Fatal(err)
	}
	atOrg := map[string]int{}
	for _, r := range raws {
		var e struct {
			SourceEventID string `json:"sourceEventId"`
		}
		if err := json.Unmarshal(r, &e); err != nil {
			t.Fatal(err)
		}
		atOrg[e.SourceEventID]++
	}
	inDLQ := map[string]bool{}
	st, err := js.Stream(ctx, "GCIS_DLQ")
	if err != nil {
		t.Fatal(err)
	}
	info, _ := st.Info(ctx)
	for seq := info.State.FirstSeq; info.State.Msgs > 0 && seq <= info.State.LastSeq; seq++ {
		m, err := st.GetMsg(ctx, seq)
		if err != nil {
			continue
		}
		var e struct {
			EventID string `json:"eventId"`
		}
		_ = json.Unmarshal(m.Data, &e)
		if inDLQ[e.EventID] {
			t.Errorf("event %s dead-lettered twice", e.EventID)
		}
		inDLQ[e.EventID] = true
	}
	missing := 0
	for _, id := range ids {
		if atOrg[id] == 0 && !inDLQ[id] {
			missing++
		}
	}
	if missing > 0 {
		t.Fatalf("%d of %d events neither at the org nor in the DLQ after %d kills", missing, n, kills)
	}
	t.Logf("after %d kill -9: %d events at the org, %d dead-lettered, %d duplicate deliveries counted by the org (at-least-once), 0 missing",
		kills, len(atOrg), dlqCount(), dupReqs)
}
