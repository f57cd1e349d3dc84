package sfsim

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"regexp"
	"strconv"
	"strings"
	"time"

	"go.uber.org/zap"
	"go.yaml.in/yaml/v3"
)

// Defaults applied to zero values of [Config] and [OrgConfig].
const (
	DefaultAPIVersion      = "62.0"
	DefaultMaxBodyBytes    = 6_000_000 // Apex REST request size / sync heap limit
	DefaultDailyAPIMax     = 100_000
	DefaultSessionTimeout  = 2 * time.Hour
	DefaultPackageVersion  = "2.4.0"
	DefaultRequestLogSize  = 10_000
	DefaultCalloutTimeout  = 30 * time.Second
	minSupportedAPIVersion = 31
)

// ErrInvalidConfig is wrapped by every configuration validation error.
var ErrInvalidConfig = errors.New("invalid config")

var orgIDPattern = regexp.MustCompile(`^[A-Za-z0-9_-]{1,63}$`)

// OrgConfig describes one simulated org. The YAML and JSON names are the
// snake_case ones of salesforce.md §5.
type OrgConfig struct {
	// ID names the org: it is served at /orgs/{ID}/ and for the Host
	// {ID}.my.salesforce.com. Required; 1–63 characters of [A-Za-z0-9_-].
	ID string `yaml:"id" json:"id"`
	// ConsumerKey is the External Client App's consumer key (client_id).
	// Required.
	ConsumerKey string `yaml:"consumer_key" json:"consumer_key"`
	// ConsumerSecret is the consumer secret. Required.
	ConsumerSecret string `yaml:"consumer_secret" json:"consumer_secret"`
	// SecondarySecret is a second valid secret, as during a rotation.
	// Optional.
	SecondarySecret string `yaml:"secondary_secret" json:"secondary_secret,omitempty"`
	// DailyAPIMax is the daily API allocation. Optional; default 100000.
	DailyAPIMax int `yaml:"daily_api_max" json:"daily_api_max,omitempty"`
	// RunAsUser tells whether the app has a Run As user for the client
	// credentials flow; without one the token endpoint answers invalid_grant
	// "no client credentials user enabled". Optional; default true.
	RunAsUser *bool `yaml:"run_as_user" json:"run_as_user,omitempty"`
	// PackageInstalled tells whether the gtx_bu package is installed; without
	// it every Apex REST path answers 404 NOT_FOUND. Optional; default true.
	PackageInstalled *bool `yaml:"package_installed" json:"package_installed,omitempty"`
	// SessionTimeout is the sliding session timeout of issued tokens.
	// Optional; default 2h.
	SessionTimeout time.Duration `yaml:"session_timeout" json:"session_timeout,omitempty"`
	// ConcurrentLimit is how many long-running API requests may be in flight
	// at once; a request arriving when that many are running is refused with
	// 403 REQUEST_LIMIT_EXCEEDED "ConcurrentPerOrgLongTxn Limit exceeded.".
	// Optional; 0 means no limit.
	ConcurrentLimit int `yaml:"concurrent_limit" json:"concurrent_limit,omitempty"`
	// LongRequestThreshold is the age from which an in-flight request counts
	// toward ConcurrentLimit (Salesforce: 5s for synchronous Apex). Optional;
	// 0 means every in-flight request counts.
	LongRequestThreshold time.Duration `yaml:"long_request_threshold" json:"long_request_threshold,omitempty"`
	// PackageVersion is the gtx_bu version reported by GET on the endpoint.
	// Optional; default "2.4.0".
	PackageVersion string `yaml:"package_version" json:"package_version,omitempty"`
}

func (o *OrgConfig) setDefaults() {
	if o.DailyAPIMax == 0 {
		o.DailyAPIMax = DefaultDailyAPIMax
	}
	if o.RunAsUser == nil {
		o.RunAsUser = boolPtr(true)
	}
	if o.PackageInstalled == nil {
		o.PackageInstalled = boolPtr(true)
	}
	if o.SessionTimeout == 0 {
		o.SessionTimeout = DefaultSessionTimeout
	}
	if o.PackageVersion == "" {
		o.PackageVersion = DefaultPackageVersion
	}
}

