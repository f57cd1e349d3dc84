package sfsim

import (
	"bytes"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"unicode/utf8"
)

// The managed package the simulator installs.
const (
	packageNamespace = "gtx_bu"
	eventMapping     = "/" + packageNamespace + "/v2/event" // urlMapping '/v2/event/*'
	schemaVersion    = "2.0"
	maxBatchEvents   = 200
	maxTextLength    = 255     // Text(255) fields
	maxValueLength   = 131_072 // Long Text Area attribute values
	maxDrainBytes    = 64 << 20
)

var errBodyTooLarge = errors.New("body too large")

// packageInfo is the answer of GET on the event endpoint.
type packageInfo struct {
	Package        string   `json:"package"`
	Version        string   `json:"version"`
	SchemaVersions []string `json:"schemaVersions"`
}

// itemError is one error of a per-event result (SaveResult style).
type itemError struct {
	StatusCode string   `json:"statusCode"`
	Message    string   `json:"message"`
	Fields     []string `json:"fields"`
}

// itemResult is the per-event result, in request order.
type itemResult struct {
	SourceEventID string      `json:"sourceEventId"`
	Status        string      `json:"status"`
	ID            string      `json:"id,omitempty"`
	Errors        []itemError `json:"errors,omitempty"`
}

type publishResponse struct {
	BatchID string       `json:"batchId"`
	Results []itemResult `json:"results"`
}

func (c *call) apexREST() {
	if !c.beginAPI() {
		return
	}
	sub := strings.TrimPrefix(c.path, "/services/apexrest")
	cfg := c.o.config()
	installed := cfg.PackageInstalled == nil || *cfg.PackageInstalled
	if !installed || (sub != eventMapping && !strings.HasPrefix(sub, eventMapping+"/")) {
		c.sfError(http.StatusNotFound, "NOT_FOUND", "Could not find a match for URL")
		return
	}
	switch c.r.Method {
	case http.MethodGet, http.MethodHead:
		c.writeJSON(http.StatusOK, packageInfo{Package: packageNamespace, Version: cfg.PackageVersion, SchemaVersions: []string{schemaVersion}})
	case http.MethodPost:
		c.publish()
	default:
		c.methodNotAllowed("GET", "HEAD", "POST")
	}
}

func (c *call) publish() {
	if ct := c.r.Header.Get("Content-Type"); ct != "" {
		mt, _, err := mime.ParseMediaType(ct)
		if err != nil || mt != "application/json" {
			c.sfError(http.StatusUnsupportedMediaType, "UNSUPPORTED_MEDIA_TYPE",
				"Content-Type header specified in HTTP request is not supported: "+truncate(ct, 100))
			return
		}
	}
	body, size, err := c.readBody()
	c.rec.BodyBytes = size
	switch {
	case errors.Is(err, errBodyTooLarge):
		c.sfError(http.StatusInternalServerError, "APEX_ERROR",
			"System.LimitException: Apex heap size too large: "+strconv.FormatInt(size, 10))
		return
	case errors.Is(err, errBadEncoding):
		c.sfError(http.StatusBadRequest, "JSON_PARSER_ERROR", "Unable to read the request body: invalid gzip content")
		return
	case errors.Is(err, errUnsupportedEncoding):
		c.sfError(http.StatusUnsupportedMediaType, "UNSUPPORTED_MEDIA_TYPE",
			"Content-Encoding header specified in HTTP request is not supported: "+truncate(c.r.Header.Get("Content-Encoding"), 100))
		return
	case err != nil:
		return // the client went away
	}
	if len(bytes.TrimSpace(body)) == 0 {
		c.sfError(http.StatusBadRequest, "JSON_PARSER_ERROR", "The HTTP entity body is required, but this request has no entity body.")
		return
	}
	req, items, msg := decodePublish(body)
	if msg != "" {
		c.sfError(http.StatusBadRequest, "JSON_PARSER_ERROR", msg)
		return
	}
	c.rec.BatchID, c.rec.Events = req.BatchID, len(items)
	if !c.checkRequest(req, len(items)) {
		return
	}
	if f := c.o.faults.requestFault(c.s, c.now, c.r.Method, items); f != nil {
		c.fire(f)
		status, code, msg := f.Status, f.ErrorCode, f.Message
		if status == 0 {
			status = http.StatusBadRequest
		}
		if code == "" {
			code = "JSON_PARSER_ERROR"
		}
		if msg == "" {
			msg = "Illegal value for primitive: externalContextId at [line:1, column:1]"
		}
		c.sfError(status, code, msg)
		return
	}
	if f := c.o.faults.pick(c.s, c.now, c.ep, c.r.Method, KindApexError, KindLockRow); f != nil {
		c.fire(f)
		msg := f.Message
		if msg == "" {
			if f.Kind == KindLockRow {
				msg = "System.DmlException: Insert failed. First exception on row 0; first error: UNABLE_TO_LOCK_ROW, unable to obtain exclusive access to this record: []\n\n(gtx_bu)"
			} else {
				msg = "System.LimitException: Too many SOQL queries: 101"
			}
		}
		c.sfError(http.StatusInternalServerError, "APEX_ERROR", msg)
		return
	}
	ctf := c.o.faults.pick(c.s, c.now, c.ep, c.r.Method, KindCommitThenFail)
	results := c.process(req.BatchID, items)
	if ctf != nil {
		c.fire(ctf)
		c.failWith(ctf)
		return
	}
	c.writeJSON(http.StatusOK, publishResponse{BatchID: req.BatchID, Results: results})
}

