package sfsim

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"go.uber.org/zap"
)

// Errors returned by the [Server] methods; match them with errors.Is.
var (
	// ErrUnknownOrg: no org has that id.
	ErrUnknownOrg = errors.New("unknown org")
	// ErrOrgExists: an org with that id (compared case-insensitively) exists.
	ErrOrgExists = errors.New("org already exists")
	// ErrUnknownFault: the org has no fault with that id.
	ErrUnknownFault = errors.New("unknown fault")
	// errClosed: the server is closing.
	errClosed = errors.New("sfsim: server closed")
)

// Server is the simulator. It implements [http.Handler]; serve it with
// net/http or httptest. It is safe for concurrent use.
type Server struct {
	cfg        Config
	log        *zap.Logger
	apiVersion int
	versions   []byte // GET /services/data/ body

	mu   sync.RWMutex
	orgs map[string]*org // by lower-case id

	closing   chan struct{}
	closeOnce sync.Once

	rngMu sync.Mutex
	rng   *rand.Rand

	faultSeq atomic.Uint64
}

// New builds a Server from cfg; see [Config] for defaults. It starts no
// goroutine.
func New(cfg Config) (*Server, error) {
	cfg.Orgs = append([]OrgConfig(nil), cfg.Orgs...)
	cfg.setDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("sfsim: %w", err)
	}
	v, _ := parseAPIVersion(cfg.APIVersion)
	seed := cfg.Seed
	if seed == 0 {
		seed = uint64(time.Now().UnixNano())
	}
	s := &Server{
		cfg:        cfg,
		log:        cfg.Logger,
		apiVersion: v,
		versions:   versionsBody(v),
		orgs:       map[string]*org{},
		closing:    make(chan struct{}),
		rng:        rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15)),
	}
	for _, o := range cfg.Orgs {
		s.orgs[hostLabel(o.ID)] = newOrg(o, cfg.RequestLogSize)
	}
	return s, nil
}

