package main

import (
	"bytes"
	"context"
	"fmt"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/gentrack/gcis-bridge/bridge/deadletter"
	"github.com/gentrack/gcis-bridge/bridge/embednats"
)

// TestDLQReplayKill9 kills `gcis-bridge dlq replay` with SIGKILL in the
// middle of replaying 20,000 dead letters, runs it again to completion,
// and checks that nothing was lost and nothing duplicated: every dead
// letter's event is in GCIS_EVENTS exactly once (JetStream's duplicate
// window absorbs the republish of those published but not yet removed when
// the process died) and the DLQ ends empty.
func TestDLQReplayKill9(t *testing.T) {
	const n = 20000
	bin := buildBinary(t)
	ns, nc := embednats.ConnectTest(t)
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 240*time.Second)
	defer cancel()
	if _, err := js.CreateStream(ctx, jetstream.StreamConfig{Name: "GCIS_EVENTS", Subjects: []string{"gcis.events.>"},
		Storage: jetstream.FileStorage, Duplicates: 2 * time.Minute}); err != nil {
		t.Fatal(err)
	}
	if _, err := deadletter.EnsureStream(ctx, js, deadletter.StreamConfig("", "", 1)); err != nil {
		t.Fatal(err)
	}
	events, err := js.Stream(ctx, "GCIS_EVENTS")
	if err != nil {
		t.Fatal(err)
	}
	dlq, err := js.Stream(ctx, "GCIS_DLQ")
	if err != nil {
		t.Fatal(err)
	}

	// Write the dead letters (asynchronously: the writer builds each
	// message, JetStream acknowledges it) and remember each one's sequence.
	w, err := deadletter.NewWriter(js, deadletter.WriterConfig{})
	if err != nil {
		t.Fatal(err)
	}
	tenants := []string{"acme", "beta", "gamma", "delta"}
	classes := []deadletter.Class{deadletter.ClassRejected, deadletter.ClassExhausted, deadletter.ClassUnmapped}
	futures := make([]jetstream.PubAckFuture, n)
	for i := range n {
		tenant := tenants[i%len(tenants)]
		msg, err := w.Message(deadletter.Original{
			Subject: "gcis.events." + tenant + ".junifer.bill-accepted", Stream: "GCIS_EVENTS", Sequence: uint64(1000 + i),
			Header: nats.Header{"Traceparent": {"00-trace-span-01"}},
			Data:   fmt.Appendf(nil, `{"eventId":"ev-%05d","tenantId":%q,"data":{"n":%d}}`, i, tenant, i),
		}, deadletter.Info{Class: classes[i%len(classes)], Reason: "test", Attempts: 1 + i%5})
		if err != nil {
			t.Fatal(err)
		}
		if futures[i], err = js.PublishMsgAsync(msg, jetstream.WithExpectStream("GCIS_DLQ")); err != nil {
			t.Fatal(err)
		}
		if i%1000 == 999 {
			// Bound what is outstanding: a loaded machine otherwise stalls
			// the async publisher (at most 4,000 pending by default).
			select {
			case <-js.PublishAsyncComplete():
			case <-ctx.Done():
				t.Fatal("dead letters not acknowledged in time")
			}
		}
	}
	dlqSeqOf := make(map[string]uint64, n) // event id -> dead-letter sequence
	for i, f := range futures {
		select {
		case ack := <-f.Ok():
			if ack.Duplicate {
				t.Fatalf("dead letter %d deduplicated", i)
			}
			dlqSeqOf[fmt.Sprintf("ev-%05d", i)] = ack.Sequence
		case err := <-f.Err():
			t.Fatalf("write dead letter %d: %v", i, err)
		case <-ctx.Done():
			t.Fatal("dead letters not acknowledged in time")
		}
	}
	msgs := func(st jetstream.Stream) uint64 {
		t.Helper()
		ictx, icancel := context.WithTimeout(ctx, 10*time.Second)
		defer icancel()
		info, err := st.Info(ictx)
		if err != nil {
			t.Fatal(err)
		}
		return info.State.Msgs
	}
	if got := msgs(dlq); got != n {
		t.Fatalf("%d dead letters stored, want %d", got, n)
	}

	type proc struct {
		cmd         *exec.Cmd
		stdout, err *bytes.Buffer
		exited      chan error
	}
	start := func(args ...string) proc {
		cmd := exec.CommandContext(ctx, bin, append([]string{"dlq", "replay", "--nats", ns.URL(), "--yes"}, args...)...)
		p := proc{cmd: cmd, stdout: &bytes.Buffer{}, err: &bytes.Buffer{}, exited: make(chan error, 1)}
		cmd.Stdout, cmd.Stderr = p.stdout, p.err
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		go func() { p.exited <- cmd.Wait() }()
		return p
	}

	// First run, at 2,000/s (about 10 s for everything): kill it once a
	// fifth of the dead letters were removed.
	first := start("--rate", "2000")
	deadline := time.Now().Add(60 * time.Second)
	for msgs(dlq) > n-n/5 {
		select {
		case err := <-first.exited:
			t.Fatalf("replay exited before it was killed (%v): %s\n%s", err, first.stdout, first.err)
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			_ = first.cmd.Process.Kill()
			t.Fatalf("replay removed only %d dead letters in 60s", n-msgs(dlq))
		}
	}
	if err := first.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	select {
	case <-first.exited:
	case <-time.After(10 * time.Second):
		t.Fatal("killed replay did not exit")
	}
	// Let the server finish what the dead process had sent, then take stock.
	var leftInDLQ, published uint64
	for i := range 50 {
		l, p := msgs(dlq), msgs(events)
		if i > 0 && l == leftInDLQ && p == published {
			break
		}
		leftInDLQ, published = l, p
		time.Sleep(100 * time.Millisecond)
	}
	if leftInDLQ == 0 || leftInDLQ >= n || published == 0 {
		t.Fatalf("killed with %d dead letters left and %d events published: not in the middle", leftInDLQ, published)
	}
	// Every dead letter is still in the DLQ or already republished (or
	// both: published, not yet removed).
	if leftInDLQ+published < n {
		t.Fatalf("after the kill: %d dead letters left + %d events published < %d: dead letters lost", leftInDLQ, published, n)
	}
	inFlight := leftInDLQ + published - n
	t.Logf("killed after %d republished, %d dead letters left, %d published but not removed", published, leftInDLQ, inFlight)

	// Second run, unlimited, to completion.
	second := start()
	select {
	case err := <-second.exited:
		if err != nil {
			t.Fatalf("second replay: %v\n%s\n%s", err, second.stdout, second.err)
		}
	case <-time.After(90 * time.Second):
		_ = second.cmd.Process.Kill()
		t.Fatalf("second replay did not finish in 90s: %s", second.stdout)
	}
	out := second.stdout.String()
	m := regexp.MustCompile(`replayed (\d+), failed (\d+)`).FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("second replay printed no counts: %q", out)
	}
	if replayed, _ := strconv.ParseUint(m[1], 10, 64); replayed != leftInDLQ || m[2] != "0" {
		t.Errorf("second replay: %q, want replayed %d, failed 0", m[0], leftInDLQ)
	}
	var dups uint64
	if dm := regexp.MustCompile(`(\d+) of the replayed had already been published`).FindStringSubmatch(out); dm != nil {
		dups, _ = strconv.ParseUint(dm[1], 10, 64)
	}
	if dups != inFlight {
		t.Errorf("second replay reported %d deduplicated, want %d (published by the first run but not removed): %q", dups, inFlight, out)
	}

	// The DLQ is empty and every event is in GCIS_EVENTS exactly once, under
	// the replay's message id.
	if left := msgs(dlq); left != 0 {
		t.Fatalf("%d dead letters left after the second replay", left)
	}
	total := msgs(events)
	cons, err := events.OrderedConsumer(ctx, jetstream.OrderedConsumerConfig{})
	if err != nil {
		t.Fatal(err)
	}
	it, err := cons.Messages()
	if err != nil {
		t.Fatal(err)
	}
	defer it.Stop()
	seen := make(map[string]int, n)
	for range total {
		msg, err := it.Next(jetstream.NextMaxWait(10 * time.Second))
		if err != nil {
			t.Fatalf("read GCIS_EVENTS after %d messages: %v", len(seen), err)
		}
		id, seq, ok := strings.Cut(msg.Headers().Get(jetstream.MsgIDHeader), "-replay-")
		if !ok {
			t.Fatalf("message on %s without a replay Nats-Msg-Id: %v", msg.Subject(), msg.Headers())
		}
		if want := strconv.FormatUint(dlqSeqOf[id], 10); seq != want || msg.Headers().Get(deadletter.HeaderReplayedFrom) != want {
			t.Errorf("event %s replayed with Nats-Msg-Id suffix %s and %s %q, want dead-letter sequence %s",
				id, seq, deadletter.HeaderReplayedFrom, msg.Headers().Get(deadletter.HeaderReplayedFrom), want)
		}
		if !bytes.Contains(msg.Data(), []byte(`"eventId":"`+id+`"`)) {
			t.Errorf("event %s: body %s", id, msg.Data())
		}
		seen[id]++
	}
	missing, twice := 0, 0
	for id := range dlqSeqOf {
		switch seen[id] {
		case 0:
			missing++
		case 1:
		default:
			twice++
		}
	}
	if missing > 0 || twice > 0 || total != n || len(seen) != n {
		t.Fatalf("GCIS_EVENTS holds %d messages for %d events: %d of %d dead letters lost, %d republished more than once",
			total, len(seen), missing, n, twice)
	}
}
