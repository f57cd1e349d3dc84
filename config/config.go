package config

import (
	"strings"
	"time"
)

// Default values (operations.md, "Configuration file").
const (
	DefaultNATSURL             = "nats://127.0.0.1:4222"
	DefaultStoreDir            = "./data/jetstream"
	DefaultEventsStream        = "GCIS_EVENTS"
	DefaultEventsSubject       = "gcis.events.>"
	DefaultDeadLetterStream    = "GCIS_DLQ"
	DefaultDeadLetterSubject   = "gcis.dlq.>"
	DefaultAdminListen         = "127.0.0.1:8080"
	DefaultMetricsListen       = "127.0.0.1:9090"
	DefaultLogLevel            = "info"
	DefaultLogFormat           = "json"
	DefaultEventEndpoint       = "gtx_bu/v2/event"
	DefaultStartFrom           = "all"
	MaxBatchEvents             = 200     // Salesforce package limit per request
	MaxBatchBytes              = 5 * MiB // Salesforce package limit per request body
	MinAdminTokenLength        = 32      // characters
	DefaultEventsMaxAge        = 7 * 24 * time.Hour
	DefaultEventsDupWindow     = 2 * time.Minute
	DefaultDeadLetterMaxAge    = 720 * time.Hour
	DefaultDeadLetterDupWindow = time.Hour
)

// Config is the whole configuration document. Its fields mirror the YAML
// keys (operations.md, "Configuration file").
type Config struct {
	// NATS is how to reach JetStream.
	NATS NATS `yaml:"nats" json:"nats"`
	// Streams names the event and dead-letter streams.
	Streams Streams `yaml:"streams" json:"streams"`
	// Delivery holds the delivery defaults for every connector.
	Delivery Delivery `yaml:"delivery" json:"delivery"`
	// Secrets configures sealing of secrets at rest.
	Secrets Secrets `yaml:"secrets" json:"secrets"`
	// Admin configures the admin API and console.
	Admin Admin `yaml:"admin" json:"admin"`
	// Public configures the listener for Salesforce → Gentrack calls.
	Public Public `yaml:"public" json:"public"`
	// Metrics configures the metrics and health listener.
	Metrics Metrics `yaml:"metrics" json:"metrics"`
	// Log configures logging.
	Log Log `yaml:"log" json:"log"`
	// Connectors are the static connectors. Optional.
	Connectors []Connector `yaml:"connectors" json:"connectors"`
}

// NATS is the `nats` section.
type NATS struct {
	// URL of the NATS server(s), comma-separated. Empty starts an embedded
	// JetStream server storing in Embedded.StoreDir. Default
	// nats://127.0.0.1:4222.
	URL string `yaml:"url" json:"url"`
	// CredsFile is a NATS credentials file. Optional.
	CredsFile string `yaml:"creds_file" json:"creds_file"`
	// Embedded configures the embedded server used when URL is empty.
	Embedded Embedded `yaml:"embedded" json:"embedded"`
}

// Embedded is the `nats.embedded` section.
type Embedded struct {
	// StoreDir is the JetStream store directory. Default ./data/jetstream.
	StoreDir string `yaml:"store_dir" json:"store_dir"`
}

// Streams is the `streams` section.
type Streams struct {
	// Events is the event stream. Default GCIS_EVENTS, gcis.events.>, 7 days,
	// duplicate window 2m.
	Events StreamConfig `yaml:"events" json:"events"`
	// DeadLetter is the dead-letter stream. Default GCIS_DLQ, gcis.dlq.>,
	// 720h, duplicate window 1h.
	DeadLetter StreamConfig `yaml:"dead_letter" json:"dead_letter"`
}

// StreamConfig describes one JetStream stream. The bridge creates the
// stream with it when the stream does not exist and never changes an
// existing one.
type StreamConfig struct {
	// Name of the stream.
	Name string `yaml:"name" json:"name"`
	// Subjects the stream captures.
	Subjects []string `yaml:"subjects" json:"subjects"`
	// Replicas of the stream, 1 to 5. Default 1.
	Replicas int `yaml:"replicas" json:"replicas"`
	// MaxAge is how long messages are kept.
	MaxAge Duration `yaml:"max_age" json:"max_age"`
	// DuplicateWindow is JetStream's Nats-Msg-Id deduplication window; at
	// most MaxAge.
	DuplicateWindow Duration `yaml:"duplicate_window" json:"duplicate_window"`
}