// AddOrg defines a new org. It fails with [ErrOrgExists] if the id is taken
// and with [ErrInvalidConfig] if the configuration is invalid.
func (s *Server) AddOrg(o OrgConfig) error {
	o.setDefaults()
	if err := o.Validate(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.orgs[hostLabel(o.ID)]; ok {
		return fmt.Errorf("%w: %q", ErrOrgExists, o.ID)
	}
	s.orgs[hostLabel(o.ID)] = newOrg(o, s.cfg.RequestLogSize)
	s.log.Info("Org added", zap.String("org", o.ID))
	return nil
}

// UpdateOrg changes settings of an org (e.g. rotates its secrets). Sessions
// already issued stay valid.
func (s *Server) UpdateOrg(id string, p OrgPatch) error {
	o, err := s.org(id)
	if err != nil {
		return err
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	cfg := o.cfg
	p.apply(&cfg)
	cfg.setDefaults()
	if err := cfg.Validate(); err != nil {
		return err
	}
	o.cfg = cfg
	o.apiMax.Store(int64(cfg.DailyAPIMax))
	s.log.Info("Org updated", zap.String("org", o.id))
	return nil
}

// RemoveOrg deletes an org and all its state.
func (s *Server) RemoveOrg(id string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.orgs[hostLabel(id)]; !ok {
		return fmt.Errorf("%w: %q", ErrUnknownOrg, id)
	}
	delete(s.orgs, hostLabel(id))
	return nil
}

// Orgs returns the configuration of every org, sorted by id.
func (s *Server) Orgs() []OrgConfig {
	s.mu.RLock()
	list := make([]*org, 0, len(s.orgs))
	for _, o := range s.orgs {
		list = append(list, o)
	}
	s.mu.RUnlock()
	out := make([]OrgConfig, 0, len(list))
	for _, o := range list {
		out = append(out, o.config())
	}
	sortOrgs(out)
	return out
}

func sortOrgs(l []OrgConfig) {
	for i := 1; i < len(l); i++ {
		for j := i; j > 0 && l[j].ID < l[j-1].ID; j-- {
			l[j], l[j-1] = l[j-1], l[j]
		}
	}
}

func (s *Server) org(id string) (*org, error) {
	s.mu.RLock()
	o := s.orgs[hostLabel(id)]
	s.mu.RUnlock()
	if o == nil {
		return nil, fmt.Errorf("%w: %q", ErrUnknownOrg, id)
	}
	return o, nil
}

// SetFault adds a fault to an org, as POST /_sim/orgs/{id}/faults does. An
// expire_sessions fault acts at once and is not kept. Use [Server.AddFault]
// to learn the id given to the fault.
func (s *Server) SetFault(org string, f Fault) error {
	_, err := s.AddFault(org, f)
	return err
}

// AddFault adds a fault to an org and returns it with its id and window
// resolved. Errors: [ErrUnknownOrg], [ErrInvalidFault].
func (s *Server) AddFault(org string, f Fault) (Fault, error) {
	o, err := s.org(org)
	if err != nil {
		return Fault{}, err
	}
	if err := f.Validate(); err != nil {
		return Fault{}, err
	}
	f.ID = "f" + strconv.FormatUint(s.faultSeq.Add(1), 10)
	if f.Target == "" {
		f.Target = defaultTarget(f.Kind)
	}
	if f.Duration > 0 {
		start := f.From
		if start.IsZero() {
			start = s.cfg.Now()
		}
		f.Until = start.Add(f.Duration)
	}
	if f.Kind == KindExpireSessions {
		n := o.expireSessions()
		s.log.Info("Sessions expired", zap.String("org", o.id), zap.Int("sessions", n))
		o.stats.add(func(st *orgStats) { st.faultsFired++ })
		return f, nil
	}
	o.faults.add(f)
	s.log.Info("Fault added", zap.String("org", o.id), zap.String("fault_id", f.ID), zap.String("kind", string(f.Kind)))
	return f, nil
}

// Faults lists an org's faults with their counters, in the order added.
func (s *Server) Faults(org string) ([]FaultState, error) {
	o, err := s.org(org)
	if err != nil {
		return nil, err
	}
	return o.faults.list(s.cfg.Now()), nil
}

// RemoveFault removes one fault. Errors: [ErrUnknownOrg], [ErrUnknownFault].
func (s *Server) RemoveFault(org, id string) error {
	o, err := s.org(org)
	if err != nil {
		return err
	}
	if !o.faults.remove(id) {
		return fmt.Errorf("%w: %q", ErrUnknownFault, id)
	}
	return nil
}

// ClearFaults removes every fault of an org; an unknown org is ignored.
func (s *Server) ClearFaults(org string) {
	if o, err := s.org(org); err == nil {
		o.faults.clear()
	}
}

// ExpireSessions ends every session of an org and returns how many there
// were.
func (s *Server) ExpireSessions(org string) (int, error) {
	o, err := s.org(org)
	if err != nil {
		return 0, err
	}
	return o.expireSessions(), nil
}

// SetAPIUsage sets how much of the daily API allocation an org has used.
func (s *Server) SetAPIUsage(org string, used int64) error {
	o, err := s.org(org)
	if err != nil {
		return err
	}
	if used < 0 {
		return fmt.Errorf("%w: api usage must not be negative", ErrInvalidConfig)
	}
	o.apiUsed.Store(used)
	return nil
}

// Events returns the events stored by an org's package, in arrival order,
// each exactly as it was sent, and how many duplicates were received.
func (s *Server) Events(org string) (events []json.RawMessage, duplicates int, err error) {
	o, err := s.org(org)
	if err != nil {
		return nil, 0, err
	}
	events, duplicates = o.snapshotEvents()
	return events, duplicates, nil
}

// Records returns the stored events with their record ids and batch ids.
func (s *Server) Records(org string) ([]Record, int, error) {
	o, err := s.org(org)
	if err != nil {
		return nil, 0, err
	}
	r, d := o.snapshotRecords()
	return r, d, nil
}

// Stats returns an org's counters and recent requests.
func (s *Server) Stats(org string) (OrgStats, error) {
	o, err := s.org(org)
	if err != nil {
		return OrgStats{}, err
	}
	return o.snapshotStats(s.cfg.Now()), nil
}

// Reset clears an org's state — stored events, duplicates, API usage,
// sessions, faults, named credentials and stats — and keeps its
// configuration. Record ids keep increasing.
func (s *Server) Reset(org string) error {
	o, err := s.org(org)
	if err != nil {
		return err
	}
	o.reset()
	s.log.Info("Org reset", zap.String("org", o.id))
	return nil
}

// ResetAll resets every org.
func (s *Server) ResetAll() {
	s.mu.RLock()
	list := make([]*org, 0, len(s.orgs))
	for _, o := range s.orgs {
		list = append(list, o)
	}
	s.mu.RUnlock()
	for _, o := range list {
		o.reset()
	}
}

// Close releases every hung request and interrupts injected latency: those
// connections are reset. The Server keeps answering other requests. Close
// is idempotent.
func (s *Server) Close() {
	s.closeOnce.Do(func() { close(s.closing) })
}

func (s *Server) randFloat() float64 {
	s.rngMu.Lock()
	defer s.rngMu.Unlock()
	return s.rng.Float64()
}

func (s *Server) randPair() (float64, float64) {
	s.rngMu.Lock()
	defer s.rngMu.Unlock()
	return s.rng.Float64(), s.rng.NormFloat64()
}

// sleep waits d, or until ctx is done or the server closes.
func (s *Server) sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	case <-s.closing:
		return errClosed
	}
}

