package sfsim

import (
	"encoding/json"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// session is one issued access token.
type session struct {
	issued   time.Time
	lastUsed time.Time
}

// storedEvent is one event accepted by the package.
type storedEvent struct {
	raw      json.RawMessage
	id       string
	batchID  string
	received time.Time
}

// org is the state of one simulated org. Locks, never nested except
// storeMu → faults.mu: mu (config, sessions, named credentials), flightMu
// (in-flight requests), storeMu (event store), faults.mu, stats.mu.
type org struct {
	id    string
	ident orgIdentity

	mu       sync.Mutex
	cfg      OrgConfig
	sessions map[string]*session
	creds    namedCreds

	apiUsed atomic.Int64
	apiMax  atomic.Int64

	faults faultSet

	flightMu  sync.Mutex
	flight    map[uint64]time.Time
	flightSeq uint64

	storeMu    sync.Mutex
	events     []storedEvent
	byKey      map[string]string // sourceEventId → record id
	duplicates int
	nextRecord uint64 // never reset, so ids stay unique across resets

	stats orgStats
}

func newOrg(cfg OrgConfig, logSize int) *org {
	o := &org{
		id:       cfg.ID,
		ident:    newOrgIdentity(cfg.ID),
		cfg:      cfg,
		sessions: map[string]*session{},
		flight:   map[uint64]time.Time{},
		byKey:    map[string]string{},
		creds:    newNamedCreds(),
	}
	o.apiMax.Store(int64(cfg.DailyAPIMax))
	o.stats.init(logSize)
	return o
}

func (o *org) config() OrgConfig {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.cfg
}

// reset clears every piece of state; the configuration is kept.
func (o *org) reset() {
	o.mu.Lock()
	o.sessions = map[string]*session{}
	o.creds = newNamedCreds()
	o.mu.Unlock()
	o.apiUsed.Store(0)
	o.faults.clear()
	o.storeMu.Lock()
	o.events = nil
	o.byKey = map[string]string{}
	o.duplicates = 0
	o.storeMu.Unlock()
	o.stats.reset()
}

// ---- sessions ----

// maxSessions bounds the session map; beyond it expired sessions are swept.
const maxSessions = 10_000

func (o *org) newSession(now time.Time) string {
	tok := newAccessToken(o.ident.orgID15)
	o.mu.Lock()
	if len(o.sessions) >= maxSessions {
		for k, s := range o.sessions {
			if now.Sub(s.lastUsed) >= o.cfg.SessionTimeout {
				delete(o.sessions, k)
			}
		}
	}
	o.sessions[tok] = &session{issued: now, lastUsed: now}
	o.mu.Unlock()
	return tok
}

// useSession validates a token and slides its timeout.
func (o *org) useSession(tok string, now time.Time) bool {
	o.mu.Lock()
	defer o.mu.Unlock()
	s := o.sessions[tok]
	if s == nil {
		return false
	}
	if now.Sub(s.lastUsed) >= o.cfg.SessionTimeout {
		delete(o.sessions, tok)
		return false
	}
	s.lastUsed = now
	return true
}

// peekSession returns a copy of a live session without sliding it.
func (o *org) peekSession(tok string, now time.Time) (session, time.Duration, bool) {
	o.mu.Lock()
	defer o.mu.Unlock()
	s := o.sessions[tok]
	if s == nil || now.Sub(s.lastUsed) >= o.cfg.SessionTimeout {
		return session{}, 0, false
	}
	return *s, o.cfg.SessionTimeout, true
}

func (o *org) endSession(tok string) bool {
	o.mu.Lock()
	defer o.mu.Unlock()
	_, ok := o.sessions[tok]
	delete(o.sessions, tok)
	return ok
}

func (o *org) expireSessions() int {
	o.mu.Lock()
	defer o.mu.Unlock()
	n := len(o.sessions)
	o.sessions = map[string]*session{}
	return n
}

func (o *org) activeSessions(now time.Time) int {
	o.mu.Lock()
	defer o.mu.Unlock()
	n := 0
	for _, s := range o.sessions {
		if now.Sub(s.lastUsed) < o.cfg.SessionTimeout {
			n++
		}
	}
	return n
}

// ---- API allocation ----

// consumeAPI counts one API call; false when the allocation is used up.
func (o *org) consumeAPI() bool {
	for {
		used, limit := o.apiUsed.Load(), o.apiMax.Load()
		if used >= limit {
			return false
		}
		if o.apiUsed.CompareAndSwap(used, used+1) {
			return true
		}
	}
}

func (o *org) limitInfo() string {
	return "api-usage=" + strconv.FormatInt(o.apiUsed.Load(), 10) + "/" + strconv.FormatInt(o.apiMax.Load(), 10)
}

// ---- in-flight requests ----

func (o *org) enterFlight(now time.Time) uint64 {
	o.flightMu.Lock()
	o.flightSeq++
	id := o.flightSeq
	o.flight[id] = now
	n := len(o.flight)
	o.flightMu.Unlock()
	o.stats.observeInFlight(n)
	return id
}

func (o *org) leaveFlight(id uint64) {
	o.flightMu.Lock()
	delete(o.flight, id)
	o.flightMu.Unlock()
}

// overConcurrency tells whether ConcurrentLimit long requests other than
// self are already running.
func (o *org) overConcurrency(self uint64, now time.Time, limit int, threshold time.Duration) bool {
	if limit <= 0 {
		return false
	}
	o.flightMu.Lock()
	defer o.flightMu.Unlock()
	n := 0
	for id, start := range o.flight {
		if id != self && now.Sub(start) >= threshold {
			n++
		}
	}
	return n >= limit
}

func (o *org) inFlight() int {
	o.flightMu.Lock()
	defer o.flightMu.Unlock()
	return len(o.flight)
}

// ---- event store ----

// Record is one stored managed-package event with what the package added.
type Record struct {
	// ID is the 18-character record id returned as "id".
	ID string `json:"id"`
	// BatchID is the batchId of the request that stored it.
	BatchID string `json:"batch_id"`
	// ReceivedAt is when it was stored.
	ReceivedAt time.Time `json:"received_at"`
	// Event is the event object exactly as sent.
	Event json.RawMessage `json:"event"`
}

func (o *org) snapshotEvents() ([]json.RawMessage, int) {
	o.storeMu.Lock()
	defer o.storeMu.Unlock()
	out := make([]json.RawMessage, len(o.events))
	for i, e := range o.events {
		out[i] = e.raw
	}
	return out, o.duplicates
}

func (o *org) snapshotRecords() ([]Record, int) {
	o.storeMu.Lock()
	defer o.storeMu.Unlock()
	out := make([]Record, len(o.events))
	for i, e := range o.events {
		out[i] = Record{ID: e.id, BatchID: e.batchID, ReceivedAt: e.received, Event: e.raw}
	}
	return out, o.duplicates
}

func (o *org) storeCounts() (stored, duplicates int) {
	o.storeMu.Lock()
	defer o.storeMu.Unlock()
	return len(o.events), o.duplicates
}

// ---- stats ----

// RequestRecord is one Salesforce request seen by an org.
type RequestRecord struct {
	Time     time.Time `json:"time"`
	Method   string    `json:"method"`
	Path     string    `json:"path"` // org-relative, without the query
	Endpoint string    `json:"endpoint"`
	// Status is the HTTP status answered; 0 when the connection was reset
	// or the request hung until the client gave up.
	Status     int     `json:"status"`
	ErrorCode  string  `json:"error_code,omitempty"`
	DurationMS float64 `json:"duration_ms"`
	// DelayMS is the latency injected by faults.
	DelayMS float64 `json:"delay_ms,omitempty"`
	// Fault is the kind of fault that acted, if any ("latency" only when
	// nothing else did).
	Fault   string `json:"fault,omitempty"`
	FaultID string `json:"fault_id,omitempty"`
	// Event POSTs: the batch, its size and outcome counts.
	BatchID    string `json:"batch_id,omitempty"`
	BodyBytes  int64  `json:"body_bytes,omitempty"`
	Events     int    `json:"events,omitempty"`
	Created    int    `json:"created,omitempty"`
	Duplicates int    `json:"duplicates,omitempty"`
	Rejected   int    `json:"rejected,omitempty"`
}

// APIUsage is an org's daily API allocation and its use.
type APIUsage struct {
	Used      int64 `json:"used"`
	Max       int64 `json:"max"`
	Remaining int64 `json:"remaining"`
}

// OrgStats is what an org has seen since it was created or reset.
type OrgStats struct {
	Org            string   `json:"org"`
	APIUsage       APIUsage `json:"api_usage"`
	TokensIssued   int64    `json:"tokens_issued"`
	TokenErrors    int64    `json:"token_errors"`
	ActiveSessions int      `json:"active_sessions"`
	// Requests counts Salesforce requests (not /_sim/).
	Requests   int64            `json:"requests"`
	ByStatus   map[string]int64 `json:"by_status"`
	ByEndpoint map[string]int64 `json:"by_endpoint"`
	// Batches counts event POSTs that reached the package and were stored
	// (answered 200, or failed after the commit).
	Batches int64 `json:"batches"`
	// BatchSizes counts those batches by number of events.
	BatchSizes      map[string]int64 `json:"batch_sizes"`
	MaxBatchSize    int              `json:"max_batch_size"`
	EventsReceived  int64            `json:"events_received"`
	EventsCreated   int64            `json:"events_created"`
	EventsDuplicate int64            `json:"events_duplicate"`
	EventsRejected  int64            `json:"events_rejected"`
	EventsStored    int              `json:"events_stored"`
	InFlight        int              `json:"in_flight"`
	PeakInFlight    int              `json:"peak_in_flight"`
	FaultsFired     int64            `json:"faults_fired"`
	Callouts        int64            `json:"callouts"`
	// RequestLog holds the latest requests, oldest first.
	RequestLog        []RequestRecord `json:"request_log"`
	RequestLogDropped int64           `json:"request_log_dropped"`
}

type orgStats struct {
	mu sync.Mutex
	orgCounters
}

// orgCounters is the resettable part of orgStats.
type orgCounters struct {
	tokensIssued    int64
	tokenErrors     int64
	requests        int64
	byStatus        map[int]int64
	byEndpoint      map[string]int64
	batches         int64
	batchSizes      map[int]int64
	maxBatch        int
	eventsReceived  int64
	eventsCreated   int64
	eventsDuplicate int64
	eventsRejected  int64
	peakInFlight    int
	faultsFired     int64
	callouts        int64
	log             []RequestRecord
	logHead         int // index of the oldest entry once the ring is full
	logSize         int
	dropped         int64
}

func (st *orgStats) init(size int) {
	st.logSize = size
	st.byStatus = map[int]int64{}
	st.byEndpoint = map[string]int64{}
	st.batchSizes = map[int]int64{}
}

func (st *orgStats) reset() {
	st.mu.Lock()
	defer st.mu.Unlock()
	size := st.logSize
	st.orgCounters = orgCounters{}
	st.init(size)
}

func (st *orgStats) observeInFlight(n int) {
	st.mu.Lock()
	if n > st.peakInFlight {
		st.peakInFlight = n
	}
	st.mu.Unlock()
}

func (st *orgStats) add(f func(st *orgStats)) {
	st.mu.Lock()
	f(st)
	st.mu.Unlock()
}

func (st *orgStats) record(r RequestRecord, faultFired bool) {
	st.mu.Lock()
	defer st.mu.Unlock()
	st.requests++
	st.byStatus[r.Status]++
	st.byEndpoint[r.Endpoint]++
	if faultFired {
		st.faultsFired++
	}
	if st.logSize <= 0 {
		st.dropped++
		return
	}
	if len(st.log) < st.logSize {
		st.log = append(st.log, r)
		return
	}
	st.log[st.logHead] = r
	st.logHead = (st.logHead + 1) % st.logSize
	st.dropped++
}

func (st *orgStats) batch(size, created, dup, rejected int) {
	st.mu.Lock()
	defer st.mu.Unlock()
	st.batches++
	st.batchSizes[size]++
	st.maxBatch = max(st.maxBatch, size)
	st.eventsReceived += int64(size)
	st.eventsCreated += int64(created)
	st.eventsDuplicate += int64(dup)
	st.eventsRejected += int64(rejected)
}

func (o *org) snapshotStats(now time.Time) OrgStats {
	stored, _ := o.storeCounts()
	used, limit := o.apiUsed.Load(), o.apiMax.Load()
	out := OrgStats{
		Org:            o.id,
		APIUsage:       APIUsage{Used: used, Max: limit, Remaining: max(limit-used, 0)},
		ActiveSessions: o.activeSessions(now),
		EventsStored:   stored,
		InFlight:       o.inFlight(),
	}
	st := &o.stats
	st.mu.Lock()
	defer st.mu.Unlock()
	out.TokensIssued, out.TokenErrors, out.Requests = st.tokensIssued, st.tokenErrors, st.requests
	out.ByStatus = make(map[string]int64, len(st.byStatus))
	for k, v := range st.byStatus {
		out.ByStatus[strconv.Itoa(k)] = v
	}
	out.ByEndpoint = make(map[string]int64, len(st.byEndpoint))
	for k, v := range st.byEndpoint {
		out.ByEndpoint[k] = v
	}
	out.Batches = st.batches
	out.BatchSizes = make(map[string]int64, len(st.batchSizes))
	for k, v := range st.batchSizes {
		out.BatchSizes[strconv.Itoa(k)] = v
	}
	out.MaxBatchSize = st.maxBatch
	out.EventsReceived, out.EventsCreated = st.eventsReceived, st.eventsCreated
	out.EventsDuplicate, out.EventsRejected = st.eventsDuplicate, st.eventsRejected
	out.PeakInFlight, out.FaultsFired, out.Callouts = st.peakInFlight, st.faultsFired, st.callouts
	out.RequestLog = make([]RequestRecord, 0, len(st.log))
	out.RequestLog = append(out.RequestLog, st.log[st.logHead:]...)
	out.RequestLog = append(out.RequestLog, st.log[:st.logHead]...)
	out.RequestLogDropped = st.dropped
	return out
}

// hostLabel returns the lower-case form used for Host routing.
func hostLabel(id string) string { return strings.ToLower(id) }
