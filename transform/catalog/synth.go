package catalog

import (
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Envelope constants of every generated event.
const (
	synSchemaVersion   = "1.0.0"
	synVelocityVersion = "4.14.2"
	synJuniferVersion  = "6.2.1"
	synVelocity        = "velocity"
	synJunifer         = "junifer"
	synDefaultTenant   = "acme-energy"
	synDefaultAccounts = 50
	synMaxAccounts     = 100000
	synDefaultEnv      = "test"
	synSubjectPrefix   = "gcis.events."
)

// synDefaultNow is the base time used when GeneratorConfig.Now is zero.
var synDefaultNow = time.Date(2025, time.April, 1, 0, 0, 0, 0, time.UTC)

// ErrUnknownCatalogType is returned (wrapped) by [Example] for a source or
// event type that is not in the catalogue.
var ErrUnknownCatalogType = errors.New("not a catalogue event type")

// synKind is one of the 22 catalogue event types.
type synKind uint8

const (
	kvQuoteAccepted synKind = iota
	kvContractCreated
	kvContractActive
	kvAccountCreated
	kvCustomerUpdated
	kvSwitchGainStarted
	kvSwitchGainObjected
	kvSwitchGainFinished
	kvSwitchLossStarted
	kvServicePointUpdated
	kvBillReady
	kjCustomerCreated
	kjAccountCreated
	kjContactUpdated
	kjAgreementCreated
	kjRegistrationRequested
	kjRegistrationObjected
	kjSupplyStarted
	kjLossNotified
	kjBillAccepted
	kjDirectDebitCreated
	kjTicketStatusChanged
	synNumKinds
)

type synKindInfo struct {
	source, eventType, native, entityType string
}

// synKinds lists the catalogue in catalog.md order, Velocity first.
var synKinds = [synNumKinds]synKindInfo{
	kvQuoteAccepted:         {synVelocity, "quote-accepted", "velocity::QuoteAccepted", "Quote"},
	kvContractCreated:       {synVelocity, "contract-created", "velocity::ContractCreated", "Contract"},
	kvContractActive:        {synVelocity, "contract-active", "velocity::ContractActive", "Contract"},
	kvAccountCreated:        {synVelocity, "account-created", "velocity::AccountCreated", "Account"},
	kvCustomerUpdated:       {synVelocity, "customer-updated", "velocity::CustomerUpdated", "Customer"},
	kvSwitchGainStarted:     {synVelocity, "switch-gain-started", "velocity::SwitchGainStarted", "ServicePoint"},
	kvSwitchGainObjected:    {synVelocity, "switch-gain-objected", "velocity::SwitchGainObjected", "ServicePoint"},
	kvSwitchGainFinished:    {synVelocity, "switch-gain-finished", "velocity::SwitchGainFinished", "ServicePoint"},
	kvSwitchLossStarted:     {synVelocity, "switch-loss-started", "velocity::SwitchLossStarted", "ServicePoint"},
	kvServicePointUpdated:   {synVelocity, "service-point-updated", "velocity::ServicePointUpdated", "ServicePoint"},
	kvBillReady:             {synVelocity, "bill-ready", "velocity::BillReady", "Bill"},
	kjCustomerCreated:       {synJunifer, "customer-created", "junifer::CustomerCreated", "Customer"},
	kjAccountCreated:        {synJunifer, "account-created", "junifer::AccountCreated", "Account"},
	kjContactUpdated:        {synJunifer, "contact-updated", "junifer::ContactUpdated", "Contact"},
	kjAgreementCreated:      {synJunifer, "agreement-created", "junifer::AgreementCreated", "Agreement"},
	kjRegistrationRequested: {synJunifer, "meter-point-registration-requested", "junifer::MeterPointRegistrationRequested", "MeterPoint"},
	kjRegistrationObjected:  {synJunifer, "meter-point-registration-objected", "junifer::MeterPointRegistrationObjected", "MeterPoint"},
	kjSupplyStarted:         {synJunifer, "meter-point-supply-started", "junifer::MeterPointSupplyStarted", "MeterPoint"},
	kjLossNotified:          {synJunifer, "meter-point-loss-notified", "junifer::MeterPointLossNotified", "MeterPoint"},
	kjBillAccepted:          {synJunifer, "bill-accepted", "junifer::BillAccepted", "Bill"},
	kjDirectDebitCreated:    {synJunifer, "direct-debit-created", "junifer::DirectDebitCreated", "DirectDebit"},
	kjTicketStatusChanged:   {synJunifer, "ticket-status-changed", "junifer::TicketStatusChanged", "Ticket"},
}

// synFindKind returns the kind of a source's event type.
func synFindKind(source, eventType string) (synKind, bool) {
	for k := range synNumKinds {
		if synKinds[k].source == source && synKinds[k].eventType == eventType {
			return k, true
		}
	}
	return 0, false
}

// EventTypes returns the 11 catalogue event types of source ("velocity" or
// "junifer") in catalogue order, as a new slice; nil for any other source.
func EventTypes(source string) []string {
	var out []string
	for k := range synNumKinds {
		if synKinds[k].source == source {
			out = append(out, synKinds[k].eventType)
		}
	}
	return out
}

// GeneratorConfig configures a [Generator]. The zero value is valid and
// means: tenant "acme-energy", both sources, 50 accounts per tenant and
// source, every catalogue type, seed 0, base time 2025-04-01T00:00:00Z.
type GeneratorConfig struct {
	// Seed makes the stream reproducible: the same configuration and seed
	// give byte-identical events. Optional.
	Seed int64
	// Tenants are the GCIS tenant ids events are generated for (each 1–64
	// characters of [A-Za-z0-9_-], no duplicates). Optional; default
	// ["acme-energy"].
	Tenants []string
	// Sources are the source systems to generate for: "velocity",
	// "junifer". Optional; default both.
	Sources []string
	// AccountsPerTenant is the number of accounts live at a time per
	// tenant and source; an account that leaves is replaced by a new one,
	// so the stream never ends. Optional; default 50; at most 100,000.
	AccountsPerTenant int
	// Types restricts the output to these event types (kebab-case, each a
	// catalogue type of at least one selected source). Accounts still go
	// through their whole life; only the listed types are returned, and a
	// source with none of them is not generated. Optional; default all.
	Types []string
	// Now is the base time: the first accounts start in the week after it.
	// Optional; default 2025-04-01T00:00:00Z, so output is reproducible.
	Now time.Time
	// Environment is the envelope's environment: "development", "test" or
	// "production". Optional; default "test".
	Environment string
}

var synTenantRe = regexp.MustCompile(`^[A-Za-z0-9_-]{1,64}$`)

var synKebabRe = regexp.MustCompile(`^[a-z0-9]+(-[a-z0-9]+)*$`)

func (c *GeneratorConfig) setDefaults() {
	if len(c.Tenants) == 0 {
		c.Tenants = []string{synDefaultTenant}
	}
	if len(c.Sources) == 0 {
		c.Sources = []string{synVelocity, synJunifer}
	}
	if c.AccountsPerTenant == 0 {
		c.AccountsPerTenant = synDefaultAccounts
	}
	if c.Now.IsZero() {
		c.Now = synDefaultNow
	}
	if c.Environment == "" {
		c.Environment = synDefaultEnv
	}
}

// Validate reports every problem of the configuration at once (joined with
// errors.Join). Zero values are valid: they mean the defaults.
func (c GeneratorConfig) Validate() error {
	var errs []error
	seen := map[string]bool{}
	for i, t := range c.Tenants {
		if !synTenantRe.MatchString(t) {
			errs = append(errs, fmt.Errorf("tenants[%d]: %q is not 1-64 characters of [A-Za-z0-9_-]", i, t))
		} else if seen[t] {
			errs = append(errs, fmt.Errorf("tenants[%d]: duplicate tenant %q", i, t))
		}
		seen[t] = true
	}
	sources := c.Sources
	if len(sources) == 0 {
		sources = []string{synVelocity, synJunifer}
	}
	seen = map[string]bool{}
	for i, s := range c.Sources {
		if s != synVelocity && s != synJunifer {
			errs = append(errs, fmt.Errorf("sources[%d]: %q is not velocity or junifer", i, s))
		} else if seen[s] {
			errs = append(errs, fmt.Errorf("sources[%d]: duplicate source %q", i, s))
		}
		seen[s] = true
	}
	if c.AccountsPerTenant < 0 || c.AccountsPerTenant > synMaxAccounts {
		errs = append(errs, fmt.Errorf("accounts_per_tenant: %d is not between 0 (default) and %d", c.AccountsPerTenant, synMaxAccounts))
	}
	for i, t := range c.Types {
		if !synKebabRe.MatchString(t) {
			errs = append(errs, fmt.Errorf("types[%d]: %q is not a kebab-case event type", i, t))
			continue
		}
		found := false
		for _, s := range sources {
			if _, ok := synFindKind(s, t); ok {
				found = true
			}
		}
		if !found {
			errs = append(errs, fmt.Errorf("types[%d]: %q is not a catalogue type of sources %v", i, t, sources))
		}
	}
	switch c.Environment {
	case "", "development", "test", "production":
	default:
		errs = append(errs, fmt.Errorf("environment: %q is not development, test or production", c.Environment))
	}
	return errors.Join(errs...)
}

// Event is one generated source event, ready to publish.
type Event struct {
	// Subject is the NATS subject: gcis.events.<tenant>.<source>.<eventType>.
	Subject string
	// MsgID is the event's eventId, to be sent as the Nats-Msg-Id header.
	MsgID string
	// Tenant is the envelope's tenantId.
	Tenant string
	// Source is "velocity" or "junifer".
	Source string
	// EventType is the catalogue event type, e.g. "bill-accepted".
	EventType string
	// Body is the compact JSON envelope (contract README §2).
	Body []byte
}

// Generator produces an endless, reproducible stream of realistic
// synthetic events (see the package documentation). It is not safe for
// concurrent use; give each goroutine its own Generator.
type Generator struct {
	cfg     GeneratorConfig
	r       *rand.Rand
	heap    []*synSlot
	allow   [synNumKinds]bool
	enc     synEncoder
	seq     int
	emitted uint64
}

// synSlot is one account position of a tenant and source; when its
// account leaves, a new account takes its place.
type synSlot struct {
	ts   *synTenantSource
	acct *synAccount
	seq  int // tie-break for equal times: creation order
}

// synTenantSource holds the id counters of one tenant's core system.
type synTenantSource struct {
	tenant, source string
	counters       [synNumCounters]int64
}

const (
	cAccountNumber = iota
	cCustomerNumber
	cCustomerID
	cAccountID
	cContactID
	cAgreementID
	cMeterPointID
	cBillID
	cDirectDebitID
	cTicketID
	cQuote
	cContract
	synNumCounters
)

// NewGenerator returns a generator for cfg after applying its defaults and
// validating it; an invalid configuration returns an error wrapping the
// problems found by [GeneratorConfig.Validate]. Construction allocates one
// slot per tenant, source and account; account details are made when an
// account starts (about 3 KiB each).
func NewGenerator(cfg GeneratorConfig) (*Generator, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("invalid config: %w", err)
	}
	cfg.Tenants = slices.Clone(cfg.Tenants)
	cfg.Sources = slices.Clone(cfg.Sources)
	cfg.Types = slices.Clone(cfg.Types)
	cfg.setDefaults()
	g := &Generator{
		cfg: cfg,
		r:   rand.New(rand.NewPCG(uint64(cfg.Seed), uint64(cfg.Seed)^0x9e3779b97f4a7c15)),
	}
	for k := range synNumKinds {
		if !slices.Contains(cfg.Sources, synKinds[k].source) {
			continue
		}
		g.allow[k] = len(cfg.Types) == 0 || slices.Contains(cfg.Types, synKinds[k].eventType)
	}
	var sources []string
	for _, s := range cfg.Sources {
		for k := range synNumKinds {
			if synKinds[k].source == s && g.allow[k] {
				sources = append(sources, s)
				break
			}
		}
	}
	// Accounts of all tenants are interleaved: slot i of every tenant and
	// source is created before slot i+1, and the stream is ordered by time.
	var tss []*synTenantSource
	for _, t := range cfg.Tenants {
		for _, s := range sources {
			tss = append(tss, g.newTenantSource(t, s))
		}
	}
	spread := int64(7 * 24 * time.Hour / time.Second)
	for i := 0; i < cfg.AccountsPerTenant; i++ {
		for _, ts := range tss {
			s := &synSlot{ts: ts, seq: g.seq}
			g.seq++
			start := cfg.Now.Add(time.Duration(g.r.Int64N(spread)) * time.Second)
			s.acct = g.newAccount(ts, start)
			g.heap = append(g.heap, s)
		}
	}
	for i := len(g.heap)/2 - 1; i >= 0; i-- {
		g.down(i)
	}
	return g, nil
}

