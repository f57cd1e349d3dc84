package bridge_test

import (
	"bytes"
	"context"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/gentrack/gcis-bridge/bridge"
	"github.com/gentrack/gcis-bridge/bridge/deadletter"
	"github.com/gentrack/gcis-bridge/bridge/salesforce/sfsim"
)

// TestReplayDeliversThroughRunningBridge dead-letters events through the
// running bridge (rejected by the org, exhausted by transient item errors,
// invalid), clears the org's faults and replays one tenant's dead letters
// with deadletter.Store.Replay. The replayed events reach the org through
// the bridge once each, their dead letters are removed, the others stay
// untouched, and the republished messages carry the contract's headers.
// A replayed event that fails again is dead-lettered again, its attempts
// counted afresh.
func TestReplayDeliversThroughRunningBridge(t *testing.T) {
	const maxAttempts = 3
	h := newHarness(t, harnessOpts{
		tenants:  []string{"acme", "beta"},
		delivery: func(d *bridge.Delivery) { d.MaxAttempts = maxAttempts },
	})
	rejectRule := func(prefix string) sfsim.Fault {
		return sfsim.Fault{Kind: sfsim.KindItemError, Rule: &sfsim.ItemRule{Field: "externalContextId", Prefix: prefix,
			StatusCode: "FIELD_CUSTOM_VALIDATION_EXCEPTION", Message: "Account not found"}}
	}
	busyRule := func(f sfsim.ItemRule) sfsim.Fault {
		f.Field, f.StatusCode, f.Message = "externalContextId", "UNABLE_TO_LOCK_ROW", "unable to obtain exclusive access to this record"
		return sfsim.Fault{Kind: sfsim.KindItemError, Rule: &f}
	}
	h.fault("acme", rejectRule("REJECT"))
	h.fault("acme", busyRule(sfsim.ItemRule{Prefix: "BUSY"}))
	h.fault("beta", rejectRule("REJECT"))

	// acme: 5 good, 4 rejected, 3 exhausted, 1 invalid; beta: 2 rejected.
	type sent struct {
		subject string
		body    []byte
		class   deadletter.Class // "" = delivered
	}
	events := map[string]sent{} // by event id
	pub := func(tenant, id, account string, n int, class deadletter.Class) {
		subj, body := event(tenant, id, account, n)
		h.publish(subj, body, id)
		events[id] = sent{subj, body, class}
	}
	for i := range 5 {
		pub("acme", fmt.Sprintf("ok-%d", i), fmt.Sprintf("0000010%d", i), i, "")
	}
	for i := range 4 {
		pub("acme", fmt.Sprintf("rej-%d", i), fmt.Sprintf("REJECT-%d", i), 10+i, deadletter.ClassRejected)
	}
	for i := range 3 {
		pub("acme", fmt.Sprintf("busy-%d", i), fmt.Sprintf("BUSY-%d", i), 20+i, deadletter.ClassExhausted)
	}
	invalidBody := []byte(`{"eventId":"bad-1","eventType":`)
	h.publish("gcis.events.acme.junifer.bill-accepted", invalidBody, "bad-1")
	for i := range 2 {
		pub("beta", fmt.Sprintf("beta-rej-%d", i), fmt.Sprintf("REJECT-B%d", i), 30+i, deadletter.ClassRejected)
	}

	const wantDead = 4 + 3 + 1 + 2
	before := h.waitDeadLetters(wantDead, 30*time.Second)
	h.waitOrgCount("acme", 5, 30*time.Second)
	h.consumerSettled("acme", 15*time.Second)
	h.consumerSettled("beta", 15*time.Second)
	if len(before) != wantDead {
		t.Fatalf("%d dead letters, want %d", len(before), wantDead)
	}

	// Index the dead letters and check they are what the faults made.
	type dlInfo struct {
		seq     uint64
		eventID string
		class   string
		msg     jetstream.RawStreamMsg
	}
	var replayable, untouched []dlInfo
	for _, m := range before {
		d := deadletter.Parse(deadletter.DefaultSubjectPrefix, m.Subject, m.Sequence, m.Time, m.Header, m.Data)
		info := dlInfo{seq: m.Sequence, eventID: d.EventID(), class: string(d.Class), msg: m}
		switch {
		case bytes.Equal(m.Data, invalidBody):
			if d.Class != deadletter.ClassInvalid {
				t.Fatalf("invalid event dead-lettered as %q", d.Class)
			}
			untouched = append(untouched, info)
			continue
		case d.Tenant == "beta":
			untouched = append(untouched, info)
		case d.Tenant == "acme":
			replayable = append(replayable, info)
		default:
			t.Fatalf("dead letter on %s", m.Subject)
		}
		ev, ok := events[info.eventID]
		if !ok || ev.class == "" {
			t.Fatalf("unexpected dead letter of event %q (class %s: %s)", info.eventID, d.Class, d.Reason)
		}
		if d.Class != ev.class {
			t.Fatalf("event %s dead-lettered as %q, want %q (%s)", info.eventID, d.Class, ev.class, d.Reason)
		}
		if d.Class == deadletter.ClassExhausted && d.Attempts != maxAttempts {
			t.Fatalf("exhausted %s after %d attempts, want %d", info.eventID, d.Attempts, maxAttempts)
		}
	}
	if len(replayable) != 7 || len(untouched) != 3 {
		t.Fatalf("%d acme rejected/exhausted and %d other dead letters, want 7 and 3", len(replayable), len(untouched))
	}

	// The org recovers, except for one rejected and one busy event, which
	// fail again after the replay.
	h.sim.ClearFaults(orgID("acme"))
	h.fault("acme", rejectRule("REJECT-3"))
	h.fault("acme", busyRule(sfsim.ItemRule{Equals: "BUSY-2"}))
	failAgain := map[string]deadletter.Class{"rej-3": deadletter.ClassRejected, "busy-2": deadletter.ClassExhausted}

	eventsBefore := streamState(t, h.js, "GCIS_EVENTS")
	store, err := deadletter.NewStore(h.js, deadletter.StoreConfig{EventsStream: "GCIS_EVENTS"})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	res, err := store.Replay(ctx, deadletter.Filter{Tenant: "acme"}, deadletter.ReplayOptions{Actor: "test"})
	if err != nil {
		t.Fatalf("replay: %v (%+v)", err, res)
	}
	if res.Matched != 7 || res.Replayed != 7 || res.Failed != 0 || res.Duplicates != 0 || res.Skipped != 1 {
		t.Fatalf("replay result %+v, want 7 matched and replayed, 1 skipped (invalid), none failed", res)
	}

	// The replayed events that succeed now reach the org once each.
	wantAtOrg := 5 + 7 - len(failAgain)
	h.waitOrgCount("acme", wantAtOrg, 30*time.Second)
	// The two that fail again are dead-lettered again.
	after := h.waitDeadLetters(len(untouched)+len(failAgain), 30*time.Second)
	h.consumerSettled("acme", 15*time.Second)

	evs, dups := h.orgEvents("acme")
	atOrg := map[string]int{}
	for _, e := range evs {
		atOrg[e.SourceEventID]++
	}
	if len(evs) != wantAtOrg || dups != 0 {
		t.Fatalf("%d events (%d duplicates) at the org, want %d and none: %v", len(evs), dups, wantAtOrg, slices.Sorted(maps.Keys(atOrg)))
	}
	for _, d := range replayable {
		want := 1
		if failAgain[d.eventID] != "" {
			want = 0
		}
		if atOrg[d.eventID] != want {
			t.Errorf("replayed event %s at the org %d times, want %d", d.eventID, atOrg[d.eventID], want)
		}
	}
	if evs, _ := h.orgEvents("beta"); len(evs) != 0 {
		t.Errorf("%d events of beta delivered; its dead letters were not replayed", len(evs))
	}

	// The replayed messages in GCIS_EVENTS: one per dead letter, with the
	// replay's Nats-Msg-Id, Gcis-Replayed-From, the original subject and body,
	// and no dead-letter headers.
	replayed := map[string]jetstream.RawStreamMsg{} // by Gcis-Replayed-From
	replayedSeq := map[string]uint64{}              // event id -> sequence in GCIS_EVENTS
	replayedFrom := map[string]uint64{}             // event id -> dead-letter sequence replayed
	for _, m := range streamMsgs(t, h.js, "GCIS_EVENTS", eventsBefore.LastSeq+1) {
		from := m.Header.Get(deadletter.HeaderReplayedFrom)
		if from == "" {
			t.Errorf("message %d on %s published during the replay lacks %s", m.Sequence, m.Subject, deadletter.HeaderReplayedFrom)
			continue
		}
		if _, dup := replayed[from]; dup {
			t.Errorf("dead letter %s republished twice", from)
		}
		replayed[from] = m
	}
	for _, d := range replayable {
		seq := strconv.FormatUint(d.seq, 10)
		m, ok := replayed[seq]
		if !ok {
			t.Errorf("dead letter %d (%s) not republished to GCIS_EVENTS", d.seq, d.eventID)
			continue
		}
		replayedSeq[d.eventID] = m.Sequence
		replayedFrom[d.eventID] = d.seq
		ev := events[d.eventID]
		if got, want := m.Header.Get(jetstream.MsgIDHeader), d.eventID+"-replay-"+seq; got != want {
			t.Errorf("replay of %d: Nats-Msg-Id %q, want %q", d.seq, got, want)
		}
		if m.Subject != ev.subject || !bytes.Equal(m.Data, ev.body) {
			t.Errorf("replay of %d: subject %q or body differs from the original %q", d.seq, m.Subject, ev.subject)
		}
		for k := range m.Header {
			if strings.HasPrefix(k, deadletter.PrefixDLQ) || strings.HasPrefix(k, deadletter.PrefixOriginal) {
				t.Errorf("replay of %d carries dead-letter header %s", d.seq, k)
			}
		}
	}
	if len(replayed) != len(replayable) {
		t.Errorf("%d messages republished, want %d", len(replayed), len(replayable))
	}

	// Dead letters: the replayed ones are gone, the others untouched, and
	// the two that failed again are new dead letters with fresh attempts.
	bySeq := map[uint64]jetstream.RawStreamMsg{}
	for _, m := range after {
		bySeq[m.Sequence] = m
	}
	for _, d := range replayable {
		if _, ok := bySeq[d.seq]; ok {
			t.Errorf("replayed dead letter %d (%s) still in the DLQ", d.seq, d.eventID)
		}
	}
	for _, d := range untouched {
		m, ok := bySeq[d.seq]
		if !ok {
			t.Errorf("dead letter %d (%s, class %s) removed, but the replay did not select it", d.seq, d.msg.Subject, d.class)
			continue
		}
		if m.Subject != d.msg.Subject || !bytes.Equal(m.Data, d.msg.Data) || fmt.Sprint(m.Header) != fmt.Sprint(d.msg.Header) {
			t.Errorf("dead letter %d changed", d.seq)
		}
	}
	var again []*deadletter.DeadLetter
	for _, m := range after {
		if m.Sequence > before[len(before)-1].Sequence {
			again = append(again, deadletter.Parse(deadletter.DefaultSubjectPrefix, m.Subject, m.Sequence, m.Time, m.Header, m.Data))
		}
	}
	if len(again) != len(failAgain) || len(after) != len(untouched)+len(failAgain) {
		t.Fatalf("%d new dead letters, %d in all; want %d new, %d in all", len(again), len(after), len(failAgain), len(untouched)+len(failAgain))
	}
	for _, d := range again {
		id := d.EventID()
		class, ok := failAgain[id]
		if !ok {
			t.Errorf("event %s dead-lettered after the replay (%s: %s)", id, d.Class, d.Reason)
			continue
		}
		wantAttempts := 1
		if class == deadletter.ClassExhausted {
			wantAttempts = maxAttempts
		}
		if d.Class != class || d.Attempts != wantAttempts {
			t.Errorf("event %s dead-lettered again as %s after %d attempts, want %s after %d (counted from the replay)",
				id, d.Class, d.Attempts, class, wantAttempts)
		}
		if d.OriginalSequence != replayedSeq[id] || d.OriginalStream != "GCIS_EVENTS" {
			t.Errorf("event %s: dead letter points at %s seq %d, want the replayed message, GCIS_EVENTS seq %d",
				id, d.OriginalStream, d.OriginalSequence, replayedSeq[id])
		}
		if got, want := d.Header.Get(deadletter.HeaderMsgID), fmt.Sprintf("dlq-GCIS_EVENTS-%d", replayedSeq[id]); got != want {
			t.Errorf("event %s: dead letter Nats-Msg-Id %q, want %q", id, got, want)
		}
		// Original headers are kept (README §4), so the new dead letter
		// still says which dead letter its event was replayed from.
		if got, want := d.Header.Get(deadletter.HeaderReplayedFrom), strconv.FormatUint(replayedFrom[id], 10); got != want {
			t.Errorf("event %s: new dead letter has %s %q, want %q", id, deadletter.HeaderReplayedFrom, got, want)
		}
	}
}

// streamState returns a stream's state.
func streamState(t *testing.T, js jetstream.JetStream, name string) jetstream.StreamState {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	st, err := js.Stream(ctx, name)
	if err != nil {
		t.Fatal(err)
	}
	info, err := st.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	return info.State
}

// streamMsgs reads a stream's messages from sequence from on.
func streamMsgs(t *testing.T, js jetstream.JetStream, name string, from uint64) []jetstream.RawStreamMsg {
	t.Helper()
	state := streamState(t, js, name)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	st, err := js.Stream(ctx, name)
	if err != nil {
		t.Fatal(err)
	}
	var out []jetstream.RawStreamMsg
	for seq := max(from, state.FirstSeq); state.Msgs > 0 && seq <= state.LastSeq; seq++ {
		m, err := st.GetMsg(ctx, seq)
		if err != nil {
			continue
		}
		out = append(out, *m)
	}
	return out
}