// ---- routing ----

// endpoint classifies a request for fault targets and stats.
type endpoint int

const (
	epOther endpoint = iota
	epToken
	epIntrospect
	epRevoke
	epVersions
	epLimits
	epData
	epNamedCred
	epEvent
)

var endpointNames = [...]string{"other", "token", "introspect", "revoke", "versions", "limits", "data", "named_credentials", "event"}

// String names the endpoint as the stats do.
func (e endpoint) String() string { return endpointNames[e] }

func (e endpoint) isAPI() bool {
	return e == epLimits || e == epData || e == epNamedCred || e == epEvent
}

func classify(path string) endpoint {
	switch path {
	case "/services/oauth2/token":
		return epToken
	case "/services/oauth2/introspect":
		return epIntrospect
	case "/services/oauth2/revoke":
		return epRevoke
	case "/services/data", "/services/data/":
		return epVersions
	}
	if rest, ok := strings.CutPrefix(path, "/services/data/"); ok {
		_, sub, _ := strings.Cut(rest, "/")
		switch {
		case sub == "limits" || sub == "limits/":
			return epLimits
		case sub == "named-credentials" || strings.HasPrefix(sub, "named-credentials/"):
			return epNamedCred
		}
		return epData
	}
	if path == "/services/apexrest" || strings.HasPrefix(path, "/services/apexrest/") {
		return epEvent
	}
	return epOther
}

const (
	hostSuffix        = ".my.salesforce.com"
	sandboxHostSuffix = ".sandbox.my.salesforce.com"
)

// ServeHTTP routes a request: /_sim/... to the control API; /orgs/<org>/...
// and Host <org>.my.salesforce.com to that org; anything else to the
// generic host, which only knows the versions list and refuses the token
// endpoint with "request not supported on this domain". Instance URLs use
// https when the request came over TLS or with "X-Forwarded-Proto: https".
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	p := r.URL.Path
	if p == "/_sim" || strings.HasPrefix(p, "/_sim/") {
		s.serveControl(w, r)
		return
	}
	scheme := "http"
	if r.TLS != nil || strings.EqualFold(r.Header.Get("X-Forwarded-Proto"), "https") {
		scheme = "https"
	}
	if rest, ok := strings.CutPrefix(p, "/orgs/"); ok {
		id, sub, _ := strings.Cut(rest, "/")
		o, _ := s.org(id)
		if o == nil {
			s.serveUnknownOrg(w, r, id)
			return
		}
		s.serveOrg(w, r, o, scheme+"://"+r.Host+"/orgs/"+id, "/"+sub)
		return
	}
	host := strings.ToLower(r.Host)
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	var label string
	switch {
	case strings.HasSuffix(host, sandboxHostSuffix):
		label = strings.TrimSuffix(host, sandboxHostSuffix)
	case strings.HasSuffix(host, hostSuffix):
		label = strings.TrimSuffix(host, hostSuffix)
	}
	if label != "" && !strings.Contains(label, ".") {
		o, _ := s.org(label)
		if o == nil {
			s.serveUnknownOrg(w, r, label)
			return
		}
		s.serveOrg(w, r, o, scheme+"://"+r.Host, p)
		return
	}
	s.serveOrg(w, r, nil, scheme+"://"+r.Host, p)
}

func (s *Server) serveUnknownOrg(w http.ResponseWriter, r *http.Request, id string) {
	c := &call{s: s, w: w, r: r}
	c.sfError(http.StatusNotFound, "NOT_FOUND", fmt.Sprintf("sfsim: no org %q", id))
}

// call is one Salesforce request being served.
type call struct {
	s         *Server
	o         *org // nil on the generic host
	w         http.ResponseWriter
	r         *http.Request
	base      string // instance URL of the org as reached
	path      string // org-relative path
	ep        endpoint
	start     time.Time
	now       time.Time
	rec       RequestRecord
	fired     bool
	limitInfo bool
	flightID  uint64
}

