package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gentrack/gcis-bridge/config"
)

func runCLI(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errb bytes.Buffer
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	code = run(ctx, args, &out, &errb)
	return code, out.String(), errb.String()
}

func TestExitCodes(t *testing.T) {
	cases := []struct {
		name string
		args []string
		code int
		want string
	}{
		{"help", []string{"-h"}, 0, "Usage:"},
		{"version", []string{"version"}, 0, "gcis-bridge "},
		{"unknown command", []string{"frobnicate"}, 2, "unknown command"},
		{"unknown flag", []string{"serve", "--nope"}, 2, "unknown flag"},
		{"bad flag value", []string{"demo", "--events", "many"}, 2, "invalid argument"},
		{"serve without config", []string{"serve"}, 2, "--config"},
		{"publish without source", []string{"publish", "--synthetic", "--tenant", "t"}, 2, "--source"},
		{"missing config file", []string{"serve", "--config", "/nonexistent/gcis.yaml"}, 1, "gcis.yaml"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			code, out, errs := runCLI(t, tc.args...)
			if code != tc.code {
				t.Fatalf("exit %d, want %d\nstdout: %s\nstderr: %s", code, tc.code, out, errs)
			}
			if !strings.Contains(out+errs, tc.want) {
				t.Fatalf("output lacks %q:\nstdout: %s\nstderr: %s", tc.want, out, errs)
			}
			if tc.code == 2 && !strings.Contains(errs, "Usage:") {
				t.Fatalf("usage error without usage:\n%s", errs)
			}
		})
	}
}

// TestServeBadConfig checks that a configuration with several mistakes
// fails at start (exit 1) naming every bad key path: decoding problems
// (unknown keys, bad values) and validation problems alike.
func TestServeBadConfig(t *testing.T) {
	cases := []struct {
		name, yaml string
		keys       []string
	}{
		{"decoding", `
nats:
  url: nats://127.0.0.1:4222
delivery:
  batch_max_events: 500
  linger: soon
admin:
  token: short
connectors:
  - id: Acme_Prod
    tenant: acme
    login_url: http://acme.my.salesforce.com
    consumer_key: k
    consumer_secret: s
    colour: blue
`, []string{"delivery.linger", "connectors[0].colour"}},
		{"validation", `
delivery:
  batch_max_events: 500
admin:
  token: short
log:
  level: loud
connectors:
  - id: Acme_Prod
    tenant: acme
    login_url: http://acme.my.salesforce.com
    consumer_key: k
    consumer_secret: s
`, []string{"delivery.batch_max_events", "admin.token", "log.level", "connectors[0].id", "connectors[0].login_url"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "bad.yaml")
			if err := os.WriteFile(path, []byte(tc.yaml), 0o600); err != nil {
				t.Fatal(err)
			}
			code, _, errs := runCLI(t, "serve", "--config", path)
			if code != 1 {
				t.Fatalf("exit %d, want 1: %s", code, errs)
			}
			for _, key := range tc.keys {
				if !strings.Contains(errs, key) {
					t.Errorf("error output does not name %s:\n%s", key, errs)
				}
			}
		})
	}
}

// TestDemo runs a small demo end to end and checks its summary.
func TestDemo(t *testing.T) {
	code, out, errs := runCLI(t, "demo", "--events", "300", "--tenants", "2", "--seed", "3")
	if code != 0 {
		t.Fatalf("demo exit %d\nstdout: %s\nstderr: %s", code, out, errs)
	}
	for _, want := range []string{"published", "delivered", "dead-lettered", "invalid", "unsupported", "unmapped", "rejected", "events per call", "p50 / p99", "every event accounted for"} {
		if !strings.Contains(out, want) {
			t.Errorf("summary lacks %q:\n%s", want, out)
		}
	}
}

// TestShippedConfigsAreValid: the configuration files shipped for staging
// and as an example load and validate (with the example's variables set).
func TestShippedConfigsAreValid(t *testing.T) {
	key := filepath.Join(t.TempDir(), "secrets.key")
	if err := os.WriteFile(key, []byte("MDEyMzQ1Njc4OTAxMjM0NTY3ODkwMTIzNDU2Nzg5MDE="), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("GCIS_SECRET_KEY_FILE", key)
	t.Setenv("GCIS_ADMIN_TOKEN", "an-admin-token-of-at-least-32-characters")
	t.Setenv("ACME_SF_CONSUMER_KEY", "3MVG9acmeKey")
	t.Setenv("ACME_SF_CONSUMER_SECRET", "acme-secret")
	t.Setenv("ACME_JUNIFER_APIKEY", "junifer-key")
	for _, path := range []string{"../../deploy/staging/config.yaml", "../../deploy/config/gcis-bridge.example.yaml"} {
		if _, err := config.Load(path); err != nil {
			t.Errorf("%s: %v", path, err)
		}
	}
}