func (g *Generator) newTenantSource(tenant, source string) *synTenantSource {
	ts := &synTenantSource{tenant: tenant, source: source}
	c := &ts.counters
	if source == synVelocity {
		c[cAccountNumber] = 3000000000 + g.r.Int64N(900000)*10
		c[cCustomerNumber] = 10000 + g.r.Int64N(800000)
		c[cQuote] = 1000 + g.r.Int64N(8000)
		c[cContract] = 100000 + g.r.Int64N(700000)
		c[cBillID] = 90000000 + g.r.Int64N(9000000)
	} else {
		c[cAccountNumber] = 100 + g.r.Int64N(900)
		c[cCustomerNumber] = 100000 + g.r.Int64N(800000)
		c[cCustomerID] = 10000 + g.r.Int64N(50000)
		c[cAccountID] = 20000 + g.r.Int64N(50000)
		c[cContactID] = 5000 + g.r.Int64N(5000)
		c[cAgreementID] = 3000 + g.r.Int64N(5000)
		c[cMeterPointID] = 1000 + g.r.Int64N(1000)
		c[cBillID] = 10000 + g.r.Int64N(10000)
		c[cDirectDebitID] = 5000 + g.r.Int64N(2000)
		c[cTicketID] = 200 + g.r.Int64N(800)
	}
	return ts
}

// next returns the next value of counter c, advancing by 1 to step.
func (g *Generator) next(ts *synTenantSource, c, step int) int64 {
	ts.counters[c] += 1 + g.r.Int64N(int64(step))
	return ts.counters[c]
}

// Next returns the next event of the stream. The stream is ordered by
// occurredAt across all tenants, sources and accounts, so each account's
// events come in the order of its life. Next never blocks and never ends.
func (g *Generator) Next() Event {
	for {
		s := g.heap[0]
		a := s.acct
		st := &a.queue[a.head]
		a.head++
		var ev Event
		emit := g.allow[st.kind]
		if emit {
			ev = g.enc.event(g.r, g.cfg.Environment, a, st)
			g.emitted++
		} else {
			a.lastEventID, a.lastCorr = "", ""
		}
		if a.head == len(a.queue) {
			g.plan(s)
		}
		g.down(0)
		if emit {
			return ev
		}
	}
}

// heap on slots ordered by the time of each account's next step.

func (g *Generator) less(i, j int) bool {
	a, b := g.heap[i].acct, g.heap[j].acct
	ta, tb := a.queue[a.head].at, b.queue[b.head].at
	if !ta.Equal(tb) {
		return ta.Before(tb)
	}
	return g.heap[i].seq < g.heap[j].seq
}

func (g *Generator) down(i int) {
	n := len(g.heap)
	for {
		l := 2*i + 1
		if l >= n {
			return
		}
		m := l
		if r := l + 1; r < n && g.less(r, l) {
			m = r
		}
		if !g.less(m, i) {
			return
		}
		g.heap[i], g.heap[m] = g.heap[m], g.heap[i]
		i = m
	}
}

// ---------------------------------------------------------------------------
// Time zones. Offsets follow the current DST rules of each zone, computed
// here so the package needs no time zone database.

type synZone uint8

const (
	synZoneLondon   synZone = iota // Europe/London: Z or +01:00
	synZoneAUEast                  // NSW, VIC, ACT, TAS: +10:00 or +11:00
	synZoneBrisbane                // QLD: +10:00
	synZoneNZ                      // Pacific/Auckland: +12:00 or +13:00
)

var synFixedZones = map[int]*time.Location{
	0:     time.UTC,
	3600:  time.FixedZone("+01:00", 3600),
	36000: time.FixedZone("+10:00", 36000),
	39600: time.FixedZone("+11:00", 39600),
	43200: time.FixedZone("+12:00", 43200),
	46800: time.FixedZone("+13:00", 46800),
}

func synSunday(year int, month time.Month, nth int) int {
	d := time.Date(year, month, 1, 0, 0, 0, 0, time.UTC)
	first := 1 + (7-int(d.Weekday()))%7
	return first + 7*(nth-1)
}

func synLastSunday(year int, month time.Month) int {
	d := time.Date(year, month+1, 0, 0, 0, 0, 0, time.UTC) // last day of month
	return d.Day() - int(d.Weekday())
}

// offset returns the zone's UTC offset in seconds at instant t.
func (z synZone) offset(t time.Time) int {
	t = t.UTC()
	y := t.Year()
	switch z {
	case synZoneLondon:
		start := time.Date(y, time.March, synLastSunday(y, time.March), 1, 0, 0, 0, time.UTC)
		end := time.Date(y, time.October, synLastSunday(y, time.October), 1, 0, 0, 0, time.UTC)
		if !t.Before(start) && t.Before(end) {
			return 3600
		}
		return 0
	case synZoneAUEast:
		// Ends first Sunday in April 03:00 AEDT, starts first Sunday in
		// October 02:00 AEST: both Saturday 16:00 UTC.
		end := time.Date(y, time.April, synSunday(y, time.April, 1), 3-11, 0, 0, 0, time.UTC)
		start := time.Date(y, time.October, synSunday(y, time.October, 1), 2-10, 0, 0, 0, time.UTC)
		if t.Before(end) || !t.Before(start) {
			return 39600
		}
		return 36000
	case synZoneNZ:
		// Ends first Sunday in April 03:00 NZDT, starts last Sunday in
		// September 02:00 NZST: both Saturday 14:00 UTC.
		end := time.Date(y, time.April, synSunday(y, time.April, 1), 3-13, 0, 0, 0, time.UTC)
		start := time.Date(y, time.September, synLastSunday(y, time.September), 2-12, 0, 0, 0, time.UTC)
		if t.Before(end) || !t.Before(start) {
			return 46800
		}
		return 43200
	default:
		return 36000
	}
}

func (z synZone) std() int {
	switch z {
	case synZoneLondon:
		return 0
	case synZoneNZ:
		return 43200
	default:
		return 36000
	}
}

// local returns t as a wall clock in the zone.
func (z synZone) local(t time.Time) time.Time {
	off := z.offset(t)
	loc, ok := synFixedZones[off]
	if !ok {
		loc = time.FixedZone("", off)
	}
	return t.In(loc)
}

// date returns the local calendar date of t as midnight UTC.
func (z synZone) date(t time.Time) time.Time {
	l := z.local(t)
	return time.Date(l.Year(), l.Month(), l.Day(), 0, 0, 0, 0, time.UTC)
}

// at returns the instant of wall time h:m:s.ms on local date d (midnight UTC).
func (z synZone) at(d time.Time, h, m, s, ms int) time.Time {
	naive := time.Date(d.Year(), d.Month(), d.Day(), h, m, s, ms*1e6, time.UTC)
	off := z.offset(naive.Add(-time.Duration(z.std()) * time.Second))
	return naive.Add(-time.Duration(off) * time.Second)
}

const synTimeLayout = "2006-01-02T15:04:05.000Z07:00"

func (z synZone) stamp(t time.Time) string { return z.local(t).Format(synTimeLayout) }

func synDate(d time.Time) string { return d.Format(time.DateOnly) }

func synAddDays(d time.Time, n int) time.Time { return d.AddDate(0, 0, n) }

// ---------------------------------------------------------------------------
// Accounts and their planned steps.

type synPerson struct {
	title, first, last, preferred string
	dob                           time.Time
	email, phone                  string
}

type synAddress struct {
	line1, line2, suburb, city, state, postcode, country string
}

type synRegister struct {
	id          string
	dials       int
	unit        string
	measurement string
}

// synService is a Velocity service (NMI or ICP) or a Junifer meter point
// (MPAN core or MPRN).
type synService struct {
	serviceType  string // Electricity, Gas
	id           string // NMI, ICP, MPAN core, MPRN
	mpType       string // MPAN, MPRN (Junifer)
	meterPointID int64
	market       string
	network      *synNetwork
	tariff       string
	meterSerial  string
	meterType    string
	registers    []synRegister
	status       string
	previous     string // losing retailer / previous supplier
}

// synSwitch holds the facts of one switching step.
type synSwitch struct {
	txn       string
	reason    string
	proposed  time.Time // date
	transfer  time.Time // date
	objection string
	objector  string
	resubmit  bool
	other     string // losing or gaining retailer / supplier
	objected  time.Time
}

type synBill struct {
	id          int64
	ref         string
	issue, due  time.Time // dates
	from, to    time.Time // dates
	net, tax    int64     // minor units
	gross       int64
	first       bool
	final       bool
	version     int
	currency    string
	meterPoints []int
}

type synTicket struct {
	id                  int64
	code, name, summary string
	status              string
	created             time.Time
	mps                 []int // meter point indexes
}

// synStep is one planned event of an account. Only the facts its kind
// needs are set.
type synStep struct {
	kind synKind
	at   time.Time
	corr string
	svc  int
	sw   *synSwitch
	bill *synBill
	tk   *synTicket
}

// synRef returns a pointer to a copy of v.
func synRef[T any](v T) *T { return &v }

type synPhase uint8

const (
	synOnboarding synPhase = iota
	synLive
	synLeaving
)

type synAccount struct {
	ts       *synTenantSource
	zone     synZone
	country  string // AU, NZ, GB
	currency string
	number   string
	custNo   string
	business bool
	person   synPerson
	company  string
	trading  string
	compNo   string
	addr     synAddress
	services []synService

	// Velocity.
	quoteID, oppRef, offer, contractID, channel string
	termMonths                                  int
	activatedAt                                 time.Time

	// Junifer.
	customerID, accountID, contactID int64
	agreementID                      int64
	agreementName, productCode       string
	agreementFrom, agreementTo       time.Time
	paymentDD                        bool
	billDelivery                     string
	accountFrom                      time.Time
	created                          time.Time
	consent                          [3]bool // email, sms, post
	consentMethod                    string
	ddID                             int64
	ddSort, ddBank, ddName           string
	ddAmount                         int64
	ddAlign                          time.Time

	// Billing.
	monthly    int64 // typical monthly charge, minor units
	cycle      int   // months per bill
	lastTo     time.Time
	lastIssue  time.Time
	billsLeft  int
	billsSoFar int

	phase       synPhase
	queue       []synStep
	head        int
	last        time.Time
	lastEventID string
	lastCorr    string
	updates     int
}

func (g *Generator) between(lo, hi int) int { return lo + g.r.IntN(hi-lo+1) }

func (g *Generator) chance(p float64) bool { return g.r.Float64() < p }

func synPick[T any](r *rand.Rand, xs []T) T { return xs[r.IntN(len(xs))] }

func (g *Generator) digits(n int) string {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte('0' + g.r.IntN(10))
	}
	return string(b)
}

// businessTime returns a random instant on local date d between from and
// to o'clock.
func (g *Generator) businessTime(z synZone, d time.Time, from, to int) time.Time {
	return z.at(d, g.between(from, to-1), g.r.IntN(60), g.r.IntN(60), g.r.IntN(1000))
}

