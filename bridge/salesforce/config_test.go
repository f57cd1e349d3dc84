package salesforce_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gentrack/gcis-bridge/bridge/salesforce"
)

func TestConfig_Validate(t *testing.T) {
	valid := func() salesforce.Config {
		return salesforce.Config{
			ConnectorID:    "acme-prod",
			LoginURL:       "https://acme.my.salesforce.com",
			ConsumerKey:    testKey,
			ConsumerSecret: testSecret,
		}
	}
	tests := []struct {
		name    string
		edit    func(*salesforce.Config)
		wantErr []string // each must appear; nil means valid
	}{
		{"valid", func(*salesforce.Config) {}, nil},
		{"sandbox my domain", func(c *salesforce.Config) { c.LoginURL = "https://acme--uat.sandbox.my.salesforce.com/" }, nil},
		{"http with allow_insecure_http", func(c *salesforce.Config) {
			c.LoginURL = "http://127.0.0.1:8443/orgs/acme"
			c.AllowInsecureHTTP = true
		}, nil},
		{"explicit endpoint", func(c *salesforce.Config) { c.EventEndpoint = "/gtx_bu/v2/event/" }, nil},
		{"http refused", func(c *salesforce.Config) { c.LoginURL = "http://acme.my.salesforce.com" },
			[]string{"login_url: must be https"}},
		{"other scheme", func(c *salesforce.Config) { c.LoginURL = "ftp://acme.my.salesforce.com" },
			[]string{"login_url: must be https"}},
		{"login.salesforce.com", func(c *salesforce.Config) { c.LoginURL = "https://login.salesforce.com" },
			[]string{"login_url: " + salesforce.MyDomainMessage}},
		{"test.salesforce.com", func(c *salesforce.Config) { c.LoginURL = "https://TEST.salesforce.com./" },
			[]string{"login_url: the client credentials flow needs your My Domain URL (https://<domain>.my.salesforce.com)"}},
		{"login.salesforce.com over http, even when allowed", func(c *salesforce.Config) {
			c.LoginURL = "http://login.salesforce.com"
			c.AllowInsecureHTTP = true
		}, []string{salesforce.MyDomainMessage}},
		{"no host", func(c *salesforce.Config) { c.LoginURL = "https:///path" }, []string{"login_url: has no host"}},
		{"user info", func(c *salesforce.Config) { c.LoginURL = "https://u:p@acme.my.salesforce.com" }, []string{"login_url: must not contain user information"}},
		{"query", func(c *salesforce.Config) { c.LoginURL = "https://acme.my.salesforce.com?x=1" }, []string{"login_url: must not have a query"}},
		{"not a URL", func(c *salesforce.Config) { c.LoginURL = "https://acme .my.salesforce.com\x7f" }, []string{"login_url: not a valid URL"}},
		{"bad endpoint", func(c *salesforce.Config) { c.EventEndpoint = "gtx_bu/../v2/event" }, []string{"event_endpoint: invalid path segment"}},
		{"endpoint with query", func(c *salesforce.Config) { c.EventEndpoint = "gtx_bu/v2/event?x=1" }, []string{"event_endpoint: invalid character"}},
		{"negative timeout", func(c *salesforce.Config) { c.RequestTimeout = -time.Second }, []string{"request_timeout: must not be negative"}},
		{"everything missing, all reported", func(c *salesforce.Config) { *c = salesforce.Config{} },
			[]string{"connector_id: required", "login_url: required", "consumer_key: required", "consumer_secret: required"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := valid()
			tt.edit(&cfg)
			err := cfg.Validate()
			if tt.wantErr == nil {
				require.NoError(t, err)
				c, err := salesforce.New(cfg)
				require.NoError(t, err)
				require.NoError(t, c.Close())
				return
			}
			require.Error(t, err)
			for _, w := range tt.wantErr {
				assert.Contains(t, err.Error(), w)
			}
			_, err = salesforce.New(cfg)
			assert.ErrorContains(t, err, "invalid config: ")
		})
	}
}

func TestConfig_secret_not_in_validation_errors(t *testing.T) {
	err := salesforce.Config{ConsumerSecret: testSecret, LoginURL: "http://x"}.Validate()
	require.Error(t, err)
	assert.NotContains(t, err.Error(), testSecret)
}

func TestClient_EventPath(t *testing.T) {
	o := newOrg(t)
	assert.Equal(t, "/services/apexrest/gtx_bu/v2/event", newClient(t, o).EventPath())
	c := newClient(t, o, func(cfg *salesforce.Config) { cfg.EventEndpoint = "/acme_ns/v3/ingest/" })
	assert.Equal(t, "/services/apexrest/acme_ns/v3/ingest", c.EventPath())
}
