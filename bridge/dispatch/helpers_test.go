package dispatch_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http/httptest"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/gentrack/gcis-bridge/bridge/dispatch"
	"github.com/gentrack/gcis-bridge/bridge/salesforce"
	"github.com/gentrack/gcis-bridge/bridge/salesforce/sfsim"
	"github.com/gentrack/gcis-bridge/transform"
)

const (
	orgID          = "acme"
	consumerKey    = "3MVG9dispatchTestKey"
	consumerSecret = "dispatch-test-secret"
	connectorID    = "acme-prod"
	// waitFor bounds every wait for an outcome or a condition.
	waitFor = 10 * time.Second
)

// setup adjusts the parts of a harness before they start.
type setup struct {
	disp   func(*dispatch.Config)
	client func(*salesforce.Config)
	org    func(*sfsim.OrgConfig)
}

// harness is a dispatcher whose Sender is a real salesforce.Client talking
// HTTP to the simulator, with callbacks that record what happens.
type harness struct {
	t      *testing.T
	sim    *sfsim.Server
	srv    *httptest.Server
	client *salesforce.Client
	d      *dispatch.Dispatcher

	mu        sync.Mutex
	released  []string       // item ids in the order Release was called
	touches   map[string]int // Touch calls by item id
	dead      []deadLetter   // DeadLetter calls that stored
	deadCalls int            // every DeadLetter call
	deadErr   error          // returned by DeadLetter when set
	holds     []string       // OnHold reasons
	requests  []request      // Observer.Request calls
	observedD []string       // Observer.DeadLettered item ids
	usage     [][2]int       // Observer.Usage calls
	subs      []*sub
}

type deadLetter struct {
	id string
	f  dispatch.Failure
}

type request struct {
	outcome string
	events  int
}

// sub is one submitted item and its outcome channel.
type sub struct {
	it  *dispatch.Item
	ch  <-chan dispatch.Outcome
	got *dispatch.Outcome
}

// fastConfig is a dispatcher configuration with test-sized waits.
func fastConfig() dispatch.Config {
	return dispatch.Config{
		Tenant:         "acme-energy",
		ConnectorID:    connectorID,
		Linger:         20 * time.Millisecond,
		RequestTimeout: 10 * time.Second,
		MaxAttempts:    10,
		Backoff:        dispatch.Backoff{Initial: 10 * time.Millisecond, Max: 80 * time.Millisecond, Multiplier: 2},
	}
}

func newHarness(t *testing.T, s setup) *harness {
	t.Helper()
	h := &harness{t: t, touches: map[string]int{}}
	org := sfsim.OrgConfig{ID: orgID, ConsumerKey: consumerKey, ConsumerSecret: consumerSecret}
	if s.org != nil {
		s.org(&org)
	}
	sim, err := sfsim.New(sfsim.Config{Orgs: []sfsim.OrgConfig{org}, Seed: 7})
	require.NoError(t, err)
	h.sim = sim
	h.srv = httptest.NewServer(sim)
	t.Cleanup(func() {
		sim.Close() // releases hung requests
		h.srv.Close()
	})

	ccfg := salesforce.Config{
		ConnectorID:       connectorID,
		LoginURL:          h.srv.URL + "/orgs/" + orgID,
		ConsumerKey:       consumerKey,
		ConsumerSecret:    consumerSecret,
		AllowInsecureHTTP: true,
		HTTPClient:        h.srv.Client(),
		RequestTimeout:    10 * time.Second,
		Breaker:           salesforce.BreakerConfig{Failures: 1000, OpenFor: time.Second},
	}
	if s.client != nil {
		s.client(&ccfg)
	}
	h.client, err = salesforce.New(ccfg)
	require.NoError(t, err)
	t.Cleanup(func() { _ = h.client.Close() })

	cfg := fastConfig()
	cfg.Sender = h.client
	cfg.DeadLetter = func(_ context.Context, it *dispatch.Item, f dispatch.Failure) error {
		h.mu.Lock()
		defer h.mu.Unlock()
		h.deadCalls++
		if h.deadErr != nil {
			return h.deadErr
		}
		h.dead = append(h.dead, deadLetter{id: it.ID, f: f})
		return nil
	}
	cfg.OnHold = func(reason string, err error) {
		h.mu.Lock()
		h.holds = append(h.holds, reason)
		h.mu.Unlock()
	}
	cfg.Observer = dispatch.Observer{
		Request: func(outcome string, _ time.Duration, events int) {
			h.mu.Lock()
			h.requests = append(h.requests, request{outcome, events})
			h.mu.Unlock()
		},
		DeadLettered: func(it *dispatch.Item, _ dispatch.Failure) {
			h.mu.Lock()
			h.observedD = append(h.observedD, it.ID)
			h.mu.Unlock()
		},
		Usage: func(used, max int) {
			h.mu.Lock()
			h.usage = append(h.usage, [2]int{used, max})
			h.mu.Unlock()
		},
	}
	if s.disp != nil {
		s.disp(&cfg)
	}
	h.d, err = dispatch.New(cfg)
	require.NoError(t, err)
	// Registered last, so it runs first: drain, then check that every
	// submitted item got exactly one outcome.
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		h.d.Drain(ctx)
		h.mu.Lock()
		subs := slices.Clone(h.subs)
		h.mu.Unlock()
		for _, s := range subs {
			if s.got == nil {
				select {
				case o := <-s.ch:
					s.got = &o
				default:
					t.Errorf("item %s has no outcome after Drain", s.it.ID)
					continue
				}
			}
			select {
			case o := <-s.ch:
				t.Errorf("item %s got a second outcome %v after %v", s.it.ID, o.Result, s.got.Result)
			default:
			}
		}
	})
	return h
}