func (g *Generator) minutes(t time.Time, lo, hi int) time.Time {
	return t.Add(time.Duration(g.between(lo*60, hi*60))*time.Second + time.Duration(g.r.IntN(1000))*time.Millisecond)
}

// synFold strips macrons and punctuation for email local parts.
func synFold(s string) string {
	var b strings.Builder
	for _, c := range strings.ToLower(s) {
		switch c {
		case 'ā':
			c = 'a'
		case 'ē':
			c = 'e'
		case 'ī':
			c = 'i'
		case 'ō':
			c = 'o'
		case 'ū':
			c = 'u'
		}
		if c >= 'a' && c <= 'z' {
			b.WriteRune(c)
		}
	}
	return b.String()
}

func (g *Generator) email(first, last string) string {
	local := synFold(first) + "." + synFold(last)
	if g.chance(0.4) {
		local += strconv.Itoa(g.between(1, 99))
	}
	return local + "@" + synPick(g.r, synExampleDomains)
}

func (g *Generator) person(firsts, lasts []string, at time.Time) synPerson {
	p := synPerson{first: synPick(g.r, firsts), last: synPick(g.r, lasts)}
	switch g.r.IntN(10) {
	case 0, 1, 2, 3:
		p.title = "Mr"
	case 4, 5:
		p.title = "Ms"
	case 6, 7:
		p.title = "Mrs"
	default:
		p.title = synPick(g.r, synTitles)
	}
	p.preferred = p.first
	if len(p.first) > 5 && g.chance(0.2) {
		p.preferred = p.first[:3]
	}
	y := at.Year() - g.between(19, 85)
	p.dob = time.Date(y, time.Month(g.between(1, 12)), g.between(1, 28), 0, 0, 0, 0, time.UTC)
	p.email = g.email(p.first, p.last)
	return p
}

// newAccount makes an account of ts that starts at start, with its
// onboarding steps planned.
func (g *Generator) newAccount(ts *synTenantSource, start time.Time) *synAccount {
	if ts.source == synVelocity {
		return g.newVelocityAccount(ts, start)
	}
	return g.newJuniferAccount(ts, start)
}

// push appends a step, keeping the account's steps strictly increasing in
// time.
func (a *synAccount) push(st synStep) {
	a.queue = append(a.queue, st)
}

// seal sorts the planned steps by time and makes times strictly
// increasing, so each account's events are in order.
func (a *synAccount) seal() {
	slices.SortStableFunc(a.queue, func(x, y synStep) int { return x.at.Compare(y.at) })
	for i := range a.queue {
		if !a.queue[i].at.After(a.last) {
			a.queue[i].at = a.last.Add(time.Second + time.Duration(i)*time.Millisecond)
		}
		a.last = a.queue[i].at
	}
	a.head = 0
}

// plan refills the slot's account with its next steps, replacing the
// account with a new one when it has left.
func (g *Generator) plan(s *synSlot) {
	a := s.acct
	a.queue = a.queue[:0]
	if cap(a.queue) > 8 {
		a.queue = nil // the onboarding batch was long; live batches are short
	}
	if a.phase == synLeaving {
		start := g.minutes(a.last, 60, 5*24*60)
		s.acct = g.newAccount(s.ts, start)
		return
	}
	if a.ts.source == synVelocity {
		g.planVelocityLive(a)
	} else {
		g.planJuniferLive(a)
	}
	a.seal()
}

// seasonal factors in percent by month (January first).
var (
	synSeasonNorth = [12]int{135, 128, 115, 100, 88, 80, 78, 80, 88, 100, 118, 132}
	synSeasonSouth = [12]int{92, 90, 95, 105, 118, 130, 135, 130, 115, 102, 95, 92}
)

// charge returns a bill amount in minor units for the period [from, to].
func (g *Generator) charge(a *synAccount, from, to time.Time) int64 {
	days := int(to.Sub(from).Hours()/24) + 1
	season := synSeasonSouth
	if a.country == "GB" {
		season = synSeasonNorth
	}
	pct := int64(season[from.AddDate(0, 0, days/2).Month()-1] + g.between(-15, 15))
	amt := a.monthly * int64(days) * pct / (30 * 100)
	if amt < 500 {
		amt = 500 + int64(g.r.IntN(500))
	}
	return amt
}

func synMoney(minor int64) string {
	neg := minor < 0
	if neg {
		minor = -minor
	}
	b := make([]byte, 0, 16)
	if neg {
		b = append(b, '-')
	}
	b = strconv.AppendInt(b, minor/100, 10)
	b = append(b, '.', byte('0'+minor%100/10), byte('0'+minor%10))
	return string(b)
}

// ---------------------------------------------------------------------------
// Identifiers.

func (g *Generator) mpanCore() string {
	first := synPick(g.r, synUKDistributors) + g.digits(10)
	c, _ := MPANCoreCheckDigit(first)
	return first + string(c)
}

func (g *Generator) mprn() string {
	n := 8
	if g.chance(0.15) {
		n = g.between(4, 7)
	}
	body := strconv.Itoa(g.between(1, 9)) + g.digits(n-1)
	c, _ := MPRNCheckDigits(body)
	return body + c
}

func (g *Generator) nmi(prefix string) string {
	first := prefix + g.digits(10-len(prefix))
	c, _ := NMIChecksum(first)
	return first + string(c)
}

const synICPCheckChars = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"

func (g *Generator) icp(code string) string {
	b := []byte(fmt.Sprintf("%010d", g.r.Int64N(2000000)) + code + "___")
	for i := 12; i < 15; i++ {
		b[i] = synICPCheckChars[g.r.IntN(len(synICPCheckChars))]
	}
	return string(b)
}

const synBase62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"

// sfID returns an 18-character Salesforce id: the 15-character id plus
// its case-safe suffix.
func sfID(id15 string) string {
	const alpha = "ABCDEFGHIJKLMNOPQRSTUVWXYZ012345"
	b := []byte(id15)
	for chunk := range 3 {
		flags := 0
		for j := range 5 {
			if c := id15[chunk*5+j]; c >= 'A' && c <= 'Z' {
				flags |= 1 << j
			}
		}
		b = append(b, alpha[flags])
	}
	return string(b)
}

func (g *Generator) opportunityRef() string {
	b := []byte("0065g00000")
	for range 5 {
		b = append(b, synBase62[g.r.IntN(len(synBase62))])
	}
	return sfID(string(b))
}

func (g *Generator) abn() string { return abnFromBody(strconv.Itoa(g.between(1, 9)) + g.digits(8)) }

func (g *Generator) nzbn() string {
	body := "94290" + g.digits(7)
	return body + string(gs1CheckDigit(body))
}

func (g *Generator) ukPostcode(district string) string {
	const letters = "ABDEFGHJLNPQRSTUWXYZ"
	return district + " " + strconv.Itoa(g.r.IntN(10)) +
		string(letters[g.r.IntN(len(letters))]) + string(letters[g.r.IntN(len(letters))])
}

// ---------------------------------------------------------------------------
// Velocity accounts.

func (g *Generator) newVelocityAccount(ts *synTenantSource, start time.Time) *synAccount {
	a := &synAccount{ts: ts}
	var loc synLocality
	var street []string
	if g.chance(0.65) {
		a.country, a.currency, a.cycle = "AU", "AUD", 1
		if g.chance(0.4) {
			a.cycle = 3
		}
		loc = synPick(g.r, synAULocalities)
		street = synAUStreets
		a.person = g.person(synAUFirst, synAULast, start)
		a.person.phone = synPick(g.r, synAUMobiles)
		a.monthly = int64(g.between(9000, 25000))
	} else {
		a.country, a.currency, a.cycle = "NZ", "NZD", 1
		loc = synPick(g.r, synNZLocalities)
		street = synNZStreets
		a.person = g.person(synNZFirst, synNZLast, start)
		a.person.phone = "+642155" + g.digits(5)
		a.monthly = int64(g.between(11000, 28000))
	}
	a.zone = loc.tz
	a.addr = synAddress{
		line1:    strconv.Itoa(g.between(1, 240)) + " " + synPick(g.r, street),
		suburb:   loc.suburb,
		city:     loc.city,
		state:    loc.state,
		postcode: loc.postcode,
		country:  a.country,
	}
	if g.chance(0.15) {
		a.addr.line1 = strconv.Itoa(g.between(1, 40)) + "/" + a.addr.line1
	}
	a.business = g.chance(0.2)
	seg := "RES"
	if a.business {
		seg = "BUS"
		a.monthly *= int64(g.between(2, 6))
		stem := synPick(g.r, synAUBusinessStems)
		if a.country == "NZ" {
			stem = synPick(g.r, synNZBusinessStems)
		}
		a.trading = stem + " " + synPick(g.r, synBusinessKinds)
		if a.country == "AU" {
			a.company = a.trading + " Pty Ltd"
			a.compNo = g.abn()
		} else {
			a.company = a.trading + " Limited"
			a.compNo = g.nzbn()
		}
	}
	a.number = fmt.Sprintf("%010d", g.next(ts, cAccountNumber, 97))
	a.custNo = fmt.Sprintf("C%07d", g.next(ts, cCustomerNumber, 13))
	a.termMonths = synPick(g.r, []int{12, 12, 24, 36})
	a.offer = fmt.Sprintf("%s-%s-%dM", seg, synPick(g.r, synVOffers), a.termMonths)
	a.channel = synPick(g.r, []string{"Web", "Web", "Phone", "Agent"})
	a.oppRef = g.opportunityRef()

	// Services: one electricity service point, sometimes NZ gas too.
	elec := synService{serviceType: "Electricity", network: loc.network, status: "Energised"}
	gas := a.country == "NZ" && loc.network.gasAlso && g.chance(0.25)
	if a.country == "AU" {
		elec.market = "NEM"
		elec.id = g.nmi(loc.network.prefix)
		elec.meterSerial = string(rune('A'+g.r.IntN(26))) + g.digits(9)
		elec.registers = []synRegister{{id: "E1", dials: 6, unit: "kWh"}}
		if g.chance(0.3) {
			elec.registers = append(elec.registers, synRegister{id: "B1", dials: 6, unit: "kWh"})
		}
	} else {
		elec.market = "NZ"
		elec.id = g.icp(loc.network.prefix)
		elec.meterSerial = g.digits(9)
		elec.registers = []synRegister{{id: "1", dials: 6, unit: "kWh"}}
	}
	elec.tariff = synPick(g.r, loc.network.tariffs)
	a.services = []synService{elec}
	if gas {
		a.services = append(a.services, synService{
			serviceType: "Gas", market: "NZ", network: loc.network, status: "Energised",
			id: g.icp("G" + string(rune('A'+g.r.IntN(26)))), meterSerial: "G" + g.digits(8),
			tariff: "GAS-RES", registers: []synRegister{{id: "1", dials: 5, unit: "m3"}},
		})
	}
	g.planVelocityOnboarding(a, start)
	a.seal()
	return a
}

func (g *Generator) retailers(a *synAccount) []string {
	if a.country == "NZ" {
		return synNZRetailers
	}
	return synAURetailers
}

func (g *Generator) txn(a *synAccount) string {
	if a.country == "NZ" {
		return "REG-" + g.digits(12)
	}
	return "CATS-" + g.digits(12)
}