// Validate reports every problem of the org configuration at once, each
// wrapping [ErrInvalidConfig]. Secrets are never quoted.
func (o OrgConfig) Validate() error {
	var errs []error
	bad := func(field, msg string) {
		errs = append(errs, fmt.Errorf("%w: org %q: %s: %s", ErrInvalidConfig, o.ID, field, msg))
	}
	if !orgIDPattern.MatchString(o.ID) {
		bad("id", "must be 1-63 characters of [A-Za-z0-9_-]")
	}
	if o.ConsumerKey == "" {
		bad("consumer_key", "required")
	}
	if o.ConsumerSecret == "" {
		bad("consumer_secret", "required")
	}
	if o.DailyAPIMax < 0 {
		bad("daily_api_max", "must not be negative")
	}
	if o.SessionTimeout < 0 {
		bad("session_timeout", "must not be negative")
	}
	if o.ConcurrentLimit < 0 {
		bad("concurrent_limit", "must not be negative")
	}
	if o.LongRequestThreshold < 0 {
		bad("long_request_threshold", "must not be negative")
	}
	return errors.Join(errs...)
}

// orgConfigJSON is OrgConfig with durations as Go duration strings ("2h").
type orgConfigJSON struct {
	ID                   string   `json:"id"`
	ConsumerKey          string   `json:"consumer_key"`
	ConsumerSecret       string   `json:"consumer_secret"`
	SecondarySecret      string   `json:"secondary_secret,omitempty"`
	DailyAPIMax          int      `json:"daily_api_max,omitempty"`
	RunAsUser            *bool    `json:"run_as_user,omitempty"`
	PackageInstalled     *bool    `json:"package_installed,omitempty"`
	SessionTimeout       duration `json:"session_timeout,omitzero"`
	ConcurrentLimit      int      `json:"concurrent_limit,omitempty"`
	LongRequestThreshold duration `json:"long_request_threshold,omitzero"`
	PackageVersion       string   `json:"package_version,omitempty"`
}

// UnmarshalJSON decodes the control API's form of an org: snake_case names,
// durations as strings such as "90s"; unknown names are an error.
func (o *OrgConfig) UnmarshalJSON(b []byte) error {
	var j orgConfigJSON
	if err := strictUnmarshal(b, &j); err != nil {
		return err
	}
	*o = OrgConfig{
		ID: j.ID, ConsumerKey: j.ConsumerKey, ConsumerSecret: j.ConsumerSecret,
		SecondarySecret: j.SecondarySecret, DailyAPIMax: j.DailyAPIMax,
		RunAsUser: j.RunAsUser, PackageInstalled: j.PackageInstalled,
		SessionTimeout: time.Duration(j.SessionTimeout), ConcurrentLimit: j.ConcurrentLimit,
		LongRequestThreshold: time.Duration(j.LongRequestThreshold), PackageVersion: j.PackageVersion,
	}
	return nil
}

// MarshalJSON encodes the org in the control API's form. It includes the
// secrets, so it is only used for input round trips, never for responses.
func (o OrgConfig) MarshalJSON() ([]byte, error) {
	return json.Marshal(orgConfigJSON{
		ID: o.ID, ConsumerKey: o.ConsumerKey, ConsumerSecret: o.ConsumerSecret,
		SecondarySecret: o.SecondarySecret, DailyAPIMax: o.DailyAPIMax,
		RunAsUser: o.RunAsUser, PackageInstalled: o.PackageInstalled,
		SessionTimeout: duration(o.SessionTimeout), ConcurrentLimit: o.ConcurrentLimit,
		LongRequestThreshold: duration(o.LongRequestThreshold), PackageVersion: o.PackageVersion,
	})
}