// Delivery is the `delivery` section: how events are batched, sent and
// retried. Each connector may override parts of it ([DeliveryOverride]).
type Delivery struct {
	// BatchMaxEvents is the most events in one request, 1 to 200. Default 200.
	BatchMaxEvents int `yaml:"batch_max_events" json:"batch_max_events"`
	// BatchMaxBytes bounds a request body, at most 5MiB. Default 2MiB.
	BatchMaxBytes ByteSize `yaml:"batch_max_bytes" json:"batch_max_bytes"`
	// Linger is how long a partial batch may wait. Default 100ms.
	Linger Duration `yaml:"linger" json:"linger"`
	// MaxInFlight is the number of concurrent requests per connector.
	// Default 4.
	MaxInFlight int `yaml:"max_in_flight" json:"max_in_flight"`
	// RequestTimeout bounds one Salesforce request. Default 30s.
	RequestTimeout Duration `yaml:"request_timeout" json:"request_timeout"`
	// MaxAttempts is the number of transient failures of one event before it
	// is dead-lettered. Default 10.
	MaxAttempts int `yaml:"max_attempts" json:"max_attempts"`
	// MaxAckPending is the tenant consumer's limit; at least
	// 2 × BatchMaxEvents × MaxInFlight. Default 5000.
	MaxAckPending int `yaml:"max_ack_pending" json:"max_ack_pending"`
	// MaxEventBytes is the largest accepted source event; at most
	// BatchMaxBytes. Default 512KiB.
	MaxEventBytes ByteSize `yaml:"max_event_bytes" json:"max_event_bytes"`
	// Backoff is the retry backoff of transient failures.
	Backoff Backoff `yaml:"backoff" json:"backoff"`
	// Breaker is the per-connector circuit breaker.
	Breaker Breaker `yaml:"breaker" json:"breaker"`
	// LimitSlowdownRatio is the share of the daily API allocation after which
	// the connector slows down, in (0, 1]. Default 0.9.
	LimitSlowdownRatio float64 `yaml:"limit_slowdown_ratio" json:"limit_slowdown_ratio"`
	// ShutdownTimeout bounds the graceful drain of in-flight batches on
	// SIGINT/SIGTERM. Default 30s. Global: not overridable per connector.
	ShutdownTimeout Duration `yaml:"shutdown_timeout" json:"shutdown_timeout"`
	// PinnedTTL is how long JetStream keeps a tenant's consumer pinned to a
	// replica that stopped pulling (crashed) before another replica, or
	// the restarted one, takes over. At least 3s. Default 30s. Global.
	PinnedTTL Duration `yaml:"pinned_ttl" json:"pinned_ttl"`
}

// Backoff is exponential backoff with jitter.
type Backoff struct {
	// Initial delay. Default 1s.
	Initial Duration `yaml:"initial" json:"initial"`
	// Max delay, at least Initial. Default 5m.
	Max Duration `yaml:"max" json:"max"`
	// Multiplier applied after each attempt, at least 1. Default 2.
	Multiplier float64 `yaml:"multiplier" json:"multiplier"`
	// Jitter is the random share of each delay, 0 to 1. Default 0.2.
	Jitter float64 `yaml:"jitter" json:"jitter"`
}

// Breaker configures the circuit breaker.
type Breaker struct {
	// Failures in a row that open the breaker. Default 5.
	Failures int `yaml:"failures" json:"failures"`
	// OpenFor is how long it stays open before a trial. Default 30s.
	OpenFor Duration `yaml:"open_for" json:"open_for"`
}

// Secrets is the `secrets` section.
type Secrets struct {
	// KeyFile holds 32 random bytes, raw or base64, that seal secrets in the
	// KV store. Optional: without it connectors can only be defined in the
	// configuration file (see the package documentation).
	KeyFile string `yaml:"key_file" json:"key_file"`
}