// checkRequest validates the request as a whole.
func (c *call) checkRequest(req *publishRequest, n int) bool {
	var missing []string
	if req.SchemaVersion == "" {
		missing = append(missing, "schemaVersion")
	}
	if req.ConnectorID == "" {
		missing = append(missing, "connectorId")
	}
	if req.BatchID == "" {
		missing = append(missing, "batchId")
	}
	if n == 0 {
		missing = append(missing, "events")
	}
	switch {
	case len(missing) > 0:
		c.sfError(http.StatusBadRequest, "REQUIRED_FIELD_MISSING", "Required fields are missing: ["+strings.Join(missing, ", ")+"]", missing...)
	case req.SchemaVersion != schemaVersion:
		c.sfError(http.StatusBadRequest, "INVALID_FIELD",
			fmt.Sprintf("Unsupported schemaVersion: %s (supported: %s)", truncate(req.SchemaVersion, 40), schemaVersion), "schemaVersion")
	case n > maxBatchEvents:
		c.sfError(http.StatusBadRequest, "EXCEEDED_ID_LIMIT",
			fmt.Sprintf("record limit reached. cannot submit more than %d records into this call", maxBatchEvents), "events")
	default:
		return true
	}
	return false
}

// process validates, deduplicates, applies item rules and stores; it
// returns the results in request order.
func (c *call) process(batchID string, items []eventItem) []itemResult {
	o := c.o
	results := make([]itemResult, len(items))
	firstIndex := make(map[string]int, len(items))
	for i := range items {
		e := &items[i]
		results[i].SourceEventID = e.SourceEventID
		if errs := e.validate(); len(errs) > 0 {
			results[i].Status, results[i].Errors = "error", errs
			continue
		}
		if j, dup := firstIndex[e.SourceEventID]; dup {
			results[i].Status = "error"
			results[i].Errors = []itemError{{StatusCode: "DUPLICATE_VALUE",
				Message: fmt.Sprintf("duplicate value found: sourceEventId duplicates value on record at index %d of this request", j),
				Fields:  []string{"sourceEventId"}}}
			continue
		}
		firstIndex[e.SourceEventID] = i
	}
	var created, dups, rejected int
	storedAt := c.s.cfg.Now() // after any injected latency: when the org has them
	o.storeMu.Lock()
	for i := range items {
		r := &results[i]
		if r.Status == "error" {
			rejected++
			continue
		}
		e := &items[i]
		if id, ok := o.byKey[e.SourceEventID]; ok {
			r.Status, r.ID = "duplicate", id
			o.duplicates++
			dups++
			continue
		}
		if f := o.faults.itemFault(c.s, c.now, c.r.Method, e); f != nil {
			c.fire(f)
			r.Status, r.Errors = "error", []itemError{f.Rule.itemError()}
			rejected++
			continue
		}
		o.nextRecord++
		id := o.ident.recordID(recordKeyPrefix, o.nextRecord)
		o.byKey[e.SourceEventID] = id
		o.events = append(o.events, storedEvent{raw: e.raw, id: id, batchID: batchID, received: storedAt})
		r.Status, r.ID = "created", id
		created++
	}
	o.storeMu.Unlock()
	c.rec.Created, c.rec.Duplicates, c.rec.Rejected = created, dups, rejected
	o.stats.batch(len(items), created, dups, rejected)
	return results
}

var (
	errBadEncoding         = errors.New("bad content encoding")
	errUnsupportedEncoding = errors.New("unsupported content encoding")
)

