package sfsim

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"go.uber.org/zap"
)

const maxControlBody = 1 << 20

// orgView is an org as the control API shows it: no secrets.
type orgView struct {
	ID                   string `json:"id"`
	ConsumerKey          string `json:"consumer_key"`
	SecondarySecretSet   bool   `json:"secondary_secret_set"`
	DailyAPIMax          int    `json:"daily_api_max"`
	RunAsUser            bool   `json:"run_as_user"`
	PackageInstalled     bool   `json:"package_installed"`
	SessionTimeout       string `json:"session_timeout"`
	ConcurrentLimit      int    `json:"concurrent_limit"`
	LongRequestThreshold string `json:"long_request_threshold"`
	PackageVersion       string `json:"package_version"`
	OrgID                string `json:"org_id"`
	UserID               string `json:"user_id"`
	Host                 string `json:"host"`
	PathPrefix           string `json:"path_prefix"`
}

func (o *org) view() orgView {
	cfg := o.config()
	return orgView{
		ID: cfg.ID, ConsumerKey: cfg.ConsumerKey, SecondarySecretSet: cfg.SecondarySecret != "",
		DailyAPIMax: cfg.DailyAPIMax, RunAsUser: cfg.RunAsUser == nil || *cfg.RunAsUser,
		PackageInstalled: cfg.PackageInstalled == nil || *cfg.PackageInstalled,
		SessionTimeout:   cfg.SessionTimeout.String(), ConcurrentLimit: cfg.ConcurrentLimit,
		LongRequestThreshold: cfg.LongRequestThreshold.String(), PackageVersion: cfg.PackageVersion,
		OrgID: o.ident.orgID18, UserID: o.ident.userID18,
		Host: hostLabel(cfg.ID) + hostSuffix, PathPrefix: "/orgs/" + cfg.ID,
	}
}

type controlError struct {
	Error string `json:"error"`
	Stage string `json:"stage,omitempty"`
	// Token endpoint's answer, for a callout whose token request failed.
	TokenStatus int    `json:"token_status,omitempty"`
	TokenBody   string `json:"token_body,omitempty"`
}

func ctlJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		status, b = http.StatusInternalServerError, []byte(`{"error":"encoding failed"}`)
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(b)
}

func ctlError(w http.ResponseWriter, status int, msg string) {
	ctlJSON(w, status, controlError{Error: msg})
}

func ctlMethod(w http.ResponseWriter, allowed ...string) {
	w.Header().Set("Allow", strings.Join(allowed, ", "))
	ctlError(w, http.StatusMethodNotAllowed, "method not allowed; allowed: "+strings.Join(allowed, ", "))
}

// ctlStatus maps a Server method error to a control API status.
func ctlStatus(err error) int {
	switch {
	case errors.Is(err, ErrUnknownOrg), errors.Is(err, ErrUnknownFault):
		return http.StatusNotFound
	case errors.Is(err, ErrOrgExists):
		return http.StatusConflict
	case errors.Is(err, ErrInvalidConfig), errors.Is(err, ErrInvalidFault):
		return http.StatusBadRequest
	}
	return http.StatusInternalServerError
}

// readControl decodes a JSON body strictly.
func readControl(w http.ResponseWriter, r *http.Request, v any) bool {
	b, err := io.ReadAll(io.LimitReader(r.Body, maxControlBody+1))
	if err != nil {
		ctlError(w, http.StatusBadRequest, "read body: "+err.Error())
		return false
	}
	if len(b) > maxControlBody {
		ctlError(w, http.StatusRequestEntityTooLarge, "body too large")
		return false
	}
	if err := strictUnmarshal(b, v); err != nil {
		ctlError(w, http.StatusBadRequest, "invalid JSON: "+err.Error())
		return false
	}
	return true
}

// serveControl serves /_sim/... (see docs/sfsim.md).
func (s *Server) serveControl(w http.ResponseWriter, r *http.Request) {
	parts := strings.Split(strings.Trim(strings.TrimPrefix(r.URL.Path, "/_sim"), "/"), "/")
	switch {
	case len(parts) == 1 && parts[0] == "healthz":
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			ctlMethod(w, "GET", "HEAD")
			return
		}
		ctlJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	case len(parts) == 1 && parts[0] == "reset":
		if r.Method != http.MethodPost {
			ctlMethod(w, "POST")
			return
		}
		s.ResetAll()
		s.log.Info("All orgs reset")
		w.WriteHeader(http.StatusNoContent)
	case len(parts) == 1 && parts[0] == "orgs":
		s.ctlOrgs(w, r)
	case len(parts) >= 2 && parts[0] == "orgs":
		s.ctlOrg(w, r, parts[1], parts[2:])
	default:
		ctlError(w, http.StatusNotFound, "no such control resource")
	}
}

func (s *Server) ctlOrgs(w http.ResponseWriter, r *http.Request) {
	switch r.Method {
	case http.MethodGet:
		list := make([]orgView, 0)
		for _, cfg := range s.Orgs() {
			if o, err := s.org(cfg.ID); err == nil {
				list = append(list, o.view())
			}
		}
		ctlJSON(w, http.StatusOK, map[string]any{"orgs": list})
	case http.MethodPost:
		var cfg OrgConfig
		if !readControl(w, r, &cfg) {
			return
		}
		if err := s.AddOrg(cfg); err != nil {
			ctlError(w, ctlStatus(err), err.Error())
			return
		}
		o, _ := s.org(cfg.ID)
		ctlJSON(w, http.StatusCreated, o.view())
	default:
		ctlMethod(w, "GET", "POST")
	}
}

