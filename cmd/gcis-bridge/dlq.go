package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"os/user"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"
	"unicode/utf8"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.yaml.in/yaml/v3"
	"golang.org/x/term"

	"github.com/gentrack/gcis-bridge/bridge/deadletter"
)

// usageError marks a bad invocation: main prints the usage and exits 2.
type usageError struct{ error }

// Unwrap returns the cause.
func (e usageError) Unwrap() error { return e.error }

// dlqDeps are the command's links to the process, replaceable in tests.
type dlqDeps struct {
	stdinTerminal  func() bool // ask for confirmation?
	stderrTerminal func() bool // draw progress bars?
	now            func() time.Time
	actor          func() string // who runs the command, for the audit log
}

func defaultDLQDeps() dlqDeps {
	return dlqDeps{
		stdinTerminal:  func() bool { return term.IsTerminal(int(os.Stdin.Fd())) },
		stderrTerminal: func() bool { return term.IsTerminal(int(os.Stderr.Fd())) },
		now:            time.Now,
		actor:          osActor,
	}
}

// osActor is "user@host" of the OS user running the command.
func osActor() string {
	name := os.Getenv("USER")
	if u, err := user.Current(); err == nil && u.Username != "" {
		name = u.Username
	}
	if name == "" {
		name = "unknown"
	}
	if h, err := os.Hostname(); err == nil && h != "" {
		name += "@" + h
	}
	return "cli:" + name
}

// dlqOpts holds the flags shared by every dlq subcommand.
type dlqOpts struct {
	deps                    dlqDeps
	natsURL, creds, config  string
	eventsStream, dlqStream string
}

// newDLQCmd returns `gcis-bridge dlq` and its subcommands list, stats,
// show, replay and purge, which work on the dead-letter stream directly
// over NATS (contract operations.md).
func newDLQCmd() *cobra.Command { return newDLQCmdWith(defaultDLQDeps()) }

func newDLQCmdWith(deps dlqDeps) *cobra.Command {
	o := &dlqOpts{deps: deps}
	cmd := &cobra.Command{
		Use:   "dlq",
		Short: "Inspect, replay and purge dead letters (GCIS_DLQ)",
		Long: `Works on the dead-letter stream directly over NATS.

Filters (list, stats, replay, purge):
  --tenant T  --source S  --type EVENT-TYPE  --class C (repeatable or a comma list:
  invalid, unsupported, unmapped, rejected, exhausted)  --error-code CODE
  --since/--until (a duration such as 90m or 2d, or an RFC 3339 time)
  --seq FROM-TO (inclusive; FROM- and -TO are open-ended)

The NATS URL and credentials come from --nats/--creds, else from the
nats section of --config FILE, else nats://127.0.0.1:4222.`,
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) > 0 {
				return usageError{fmt.Errorf("unknown command %q for %q", args[0], cmd.CommandPath())}
			}
			return nil
		},
		RunE: func(*cobra.Command, []string) error {
			return usageError{errors.New("a subcommand is required: list, stats, show, replay or purge")}
		},
	}
	pf := cmd.PersistentFlags()
	pf.StringVar(&o.natsURL, "nats", deadletterDefaultNATS, "NATS server URL (default from --config, else "+deadletterDefaultNATS+")")
	pf.StringVar(&o.creds, "creds", "", "NATS credentials file")
	pf.StringVar(&o.config, "config", "", "configuration file to read nats.url, nats.creds_file and stream names from")
	pf.StringVar(&o.eventsStream, "stream", deadletter.DefaultEventsStream, "events stream replays are published to")
	pf.StringVar(&o.dlqStream, "dlq-stream", deadletter.DefaultStream, "dead-letter stream")
	cmd.AddCommand(o.listCmd(), o.statsCmd(), o.showCmd(), o.replayCmd(), o.purgeCmd())
	return cmd
}

const deadletterDefaultNATS = "nats://127.0.0.1:4222"

// noArgs rejects positional arguments as a usage error.
func noArgs(cmd *cobra.Command, args []string) error {
	if len(args) > 0 {
		return usageError{fmt.Errorf("unexpected argument %q for %q", args[0], cmd.CommandPath())}
	}
	return nil
}

// filterFlags are the DLQ filter flags of a subcommand.
type filterFlags struct {
	in deadletter.FilterInput
}

