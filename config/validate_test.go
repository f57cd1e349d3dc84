package config_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gentrack/gcis-bridge/config"
)

const testToken = "0123456789abcdef0123456789abcdef"

// validConfig returns a configuration that passes Validate, with one
// connector.
func validConfig() *config.Config {
	c := config.Default()
	c.Admin.Token = testToken
	k := config.Connector{
		ID:             "acme-prod",
		Tenant:         "acme-energy",
		LoginURL:       "https://acme.my.salesforce.com",
		ConsumerKey:    "key",
		ConsumerSecret: "secret",
	}
	k.SetDefaults()
	c.Connectors = []config.Connector{k}
	return c
}

func ptr[T any](v T) *T { return &v }

func TestConfig_Validate_accepts_defaults_with_token_and_connector(t *testing.T) {
	require.NoError(t, validConfig().Validate())
}

func TestConfig_Validate_rules(t *testing.T) {
	k0 := func(c *config.Config) *config.Connector { return &c.Connectors[0] }
	addConnector := func(c *config.Config, id, tenant string) {
		k := c.Connectors[0]
		k.ID, k.Tenant = id, tenant
		c.Connectors = append(c.Connectors, k)
	}
	tests := []struct {
		name   string
		mutate func(c *config.Config)
		path   string // "" means: valid
		msg    string
	}{
		// nats
		{"nats url scheme", func(c *config.Config) { c.NATS.URL = "http://127.0.0.1:4222" },
			"nats.url", "must be nats://, tls://, ws:// or wss:// URLs separated by commas, or empty for the embedded server"},
		{"nats url list", func(c *config.Config) { c.NATS.URL = "nats://a:4222, tls://b:4222" }, "", ""},
		{"embedded needs store dir", func(c *config.Config) { c.NATS.URL, c.NATS.Embedded.StoreDir = "", "" },
			"nats.embedded.store_dir", "required when nats.url is empty (embedded server)"},
		{"embedded with store dir", func(c *config.Config) { c.NATS.URL = "" }, "", ""},

		// streams
		{"stream name required", func(c *config.Config) { c.Streams.Events.Name = "" }, "streams.events.name", "required"},
		{"stream name shape", func(c *config.Config) { c.Streams.Events.Name = "GCIS.EVENTS" },
			"streams.events.name", `must not contain spaces, ".", "*", ">", "/" or "\" and be at most 255 characters, got "GCIS.EVENTS"`},
		{"stream subjects required", func(c *config.Config) { c.Streams.Events.Subjects = nil },
			"streams.events.subjects", "must list at least one subject"},
		{"stream subject empty token", func(c *config.Config) { c.Streams.DeadLetter.Subjects = []string{"gcis..dlq"} },
			"streams.dead_letter.subjects[0]", `is not a valid subject (dot-separated tokens; "*" a whole token; ">" only last), got "gcis..dlq"`},
		{"stream subject > not last", func(c *config.Config) { c.Streams.DeadLetter.Subjects = []string{"gcis.>.dlq"} },
			"streams.dead_letter.subjects[0]", `is not a valid subject (dot-separated tokens; "*" a whole token; ">" only last), got "gcis.>.dlq"`},
		{"replicas 0", func(c *config.Config) { c.Streams.Events.Replicas = 0 }, "streams.events.replicas", "must be between 1 and 5, got 0"},
		{"replicas 6", func(c *config.Config) { c.Streams.DeadLetter.Replicas = 6 }, "streams.dead_letter.replicas", "must be between 1 and 5, got 6"},
		{"replicas 5", func(c *config.Config) { c.Streams.Events.Replicas = 5 }, "", ""},
		{"max age 0", func(c *config.Config) { c.Streams.DeadLetter.MaxAge = 0 }, "streams.dead_letter.max_age", "must be greater than 0, got 0s"},
		{"dup window over max age", func(c *config.Config) { c.Streams.Events.DuplicateWindow = config.Duration(200 * time.Hour) },
			"streams.events.duplicate_window", "must be at most max_age (168h0m0s), got 200h0m0s"},
		{"dup window 0", func(c *config.Config) { c.Streams.Events.DuplicateWindow = 0 },
			"streams.events.duplicate_window", "must be greater than 0, got 0s"},
		{"same stream names", func(c *config.Config) { c.Streams.DeadLetter.Name = "GCIS_EVENTS" },
			"streams.dead_letter.name", "must differ from streams.events.name"},
		{"overlapping subjects", func(c *config.Config) { c.Streams.DeadLetter.Subjects = []string{"gcis.*.acme.>"} },
			"streams.dead_letter.subjects[0]", `overlaps streams.events.subjects[0] "gcis.events.>"`},

		// delivery
		{"batch_max_events 0", func(c *config.Config) { c.Delivery.BatchMaxEvents = 0 }, "delivery.batch_max_events", "must be between 1 and 200, got 0"},
		{"batch_max_events 201", func(c *config.Config) { c.Delivery.BatchMaxEvents = 201 }, "delivery.batch_max_events", "must be between 1 and 200, got 201"},
		{"batch_max_events 1", func(c *config.Config) { c.Delivery.BatchMaxEvents = 1 }, "", ""},
		{"batch_max_bytes 0", func(c *config.Config) { c.Delivery.BatchMaxBytes = 0 }, "delivery.batch_max_bytes", "must be greater than 0, got 0B"},
		{"batch_max_bytes over 5MiB", func(c *config.Config) { c.Delivery.BatchMaxBytes = 5*config.MiB + 1 },
			"delivery.batch_max_bytes", "must be at most 5MiB (the Salesforce request limit), got 5242881B"},
		{"batch_max_bytes 5MiB", func(c *config.Config) { c.Delivery.BatchMaxBytes = 5 * config.MiB }, "", ""},
		{"linger 0", func(c *config.Config) { c.Delivery.Linger = 0 }, "delivery.linger", "must be greater than 0, got 0s"},
		{"max_in_flight 0", func(c *config.Config) { c.Delivery.MaxInFlight = 0 }, "delivery.max_in_flight", "must be at least 1, got 0"},
		{"request_timeout negative", func(c *config.Config) { c.Delivery.RequestTimeout = config.Duration(-time.Second) },
			"delivery.request_timeout", "must be greater than 0, got -1s"},
		{"max_attempts 0", func(c *config.Config) { c.Delivery.MaxAttempts = 0 }, "delivery.max_attempts", "must be at least 1, got 0"},
		{"max_ack_pending too small", func(c *config.Config) { c.Delivery.MaxAckPending = 1599 },
			"delivery.max_ack_pending", "must be at least 2 × batch_max_events × max_in_flight = 2 × 200 × 4 = 1600, got 1599"},
		{"max_ack_pending exactly enough", func(c *config.Config) { c.Delivery.MaxAckPending = 1600 }, "", ""},
		{"max_event_bytes 0", func(c *config.Config) { c.Delivery.MaxEventBytes = 0 }, "delivery.max_event_bytes", "must be greater than 0, got 0B"},
		{"max_event_bytes over batch", func(c *config.Config) { c.Delivery.MaxEventBytes = 3 * config.MiB },
			"delivery.max_event_bytes", "must be at most batch_max_bytes (2MiB), got 3MiB"},
		{"backoff initial 0", func(c *config.Config) { c.Delivery.Backoff.Initial = 0 }, "delivery.backoff.initial", "must be greater than 0, got 0s"},
		{"backoff max below initial", func(c *config.Config) { c.Delivery.Backoff.Max = config.Duration(500 * time.Millisecond) },
			"delivery.backoff.max", "must be at least backoff.initial (1s), got 500ms"},
		{"multiplier below 1", func(c *config.Config) { c.Delivery.Backoff.Multiplier = 0.5 }, "delivery.backoff.multiplier", "must be at least 1, got 0.5"},
		{"multiplier 1", func(c *config.Config) { c.Delivery.Backoff.Multiplier = 1 }, "", ""},
		{"jitter negative", func(c *config.Config) { c.Delivery.Backoff.Jitter = -0.1 }, "delivery.backoff.jitter", "must be between 0 and 1, got -0.1"},
		{"jitter over 1", func(c *config.Config) { c.Delivery.Backoff.Jitter = 1.1 }, "delivery.backoff.jitter", "must be between 0 and 1, got 1.1"},
		{"jitter 0", func(c *config.Config) { c.Delivery.Backoff.Jitter = 0 }, "", ""},
		{"jitter 1", func(c *config.Config) { c.Delivery.Backoff.Jitter = 1 }, "", ""},
		{"breaker failures 0", func(c *config.Config) { c.Delivery.Breaker.Failures = 0 }, "delivery.breaker.failures", "must be at least 1, got 0"},
		{"breaker open_for 0", func(c *config.Config) { c.Delivery.Breaker.OpenFor = 0 }, "delivery.breaker.open_for", "must be greater than 0, got 0s"},
		{"ratio 0", func(c *config.Config) { c.Delivery.LimitSlowdownRatio = 0 },
			"delivery.limit_slowdown_ratio", "must be greater than 0 and at most 1, got 0"},
		{"ratio over 1", func(c *config.Config) { c.Delivery.LimitSlowdownRatio = 1.01 },
			"delivery.limit_slowdown_ratio", "must be greater than 0 and at most 1, got 1.01"},
		{"ratio 1", func(c *config.Config) { c.Delivery.LimitSlowdownRatio = 1 }, "", ""},
		{"shutdown_timeout 0", func(c *config.Config) { c.Delivery.ShutdownTimeout = 0 }, "delivery.shutdown_timeout", "must be greater than 0, got 0s"},
		{"pinned_ttl below 3s", func(c *config.Config) { c.Delivery.PinnedTTL = config.Duration(2 * time.Second) },
			"delivery.pinned_ttl", "must be at least 3s, got 2s"},
		{"pinned_ttl 3s", func(c *config.Config) { c.Delivery.PinnedTTL = config.Duration(3 * time.Second) }, "", ""},

		// admin, public, metrics, log
		{"admin listen no port", func(c *config.Config) { c.Admin.Listen = "localhost" },
			"admin.listen", `must be host:port, e.g. 127.0.0.1:8080, got "localhost"`},
		{"admin listen bad port", func(c *config.Config) { c.Admin.Listen = "127.0.0.1:99999" },
			"admin.listen", `port must be a number from 0 to 65535, got "127.0.0.1:99999"`},
		{"admin listen empty", func(c *config.Config) { c.Admin.Listen = "" }, "admin.listen", "required"},
		{"admin listen any host", func(c *config.Config) { c.Admin.Listen = ":8080" }, "", ""},
		{"admin listen ipv6", func(c *config.Config) { c.Admin.Listen = "[::1]:0" }, "", ""},
		{"admin token required", func(c *config.Config) { c.Admin.Token = "" }, "admin.token", "required"},
		{"admin token short", func(c *config.Config) { c.Admin.Token = config.Secret(testToken[:31]) }, "admin.token", "must be at least 32 characters"},
		{"allowed host with scheme", func(c *config.Config) { c.Admin.AllowedHosts = []string{"bridge.example.com", "http://x"} },
			"admin.allowed_hosts[1]", `must be a host name or host:port, got "http://x"`},
		{"allowed hosts", func(c *config.Config) {
			c.Admin.AllowedHosts = []string{"bridge.example.com", "bridge:8080", "[::1]:8080", "::1"}
		}, "", ""},
		{"public listen needs base url", func(c *config.Config) { c.Public.Listen = "0.0.0.0:8443" },
			"public.base_url", "required when public.listen is set"},
		{"public base url https", func(c *config.Config) { c.Public.Listen, c.Public.BaseURL = "0.0.0.0:8443", "http://gcis.example.com" },
			"public.base_url", "must be https"},
		{"public base url needs listen", func(c *config.Config) { c.Public.BaseURL = "https://gcis.example.com" },
			"public.listen", "required when public.base_url is set"},
		{"public ok", func(c *config.Config) {
			c.Public.Listen, c.Public.BaseURL = "0.0.0.0:8443", "https://gcis.example.com/gentrack"
		}, "", ""},
		{"metrics listen", func(c *config.Config) { c.Metrics.Listen = "9090" }, "metrics.listen", `must be host:port, e.g. 127.0.0.1:8080, got "9090"`},
		{"log level", func(c *config.Config) { c.Log.Level = "verbose" }, "log.level", `must be one of debug, info, warn, error, got "verbose"`},
		{"log format", func(c *config.Config) { c.Log.Format = "text" }, "log.format", `must be json or console, got "text"`},

		// connectors
		{"id required", func(c *config.Config) { k0(c).ID = "" }, "connectors[0].id", "required"},
		{"id upper case", func(c *config.Config) { k0(c).ID = "Acme" },
			"connectors[0].id", `must match ^[a-z0-9][a-z0-9-]{0,62}$ (lower-case letters, digits and -), got "Acme"`},
		{"id leading dash", func(c *config.Config) { k0(c).ID = "-acme" },
			"connectors[0].id", `must match ^[a-z0-9][a-z0-9-]{0,62}$ (lower-case letters, digits and -), got "-acme"`},
		{"id 63 chars", func(c *config.Config) { k0(c).ID = strings.Repeat("a", 63) }, "", ""},
		{"id 64 chars", func(c *config.Config) { k0(c).ID = strings.Repeat("a", 64) },
			"connectors[0].id", `must match ^[a-z0-9][a-z0-9-]{0,62}$ (lower-case letters, digits and -), got "` + strings.Repeat("a", 64) + `"`},
		{"duplicate id", func(c *config.Config) { addConnector(c, "acme-prod", "other") },
			"connectors[1].id", `duplicate of connectors[0].id "acme-prod"`},
		{"one connector per tenant", func(c *config.Config) { addConnector(c, "acme-two", "acme-energy") },
			"connectors[1].tenant", `tenant "acme-energy" already has connector "acme-prod" (connectors[0]): one connector per tenant`},
		{"two tenants", func(c *config.Config) { addConnector(c, "beta-prod", "0b8f6c4e-1f9a-4c2b-9d3e-7a6b5c4d3e2f") }, "", ""},
		{"tenant required", func(c *config.Config) { k0(c).Tenant = "" }, "connectors[0].tenant", "required"},
		{"tenant with dot", func(c *config.Config) { k0(c).Tenant = "acme.energy" },
			"connectors[0].tenant", `must be 1 to 64 characters of A-Z, a-z, 0-9, _ and -, got "acme.energy"`},
		{"tenant 65 chars", func(c *config.Config) { k0(c).Tenant = strings.Repeat("T", 65) },
			"connectors[0].tenant", `must be 1 to 64 characters of A-Z, a-z, 0-9, _ and -, got "` + strings.Repeat("T", 65) + `"`},
		{"login url required", func(c *config.Config) { k0(c).LoginURL = "" }, "connectors[0].login_url", "required"},
		{"login url http", func(c *config.Config) { k0(c).LoginURL = "http://acme.my.salesforce.com" }, "connectors[0].login_url", "must be https"},
		{"login url http allowed", func(c *config.Config) {
			k0(c).LoginURL, k0(c).AllowInsecureHTTP = "http://127.0.0.1:8081", true
		}, "", ""},
		{"login url ftp even when insecure", func(c *config.Config) {
			k0(c).LoginURL, k0(c).AllowInsecureHTTP = "ftp://127.0.0.1", true
		}, "connectors[0].login_url", "must be https or http"},
		{"login.salesforce.com", func(c *config.Config) { k0(c).LoginURL = "https://login.salesforce.com" }, "connectors[0].login_url", config.MsgMyDomain},
		{"test.salesforce.com", func(c *config.Config) { k0(c).LoginURL = "https://TEST.salesforce.com./" }, "connectors[0].login_url",
			"the client credentials flow needs your My Domain URL (https://<domain>.my.salesforce.com)"},
		{"login url without scheme", func(c *config.Config) { k0(c).LoginURL = "acme.my.salesforce.com" },
			"connectors[0].login_url", "must be an absolute URL such as https://acme.my.salesforce.com"},
		{"login url credentials", func(c *config.Config) { k0(c).LoginURL = "https://u:p@acme.my.salesforce.com" },
			"connectors[0].login_url", "must not contain credentials"},
		{"login url path", func(c *config.Config) { k0(c).LoginURL = "https://acme.my.salesforce.com/services/oauth2/token" },
			"connectors[0].login_url", "must be the org's base URL, without a path (the bridge appends /services/oauth2/token)"},
		{"login url path allowed for a simulator", func(c *config.Config) {
			k0(c).LoginURL, k0(c).AllowInsecureHTTP = "http://sfsim:8443/orgs/acme", true
		}, "", ""},
		{"login url query", func(c *config.Config) { k0(c).LoginURL = "https://acme.my.salesforce.com?x=1" },
			"connectors[0].login_url", "must not have a query or fragment"},
		{"login url trailing slash", func(c *config.Config) { k0(c).LoginURL = "https://acme.my.salesforce.com/" }, "", ""},
		{"consumer key required", func(c *config.Config) { k0(c).ConsumerKey = "" }, "connectors[0].consumer_key", "required"},
		{"consumer secret required", func(c *config.Config) { k0(c).ConsumerSecret = "" }, "connectors[0].consumer_secret", "required"},
		{"event endpoint required", func(c *config.Config) { k0(c).EventEndpoint = "" }, "connectors[0].event_endpoint", "required"},
		{"event endpoint leading slash", func(c *config.Config) { k0(c).EventEndpoint = "/gtx_bu/v2/event" },
			"connectors[0].event_endpoint", `must be a path below /services/apexrest/ such as gtx_bu/v2/event, got "/gtx_bu/v2/event"`},
		{"event endpoint dot dot", func(c *config.Config) { k0(c).EventEndpoint = "gtx_bu/../event" },
			"connectors[0].event_endpoint", `must be a path below /services/apexrest/ such as gtx_bu/v2/event, got "gtx_bu/../event"`},
		{"event endpoint query", func(c *config.Config) { k0(c).EventEndpoint = "gtx_bu/v2/event?x=1" },
			"connectors[0].event_endpoint", `must be a path below /services/apexrest/ such as gtx_bu/v2/event, got "gtx_bu/v2/event?x=1"`},
		{"event endpoint custom", func(c *config.Config) { k0(c).EventEndpoint = "my_ns/v1.2/events" }, "", ""},
		{"gentrack url https", func(c *config.Config) { k0(c).GentrackAPI.JuniferURL = "http://junifer.internal/rest/v1" },
			"connectors[0].gentrack_api.junifer_url", "must be https"},
		{"gentrack velocity url relative", func(c *config.Config) { k0(c).GentrackAPI.VelocityURL = "/api" },
			"connectors[0].gentrack_api.velocity_url", "must be an absolute https URL"},
		{"gentrack header name", func(c *config.Config) { k0(c).GentrackAPI.Headers = map[string]config.Secret{"Bad Header": "x"} },
			"connectors[0].gentrack_api.headers.Bad Header", "is not a valid HTTP header name"},
		{"gentrack header reserved", func(c *config.Config) { k0(c).GentrackAPI.Headers = map[string]config.Secret{"Host": "x"} },
			"connectors[0].gentrack_api.headers.Host", "cannot be set: the gateway manages this header"},
		{"gentrack header value newline", func(c *config.Config) { k0(c).GentrackAPI.Headers = map[string]config.Secret{"X-Api-Key": "a\r\nb"} },
			"connectors[0].gentrack_api.headers.X-Api-Key", "must not contain line breaks"},
		{"gentrack ok", func(c *config.Config) {
			k0(c).GentrackAPI = config.GentrackAPI{JuniferURL: "https://j.internal/rest/v1", Headers: map[string]config.Secret{"X-Junifer-X-apikey": "k"}}
		}, "", ""},
		{"subscriptions empty", func(c *config.Config) { k0(c).Subscriptions = []string{} },
			"connectors[0].subscriptions", `must list at least one subscription ("*" for every event)`},
		{"subscription unknown source", func(c *config.Config) { k0(c).Subscriptions = []string{"velocity.*", "billing.*"} },
			"connectors[0].subscriptions[1]", `must be "*", "<source>.*" or "<source>.<eventType>" (source velocity or junifer, eventType kebab-case), got "billing.*"`},
		{"subscription camel case", func(c *config.Config) { k0(c).Subscriptions = []string{"junifer.BillAccepted"} },
			"connectors[0].subscriptions[0]", `must be "*", "<source>.*" or "<source>.<eventType>" (source velocity or junifer, eventType kebab-case), got "junifer.BillAccepted"`},
		{"subscription source only", func(c *config.Config) { k0(c).Subscriptions = []string{"junifer"} },
			"connectors[0].subscriptions[0]", `must be "*", "<source>.*" or "<source>.<eventType>" (source velocity or junifer, eventType kebab-case), got "junifer"`},
		{"subscriptions ok", func(c *config.Config) {
			k0(c).Subscriptions = []string{"velocity.*", "junifer.bill-accepted", "junifer.x2"}
		}, "", ""},
		{"start_from", func(c *config.Config) { k0(c).StartFrom = "yesterday" },
			"connectors[0].start_from", `must be all, new or an RFC 3339 time such as 2025-03-04T09:15:22Z, got "yesterday"`},
		{"start_from new", func(c *config.Config) { k0(c).StartFrom = "new" }, "", ""},
		{"start_from time", func(c *config.Config) { k0(c).StartFrom = "2025-03-04T09:15:22.481+11:00" }, "", ""},
		{"override max_in_flight 0", func(c *config.Config) { k0(c).Delivery = &config.DeliveryOverride{MaxInFlight: ptr(0)} },
			"connectors[0].delivery.max_in_flight", "must be at least 1, got 0"},
		{"override breaks ack pending", func(c *config.Config) { k0(c).Delivery = &config.DeliveryOverride{MaxInFlight: ptr(20)} },
			"connectors[0].delivery.max_ack_pending", "must be at least 2 × batch_max_events × max_in_flight = 2 × 200 × 20 = 8000, got 5000"},
		{"override fixes ack pending", func(c *config.Config) {
			k0(c).Delivery = &config.DeliveryOverride{MaxInFlight: ptr(20), MaxAckPending: ptr(8000)}
		}, "", ""},
		{"override jitter", func(c *config.Config) {
			k0(c).Delivery = &config.DeliveryOverride{Backoff: &config.BackoffOverride{Jitter: ptr(2.0)}}
		}, "connectors[0].delivery.backoff.jitter", "must be between 0 and 1, got 2"},
		{"override global problem reported once", func(c *config.Config) {
			c.Delivery.Breaker.Failures = 0
			k0(c).Delivery = &config.DeliveryOverride{Linger: ptr(config.Duration(time.Second))}
		}, "delivery.breaker.failures", "must be at least 1, got 0"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := validConfig()
			tt.mutate(c)
			err := c.Validate()
			if tt.path == "" {
				require.NoError(t, err)
				return
			}
			var verr *config.ValidationError
			require.ErrorAs(t, err, &verr)
			assert.Equal(t, []config.Problem{{Path: tt.path, Message: tt.msg}}, verr.Problems)
			assert.Equal(t, tt.path+": "+tt.msg, err.Error())
		})
	}
}