func (g *Generator) planVelocityOnboarding(a *synAccount, start time.Time) {
	z := a.zone
	corr := "c-" + a.number + "-onboarding"
	t := g.businessTime(z, z.date(start), 8, 21)
	a.quoteID = fmt.Sprintf("Q-%d-%06d", z.local(t).Year(), g.next(a.ts, cQuote, 9))
	a.push(synStep{kind: kvQuoteAccepted, at: t, corr: corr})
	t = g.minutes(t, 2, 30)
	a.push(synStep{kind: kvAccountCreated, at: t, corr: corr})
	if g.chance(0.3) {
		a.push(synStep{kind: kvCustomerUpdated, at: g.minutes(t, 5, 90), corr: corr})
	}
	t = g.minutes(t, 1, 30)
	a.contractID = fmt.Sprintf("CT-%06d", g.next(a.ts, cContract, 7))
	ccStep := synStep{kind: kvContractCreated, at: t, corr: corr}
	moveIn := g.chance(0.25)
	var lastFinish time.Time
	var firstTransfer time.Time
	for i := range a.services {
		svc := &a.services[i]
		svc.previous = synPick(g.r, g.retailers(a))
		ts := g.minutes(t, 30, 240)
		sw := synSwitch{txn: g.txn(a), reason: "StandardTransfer", other: svc.previous}
		days := g.between(5, 25)
		switch {
		case moveIn:
			sw.reason, days = "MoveIn", g.between(1, 5)
		case g.chance(0.05):
			sw.reason, days = "Retrospective", -g.between(1, 10)
		}
		sw.proposed = synAddDays(z.date(ts), days)
		a.push(synStep{kind: kvSwitchGainStarted, at: ts, corr: corr, svc: i, sw: synRef(sw)})
		if g.chance(0.08) {
			obj := sw
			obj.objection = synPick(g.r, synVObjectionCodes)
			obj.objector = svc.previous
			obj.objected = g.businessTime(z, synAddDays(z.date(ts), g.between(1, 3)), 8, 18)
			a.push(synStep{kind: kvSwitchGainObjected, at: obj.objected, corr: corr, svc: i, sw: synRef(obj)})
			re := g.minutes(obj.objected, 2*24*60, 7*24*60)
			sw = synSwitch{txn: g.txn(a), reason: sw.reason, other: svc.previous}
			sw.proposed = synAddDays(z.date(re), g.between(3, 15))
			a.push(synStep{kind: kvSwitchGainStarted, at: re, corr: corr, svc: i, sw: synRef(sw)})
			ts = re
		}
		sw.transfer = sw.proposed
		if g.chance(0.2) {
			sw.transfer = synAddDays(sw.transfer, g.between(1, 3))
		}
		fin := g.businessTime(z, sw.transfer, 6, 11)
		if sw.reason == "Retrospective" || !fin.After(ts) {
			fin = g.minutes(ts, 60, 3*24*60)
		}
		a.push(synStep{kind: kvSwitchGainFinished, at: fin, corr: corr, svc: i, sw: synRef(sw)})
		if fin.After(lastFinish) {
			lastFinish = fin
		}
		if firstTransfer.IsZero() || sw.transfer.Before(firstTransfer) {
			firstTransfer = sw.transfer
		}
	}
	ccStep.sw = &synSwitch{transfer: firstTransfer} // contract start date
	a.push(ccStep)
	a.activatedAt = g.minutes(lastFinish, 10, 180)
	a.push(synStep{kind: kvContractActive, at: a.activatedAt, corr: corr})
	for i := range a.services {
		if g.chance(0.5) {
			a.push(synStep{kind: kvServicePointUpdated, at: g.minutes(a.activatedAt, 60, 3*24*60), corr: corr, svc: i})
		}
	}
	a.lastTo = synAddDays(firstTransfer, -1)
	a.lastIssue = z.date(lastFinish)
	a.billsLeft = g.between(3, 12)
	a.phase = synLive
	g.velocityBill(a, true, corr)
}

// velocityBill plans the account's next bill-ready.
func (g *Generator) velocityBill(a *synAccount, first bool, corr string) {
	z := a.zone
	from := synAddDays(a.lastTo, 1)
	issue := synAddDays(from.AddDate(0, a.cycle, 0), g.between(0, 4))
	if !issue.After(a.lastIssue) {
		issue = synAddDays(a.lastIssue, 1)
	}
	to := synAddDays(issue, -g.between(1, 3))
	if to.Before(from) {
		to = from
	}
	b := synBill{
		ref:      fmt.Sprintf("B-%08d", g.next(a.ts, cBillID, 40)),
		issue:    issue,
		due:      synAddDays(issue, g.between(13, 21)),
		from:     from,
		to:       to,
		first:    first,
		currency: a.currency,
	}
	b.gross = g.charge(a, from, to)
	if corr == "" {
		corr = "c-" + a.number + "-bill-" + b.ref
	}
	a.push(synStep{kind: kvBillReady, at: g.businessTime(z, issue, 1, 6), corr: corr, bill: synRef(b)})
	a.lastTo, a.lastIssue = to, issue
	a.billsSoFar++
}

func (g *Generator) planVelocityLive(a *synAccount) {
	z := a.zone
	base := synAddDays(a.lastIssue, 1)
	if d := z.date(a.last); !base.After(d) {
		base = synAddDays(d, 1)
	}
	if a.billsLeft <= 0 {
		corr := "c-" + a.number + "-loss"
		t := g.businessTime(z, synAddDays(base, g.between(3, 25)), 8, 20)
		var latest time.Time
		gaining := synPick(g.r, g.retailers(a))
		for i := range a.services {
			sw := synSwitch{other: gaining, proposed: synAddDays(z.date(t), g.between(5, 20))}
			a.push(synStep{kind: kvSwitchLossStarted, at: g.minutes(t, 0, 30), corr: corr, svc: i, sw: synRef(sw)})
			if sw.proposed.After(latest) {
				latest = sw.proposed
			}
		}
		// Final bill up to the loss date.
		issue := synAddDays(latest, g.between(2, 6))
		b := synBill{
			ref: fmt.Sprintf("B-%08d", g.next(a.ts, cBillID, 40)), issue: issue,
			due: synAddDays(issue, g.between(13, 21)), from: synAddDays(a.lastTo, 1), to: latest,
			currency: a.currency,
		}
		b.gross = g.charge(a, b.from, b.to)
		a.push(synStep{kind: kvBillReady, at: g.businessTime(z, issue, 1, 6), corr: corr, bill: synRef(b)})
		a.phase = synLeaving
		return
	}
	period := a.cycle * 28
	if g.chance(0.12) {
		t := g.businessTime(z, synAddDays(base, g.between(0, period)), 8, 21)
		a.updates++
		p := &a.person
		switch g.r.IntN(4) {
		case 0:
			p.email = g.email(p.first, p.last)
		case 1:
			if a.country == "NZ" {
				p.phone = "+642155" + g.digits(5)
			} else {
				p.phone = synPick(g.r, synAUMobiles)
			}
		case 2:
			p.preferred = synPick(g.r, []string{p.first, p.first[:min(len(p.first), 4)]})
		default:
			p.last = synPick(g.r, synAULast)
			if a.country == "NZ" {
				p.last = synPick(g.r, synNZLast)
			}
			p.email = g.email(p.first, p.last)
		}
		a.push(synStep{kind: kvCustomerUpdated, at: t, corr: fmt.Sprintf("c-%s-contact-%d", a.number, a.updates)})
	}
	if g.chance(0.06) {
		i := g.r.IntN(len(a.services))
		svc := &a.services[i]
		t := g.businessTime(z, synAddDays(base, g.between(0, period)), 7, 17)
		if g.chance(0.5) {
			svc.meterSerial = svc.meterSerial[:1] + g.digits(len(svc.meterSerial)-1)
		} else {
			svc.tariff = synPick(g.r, svc.network.tariffs)
		}
		a.push(synStep{kind: kvServicePointUpdated, at: t, corr: "c-" + svc.id + "-update", svc: i})
	}
	a.billsLeft--
	g.velocityBill(a, false, "")
}

// ---------------------------------------------------------------------------
// Junifer accounts.

func (g *Generator) newJuniferAccount(ts *synTenantSource, start time.Time) *synAccount {
	a := &synAccount{ts: ts, zone: synZoneLondon, country: "GB", currency: "GBP", cycle: 1}
	town := synPick(g.r, synUKTowns)
	a.person = g.person(synUKFirst, synUKLast, start)
	a.person.phone = "07700 900" + g.digits(3)
	a.addr = synAddress{
		line1:    strconv.Itoa(g.between(1, 180)) + " " + synPick(g.r, synUKStreets),
		line2:    town.locality,
		city:     town.town,
		state:    town.county,
		postcode: g.ukPostcode(synPick(g.r, town.districts)),
		country:  "GB",
	}
	if g.chance(0.12) {
		a.addr.line1 = "Flat " + strconv.Itoa(g.between(1, 12)) + ", " + a.addr.line1
	}
	a.business = g.chance(0.15)
	if a.business {
		a.company = synPick(g.r, synUKBusinessStems) + " " + synPick(g.r, synUKBusinessKinds) + " Ltd"
		a.compNo = fmt.Sprintf("%08d", g.between(1000000, 15999999))
	}
	a.customerID = g.next(ts, cCustomerID, 3)
	a.custNo = fmt.Sprintf("%08d", g.next(ts, cCustomerNumber, 11))
	a.accountID = g.next(ts, cAccountID, 3)
	a.number = fmt.Sprintf("%08d", g.next(ts, cAccountNumber, 1))
	a.contactID = g.next(ts, cContactID, 2)
	a.billDelivery = synPick(g.r, []string{"Email", "Email", "Email", "Mail", "Both"})
	a.consent = [3]bool{g.chance(0.6), g.chance(0.4), g.chance(0.2)}
	a.consentMethod = "Portal"
	a.paymentDD = g.chance(0.75)

	fuel := g.r.IntN(20)
	elec, gas := fuel < 19, fuel >= 7 // 35% electricity only, 60% dual fuel, 5% gas only
	twoRate := elec && g.chance(0.15)
	if elec {
		mp := synService{serviceType: "Electricity", mpType: "MPAN", id: g.mpanCore(), meterType: "Smart"}
		mp.meterSerial = fmt.Sprintf("E%02dUK%05d", g.between(10, 24), g.r.IntN(100000))
		if g.chance(0.3) {
			mp.meterType = "Credit"
		}
		if twoRate {
			mp.registers = []synRegister{{"R1", 6, "kWh", "Import"}, {"R2", 6, "kWh", "Import"}}
		} else {
			mp.registers = []synRegister{{"R1", 5, "kWh", "Import"}}
		}
		a.monthly += int64(g.between(4500, 11000))
		a.services = append(a.services, mp)
	}
	if gas {
		mp := synService{serviceType: "Gas", mpType: "MPRN", id: g.mprn(), meterType: "Smart"}
		mp.meterSerial = fmt.Sprintf("G4A%07d", g.r.IntN(10000000))
		if g.chance(0.3) {
			mp.meterType = "Credit"
		}
		mp.registers = []synRegister{{"G1", 5, "m3", "Import"}}
		a.monthly += int64(g.between(3500, 9500))
		a.services = append(a.services, mp)
	}
	if a.business {
		a.monthly *= int64(g.between(2, 5))
	}
	for i := range a.services {
		a.services[i].meterPointID = g.next(ts, cMeterPointID, 3)
	}
	prefix := "E1R"
	switch {
	case elec && gas:
		prefix = "DF1R"
	case gas:
		prefix = "G1R"
	case twoRate:
		prefix = "E2R"
	}
	a.termMonths = synPick(g.r, []int{12, 12, 12, 18, 24})
	a.agreementName = fmt.Sprintf("Fixed %dM", a.termMonths)
	pay := "NDD"
	if a.paymentDD {
		pay = "DD"
	}
	a.productCode = fmt.Sprintf("%s-FIX-%dM-%s", prefix, a.termMonths, pay)
	g.planJuniferOnboarding(a, start)
	a.seal()
	return a
}