// Admin is the `admin` section.
type Admin struct {
	// Listen is the admin API and console address. Default 127.0.0.1:8080.
	Listen string `yaml:"listen" json:"listen"`
	// Token is the bearer token of the admin API. Required, at least 32
	// characters.
	Token Secret `yaml:"token" json:"token"`
	// AllowedHosts are Host header values accepted besides the listen
	// address. Optional.
	AllowedHosts []string `yaml:"allowed_hosts" json:"allowed_hosts"`
}

// Public is the `public` section, for Salesforce → Gentrack calls. Optional.
type Public struct {
	// Listen is the address of the token service and gateway. Empty: off.
	Listen string `yaml:"listen" json:"listen"`
	// BaseURL is the https URL Salesforce reaches Listen at. Required when
	// Listen is set.
	BaseURL string `yaml:"base_url" json:"base_url"`
}

// Metrics is the `metrics` section.
type Metrics struct {
	// Listen is the /metrics, /healthz and /readyz address. Default
	// 127.0.0.1:9090.
	Listen string `yaml:"listen" json:"listen"`
}

// Log is the `log` section.
type Log struct {
	// Level is debug, info, warn or error. Default info.
	Level string `yaml:"level" json:"level"`
	// Format is json or console. Default json.
	Format string `yaml:"format" json:"format"`
}

// Connector is one static connector: a tenant's Salesforce org.
type Connector struct {
	// ID matches ^[a-z0-9][a-z0-9-]{0,62}$. Required.
	ID string `yaml:"id" json:"id"`
	// Tenant is the GCIS tenant id. Required; one connector per tenant.
	Tenant string `yaml:"tenant" json:"tenant"`
	// LoginURL is the org's My Domain URL. Required; https unless
	// AllowInsecureHTTP.
	LoginURL string `yaml:"login_url" json:"login_url"`
	// ConsumerKey of the external client app. Required.
	ConsumerKey Secret `yaml:"consumer_key" json:"consumer_key"`
	// ConsumerSecret of the external client app. Required.
	ConsumerSecret Secret `yaml:"consumer_secret" json:"consumer_secret"`
	// EventEndpoint is the Apex REST path below /services/apexrest/.
	// Default gtx_bu/v2/event.
	EventEndpoint string `yaml:"event_endpoint" json:"event_endpoint"`
	// AllowInsecureHTTP permits http:// URLs (simulators and tests only).
	AllowInsecureHTTP bool `yaml:"allow_insecure_http" json:"allow_insecure_http"`
	// GentrackAPI are the upstreams for Salesforce → Gentrack calls. Optional.
	GentrackAPI GentrackAPI `yaml:"gentrack_api" json:"gentrack_api"`
	// Subscriptions select the events sent: "*", "<source>.*" or
	// "<source>.<eventType>". Default ["*"].
	Subscriptions []string `yaml:"subscriptions" json:"subscriptions"`
	// StartFrom is where a new connector's consumer starts: all, new or an
	// RFC 3339 time. Default all.
	StartFrom string `yaml:"start_from" json:"start_from"`
	// MappingsFile holds mapping overrides. Optional.
	MappingsFile string `yaml:"mappings_file" json:"mappings_file"`
	// Delivery overrides parts of the global delivery settings. Optional.
	Delivery *DeliveryOverride `yaml:"delivery" json:"delivery,omitempty"`
}

// GentrackAPI is a connector's `gentrack_api` section.
type GentrackAPI struct {
	// JuniferURL is the Junifer API base URL. Optional.
	JuniferURL string `yaml:"junifer_url" json:"junifer_url"`
	// VelocityURL is the Velocity API base URL. Optional.
	VelocityURL string `yaml:"velocity_url" json:"velocity_url"`
	// Headers are sent upstream with every call (upstream credentials).
	Headers map[string]Secret `yaml:"headers" json:"headers"`
}

