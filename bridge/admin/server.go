// Package admin serves the admin API (JSON over HTTP, bearer token) at
// admin.listen: connector status and control, dead letters. It reads the
// bridge's runtime state through the Runtime interface, which the bridge
// satisfies; the bridge does not import this package.
package admin

import (
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"strings"
	"time"

	"go.uber.org/zap"

	"github.com/gentrack/gcis-bridge/bridge"
	"github.com/gentrack/gcis-bridge/bridge/deadletter"
	"github.com/gentrack/gcis-bridge/bridge/salesforce"
	"github.com/gentrack/gcis-bridge/transform"
)

// Runtime is what the admin API needs of the running bridge.
type Runtime interface {
	Statuses() []bridge.Status
	Status(id string) (bridge.Status, bool)
	Pause(ctx context.Context, id string) error
	Resume(ctx context.Context, id string) error
	TestConnection(ctx context.Context, id string) (salesforce.Report, error)
	// Tenants lists the tenants seen on the event stream.
	Tenants(ctx context.Context) ([]bridge.TenantInfo, error)
	// Mappings returns a connector's effective mappings ("" = defaults).
	Mappings(id string) (*transform.MappingSet, bool)
}

// Config configures the admin server.
type Config struct {
	// Listen is the address, e.g. 127.0.0.1:8080 (port 0 picks one).
	Listen string
	// Token is the bearer token every API route requires. Required, ≥ 32
	// characters.
	Token string
	// AllowedHosts are Host header values accepted besides the listen
	// address (DNS-rebinding guard).
	AllowedHosts []string
	// Runtime is the running bridge. Required.
	Runtime Runtime
	// DeadLetters backs the dead-letter routes. Optional.
	DeadLetters *deadletter.Store
	// Logger is optional.
	Logger *zap.Logger
}

// Validate reports what is missing.
func (c *Config) Validate() error {
	var errs []error
	if len(c.Token) < 32 {
		errs = append(errs, errors.New("admin: token must be at least 32 characters"))
	}
	if c.Runtime == nil {
		errs = append(errs, errors.New("admin: Runtime is required"))
	}
	return errors.Join(errs...)
}

// Server is the admin HTTP server.
type Server struct {
	cfg Config
	log *zap.Logger
	srv *http.Server
	ln  net.Listener
}

// New builds the server; Start listens.
func New(cfg Config) (*Server, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if cfg.Logger == nil {
		cfg.Logger = zap.NewNop()
	}
	s := &Server{cfg: cfg, log: cfg.Logger}
	s.srv = &http.Server{Handler: s.Handler(), ReadHeaderTimeout: 10 * time.Second}
	return s, nil
}

// Handler returns the full handler (auth and host checks included).
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /api/v1/connectors", s.listConnectors)
	mux.HandleFunc("GET /api/v1/connectors/{id}", s.getConnector)
	mux.HandleFunc("POST /api/v1/connectors/{id}/test", s.testConnector)
	mux.HandleFunc("POST /api/v1/connectors/{id}/pause", s.pauseConnector)
	mux.HandleFunc("POST /api/v1/connectors/{id}/resume", s.resumeConnector)
	mux.HandleFunc("GET /api/v1/mappings", s.getMappings)
	mux.HandleFunc("GET /api/v1/tenants", s.listTenants)
	if s.cfg.DeadLetters != nil {
		(&DeadLetterAPI{Store: s.cfg.DeadLetters, Logger: s.log}).Routes(mux)
	}
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, http.StatusNotFound, "not_found", "no route "+r.Method+" "+r.URL.Path, nil)
	})
	return s.guard(mux)
}

// guard enforces the Host allow-list (421) and the bearer token (401).
func (s *Server) guard(next http.Handler) http.Handler {
	want := []byte("Bearer " + s.cfg.Token)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !s.hostAllowed(r.Host) {
			writeError(w, http.StatusMisdirectedRequest, "misdirected_request", "host not allowed", nil)
			return
		}
		got := []byte(r.Header.Get("Authorization"))
		if subtle.ConstantTimeCompare(got, want) != 1 {
			w.Header().Set("WWW-Authenticate", `Bearer realm="gcis-bridge"`)
			writeError(w, http.StatusUnauthorized, "unauthorized", "a valid bearer token is required", nil)
			return
		}
		next.ServeHTTP(w, r.WithContext(WithCaller(r.Context(), "api:"+remoteHost(r))))
	})
}

func (s *Server) hostAllowed(host string) bool {
	h := host
	if hh, _, err := net.SplitHostPort(host); err == nil {
		h = hh
	}
	listen := s.cfg.Listen
	if s.ln != nil {
		listen = s.ln.Addr().String()
	}
	if host == listen {
		return true
	}
	if lh, _, err := net.SplitHostPort(listen); err == nil && (h == lh || (lh == "127.0.0.1" && h == "localhost")) {
		return true
	}
	for _, a := range s.cfg.AllowedHosts {
		if strings.EqualFold(a, host) || strings.EqualFold(a, h) {
			return true
		}
	}
	return false
}

