// Command sfsim serves the Salesforce simulator (package sfsim) over HTTP or
// HTTPS, for staging, demos and load tests. See docs/sfsim.md.
package main

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"

	"github.com/gentrack/gcis-bridge/bridge/salesforce/sfsim"
)

// shutdownTimeout bounds the drain of in-flight requests on SIGINT/SIGTERM.
const shutdownTimeout = 10 * time.Second

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr, nil)
	stop()
	os.Exit(code)
}

// usageError marks a bad invocation (exit status 2).
type usageError struct{ err error }

// Error returns the wrapped message.
func (e usageError) Error() string { return e.err.Error() }

// Unwrap returns the wrapped error.
func (e usageError) Unwrap() error { return e.err }

type options struct {
	orgsFile   string
	listen     string
	tlsCert    string
	tlsKey     string
	orgs       []string
	logLevel   string
	apiVersion string
}

// run executes the command and returns the exit status: 0 on success, 2
// on a bad invocation, 1 on a runtime failure. ready, when set, is called
// with the listening address once the server accepts connections.
func run(ctx context.Context, args []string, stdout, stderr io.Writer, ready func(net.Addr)) int {
	var o options
	cmd := &cobra.Command{
		Use:   "sfsim [flags]",
		Short: "Salesforce simulator for gcis-bridge",
		Long: `sfsim simulates Salesforce orgs: the OAuth client-credentials token endpoint,
REST limits, the gtx_bu Apex REST package (/services/apexrest/gtx_bu/v2/event),
the named-credential Connect REST resources, and a control API under /_sim/
to inject faults and read state. An org is reached at /orgs/<id>/... or with
Host <id>.my.salesforce.com. See docs/sfsim.md.

Exit status: 0 after a clean shutdown (SIGINT/SIGTERM), 1 on a runtime
failure (unreadable or invalid orgs file, cannot listen, bad TLS files),
2 on a bad invocation.`,
		Example: `  sfsim --orgs orgs.yaml --listen 127.0.0.1:8443
  sfsim --org acme:3MVG9acmeKey:acme-secret --listen :8443 --tls-cert cert.pem --tls-key key.pem`,
		Args: func(_ *cobra.Command, args []string) error {
			if len(args) > 0 {
				return usageError{fmt.Errorf("unexpected argument %q", args[0])}
			}
			return nil
		},
		SilenceUsage:  true,
		SilenceErrors: true,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return serve(cmd.Context(), o, stderr, ready)
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.orgsFile, "orgs", "", "orgs.yaml file defining the simulated orgs (see docs/sfsim.md)")
	f.StringVar(&o.listen, "listen", "127.0.0.1:8443", "address to listen on (host:port; port 0 picks a free port)")
	f.StringVar(&o.tlsCert, "tls-cert", "", "PEM certificate file; serve HTTPS (needs --tls-key)")
	f.StringVar(&o.tlsKey, "tls-key", "", "PEM private key file for --tls-cert")
	f.StringArrayVar(&o.orgs, "org", nil, "define an org as id:consumer_key:consumer_secret (repeatable; added to --orgs)")
	f.StringVar(&o.logLevel, "log-level", "info", "log level: debug, info, warn or error (debug logs every request)")
	f.StringVar(&o.apiVersion, "api-version", sfsim.DefaultAPIVersion, "newest REST API version served")
	cmd.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return usageError{err} })
	cmd.SetArgs(args)
	cmd.SetOut(stdout)
	cmd.SetErr(stderr)

	err := cmd.ExecuteContext(ctx)
	var ue usageError
	switch {
	case err == nil:
		return 0
	case errors.As(err, &ue):
		fmt.Fprintf(stderr, "sfsim: %v\nRun 'sfsim -h' for usage.\n", err)
		return 2
	default:
		fmt.Fprintf(stderr, "sfsim: %v\n", err)
		return 1
	}
}

// parseOrgFlag parses id:consumer_key:consumer_secret (the secret may hold
// colons).
func parseOrgFlag(v string) (sfsim.OrgConfig, error) {
	parts := strings.SplitN(v, ":", 3)
	if len(parts) != 3 || parts[0] == "" || parts[1] == "" || parts[2] == "" {
		return sfsim.OrgConfig{}, usageError{fmt.Errorf("--org %q: want id:consumer_key:consumer_secret", redactOrgFlag(v))}
	}
	return sfsim.OrgConfig{ID: parts[0], ConsumerKey: parts[1], ConsumerSecret: parts[2]}, nil
}

