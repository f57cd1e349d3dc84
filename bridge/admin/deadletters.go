package admin

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"reflect"
	"strconv"
	"strings"
	"time"

	"go.uber.org/zap"

	"github.com/gentrack/gcis-bridge/bridge/deadletter"
)

type callerKey struct{}

// WithCaller returns ctx carrying the name of the authenticated API
// caller, recorded in the audit log of dead-letter replays.
func WithCaller(ctx context.Context, name string) context.Context {
	return context.WithValue(ctx, callerKey{}, name)
}

// CallerFrom returns the caller name set by [WithCaller], or "".
func CallerFrom(ctx context.Context) string {
	name, _ := ctx.Value(callerKey{}).(string)
	return name
}

// Limits of the dead-letter routes.
const (
	// DeadLetterPageDefault is the page size of GET /api/v1/dead-letters
	// without limit.
	DeadLetterPageDefault = 100
	// DeadLetterPageMax is the largest page; with include_body it is
	// DeadLetterPageMaxWithBody.
	DeadLetterPageMax = 1000
	// DeadLetterPageMaxWithBody bounds pages that carry bodies (up to
	// max_event_bytes each).
	DeadLetterPageMaxWithBody = 100
	// dryRunListMax bounds the dead letters a dry-run replay lists.
	dryRunListMax = 1000
)

// DeadLetterAPI serves the dead-letter routes of the admin API (contract
// operations.md), the same operations as `gcis-bridge dlq`. Authentication
// is the server's middleware, not this type's.
type DeadLetterAPI struct {
	// Store is the dead-letter store. Required.
	Store *deadletter.Store
	// Logger receives failures of the routes. Optional.
	Logger *zap.Logger
	// Now is the clock relative filters (since=2h) are read against.
	// Optional; default time.Now.
	Now func() time.Time
}

// Routes registers on mux:
//
//	GET  /api/v1/dead-letters          filters as query parameters → {"dead_letters":[…],"next_seq":N}
//	GET  /api/v1/dead-letters/stats    filters → counts by tenant × class × error code
//	GET  /api/v1/dead-letters/{seq}    one dead letter with headers and body
//	POST /api/v1/dead-letters/replay   JSON filters + dry_run, limit, rate → counts
//
// Filter parameters: tenant, source, type, class (repeatable or a comma
// list), error_code, since, until (a duration such as 2h or 3d, or RFC
// 3339), seq (FROM-TO). A bad or unknown parameter is a 400 naming it in
// "fields".
func (a *DeadLetterAPI) Routes(mux *http.ServeMux) {
	mux.HandleFunc("GET /api/v1/dead-letters", a.list)
	mux.HandleFunc("GET /api/v1/dead-letters/stats", a.stats)
	mux.HandleFunc("GET /api/v1/dead-letters/{seq}", a.get)
	mux.HandleFunc("POST /api/v1/dead-letters/replay", a.replay)
}

func (a *DeadLetterAPI) now() time.Time {
	if a.Now != nil {
		return a.Now()
	}
	return time.Now()
}

func (a *DeadLetterAPI) logger() *zap.Logger {
	if a.Logger != nil {
		return a.Logger
	}
	return zap.NewNop()
}

// dlFilterParams are the query parameters that make a filter.
var dlFilterParams = map[string]bool{
	"tenant": true, "source": true, "type": true, "class": true, "error_code": true,
	"since": true, "until": true, "seq": true,
}

// filterFromQuery parses the filter parameters of q; extra names the other
// parameters the route accepts.
func (a *DeadLetterAPI) filterFromQuery(q url.Values, extra ...string) (deadletter.Filter, error) {
	for k := range q {
		if !dlFilterParams[k] && !dlContains(extra, k) {
			return deadletter.Filter{}, &deadletter.FieldError{Field: k, Err: errors.New("unknown parameter")}
		}
	}
	return deadletter.FilterInput{
		Tenant: q.Get("tenant"), Source: q.Get("source"), Type: q.Get("type"), Class: q["class"],
		ErrorCode: q.Get("error_code"), Since: q.Get("since"), Until: q.Get("until"), Seq: q.Get("seq"),
	}.Filter(a.now())
}

func dlContains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// dlListResponse is the body of GET /api/v1/dead-letters.
type dlListResponse struct {
	DeadLetters []deadletter.View `json:"dead_letters"`
	// NextSeq is the sequence of the next matching dead letter after this
	// page (pass it as from_seq for the next page); 0 when there is none.
	NextSeq uint64 `json:"next_seq"`
}

