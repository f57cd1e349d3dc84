package salesforce_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"

	"github.com/gentrack/gcis-bridge/bridge/salesforce"
)

func ExampleClient_Publish() {
	// A stand-in org: token endpoint and the package's event endpoint.
	org := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		switch r.URL.Path {
		case "/services/oauth2/token":
			fmt.Fprintf(w, `{"access_token":"00DSIM!token","instance_url":"http://%s"}`, r.Host)
		case "/services/apexrest/gtx_bu/v2/event":
			fmt.Fprint(w, `{"results":[{"sourceEventId":"e1","status":"created","id":"a0B5g000001AbCdEAK"}]}`)
		}
	}))
	defer org.Close()

	c, err := salesforce.New(salesforce.Config{
		ConnectorID:       "acme-prod",
		LoginURL:          org.URL, // normally https://<domain>.my.salesforce.com
		ConsumerKey:       "3MVG9acmeKey",
		ConsumerSecret:    "acme-secret",
		AllowInsecureHTTP: true, // only for simulators and tests
	})
	if err != nil {
		panic(err)
	}
	defer c.Close()

	events := []json.RawMessage{json.RawMessage(`{"sourceEventId":"e1","eventType":"Bill"}`)}
	res, err := c.Publish(context.Background(), "01JF7ZK2X6Q3W5V8N9R0T4Y2M1", events, []string{"e1"})
	if err != nil {
		var e *salesforce.Error
		switch salesforce.ClassOf(err) {
		case "": // our own cancellation: not a failure
		case salesforce.ClassAuth, salesforce.ClassLimit, salesforce.ClassConnector:
			errors.As(err, &e)
			fmt.Println("hold the tenant:", e.Hold)
		case salesforce.ClassPermanent:
			fmt.Println("bisect the batch")
		default: // transient, throttled
			fmt.Println("retry later")
		}
		return
	}
	for _, r := range res.Results {
		fmt.Println(r.SourceEventID, r.Status, r.ID)
	}
	// Output: e1 created a0B5g000001AbCdEAK
}
