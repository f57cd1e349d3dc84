package main

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"math/big"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// syncBuffer is a bytes.Buffer safe for the server's log writes.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func writeFile(t *testing.T, name, text string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	require.NoError(t, os.WriteFile(p, []byte(text), 0o600))
	return p
}

func TestRun_help(t *testing.T) {
	var out, errb syncBuffer
	code := run(context.Background(), []string{"-h"}, &out, &errb, nil)
	require.Equal(t, 0, code)
	for _, flag := range []string{"--orgs", "--listen", "--tls-cert", "--tls-key", "--org", "--log-level", "--api-version", "Exit status"} {
		assert.Contains(t, out.String(), flag)
	}
}

func TestRun_bad_invocation(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"unknown flag", []string{"--nope"}, "unknown flag"},
		{"positional argument", []string{"serve"}, `unexpected argument "serve"`},
		{"malformed org", []string{"--org", "acme:key-only"}, "want id:consumer_key:consumer_secret"},
		{"cert without key", []string{"--tls-cert", "c.pem"}, "--tls-cert and --tls-key go together"},
		{"bad log level", []string{"--log-level", "loud"}, "--log-level"},
		{"empty listen", []string{"--listen", ""}, "--listen"},
		{"bad api version", []string{"--api-version", "v62"}, "--api-version"},
		{"flag without value", []string{"--orgs"}, "needs an argument"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out, errb syncBuffer
			code := run(context.Background(), tt.args, &out, &errb, nil)
			assert.Equal(t, 2, code)
			assert.Contains(t, errb.String(), tt.want)
			assert.Contains(t, errb.String(), "sfsim -h")
			assert.NotContains(t, errb.String(), "key-only", "org values are not echoed")
		})
	}
}

func TestRun_runtime_failures(t *testing.T) {
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer busy.Close()
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"missing orgs file", []string{"--orgs", filepath.Join(t.TempDir(), "none.yaml")}, "read orgs file"},
		{"invalid orgs file", []string{"--orgs", writeFile(t, "o.yaml", "orgs:\n  - id: acme\n    consumer_secret: s3cret-value\n")}, "consumer_key: required"},
		{"duplicate org", []string{"--org", "acme:k:s", "--org", "acme:k2:s2"}, "defined twice"},
		{"address in use", []string{"--listen", busy.Addr().String()}, "listen"},
		{"missing TLS files", []string{"--listen", "127.0.0.1:0", "--tls-cert", "/nonexistent.pem", "--tls-key", "/nonexistent.key"}, "load TLS key pair"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out, errb syncBuffer
			code := run(context.Background(), tt.args, &out, &errb, nil)
			assert.Equal(t, 1, code, errb.String())
			assert.Contains(t, errb.String(), tt.want)
			assert.NotContains(t, errb.String(), "s3cret-value")
		})
	}
}

// start runs the command until the returned stop func is called; it
// returns the base URL and the exit status channel.
func start(t *testing.T, args ...string) (addr string, stop func() int, logs *syncBuffer) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	logs = &syncBuffer{}
	addrc := make(chan string, 1)
	codec := make(chan int, 1)
	go func() {
		codec <- run(ctx, append([]string{"--listen", "127.0.0.1:0"}, args...), logs, logs, func(a net.Addr) { addrc <- a.String() })
	}()
	select {
	case addr = <-addrc:
	case code := <-codec:
		cancel()
		t.Fatalf("exited with %d: %s", code, logs.String())
	case <-time.After(20 * time.Second):
		cancel()
		t.Fatal("server did not start")
	}
	stopped := false
	stopFn := func() int {
		if stopped {
			return 0
		}
		stopped = true
		cancel()
		select {
		case code := <-codec:
			return code
		case <-time.After(30 * time.Second):
			t.Fatal("server did not stop")
			return -1
		}
	}
	t.Cleanup(func() { stopFn() })
	return addr, stopFn, logs
}