func (a *DeadLetterAPI) list(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	f, err := a.filterFromQuery(q, "limit", "from_seq", "include_body")
	if err != nil {
		a.badRequest(w, err)
		return
	}
	withBody := false
	if v := q.Get("include_body"); v != "" {
		if withBody, err = strconv.ParseBool(v); err != nil {
			a.badRequest(w, &deadletter.FieldError{Field: "include_body", Err: errors.New("must be true or false")})
			return
		}
	}
	maxPage := DeadLetterPageMax
	if withBody {
		maxPage = DeadLetterPageMaxWithBody
	}
	limit := DeadLetterPageDefault
	if v := q.Get("limit"); v != "" {
		if limit, err = strconv.Atoi(v); err != nil || limit < 1 || limit > maxPage {
			a.badRequest(w, &deadletter.FieldError{Field: "limit", Err: fmt.Errorf("must be a number from 1 to %d", maxPage)})
			return
		}
	}
	if v := q.Get("from_seq"); v != "" {
		from, err := strconv.ParseUint(v, 10, 64)
		if err != nil || from == 0 {
			a.badRequest(w, &deadletter.FieldError{Field: "from_seq", Err: errors.New("must be a sequence number from 1")})
			return
		}
		f.SeqFrom = max(f.SeqFrom, from)
		if f.SeqTo != 0 && f.SeqFrom > f.SeqTo {
			writeJSON(w, http.StatusOK, dlListResponse{DeadLetters: []deadletter.View{}})
			return
		}
	}
	f.Limit = limit + 1 // one more tells whether there is a next page
	resp := dlListResponse{DeadLetters: make([]deadletter.View, 0, min(limit, 128))}
	err = a.Store.List(r.Context(), f, func(d *deadletter.DeadLetter) error {
		if len(resp.DeadLetters) == limit {
			resp.NextSeq = d.Sequence
			return deadletter.ErrStopped
		}
		resp.DeadLetters = append(resp.DeadLetters, d.View(withBody))
		return nil
	})
	if err != nil {
		a.internal(w, r, "list dead letters", err)
		return
	}
	writeJSON(w, http.StatusOK, resp)
}

func (a *DeadLetterAPI) stats(w http.ResponseWriter, r *http.Request) {
	f, err := a.filterFromQuery(r.URL.Query())
	if err != nil {
		a.badRequest(w, err)
		return
	}
	st, err := a.Store.Stats(r.Context(), f)
	if err != nil {
		a.internal(w, r, "count dead letters", err)
		return
	}
	if st.Rows == nil {
		st.Rows = []deadletter.StatsRow{}
	}
	writeJSON(w, http.StatusOK, st)
}

func (a *DeadLetterAPI) get(w http.ResponseWriter, r *http.Request) {
	seq, err := strconv.ParseUint(r.PathValue("seq"), 10, 64)
	if err != nil || seq == 0 {
		a.badRequest(w, &deadletter.FieldError{Field: "seq", Err: errors.New("must be a dead-letter sequence number from 1")})
		return
	}
	d, err := a.Store.Get(r.Context(), seq)
	if errors.Is(err, deadletter.ErrNotFound) {
		writeError(w, http.StatusNotFound, "not_found", fmt.Sprintf("no dead letter %d (replayed, purged or expired?)", seq), nil)
		return
	}
	if err != nil {
		a.internal(w, r, "get dead letter", err)
		return
	}
	writeJSON(w, http.StatusOK, d.View(true))
}

// dlReplayRequest is the body of POST /api/v1/dead-letters/replay.
type dlReplayRequest struct {
	deadletter.FilterInput
	// Class overrides FilterInput.Class: a list or one comma-separated
	// string.
	Class  dlClassList `json:"class,omitempty"`
	DryRun bool        `json:"dry_run,omitempty"`
	// Rate is the most dead letters replayed per second; 0 is unlimited.
	Rate float64 `json:"rate,omitempty"`
}

// dlClassList accepts "rejected,exhausted" as well as ["rejected","exhausted"].
type dlClassList []string

func (c *dlClassList) UnmarshalJSON(b []byte) error {
	var one string
	if err := json.Unmarshal(b, &one); err == nil {
		*c = []string{one}
		return nil
	}
	var many []string
	if err := json.Unmarshal(b, &many); err != nil {
		return &deadletter.FieldError{Field: "class", Err: errors.New("must be a string or a list of strings")}
	}
	*c = many
	return nil
}

