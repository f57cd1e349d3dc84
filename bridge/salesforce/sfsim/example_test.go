package sfsim_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"

	"github.com/gentrack/gcis-bridge/bridge/salesforce/sfsim"
)

// Example serves one org over loopback, logs in with client credentials at
// the /orgs/acme login URL, and publishes one event to the instance URL
// the token response names.
func Example() {
	sim, err := sfsim.New(sfsim.Config{Orgs: []sfsim.OrgConfig{{ID: "acme", ConsumerKey: "3MVG9acmeKey", ConsumerSecret: "acme-secret"}}})
	if err != nil {
		panic(err)
	}
	srv := httptest.NewServer(sim)
	defer srv.Close()
	defer sim.Close()

	resp, _ := http.PostForm(srv.URL+"/orgs/acme/services/oauth2/token", url.Values{
		"grant_type": {"client_credentials"}, "client_id": {"3MVG9acmeKey"}, "client_secret": {"acme-secret"}})
	var tok struct {
		AccessToken string `json:"access_token"`
		InstanceURL string `json:"instance_url"`
	}
	_ = json.NewDecoder(resp.Body).Decode(&tok)
	resp.Body.Close()

	body := `{"schemaVersion":"2.0","connectorId":"acme-prod","batchId":"01JF7ZK2X6Q3W5V8N9R0T4Y2M1","events":[{
	  "sourceEventId":"5e7a1c02","tenantId":"acme-energy","sourceSystem":"Junifer","sourceEventType":"bill-accepted",
	  "eventType":"Bill","eventSubtype":"Accepted","eventContext":"Account","externalContextId":"00000101",
	  "occurredAt":"2025-04-02T05:01:44.000Z","eventAttributes":[{"name":"grossAmount","value":"148.62"}]}]}`
	req, _ := http.NewRequest(http.MethodPost, tok.InstanceURL+"/services/apexrest/gtx_bu/v2/event", strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+tok.AccessToken)
	req.Header.Set("Content-Type", "application/json")
	resp, _ = http.DefaultClient.Do(req)
	out, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	var res struct {
		Results []struct{ SourceEventID, Status string }
	}
	_ = json.Unmarshal(out, &res)
	fmt.Println(resp.StatusCode, resp.Header.Get("Sforce-Limit-Info"), res.Results[0].SourceEventID, res.Results[0].Status)

	events, duplicates, _ := sim.Events("acme")
	fmt.Println(len(events), duplicates)
	// Output:
	// 200 api-usage=1/100000 5e7a1c02 created
	// 1 0
}