func (g *Generator) planJuniferOnboarding(a *synAccount, start time.Time) {
	z := a.zone
	corr := "c-" + a.number + "-onboarding"
	t := g.businessTime(z, z.date(start), 8, 21)
	a.created = t
	a.push(synStep{kind: kjCustomerCreated, at: t, corr: corr})
	t = g.minutes(t, 1, 10)
	a.accountFrom = z.date(t)
	a.push(synStep{kind: kjAccountCreated, at: t, corr: corr})
	moveIn := g.chance(0.3)
	var moveTicket synTicket
	if moveIn {
		moveTicket = synTicket{
			id: g.next(a.ts, cTicketID, 5), code: "COT_MOVE_IN", name: "Change of Tenancy - Move In",
			summary: "Move-in at " + a.addr.line1 + ", " + a.addr.city, status: "Open", created: g.minutes(t, 1, 5),
		}
		for i := range a.services {
			moveTicket.mps = append(moveTicket.mps, i)
		}
		a.push(synStep{kind: kjTicketStatusChanged, at: moveTicket.created, corr: corr, tk: synRef(moveTicket)})
	}
	t = g.minutes(t, 2, 20)
	// Registrations are sent within a day, so a supply start two or more
	// days ahead always follows them.
	days := g.between(5, 21)
	if moveIn {
		days = g.between(2, 6)
	}
	ssd := synAddDays(z.date(t), days)
	a.agreementID = g.next(a.ts, cAgreementID, 4)
	a.agreementFrom = ssd
	a.agreementTo = synAddDays(ssd.AddDate(0, a.termMonths, 0), -1)
	a.push(synStep{kind: kjAgreementCreated, at: t, corr: corr})
	var minSSD, maxSSD time.Time
	for i := range a.services {
		mp := &a.services[i]
		if !moveIn || g.chance(0.5) {
			mp.previous = synPick(g.r, synUKSuppliers)
		}
		req := g.minutes(t, 30, 24*60)
		sw := synSwitch{proposed: ssd, other: mp.previous}
		a.push(synStep{kind: kjRegistrationRequested, at: req, corr: corr, svc: i, sw: synRef(sw)})
		mpSSD := ssd
		if g.chance(0.07) {
			obj := sw
			obj.objection = synPick(g.r, synUKObjectionReasons)
			obj.resubmit = g.chance(0.85)
			obj.objected = g.businessTime(z, synAddDays(z.date(req), g.between(1, 3)), 8, 18)
			a.push(synStep{kind: kjRegistrationObjected, at: obj.objected, corr: corr, svc: i, sw: synRef(obj)})
			wait := g.between(1, 5)
			if !obj.resubmit {
				tk := synTicket{
					id: g.next(a.ts, cTicketID, 5), code: "REG_OBJECTION", name: "Registration Objection",
					summary: obj.objection + " objection on " + mp.id, status: "Open", created: g.minutes(obj.objected, 5, 120),
					mps: []int{i},
				}
				a.push(synStep{kind: kjTicketStatusChanged, at: tk.created, corr: corr, tk: synRef(tk)})
				wait = g.between(14, 28)
				re := g.minutes(obj.objected, wait*24*60, wait*24*60+8*60)
				tk.status = "Closed"
				a.push(synStep{kind: kjTicketStatusChanged, at: g.minutes(re, -120, -10), corr: corr, tk: synRef(tk)})
				req = re
			} else {
				req = g.minutes(obj.objected, wait*24*60, wait*24*60+8*60)
			}
			mpSSD = synAddDays(z.date(req), g.between(5, 14))
			sw = synSwitch{proposed: mpSSD, other: mp.previous}
			a.push(synStep{kind: kjRegistrationRequested, at: req, corr: corr, svc: i, sw: synRef(sw)})
		}
		sw.transfer = mpSSD
		a.push(synStep{kind: kjSupplyStarted, at: z.at(mpSSD, 0, 0, 0, 0), corr: corr, svc: i, sw: synRef(sw)})
		if minSSD.IsZero() || mpSSD.Before(minSSD) {
			minSSD = mpSSD
		}
		if mpSSD.After(maxSSD) {
			maxSSD = mpSSD
		}
	}
	if moveIn {
		moveTicket.status = "Closed"
		a.push(synStep{kind: kjTicketStatusChanged, at: g.businessTime(z, synAddDays(maxSSD, g.between(1, 3)), 9, 17), corr: corr, tk: synRef(moveTicket)})
	}
	a.lastTo = synAddDays(minSSD, -1)
	a.lastIssue = maxSSD
	a.billsLeft = g.between(3, 12)
	a.phase = synLive
	b := g.juniferBill(a, true, time.Time{}, corr)
	if a.paymentDD {
		a.ddID = g.next(a.ts, cDirectDebitID, 3)
		a.ddSort = "**-**-" + g.digits(2)
		a.ddBank = "****" + g.digits(4)
		a.ddName = a.person.title + " " + a.person.first[:1] + " " + a.person.last
		if a.business {
			a.ddName = a.company
		}
		a.ddAmount = (a.monthly*110/100 + 99) / 100 * 100
		a.ddAlign = synAddDays(b.issue, g.between(10, 20))
		a.push(synStep{kind: kjDirectDebitCreated, at: g.businessTime(z, synAddDays(b.issue, g.between(1, 3)), 8, 20), corr: corr})
	}
}

// juniferBill plans the account's next bill-accepted and returns it. A
// non-zero finalTo makes it the final bill, up to that date.
func (g *Generator) juniferBill(a *synAccount, first bool, finalTo time.Time, corr string) synBill {
	z := a.zone
	from := synAddDays(a.lastTo, 1)
	var issue, to time.Time
	switch {
	case !finalTo.IsZero():
		to = finalTo
		issue = synAddDays(finalTo, g.between(3, 10))
	case first:
		// The first bill comes at the next monthly run after supply start.
		issue = synAddDays(a.lastIssue, g.between(10, 35))
		to = synAddDays(issue, -1)
	default:
		issue = synAddDays(from.AddDate(0, 1, 0), g.between(0, 3))
		to = synAddDays(issue, -1)
	}
	if !issue.After(a.lastIssue) {
		issue = synAddDays(a.lastIssue, 1)
	}
	if to.Before(from) {
		to = from
	}
	b := synBill{
		id: g.next(a.ts, cBillID, 30), issue: issue, due: synAddDays(issue, 14),
		from: from, to: to, first: first, final: !finalTo.IsZero(), version: 1, currency: "GBP",
	}
	g.juniferAmounts(a, &b)
	if corr == "" {
		corr = fmt.Sprintf("c-%s-bill-%d", a.number, b.id)
	}
	a.push(synStep{kind: kjBillAccepted, at: g.businessTime(z, issue, 1, 6), corr: corr, bill: synRef(b)})
	a.lastTo, a.lastIssue = to, issue
	a.billsSoFar++
	if !first && !b.final && g.chance(0.03) {
		// A re-bill: the same period billed again as version 2.
		rb := b
		rb.id = g.next(a.ts, cBillID, 30)
		rb.version = 2
		rb.issue = synAddDays(issue, g.between(3, 10))
		rb.due = synAddDays(rb.issue, 14)
		g.juniferAmounts(a, &rb)
		a.push(synStep{kind: kjBillAccepted, at: g.businessTime(z, rb.issue, 9, 17), corr: corr, bill: synRef(rb)})
		a.lastIssue = rb.issue
	}
	return b
}

func (g *Generator) juniferAmounts(a *synAccount, b *synBill) {
	b.net = g.charge(a, b.from, b.to)
	rate := int64(5)
	if a.business {
		rate = 20
	}
	b.tax = (b.net*rate + 50) / 100
	b.gross = b.net + b.tax
}

func (g *Generator) planJuniferLive(a *synAccount) {
	z := a.zone
	base := synAddDays(a.lastIssue, 1)
	if d := z.date(a.last); !base.After(d) {
		base = synAddDays(d, 1)
	}
	if a.billsLeft <= 0 {
		corr := "c-" + a.number + "-loss"
		t := g.businessTime(z, synAddDays(base, g.between(3, 25)), 8, 20)
		var latest time.Time
		gaining := ""
		if g.chance(0.85) {
			gaining = synPick(g.r, synUKSuppliers)
		}
		for i := range a.services {
			sw := synSwitch{other: gaining, transfer: synAddDays(z.date(t), g.between(5, 15))}
			a.push(synStep{kind: kjLossNotified, at: g.minutes(t, 0, 60), corr: corr, svc: i, sw: synRef(sw)})
			if sw.transfer.After(latest) {
				latest = sw.transfer
			}
		}
		g.juniferBill(a, false, latest, corr)
		a.phase = synLeaving
		return
	}
	if g.chance(0.1) {
		a.updates++
		t := g.businessTime(z, synAddDays(base, g.between(0, 27)), 8, 21)
		p := &a.person
		switch g.r.IntN(4) {
		case 0:
			p.email = g.email(p.first, p.last)
		case 1:
			p.phone = "07700 900" + g.digits(3)
		default:
			i := g.r.IntN(3)
			a.consent[i] = !a.consent[i]
		}
		a.consentMethod = synPick(g.r, []string{"Portal", "Portal", "Phone", "Email"})
		a.push(synStep{kind: kjContactUpdated, at: t, corr: fmt.Sprintf("c-%s-contact-%d", a.number, a.updates)})
	}
	if g.chance(0.15) {
		def := synPick(g.r, synUKTickets)
		tk := synTicket{id: g.next(a.ts, cTicketID, 5), code: def.code, name: def.name, summary: def.summary, status: "Open"}
		if strings.HasPrefix(def.code, "METER") || def.code == "SMART_INSTALL" {
			tk.mps = []int{g.r.IntN(len(a.services))}
		}
		tk.created = g.businessTime(z, synAddDays(base, g.between(0, 20)), 8, 19)
		corr := fmt.Sprintf("c-%s-ticket-%d", a.number, tk.id)
		a.push(synStep{kind: kjTicketStatusChanged, at: tk.created, corr: corr, tk: synRef(tk)})
		t := tk.created
		if g.chance(0.6) {
			tk.status = "InProgress"
			t = g.minutes(t, 60, 2*24*60)
			a.push(synStep{kind: kjTicketStatusChanged, at: t, corr: corr, tk: synRef(tk)})
		}
		tk.status = "Closed"
		if g.chance(0.1) {
			tk.status = "Cancelled"
		}
		a.push(synStep{kind: kjTicketStatusChanged, at: g.minutes(t, 3*60, 10*24*60), corr: corr, tk: synRef(tk)})
	}
	a.billsLeft--
	g.juniferBill(a, false, time.Time{}, "")
}

// ---------------------------------------------------------------------------
// Event data, field for field as in catalog.md.

type vdService struct {
	ServiceType    string `json:"serviceType"`
	ServicePointID string `json:"servicePointId"`
}

type vdQuoteAccepted struct {
	QuoteID        string      `json:"quoteId"`
	AccountNumber  string      `json:"accountNumber"`
	OpportunityRef string      `json:"opportunityRef"`
	OfferCode      string      `json:"offerCode"`
	AcceptedAt     string      `json:"acceptedAt"`
	Channel        string      `json:"channel"`
	Services       []vdService `json:"services"`
}

type vdContractCreated struct {
	ContractID    string `json:"contractId"`
	QuoteID       string `json:"quoteId"`
	AccountNumber string `json:"accountNumber"`
	StartDate     string `json:"startDate"`
	TermMonths    int    `json:"termMonths"`
	ProductCode   string `json:"productCode"`
}

type vdActiveService struct {
	ServicePointID string `json:"servicePointId"`
	MeterSerial    string `json:"meterSerial"`
}

type vdContractActive struct {
	ContractID    string            `json:"contractId"`
	AccountNumber string            `json:"accountNumber"`
	ActivatedAt   string            `json:"activatedAt"`
	Services      []vdActiveService `json:"services"`
}

