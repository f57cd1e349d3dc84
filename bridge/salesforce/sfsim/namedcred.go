package sfsim

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"sort"
	"strings"

	"go.uber.org/zap"
)

// Connect REST named-credential wire types (research salesforce.md §6).
// Unknown input names are ignored: the published input classes have more
// members than the simulator uses.

type ncParameter struct {
	ParameterName  string `json:"parameterName,omitempty"`
	ParameterType  string `json:"parameterType,omitempty"`
	ParameterValue string `json:"parameterValue,omitempty"`
	SequenceNumber *int   `json:"sequenceNumber,omitempty"`
	Description    string `json:"description,omitempty"`
}

type ncPrincipal struct {
	PrincipalName  string        `json:"principalName"`
	PrincipalType  string        `json:"principalType"`
	SequenceNumber *int          `json:"sequenceNumber,omitempty"`
	Parameters     []ncParameter `json:"parameters,omitempty"`
}

type ncRef struct {
	DeveloperName string `json:"developerName"`
	MasterLabel   string `json:"masterLabel,omitempty"`
	ID            string `json:"id,omitempty"`
	URL           string `json:"url,omitempty"`
}

type externalCredential struct {
	ID                            string            `json:"id,omitempty"`
	URL                           string            `json:"url,omitempty"`
	DeveloperName                 string            `json:"developerName"`
	MasterLabel                   string            `json:"masterLabel"`
	AuthenticationProtocol        string            `json:"authenticationProtocol"`
	AuthenticationProtocolVariant string            `json:"authenticationProtocolVariant,omitempty"`
	Parameters                    []ncParameter     `json:"parameters"`
	Principals                    []ncPrincipal     `json:"principals"`
	CustomHeaders                 []json.RawMessage `json:"customHeaders,omitempty"`
	RelatedNamedCredentials       []ncRef           `json:"relatedNamedCredentials"`
}

type calloutOptions struct {
	GenerateAuthorizationHeader *bool `json:"generateAuthorizationHeader,omitempty"`
	AllowMergeFieldsInHeader    *bool `json:"allowMergeFieldsInHeader,omitempty"`
	AllowMergeFieldsInBody      *bool `json:"allowMergeFieldsInBody,omitempty"`
}

type namedCredential struct {
	ID                  string            `json:"id,omitempty"`
	URL                 string            `json:"url,omitempty"`
	DeveloperName       string            `json:"developerName"`
	MasterLabel         string            `json:"masterLabel"`
	Type                string            `json:"type"`
	CalloutURL          string            `json:"calloutUrl"`
	ExternalCredentials []ncRef           `json:"externalCredentials"`
	CalloutOptions      *calloutOptions   `json:"calloutOptions,omitempty"`
	CustomHeaders       []json.RawMessage `json:"customHeaders,omitempty"`
	NetworkConnection   json.RawMessage   `json:"networkConnection,omitempty"`
	Parameters          []ncParameter     `json:"parameters,omitempty"`
}

type credentialValue struct {
	Value     string `json:"value"`
	Encrypted bool   `json:"encrypted"`
}

type credentialInput struct {
	ExternalCredential            string                     `json:"externalCredential"`
	PrincipalName                 string                     `json:"principalName"`
	PrincipalType                 string                     `json:"principalType"`
	AuthenticationProtocol        string                     `json:"authenticationProtocol"`
	AuthenticationProtocolVariant string                     `json:"authenticationProtocolVariant,omitempty"`
	Credentials                   map[string]credentialValue `json:"credentials"`
}

// credentialOutput is a stored credential as GET returns it: encrypted
// values are masked.
type credentialOutput struct {
	AuthenticationProtocol        string                     `json:"authenticationProtocol"`
	AuthenticationProtocolVariant string                     `json:"authenticationProtocolVariant,omitempty"`
	AuthenticationStatus          string                     `json:"authenticationStatus"`
	Credentials                   map[string]credentialValue `json:"credentials"`
	ExternalCredential            string                     `json:"externalCredential"`
	PrincipalName                 string                     `json:"principalName"`
	PrincipalType                 string                     `json:"principalType"`
	URL                           string                     `json:"url"`
}

const maskedValue = "********"

type credKey struct{ ext, principal, ptype string }

// namedCreds is an org's named-credential setup; guarded by org.mu.
type namedCreds struct {
	ext   map[string]*externalCredential
	named map[string]*namedCredential
	creds map[credKey]*credentialInput
	seq   uint64
}