func TestConfig_Validate_reports_all_problems_in_document_order(t *testing.T) {
	c := validConfig()
	// Set in reverse document order on purpose.
	c.Connectors[0].StartFrom = "later"
	c.Connectors[0].LoginURL = "https://login.salesforce.com"
	c.Log.Level = "loud"
	c.Admin.Token = ""
	c.Delivery.Backoff.Jitter = 3
	c.Delivery.BatchMaxEvents = 0
	c.NATS.URL = "redis://x"

	err := c.Validate()
	var verr *config.ValidationError
	require.ErrorAs(t, err, &verr)
	assert.Equal(t, []string{
		"nats.url",
		"delivery.batch_max_events",
		"delivery.backoff.jitter",
		"admin.token",
		"log.level",
		"connectors[0].login_url",
		"connectors[0].start_from",
	}, verr.Paths())
	lines := strings.Split(err.Error(), "\n")
	require.Len(t, lines, 7)
	assert.Equal(t, "connectors[0].login_url: "+config.MsgMyDomain, lines[5])
}

func TestConfig_Validate_secret_values_never_in_messages(t *testing.T) {
	c := validConfig()
	c.Admin.Token = "s3cr3t-short"
	c.Connectors[0].GentrackAPI.Headers = map[string]config.Secret{"X-Api-Key": "hunter2\nx"}
	c.Connectors[0].LoginURL = "https://user:pa55word@acme.my.salesforce.com"
	c.NATS.URL = "bogus://user:natspass@host"
	err := c.Validate()
	require.Error(t, err)
	for _, s := range []string{"s3cr3t", "hunter2", "pa55word", "natspass"} {
		assert.NotContains(t, err.Error(), s)
	}
}