func (s *Server) ctlOrg(w http.ResponseWriter, r *http.Request, id string, rest []string) {
	o, err := s.org(id)
	if err != nil {
		ctlError(w, http.StatusNotFound, err.Error())
		return
	}
	id = o.id
	sub := strings.Join(rest, "/")
	switch {
	case sub == "":
		switch r.Method {
		case http.MethodGet:
			ctlJSON(w, http.StatusOK, o.view())
		case http.MethodPatch:
			var p OrgPatch
			if !readControl(w, r, &p) {
				return
			}
			if err := s.UpdateOrg(id, p); err != nil {
				ctlError(w, ctlStatus(err), err.Error())
				return
			}
			ctlJSON(w, http.StatusOK, o.view())
		case http.MethodDelete:
			if err := s.RemoveOrg(id); err != nil {
				ctlError(w, ctlStatus(err), err.Error())
				return
			}
			w.WriteHeader(http.StatusNoContent)
		default:
			ctlMethod(w, "GET", "PATCH", "DELETE")
		}
	case sub == "faults":
		switch r.Method {
		case http.MethodGet:
			list, _ := s.Faults(id)
			ctlJSON(w, http.StatusOK, map[string]any{"faults": list})
		case http.MethodPost:
			var f Fault
			if !readControl(w, r, &f) {
				return
			}
			added, err := s.AddFault(id, f)
			if err != nil {
				ctlError(w, ctlStatus(err), err.Error())
				return
			}
			ctlJSON(w, http.StatusCreated, added)
		case http.MethodDelete:
			s.ClearFaults(id)
			w.WriteHeader(http.StatusNoContent)
		default:
			ctlMethod(w, "GET", "POST", "DELETE")
		}
	case len(rest) == 2 && rest[0] == "faults":
		if r.Method != http.MethodDelete {
			ctlMethod(w, "DELETE")
			return
		}
		if err := s.RemoveFault(id, rest[1]); err != nil {
			ctlError(w, ctlStatus(err), err.Error())
			return
		}
		w.WriteHeader(http.StatusNoContent)
	case sub == "events":
		if r.Method != http.MethodGet {
			ctlMethod(w, "GET")
			return
		}
		events, dups, _ := s.Events(id)
		ctlJSON(w, http.StatusOK, struct {
			Events     []json.RawMessage `json:"events"`
			Duplicates int               `json:"duplicates"`
		}{events, dups})
	case sub == "records":
		if r.Method != http.MethodGet {
			ctlMethod(w, "GET")
			return
		}
		recs, dups, _ := s.Records(id)
		ctlJSON(w, http.StatusOK, struct {
			Records    []Record `json:"records"`
			Duplicates int      `json:"duplicates"`
		}{recs, dups})
	case sub == "stats":
		if r.Method != http.MethodGet {
			ctlMethod(w, "GET")
			return
		}
		st, _ := s.Stats(id)
		if v := r.URL.Query().Get("log"); v != "" {
			n, err := strconv.Atoi(v)
			if err != nil || n < 0 {
				ctlError(w, http.StatusBadRequest, "log: must be a non-negative number")
				return
			}
			if n < len(st.RequestLog) {
				st.RequestLog = st.RequestLog[len(st.RequestLog)-n:]
			}
		}
		ctlJSON(w, http.StatusOK, st)
	case sub == "usage":
		switch r.Method {
		case http.MethodGet:
			st, _ := s.Stats(id)
			ctlJSON(w, http.StatusOK, st.APIUsage)
		case http.MethodPut:
			var u struct {
				Used int64 `json:"used"`
			}
			if !readControl(w, r, &u) {
				return
			}
			if err := s.SetAPIUsage(id, u.Used); err != nil {
				ctlError(w, ctlStatus(err), err.Error())
				return
			}
			st, _ := s.Stats(id)
			ctlJSON(w, http.StatusOK, st.APIUsage)
		default:
			ctlMethod(w, "GET", "PUT")
		}
	case sub == "expire-sessions":
		if r.Method != http.MethodPost {
			ctlMethod(w, "POST")
			return
		}
		n, _ := s.ExpireSessions(id)
		ctlJSON(w, http.StatusOK, map[string]int{"expired": n})
	case sub == "reset":
		if r.Method != http.MethodPost {
			ctlMethod(w, "POST")
			return
		}
		_ = s.Reset(id)
		w.WriteHeader(http.StatusNoContent)
	case sub == "named-credentials":
		if r.Method != http.MethodGet {
			ctlMethod(w, "GET")
			return
		}
		ctlJSON(w, http.StatusOK, o.namedCredentialSummary())
	case sub == "callout":
		if r.Method != http.MethodPost {
			ctlMethod(w, "POST")
			return
		}
		var req CalloutRequest
		if !readControl(w, r, &req) {
			return
		}
		start := time.Now()
		resp, err := s.Callout(r.Context(), id, req)
		if err != nil {
			var ce *CalloutError
			if errors.As(err, &ce) {
				status := http.StatusBadGateway
				if ce.Stage == CalloutStageConfig {
					status = http.StatusUnprocessableEntity
				}
				ctlJSON(w, status, controlError{Error: err.Error(), Stage: ce.Stage, TokenStatus: ce.TokenStatus, TokenBody: ce.TokenBody})
				return
			}
			ctlError(w, ctlStatus(err), err.Error())
			return
		}
		s.log.Debug("Callout", zap.String("org", id), zap.String("method", req.Method), zap.Int("status", resp.Status),
			zap.Duration("duration", time.Since(start)))
		ctlJSON(w, http.StatusOK, resp)
	default:
		ctlError(w, http.StatusNotFound, "no such control resource")
	}
}