func (ff *filterFlags) register(fs *pflag.FlagSet) {
	fs.StringVar(&ff.in.Tenant, "tenant", "", "tenant id")
	fs.StringVar(&ff.in.Source, "source", "", "source system: velocity or junifer")
	fs.StringVar(&ff.in.Type, "type", "", "event type, e.g. bill-accepted")
	fs.StringArrayVar(&ff.in.Class, "class", nil, "dead-letter class (repeatable or comma list)")
	fs.StringVar(&ff.in.ErrorCode, "error-code", "", "Salesforce error code, e.g. FIELD_CUSTOM_VALIDATION_EXCEPTION")
	fs.StringVar(&ff.in.Since, "since", "", "dead-lettered at or after: duration ago (90m, 2d) or RFC 3339 time")
	fs.StringVar(&ff.in.Until, "until", "", "dead-lettered at or before: duration ago or RFC 3339 time")
	fs.StringVar(&ff.in.Seq, "seq", "", "dead-letter sequence range FROM-TO (inclusive)")
}

// filter parses the flags; a bad value is a usage error naming its flag.
func (ff *filterFlags) filter(now time.Time, limit int) (deadletter.Filter, error) {
	in := ff.in
	in.Limit = limit
	f, err := in.Filter(now)
	if err != nil {
		var fe *deadletter.FieldError
		if errors.As(err, &fe) {
			return f, usageError{fmt.Errorf("--%s: %w", strings.ReplaceAll(fe.Field, "_", "-"), fe.Err)}
		}
		return f, usageError{err}
	}
	return f, nil
}

// natsSettings is what the dlq commands read from the configuration file.
type natsSettings struct {
	NATS struct {
		URL       string `yaml:"url"`
		CredsFile string `yaml:"creds_file"`
	} `yaml:"nats"`
	Streams struct {
		Events struct {
			Name string `yaml:"name"`
		} `yaml:"events"`
		DeadLetter struct {
			Name string `yaml:"name"`
		} `yaml:"dead_letter"`
	} `yaml:"streams"`
}

// resolve fills the connection settings from --config where the flags
// were not given.
func (o *dlqOpts) resolve(cmd *cobra.Command) error {
	if o.config == "" {
		return nil
	}
	raw, err := os.ReadFile(o.config)
	if err != nil {
		return fmt.Errorf("read configuration: %w", err)
	}
	var s natsSettings
	if err := yaml.Unmarshal(raw, &s); err != nil {
		return fmt.Errorf("configuration %s: %w", o.config, err)
	}
	fields := []struct {
		flag, key, value string
		dst              *string
	}{
		{"nats", "nats.url", s.NATS.URL, &o.natsURL},
		{"creds", "nats.creds_file", s.NATS.CredsFile, &o.creds},
		{"stream", "streams.events.name", s.Streams.Events.Name, &o.eventsStream},
		{"dlq-stream", "streams.dead_letter.name", s.Streams.DeadLetter.Name, &o.dlqStream},
	}
	for _, f := range fields {
		if cmd.Flags().Changed(f.flag) {
			continue
		}
		v, err := expandEnv(f.value)
		if err != nil {
			return fmt.Errorf("configuration %s: %s: %w", o.config, f.key, err)
		}
		if v != "" { // an empty nats.url means the embedded server on the default port
			*f.dst = v
		}
	}
	return nil
}

var envRef = regexp.MustCompile(`\$\{([A-Za-z_][A-Za-z0-9_]*)(:-([^}]*))?\}`)

// expandEnv expands ${NAME} and ${NAME:-default} as the configuration
// file does; an unset NAME without a default is an error.
func expandEnv(s string) (string, error) {
	var missing []string
	out := envRef.ReplaceAllStringFunc(s, func(ref string) string {
		m := envRef.FindStringSubmatch(ref)
		if v, ok := os.LookupEnv(m[1]); ok {
			return v
		}
		if m[2] != "" {
			return m[3]
		}
		missing = append(missing, m[1])
		return ""
	})
	if len(missing) > 0 {
		return "", fmt.Errorf("environment variable %s is not set", strings.Join(missing, ", "))
	}
	return out, nil
}

// session is an open connection to the dead-letter stream.
type session struct {
	nc    *nats.Conn
	store *deadletter.Store
	log   *zap.Logger
}

func (s *session) Close() {
	_ = s.log.Sync()
	s.nc.Close()
}