func TestConfig_ValidateConnector_paths_relative_to_connector(t *testing.T) {
	c := config.Default()
	k := config.Connector{ID: "x", Tenant: "t", LoginURL: "http://sim", Delivery: &config.DeliveryOverride{MaxInFlight: ptr(0)}}
	k.SetDefaults()
	err := c.ValidateConnector(k)
	var verr *config.ValidationError
	require.ErrorAs(t, err, &verr)
	assert.Equal(t, []string{"login_url", "consumer_key", "consumer_secret", "delivery.max_in_flight"}, verr.Paths())
}

func TestConfig_Effective_merges_overrides(t *testing.T) {
	c := validConfig()
	c.Connectors[0].Delivery = &config.DeliveryOverride{
		MaxInFlight: ptr(8),
		Backoff:     &config.BackoffOverride{Max: ptr(config.Duration(time.Minute))},
		Breaker:     &config.BreakerOverride{OpenFor: ptr(config.Duration(time.Second))},
	}
	got := c.Effective("acme-prod")
	want := config.DefaultDelivery()
	want.MaxInFlight = 8
	want.Backoff.Max = config.Duration(time.Minute)
	want.Breaker.OpenFor = config.Duration(time.Second)
	assert.Equal(t, want, got)
	assert.Equal(t, config.DefaultDelivery(), c.Delivery, "global delivery unchanged")
	assert.Equal(t, c.Delivery, c.Effective("no-such-connector"))

	c.Connectors[0].Delivery = nil
	assert.Equal(t, c.Delivery, c.Effective("acme-prod"))
}