type vdPostal struct {
	Line1    string `json:"line1"`
	Suburb   string `json:"suburb"`
	City     string `json:"city"`
	State    string `json:"state"`
	Postcode string `json:"postcode"`
	Country  string `json:"country"`
}

type vdAccountCreated struct {
	AccountNumber         string   `json:"accountNumber"`
	AccountClass          string   `json:"accountClass"`
	AccountName           string   `json:"accountName"`
	TradingName           string   `json:"tradingName,omitempty"`
	CompanyNumber         string   `json:"companyNumber,omitempty"`
	PostalAddress         vdPostal `json:"postalAddress"`
	PrimaryCustomerNumber string   `json:"primaryCustomerNumber"`
}

type vdCustomerUpdated struct {
	CustomerNumber string   `json:"customerNumber"`
	Title          string   `json:"title"`
	FirstName      string   `json:"firstName"`
	LastName       string   `json:"lastName"`
	PreferredName  string   `json:"preferredName"`
	Email          string   `json:"email"`
	Mobile         string   `json:"mobile"`
	DateOfBirth    string   `json:"dateOfBirth"`
	AccountNumbers []string `json:"accountNumbers"`
}

type vdSwitchGainStarted struct {
	ServicePointID       string `json:"servicePointId"`
	Market               string `json:"market"`
	MarketTransactionID  string `json:"marketTransactionId"`
	ProposedTransferDate string `json:"proposedTransferDate"`
	ReasonCode           string `json:"reasonCode"`
	AccountNumber        string `json:"accountNumber"`
}

type vdSwitchGainObjected struct {
	ServicePointID       string `json:"servicePointId"`
	MarketTransactionID  string `json:"marketTransactionId"`
	ObjectionCode        string `json:"objectionCode"`
	ObjectingParticipant string `json:"objectingParticipant"`
	ObjectedAt           string `json:"objectedAt"`
}

type vdLocation struct {
	Line1    string `json:"line1"`
	Suburb   string `json:"suburb"`
	State    string `json:"state"`
	Postcode string `json:"postcode"`
	Country  string `json:"country"`
}

type vdSwitchGainFinished struct {
	ServicePointID      string     `json:"servicePointId"`
	Market              string     `json:"market"`
	MarketTransactionID string     `json:"marketTransactionId"`
	TransferDate        string     `json:"transferDate"`
	LosingRetailer      string     `json:"losingRetailer"`
	AccountNumber       string     `json:"accountNumber"`
	Location            vdLocation `json:"location"`
}

type vdSwitchLossStarted struct {
	ServicePointID       string `json:"servicePointId"`
	GainingRetailer      string `json:"gainingRetailer"`
	ProposedTransferDate string `json:"proposedTransferDate"`
	AccountNumber        string `json:"accountNumber"`
}

type vdRegister struct {
	RegisterID string `json:"registerId"`
	Unit       string `json:"unit"`
	Dials      int    `json:"dials"`
}

type vdMeter struct {
	SerialNumber string       `json:"serialNumber"`
	Registers    []vdRegister `json:"registers"`
}

type vdServicePointUpdated struct {
	ServicePointID    string    `json:"servicePointId"`
	Market            string    `json:"market"`
	ServiceType       string    `json:"serviceType"`
	Status            string    `json:"status"`
	NetworkTariffCode string    `json:"networkTariffCode"`
	Distributor       string    `json:"distributor"`
	Meters            []vdMeter `json:"meters"`
}

type vdBillReady struct {
	AccountNumber string `json:"accountNumber"`
	BillID        string `json:"billId"`
	BillDate      string `json:"billDate"`
	DueDate       string `json:"dueDate"`
	DueAmount     string `json:"dueAmount"`
	Currency      string `json:"currency"`
	BalanceDate   string `json:"balanceDate"`
	IsFirstBill   bool   `json:"isFirstBill"`
	PeriodFrom    string `json:"periodFrom"`
	PeriodTo      string `json:"periodTo"`
}

type jdAddress struct {
	Address1 string `json:"address1"`
	Address2 string `json:"address2,omitempty"`
	Address3 string `json:"address3,omitempty"`
	Address4 string `json:"address4,omitempty"`
	Address5 string `json:"address5,omitempty"`
	Postcode string `json:"postcode"`
	Country  string `json:"country"`
}

type jdContact struct {
	Email        string    `json:"email"`
	PhoneNumber1 string    `json:"phoneNumber1"`
	Address      jdAddress `json:"address"`
}

type jdCustomerCreated struct {
	ID             int64     `json:"id"`
	Number         string    `json:"number"`
	CustomerType   string    `json:"customerType"`
	Title          string    `json:"title"`
	Forename       string    `json:"forename"`
	Surname        string    `json:"surname"`
	CompanyName    string    `json:"companyName,omitempty"`
	CompanyNumber  string    `json:"companyNumber,omitempty"`
	PrimaryContact jdContact `json:"primaryContact"`
	CreatedDttm    string    `json:"createdDttm"`
}

type jdAccountCreated struct {
	ID             int64     `json:"id"`
	Number         string    `json:"number"`
	CustomerNumber string    `json:"customerNumber"`
	AccountClass   string    `json:"accountClass"`
	BillingAddress jdAddress `json:"billingAddress"`
	BillDelivery   string    `json:"billDelivery"`
	FromDt         string    `json:"fromDt"`
}

type jdConsent struct {
	ConsentGiven bool `json:"consentGiven"`
}

type jdMarketing struct {
	MarketByEmail jdConsent `json:"marketByEmail"`
	MarketBySms   jdConsent `json:"marketBySms"`
	MarketByPost  jdConsent `json:"marketByPost"`
}

type jdContactUpdated struct {
	ID                   int64       `json:"id"`
	CustomerNumber       string      `json:"customerNumber"`
	Title                string      `json:"title"`
	Forename             string      `json:"forename"`
	Surname              string      `json:"surname"`
	Email                string      `json:"email"`
	PhoneNumber1         string      `json:"phoneNumber1"`
	DateOfBirth          string      `json:"dateOfBirth"`
	MarketingPreferences jdMarketing `json:"marketingPreferences"`
	MethodOfConsent      string      `json:"methodOfConsent"`
}

type jdMeterPointRef struct {
	Type       string `json:"type"`
	Identifier string `json:"identifier"`
}

type jdAgreementType struct {
	Name string `json:"name"`
}

type jdAgreementCreated struct {
	AgreementID   int64             `json:"agreementId"`
	AccountNumber string            `json:"accountNumber"`
	AgreementType jdAgreementType   `json:"agreementType"`
	ProductCode   string            `json:"productCode"`
	FromDt        string            `json:"fromDt"`
	ToDt          string            `json:"toDt"`
	PaymentMethod string            `json:"paymentMethod"`
	MeterPoints   []jdMeterPointRef `json:"meterPoints"`
}

type jdRegistrationRequested struct {
	MeterPointID     int64  `json:"meterPointId"`
	Identifier       string `json:"identifier"`
	Type             string `json:"type"`
	SupplyStartDate  string `json:"supplyStartDate"`
	AccountNumber    string `json:"accountNumber"`
	PreviousSupplier string `json:"previousSupplier,omitempty"`
}

type jdRegistrationObjected struct {
	Identifier        string `json:"identifier"`
	Type              string `json:"type"`
	AccountNumber     string `json:"accountNumber"`
	ObjectionReason   string `json:"objectionReason"`
	ObjectedDttm      string `json:"objectedDttm"`
	ResubmitAllowedFl bool   `json:"resubmitAllowedFl"`
}

type jdRegister struct {
	Identifier      string `json:"identifier"`
	Digits          int    `json:"digits"`
	Unit            string `json:"unit"`
	MeasurementType string `json:"measurementType"`
}

type jdMeter struct {
	Identifier string       `json:"identifier"`
	MeterType  string       `json:"meterType"`
	Registers  []jdRegister `json:"registers"`
}

type jdSupplyStarted struct {
	MeterPointID    int64     `json:"meterPointId"`
	Identifier      string    `json:"identifier"`
	Type            string    `json:"type"`
	SupplyStatus    string    `json:"supplyStatus"`
	SupplyStartDate string    `json:"supplyStartDate"`
	AccountNumber   string    `json:"accountNumber"`
	Meters          []jdMeter `json:"meters"`
}

type jdLossNotified struct {
	Identifier      string `json:"identifier"`
	Type            string `json:"type"`
	LossDt          string `json:"lossDt"`
	GainingSupplier string `json:"gainingSupplier,omitempty"`
	AccountNumber   string `json:"accountNumber"`
}

type jdBillAccepted struct {
	ID             int64             `json:"id"`
	AccountID      int64             `json:"accountId"`
	AccountNumber  string            `json:"accountNumber"`
	IssueDt        string            `json:"issueDt"`
	DueDt          string            `json:"dueDt"`
	PeriodFrom     string            `json:"periodFrom"`
	PeriodTo       string            `json:"periodTo"`
	GrossAmount    string            `json:"grossAmount"`
	NetAmount      string            `json:"netAmount"`
	SalesTaxAmount string            `json:"salesTaxAmount"`
	Currency       string            `json:"currency"`
	Final          bool              `json:"final"`
	VersionNumber  int               `json:"versionNumber"`
	SupersededFl   bool              `json:"supersededFl"`
	FirstBillFl    bool              `json:"firstBillFl"`
	MeterPoints    []jdMeterPointRef `json:"meterPoints"`
}

type jdDirectDebitCreated struct {
	DirectDebitID        int64  `json:"directDebitId"`
	AccountNumber        string `json:"accountNumber"`
	PaymentMethodType    string `json:"paymentMethodType"`
	Status               string `json:"status"`
	AccountName          string `json:"accountName"`
	SortCode             string `json:"sortCode"`
	BankAccountNumber    string `json:"bankAccountNumber"`
	RegularAmount        string `json:"regularAmount"`
	FrequencyAlignmentDt string `json:"frequencyAlignmentDt"`
	CurrencyISO          string `json:"currencyISO"`
}

type jdTicketEntities struct {
	MeterPoints []string `json:"meterPoints"`
}

type jdTicketStatusChanged struct {
	ID                   int64            `json:"id"`
	AccountNumber        string           `json:"accountNumber"`
	TicketDefinitionCode string           `json:"ticketDefinitionCode"`
	TicketDefinitionName string           `json:"ticketDefinitionName"`
	Status               string           `json:"status"`
	CreatedDttm          string           `json:"createdDttm"`
	Summary              string           `json:"summary"`
	TicketEntities       jdTicketEntities `json:"ticketEntities"`
}

// ukAddress returns the account's address as Junifer address lines: the
// flat (if any), street, locality, post town and county, without gaps.
func (a *synAccount) ukAddress() jdAddress {
	var lines []string
	line1 := a.addr.line1
	if flat, street, ok := strings.Cut(line1, ", "); ok {
		lines = append(lines, flat)
		line1 = street
	}
	for _, l := range []string{line1, a.addr.line2, a.addr.city, a.addr.state} {
		if l != "" {
			lines = append(lines, l)
		}
	}
	lines = append(lines, "", "", "", "")
	return jdAddress{
		Address1: lines[0], Address2: lines[1], Address3: lines[2], Address4: lines[3], Address5: lines[4],
		Postcode: a.addr.postcode, Country: a.addr.country,
	}
}

func (a *synAccount) meterPointRefs() []jdMeterPointRef {
	out := make([]jdMeterPointRef, len(a.services))
	for i, s := range a.services {
		out[i] = jdMeterPointRef{Type: s.mpType, Identifier: s.id}
	}
	return out
}