func remoteHost(r *http.Request) string {
	if h, _, err := net.SplitHostPort(r.RemoteAddr); err == nil {
		return h
	}
	return r.RemoteAddr
}

// Start listens on cfg.Listen and serves in the background.
func (s *Server) Start() error {
	ln, err := net.Listen("tcp", s.cfg.Listen)
	if err != nil {
		return err
	}
	s.ln = ln
	go func() {
		if err := s.srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			s.log.Error("admin server", zap.Error(err))
		}
	}()
	return nil
}

// Addr is the bound address (after Start).
func (s *Server) Addr() string {
	if s.ln == nil {
		return s.cfg.Listen
	}
	return s.ln.Addr().String()
}

// Shutdown stops the server gracefully. The listener is closed here too,
// in case Serve has not started using it yet.
func (s *Server) Shutdown(ctx context.Context) error {
	err := s.srv.Shutdown(ctx)
	if s.ln != nil {
		if cerr := s.ln.Close(); cerr != nil && !errors.Is(cerr, net.ErrClosed) && err == nil {
			err = cerr
		}
	}
	return err
}

func (s *Server) listConnectors(w http.ResponseWriter, _ *http.Request) {
	sts := s.cfg.Runtime.Statuses()
	if sts == nil {
		sts = []bridge.Status{}
	}
	writeJSON(w, http.StatusOK, map[string]any{"connectors": sts})
}

func (s *Server) getConnector(w http.ResponseWriter, r *http.Request) {
	st, ok := s.cfg.Runtime.Status(r.PathValue("id"))
	if !ok {
		writeError(w, http.StatusNotFound, "not_found", "no connector "+r.PathValue("id"), nil)
		return
	}
	writeJSON(w, http.StatusOK, st)
}

func (s *Server) testConnector(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	if _, ok := s.cfg.Runtime.Status(id); !ok {
		writeError(w, http.StatusNotFound, "not_found", "no connector "+id, nil)
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), 60*time.Second)
	defer cancel()
	rep, err := s.cfg.Runtime.TestConnection(ctx, id)
	if err != nil {
		writeError(w, http.StatusInternalServerError, "internal", err.Error(), nil)
		return
	}
	writeJSON(w, http.StatusOK, rep)
}

func (s *Server) pauseConnector(w http.ResponseWriter, r *http.Request) {
	s.control(w, r, s.cfg.Runtime.Pause, "paused")
}

func (s *Server) resumeConnector(w http.ResponseWriter, r *http.Request) {
	s.control(w, r, s.cfg.Runtime.Resume, "resumed")
}

func (s *Server) control(w http.ResponseWriter, r *http.Request, fn func(context.Context, string) error, what string) {
	id := r.PathValue("id")
	if _, ok := s.cfg.Runtime.Status(id); !ok {
		writeError(w, http.StatusNotFound, "not_found", "no connector "+id, nil)
		return
	}
	if err := fn(r.Context(), id); err != nil {
		writeError(w, http.StatusConflict, "conflict", err.Error(), nil)
		return
	}
	s.log.Info("connector "+what, zap.String("connector", id), zap.String("caller", CallerFrom(r.Context())))
	st, _ := s.cfg.Runtime.Status(id)
	writeJSON(w, http.StatusOK, st)
}

// listTenants serves the tenants seen on the event stream.
func (s *Server) listTenants(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 30*time.Second)
	defer cancel()
	ts, err := s.cfg.Runtime.Tenants(ctx)
	if err != nil {
		writeError(w, http.StatusInternalServerError, "internal", err.Error(), nil)
		return
	}
	if ts == nil {
		ts = []bridge.TenantInfo{}
	}
	writeJSON(w, http.StatusOK, map[string]any{"tenants": ts})
}

// getMappings serves the effective mappings, of one connector with
// ?connector=ID, else the defaults.
func (s *Server) getMappings(w http.ResponseWriter, r *http.Request) {
	id := r.URL.Query().Get("connector")
	set, ok := s.cfg.Runtime.Mappings(id)
	if !ok {
		writeError(w, http.StatusNotFound, "not_found", "no connector "+id, map[string]string{"connector": "unknown connector"})
		return
	}
	all := set.All()
	if all == nil {
		all = []*transform.Mapping{}
	}
	writeJSON(w, http.StatusOK, map[string]any{"connector": id, "mappings": all})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func writeError(w http.ResponseWriter, status int, code, msg string, fields map[string]string) {
	body := map[string]any{"code": code, "message": msg}
	if len(fields) > 0 {
		body["fields"] = fields
	}
	writeJSON(w, status, map[string]any{"error": body})
}