// readBody reads the request body (gunzipping it if needed) up to
// MaxBodyBytes. Beyond that it drains the rest and returns errBodyTooLarge
// with the total size.
func (c *call) readBody() ([]byte, int64, error) {
	limit := c.s.cfg.MaxBodyBytes
	var rd io.Reader = c.r.Body
	gz := false
	switch enc := strings.ToLower(strings.TrimSpace(c.r.Header.Get("Content-Encoding"))); enc {
	case "", "identity":
	case "gzip":
		zr, err := gzip.NewReader(rd)
		if err != nil {
			return nil, 0, errBadEncoding
		}
		defer zr.Close()
		rd, gz = zr, true
	default:
		return nil, 0, errUnsupportedEncoding
	}
	if !gz && c.r.ContentLength > limit {
		n, _ := io.Copy(io.Discard, io.LimitReader(rd, maxDrainBytes))
		return nil, n, errBodyTooLarge
	}
	var buf bytes.Buffer
	if !gz && c.r.ContentLength > 0 {
		buf.Grow(int(c.r.ContentLength) + bytes.MinRead)
	}
	n, err := buf.ReadFrom(io.LimitReader(rd, limit+1))
	if err != nil {
		if gz {
			return nil, n, errBadEncoding
		}
		return nil, n, err
	}
	if n > limit {
		more, _ := io.Copy(io.Discard, io.LimitReader(rd, maxDrainBytes))
		return nil, n + more, errBodyTooLarge
	}
	return buf.Bytes(), n, nil
}

// ---- per-item validation ----

var occurredAtPattern = regexp.MustCompile(`^\d{4}-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])T([01]\d|2[0-3]):[0-5]\d:[0-5]\d\.\d{3}Z$`)

var sourceSystems = map[string]bool{"Velocity": true, "Junifer": true}

// validate returns the item's errors, required fields first.
func (e *eventItem) validate() []itemError {
	var missing []string
	req := func(name, v string) {
		if v == "" {
			missing = append(missing, name)
		}
	}
	req("sourceEventId", e.SourceEventID)
	req("tenantId", e.TenantID)
	req("sourceSystem", e.SourceSystem)
	req("sourceEventType", e.SourceEventType)
	req("eventType", e.EventType)
	req("externalContextId", e.ExternalContextID)
	req("occurredAt", e.OccurredAt)
	for i, a := range e.EventAttributes {
		if a.Name == "" {
			missing = append(missing, fmt.Sprintf("eventAttributes[%d].name", i))
		}
	}
	var errs []itemError
	if len(missing) > 0 {
		errs = append(errs, itemError{StatusCode: "REQUIRED_FIELD_MISSING",
			Message: "Required fields are missing: [" + strings.Join(missing, ", ") + "]", Fields: missing})
	}
	long := func(name, v string, limit int) {
		if len(v) > limit && utf8.RuneCountInString(v) > limit {
			errs = append(errs, itemError{StatusCode: "STRING_TOO_LONG",
				Message: fmt.Sprintf("%s: data value too large: %s... (max length=%d)", name, truncate(v, 20), limit),
				Fields:  []string{name}})
		}
	}
	long("sourceEventId", e.SourceEventID, maxTextLength)
	long("tenantId", e.TenantID, maxTextLength)
	long("sourceEventType", e.SourceEventType, maxTextLength)
	long("eventType", e.EventType, maxTextLength)
	long("eventSubtype", e.EventSubtype, maxTextLength)
	long("eventContext", e.EventContext, maxTextLength)
	long("externalContextId", e.ExternalContextID, maxTextLength)
	long("externalReference", e.ExternalReference, maxTextLength)
	long("correlationId", e.CorrelationID, maxTextLength)
	for i, a := range e.EventAttributes {
		if len(a.Name) > maxTextLength || len(a.Value) > maxValueLength {
			long(fmt.Sprintf("eventAttributes[%d].name", i), a.Name, maxTextLength)
			long(fmt.Sprintf("eventAttributes[%d].value", i), a.Value, maxValueLength)
		}
	}
	if e.SourceSystem != "" && !sourceSystems[e.SourceSystem] {
		errs = append(errs, itemError{StatusCode: "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST",
			Message: "bad value for restricted picklist field: " + truncate(e.SourceSystem, 40), Fields: []string{"sourceSystem"}})
	}
	if e.OccurredAt != "" && !occurredAtPattern.MatchString(e.OccurredAt) {
		errs = append(errs, itemError{StatusCode: "INVALID_FIELD",
			Message: "occurredAt: invalid date/time " + strconv.Quote(truncate(e.OccurredAt, 40)) + ", expected yyyy-MM-ddTHH:mm:ss.SSSZ (UTC)",
			Fields:  []string{"occurredAt"}})
	}
	return errs
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n])
}
