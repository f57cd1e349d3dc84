package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"sort"
	"strings"
	"sync"
	"text/tabwriter"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/gentrack/gcis-bridge/bridge"
	"github.com/gentrack/gcis-bridge/bridge/embednats"
	"github.com/gentrack/gcis-bridge/bridge/salesforce/sfsim"
	"github.com/gentrack/gcis-bridge/bridge/telemetry"
	"github.com/gentrack/gcis-bridge/transform/catalog"
)

type demoOpts struct {
	events, tenants int
	seed            int64
	timeout         time.Duration
	logLevel        string
}

func newDemoCmd() *cobra.Command {
	o := &demoOpts{}
	cmd := &cobra.Command{
		Use:   "demo [--events N] [--tenants N] [--seed S]",
		Short: "Run everything in one process: JetStream, Salesforce simulator, bridge, sample events",
		Long: `demo starts an embedded JetStream server (temporary directory), the Salesforce
simulator with one org per tenant, and the bridge with one connector per
tenant; it publishes synthetic Velocity and Junifer events (and a few bad
ones), shows live progress, and ends with a summary. It exits 0 when every
event is accounted for: delivered to its org or dead-lettered with a reason.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if o.events < 1 || o.tenants < 1 || o.tenants > 1000 {
				return usageError{errors.New("--events must be ≥ 1 and --tenants between 1 and 1000")}
			}
			return o.run(cmd.Context(), cmd.OutOrStdout(), cmd.ErrOrStderr())
		},
	}
	f := cmd.Flags()
	f.IntVar(&o.events, "events", 2000, "good synthetic events to publish (bad ones are added)")
	f.IntVar(&o.tenants, "tenants", 3, "tenants (one connector and org each)")
	f.Int64Var(&o.seed, "seed", 42, "seed of the synthetic generator")
	f.DurationVar(&o.timeout, "timeout", 2*time.Minute, "give up waiting after this long")
	f.StringVar(&o.logLevel, "log-level", "warn", "bridge log level (logs go to stderr)")
	return cmd
}

// demoTally collects what the bridge reports.
type demoTally struct {
	mu         sync.Mutex
	delivered  map[string]int // by status
	dead       map[string]int // by class
	calls      int
	callEvents int
	latencies  []time.Duration
}

func (t *demoTally) hooks() bridge.Hooks {
	return bridge.Hooks{
		Delivered: func(_, _, _, status string, lat time.Duration) {
			t.mu.Lock()
			t.delivered[status]++
			t.latencies = append(t.latencies, lat)
			t.mu.Unlock()
		},
		DeadLettered: func(_, class string) {
			t.mu.Lock()
			t.dead[class]++
			t.mu.Unlock()
		},
		Request: func(_, outcome string, events int) {
			t.mu.Lock()
			t.calls++
			if outcome == "ok" {
				t.callEvents += events
			}
			t.mu.Unlock()
		},
	}
}

func (t *demoTally) settled() (delivered, dead int) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, n := range t.delivered {
		delivered += n
	}
	for _, n := range t.dead {
		dead += n
	}
	return
}

func (o *demoOpts) run(ctx context.Context, stdout, stderr io.Writer) error {
	logger, err := telemetry.NewLogger(telemetry.LogConfig{Level: o.logLevel, Format: "console", Output: stderr})
	if err != nil {
		return usageError{fmt.Errorf("--log-level: %w", err)}
	}
	defer func() { _ = logger.Sync() }()
	fmt.Fprintln(stderr, "▸ starting embedded JetStream")
	ns, err := embednats.Start(embednats.Config{})
	if err != nil {
		return err
	}
	defer ns.Shutdown()
	nc, err := ns.Connect()
	if err != nil {
		return err
	}
	defer nc.Close()

	tenants := make([]string, o.tenants)
	orgs := make([]sfsim.OrgConfig, o.tenants)
	for i := range tenants {
		tenants[i] = fmt.Sprintf("tenant-%02d", i+1)
		orgs[i] = sfsim.OrgConfig{ID: fmt.Sprintf("org%02d", i+1), ConsumerKey: fmt.Sprintf("3MVG9demo%02dKey", i+1), ConsumerSecret: fmt.Sprintf("demo-secret-%02d", i+1)}
	}
	sim, err := sfsim.New(sfsim.Config{Orgs: orgs})
	if err != nil {
		return err
	}
	defer sim.Close()
	for _, org := range orgs {
		// A realistic org: 80–200 ms per request, and a validation rule.
		if err := sim.SetFault(org.ID, sfsim.Fault{Kind: sfsim.KindLatency, Latency: &sfsim.Latency{Dist: "uniform", Min: 80 * time.Millisecond, Max: 200 * time.Millisecond}}); err != nil {
			return err
		}
		if err := sim.SetFault(org.ID, demoRejectRule()); err != nil {
			return err
		}
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: sim, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	defer srv.Close()
	simURL := "http://" + ln.Addr().String()
	fmt.Fprintf(stderr, "▸ Salesforce simulator at %s with %d orgs\n", simURL, len(orgs))

	reg := prometheus.NewRegistry()
	tally := &demoTally{delivered: map[string]int{}, dead: map[string]int{}}
	b, err := bridge.New(bridge.Config{
		Conn:            nc,
		Mappings:        catalog.DefaultMappings(),
		Metrics:         telemetry.NewMetrics(reg),
		Logger:          logger,
		Hooks:           tally.hooks(),
		Version:         version,
		ShutdownTimeout: 10 * time.Second,
	})
	if err != nil {
		return err
	}
	for i, t := range tenants {
		if err := b.SetConnector(ctx, bridge.Connector{
			ID: "conn-" + t, Tenant: t, LoginURL: simURL + "/orgs/" + orgs[i].ID,
			ConsumerKey: orgs[i].ConsumerKey, ConsumerSecret: orgs[i].ConsumerSecret,
			AllowInsecureHTTP: true, Delivery: demoDelivery(),
		}); err != nil {
			return err
		}
	}
	runCtx, stopBridge := context.WithCancel(ctx)
	runErr := make(chan error, 1)
	go func() { runErr <- b.Run(runCtx) }()
	select {
	case <-b.Started():
	case err := <-runErr:
		stopBridge()
		return err
	}
	defer func() {
		stopBridge()
		<-runErr
	}()

	// Publish good synthetic events and a few bad ones.
	gen, err := catalog.NewGenerator(catalog.GeneratorConfig{Seed: o.seed, Tenants: tenants, AccountsPerTenant: max(50, o.events/(3*o.tenants))})
	if err != nil {
		return err
	}
	evs := make([]pubEvent, 0, o.events+8)
	for range o.events {
		e := gen.Next()
		evs = append(evs, pubEvent{subject: e.Subject, msgID: e.MsgID, body: e.Body})
	}
	bad := demoBadEvents(tenants[0])
	evs = append(evs, bad...)
	fmt.Fprintf(stderr, "▸ publishing %d events (%d good, %d bad) for %d tenants\n", len(evs), o.events, len(bad), o.tenants)
	i := 0
	start := time.Now()
	published, err := publishAll(ctx, nc, func() (pubEvent, bool, error) {
		if i >= len(evs) {
			return pubEvent{}, false, nil
		}
		i++
		return evs[i-1], true, nil
	}, len(evs), 0, stderr)
	if err != nil {
		return err
	}
	fmt.Fprintf(stderr, "▸ published %d events\n", published)

	// Wait until every event is settled.
	deadline := time.Now().Add(o.timeout)
	tick := time.NewTicker(250 * time.Millisecond)
	defer tick.Stop()
	tty := isTerminal(stderr)
	lastLine := time.Time{}
	for {
		d, dl := tally.settled()
		done := d+dl >= published
		switch {
		case tty:
			fmt.Fprintf(stderr, "\r▸ delivered %d, dead-lettered %d of %d ", d, dl, published)
		case done || time.Since(lastLine) >= time.Second:
			fmt.Fprintf(stderr, "▸ delivered %d, dead-lettered %d of %d\n", d, dl, published)
			lastLine = time.Now()
		}
		if done {
			break
		}
		if time.Now().After(deadline) {
			fmt.Fprintln(stderr)
			return fmt.Errorf("demo: only %d of %d events settled within %s", d+dl, published, o.timeout)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-tick.C:
		}
	}
	elapsed := time.Since(start)
	if tty {
		fmt.Fprintln(stderr)
	}

	// Cross-check with the simulator and the dead-letter stream.
	atOrgs := 0
	for _, org := range orgs {
		ev, _, err := sim.Events(org.ID)
		if err != nil {
			return err
		}
		atOrgs += len(ev)
	}
	js, _ := jetstream.New(nc)
	dlqMsgs := uint64(0)
	if st, err := js.Stream(ctx, "GCIS_DLQ"); err == nil {
		dlqMsgs = st.CachedInfo().State.Msgs
	}
	ok := o.summary(stdout, tally, published, atOrgs, dlqMsgs, elapsed)
	if !ok {
		return errors.New("demo: not every event is accounted for")
	}
	return nil
}

func demoDelivery() bridge.Delivery {
	return bridge.Delivery{
		BatchMaxEvents: 200, BatchMaxBytes: 2 << 20, Linger: 100 * time.Millisecond, MaxInFlight: 4,
		RequestTimeout: 30 * time.Second, MaxAttempts: 10, MaxAckPending: 5000,
		BreakerFailures: 5, BreakerOpenFor: 30 * time.Second, LimitSlowdownRatio: 0.9,
	}
}

func (o *demoOpts) summary(w io.Writer, t *demoTally, published, atOrgs int, dlqMsgs uint64, elapsed time.Duration) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	delivered := t.delivered["created"] + t.delivered["duplicate"]
	dead := 0
	for _, n := range t.dead {
		dead += n
	}
	lat := append([]time.Duration(nil), t.latencies...)
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	pct := func(p float64) time.Duration {
		if len(lat) == 0 {
			return 0
		}
		return lat[min(len(lat)-1, int(p*float64(len(lat))))]
	}
	perCall := 0.0
	if t.calls > 0 {
		perCall = float64(t.callEvents) / float64(t.calls)
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "\ngcis-bridge demo summary (%d tenants, seed %d)\n", o.tenants, o.seed)
	fmt.Fprintf(tw, "%s\n", strings.Repeat("─", 44))
	fmt.Fprintf(tw, "published\t%d\n", published)
	fmt.Fprintf(tw, "delivered\t%d\t(created %d, duplicate %d)\n", delivered, t.delivered["created"], t.delivered["duplicate"])
	fmt.Fprintf(tw, "  stored at the simulated orgs\t%d\n", atOrgs)
	fmt.Fprintf(tw, "dead-lettered\t%d\n", dead)
	classes := make([]string, 0, len(t.dead))
	for c := range t.dead {
		classes = append(classes, c)
	}
	sort.Strings(classes)
	for _, c := range classes {
		fmt.Fprintf(tw, "  %s\t%d\n", c, t.dead[c])
	}
	fmt.Fprintf(tw, "  in the GCIS_DLQ stream\t%d\n", dlqMsgs)
	fmt.Fprintf(tw, "Salesforce API calls\t%d\n", t.calls)
	fmt.Fprintf(tw, "events per call\t%.1f\n", perCall)
	fmt.Fprintf(tw, "latency p50 / p99\t%s / %s\t(publish → Salesforce ack)\n", pct(0.50).Round(time.Millisecond), pct(0.99).Round(time.Millisecond))
	fmt.Fprintf(tw, "elapsed\t%s\n", elapsed.Round(time.Millisecond))
	ok := delivered+dead == published && atOrgs == t.delivered["created"] && int(dlqMsgs) == dead
	verdict := "every event accounted for"
	if !ok {
		verdict = "MISMATCH: some events are not accounted for"
	}
	fmt.Fprintf(tw, "result\t%s\n", verdict)
	_ = tw.Flush()
	return ok
}

// isTerminal reports whether w is a terminal (live progress redraws one
// line there; elsewhere it prints a line a second).
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}