func (s *Server) serveOrg(w http.ResponseWriter, r *http.Request, o *org, base, path string) {
	c := &call{s: s, o: o, w: w, r: r, base: base, path: path, ep: classify(path), start: time.Now(), now: s.cfg.Now()}
	c.rec = RequestRecord{Time: c.now, Method: r.Method, Path: path, Endpoint: c.ep.String()}
	if o != nil && c.ep.isAPI() {
		c.flightID = o.enterFlight(c.now)
	}
	defer c.finish()
	if o != nil && !c.transport() {
		return
	}
	switch c.ep {
	case epToken:
		c.token()
	case epIntrospect:
		c.introspect()
	case epRevoke:
		c.revoke()
	case epVersions:
		c.versions()
	case epLimits, epData, epNamedCred:
		if o == nil {
			c.notFound()
			return
		}
		c.data()
	case epEvent:
		if o == nil {
			c.notFound()
			return
		}
		c.apexREST()
	default:
		c.notFound()
	}
}

func (c *call) finish() {
	if c.o == nil {
		return
	}
	if c.flightID != 0 {
		c.o.leaveFlight(c.flightID)
	}
	c.rec.DurationMS = float64(time.Since(c.start).Microseconds()) / 1000
	c.o.stats.record(c.rec, c.fired)
	c.s.log.Debug("Request", zap.String("org", c.o.id), zap.String("method", c.r.Method),
		zap.String("path", c.path), zap.Int("status", c.rec.Status), zap.Float64("duration_ms", c.rec.DurationMS))
}

// fire records that a fault acted on this request.
func (c *call) fire(f *Fault) {
	c.fired = true
	c.rec.Fault = string(f.Kind)
	c.rec.FaultID = f.ID
}

// transport applies the faults that act before Salesforce looks at the
// request: latency, reset, hang and http_error. It reports whether the
// request goes on.
func (c *call) transport() bool {
	o := c.o
	if d, ok := o.faults.latency(c.s, c.now, c.ep, c.r.Method); ok {
		c.fired = true
		c.rec.Fault = string(KindLatency)
		c.rec.DelayMS = float64(d.Microseconds()) / 1000
		if d > 0 && c.r.Body != nil && c.r.Body != http.NoBody {
			// Read the body now so that a client giving up during the
			// delay cancels the request context.
			b, err := io.ReadAll(io.LimitReader(c.r.Body, maxDrainBytes))
			if err != nil {
				return false
			}
			c.r.Body = io.NopCloser(bytes.NewReader(b))
		}
		if err := c.s.sleep(c.r.Context(), d); err != nil {
			if errors.Is(err, errClosed) {
				c.reset()
			}
			return false
		}
	}
	f := o.faults.pick(c.s, c.now, c.ep, c.r.Method, KindReset, KindHang, KindHTTPError)
	if f == nil {
		return true
	}
	c.fire(f)
	c.failWith(f)
	return false
}

// failWith performs a terminal failure: reset, hang or an HTTP error.
func (c *call) failWith(f *Fault) {
	switch {
	case f.Kind == KindReset || f.Then == "reset":
		c.reset()
	case f.Kind == KindHang || f.Then == "hang":
		c.hang()
	default:
		c.httpError(f)
	}
}

// reset closes the connection abruptly (RST where possible).
func (c *call) reset() {
	c.rec.Status = 0
	conn, _, err := http.NewResponseController(c.w).Hijack()
	if err != nil {
		// HTTP/2 or a wrapped writer: abort the stream instead.
		panic(http.ErrAbortHandler)
	}
	nc := conn
	if u, ok := conn.(interface{ NetConn() net.Conn }); ok {
		nc = u.NetConn()
	}
	if tc, ok := nc.(*net.TCPConn); ok {
		_ = tc.SetLinger(0)
	}
	_ = conn.Close()
}

// hang holds the request until the client gives up or the server closes.
// The body is drained first: net/http notices a client going away only
// once the body has been read.
func (c *call) hang() {
	c.rec.Status = 0
	if c.r.Body != nil {
		_, _ = io.Copy(io.Discard, io.LimitReader(c.r.Body, maxDrainBytes))
	}
	select {
	case <-c.r.Context().Done():
	case <-c.s.closing:
		c.reset()
	}
}

// ---- response helpers ----

const (
	jsonContentType = "application/json;charset=UTF-8"
	htmlContentType = "text/html;charset=UTF-8"
)

func (c *call) writeRaw(status int, ctype string, body []byte) {
	h := c.w.Header()
	if ctype != "" {
		h.Set("Content-Type", ctype)
	}
	if c.limitInfo && c.o != nil {
		h.Set("Sforce-Limit-Info", c.o.limitInfo())
	}
	c.w.WriteHeader(status)
	if len(body) > 0 && c.r.Method != http.MethodHead {
		_, _ = c.w.Write(body)
	}
	c.rec.Status = status
}

