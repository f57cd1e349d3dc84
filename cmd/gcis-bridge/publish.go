package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/spf13/cobra"
	"golang.org/x/time/rate"

	"github.com/gentrack/gcis-bridge/transform/catalog"
)

type publishOpts struct {
	natsURL, creds, file, tenant, source string
	synthetic                            bool
	count                                int
	rate                                 float64
	seed                                 int64
	prefix                               string
}

func newPublishCmd() *cobra.Command {
	o := &publishOpts{}
	cmd := &cobra.Command{
		Use:   "publish --nats URL (--file F.jsonl | --synthetic --tenant T --source S [--count N] [--rate R] [--seed S])",
		Short: "Publish source events to JetStream (from a JSON Lines file or synthetic)",
		Long: `Publishes Velocity/Junifer events to gcis.events.<tenant>.<source>.<eventType>
with Nats-Msg-Id = eventId, waiting for each JetStream acknowledgement.

--file takes one event envelope per line (the subject is built from its
tenantId, source and eventType). --synthetic generates realistic, check-valid
events for one tenant and source, reproducible with --seed.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return o.run(cmd) },
	}
	f := cmd.Flags()
	f.StringVar(&o.natsURL, "nats", "nats://127.0.0.1:4222", "NATS server URL")
	f.StringVar(&o.creds, "creds", "", "NATS credentials file")
	f.StringVar(&o.file, "file", "", "JSON Lines file of event envelopes")
	f.BoolVar(&o.synthetic, "synthetic", false, "publish synthetic events")
	f.StringVar(&o.tenant, "tenant", "", "tenant id (with --synthetic)")
	f.StringVar(&o.source, "source", "", "velocity or junifer (with --synthetic)")
	f.IntVar(&o.count, "count", 100, "number of synthetic events")
	f.Float64Var(&o.rate, "rate", 0, "events per second (0 = as fast as acknowledged)")
	f.Int64Var(&o.seed, "seed", 1, "seed of the synthetic generator")
	f.StringVar(&o.prefix, "subject-prefix", "gcis.events", "event subject prefix")
	return cmd
}

type pubEvent struct {
	subject, msgID string
	body           []byte
}

func (o *publishOpts) validate() error {
	switch {
	case o.file == "" && !o.synthetic:
		return usageError{errors.New("give --file F.jsonl or --synthetic")}
	case o.file != "" && o.synthetic:
		return usageError{errors.New("--file and --synthetic exclude each other")}
	case o.synthetic && o.tenant == "":
		return usageError{errors.New("--synthetic needs --tenant")}
	case o.synthetic && o.source != "velocity" && o.source != "junifer":
		return usageError{fmt.Errorf("--source: want velocity or junifer, got %q", o.source)}
	case o.count < 1:
		return usageError{errors.New("--count: must be at least 1")}
	case o.rate < 0:
		return usageError{errors.New("--rate: must not be negative")}
	}
	return nil
}

func (o *publishOpts) run(cmd *cobra.Command) error {
	if err := o.validate(); err != nil {
		return err
	}
	var next func() (pubEvent, bool, error)
	total := -1
	if o.synthetic {
		g, err := catalog.NewGenerator(catalog.GeneratorConfig{Seed: o.seed, Tenants: []string{o.tenant}, Sources: []string{o.source}})
		if err != nil {
			return usageError{err}
		}
		n := 0
		total = o.count
		next = func() (pubEvent, bool, error) {
			if n >= o.count {
				return pubEvent{}, false, nil
			}
			n++
			e := g.Next()
			return pubEvent{subject: e.Subject, msgID: e.MsgID, body: e.Body}, true, nil
		}
	} else {
		f, err := os.Open(o.file)
		if err != nil {
			return err
		}
		defer f.Close()
		sc := bufio.NewScanner(f)
		sc.Buffer(make([]byte, 64<<10), 8<<20)
		line := 0
		next = func() (pubEvent, bool, error) {
			for sc.Scan() {
				line++
				b := sc.Bytes()
				if len(b) == 0 {
					continue
				}
				ev, err := o.fromLine(b)
				if err != nil {
					return pubEvent{}, false, fmt.Errorf("%s:%d: %w", o.file, line, err)
				}
				return ev, true, nil
			}
			return pubEvent{}, false, sc.Err()
		}
	}
	nc, err := connectNATS(o.natsURL, o.creds, "gcis-bridge publish")
	if err != nil {
		return err
	}
	defer nc.Close()
	n, err := publishAll(cmd.Context(), nc, next, total, o.rate, cmd.ErrOrStderr())
	fmt.Fprintf(cmd.OutOrStdout(), "published %d events (acknowledged by JetStream)\n", n)
	return err
}

func (o *publishOpts) fromLine(b []byte) (pubEvent, error) {
	var env struct {
		EventID   string `json:"eventId"`
		EventType string `json:"eventType"`
		Source    string `json:"source"`
		TenantID  string `json:"tenantId"`
	}
	if err := json.Unmarshal(b, &env); err != nil {
		return pubEvent{}, fmt.Errorf("not a JSON event envelope: %w", err)
	}
	if env.EventID == "" || env.EventType == "" || env.Source == "" || env.TenantID == "" {
		return pubEvent{}, errors.New("event needs eventId, eventType, source and tenantId")
	}
	body := make([]byte, len(b))
	copy(body, b)
	return pubEvent{subject: o.prefix + "." + env.TenantID + "." + env.Source + "." + env.EventType, msgID: env.EventID, body: body}, nil
}

// publishAll publishes events with Nats-Msg-Id, waiting for every ack, with
// a progress bar on w; rate > 0 limits events per second.
func publishAll(ctx context.Context, nc *nats.Conn, next func() (pubEvent, bool, error), total int, perSec float64, w io.Writer) (int, error) {
	js, err := jetstream.New(nc)
	if err != nil {
		return 0, err
	}
	tty := isTerminal(w)
	bar := newProgress(w, total, "publishing", "events", tty)
	defer func() { _ = bar.Finish() }()
	// Off a terminal (a log, a container), a progress line every 5 s.
	lastLine := time.Now()
	var lim *rate.Limiter
	if perSec > 0 {
		lim = rate.NewLimiter(rate.Limit(perSec), 1)
	}
	const window = 256
	var futures []jetstream.PubAckFuture
	acked := 0
	wait := func(all bool) error {
		for len(futures) > 0 && (all || len(futures) >= window) {
			f := futures[0]
			select {
			case <-f.Ok():
				acked++
				_ = bar.Add(1)
				if !tty && time.Since(lastLine) >= 5*time.Second {
					lastLine = time.Now()
					if total > 0 {
						fmt.Fprintf(w, "published %d of %d events\n", acked, total)
					} else {
						fmt.Fprintf(w, "published %d events\n", acked)
					}
				}
			case err := <-f.Err():
				return fmt.Errorf("publish %s: %w", f.Msg().Subject, err)
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(30 * time.Second):
				return fmt.Errorf("publish %s: no acknowledgement in 30s", f.Msg().Subject)
			}
			futures = futures[1:]
		}
		return nil
	}
	for {
		ev, ok, err := next()
		if err != nil {
			_ = wait(true)
			return acked, err
		}
		if !ok {
			break
		}
		if lim != nil {
			if err := lim.Wait(ctx); err != nil {
				_ = wait(true)
				return acked, err
			}
		}
		m := nats.NewMsg(ev.subject)
		m.Data = ev.body
		m.Header.Set(jetstream.MsgIDHeader, ev.msgID)
		f, err := js.PublishMsgAsync(m)
		if err != nil {
			_ = wait(true)
			return acked, fmt.Errorf("publish %s: %w", ev.subject, err)
		}
		futures = append(futures, f)
		if err := wait(false); err != nil {
			return acked, err
		}
	}
	return acked, wait(true)
}

// connectNATS connects with a bounded timeout and a clear error.
func connectNATS(url, creds, name string) (*nats.Conn, error) {
	opts := []nats.Option{nats.Name(name), nats.Timeout(3 * time.Second), nats.MaxReconnects(-1)}
	if creds != "" {
		opts = append(opts, nats.UserCredentials(creds))
	}
	nc, err := nats.Connect(url, opts...)
	if err != nil {
		return nil, fmt.Errorf("cannot connect to NATS at %s: %w", url, err)
	}
	return nc, nil
}