func TestRun_serves_and_shuts_down(t *testing.T) {
	orgs := writeFile(t, "orgs.yaml", "orgs:\n  - id: acme\n    consumer_key: 3MVG9acmeKey\n    consumer_secret: acme-secret\n")
	addr, stop, logs := start(t, "--orgs", orgs, "--org", "beta:bk:b:s", "--log-level", "debug")
	base := "http://" + addr
	client := &http.Client{Timeout: 10 * time.Second}

	resp, err := client.Get(base + "/_sim/healthz")
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)

	for _, tc := range []struct{ org, key, secret string }{{"acme", "3MVG9acmeKey", "acme-secret"}, {"beta", "bk", "b:s"}} {
		resp, err = client.PostForm(base+"/orgs/"+tc.org+"/services/oauth2/token", url.Values{
			"grant_type": {"client_credentials"}, "client_id": {tc.key}, "client_secret": {tc.secret}})
		require.NoError(t, err)
		var tok map[string]string
		require.NoError(t, json.NewDecoder(resp.Body).Decode(&tok))
		resp.Body.Close()
		require.Equal(t, http.StatusOK, resp.StatusCode, tc.org)
		assert.Equal(t, base+"/orgs/"+tc.org, tok["instance_url"])
	}

	// A hung request does not block the shutdown.
	resp, err = client.Post(base+"/_sim/orgs/acme/faults", "application/json", strings.NewReader(`{"kind":"hang"}`))
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusCreated, resp.StatusCode)
	hung := make(chan error, 1)
	go func() {
		r, err := (&http.Client{Timeout: time.Minute}).Get(base + "/orgs/acme/services/apexrest/gtx_bu/v2/event")
		if err == nil {
			r.Body.Close()
		}
		hung <- err
	}()
	require.Eventually(t, func() bool {
		r, err := client.Get(base + "/_sim/orgs/acme/stats")
		if err != nil {
			return false
		}
		defer r.Body.Close()
		var st struct {
			InFlight int `json:"in_flight"`
		}
		return json.NewDecoder(r.Body).Decode(&st) == nil && st.InFlight == 1
	}, 10*time.Second, 10*time.Millisecond)
	assert.Equal(t, 0, stop())
	select {
	case err := <-hung:
		assert.Error(t, err)
	case <-time.After(20 * time.Second):
		t.Fatal("hung request not released")
	}
	assert.Contains(t, logs.String(), `"msg":"Stopped"`)
	assert.NotContains(t, logs.String(), "acme-secret")
	assert.NotContains(t, logs.String(), "access_token")
}

func TestRun_TLS(t *testing.T) {
	certFile, keyFile, pool := selfSigned(t)
	addr, stop, _ := start(t, "--org", "acme:k:s", "--tls-cert", certFile, "--tls-key", keyFile)
	client := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	base := "https://" + addr
	resp, err := client.PostForm(base+"/orgs/acme/services/oauth2/token", url.Values{
		"grant_type": {"client_credentials"}, "client_id": {"k"}, "client_secret": {"s"}})
	require.NoError(t, err)
	var tok map[string]string
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&tok))
	resp.Body.Close()
	assert.Equal(t, base+"/orgs/acme", tok["instance_url"])
	assert.Equal(t, 0, stop())
}

// selfSigned writes a certificate for 127.0.0.1 and returns its files and a
// pool trusting it.
func selfSigned(t *testing.T) (string, string, *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "sfsim test"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		IPAddresses:  []net.IP{net.ParseIP("127.0.0.1")},
		DNSNames:     []string{"acme.my.salesforce.com"},
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	require.NoError(t, err)
	keyDER, err := x509.MarshalECPrivateKey(key)
	require.NoError(t, err)
	dir := t.TempDir()
	certFile, keyFile := filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	require.NoError(t, os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600))
	require.NoError(t, os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER}), 0o600))
	cert, err := x509.ParseCertificate(der)
	require.NoError(t, err)
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	return certFile, keyFile, pool
}
