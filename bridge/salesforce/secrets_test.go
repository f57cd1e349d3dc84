package salesforce_test

import (
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gentrack/gcis-bridge/bridge/salesforce"
)

// TestClient_errors_never_contain_secrets forces every kind of error from
// a hostile org that echoes what it received (the form body with the
// consumer secret, the Authorization header with the token) into its error
// bodies, and checks that neither secret appears in any error text.
func TestClient_errors_never_contain_secrets(t *testing.T) {
	echoToken := func(status int, ctype string) func(w http.ResponseWriter, r *http.Request, n int) {
		return func(w http.ResponseWriter, r *http.Request, _ int) {
			body, _ := io.ReadAll(r.Body)
			w.Header().Set("Content-Type", ctype)
			w.WriteHeader(status)
			switch ctype {
			case "text/html":
				fmt.Fprintf(w, "<html><title>Error %s</title><body>%s</body></html>", r.Header.Get("Authorization"), body)
			default:
				fmt.Fprintf(w, `[{"errorCode":"E_%s","message":"you sent %q with\n%q"}]`,
					strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer "), r.Header.Get("Authorization"), r.Header.Get("Authorization"))
			}
		}
	}
	echoForm := func(status int) func(w http.ResponseWriter, r *http.Request, n int) {
		return func(w http.ResponseWriter, r *http.Request, _ int) {
			_ = r.ParseForm()
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(status)
			fmt.Fprintf(w, `{"error":"bad_%s","error_description":"secret %s (escaped %s) raw form: %s"}`,
				r.PostForm.Get("client_secret"), r.PostForm.Get("client_secret"), url.QueryEscape(r.PostForm.Get("client_secret")), r.PostForm.Encode())
		}
	}
	echoFormHTML := func(status int) func(w http.ResponseWriter, r *http.Request, n int) {
		return func(w http.ResponseWriter, r *http.Request, _ int) {
			_ = r.ParseForm()
			w.Header().Set("Content-Type", "text/html")
			w.WriteHeader(status)
			fmt.Fprintf(w, "<html><title>%s</title></html>", r.PostForm.Encode())
		}
	}
	tests := []struct {
		name  string
		token func(w http.ResponseWriter, r *http.Request, n int)
		api   func(w http.ResponseWriter, r *http.Request, n int)
	}{
		{"token 400 echoing the secret", echoForm(400), nil},
		{"token 503 echoing the secret", echoForm(503), nil},
		{"token HTML echoing the form", echoFormHTML(400), nil},
		{"token 200 error echoing the secret", echoForm(200), nil},
		{"401 echoing the token", nil, echoToken(401, "application/json")},
		{"400 echoing the token", nil, echoToken(400, "application/json")},
		{"500 echoing the token", nil, echoToken(500, "application/json")},
		{"503 HTML echoing the token", nil, echoToken(503, "text/html")},
		{"404 echoing the token", nil, echoToken(404, "application/json")},
		{"200 garbage echoing the token", nil, echoToken(200, "text/html")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := newOrg(t)
			if tt.token != nil {
				o.setToken(tt.token)
			}
			if tt.api != nil {
				o.setAPI(tt.api)
			}
			c := newClient(t, o)
			events, ids := batch(1)

			_, perr := c.Publish(t.Context(), "b", events, ids)
			require.Error(t, perr)
			errs := []error{perr}
			if err := c.Probe(t.Context()); err != nil { // a probe only needs a 2xx
				errs = append(errs, err)
			}
			rep := c.TestConnection(t.Context())

			texts := []string{fmt.Sprintf("%v %+v", perr, perr)}
			for _, err := range errs {
				var e *salesforce.Error
				require.ErrorAs(t, err, &e)
				texts = append(texts, err.Error(), e.Message, e.Code)
			}
			for _, s := range rep.Steps {
				texts = append(texts, s.Reason, s.Code)
			}
			for _, txt := range texts {
				assert.NotContains(t, txt, testSecret)
				assert.NotContains(t, txt, url.QueryEscape(testSecret))
				assert.NotContains(t, txt, tokenMark)
			}
		})
	}
}