// redactOrgFlag keeps a malformed --org value out of the logs but its id.
func redactOrgFlag(v string) string {
	if i := strings.IndexByte(v, ':'); i >= 0 {
		return v[:i] + ":…"
	}
	return v
}

func newLogger(level string, w io.Writer) (*zap.Logger, error) {
	var lvl zapcore.Level
	if err := lvl.UnmarshalText([]byte(level)); err != nil || lvl < zapcore.DebugLevel || lvl > zapcore.ErrorLevel {
		return nil, usageError{fmt.Errorf("--log-level %q: want debug, info, warn or error", level)}
	}
	enc := zap.NewProductionEncoderConfig()
	enc.EncodeTime = zapcore.ISO8601TimeEncoder
	core := zapcore.NewCore(zapcore.NewJSONEncoder(enc), zapcore.Lock(zapcore.AddSync(w)), lvl)
	return zap.New(core).Named("sfsim"), nil
}

func serve(ctx context.Context, o options, stderr io.Writer, ready func(net.Addr)) error {
	// Invocation checks first (exit 2).
	if (o.tlsCert == "") != (o.tlsKey == "") {
		return usageError{errors.New("--tls-cert and --tls-key go together")}
	}
	if o.listen == "" {
		return usageError{errors.New("--listen must not be empty")}
	}
	if err := (sfsim.Config{APIVersion: o.apiVersion}).Validate(); err != nil {
		return usageError{fmt.Errorf("--api-version %q: want a version such as %s", o.apiVersion, sfsim.DefaultAPIVersion)}
	}
	var flagOrgs []sfsim.OrgConfig
	for _, v := range o.orgs {
		org, err := parseOrgFlag(v)
		if err != nil {
			return err
		}
		flagOrgs = append(flagOrgs, org)
	}
	log, err := newLogger(o.logLevel, stderr)
	if err != nil {
		return err
	}
	defer func() { _ = log.Sync() }()

	// Runtime (exit 1).
	var orgs []sfsim.OrgConfig
	if o.orgsFile != "" {
		orgs, err = sfsim.LoadOrgsFile(o.orgsFile)
		if err != nil {
			return err
		}
	}
	orgs = append(orgs, flagOrgs...)
	sim, err := sfsim.New(sfsim.Config{Orgs: orgs, Logger: log, APIVersion: o.apiVersion})
	if err != nil {
		return err
	}
	defer sim.Close()
	var tlsConfig *tls.Config
	if o.tlsCert != "" {
		cert, err := tls.LoadX509KeyPair(o.tlsCert, o.tlsKey)
		if err != nil {
			return fmt.Errorf("load TLS key pair: %w", err)
		}
		tlsConfig = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	}
	ln, err := net.Listen("tcp", o.listen)
	if err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	srv := &http.Server{
		Handler:           sim,
		ReadHeaderTimeout: 10 * time.Second,
		MaxHeaderBytes:    16 << 10,
		TLSConfig:         tlsConfig,
		ErrorLog:          zap.NewStdLog(log.Named("http")),
	}
	errc := make(chan error, 1)
	go func() {
		if tlsConfig != nil {
			errc <- srv.ServeTLS(ln, "", "")
			return
		}
		errc <- srv.Serve(ln)
	}()
	ids := make([]string, len(orgs))
	for i, org := range orgs {
		ids[i] = org.ID
	}
	log.Info("Listening", zap.String("addr", ln.Addr().String()), zap.Bool("tls", tlsConfig != nil), zap.Strings("orgs", ids))
	if ready != nil {
		ready(ln.Addr())
	}

	select {
	case err := <-errc:
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	log.Info("Shutting down")
	sim.Close() // release hung requests and injected latency
	sctx, cancel := context.WithTimeout(context.Background(), shutdownTimeout)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		_ = srv.Close()
		return fmt.Errorf("shutdown: %w", err)
	}
	if err := <-errc; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("serve: %w", err)
	}
	log.Info("Stopped")
	return nil
}