// DeliveryOverride is a connector's `delivery` section: only the fields
// that are set (non-nil) override the global [Delivery]. Each field has the
// meaning and limits of the [Delivery] field of the same name.
type DeliveryOverride struct {
	// BatchMaxEvents overrides [Delivery.BatchMaxEvents] when set.
	BatchMaxEvents *int `yaml:"batch_max_events" json:"batch_max_events,omitempty"`
	// BatchMaxBytes overrides [Delivery.BatchMaxBytes] when set.
	BatchMaxBytes *ByteSize `yaml:"batch_max_bytes" json:"batch_max_bytes,omitempty"`
	// Linger overrides [Delivery.Linger] when set.
	Linger *Duration `yaml:"linger" json:"linger,omitempty"`
	// MaxInFlight overrides [Delivery.MaxInFlight] when set.
	MaxInFlight *int `yaml:"max_in_flight" json:"max_in_flight,omitempty"`
	// RequestTimeout overrides [Delivery.RequestTimeout] when set.
	RequestTimeout *Duration `yaml:"request_timeout" json:"request_timeout,omitempty"`
	// MaxAttempts overrides [Delivery.MaxAttempts] when set.
	MaxAttempts *int `yaml:"max_attempts" json:"max_attempts,omitempty"`
	// MaxAckPending overrides [Delivery.MaxAckPending] when set.
	MaxAckPending *int `yaml:"max_ack_pending" json:"max_ack_pending,omitempty"`
	// MaxEventBytes overrides [Delivery.MaxEventBytes] when set.
	MaxEventBytes *ByteSize `yaml:"max_event_bytes" json:"max_event_bytes,omitempty"`
	// Backoff overrides the set fields of [Delivery.Backoff].
	Backoff *BackoffOverride `yaml:"backoff" json:"backoff,omitempty"`
	// Breaker overrides the set fields of [Delivery.Breaker].
	Breaker *BreakerOverride `yaml:"breaker" json:"breaker,omitempty"`
	// LimitSlowdownRatio overrides [Delivery.LimitSlowdownRatio] when set.
	LimitSlowdownRatio *float64 `yaml:"limit_slowdown_ratio" json:"limit_slowdown_ratio,omitempty"`
}

// BackoffOverride overrides the set fields of [Backoff].
type BackoffOverride struct {
	// Initial overrides [Backoff.Initial] when set.
	Initial *Duration `yaml:"initial" json:"initial,omitempty"`
	// Max overrides [Backoff.Max] when set.
	Max *Duration `yaml:"max" json:"max,omitempty"`
	// Multiplier overrides [Backoff.Multiplier] when set.
	Multiplier *float64 `yaml:"multiplier" json:"multiplier,omitempty"`
	// Jitter overrides [Backoff.Jitter] when set.
	Jitter *float64 `yaml:"jitter" json:"jitter,omitempty"`
}

// BreakerOverride overrides the set fields of [Breaker].
type BreakerOverride struct {
	// Failures overrides [Breaker.Failures] when set.
	Failures *int `yaml:"failures" json:"failures,omitempty"`
	// OpenFor overrides [Breaker.OpenFor] when set.
	OpenFor *Duration `yaml:"open_for" json:"open_for,omitempty"`
}

// Default returns a configuration with every default set and no
// connectors. It does not validate: admin.token is empty.
func Default() *Config {
	return &Config{
		NATS: NATS{URL: DefaultNATSURL, Embedded: Embedded{StoreDir: DefaultStoreDir}},
		Streams: Streams{
			Events: StreamConfig{
				Name: DefaultEventsStream, Subjects: []string{DefaultEventsSubject}, Replicas: 1,
				MaxAge: Duration(DefaultEventsMaxAge), DuplicateWindow: Duration(DefaultEventsDupWindow),
			},
			DeadLetter: StreamConfig{
				Name: DefaultDeadLetterStream, Subjects: []string{DefaultDeadLetterSubject}, Replicas: 1,
				MaxAge: Duration(DefaultDeadLetterMaxAge), DuplicateWindow: Duration(DefaultDeadLetterDupWindow),
			},
		},
		Delivery: DefaultDelivery(),
		Admin:    Admin{Listen: DefaultAdminListen},
		Metrics:  Metrics{Listen: DefaultMetricsListen},
		Log:      Log{Level: DefaultLogLevel, Format: DefaultLogFormat},
	}
}