func TestConnector_Subscribed(t *testing.T) {
	tests := []struct {
		name          string
		subscriptions []string
		source, typ   string
		want          bool
	}{
		{"star", []string{"*"}, "junifer", "bill-accepted", true},
		{"source star", []string{"velocity.*"}, "velocity", "anything", true},
		{"source star other source", []string{"velocity.*"}, "junifer", "bill-accepted", false},
		{"exact", []string{"junifer.bill-accepted"}, "junifer", "bill-accepted", true},
		{"exact other type", []string{"junifer.bill-accepted"}, "junifer", "bill-cancelled", false},
		{"exact other source", []string{"junifer.bill-accepted"}, "velocity", "bill-accepted", false},
		{"case sensitive", []string{"junifer.bill-accepted"}, "Junifer", "bill-accepted", false},
		{"several", []string{"junifer.bill-accepted", "velocity.*"}, "velocity", "x", true},
		{"none", nil, "velocity", "x", false},
		{"type prefix is not a match", []string{"junifer.bill"}, "junifer", "bill-accepted", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			k := config.Connector{Subscriptions: tt.subscriptions}
			assert.Equal(t, tt.want, k.Subscribed(tt.source, tt.typ))
		})
	}
}

func TestValidationError_is_matchable_through_wrapping(t *testing.T) {
	c := validConfig()
	c.Log.Format = "xml"
	err := c.Validate()
	wrapped := errors.Join(errors.New("start"), err)
	var verr *config.ValidationError
	require.ErrorAs(t, wrapped, &verr)
	assert.Equal(t, "log.format", verr.Problems[0].Path)
}
