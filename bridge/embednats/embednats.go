// Package embednats runs an in-process NATS server with JetStream enabled.
// The demo, `serve` without a NATS URL, and every integration test use it so
// that nothing needs an external server.
package embednats

import (
	"errors"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
)

// Config describes the embedded server. The zero value is usable: a random
// loopback port and a fresh temporary store directory.
type Config struct {
	// Host to listen on. Optional; default 127.0.0.1.
	Host string
	// Port to listen on. Optional; 0 or -1 picks a free port.
	Port int
	// StoreDir is the JetStream store directory. Optional; default a new
	// temporary directory that Shutdown removes.
	StoreDir string
	// MaxPayload is the largest message accepted. Optional; default 8 MiB.
	MaxPayload int32
	// ReadyTimeout bounds the wait for the server to accept connections.
	// Optional; default 10s.
	ReadyTimeout time.Duration
}

func (c *Config) setDefaults() {
	if c.Host == "" {
		c.Host = "127.0.0.1"
	}
	if c.Port == 0 {
		c.Port = -1
	}
	if c.MaxPayload == 0 {
		c.MaxPayload = 8 << 20
	}
	if c.ReadyTimeout == 0 {
		c.ReadyTimeout = 10 * time.Second
	}
}

// Server is a running embedded NATS server.
type Server struct {
	ns      *server.Server
	tempDir string
}

// Start starts a JetStream-enabled server and waits until it accepts
// connections.
func Start(cfg Config) (*Server, error) {
	cfg.setDefaults()
	s := &Server{}
	dir := cfg.StoreDir
	if dir == "" {
		d, err := os.MkdirTemp("", "gcis-jetstream-*")
		if err != nil {
			return nil, fmt.Errorf("embedded nats: temp dir: %w", err)
		}
		dir, s.tempDir = d, d
	}
	opts := &server.Options{
		Host:       cfg.Host,
		Port:       cfg.Port,
		JetStream:  true,
		StoreDir:   dir,
		MaxPayload: cfg.MaxPayload,
		NoLog:      true,
		NoSigs:     true,
	}
	ns, err := server.NewServer(opts)
	if err != nil {
		s.cleanup()
		return nil, fmt.Errorf("embedded nats: %w", err)
	}
	go ns.Start()
	if !ns.ReadyForConnections(cfg.ReadyTimeout) {
		ns.Shutdown()
		s.cleanup()
		return nil, errors.New("embedded nats: not ready for connections in time")
	}
	s.ns = ns
	return s, nil
}

// URL is the client URL of the server, e.g. nats://127.0.0.1:41234.
func (s *Server) URL() string { return s.ns.ClientURL() }

// StoreDir is the JetStream store directory in use.
func (s *Server) StoreDir() string { return s.ns.JetStreamConfig().StoreDir }

// Connect opens a client connection to the server.
func (s *Server) Connect(opts ...nats.Option) (*nats.Conn, error) {
	return nats.Connect(s.URL(), opts...)
}

// Shutdown stops the server, waits for it to exit and removes a temporary
// store directory it created.
func (s *Server) Shutdown() {
	if s.ns != nil {
		s.ns.Shutdown()
		s.ns.WaitForShutdown()
	}
	s.cleanup()
}

func (s *Server) cleanup() {
	if s.tempDir != "" {
		_ = os.RemoveAll(s.tempDir)
	}
}

// StartTest starts a server for a test, with its store in t.TempDir(), and
// shuts it down when the test ends. It fails the test if the server cannot
// start; it never skips.
func StartTest(tb testing.TB) *Server {
	tb.Helper()
	s, err := Start(Config{StoreDir: tb.TempDir()})
	if err != nil {
		tb.Fatalf("start embedded nats: %v", err)
	}
	tb.Cleanup(s.Shutdown)
	return s
}

// ConnectTest starts a server for a test and returns a connection to it that
// is closed when the test ends.
func ConnectTest(tb testing.TB) (*Server, *nats.Conn) {
	tb.Helper()
	s := StartTest(tb)
	nc, err := s.Connect()
	if err != nil {
		tb.Fatalf("connect embedded nats: %v", err)
	}
	tb.Cleanup(nc.Close)
	return s, nc
}