// event returns a valid managed-package event (salesforce.md §2).
func event(id, key string) []byte {
	b, err := json.Marshal(transform.Event{
		SourceEventID:     id,
		TenantID:          "acme-energy",
		SourceSystem:      "Junifer",
		SourceEventType:   "bill-accepted",
		EventType:         "Bill",
		EventSubtype:      "Accepted",
		EventContext:      "Account",
		ExternalContextID: key,
		ExternalReference: "11803",
		OccurredAt:        "2025-04-02T05:01:44.000Z",
		EventAttributes: []transform.Attribute{
			{Name: "issueDt", Value: "2025-04-02"},
			{Name: "grossAmount", Value: "148.62"},
		},
	})
	if err != nil {
		panic(err)
	}
	return b
}

// item builds an item of ordering key key whose Touch and Release record.
func (h *harness) item(id, key string) *dispatch.Item {
	return &dispatch.Item{
		ID:        id,
		Key:       "junifer:" + key,
		JSON:      event(id, key),
		Source:    "junifer",
		EventType: "bill-accepted",
		Touch: func() error {
			h.mu.Lock()
			h.touches[id]++
			h.mu.Unlock()
			return nil
		},
		Release: func() error {
			h.mu.Lock()
			h.released = append(h.released, id)
			h.mu.Unlock()
			return nil
		},
	}
}

// old marks an item as published long ago: linger does not hold it.
func old(it *dispatch.Item) *dispatch.Item {
	it.Published = time.Now().Add(-24 * time.Hour)
	return it
}

// submit submits items in order.
func (h *harness) submit(its ...*dispatch.Item) []*sub {
	out := make([]*sub, len(its))
	for i, it := range its {
		s := &sub{it: it, ch: h.d.Submit(it)}
		out[i] = s
		h.mu.Lock()
		h.subs = append(h.subs, s)
		h.mu.Unlock()
	}
	return out
}

// send submits one item of its own key and waits for its outcome.
func (h *harness) send(id, key string) dispatch.Outcome {
	h.t.Helper()
	return h.submit(old(h.item(id, key)))[0].wait(h.t)
}

// wait returns the item's outcome, failing the test if none comes.
func (s *sub) wait(t *testing.T) dispatch.Outcome {
	t.Helper()
	if s.got != nil {
		return *s.got
	}
	select {
	case o := <-s.ch:
		s.got = &o
		return o
	case <-time.After(waitFor):
		t.Fatalf("no outcome for item %s within %v", s.it.ID, waitFor)
		return dispatch.Outcome{}
	}
}

