package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/spf13/cobra"
	"go.uber.org/zap"

	"github.com/gentrack/gcis-bridge/bridge"
	"github.com/gentrack/gcis-bridge/bridge/admin"
	"github.com/gentrack/gcis-bridge/bridge/deadletter"
	"github.com/gentrack/gcis-bridge/bridge/dispatch"
	"github.com/gentrack/gcis-bridge/bridge/embednats"
	"github.com/gentrack/gcis-bridge/bridge/telemetry"
	"github.com/gentrack/gcis-bridge/config"
	"github.com/gentrack/gcis-bridge/transform"
	"github.com/gentrack/gcis-bridge/transform/catalog"
)

func newServeCmd() *cobra.Command {
	var path string
	cmd := &cobra.Command{
		Use:   "serve --config FILE",
		Short: "Run the bridge",
		Long: `serve runs the bridge with the configuration file FILE (YAML; see the README).
SIGINT or SIGTERM drains in-flight batches (bounded by shutdown_timeout) and
exits 0. An invalid configuration exits 1 naming every bad key.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if path == "" {
				return usageError{errors.New("--config FILE is required")}
			}
			cfg, err := config.Load(path)
			if err != nil {
				return err
			}
			return serve(cmd.Context(), cfg, cmd.ErrOrStderr())
		},
	}
	cmd.Flags().StringVar(&path, "config", "", "configuration file (YAML)")
	return cmd
}

// serve is the composition root of the service.
func serve(ctx context.Context, cfg *config.Config, logOut io.Writer) error {
	logger, err := telemetry.NewLogger(telemetry.LogConfig{Level: cfg.Log.Level, Format: cfg.Log.Format, Output: logOut})
	if err != nil {
		return err
	}
	defer func() { _ = logger.Sync() }()
	logger.Info("starting gcis-bridge", zap.String("version", version), zap.Int("connectors", len(cfg.Connectors)))

	url := cfg.NATS.URL
	if url == "" {
		ns, err := embednats.Start(embednats.Config{StoreDir: cfg.NATS.Embedded.StoreDir, Host: "127.0.0.1", Port: 4222})
		if err != nil {
			return fmt.Errorf("embedded NATS: %w", err)
		}
		defer ns.Shutdown()
		url = ns.URL()
		logger.Info("embedded JetStream running", zap.String("url", url), zap.String("store_dir", cfg.NATS.Embedded.StoreDir))
	}
	opts := []nats.Option{nats.Name("gcis-bridge"), nats.Timeout(5 * time.Second), nats.MaxReconnects(-1),
		nats.DisconnectErrHandler(func(_ *nats.Conn, err error) {
			if err != nil { // nil: our own Close at shutdown
				logger.Warn("NATS disconnected", zap.Error(err))
			}
		}),
		nats.ReconnectHandler(func(c *nats.Conn) { logger.Info("NATS reconnected", zap.String("url", c.ConnectedUrlRedacted())) }),
	}
	if cfg.NATS.CredsFile != "" {
		opts = append(opts, nats.UserCredentials(cfg.NATS.CredsFile))
	}
	nc, err := nats.Connect(url, opts...)
	if err != nil {
		return fmt.Errorf("cannot connect to NATS at %s: %w", url, err)
	}
	defer nc.Close()

	reg := telemetry.NewRegistry()
	metrics := telemetry.NewMetrics(reg)
	health := telemetry.NewHealth()

	defaults := catalog.DefaultMappings()
	s := cfg.Streams
	b, err := bridge.New(bridge.Config{
		Conn: nc,
		Streams: bridge.Streams{
			Events: s.Events.Name, EventsSubjects: s.Events.Subjects, EventsReplicas: s.Events.Replicas,
			EventsMaxAge: s.Events.MaxAge.Std(), EventsDuplicates: s.Events.DuplicateWindow.Std(),
			DeadLetter: s.DeadLetter.Name, DeadLetterSubj: s.DeadLetter.Subjects, DeadLetterRepl: s.DeadLetter.Replicas,
			DeadLetterMaxAge: s.DeadLetter.MaxAge.Std(), DeadLetterDups: s.DeadLetter.DuplicateWindow.Std(),
		},
		MaxEventBytes:   int(cfg.Delivery.MaxEventBytes),
		Mappings:        defaults,
		ShutdownTimeout: cfg.Delivery.ShutdownTimeout.Std(),
		PinnedTTL:       cfg.Delivery.PinnedTTL.Std(),
		Version:         version,
		Metrics:         metrics,
		Logger:          logger,
	})
	if err != nil {
		return err
	}
	for _, c := range cfg.Connectors {
		bc, err := bridgeConnector(cfg, c, defaults)
		if err != nil {
			return err
		}
		if err := b.SetConnector(ctx, bc); err != nil {
			return err
		}
	}
	health.Check("nats_and_streams", b.Ready)

	msrv := telemetry.NewMetricsServer(telemetry.ServerConfig{Listen: cfg.Metrics.Listen, Registry: reg, Health: health, Logger: logger})
	if err := msrv.Start(); err != nil {
		return fmt.Errorf("metrics.listen: %w", err)
	}
	defer func() {
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = msrv.Shutdown(sctx)
	}()
	logger.Info("metrics and health", zap.String("listen", msrv.Addr()))

	store, err := deadletter.NewStore(b.JetStream(), deadletter.StoreConfig{Stream: s.DeadLetter.Name, Logger: logger})
	if err != nil {
		return err
	}
	asrv, err := admin.New(admin.Config{
		Listen:       cfg.Admin.Listen,
		Token:        cfg.Admin.Token.Reveal(),
		AllowedHosts: cfg.Admin.AllowedHosts,
		Runtime:      b,
		DeadLetters:  store,
		Logger:       logger,
	})
	if err != nil {
		return err
	}
	if err := asrv.Start(); err != nil {
		return fmt.Errorf("admin.listen: %w", err)
	}
	defer func() {
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = asrv.Shutdown(sctx)
	}()
	logger.Info("admin API", zap.String("listen", asrv.Addr()))

	if err := b.Run(ctx); err != nil {
		return err
	}
	logger.Info("stopped")
	return nil
}

// bridgeConnector turns a configured connector into the bridge's form.
func bridgeConnector(cfg *config.Config, c config.Connector, defaults *transform.MappingSet) (bridge.Connector, error) {
	d := cfg.Effective(c.ID)
	bc := bridge.Connector{
		ID: c.ID, Tenant: c.Tenant, LoginURL: c.LoginURL,
		ConsumerKey: c.ConsumerKey.Reveal(), ConsumerSecret: c.ConsumerSecret.Reveal(),
		EventEndpoint: c.EventEndpoint, AllowInsecureHTTP: c.AllowInsecureHTTP,
		Subscriptions: c.Subscriptions, StartFrom: c.StartFrom,
		Delivery: bridgeDelivery(d),
	}
	if c.MappingsFile != "" {
		text, err := os.ReadFile(c.MappingsFile)
		if err != nil {
			return bc, fmt.Errorf("connectors: %s: mappings_file: %w", c.ID, err)
		}
		over, err := transform.ParseMappings(c.MappingsFile, text)
		if err != nil {
			return bc, fmt.Errorf("connectors: %s: %w", c.ID, err)
		}
		bc.Mappings = defaults.With(over)
	}
	return bc, nil
}

func bridgeDelivery(d config.Delivery) bridge.Delivery {
	return bridge.Delivery{
		BatchMaxEvents:     d.BatchMaxEvents,
		BatchMaxBytes:      int(d.BatchMaxBytes),
		Linger:             d.Linger.Std(),
		MaxInFlight:        d.MaxInFlight,
		RequestTimeout:     d.RequestTimeout.Std(),
		MaxAttempts:        d.MaxAttempts,
		MaxAckPending:      d.MaxAckPending,
		Backoff:            dispatch.Backoff{Initial: d.Backoff.Initial.Std(), Max: d.Backoff.Max.Std(), Multiplier: d.Backoff.Multiplier, Jitter: d.Backoff.Jitter},
		BreakerFailures:    uint32(d.Breaker.Failures),
		BreakerOpenFor:     d.Breaker.OpenFor.Std(),
		LimitSlowdownRatio: d.LimitSlowdownRatio,
	}
}
