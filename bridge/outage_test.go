package bridge_test

import (
	"context"
	"fmt"
	"net"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest"

	"github.com/gentrack/gcis-bridge/bridge"
	"github.com/gentrack/gcis-bridge/bridge/embednats"
	"github.com/gentrack/gcis-bridge/bridge/salesforce/sfsim"
	"github.com/gentrack/gcis-bridge/transform/catalog"
)

// TestNATSServerRestart restarts the JetStream server (same port, same
// store) while the bridge delivers: the bridge reconnects by itself and
// every event reaches the org; nothing is dead-lettered.
func TestNATSServerRestart(t *testing.T) {
	dir := t.TempDir()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	_ = ln.Close()
	ns, err := embednats.Start(embednats.Config{StoreDir: dir, Port: port})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { ns.Shutdown() }()
	nc, err := nats.Connect(ns.URL(), nats.MaxReconnects(-1), nats.ReconnectWait(100*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	js, _ := jetstream.New(nc)

	sim, err := sfsim.New(sfsim.Config{Orgs: []sfsim.OrgConfig{{ID: orgID("acme"), ConsumerKey: "3MVG9acme", ConsumerSecret: "secret-acme"}}})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(sim)
	defer srv.Close()
	defer sim.Close()
	if err := sim.SetFault(orgID("acme"), sfsim.Fault{Kind: sfsim.KindLatency, Latency: &sfsim.Latency{Dist: "fixed", Fixed: 50 * time.Millisecond}}); err != nil {
		t.Fatal(err)
	}

	b, err := bridge.New(bridge.Config{Conn: nc, Mappings: catalog.DefaultMappings(), AckWait: 3 * time.Second, PinnedTTL: 3 * time.Second,
		ShutdownTimeout: 5 * time.Second, Logger: zaptest.NewLogger(t, zaptest.Level(zap.WarnLevel))})
	if err != nil {
		t.Fatal(err)
	}
	d := fastDelivery()
	d.MaxAttempts = 1000
	if err := b.SetConnector(context.Background(), bridge.Connector{ID: "c-acme", Tenant: "acme", LoginURL: srv.URL + "/orgs/" + orgID("acme"),
		ConsumerKey: "3MVG9acme", ConsumerSecret: "secret-acme", AllowInsecureHTTP: true, Delivery: d}); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- b.Run(ctx) }()
	defer func() {
		cancel()
		<-done
	}()
	select {
	case <-b.Started():
	case err := <-done:
		t.Fatal(err)
	}

	publish := func(from, to int) {
		t.Helper()
		for i := from; i < to; i++ {
			id := fmt.Sprintf("restart-%04d", i)
			subj, body := event("acme", id, fmt.Sprintf("%08d", i%20), i)
			m := nats.NewMsg(subj)
			m.Data = body
			m.Header.Set(jetstream.MsgIDHeader, id)
			pctx, pcancel := context.WithTimeout(context.Background(), 10*time.Second)
			_, err := js.PublishMsg(pctx, m)
			pcancel()
			if err != nil {
				t.Fatalf("publish %d: %v", i, err)
			}
		}
	}
	stored := func() int {
		evs, _, err := sim.Events(orgID("acme"))
		if err != nil {
			t.Fatal(err)
		}
		return len(evs)
	}
	waitStored := func(n int) {
		t.Helper()
		deadline := time.Now().Add(60 * time.Second)
		for stored() < n {
			if time.Now().After(deadline) {
				t.Fatalf("%d of %d events at the org", stored(), n)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}

	publish(0, 200)
	// Restart the server while batches are in flight.
	for stored() == 0 {
		time.Sleep(5 * time.Millisecond)
	}
	ns.Shutdown()
	time.Sleep(500 * time.Millisecond)
	if ns, err = embednats.Start(embednats.Config{StoreDir: dir, Port: port}); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(20 * time.Second)
	for !nc.IsConnected() {
		if time.Now().After(deadline) {
			t.Fatal("the bridge's connection did not reconnect")
		}
		time.Sleep(20 * time.Millisecond)
	}
	publish(200, 300)
	waitStored(300)

	_, dups, _ := sim.Events(orgID("acme"))
	t.Logf("300 events at the org after a server restart (%d duplicate deliveries absorbed)", dups)
	if st, err := js.Stream(context.Background(), "GCIS_DLQ"); err == nil && st.CachedInfo().State.Msgs != 0 {
		t.Fatalf("%d dead letters", st.CachedInfo().State.Msgs)
	}
}