// OrgPatch changes some settings of an existing org; nil fields are kept.
// It is how a test rotates secrets, removes the Run As user or uninstalls
// the package at run time.
type OrgPatch struct {
	ConsumerKey          *string        `json:"consumer_key,omitempty"`
	ConsumerSecret       *string        `json:"consumer_secret,omitempty"`
	SecondarySecret      *string        `json:"secondary_secret,omitempty"`
	DailyAPIMax          *int           `json:"daily_api_max,omitempty"`
	RunAsUser            *bool          `json:"run_as_user,omitempty"`
	PackageInstalled     *bool          `json:"package_installed,omitempty"`
	SessionTimeout       *time.Duration `json:"-"`
	ConcurrentLimit      *int           `json:"concurrent_limit,omitempty"`
	LongRequestThreshold *time.Duration `json:"-"`
	PackageVersion       *string        `json:"package_version,omitempty"`
}

// UnmarshalJSON decodes a patch; durations are strings such as "90s" and
// unknown names are an error.
func (p *OrgPatch) UnmarshalJSON(b []byte) error {
	type plain OrgPatch
	var j struct {
		plain
		SessionTimeout       *duration `json:"session_timeout,omitempty"`
		LongRequestThreshold *duration `json:"long_request_threshold,omitempty"`
	}
	if err := strictUnmarshal(b, &j); err != nil {
		return err
	}
	*p = OrgPatch(j.plain)
	if j.SessionTimeout != nil {
		d := time.Duration(*j.SessionTimeout)
		p.SessionTimeout = &d
	}
	if j.LongRequestThreshold != nil {
		d := time.Duration(*j.LongRequestThreshold)
		p.LongRequestThreshold = &d
	}
	return nil
}

func (p OrgPatch) apply(o *OrgConfig) {
	if p.ConsumerKey != nil {
		o.ConsumerKey = *p.ConsumerKey
	}
	if p.ConsumerSecret != nil {
		o.ConsumerSecret = *p.ConsumerSecret
	}
	if p.SecondarySecret != nil {
		o.SecondarySecret = *p.SecondarySecret
	}
	if p.DailyAPIMax != nil {
		o.DailyAPIMax = *p.DailyAPIMax
	}
	if p.RunAsUser != nil {
		o.RunAsUser = boolPtr(*p.RunAsUser)
	}
	if p.PackageInstalled != nil {
		o.PackageInstalled = boolPtr(*p.PackageInstalled)
	}
	if p.SessionTimeout != nil {
		o.SessionTimeout = *p.SessionTimeout
	}
	if p.ConcurrentLimit != nil {
		o.ConcurrentLimit = *p.ConcurrentLimit
	}
	if p.LongRequestThreshold != nil {
		o.LongRequestThreshold = *p.LongRequestThreshold
	}
	if p.PackageVersion != nil {
		o.PackageVersion = *p.PackageVersion
	}
}

// Config configures a [Server]. The zero value serves no org; orgs can be
// added later with [Server.AddOrg] or the control API.
type Config struct {
	// Orgs are the orgs served from the start. Optional.
	Orgs []OrgConfig
	// Logger receives one Debug line per request and Info/Warn lines for
	// control actions; tokens and secrets are never logged. Optional;
	// default a no-op logger.
	Logger *zap.Logger
	// APIVersion is the newest REST API version ("62.0"); GET
	// /services/data/ lists versions 31.0 up to it. Optional; default "62.0".
	APIVersion string
	// MaxBodyBytes is the largest Apex REST request body; a larger one gets
	// Salesforce's 500 APEX_ERROR heap-size error. Optional; default
	// 6,000,000.
	MaxBodyBytes int64
	// Now returns the current time; sessions, fault windows and the request
	// log use it, so tests can move time. Optional; default time.Now.
	Now func() time.Time
	// Seed seeds the random choices of probabilistic faults and latency, for
	// reproducible runs. Optional; 0 seeds from the clock.
	Seed uint64
	// RequestLogSize is how many requests per org the stats keep (the
	// oldest are dropped first). Optional; default 10000.
	RequestLogSize int
	// CalloutClient performs named-credential callouts. Optional; default a
	// client with a 30s timeout and the system trust store.
	CalloutClient *http.Client
}