// open connects to NATS and checks that the dead-letter stream exists.
// Audit lines of replays and purges go to stderr as JSON.
func (o *dlqOpts) open(cmd *cobra.Command) (*session, error) {
	if err := o.resolve(cmd); err != nil {
		return nil, err
	}
	nc, err := connectNATS(o.natsURL, o.creds, "gcis-bridge dlq")
	if err != nil {
		return nil, errors.New(redactURLs(err.Error(), o.natsURL))
	}
	js, err := jetstream.New(nc, jetstream.WithDefaultTimeout(10*time.Second))
	if err != nil {
		nc.Close()
		return nil, err
	}
	encCfg := zap.NewProductionEncoderConfig()
	encCfg.TimeKey, encCfg.EncodeTime = "time", zapcore.RFC3339TimeEncoder
	log := zap.New(zapcore.NewCore(zapcore.NewJSONEncoder(encCfg), zapcore.AddSync(cmd.ErrOrStderr()), zap.InfoLevel)).
		With(zap.String("component", "dlq"), zap.String("stream", o.dlqStream))
	store, err := deadletter.NewStore(js, deadletter.StoreConfig{Stream: o.dlqStream, EventsStream: o.eventsStream, Logger: log})
	if err != nil {
		nc.Close()
		return nil, usageError{err}
	}
	ctx, cancel := context.WithTimeout(cmd.Context(), 5*time.Second)
	defer cancel()
	if _, err := js.Stream(ctx, o.dlqStream); err != nil {
		nc.Close()
		if errors.Is(err, jetstream.ErrStreamNotFound) {
			return nil, fmt.Errorf("dead-letter stream %s not found on %s (the bridge creates it at start; check --dlq-stream)", o.dlqStream, redactURL(o.natsURL))
		}
		return nil, fmt.Errorf("dead-letter stream %s on %s: %w", o.dlqStream, redactURL(o.natsURL), err)
	}
	return &session{nc: nc, store: store, log: log}, nil
}

// redactURL hides the password of a user:password@ URL.
func redactURL(raw string) string {
	parts := strings.Split(raw, ",")
	for i, p := range parts {
		if u, err := url.Parse(strings.TrimSpace(p)); err == nil && u.User != nil {
			parts[i] = u.Redacted()
		}
	}
	return strings.Join(parts, ",")
}

func redactURLs(msg, raw string) string {
	if red := redactURL(raw); red != raw {
		return strings.ReplaceAll(msg, raw, red)
	}
	return msg
}

// ---- list ----

func (o *dlqOpts) listCmd() *cobra.Command {
	var (
		ff     filterFlags
		limit  int
		asJSON bool
	)
	cmd := &cobra.Command{
		Use:   "list [filters] [--limit N] [--json]",
		Short: "List dead letters: sequence, time, tenant, source, type, class, error code, reason",
		Args:  noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			f, err := ff.filter(o.deps.now(), limit)
			if err != nil {
				return err
			}
			s, err := o.open(cmd)
			if err != nil {
				return err
			}
			defer s.Close()
			p := newDLPrinter(cmd.OutOrStdout(), asJSON, true)
			err = s.store.List(cmd.Context(), f, p.print)
			if ferr := p.flush(); err == nil {
				err = ferr
			}
			if err == nil && p.n == 0 && !asJSON {
				fmt.Fprintln(cmd.ErrOrStderr(), "no dead letters match")
			}
			return err
		},
	}
	ff.register(cmd.Flags())
	cmd.Flags().IntVar(&limit, "limit", 0, "list at most N (0 = all)")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON Lines, one object per dead letter (with headers and body)")
	return cmd
}

// dlPrinter prints dead letters as a table (flushed every few hundred
// rows, so memory stays bounded) or as JSON Lines.
type dlPrinter struct {
	w        io.Writer
	tw       *tabwriter.Writer
	enc      *json.Encoder
	withBody bool
	n        int
}

func newDLPrinter(w io.Writer, asJSON, withBody bool) *dlPrinter {
	p := &dlPrinter{w: w, withBody: withBody}
	if asJSON {
		p.enc = json.NewEncoder(w)
	} else {
		p.tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	}
	return p
}

const tableFlushRows = 500

func (p *dlPrinter) print(d *deadletter.DeadLetter) error {
	if p.enc != nil {
		p.n++
		return p.enc.Encode(d.View(p.withBody))
	}
	if p.n%tableFlushRows == 0 {
		if err := p.tw.Flush(); err != nil {
			return err
		}
		if p.n == 0 {
			fmt.Fprintln(p.tw, "SEQ\tTIME\tTENANT\tSOURCE\tTYPE\tCLASS\tERROR CODE\tREASON")
		}
	}
	p.n++
	_, err := fmt.Fprintf(p.tw, "%d\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", d.Sequence, d.Time.UTC().Format(time.RFC3339),
		d.Tenant, d.Source, d.EventType, orDash(string(d.Class)), orDash(d.ErrorCode), shorten(d.Reason, 120))
	return err
}