// synBuild returns the data object of step st and the envelope subject's
// entity id. It reads the account and the step only.
func synBuild(a *synAccount, st *synStep) (any, string) {
	z := a.zone
	svc := &a.services[st.svc]
	switch st.kind {
	case kvQuoteAccepted:
		d := vdQuoteAccepted{
			QuoteID: a.quoteID, AccountNumber: a.number, OpportunityRef: a.oppRef, OfferCode: a.offer,
			AcceptedAt: z.stamp(st.at), Channel: a.channel, Services: make([]vdService, len(a.services)),
		}
		for i, s := range a.services {
			d.Services[i] = vdService{ServiceType: s.serviceType, ServicePointID: s.id}
		}
		return d, a.quoteID
	case kvContractCreated:
		return vdContractCreated{
			ContractID: a.contractID, QuoteID: a.quoteID, AccountNumber: a.number,
			StartDate: synDate(st.sw.transfer), TermMonths: a.termMonths, ProductCode: a.offer,
		}, a.contractID
	case kvContractActive:
		d := vdContractActive{
			ContractID: a.contractID, AccountNumber: a.number, ActivatedAt: z.stamp(st.at),
			Services: make([]vdActiveService, len(a.services)),
		}
		for i, s := range a.services {
			d.Services[i] = vdActiveService{ServicePointID: s.id, MeterSerial: s.meterSerial}
		}
		return d, a.contractID
	case kvAccountCreated:
		d := vdAccountCreated{
			AccountNumber: a.number, AccountClass: "Residential", AccountName: a.person.first + " " + a.person.last,
			PostalAddress: vdPostal{
				Line1: a.addr.line1, Suburb: a.addr.suburb, City: a.addr.city, State: a.addr.state,
				Postcode: a.addr.postcode, Country: a.addr.country,
			},
			PrimaryCustomerNumber: a.custNo,
		}
		if a.business {
			d.AccountClass, d.AccountName, d.TradingName, d.CompanyNumber = "Business", a.company, a.trading, a.compNo
		}
		return d, a.number
	case kvCustomerUpdated:
		p := a.person
		return vdCustomerUpdated{
			CustomerNumber: a.custNo, Title: p.title, FirstName: p.first, LastName: p.last,
			PreferredName: p.preferred, Email: p.email, Mobile: p.phone, DateOfBirth: synDate(p.dob),
			AccountNumbers: []string{a.number},
		}, a.custNo
	case kvSwitchGainStarted:
		return vdSwitchGainStarted{
			ServicePointID: svc.id, Market: svc.market, MarketTransactionID: st.sw.txn,
			ProposedTransferDate: synDate(st.sw.proposed), ReasonCode: st.sw.reason, AccountNumber: a.number,
		}, svc.id
	case kvSwitchGainObjected:
		return vdSwitchGainObjected{
			ServicePointID: svc.id, MarketTransactionID: st.sw.txn, ObjectionCode: st.sw.objection,
			ObjectingParticipant: st.sw.objector, ObjectedAt: z.stamp(st.at),
		}, svc.id
	case kvSwitchGainFinished:
		return vdSwitchGainFinished{
			ServicePointID: svc.id, Market: svc.market, MarketTransactionID: st.sw.txn,
			TransferDate: synDate(st.sw.transfer), LosingRetailer: st.sw.other, AccountNumber: a.number,
			Location: vdLocation{
				Line1: a.addr.line1, Suburb: a.addr.suburb, State: a.addr.state,
				Postcode: a.addr.postcode, Country: a.addr.country,
			},
		}, svc.id
	case kvSwitchLossStarted:
		return vdSwitchLossStarted{
			ServicePointID: svc.id, GainingRetailer: st.sw.other,
			ProposedTransferDate: synDate(st.sw.proposed), AccountNumber: a.number,
		}, svc.id
	case kvServicePointUpdated:
		m := vdMeter{SerialNumber: svc.meterSerial, Registers: make([]vdRegister, len(svc.registers))}
		for i, r := range svc.registers {
			m.Registers[i] = vdRegister{RegisterID: r.id, Unit: r.unit, Dials: r.dials}
		}
		return vdServicePointUpdated{
			ServicePointID: svc.id, Market: svc.market, ServiceType: svc.serviceType, Status: svc.status,
			NetworkTariffCode: svc.tariff, Distributor: svc.network.name, Meters: []vdMeter{m},
		}, svc.id
	case kvBillReady:
		b := st.bill
		return vdBillReady{
			AccountNumber: a.number, BillID: b.ref, BillDate: synDate(b.issue), DueDate: synDate(b.due),
			DueAmount: synMoney(b.gross), Currency: b.currency, BalanceDate: synDate(b.issue),
			IsFirstBill: b.first, PeriodFrom: synDate(b.from), PeriodTo: synDate(b.to),
		}, b.ref
	case kjCustomerCreated:
		d := jdCustomerCreated{
			ID: a.customerID, Number: a.custNo, CustomerType: "Residential", Title: a.person.title,
			Forename: a.person.first, Surname: a.person.last,
			PrimaryContact: jdContact{Email: a.person.email, PhoneNumber1: a.person.phone, Address: a.ukAddress()},
			CreatedDttm:    z.stamp(st.at),
		}
		if a.business {
			d.CustomerType, d.CompanyName, d.CompanyNumber = "Business", a.company, a.compNo
		}
		return d, a.custNo
	case kjAccountCreated:
		class := "Domestic"
		if a.business {
			class = "Commercial"
		}
		return jdAccountCreated{
			ID: a.accountID, Number: a.number, CustomerNumber: a.custNo, AccountClass: class,
			BillingAddress: a.ukAddress(), BillDelivery: a.billDelivery, FromDt: synDate(a.accountFrom),
		}, a.number
	case kjContactUpdated:
		p := a.person
		return jdContactUpdated{
			ID: a.contactID, CustomerNumber: a.custNo, Title: p.title, Forename: p.first, Surname: p.last,
			Email: p.email, PhoneNumber1: p.phone, DateOfBirth: synDate(p.dob),
			MarketingPreferences: jdMarketing{
				MarketByEmail: jdConsent{a.consent[0]}, MarketBySms: jdConsent{a.consent[1]}, MarketByPost: jdConsent{a.consent[2]},
			},
			MethodOfConsent: a.consentMethod,
		}, strconv.FormatInt(a.contactID, 10)
	case kjAgreementCreated:
		pay := "NonDD"
		if a.paymentDD {
			pay = "DD"
		}
		return jdAgreementCreated{
			AgreementID: a.agreementID, AccountNumber: a.number, AgreementType: jdAgreementType{a.agreementName},
			ProductCode: a.productCode, FromDt: synDate(a.agreementFrom), ToDt: synDate(a.agreementTo),
			PaymentMethod: pay, MeterPoints: a.meterPointRefs(),
		}, strconv.FormatInt(a.agreementID, 10)
	case kjRegistrationRequested:
		return jdRegistrationRequested{
			MeterPointID: svc.meterPointID, Identifier: svc.id, Type: svc.mpType,
			SupplyStartDate: synDate(st.sw.proposed), AccountNumber: a.number, PreviousSupplier: st.sw.other,
		}, svc.id
	case kjRegistrationObjected:
		return jdRegistrationObjected{
			Identifier: svc.id, Type: svc.mpType, AccountNumber: a.number, ObjectionReason: st.sw.objection,
			ObjectedDttm: z.stamp(st.at), ResubmitAllowedFl: st.sw.resubmit,
		}, svc.id
	case kjSupplyStarted:
		m := jdMeter{Identifier: svc.meterSerial, MeterType: svc.meterType, Registers: make([]jdRegister, len(svc.registers))}
		for i, r := range svc.registers {
			m.Registers[i] = jdRegister{Identifier: r.id, Digits: r.dials, Unit: r.unit, MeasurementType: r.measurement}
		}
		return jdSupplyStarted{
			MeterPointID: svc.meterPointID, Identifier: svc.id, Type: svc.mpType, SupplyStatus: "Registered",
			SupplyStartDate: synDate(st.sw.transfer), AccountNumber: a.number, Meters: []jdMeter{m},
		}, svc.id
	case kjLossNotified:
		return jdLossNotified{
			Identifier: svc.id, Type: svc.mpType, LossDt: synDate(st.sw.transfer),
			GainingSupplier: st.sw.other, AccountNumber: a.number,
		}, svc.id
	case kjBillAccepted:
		b := st.bill
		return jdBillAccepted{
			ID: b.id, AccountID: a.accountID, AccountNumber: a.number, IssueDt: synDate(b.issue), DueDt: synDate(b.due),
			PeriodFrom: synDate(b.from), PeriodTo: synDate(b.to), GrossAmount: synMoney(b.gross),
			NetAmount: synMoney(b.net), SalesTaxAmount: synMoney(b.tax), Currency: b.currency, Final: b.final,
			VersionNumber: b.version, FirstBillFl: b.first, MeterPoints: a.meterPointRefs(),
		}, strconv.FormatInt(b.id, 10)
	case kjDirectDebitCreated:
		return jdDirectDebitCreated{
			DirectDebitID: a.ddID, AccountNumber: a.number, PaymentMethodType: "Direct Debit", Status: "Active",
			AccountName: a.ddName, SortCode: a.ddSort, BankAccountNumber: a.ddBank, RegularAmount: synMoney(a.ddAmount),
			FrequencyAlignmentDt: synDate(a.ddAlign), CurrencyISO: "GBP",
		}, strconv.FormatInt(a.ddID, 10)
	case kjTicketStatusChanged:
		tk := st.tk
		mps := make([]string, len(tk.mps))
		for i, j := range tk.mps {
			mps[i] = a.services[j].id
		}
		return jdTicketStatusChanged{
			ID: tk.id, AccountNumber: a.number, TicketDefinitionCode: tk.code, TicketDefinitionName: tk.name,
			Status: tk.status, CreatedDttm: z.stamp(tk.created), Summary: tk.summary,
			TicketEntities: jdTicketEntities{MeterPoints: mps},
		}, strconv.FormatInt(tk.id, 10)
	}
	panic(fmt.Sprintf("catalog: unknown synthetic kind %d", st.kind))
}

// ---------------------------------------------------------------------------
// Envelope.

type synSubject struct {
	EntityType string `json:"entityType"`
	EntityID   string `json:"entityId"`
}

type synEnvelope struct {
	EventID         string     `json:"eventId"`
	EventType       string     `json:"eventType"`
	NativeEventType string     `json:"nativeEventType"`
	SchemaVersion   string     `json:"schemaVersion"`
	Source          string     `json:"source"`
	SourceVersion   string     `json:"sourceVersion"`
	TenantID        string     `json:"tenantId"`
	Environment     string     `json:"environment,omitempty"`
	OccurredAt      string     `json:"occurredAt"`
	PublishedAt     string     `json:"publishedAt"`
	CorrelationID   string     `json:"correlationId,omitempty"`
	CausationID     string     `json:"causationId,omitempty"`
	Subject         synSubject `json:"subject"`
	Data            any        `json:"data"`
}

// synUUID returns a random (version 4) UUID drawn from r.
func synUUID(r *rand.Rand) string {
	var b [16]byte
	binary.LittleEndian.PutUint64(b[:8], r.Uint64())
	binary.LittleEndian.PutUint64(b[8:], r.Uint64())
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	var s [36]byte
	hex.Encode(s[0:8], b[0:4])
	s[8] = '-'
	hex.Encode(s[9:13], b[4:6])
	s[13] = '-'
	hex.Encode(s[14:18], b[6:8])
	s[18] = '-'
	hex.Encode(s[19:23], b[8:10])
	s[23] = '-'
	hex.Encode(s[24:], b[10:])
	return string(s[:])
}

type synEncoder struct {
	buf bytes.Buffer
	enc *json.Encoder
}