func (c *Config) setDefaults() {
	if c.Logger == nil {
		c.Logger = zap.NewNop()
	}
	if c.APIVersion == "" {
		c.APIVersion = DefaultAPIVersion
	}
	if c.MaxBodyBytes == 0 {
		c.MaxBodyBytes = DefaultMaxBodyBytes
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.RequestLogSize == 0 {
		c.RequestLogSize = DefaultRequestLogSize
	}
	if c.CalloutClient == nil {
		c.CalloutClient = &http.Client{Timeout: DefaultCalloutTimeout}
	}
	for i := range c.Orgs {
		c.Orgs[i].setDefaults()
	}
}

// Validate reports every problem of the configuration at once, each
// wrapping [ErrInvalidConfig].
func (c Config) Validate() error {
	var errs []error
	if c.APIVersion != "" {
		if _, err := parseAPIVersion(c.APIVersion); err != nil {
			errs = append(errs, fmt.Errorf("%w: api_version: %q must look like \"62.0\" (>= %d.0)", ErrInvalidConfig, c.APIVersion, minSupportedAPIVersion))
		}
	}
	if c.MaxBodyBytes < 0 {
		errs = append(errs, fmt.Errorf("%w: max_body_bytes: must not be negative", ErrInvalidConfig))
	}
	if c.RequestLogSize < 0 {
		errs = append(errs, fmt.Errorf("%w: request_log_size: must not be negative", ErrInvalidConfig))
	}
	seen := map[string]bool{}
	for i, o := range c.Orgs {
		if err := o.Validate(); err != nil {
			errs = append(errs, fmt.Errorf("orgs[%d]: %w", i, err))
		}
		key := strings.ToLower(o.ID)
		if seen[key] {
			errs = append(errs, fmt.Errorf("%w: orgs[%d]: id %q defined twice", ErrInvalidConfig, i, o.ID))
		}
		seen[key] = true
	}
	return errors.Join(errs...)
}

// parseAPIVersion parses "62.0" into 62.
func parseAPIVersion(v string) (int, error) {
	major, minor, ok := strings.Cut(v, ".")
	if !ok || minor != "0" {
		return 0, fmt.Errorf("bad api version %q", v)
	}
	n, err := strconv.Atoi(major)
	if err != nil || n < minSupportedAPIVersion || n > 999 {
		return 0, fmt.Errorf("bad api version %q", v)
	}
	return n, nil
}

// orgsFile is the orgs.yaml document.
type orgsFile struct {
	Orgs []OrgConfig `yaml:"orgs"`
}

// LoadOrgsFile reads an orgs.yaml document (salesforce.md §5): a top-level
// "orgs" list. Unknown keys are errors, and every org is validated; all
// problems are reported at once.
func LoadOrgsFile(path string) ([]OrgConfig, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read orgs file: %w", err)
	}
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	var f orgsFile
	if err := dec.Decode(&f); err != nil {
		return nil, fmt.Errorf("%w: %s: %w", ErrInvalidConfig, path, err)
	}
	var errs []error
	seen := map[string]bool{}
	for i := range f.Orgs {
		o := f.Orgs[i]
		if err := o.Validate(); err != nil {
			errs = append(errs, fmt.Errorf("%s: orgs[%d]: %w", path, i, err))
		}
		if seen[strings.ToLower(o.ID)] {
			errs = append(errs, fmt.Errorf("%w: %s: orgs[%d]: id %q defined twice", ErrInvalidConfig, path, i, o.ID))
		}
		seen[strings.ToLower(o.ID)] = true
		f.Orgs[i].setDefaults()
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return f.Orgs, nil
}

// duration is a time.Duration written in JSON as a Go duration string.
type duration time.Duration

// MarshalJSON writes the duration as a string such as "1m30s".
func (d duration) MarshalJSON() ([]byte, error) {
	return json.Marshal(time.Duration(d).String())
}

// UnmarshalJSON reads a duration string such as "250ms".
func (d *duration) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("duration must be a string such as \"250ms\": %w", err)
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		return err
	}
	*d = duration(v)
	return nil
}

// strictUnmarshal decodes one JSON value, refusing unknown fields and
// trailing data.
func strictUnmarshal(b []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return err
	}
	if dec.More() {
		return errors.New("unexpected data after the JSON value")
	}
	return nil
}

func boolPtr(b bool) *bool { return &b }