func (p *dlPrinter) flush() error {
	if p.tw != nil {
		return p.tw.Flush()
	}
	return nil
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// shorten cuts s to n runes, marking the cut with "…".
func shorten(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n-1]) + "…"
}

// ---- stats ----

func (o *dlqOpts) statsCmd() *cobra.Command {
	var (
		ff     filterFlags
		asJSON bool
	)
	cmd := &cobra.Command{
		Use:   "stats [filters] [--json]",
		Short: "Count dead letters by tenant × class × error code",
		Args:  noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			f, err := ff.filter(o.deps.now(), 0)
			if err != nil {
				return err
			}
			s, err := o.open(cmd)
			if err != nil {
				return err
			}
			defer s.Close()
			st, err := s.store.Stats(cmd.Context(), f)
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			if asJSON {
				if st.Rows == nil {
					st.Rows = []deadletter.StatsRow{}
				}
				return json.NewEncoder(out).Encode(st)
			}
			tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', tabwriter.AlignRight)
			fmt.Fprintln(tw, "TENANT\tCLASS\tERROR CODE\tCOUNT\t")
			for _, r := range st.Rows {
				fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t\n", r.Tenant, orDash(string(r.Class)), orDash(r.ErrorCode), r.Count)
			}
			fmt.Fprintf(tw, "TOTAL\t\t\t%d\t\n", st.Total)
			return tw.Flush()
		},
	}
	ff.register(cmd.Flags())
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the counts as JSON")
	return cmd
}

// ---- show ----

func (o *dlqOpts) showCmd() *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "show SEQ [--json]",
		Short: "Show one dead letter with all headers and the pretty-printed body",
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) != 1 {
				return usageError{fmt.Errorf("%s takes exactly one dead-letter sequence, got %d arguments", cmd.CommandPath(), len(args))}
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			seq, err := strconv.ParseUint(args[0], 10, 64)
			if err != nil || seq == 0 {
				return usageError{fmt.Errorf("SEQ: %q is not a dead-letter sequence (a number from 1)", args[0])}
			}
			s, err := o.open(cmd)
			if err != nil {
				return err
			}
			defer s.Close()
			d, err := s.store.Get(cmd.Context(), seq)
			if err != nil {
				if errors.Is(err, deadletter.ErrNotFound) {
					return fmt.Errorf("no dead letter %d in %s (replayed, purged or expired?)", seq, o.dlqStream)
				}
				return err
			}
			out := cmd.OutOrStdout()
			if asJSON {
				enc := json.NewEncoder(out)
				enc.SetIndent("", "  ")
				return enc.Encode(d.View(true))
			}
			return printDeadLetter(out, d)
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print as JSON")
	return cmd
}

func printDeadLetter(w io.Writer, d *deadletter.DeadLetter) error {
	bw := bufio.NewWriter(w)
	tw := tabwriter.NewWriter(bw, 0, 0, 1, ' ', 0)
	fmt.Fprintf(tw, "Sequence:\t%d\n", d.Sequence)
	fmt.Fprintf(tw, "Stored:\t%s\n", d.Time.UTC().Format(time.RFC3339Nano))
	fmt.Fprintf(tw, "Subject:\t%s\n", d.Subject)
	fmt.Fprintf(tw, "Class:\t%s\n", orDash(string(d.Class)))
	fmt.Fprintf(tw, "Reason:\t%s\n", orDash(d.Reason))
	fmt.Fprintf(tw, "Replay to:\t%s (Nats-Msg-Id %s)\n", orDash(d.OriginalSubject), d.ReplayMsgID())
	_ = tw.Flush()
	fmt.Fprintln(bw, "\nHeaders:")
	keys := make([]string, 0, len(d.Header))
	for k := range d.Header {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		for _, v := range d.Header[k] {
			fmt.Fprintf(bw, "  %s: %s\n", k, v)
		}
	}
	fmt.Fprintf(bw, "\nBody (%d bytes):\n", len(d.Data))
	bw.Write(prettyBody(d.Data))
	fmt.Fprintln(bw)
	return bw.Flush()
}