// event encodes step st of account a as an event; it draws the eventId
// and the publishing delay from r.
func (e *synEncoder) event(r *rand.Rand, environment string, a *synAccount, st *synStep) Event {
	info := synKinds[st.kind]
	data, entity := synBuild(a, st)
	id := synUUID(r)
	version := synVelocityVersion
	if info.source == synJunifer {
		version = synJuniferVersion
	}
	causation := ""
	if a.lastCorr != "" && a.lastCorr == st.corr {
		causation = a.lastEventID
	}
	published := st.at.Add(time.Duration(40+r.IntN(2500)) * time.Millisecond)
	env := synEnvelope{
		EventID: id, EventType: info.eventType, NativeEventType: info.native, SchemaVersion: synSchemaVersion,
		Source: info.source, SourceVersion: version, TenantID: a.ts.tenant, Environment: environment,
		OccurredAt: a.zone.stamp(st.at), PublishedAt: published.UTC().Format(synTimeLayout),
		CorrelationID: st.corr, CausationID: causation,
		Subject: synSubject{EntityType: info.entityType, EntityID: entity}, Data: data,
	}
	if e.enc == nil {
		e.enc = json.NewEncoder(&e.buf)
		e.enc.SetEscapeHTML(false)
	}
	e.buf.Reset()
	if err := e.enc.Encode(env); err != nil {
		// Unreachable: the envelope holds only strings, numbers, booleans
		// and structs of them.
		panic(fmt.Sprintf("catalog: encode synthetic event: %v", err))
	}
	body := bytes.Clone(bytes.TrimSuffix(e.buf.Bytes(), []byte("\n")))
	a.lastEventID, a.lastCorr = id, st.corr
	return Event{
		Subject:   synSubjectPrefix + a.ts.tenant + "." + info.source + "." + info.eventType,
		MsgID:     id,
		Tenant:    a.ts.tenant,
		Source:    info.source,
		EventType: info.eventType,
		Body:      body,
	}
}

// ---------------------------------------------------------------------------
// Examples.

// Example returns one fixed, realistic event of a catalogue type: the same
// bytes on every call. The values follow the examples in catalog.md (for
// instance Velocity account "3004172851" with NMI "41023456781", Junifer
// account "00000101" with MPAN core "1012345678903" and MPRN "7462819310")
// for tenant "acme-energy" in environment "test". A source or type not in
// the catalogue returns an error wrapping [ErrUnknownCatalogType].
func Example(source, eventType string) (Event, error) {
	k, ok := synFindKind(source, eventType)
	if !ok {
		return Event{}, fmt.Errorf("example %s/%s: %w", source, eventType, ErrUnknownCatalogType)
	}
	var a *synAccount
	if source == synVelocity {
		a = synVelocityFixture()
	} else {
		a = synJuniferFixture()
	}
	st := synFixtureStep(a, k)
	r := rand.New(rand.NewPCG(uint64(k)+1, 0x5eed2025))
	var enc synEncoder
	return enc.event(r, synDefaultEnv, a, &st), nil
}

func synVelocityFixture() *synAccount {
	return &synAccount{
		ts:       &synTenantSource{tenant: synDefaultTenant, source: synVelocity},
		zone:     synZoneAUEast,
		country:  "AU",
		currency: "AUD",
		number:   "3004172851",
		custNo:   "C0091827",
		person: synPerson{
			title: "Ms", first: "Aroha", last: "Ngata", preferred: "Aroha",
			dob:   time.Date(1987, time.June, 14, 0, 0, 0, 0, time.UTC),
			email: "aroha.ngata@example.com", phone: "+61491570156",
		},
		addr: synAddress{line1: "12 Wattle St", suburb: "Newtown", city: "Sydney", state: "NSW", postcode: "2042", country: "AU"},
		services: []synService{{
			serviceType: "Electricity", id: "41023456781", market: "NEM", network: synAusgrid, tariff: "EA025",
			meterSerial: "A123456789", registers: []synRegister{{id: "E1", dials: 6, unit: "kWh"}},
			status: "Energised", previous: "ENERGYAU",
		}},
		quoteID:    "Q-2025-004417",
		oppRef:     sfID("0065g00000XyZ12"),
		offer:      "RES-FLEX-12M",
		contractID: "CT-778120",
		channel:    "Web",
		termMonths: 12,
	}
}

func synJuniferFixture() *synAccount {
	return &synAccount{
		ts:       &synTenantSource{tenant: synDefaultTenant, source: synJunifer},
		zone:     synZoneLondon,
		country:  "GB",
		currency: "GBP",
		number:   "00000101",
		custNo:   "00482915",
		person: synPerson{
			title: "Mrs", first: "Eleanor", last: "Whitfield", preferred: "Eleanor",
			dob:   time.Date(1979, time.November, 2, 0, 0, 0, 0, time.UTC),
			email: "eleanor.whitfield@example.com", phone: "07700 900123",
		},
		addr: synAddress{line1: "14 Elm Grove", line2: "Headingley", city: "Leeds", state: "West Yorkshire", postcode: "LS6 2AB", country: "GB"},
		services: []synService{
			{
				serviceType: "Electricity", mpType: "MPAN", id: "1012345678903", meterPointID: 1001,
				meterSerial: "E19UK01234", meterType: "Smart", registers: []synRegister{{"R1", 5, "kWh", "Import"}},
			},
			{
				serviceType: "Gas", mpType: "MPRN", id: "7462819310", meterPointID: 1002,
				meterSerial: "G4A0012345", meterType: "Smart", registers: []synRegister{{"G1", 5, "m3", "Import"}},
			},
		},
		customerID:    48213,
		accountID:     60117,
		contactID:     9921,
		agreementID:   7781,
		agreementName: "Fixed 12M",
		productCode:   "E1R-FIX-12M-DD",
		agreementFrom: time.Date(2025, time.March, 21, 0, 0, 0, 0, time.UTC),
		agreementTo:   time.Date(2026, time.March, 20, 0, 0, 0, 0, time.UTC),
		paymentDD:     true,
		billDelivery:  "Email",
		accountFrom:   time.Date(2025, time.March, 3, 0, 0, 0, 0, time.UTC),
		consent:       [3]bool{true, false, false},
		consentMethod: "Portal",
		ddID:          5531,
		ddSort:        "**-**-56",
		ddBank:        "****4321",
		ddName:        "Mrs E Whitfield",
		ddAmount:      9200,
		ddAlign:       time.Date(2025, time.April, 15, 0, 0, 0, 0, time.UTC),
	}
}

func synDay(y int, m time.Month, d int) time.Time { return time.Date(y, m, d, 0, 0, 0, 0, time.UTC) }

// synFixtureStep returns the example step of kind k for a fixture account.
func synFixtureStep(a *synAccount, k synKind) synStep {
	z := a.zone
	onboarding := "c-" + a.number + "-onboarding"
	cats := synSwitch{txn: "CATS-000918273645", reason: "StandardTransfer", proposed: synDay(2025, 3, 4), transfer: synDay(2025, 3, 4), other: "ENERGYAU"}
	switch k {
	case kvQuoteAccepted:
		return synStep{kind: k, at: z.at(synDay(2025, 2, 18), 10, 42, 7, 318), corr: onboarding}
	case kvAccountCreated:
		return synStep{kind: k, at: z.at(synDay(2025, 2, 18), 10, 46, 51, 27), corr: onboarding}
	case kvContractCreated:
		return synStep{kind: k, at: z.at(synDay(2025, 2, 18), 10, 51, 12, 640), corr: onboarding, sw: synRef(cats)}
	case kvCustomerUpdated:
		return synStep{kind: k, at: z.at(synDay(2025, 2, 18), 11, 20, 33, 905), corr: onboarding}
	case kvSwitchGainStarted:
		return synStep{kind: k, at: z.at(synDay(2025, 2, 18), 13, 5, 41, 902), corr: onboarding, sw: synRef(cats)}
	case kvSwitchGainObjected:
		sw := cats
		sw.objection, sw.objector = "DEBT", "ENERGYAU"
		return synStep{kind: k, at: z.at(synDay(2025, 2, 20), 11, 32, 10, 4), corr: onboarding, sw: synRef(sw)}
	case kvSwitchGainFinished:
		return synStep{kind: k, at: z.at(synDay(2025, 3, 4), 9, 15, 22, 481), corr: onboarding, sw: synRef(cats)}
	case kvContractActive:
		return synStep{kind: k, at: z.at(synDay(2025, 3, 4), 9, 41, 3, 120), corr: onboarding}
	case kvServicePointUpdated:
		return synStep{kind: k, at: z.at(synDay(2025, 3, 5), 14, 2, 10, 0), corr: onboarding}
	case kvSwitchLossStarted:
		sw := synSwitch{other: "ORIGIN", proposed: synDay(2025, 10, 28)}
		return synStep{kind: k, at: z.at(synDay(2025, 10, 14), 10, 20, 0, 500), corr: "c-" + a.number + "-loss", sw: synRef(sw)}
	case kvBillReady:
		b := synBill{
			ref: "B-99120431", issue: synDay(2025, 4, 4), due: synDay(2025, 4, 18), from: synDay(2025, 3, 4),
			to: synDay(2025, 4, 3), gross: 21437, first: true, currency: "AUD",
		}
		return synStep{kind: k, at: z.at(b.issue, 3, 12, 45, 210), corr: onboarding, bill: synRef(b)}
	case kjCustomerCreated:
		return synStep{kind: k, at: z.at(synDay(2025, 3, 3), 10, 12, 44, 120), corr: onboarding}
	case kjAccountCreated:
		return synStep{kind: k, at: z.at(synDay(2025, 3, 3), 10, 15, 2, 881), corr: onboarding}
	case kjContactUpdated:
		return synStep{kind: k, at: z.at(synDay(2025, 5, 12), 19, 4, 55, 310), corr: "c-" + a.number + "-contact-1"}
	case kjAgreementCreated:
		return synStep{kind: k, at: z.at(synDay(2025, 3, 3), 10, 21, 37, 450), corr: onboarding}
	case kjRegistrationRequested:
		sw := synSwitch{proposed: synDay(2025, 3, 21), other: "British Gas"}
		return synStep{kind: k, at: z.at(synDay(2025, 3, 3), 16, 40, 8, 12), corr: onboarding, sw: synRef(sw)}
	case kjRegistrationObjected:
		sw := synSwitch{objection: "Debt", resubmit: true}
		return synStep{kind: k, at: z.at(synDay(2025, 3, 6), 11, 2, 19, 700), corr: onboarding, sw: synRef(sw)}
	case kjSupplyStarted:
		sw := synSwitch{transfer: synDay(2025, 3, 21)}
		return synStep{kind: k, at: z.at(sw.transfer, 0, 0, 0, 0), corr: onboarding, sw: synRef(sw)}
	case kjLossNotified:
		sw := synSwitch{transfer: synDay(2026, 3, 24), other: "Octopus Energy"}
		return synStep{kind: k, at: z.at(synDay(2026, 3, 10), 9, 30, 12, 95), corr: "c-" + a.number + "-loss", sw: synRef(sw)}
	case kjBillAccepted:
		b := synBill{
			id: 11803, issue: synDay(2025, 4, 2), due: synDay(2025, 4, 16), from: synDay(2025, 3, 21), to: synDay(2025, 3, 31),
			net: 14154, tax: 708, gross: 14862, first: true, version: 1, currency: "GBP",
		}
		return synStep{kind: k, at: z.at(b.issue, 6, 1, 44, 0), corr: onboarding, bill: synRef(b)}
	case kjDirectDebitCreated:
		return synStep{kind: k, at: z.at(synDay(2025, 4, 3), 9, 12, 30, 660), corr: onboarding}
	default: // kjTicketStatusChanged
		tk := synTicket{
			id: 201, code: "COT_MOVE_IN", name: "Change of Tenancy - Move In", status: "InProgress",
			summary: "Move-in at 14 Elm Grove, Leeds", created: z.at(synDay(2025, 3, 3), 10, 17, 9, 300), mps: []int{0, 1},
		}
		return synStep{kind: k, at: z.at(synDay(2025, 3, 4), 9, 45, 0, 0), corr: onboarding, tk: synRef(tk)}
	}
}