func newNamedCreds() namedCreds {
	return namedCreds{ext: map[string]*externalCredential{}, named: map[string]*namedCredential{}, creds: map[credKey]*credentialInput{}}
}

var (
	developerNamePattern = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9_]{0,79}$`)
	authProtocols        = map[string]bool{"AwsSv4": true, "Basic": true, "Custom": true, "Jwt": true, "OAuth": true, "NoAuthentication": true}
	oauthVariants        = map[string]bool{"ClientCredentialsClientSecret": true, "ClientCredentialsClientSecretBasic": true,
		"ClientCredentialsJwtAssertion": true, "JwtBearer": true, "BrowserFlow": true}
	principalTypes       = map[string]bool{"NamedPrincipal": true, "PerUserPrincipal": true, "AwsStsPrincipal": true}
	namedCredentialTypes = map[string]bool{"SecuredEndpoint": true, "PrivateEndpoint": true}
)

const maxConnectBody = 1 << 20

// namedCredentials serves /services/data/vXX.X/named-credentials{sub}.
func (c *call) namedCredentials(base, sub string) {
	base += "/named-credentials"
	kind, name, _ := strings.Cut(strings.TrimPrefix(sub, "/"), "/")
	name, _ = url.PathUnescape(name)
	switch {
	case kind == "external-credentials" && name == "":
		c.extCollection(base)
	case kind == "external-credentials":
		c.extItem(base, name)
	case kind == "named-credential-setup" && name == "":
		c.namedCollection(base)
	case kind == "named-credential-setup":
		c.namedItem(base, name)
	case kind == "credential" && name == "":
		c.credential(base)
	default:
		c.notFound()
	}
}

// readConnectBody decodes a Connect REST input body.
func (c *call) readConnectBody(v any) bool {
	body, err := io.ReadAll(io.LimitReader(c.r.Body, maxConnectBody+1))
	if err != nil {
		return false
	}
	if len(body) > maxConnectBody {
		c.sfError(http.StatusRequestEntityTooLarge, "REQUEST_ENTITY_TOO_LARGE", "The request body is too large")
		return false
	}
	if len(strings.TrimSpace(string(body))) == 0 {
		c.sfError(http.StatusBadRequest, "JSON_PARSER_ERROR", "The HTTP entity body is required, but this request has no entity body.")
		return false
	}
	if err := json.Unmarshal(body, v); err != nil {
		var syn *json.SyntaxError
		var typ *json.UnmarshalTypeError
		switch {
		case errors.As(err, &syn):
			c.sfError(http.StatusBadRequest, "JSON_PARSER_ERROR", syntaxMessage(body, syn))
		case errors.As(err, &typ):
			c.sfError(http.StatusBadRequest, "JSON_PARSER_ERROR",
				fmt.Sprintf("Cannot deserialize instance of %s out of %s token", apexTypeName(typ.Type), jacksonToken(typ.Value, body, typ.Offset))+position(body, typ.Offset))
		default:
			c.sfError(http.StatusBadRequest, "JSON_PARSER_ERROR", "Unexpected end-of-input"+position(body, int64(len(body))))
		}
		return false
	}
	return true
}

func (c *call) inputError(msg string, fields ...string) {
	c.sfError(http.StatusBadRequest, "INVALID_INPUT", msg, fields...)
}

func requireFields(pairs ...string) []string {
	var missing []string
	for i := 0; i+1 < len(pairs); i += 2 {
		if strings.TrimSpace(pairs[i+1]) == "" {
			missing = append(missing, pairs[i])
		}
	}
	return missing
}

func (c *call) missing(fields []string) {
	c.sfError(http.StatusBadRequest, "REQUIRED_FIELD_MISSING", "Required fields are missing: ["+strings.Join(fields, ", ")+"]", fields...)
}

func validateExternalCredential(ec *externalCredential) (string, []string) {
	if m := requireFields("developerName", ec.DeveloperName, "masterLabel", ec.MasterLabel, "authenticationProtocol", ec.AuthenticationProtocol); m != nil {
		return "", m
	}
	if !developerNamePattern.MatchString(ec.DeveloperName) {
		return "developerName: must start with a letter and contain only letters, digits and underscores", nil
	}
	if !authProtocols[ec.AuthenticationProtocol] {
		return fmt.Sprintf("authenticationProtocol: invalid value %q", truncate(ec.AuthenticationProtocol, 40)), nil
	}
	if ec.AuthenticationProtocol == "OAuth" && ec.AuthenticationProtocolVariant != "" && !oauthVariants[ec.AuthenticationProtocolVariant] {
		return fmt.Sprintf("authenticationProtocolVariant: invalid value %q", truncate(ec.AuthenticationProtocolVariant, 60)), nil
	}
	seen := map[string]bool{}
	for _, p := range ec.Principals {
		if p.PrincipalName == "" {
			return "", []string{"principals.principalName"}
		}
		if !principalTypes[p.PrincipalType] {
			return fmt.Sprintf("principalType: invalid value %q", truncate(p.PrincipalType, 40)), nil
		}
		if seen[p.PrincipalName] {
			return fmt.Sprintf("principals: duplicate principal %q", p.PrincipalName), nil
		}
		seen[p.PrincipalName] = true
	}
	return "", nil
}

func (c *call) extCollection(base string) {
	o := c.o
	switch c.r.Method {
	case http.MethodGet:
		o.mu.Lock()
		list := make([]externalCredential, 0, len(o.creds.ext))
		for _, ec := range o.creds.ext {
			list = append(list, o.extView(*ec))
		}
		o.mu.Unlock()
		sort.Slice(list, func(i, j int) bool { return list[i].DeveloperName < list[j].DeveloperName })
		c.writeJSON(http.StatusOK, map[string]any{"externalCredentials": list, "url": base + "/external-credentials"})
	case http.MethodPost:
		var ec externalCredential
		if !c.readConnectBody(&ec) {
			return
		}
		if msg, miss := validateExternalCredential(&ec); miss != nil || msg != "" {
			if miss != nil {
				c.missing(miss)
			} else {
				c.inputError(msg)
			}
			return
		}
		o.mu.Lock()
		if _, ok := o.creds.ext[ec.DeveloperName]; ok {
			o.mu.Unlock()
			c.sfError(http.StatusBadRequest, "DUPLICATE_DEVELOPER_NAME",
				"An external credential named "+ec.DeveloperName+" already exists. Use PUT to update it.", "developerName")
			return
		}
		o.creds.seq++
		ec.ID = o.ident.recordID(extCredPrefix, o.creds.seq)
		ec.URL = base + "/external-credentials/" + ec.DeveloperName
		stored := ec
		o.creds.ext[ec.DeveloperName] = &stored
		view := o.extView(stored)
		o.mu.Unlock()
		c.writeJSON(http.StatusCreated, view)
	default:
		c.methodNotAllowed("GET", "POST")
	}
}

// extView adds the related named credentials. Called with o.mu held.
func (o *org) extView(ec externalCredential) externalCredential {
	ec.RelatedNamedCredentials = []ncRef{}
	for _, nc := range o.creds.named {
		for _, r := range nc.ExternalCredentials {
			if r.DeveloperName == ec.DeveloperName {
				ec.RelatedNamedCredentials = append(ec.RelatedNamedCredentials, ncRef{DeveloperName: nc.DeveloperName, MasterLabel: nc.MasterLabel, ID: nc.ID, URL: nc.URL})
			}
		}
	}
	sort.Slice(ec.RelatedNamedCredentials, func(i, j int) bool {
		return ec.RelatedNamedCredentials[i].DeveloperName < ec.RelatedNamedCredentials[j].DeveloperName
	})
	if ec.Parameters == nil {
		ec.Parameters = []ncParameter{}
	}
	if ec.Principals == nil {
		ec.Principals = []ncPrincipal{}
	}
	return ec
}

func (c *call) extItem(base, name string) {
	o := c.o
	switch c.r.Method {
	case http.MethodGet:
		o.mu.Lock()
		ec, ok := o.creds.ext[name]
		var view externalCredential
		if ok {
			view = o.extView(*ec)
		}
		o.mu.Unlock()
		if !ok {
			c.notFound()
			return
		}
		c.writeJSON(http.StatusOK, view)
	case http.MethodPut:
		var ec externalCredential
		if !c.readConnectBody(&ec) {
			return
		}
		if ec.DeveloperName == "" {
			ec.DeveloperName = name
		}
		if ec.DeveloperName != name {
			c.inputError("developerName: must match the resource name "+name, "developerName")
			return
		}
		if msg, miss := validateExternalCredential(&ec); miss != nil || msg != "" {
			if miss != nil {
				c.missing(miss)
			} else {
				c.inputError(msg)
			}
			return
		}
		o.mu.Lock()
		old, ok := o.creds.ext[name]
		if !ok {
			o.mu.Unlock()
			c.notFound()
			return
		}
		ec.ID, ec.URL = old.ID, old.URL
		stored := ec
		o.creds.ext[name] = &stored
		view := o.extView(stored)
		o.mu.Unlock()
		c.writeJSON(http.StatusOK, view)
	case http.MethodDelete:
		o.mu.Lock()
		if _, ok := o.creds.ext[name]; !ok {
			o.mu.Unlock()
			c.notFound()
			return
		}
		for _, nc := range o.creds.named {
			for _, r := range nc.ExternalCredentials {
				if r.DeveloperName == name {
					o.mu.Unlock()
					c.sfError(http.StatusBadRequest, "DELETE_FAILED",
						"This external credential is referenced by the named credential "+nc.DeveloperName+". Delete the named credential first.")
					return
				}
			}
		}
		delete(o.creds.ext, name)
		for k := range o.creds.creds {
			if k.ext == name {
				delete(o.creds.creds, k)
			}
		}
		o.mu.Unlock()
		c.writeRaw(http.StatusNoContent, "", nil)
	default:
		c.methodNotAllowed("GET", "PUT", "DELETE")
	}
}

// validateNamedCredential checks the input; called with o.mu held.
func (o *org) validateNamedCredential(nc *namedCredential) (string, []string) {
	if m := requireFields("developerName", nc.DeveloperName, "masterLabel", nc.MasterLabel, "type", nc.Type, "calloutUrl", nc.CalloutURL); m != nil {
		return "", m
	}
	if len(nc.ExternalCredentials) == 0 {
		return "", []string{"externalCredentials"}
	}
	if !developerNamePattern.MatchString(nc.DeveloperName) {
		return "developerName: must start with a letter and contain only letters, digits and underscores", nil
	}
	if !namedCredentialTypes[nc.Type] {
		return fmt.Sprintf("type: invalid value %q", truncate(nc.Type, 40)), nil
	}
	u, err := url.Parse(nc.CalloutURL)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return "calloutUrl: must be an absolute http(s) URL", nil
	}
	for _, r := range nc.ExternalCredentials {
		if _, ok := o.creds.ext[r.DeveloperName]; !ok {
			return fmt.Sprintf("externalCredentials: no external credential named %q", truncate(r.DeveloperName, 80)), nil
		}
	}
	return "", nil
}

func (c *call) namedCollection(base string) {
	o := c.o
	switch c.r.Method {
	case http.MethodGet:
		o.mu.Lock()
		list := make([]namedCredential, 0, len(o.creds.named))
		for _, nc := range o.creds.named {
			list = append(list, *nc)
		}
		o.mu.Unlock()
		sort.Slice(list, func(i, j int) bool { return list[i].DeveloperName < list[j].DeveloperName })
		c.writeJSON(http.StatusOK, map[string]any{"namedCredentials": list, "url": base + "/named-credential-setup"})
	case http.MethodPost:
		var nc namedCredential
		if !c.readConnectBody(&nc) {
			return
		}
		o.mu.Lock()
		msg, miss := o.validateNamedCredential(&nc)
		if miss == nil && msg == "" {
			if _, ok := o.creds.named[nc.DeveloperName]; ok {
				o.mu.Unlock()
				c.sfError(http.StatusBadRequest, "DUPLICATE_DEVELOPER_NAME",
					"A named credential named "+nc.DeveloperName+" already exists. Use PUT to update it.", "developerName")
				return
			}
			o.creds.seq++
			nc.ID = o.ident.recordID(namedCredPrefix, o.creds.seq)
			nc.URL = base + "/named-credential-setup/" + nc.DeveloperName
			o.fillRefs(&nc, base)
			stored := nc
			o.creds.named[nc.DeveloperName] = &stored
		}
		o.mu.Unlock()
		switch {
		case miss != nil:
			c.missing(miss)
		case msg != "":
			c.inputError(msg)
		default:
			c.writeJSON(http.StatusCreated, nc)
		}
	default:
		c.methodNotAllowed("GET", "POST")
	}
}

// fillRefs completes the external-credential references; o.mu held.
func (o *org) fillRefs(nc *namedCredential, base string) {
	for i, r := range nc.ExternalCredentials {
		if ec, ok := o.creds.ext[r.DeveloperName]; ok {
			nc.ExternalCredentials[i] = ncRef{DeveloperName: ec.DeveloperName, MasterLabel: ec.MasterLabel, ID: ec.ID, URL: ec.URL}
		}
	}
}

func (c *call) namedItem(base, name string) {
	o := c.o
	switch c.r.Method {
	case http.MethodGet:
		o.mu.Lock()
		nc, ok := o.creds.named[name]
		var view namedCredential
		if ok {
			view = *nc
		}
		o.mu.Unlock()
		if !ok {
			c.notFound()
			return
		}
		c.writeJSON(http.StatusOK, view)
	case http.MethodPut:
		var nc namedCredential
		if !c.readConnectBody(&nc) {
			return
		}
		if nc.DeveloperName == "" {
			nc.DeveloperName = name
		}
		if nc.DeveloperName != name {
			c.inputError("developerName: must match the resource name "+name, "developerName")
			return
		}
		o.mu.Lock()
		old, ok := o.creds.named[name]
		var msg string
		var miss []string
		if ok {
			msg, miss = o.validateNamedCredential(&nc)
			if miss == nil && msg == "" {
				nc.ID, nc.URL = old.ID, old.URL
				o.fillRefs(&nc, base)
				stored := nc
				o.creds.named[name] = &stored
			}
		}
		o.mu.Unlock()
		switch {
		case !ok:
			c.notFound()
		case miss != nil:
			c.missing(miss)
		case msg != "":
			c.inputError(msg)
		default:
			c.writeJSON(http.StatusOK, nc)
		}
	case http.MethodDelete:
		o.mu.Lock()
		_, ok := o.creds.named[name]
		delete(o.creds.named, name)
		o.mu.Unlock()
		if !ok {
			c.notFound()
			return
		}
		c.writeRaw(http.StatusNoContent, "", nil)
	default:
		c.methodNotAllowed("GET", "PUT", "DELETE")
	}
}

func (ci *credentialInput) output(base string) credentialOutput {
	out := credentialOutput{
		AuthenticationProtocol:        ci.AuthenticationProtocol,
		AuthenticationProtocolVariant: ci.AuthenticationProtocolVariant,
		AuthenticationStatus:          "Configured",
		Credentials:                   make(map[string]credentialValue, len(ci.Credentials)),
		ExternalCredential:            ci.ExternalCredential,
		PrincipalName:                 ci.PrincipalName,
		PrincipalType:                 ci.PrincipalType,
		URL:                           base + "/credential",
	}
	for k, v := range ci.Credentials {
		if v.Encrypted {
			v.Value = maskedValue
		}
		out.Credentials[k] = v
	}
	return out
}

func (c *call) credential(base string) {
	o := c.o
	switch c.r.Method {
	case http.MethodGet, http.MethodDelete:
		q := c.r.URL.Query()
		key := credKey{q.Get("externalCredential"), q.Get("principalName"), q.Get("principalType")}
		if m := requireFields("externalCredential", key.ext, "principalName", key.principal, "principalType", key.ptype); m != nil {
			c.missing(m)
			return
		}
		o.mu.Lock()
		ci, ok := o.creds.creds[key]
		var out credentialOutput
		if ok {
			out = ci.output(base)
			if c.r.Method == http.MethodDelete {
				delete(o.creds.creds, key)
			}
		}
		o.mu.Unlock()
		switch {
		case !ok:
			c.notFound()
		case c.r.Method == http.MethodDelete:
			c.writeRaw(http.StatusNoContent, "", nil)
		default:
			c.writeJSON(http.StatusOK, out)
		}
	case http.MethodPost, http.MethodPut:
		var ci credentialInput
		if !c.readConnectBody(&ci) {
			return
		}
		if m := requireFields("externalCredential", ci.ExternalCredential, "principalName", ci.PrincipalName,
			"principalType", ci.PrincipalType, "authenticationProtocol", ci.AuthenticationProtocol); m != nil {
			c.missing(m)
			return
		}
		if len(ci.Credentials) == 0 {
			c.missing([]string{"credentials"})
			return
		}
		key := credKey{ci.ExternalCredential, ci.PrincipalName, ci.PrincipalType}
		o.mu.Lock()
		status, msg := 0, ""
		ec, ok := o.creds.ext[ci.ExternalCredential]
		_, exists := o.creds.creds[key]
		switch {
		case !ok:
			status, msg = http.StatusBadRequest, "externalCredential: no external credential named "+truncate(ci.ExternalCredential, 80)
		case !hasPrincipal(ec, ci.PrincipalName, ci.PrincipalType):
			status, msg = http.StatusBadRequest, "principalName: external credential "+ec.DeveloperName+" has no "+truncate(ci.PrincipalType, 40)+" "+truncate(ci.PrincipalName, 80)
		case ci.AuthenticationProtocol != ec.AuthenticationProtocol:
			status, msg = http.StatusBadRequest, "authenticationProtocol: does not match the external credential ("+ec.AuthenticationProtocol+")"
		case c.r.Method == http.MethodPost && exists:
			status = http.StatusConflict
		case c.r.Method == http.MethodPut && !exists:
			status = http.StatusNotFound
		default:
			stored := ci
			o.creds.creds[key] = &stored
		}
		o.mu.Unlock()
		switch status {
		case 0:
			code := http.StatusCreated
			if c.r.Method == http.MethodPut {
				code = http.StatusOK
			}
			c.writeJSON(code, ci.output(base))
		case http.StatusConflict:
			c.sfError(http.StatusBadRequest, "DUPLICATE_VALUE", "A credential for this principal already exists. Use PUT to update it.")
		case http.StatusNotFound:
			c.notFound()
		default:
			c.inputError(msg)
		}
	default:
		c.methodNotAllowed("GET", "POST", "PUT", "DELETE")
	}
}

func hasPrincipal(ec *externalCredential, name, ptype string) bool {
	for _, p := range ec.Principals {
		if p.PrincipalName == name && p.PrincipalType == ptype {
			return true
		}
	}
	return false
}

// ---- callout emulation ----

// CalloutRequest asks an org to call out through an installed named
// credential, as Apex code in the org would.
type CalloutRequest struct {
	// NamedCredential is the named credential's developer name. Optional
	// when the org has exactly one.
	NamedCredential string `json:"named_credential,omitempty"`
	// Method is the HTTP method. Optional; default GET.
	Method string `json:"method,omitempty"`
	// Path is appended to the named credential's calloutUrl (it may carry a
	// query string).
	Path string `json:"path"`
	// Body is sent as the request body: a JSON string is sent as its text,
	// any other JSON value as JSON. Optional.
	Body json.RawMessage `json:"body,omitempty"`
	// Headers are extra request headers. Optional.
	Headers map[string]string `json:"headers,omitempty"`
}

// CalloutResponse is the upstream's answer.
type CalloutResponse struct {
	Status  int         `json:"status"`
	Headers http.Header `json:"headers"`
	Body    string      `json:"body"`
}

// Callout stages reported by [CalloutError].
const (
	CalloutStageConfig  = "config"  // the named credential setup is missing or incomplete
	CalloutStageToken   = "token"   // the token request failed
	CalloutStageCallout = "callout" // the call itself could not be made
)

// CalloutError is a callout that got no upstream answer. It never holds a
// secret or a token.
type CalloutError struct {
	Stage string
	// TokenStatus and TokenBody are the token endpoint's answer when it
	// refused (Stage "token").
	TokenStatus int
	TokenBody   string
	Err         error
}

// Error describes the failure without secrets.
func (e *CalloutError) Error() string {
	if e.TokenStatus != 0 {
		return fmt.Sprintf("callout %s: token endpoint answered %d: %s", e.Stage, e.TokenStatus, e.TokenBody)
	}
	return fmt.Sprintf("callout %s: %v", e.Stage, e.Err)
}

// Unwrap returns the underlying error, if any.
func (e *CalloutError) Unwrap() error { return e.Err }

// ErrCalloutSetup is wrapped by callout errors of stage "config".
var ErrCalloutSetup = errors.New("named credential setup incomplete")

// calloutPlan is what a callout needs, copied out of the org under its lock.
type calloutPlan struct {
	tokenURL, calloutURL, variant, scope, clientID, clientSecret string
	authHeader                                                   bool
}

func (o *org) planCallout(name string) (calloutPlan, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	setup := func(format string, a ...any) error {
		return &CalloutError{Stage: CalloutStageConfig, Err: fmt.Errorf("%w: "+format, append([]any{ErrCalloutSetup}, a...)...)}
	}
	var nc *namedCredential
	switch {
	case name != "":
		nc = o.creds.named[name]
		if nc == nil {
			return calloutPlan{}, setup("no named credential %q", name)
		}
	case len(o.creds.named) == 1:
		for _, v := range o.creds.named {
			nc = v
		}
	case len(o.creds.named) == 0:
		return calloutPlan{}, setup("no named credential installed")
	default:
		return calloutPlan{}, setup("several named credentials installed; name one")
	}
	ec := o.creds.ext[nc.ExternalCredentials[0].DeveloperName]
	if ec == nil {
		return calloutPlan{}, setup("external credential %q not found", nc.ExternalCredentials[0].DeveloperName)
	}
	p := calloutPlan{calloutURL: nc.CalloutURL, variant: ec.AuthenticationProtocolVariant, authHeader: true}
	if nc.CalloutOptions != nil && nc.CalloutOptions.GenerateAuthorizationHeader != nil {
		p.authHeader = *nc.CalloutOptions.GenerateAuthorizationHeader
	}
	for _, prm := range ec.Parameters {
		switch {
		case prm.ParameterType == "AuthProviderUrl" || prm.ParameterName == "AuthProviderUrl":
			p.tokenURL = prm.ParameterValue
		case prm.ParameterName == "Scope" || prm.ParameterType == "Scope":
			p.scope = prm.ParameterValue
		}
	}
	if ec.AuthenticationProtocol != "OAuth" {
		return calloutPlan{}, setup("external credential %q uses %s; only OAuth client credentials is emulated", ec.DeveloperName, ec.AuthenticationProtocol)
	}
	if p.tokenURL == "" {
		return calloutPlan{}, setup("external credential %q has no AuthProviderUrl parameter", ec.DeveloperName)
	}
	principals := append([]ncPrincipal(nil), ec.Principals...)
	sort.SliceStable(principals, func(i, j int) bool { return seq(principals[i]) < seq(principals[j]) })
	for _, pr := range principals {
		if pr.PrincipalType != "NamedPrincipal" {
			continue
		}
		ci := o.creds.creds[credKey{ec.DeveloperName, pr.PrincipalName, pr.PrincipalType}]
		if ci == nil {
			continue
		}
		p.clientID, p.clientSecret = ci.Credentials["clientId"].Value, ci.Credentials["clientSecret"].Value
		break
	}
	if p.clientID == "" || p.clientSecret == "" {
		return calloutPlan{}, setup("external credential %q has no named principal with clientId and clientSecret", ec.DeveloperName)
	}
	return p, nil
}

func seq(p ncPrincipal) int {
	if p.SequenceNumber == nil {
		return 1 << 30
	}
	return *p.SequenceNumber
}

// Callout performs a callout through an installed named credential: it
// fetches a token from the external credential's AuthProviderUrl with the
// stored clientId/clientSecret (client credentials; HTTP Basic for variant
// ClientCredentialsClientSecretBasic, form fields otherwise), then calls
// calloutUrl + path with "Authorization: Bearer <token>". A fresh token is
// fetched for every callout. Errors: [ErrUnknownOrg], or a [*CalloutError]
// when no upstream answer was obtained.
func (s *Server) Callout(ctx context.Context, orgID string, req CalloutRequest) (CalloutResponse, error) {
	o, err := s.org(orgID)
	if err != nil {
		return CalloutResponse{}, err
	}
	o.stats.add(func(st *orgStats) { st.callouts++ })
	plan, err := o.planCallout(req.NamedCredential)
	if err != nil {
		return CalloutResponse{}, err
	}
	token, err := s.calloutToken(ctx, plan)
	if err != nil {
		s.log.Info("Callout token request failed", zap.String("org", o.id), zap.Error(err))
		return CalloutResponse{}, err
	}
	method := strings.ToUpper(req.Method)
	if method == "" {
		method = http.MethodGet
	}
	target := strings.TrimRight(plan.calloutURL, "/")
	if req.Path != "" {
		target += "/" + strings.TrimLeft(req.Path, "/")
	}
	var body io.Reader
	if len(req.Body) > 0 && string(req.Body) != "null" {
		var str string
		if json.Unmarshal(req.Body, &str) == nil {
			body = strings.NewReader(str)
		} else {
			body = strings.NewReader(string(req.Body))
		}
	}
	hreq, err := http.NewRequestWithContext(ctx, method, target, body)
	if err != nil {
		return CalloutResponse{}, &CalloutError{Stage: CalloutStageCallout, Err: err}
	}
	for k, v := range req.Headers {
		hreq.Header.Set(k, v)
	}
	if body != nil && hreq.Header.Get("Content-Type") == "" {
		hreq.Header.Set("Content-Type", "application/json")
	}
	if plan.authHeader {
		hreq.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := s.cfg.CalloutClient.Do(hreq)
	if err != nil {
		return CalloutResponse{}, &CalloutError{Stage: CalloutStageCallout, Err: redactURLError(err)}
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, DefaultMaxBodyBytes))
	if err != nil {
		return CalloutResponse{}, &CalloutError{Stage: CalloutStageCallout, Err: err}
	}
	return CalloutResponse{Status: resp.StatusCode, Headers: resp.Header, Body: string(b)}, nil
}

func (s *Server) calloutToken(ctx context.Context, p calloutPlan) (string, error) {
	form := url.Values{"grant_type": {"client_credentials"}}
	if p.scope != "" {
		form.Set("scope", p.scope)
	}
	basic := p.variant == "ClientCredentialsClientSecretBasic"
	if !basic {
		form.Set("client_id", p.clientID)
		form.Set("client_secret", p.clientSecret)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, p.tokenURL, strings.NewReader(form.Encode()))
	if err != nil {
		return "", &CalloutError{Stage: CalloutStageToken, Err: err}
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	if basic {
		req.SetBasicAuth(p.clientID, p.clientSecret)
	}
	resp, err := s.cfg.CalloutClient.Do(req)
	if err != nil {
		return "", &CalloutError{Stage: CalloutStageToken, Err: redactURLError(err)}
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	if resp.StatusCode != http.StatusOK {
		return "", &CalloutError{Stage: CalloutStageToken, TokenStatus: resp.StatusCode, TokenBody: truncate(string(b), 2048)}
	}
	var tok struct {
		AccessToken string `json:"access_token"`
		TokenType   string `json:"token_type"`
	}
	if err := json.Unmarshal(b, &tok); err != nil || tok.AccessToken == "" {
		return "", &CalloutError{Stage: CalloutStageToken, Err: errors.New("token response has no access_token")}
	}
	return tok.AccessToken, nil
}

// redactURLError drops the URL's query (which could carry credentials) from
// a transport error.
func redactURLError(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		if u, perr := url.Parse(ue.URL); perr == nil {
			u.RawQuery, u.User = "", nil
			return &url.Error{Op: ue.Op, URL: u.String(), Err: ue.Err}
		}
	}
	return err
}

// namedCredentialSummary is the control API's view of an org's setup.
type namedCredentialSummary struct {
	ExternalCredentials []string                 `json:"external_credentials"`
	NamedCredentials    []string                 `json:"named_credentials"`
	Credentials         []map[string]interface{} `json:"credentials"`
}

func (o *org) namedCredentialSummary() namedCredentialSummary {
	o.mu.Lock()
	defer o.mu.Unlock()
	out := namedCredentialSummary{ExternalCredentials: []string{}, NamedCredentials: []string{}, Credentials: []map[string]interface{}{}}
	for k := range o.creds.ext {
		out.ExternalCredentials = append(out.ExternalCredentials, k)
	}
	for k := range o.creds.named {
		out.NamedCredentials = append(out.NamedCredentials, k)
	}
	sort.Strings(out.ExternalCredentials)
	sort.Strings(out.NamedCredentials)
	keys := make([]credKey, 0, len(o.creds.creds))
	for k := range o.creds.creds {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool { return keys[i].ext+"/"+keys[i].principal < keys[j].ext+"/"+keys[j].principal })
	for _, k := range keys {
		ci := o.creds.creds[k]
		names := make([]string, 0, len(ci.Credentials))
		for n := range ci.Credentials {
			names = append(names, n)
		}
		sort.Strings(names)
		clientID := ci.Credentials["clientId"]
		if clientID.Encrypted {
			clientID.Value = maskedValue
		}
		out.Credentials = append(out.Credentials, map[string]interface{}{
			"external_credential": k.ext, "principal_name": k.principal, "principal_type": k.ptype,
			"client_id": clientID.Value, "credential_names": names,
		})
	}
	return out
}