// prettyBody indents a JSON body; other text is shown as is, binary as a
// quoted Go string.
func prettyBody(b []byte) []byte {
	var out bytes.Buffer
	if json.Valid(b) && json.Indent(&out, b, "", "  ") == nil {
		return out.Bytes()
	}
	if utf8.Valid(b) && !bytes.ContainsFunc(b, func(r rune) bool { return r < ' ' && r != '\n' && r != '\t' && r != '\r' }) {
		return b
	}
	return []byte(strconv.Quote(string(b)))
}

// ---- replay ----

func (o *dlqOpts) replayCmd() *cobra.Command {
	var (
		ff      filterFlags
		dryRun  bool
		rateArg string
		limit   int
		yes     bool
		asJSON  bool
	)
	cmd := &cobra.Command{
		Use:   "replay [filters] [--dry-run] [--rate R/s] [--limit N] [--yes]",
		Short: "Republish dead letters to their original subjects, then remove them",
		Long: `Republishes each matching dead letter's original body and headers to its
original subject with Nats-Msg-Id <eventId>-replay-<seq> and removes it from the
dead-letter stream once JetStream acknowledged the publish. Classes invalid and
unsupported are replayed only when --class names them.

An interrupted replay (Ctrl-C, crash, lost connection) is safe to run again:
the same Nats-Msg-Id is used, so JetStream drops a second copy within the events
stream's duplicate window (2 minutes), and Salesforce deduplicates by
sourceEventId after that.`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			f, err := ff.filter(o.deps.now(), 0)
			if err != nil {
				return err
			}
			perSec, err := parseRate(rateArg)
			if err != nil {
				return usageError{fmt.Errorf("--rate: %w", err)}
			}
			if limit < 0 {
				return usageError{errors.New("--limit: must not be negative")}
			}
			s, err := o.open(cmd)
			if err != nil {
				return err
			}
			defer s.Close()
			return o.replay(cmd, s, f, deadletter.ReplayOptions{DryRun: dryRun, Rate: perSec, Limit: limit}, yes, asJSON)
		},
	}
	ff.register(cmd.Flags())
	cmd.Flags().BoolVar(&dryRun, "dry-run", false, "list what would be replayed, change nothing")
	cmd.Flags().StringVar(&rateArg, "rate", "0", "most dead letters replayed per second, e.g. 200/s (0 = unlimited)")
	cmd.Flags().IntVar(&limit, "limit", 0, "replay at most N (0 = all)")
	cmd.Flags().BoolVar(&yes, "yes", false, "do not ask for confirmation")
	cmd.Flags().BoolVar(&asJSON, "json", false, "with --dry-run: print JSON Lines")
	return cmd
}

func (o *dlqOpts) replay(cmd *cobra.Command, s *session, f deadletter.Filter, opts deadletter.ReplayOptions, yes, asJSON bool) error {
	out, errw := cmd.OutOrStdout(), cmd.ErrOrStderr()
	opts.Actor = o.deps.actor()
	var bar interface {
		Set(int) error
		Finish() error
	}
	showBar := o.deps.stderrTerminal()
	opts.Confirm = func(total int) bool {
		if total == 0 {
			return true
		}
		if !opts.DryRun && !yes && o.deps.stdinTerminal() &&
			!confirm(cmd, fmt.Sprintf("Replay %d dead letters from %s to their original subjects?", total, o.dlqStream)) {
			return false
		}
		if !opts.DryRun {
			bar = newProgress(errw, total, "replaying", "dead letters", showBar)
		}
		return true
	}
	var printer *dlPrinter
	if opts.DryRun {
		printer = newDLPrinter(out, asJSON, asJSON)
		opts.Each = func(d *deadletter.DeadLetter, _ error) { _ = printer.print(d) }
	} else {
		opts.Progress = func(done, _ int) {
			if bar != nil {
				_ = bar.Set(done)
			}
		}
	}
	res, err := s.store.Replay(cmd.Context(), f, opts)
	if bar != nil {
		_ = bar.Finish()
	}
	if printer != nil {
		_ = printer.flush()
	}
	if errors.Is(err, deadletter.ErrAborted) {
		fmt.Fprintln(errw, "not confirmed; nothing replayed")
		return err
	}
	skipped := ""
	if res.Skipped > 0 {
		skipped = fmt.Sprintf(", skipped %d of class invalid/unsupported (name them with --class to replay them)", res.Skipped)
	}
	if opts.DryRun {
		fmt.Fprintf(errw, "dry run: %d would be replayed%s\n", res.Matched, skipped)
		return err
	}
	fmt.Fprintf(out, "replayed %d, failed %d%s\n", res.Replayed, res.Failed, skipped)
	if res.Duplicates > 0 {
		fmt.Fprintf(out, "%d of the replayed had already been published by an earlier, interrupted replay (deduplicated)\n", res.Duplicates)
	}
	printErrors(errw, res.Errors, res.Failed)
	switch {
	case err != nil && errors.Is(err, context.Canceled):
		return fmt.Errorf("replay interrupted after %d; running it again is safe", res.Replayed+res.Failed)
	case err != nil:
		return fmt.Errorf("replay: %w", err)
	case res.Failed > 0:
		return fmt.Errorf("%d of %d dead letters failed to replay; they stay in %s and running the replay again is safe", res.Failed, res.Matched, o.dlqStream)
	}
	return nil
}

