package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/gentrack/gcis-bridge/bridge/embednats"
	"github.com/gentrack/gcis-bridge/transform/catalog"
)

func eventsStream(t *testing.T) (string, jetstream.Stream) {
	t.Helper()
	ns, nc := embednats.ConnectTest(t)
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	st, err := js.CreateStream(ctx, jetstream.StreamConfig{Name: "GCIS_EVENTS", Subjects: []string{"gcis.events.>"}, Duplicates: 2 * time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	return ns.URL(), st
}

func streamMsgs(t *testing.T, st jetstream.Stream) uint64 {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	info, err := st.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	return info.State.Msgs
}

func TestPublishSynthetic(t *testing.T) {
	url, st := eventsStream(t)
	code, out, errs := runCLI(t, "publish", "--nats", url, "--synthetic", "--tenant", "acme", "--source", "junifer", "--count", "250", "--seed", "4")
	if code != 0 {
		t.Fatalf("exit %d: %s %s", code, out, errs)
	}
	if !strings.Contains(out, "published 250 events") || streamMsgs(t, st) != 250 {
		t.Fatalf("out %q, stream has %d", out, streamMsgs(t, st))
	}
	// Same seed again: every Nats-Msg-Id is a duplicate, nothing is added.
	if code, _, errs := runCLI(t, "publish", "--nats", url, "--synthetic", "--tenant", "acme", "--source", "junifer", "--count", "250", "--seed", "4"); code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	if n := streamMsgs(t, st); n != 250 {
		t.Fatalf("stream has %d after republishing the same events, want 250 (deduplicated by Nats-Msg-Id)", n)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	m, err := st.GetMsg(ctx, 1)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(m.Subject, "gcis.events.acme.junifer.") || m.Header.Get("Nats-Msg-Id") == "" {
		t.Fatalf("first message %s %v", m.Subject, m.Header)
	}
}

func TestPublishFile(t *testing.T) {
	url, st := eventsStream(t)
	var lines []string
	for _, typ := range catalog.EventTypes("velocity") {
		ex, err := catalog.Example("velocity", typ)
		if err != nil {
			t.Fatal(err)
		}
		lines = append(lines, string(ex.Body))
	}
	path := filepath.Join(t.TempDir(), "events.jsonl")
	if err := os.WriteFile(path, []byte(strings.Join(lines, "\n")+"\n\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	code, out, errs := runCLI(t, "publish", "--nats", url, "--file", path)
	if code != 0 {
		t.Fatalf("exit %d: %s %s", code, out, errs)
	}
	if n := streamMsgs(t, st); n != uint64(len(lines)) {
		t.Fatalf("stream has %d, want %d", n, len(lines))
	}

	bad := filepath.Join(t.TempDir(), "bad.jsonl")
	if err := os.WriteFile(bad, []byte(lines[0]+"\n{not json\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	code, _, errs = runCLI(t, "publish", "--nats", url, "--file", bad)
	if code != 1 || !strings.Contains(errs, "bad.jsonl:2") {
		t.Fatalf("exit %d, stderr %q: want 1 naming bad.jsonl:2", code, errs)
	}
}

func TestPublishUnreachableNATS(t *testing.T) {
	code, _, errs := runCLI(t, "publish", "--nats", "nats://127.0.0.1:1", "--synthetic", "--tenant", "a", "--source", "velocity", "--count", "1")
	if code != 1 || !strings.Contains(errs, "cannot connect to NATS") {
		t.Fatalf("exit %d, stderr %q", code, errs)
	}
}