// DefaultDelivery returns the default delivery settings.
func DefaultDelivery() Delivery {
	return Delivery{
		BatchMaxEvents: 200,
		BatchMaxBytes:  2 * MiB,
		Linger:         Duration(100 * time.Millisecond),
		MaxInFlight:    4,
		RequestTimeout: Duration(30 * time.Second),
		MaxAttempts:    10,
		MaxAckPending:  5000,
		MaxEventBytes:  512 * KiB,
		Backoff: Backoff{
			Initial:    Duration(time.Second),
			Max:        Duration(5 * time.Minute),
			Multiplier: 2,
			Jitter:     0.2,
		},
		Breaker:            Breaker{Failures: 5, OpenFor: Duration(30 * time.Second)},
		LimitSlowdownRatio: 0.9,
		ShutdownTimeout:    Duration(30 * time.Second),
		PinnedTTL:          Duration(30 * time.Second),
	}
}

// SetDefaults fills the connector's empty optional fields: event_endpoint
// gtx_bu/v2/event, subscriptions ["*"], start_from all. It is for
// connectors built in code or received through the admin API; [Parse]
// applies the same defaults to keys absent from the file.
func (c *Connector) SetDefaults() {
	if c.EventEndpoint == "" {
		c.EventEndpoint = DefaultEventEndpoint
	}
	if c.Subscriptions == nil {
		c.Subscriptions = []string{"*"}
	}
	if c.StartFrom == "" {
		c.StartFrom = DefaultStartFrom
	}
}

// Connector returns the connector with the given id.
func (c *Config) Connector(id string) (Connector, bool) {
	for _, k := range c.Connectors {
		if k.ID == id {
			return k, true
		}
	}
	return Connector{}, false
}

// Effective returns the delivery settings of the connector with the given
// id: the global [Delivery] with the connector's overrides applied. An
// unknown id gets the global settings.
func (c *Config) Effective(connectorID string) Delivery {
	k, ok := c.Connector(connectorID)
	if !ok {
		return c.Delivery
	}
	return k.Delivery.Apply(c.Delivery)
}

// Apply returns base with the fields set in o replacing base's. A nil o
// returns base unchanged.
func (o *DeliveryOverride) Apply(base Delivery) Delivery {
	d := base
	if o == nil {
		return d
	}
	set(&d.BatchMaxEvents, o.BatchMaxEvents)
	set(&d.BatchMaxBytes, o.BatchMaxBytes)
	set(&d.Linger, o.Linger)
	set(&d.MaxInFlight, o.MaxInFlight)
	set(&d.RequestTimeout, o.RequestTimeout)
	set(&d.MaxAttempts, o.MaxAttempts)
	set(&d.MaxAckPending, o.MaxAckPending)
	set(&d.MaxEventBytes, o.MaxEventBytes)
	set(&d.LimitSlowdownRatio, o.LimitSlowdownRatio)
	if b := o.Backoff; b != nil {
		set(&d.Backoff.Initial, b.Initial)
		set(&d.Backoff.Max, b.Max)
		set(&d.Backoff.Multiplier, b.Multiplier)
		set(&d.Backoff.Jitter, b.Jitter)
	}
	if b := o.Breaker; b != nil {
		set(&d.Breaker.Failures, b.Failures)
		set(&d.Breaker.OpenFor, b.OpenFor)
	}
	return d
}

func set[T any](dst *T, v *T) {
	if v != nil {
		*dst = *v
	}
}

// Subscribed reports whether the connector's subscriptions select events of
// the given source and type: "*" selects all, "<source>.*" every type of
// the source, "<source>.<eventType>" one type. Matching is exact
// (case-sensitive).
func (c Connector) Subscribed(source, eventType string) bool {
	for _, s := range c.Subscriptions {
		if s == "*" {
			return true
		}
		src, typ, ok := strings.Cut(s, ".")
		if !ok || src != source {
			continue
		}
		if typ == "*" || typ == eventType {
			return true
		}
	}
	return false
}