// pending reports whether the item has no outcome yet (without waiting).
func (s *sub) pending() bool {
	if s.got != nil {
		return false
	}
	select {
	case o := <-s.ch:
		s.got = &o
		return false
	default:
		return true
	}
}

func waitAll(t *testing.T, subs []*sub) []dispatch.Outcome {
	t.Helper()
	out := make([]dispatch.Outcome, len(subs))
	for i, s := range subs {
		out[i] = s.wait(t)
	}
	return out
}

// eventually polls cond (bounded in count and time) until it holds.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(waitFor)
	for i := 0; i < 10000 && time.Now().Before(deadline); i++ {
		if cond() {
			return
		}
		time.Sleep(5 * time.Millisecond)
	}
	t.Fatalf("timed out waiting for %s", what)
}

func (h *harness) fault(f sfsim.Fault) {
	h.t.Helper()
	require.NoError(h.t, h.sim.SetFault(orgID, f))
}

// stored returns the sourceEventIds the org stored, in arrival order.
func (h *harness) stored() []string {
	h.t.Helper()
	evs, _, err := h.sim.Events(orgID)
	require.NoError(h.t, err)
	ids := make([]string, len(evs))
	for i, e := range evs {
		var v struct {
			SourceEventID string `json:"sourceEventId"`
		}
		require.NoError(h.t, json.Unmarshal(e, &v))
		ids[i] = v.SourceEventID
	}
	return ids
}

// batchOf returns the batchId of the request that stored each event.
func (h *harness) batchOf() map[string]string {
	h.t.Helper()
	recs, _, err := h.sim.Records(orgID)
	require.NoError(h.t, err)
	m := map[string]string{}
	for _, r := range recs {
		var v struct {
			SourceEventID string `json:"sourceEventId"`
		}
		require.NoError(h.t, json.Unmarshal(r.Event, &v))
		m[v.SourceEventID] = r.BatchID
	}
	return m
}

// posts returns the event POSTs the org saw, oldest first.
func (h *harness) posts() []sfsim.RequestRecord {
	h.t.Helper()
	st, err := h.sim.Stats(orgID)
	require.NoError(h.t, err)
	var out []sfsim.RequestRecord
	for _, r := range st.RequestLog {
		if r.Endpoint == "event" && r.Method == "POST" {
			out = append(out, r)
		}
	}
	return out
}

func (h *harness) postByBatch(batchID string) sfsim.RequestRecord {
	h.t.Helper()
	for _, p := range h.posts() {
		if p.BatchID == batchID {
			return p
		}
	}
	h.t.Fatalf("no request with batchId %s", batchID)
	return sfsim.RequestRecord{}
}

func sizes(posts []sfsim.RequestRecord) []int {
	out := make([]int, len(posts))
	for i, p := range posts {
		out[i] = p.Events
	}
	return out
}

func (h *harness) releasedIDs() []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return slices.Clone(h.released)
}

func (h *harness) holdReasons() []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return slices.Clone(h.holds)
}

func (h *harness) deadLetters() []deadLetter {
	h.mu.Lock()
	defer h.mu.Unlock()
	return slices.Clone(h.dead)
}

func (h *harness) requestLog() []request {
	h.mu.Lock()
	defer h.mu.Unlock()
	return slices.Clone(h.requests)
}

func (h *harness) touchCount(id string) int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.touches[id]
}

func (h *harness) drain(d time.Duration) {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	h.d.Drain(ctx)
}

func ids(prefix string, n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("%s-%02d", prefix, i+1)
	}
	return out
}

// before reports whether a comes before b in list (both present).
func before(list []string, a, b string) bool {
	i, j := slices.Index(list, a), slices.Index(list, b)
	return i >= 0 && j >= 0 && i < j
}

// startsAfterEnd reports whether request b started after request a ended
// (as the org saw them).
func startsAfterEnd(a, b sfsim.RequestRecord) bool {
	end := a.Time.Add(time.Duration(a.DurationMS * float64(time.Millisecond)))
	return !b.Time.Before(end)
}
