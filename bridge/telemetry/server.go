package telemetry

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"go.uber.org/zap"
)

// DefaultMetricsListen is the metrics listen address when none is given.
const DefaultMetricsListen = "127.0.0.1:9090"

// ErrServerStarted is returned by [Server.Start] on a server already
// started.
var ErrServerStarted = errors.New("metrics server already started")

// ServerConfig configures [NewMetricsServer].
type ServerConfig struct {
	// Listen is the address to listen on; port 0 picks a free port (see
	// [Server.Addr]). Optional; default 127.0.0.1:9090.
	Listen string
	// Registry is gathered by /metrics. Optional; default the Prometheus
	// default registry.
	Registry *prometheus.Registry
	// Health answers /readyz. Optional; default a Health with no checks
	// (always ready).
	Health *Health
	// Logger logs serve errors. Optional; default no logging.
	Logger *zap.Logger
}

func (c *ServerConfig) setDefaults() {
	if c.Listen == "" {
		c.Listen = DefaultMetricsListen
	}
	if c.Health == nil {
		c.Health = NewHealth()
	}
	if c.Logger == nil {
		c.Logger = zap.NewNop()
	}
}

// Server serves /metrics, /healthz and /readyz. Build it with
// [NewMetricsServer]; [Server.Start] listens, [Server.Shutdown] stops.
type Server struct {
	cfg     ServerConfig
	handler http.Handler

	mu       sync.Mutex
	srv      *http.Server
	addr     string
	done     chan struct{}
	shutdown bool
}

// NewMetricsServer builds the server; it does not listen until
// [Server.Start].
func NewMetricsServer(cfg ServerConfig) *Server {
	cfg.setDefaults()
	var gatherer prometheus.Gatherer = prometheus.DefaultGatherer
	if cfg.Registry != nil {
		gatherer = cfg.Registry
	}
	mux := http.NewServeMux()
	mux.Handle("/metrics", promhttp.HandlerFor(gatherer, promhttp.HandlerOpts{
		ErrorLog:      zap.NewStdLog(cfg.Logger),
		ErrorHandling: promhttp.ContinueOnError,
	}))
	mux.Handle("/healthz", cfg.Health.LivenessHandler())
	mux.Handle("/readyz", cfg.Health.ReadinessHandler())
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/" {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		_, _ = fmt.Fprintln(w, "gcis-bridge: /metrics /healthz /readyz")
	})
	return &Server{cfg: cfg, handler: mux}
}

// Handler returns the server's HTTP handler, to mount elsewhere or test.
func (s *Server) Handler() http.Handler { return s.handler }

// Start listens on the configured address and serves in the background.
// It returns once the address is bound, or the listen error. A server
// starts once ([ErrServerStarted]).
func (s *Server) Start() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.srv != nil || s.shutdown {
		return ErrServerStarted
	}
	ln, err := net.Listen("tcp", s.cfg.Listen)
	if err != nil {
		return fmt.Errorf("metrics listen %s: %w", s.cfg.Listen, err)
	}
	s.addr = ln.Addr().String()
	s.srv = &http.Server{
		Handler:           s.handler,
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       10 * time.Second,
		WriteTimeout:      30 * time.Second,
		IdleTimeout:       60 * time.Second,
		ErrorLog:          zap.NewStdLog(s.cfg.Logger),
	}
	s.done = make(chan struct{})
	srv, done, log := s.srv, s.done, s.cfg.Logger
	go func() {
		defer close(done)
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Error("Metrics server stopped", zap.Error(err))
		}
	}()
	s.cfg.Logger.Info("Metrics server listening", zap.String("addr", s.addr))
	return nil
}

// Addr returns the bound address (host:port) once started, else "".
func (s *Server) Addr() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.addr
}

// Shutdown stops accepting connections and waits, up to ctx, for requests
// in progress and the serving goroutine. It is safe to call more than once
// and on a server never started.
func (s *Server) Shutdown(ctx context.Context) error {
	s.mu.Lock()
	srv, done := s.srv, s.done
	s.shutdown = true
	s.mu.Unlock()
	if srv == nil {
		return nil
	}
	err := srv.Shutdown(ctx)
	select {
	case <-done:
	case <-ctx.Done():
		if err == nil {
			err = ctx.Err()
		}
	}
	if err != nil {
		return fmt.Errorf("metrics server shutdown: %w", err)
	}
	return nil
}