// dlReplayResponse is the answer of POST /api/v1/dead-letters/replay.
type dlReplayResponse struct {
	deadletter.ReplayResult
	DryRun bool           `json:"dry_run"`
	Errors []dlReplayFail `json:"errors"`
	// DeadLetters lists, for a dry run, what would be replayed (at most
	// 1000; Truncated says when there were more).
	DeadLetters []deadletter.View `json:"dead_letters,omitempty"`
	Truncated   bool              `json:"truncated,omitempty"`
}

type dlReplayFail struct {
	Seq     uint64 `json:"seq,omitempty"`
	Message string `json:"message"`
}

func (a *DeadLetterAPI) replay(w http.ResponseWriter, r *http.Request) {
	var req dlReplayRequest
	raw, err := io.ReadAll(io.LimitReader(r.Body, 64<<10))
	if err != nil {
		a.badRequest(w, err)
		return
	}
	if len(bytes.TrimSpace(raw)) > 0 {
		dec := json.NewDecoder(bytes.NewReader(raw))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&req); err != nil {
			a.badRequest(w, jsonFieldError(err))
			return
		}
	}
	req.FilterInput.Class = req.Class
	f, err := req.FilterInput.Filter(a.now())
	if err != nil {
		a.badRequest(w, err)
		return
	}
	actor := CallerFrom(r.Context())
	if actor == "" {
		actor = "api"
	}
	resp := dlReplayResponse{DryRun: req.DryRun, Errors: []dlReplayFail{}}
	opts := deadletter.ReplayOptions{DryRun: req.DryRun, Rate: req.Rate, Actor: actor}
	if req.DryRun {
		opts.Each = func(d *deadletter.DeadLetter, _ error) {
			if len(resp.DeadLetters) < dryRunListMax {
				resp.DeadLetters = append(resp.DeadLetters, d.View(false))
			} else {
				resp.Truncated = true
			}
		}
	}
	res, err := a.Store.Replay(r.Context(), f, opts)
	var fe *deadletter.FieldError
	if errors.As(err, &fe) {
		a.badRequest(w, err)
		return
	}
	if err != nil {
		a.internal(w, r, "replay dead letters", err)
		return
	}
	resp.ReplayResult = res
	for _, e := range res.Errors {
		fail := dlReplayFail{Message: e.Error()}
		var re *deadletter.ReplayError
		if errors.As(e, &re) {
			fail.Seq, fail.Message = re.Sequence, re.Err.Error()
		}
		resp.Errors = append(resp.Errors, fail)
	}
	writeJSON(w, http.StatusOK, resp)
}

// jsonFieldError names the field of a JSON decoding error when it can.
func jsonFieldError(err error) error {
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) && te.Field != "" {
		field := te.Field[strings.LastIndexByte(te.Field, '.')+1:] // FilterInput.limit → limit
		want := "a " + te.Type.String()
		switch te.Type.Kind() {
		case reflect.Int, reflect.Int64, reflect.Uint64, reflect.Float64:
			want = "a number"
		case reflect.String:
			want = "a string"
		case reflect.Bool:
			want = "true or false"
		}
		return &deadletter.FieldError{Field: field, Err: errors.New("must be " + want)}
	}
	if name, ok := strings.CutPrefix(err.Error(), "json: unknown field "); ok {
		return &deadletter.FieldError{Field: strings.Trim(name, `"`), Err: errors.New("unknown field")}
	}
	var fe *deadletter.FieldError
	if errors.As(err, &fe) {
		return fe
	}
	return fmt.Errorf("request body is not valid JSON: %w", err)
}

func (a *DeadLetterAPI) badRequest(w http.ResponseWriter, err error) {
	var fe *deadletter.FieldError
	if errors.As(err, &fe) {
		writeError(w, http.StatusBadRequest, "invalid_request", err.Error(), map[string]string{fe.Field: fe.Err.Error()})
		return
	}
	writeError(w, http.StatusBadRequest, "invalid_request", err.Error(), nil)
}

func (a *DeadLetterAPI) internal(w http.ResponseWriter, r *http.Request, what string, err error) {
	if r.Context().Err() != nil {
		return // the caller went away
	}
	a.logger().Error("Dead-letter API failed", zap.String("op", what), zap.Error(err))
	writeError(w, http.StatusInternalServerError, "internal", what+": "+err.Error(), nil)
}