// printErrors prints up to 20 individual failures.
func printErrors(w io.Writer, errs []error, failed int) {
	const show = 20
	for i, err := range errs {
		if i == show {
			break
		}
		fmt.Fprintf(w, "  %v\n", err)
	}
	if failed > min(len(errs), show) {
		fmt.Fprintf(w, "  … and %d more\n", failed-min(len(errs), show))
	}
}

// parseRate parses "R", "R/s", "R/m" or "R/h" into a per-second rate.
func parseRate(s string) (float64, error) {
	s = strings.TrimSpace(s)
	per := 1.0
	for suffix, secs := range map[string]float64{"/s": 1, "/m": 60, "/min": 60, "/h": 3600} {
		if v, ok := strings.CutSuffix(s, suffix); ok {
			s, per = v, secs
			break
		}
	}
	r, err := strconv.ParseFloat(s, 64)
	if err != nil || r < 0 || r != r || r > 1e9 {
		return 0, fmt.Errorf("%q is not a rate (want e.g. 200/s, 600/m or 0 for unlimited)", s)
	}
	return r / per, nil
}

// ---- purge ----

func (o *dlqOpts) purgeCmd() *cobra.Command {
	var (
		ff  filterFlags
		all bool
		yes bool
	)
	cmd := &cobra.Command{
		Use:   "purge (filters | --all) [--yes]",
		Short: "Delete matching dead letters (without a filter, --all is required)",
		Args:  noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			f, err := ff.filter(o.deps.now(), 0)
			if err != nil {
				return err
			}
			switch {
			case f.IsZero() && !all:
				return usageError{errors.New("give a filter, or --all to delete every dead letter")}
			case !f.IsZero() && all:
				return usageError{errors.New("--all deletes every dead letter and takes no filter")}
			}
			s, err := o.open(cmd)
			if err != nil {
				return err
			}
			defer s.Close()
			errw := cmd.ErrOrStderr()
			var bar interface {
				Set(int) error
				Finish() error
			}
			opts := deadletter.PurgeOptions{
				Actor: o.deps.actor(),
				Confirm: func(total int) bool {
					if total == 0 {
						return true
					}
					if !yes && o.deps.stdinTerminal() &&
						!confirm(cmd, fmt.Sprintf("Delete %d dead letters from %s? This cannot be undone.", total, o.dlqStream)) {
						return false
					}
					bar = newProgress(errw, total, "purging", "dead letters", o.deps.stderrTerminal())
					return true
				},
				Progress: func(done, _ int) {
					if bar != nil {
						_ = bar.Set(done)
					}
				},
			}
			res, err := s.store.Purge(cmd.Context(), f, opts)
			if bar != nil {
				_ = bar.Finish()
			}
			if errors.Is(err, deadletter.ErrAborted) {
				fmt.Fprintln(errw, "not confirmed; nothing deleted")
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "purged %d, failed %d\n", res.Purged, res.Failed)
			printErrors(errw, res.Errors, res.Failed)
			switch {
			case err != nil:
				return fmt.Errorf("purge: %w", err)
			case res.Failed > 0:
				return fmt.Errorf("%d of %d dead letters could not be deleted", res.Failed, res.Matched)
			}
			return nil
		},
	}
	ff.register(cmd.Flags())
	cmd.Flags().BoolVar(&all, "all", false, "delete every dead letter")
	cmd.Flags().BoolVar(&yes, "yes", false, "do not ask for confirmation")
	return cmd
}

// confirm asks a yes/no question on stderr and reads the answer from stdin.
func confirm(cmd *cobra.Command, question string) bool {
	fmt.Fprintf(cmd.ErrOrStderr(), "%s [y/N] ", question)
	line, _ := bufio.NewReader(cmd.InOrStdin()).ReadString('\n')
	switch strings.ToLower(strings.TrimSpace(line)) {
	case "y", "yes":
		return true
	}
	return false
}