func (c *call) writeJSON(status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		c.s.log.Error("Encode response", zap.Error(err))
		status, b = http.StatusInternalServerError, []byte(`[{"message":"encoding failed","errorCode":"UNKNOWN_EXCEPTION"}]`)
	}
	c.writeRaw(status, jsonContentType, b)
}

// apiError is one element of Salesforce's REST error array.
type apiError struct {
	Message   string   `json:"message"`
	ErrorCode string   `json:"errorCode"`
	Fields    []string `json:"fields,omitempty"`
}

func (c *call) sfError(status int, code, msg string, fields ...string) {
	c.rec.ErrorCode = code
	c.writeJSON(status, []apiError{{Message: msg, ErrorCode: code, Fields: fields}})
}

func (c *call) notFound() {
	c.sfError(http.StatusNotFound, "NOT_FOUND", "The requested resource does not exist")
}

func (c *call) invalidSession() {
	c.sfError(http.StatusUnauthorized, "INVALID_SESSION_ID", "Session expired or invalid")
}

func (c *call) methodNotAllowed(allowed ...string) {
	c.w.Header().Set("Allow", strings.Join(allowed, ", "))
	c.sfError(http.StatusMethodNotAllowed, "METHOD_NOT_ALLOWED",
		fmt.Sprintf("HTTP Method '%s' not allowed. Allowed are %s", c.r.Method, strings.Join(allowed, ",")))
}

// defaultHTTPErrors are the bodies of http_error faults per status.
var defaultHTTPErrors = map[int][2]string{
	400: {"JSON_PARSER_ERROR", "Unexpected character ('<' (code 60)): expected a valid value (number, String, array, object, 'true', 'false' or 'null') at [line:1, column:2]"},
	401: {"INVALID_SESSION_ID", "Session expired or invalid"},
	403: {"API_CURRENTLY_DISABLED", "API is disabled for this User"},
	404: {"NOT_FOUND", "Could not find a match for URL"},
	405: {"METHOD_NOT_ALLOWED", "HTTP Method not allowed"},
	415: {"UNSUPPORTED_MEDIA_TYPE", "Content-Type header specified in HTTP request is not supported"},
	500: {"UNKNOWN_EXCEPTION", "An unexpected error occurred. Please include this ErrorId if you contact support: 1849307254-61327 (-1376427381)"},
	503: {"SERVER_UNAVAILABLE", "Server too busy"},
}

func (c *call) httpError(f *Fault) {
	status := f.Status
	if status == 0 {
		status = http.StatusServiceUnavailable
	}
	if f.RetryAfter > 0 {
		c.w.Header().Set("Retry-After", strconv.Itoa(f.RetryAfter))
	}
	// Salesforce's edge answers 502 and 420 with an HTML page.
	if f.HTML || ((status == http.StatusBadGateway || status == 420) && f.ErrorCode == "" && f.Message == "") {
		c.writeRaw(status, htmlContentType, htmlPage(status))
		return
	}
	def, ok := defaultHTTPErrors[status]
	if !ok {
		text := statusText(status)
		def = [2]string{strings.ToUpper(strings.NewReplacer(" ", "_", "-", "_").Replace(text)), text}
	}
	code, msg := def[0], def[1]
	if f.ErrorCode != "" {
		code = f.ErrorCode
	}
	if f.Message != "" {
		msg = f.Message
	}
	c.sfError(status, code, msg)
}

func statusText(status int) string {
	if status == 420 {
		return "Edge Routing Error"
	}
	if t := http.StatusText(status); t != "" {
		return t
	}
	return "HTTP " + strconv.Itoa(status)
}

func htmlPage(status int) []byte {
	switch status {
	case http.StatusServiceUnavailable:
		return []byte(`<!DOCTYPE html>
<html><head><title>Service Not Available</title></head>
<body><h1>Service Not Available</h1>
<p>The server is temporarily unable to service your request due to maintenance downtime or capacity problems. Please try again later.</p>
</body></html>
`)
	case http.StatusBadGateway:
		return []byte(`<!DOCTYPE html>
<html><head><title>502 Bad Gateway</title></head>
<body><h1>Bad Gateway</h1>
<p>The proxy server received an invalid response from an upstream server.</p>
</body></html>
`)
	}
	text := statusText(status)
	return []byte(fmt.Sprintf("<!DOCTYPE html>\n<html><head><title>%d %s</title></head>\n<body><h1>%s</h1></body></html>\n", status, text, text))
}
