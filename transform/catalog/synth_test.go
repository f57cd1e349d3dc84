package catalog_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
	_ "time/tzdata" // zone rules to check the generator's offsets against

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gentrack/gcis-bridge/transform"
	"github.com/gentrack/gcis-bridge/transform/catalog"
)

// synField is the expected JSON kind of one data field:
// s string, i integer, b boolean, o object, a array, d date YYYY-MM-DD,
// t RFC 3339 date-time with milliseconds and offset, m money "123.45";
// "e:A|B" a string enum. An optional field is marked with a leading "?".
type synSpec map[string]string

// synCatalog is catalog.md's data columns, field for field. Paths use "."
// for nested objects and "[]." for every element of an array.
var synCatalog = map[string]synSpec{
	"velocity/quote-accepted": {
		"quoteId": "s", "accountNumber": "s", "opportunityRef": "s", "offerCode": "s", "acceptedAt": "t",
		"channel": "e:Web|Phone|Agent", "services": "a", "services[].serviceType": "e:Electricity|Gas|Water",
		"services[].servicePointId": "s",
	},
	"velocity/contract-created": {
		"contractId": "s", "quoteId": "s", "accountNumber": "s", "startDate": "d", "termMonths": "i", "productCode": "s",
	},
	"velocity/contract-active": {
		"contractId": "s", "accountNumber": "s", "activatedAt": "t", "services": "a",
		"services[].servicePointId": "s", "services[].meterSerial": "s",
	},
	"velocity/account-created": {
		"accountNumber": "s", "accountClass": "e:Residential|Business", "accountName": "s", "tradingName": "?s",
		"companyNumber": "?s", "postalAddress": "o", "postalAddress.line1": "s", "postalAddress.suburb": "s",
		"postalAddress.city": "s", "postalAddress.state": "s", "postalAddress.postcode": "s",
		"postalAddress.country": "e:AU|NZ", "primaryCustomerNumber": "s",
	},
	"velocity/customer-updated": {
		"customerNumber": "s", "title": "s", "firstName": "s", "lastName": "s", "preferredName": "s", "email": "s",
		"mobile": "s", "dateOfBirth": "d", "accountNumbers": "a",
	},
	"velocity/switch-gain-started": {
		"servicePointId": "s", "market": "e:NEM|NZ|WA", "marketTransactionId": "s", "proposedTransferDate": "d",
		"reasonCode": "e:StandardTransfer|MoveIn|Retrospective", "accountNumber": "s",
	},
	"velocity/switch-gain-objected": {
		"servicePointId": "s", "marketTransactionId": "s", "objectionCode": "s", "objectingParticipant": "s",
		"objectedAt": "t",
	},
	"velocity/switch-gain-finished": {
		"servicePointId": "s", "market": "e:NEM|NZ|WA", "marketTransactionId": "s", "transferDate": "d",
		"losingRetailer": "s", "accountNumber": "s", "location": "o", "location.line1": "s", "location.suburb": "s",
		"location.state": "s", "location.postcode": "s", "location.country": "e:AU|NZ",
	},
	"velocity/switch-loss-started": {
		"servicePointId": "s", "gainingRetailer": "s", "proposedTransferDate": "d", "accountNumber": "s",
	},
	"velocity/service-point-updated": {
		"servicePointId": "s", "market": "e:NEM|NZ|WA", "serviceType": "e:Electricity|Gas|Water",
		"status": "e:Energised|De-energised|Abolished", "networkTariffCode": "s", "distributor": "s", "meters": "a",
		"meters[].serialNumber": "s", "meters[].registers": "a", "meters[].registers[].registerId": "s",
		"meters[].registers[].unit": "s", "meters[].registers[].dials": "i",
	},
	"velocity/bill-ready": {
		"accountNumber": "s", "billId": "s", "billDate": "d", "dueDate": "d", "dueAmount": "m",
		"currency": "e:AUD|NZD|GBP", "balanceDate": "d", "isFirstBill": "b", "periodFrom": "d", "periodTo": "d",
	},
	"junifer/customer-created": {
		"id": "i", "number": "s", "customerType": "e:Residential|Business", "title": "s", "forename": "s", "surname": "s",
		"companyName": "?s", "companyNumber": "?s", "primaryContact": "o", "primaryContact.email": "s",
		"primaryContact.phoneNumber1": "s", "primaryContact.address": "o", "primaryContact.address.address1": "s",
		"primaryContact.address.address2": "?s", "primaryContact.address.address3": "?s",
		"primaryContact.address.address4": "?s", "primaryContact.address.address5": "?s",
		"primaryContact.address.postcode": "s", "primaryContact.address.country": "e:GB", "createdDttm": "t",
	},
	"junifer/account-created": {
		"id": "i", "number": "s", "customerNumber": "s", "accountClass": "s", "billingAddress": "o",
		"billingAddress.address1": "s", "billingAddress.postcode": "s", "billingAddress.country": "e:GB",
		"billDelivery": "e:Email|Mail|Both", "fromDt": "d",
	},
	"junifer/contact-updated": {
		"id": "i", "customerNumber": "s", "title": "s", "forename": "s", "surname": "s", "email": "s",
		"phoneNumber1": "s", "dateOfBirth": "d", "marketingPreferences": "o",
		"marketingPreferences.marketByEmail.consentGiven": "b", "marketingPreferences.marketBySms.consentGiven": "b",
		"marketingPreferences.marketByPost.consentGiven": "b", "methodOfConsent": "s",
	},
	"junifer/agreement-created": {
		"agreementId": "i", "accountNumber": "s", "agreementType": "o", "agreementType.name": "s", "productCode": "s",
		"fromDt": "d", "toDt": "d", "paymentMethod": "e:DD|NonDD", "meterPoints": "a",
		"meterPoints[].type": "e:MPAN|MPRN", "meterPoints[].identifier": "s",
	},
	"junifer/meter-point-registration-requested": {
		"meterPointId": "i", "identifier": "s", "type": "e:MPAN|MPRN", "supplyStartDate": "d", "accountNumber": "s",
		"previousSupplier": "?s",
	},
	"junifer/meter-point-registration-objected": {
		"identifier": "s", "type": "e:MPAN|MPRN", "accountNumber": "s", "objectionReason": "s", "objectedDttm": "t",
		"resubmitAllowedFl": "b",
	},
	"junifer/meter-point-supply-started": {
		"meterPointId": "i", "identifier": "s", "type": "e:MPAN|MPRN", "supplyStatus": "e:Registered",
		"supplyStartDate": "d", "accountNumber": "s", "meters": "a", "meters[].identifier": "s",
		"meters[].meterType": "s", "meters[].registers": "a", "meters[].registers[].identifier": "s",
		"meters[].registers[].digits": "i", "meters[].registers[].unit": "s", "meters[].registers[].measurementType": "s",
	},
	"junifer/meter-point-loss-notified": {
		"identifier": "s", "type": "e:MPAN|MPRN", "lossDt": "d", "gainingSupplier": "?s", "accountNumber": "s",
	},
	"junifer/bill-accepted": {
		"id": "i", "accountId": "i", "accountNumber": "s", "issueDt": "d", "dueDt": "d", "periodFrom": "d",
		"periodTo": "d", "grossAmount": "m", "netAmount": "m", "salesTaxAmount": "m", "currency": "e:GBP",
		"final": "b", "versionNumber": "i", "supersededFl": "b", "firstBillFl": "b", "meterPoints": "a",
		"meterPoints[].type": "e:MPAN|MPRN", "meterPoints[].identifier": "s",
	},
	"junifer/direct-debit-created": {
		"directDebitId": "i", "accountNumber": "s", "paymentMethodType": "e:Direct Debit", "status": "e:Active",
		"accountName": "s", "sortCode": "s", "bankAccountNumber": "s", "regularAmount": "m",
		"frequencyAlignmentDt": "d", "currencyISO": "e:GBP",
	},
	"junifer/ticket-status-changed": {
		"id": "i", "accountNumber": "s", "ticketDefinitionCode": "s", "ticketDefinitionName": "s",
		"status": "e:Open|InProgress|Closed|Cancelled", "createdDttm": "t", "summary": "s", "ticketEntities": "o",
		"ticketEntities.meterPoints": "a",
	},
}

var (
	synDateRe  = regexp.MustCompile(`^\d{4}-\d{2}-\d{2}$`)
	synStampRe = regexp.MustCompile(`^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}(Z|[+-]\d{2}:\d{2})$`)
	synMoneyRe = regexp.MustCompile(`^-?\d+\.\d{2}$`)
	synUUIDRe  = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)
)

// synLookup returns the values at path in v (several when the path goes
// through arrays) and whether every step of the path was present.
func synLookup(v any, path string) ([]any, bool) {
	cur := []any{v}
	for _, part := range strings.Split(path, ".") {
		arr := strings.HasSuffix(part, "[]")
		part = strings.TrimSuffix(part, "[]")
		var next []any
		for _, c := range cur {
			obj, ok := c.(map[string]any)
			if !ok {
				return nil, false
			}
			x, ok := obj[part]
			if !ok {
				return nil, false
			}
			if arr {
				items, ok := x.([]any)
				if !ok {
					return nil, false
				}
				next = append(next, items...)
			} else {
				next = append(next, x)
			}
		}
		cur = next
	}
	return cur, true
}

func synCheckKind(kind string, v any) error {
	if e, ok := strings.CutPrefix(kind, "e:"); ok {
		s, isStr := v.(string)
		if !isStr || !slices.Contains(strings.Split(e, "|"), s) {
			return fmt.Errorf("%v is not one of %s", v, e)
		}
		return nil
	}
	switch kind {
	case "s", "d", "t", "m":
		s, ok := v.(string)
		if !ok || s == "" {
			return fmt.Errorf("%v is not a non-empty string", v)
		}
		re := map[string]*regexp.Regexp{"d": synDateRe, "t": synStampRe, "m": synMoneyRe}[kind]
		if re != nil && !re.MatchString(s) {
			return fmt.Errorf("%q does not match %s", s, re)
		}
	case "i":
		n, ok := v.(json.Number)
		if !ok {
			return fmt.Errorf("%v (%T) is not a number", v, v)
		}
		if _, err := strconv.ParseInt(n.String(), 10, 64); err != nil {
			return fmt.Errorf("%v is not an integer", v)
		}
	case "b":
		if _, ok := v.(bool); !ok {
			return fmt.Errorf("%v is not a boolean", v)
		}
	case "o":
		if _, ok := v.(map[string]any); !ok {
			return fmt.Errorf("%v is not an object", v)
		}
	case "a":
		if _, ok := v.([]any); !ok {
			return fmt.Errorf("%v is not an array", v)
		}
	default:
		return fmt.Errorf("unknown kind %q", kind)
	}
	return nil
}

// synDecoded is one decoded event body.
type synDecoded struct {
	ev   catalog.Event
	env  map[string]any
	data map[string]any
}

func synDecode(t testing.TB, ev catalog.Event) synDecoded {
	t.Helper()
	require.True(t, json.Valid(ev.Body), "body is not JSON: %s", ev.Body)
	var compact bytes.Buffer
	require.NoError(t, json.Compact(&compact, ev.Body))
	require.Equal(t, string(compact.Bytes()), string(ev.Body), "body is not compact JSON")
	dec := json.NewDecoder(bytes.NewReader(ev.Body))
	dec.UseNumber()
	var env map[string]any
	require.NoError(t, dec.Decode(&env))
	data, ok := env["data"].(map[string]any)
	require.True(t, ok, "data is not an object: %s", ev.Body)
	return synDecoded{ev: ev, env: env, data: data}
}

// synCheckData checks d's data against the catalogue and returns the
// optional fields it holds.
func synCheckData(t testing.TB, d synDecoded) []string {
	t.Helper()
	key := d.ev.Source + "/" + d.ev.EventType
	spec, ok := synCatalog[key]
	require.True(t, ok, "no catalogue entry for %s", key)
	var present []string
	top := map[string]bool{}
	for path, kind := range spec {
		top[strings.TrimSuffix(strings.Split(path, ".")[0], "[]")] = true
		optional := strings.HasPrefix(kind, "?")
		kind = strings.TrimPrefix(kind, "?")
		vals, found := synLookup(d.data, path)
		if !found {
			assert.True(t, optional, "%s: required field %s missing in %s", key, path, d.ev.Body)
			continue
		}
		if optional {
			present = append(present, path)
		}
		for _, v := range vals {
			assert.NoError(t, synCheckKind(kind, v), "%s: field %s", key, path)
		}
	}
	for name := range d.data {
		assert.True(t, top[name], "%s: field %s is not in the catalogue", key, name)
	}
	return present
}

var synOffsets = map[string][]string{
	"velocity": {"+10:00", "+11:00", "+12:00", "+13:00"},
	"junifer":  {"Z", "+01:00"},
}

var synNativeRe = regexp.MustCompile(`^(velocity|junifer)::([A-Z][a-z]+)+$`)

// synCheckEnvelope checks the envelope of d against contract README §2.
func synCheckEnvelope(t testing.TB, d synDecoded) {
	t.Helper()
	e := d.env
	ev := d.ev
	assert.Regexp(t, synUUIDRe, e["eventId"])
	assert.Equal(t, ev.MsgID, e["eventId"])
	assert.Equal(t, ev.EventType, e["eventType"])
	assert.Equal(t, ev.Source, e["source"])
	assert.Equal(t, ev.Tenant, e["tenantId"])
	assert.Equal(t, "gcis.events."+ev.Tenant+"."+ev.Source+"."+ev.EventType, ev.Subject)
	assert.Equal(t, "1.0.0", e["schemaVersion"])
	assert.Equal(t, map[string]string{"velocity": "4.14.2", "junifer": "6.2.1"}[ev.Source], e["sourceVersion"])
	native, _ := e["nativeEventType"].(string)
	assert.Regexp(t, synNativeRe, native)
	assert.Equal(t, strings.ReplaceAll(ev.EventType, "-", ""), strings.ToLower(strings.TrimPrefix(native, ev.Source+"::")))
	assert.Contains(t, []any{"development", "test", "production"}, e["environment"])
	occ, _ := e["occurredAt"].(string)
	require.Regexp(t, synStampRe, occ)
	assert.True(t, slices.ContainsFunc(synOffsets[ev.Source], func(o string) bool { return strings.HasSuffix(occ, o) }),
		"%s occurredAt %s has an unexpected offset", ev.Source, occ)
	pub, _ := e["publishedAt"].(string)
	require.Regexp(t, synStampRe, pub)
	to, err := time.Parse(time.RFC3339, occ)
	require.NoError(t, err)
	tp, err := time.Parse(time.RFC3339, pub)
	require.NoError(t, err)
	assert.False(t, tp.Before(to), "publishedAt %s before occurredAt %s", pub, occ)
	corr, _ := e["correlationId"].(string)
	assert.NotEmpty(t, corr)
	assert.LessOrEqual(t, len(corr), 128)
	subj, ok := e["subject"].(map[string]any)
	require.True(t, ok)
	assert.NotEmpty(t, subj["entityType"])
	assert.NotEmpty(t, subj["entityId"])
}

func TestEventTypes(t *testing.T) {
	for _, source := range []string{"velocity", "junifer"} {
		got := catalog.EventTypes(source)
		assert.Len(t, got, 11, source)
		for _, typ := range got {
			assert.Contains(t, synCatalog, source+"/"+typ)
		}
		got[0] = "changed"
		assert.NotEqual(t, "changed", catalog.EventTypes(source)[0], "EventTypes returns a copy")
	}
	assert.Nil(t, catalog.EventTypes("gentrack"))
}

func TestExample_every_catalogue_type(t *testing.T) {
	for key := range synCatalog {
		source, typ, _ := strings.Cut(key, "/")
		t.Run(key, func(t *testing.T) {
			ev, err := catalog.Example(source, typ)
			require.NoError(t, err)
			assert.Equal(t, "acme-energy", ev.Tenant)
			d := synDecode(t, ev)
			synCheckEnvelope(t, d)
			synCheckData(t, d)
			synCheckIdentifiers(t, d)
			again, err := catalog.Example(source, typ)
			require.NoError(t, err)
			assert.Equal(t, string(ev.Body), string(again.Body), "examples are fixed")
		})
	}
}

// The examples carry the values of catalog.md and gentrack.md §10.
func TestExample_values(t *testing.T) {
	tests := []struct {
		source, typ string
		path        string
		want        any
	}{
		{"junifer", "bill-accepted", "grossAmount", "148.62"},
		{"junifer", "bill-accepted", "netAmount", "141.54"},
		{"junifer", "bill-accepted", "salesTaxAmount", "7.08"},
		{"junifer", "bill-accepted", "id", json.Number("11803")},
		{"junifer", "bill-accepted", "accountNumber", "00000101"},
		{"junifer", "bill-accepted", "firstBillFl", true},
		{"junifer", "account-created", "number", "00000101"},
		{"junifer", "meter-point-supply-started", "identifier", "1012345678903"},
		{"junifer", "meter-point-supply-started", "meters[].identifier", "E19UK01234"},
		{"junifer", "direct-debit-created", "sortCode", "**-**-56"},
		{"junifer", "direct-debit-created", "bankAccountNumber", "****4321"},
		{"junifer", "agreement-created", "productCode", "E1R-FIX-12M-DD"},
		{"velocity", "switch-gain-finished", "servicePointId", "41023456781"},
		{"velocity", "switch-gain-finished", "marketTransactionId", "CATS-000918273645"},
		{"velocity", "bill-ready", "dueAmount", "214.37"},
		{"velocity", "quote-accepted", "quoteId", "Q-2025-004417"},
		{"velocity", "contract-created", "termMonths", json.Number("12")},
	}
	for _, tt := range tests {
		t.Run(tt.source+"/"+tt.typ+"/"+tt.path, func(t *testing.T) {
			ev, err := catalog.Example(tt.source, tt.typ)
			require.NoError(t, err)
			vals, ok := synLookup(synDecode(t, ev).data, tt.path)
			require.True(t, ok)
			assert.Equal(t, tt.want, vals[0])
		})
	}
	ev, err := catalog.Example("velocity", "switch-gain-finished")
	require.NoError(t, err)
	assert.Equal(t, "2025-03-04T09:15:22.481+11:00", synDecode(t, ev).env["occurredAt"])
}

func TestExample_unknown(t *testing.T) {
	tests := []struct{ source, typ string }{
		{"velocity", "bill-accepted"},
		{"junifer", "bill-ready"},
		{"gentrack", "bill-ready"},
		{"velocity", ""},
	}
	for _, tt := range tests {
		t.Run(tt.source+"/"+tt.typ, func(t *testing.T) {
			_, err := catalog.Example(tt.source, tt.typ)
			require.ErrorIs(t, err, catalog.ErrUnknownCatalogType)
		})
	}
}

func TestGeneratorConfig_Validate(t *testing.T) {
	tests := []struct {
		name    string
		cfg     catalog.GeneratorConfig
		wantErr []string
	}{
		{"zero value means defaults", catalog.GeneratorConfig{}, nil},
		{"full", catalog.GeneratorConfig{
			Seed: 7, Tenants: []string{"a", "7c1d9a52-3b64-4f0e-9d7a-51c8a0f4e2b9"}, Sources: []string{"junifer"},
			AccountsPerTenant: 3, Types: []string{"bill-accepted"}, Environment: "production",
		}, nil},
		{"bad tenant", catalog.GeneratorConfig{Tenants: []string{"acme.energy"}}, []string{"tenants[0]"}},
		{"long tenant", catalog.GeneratorConfig{Tenants: []string{strings.Repeat("a", 65)}}, []string{"tenants[0]"}},
		{"duplicate tenant", catalog.GeneratorConfig{Tenants: []string{"a", "a"}}, []string{"tenants[1]: duplicate"}},
		{"bad source", catalog.GeneratorConfig{Sources: []string{"velocity", "gentrack"}}, []string{"sources[1]"}},
		{"duplicate source", catalog.GeneratorConfig{Sources: []string{"junifer", "junifer"}}, []string{"sources[1]: duplicate"}},
		{"negative accounts", catalog.GeneratorConfig{AccountsPerTenant: -1}, []string{"accounts_per_tenant"}},
		{"too many accounts", catalog.GeneratorConfig{AccountsPerTenant: 100001}, []string{"accounts_per_tenant"}},
		{"unknown type", catalog.GeneratorConfig{Types: []string{"bill-paid"}}, []string{"types[0]"}},
		{"not kebab", catalog.GeneratorConfig{Types: []string{"BillReady"}}, []string{"types[0]"}},
		{"type of another source", catalog.GeneratorConfig{Sources: []string{"velocity"}, Types: []string{"bill-accepted"}}, []string{"types[0]"}},
		{"bad environment", catalog.GeneratorConfig{Environment: "staging"}, []string{"environment"}},
		{"all problems at once", catalog.GeneratorConfig{
			Tenants: []string{""}, Sources: []string{"x"}, AccountsPerTenant: -5, Environment: "prod",
		}, []string{"tenants[0]", "sources[0]", "accounts_per_tenant", "environment"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.cfg.Validate()
			_, genErr := catalog.NewGenerator(tt.cfg)
			if tt.wantErr == nil {
				require.NoError(t, err)
				require.NoError(t, genErr)
				return
			}
			require.Error(t, err)
			for _, w := range tt.wantErr {
				assert.Contains(t, err.Error(), w)
			}
			require.Error(t, genErr)
			assert.Contains(t, genErr.Error(), "invalid config")
		})
	}
}

// synStream generates n events and decodes them.
func synStream(t testing.TB, cfg catalog.GeneratorConfig, n int) []synDecoded {
	t.Helper()
	g, err := catalog.NewGenerator(cfg)
	require.NoError(t, err)
	out := make([]synDecoded, n)
	for i := range out {
		out[i] = synDecode(t, g.Next())
	}
	return out
}

func synString(d synDecoded, path string) string {
	vals, ok := synLookup(d.data, path)
	if !ok || len(vals) == 0 {
		return ""
	}
	s, _ := vals[0].(string)
	return s
}

// synABNValid is the ATO rule, written independently of the package.
func synABNValid(s string) bool {
	if len(s) != 11 {
		return false
	}
	w := []int{10, 1, 3, 5, 7, 9, 11, 13, 15, 17, 19}
	sum := 0
	for i, c := range s {
		d := int(c - '0')
		if d < 0 || d > 9 {
			return false
		}
		if i == 0 {
			d--
		}
		sum += d * w[i]
	}
	return sum%89 == 0
}

// synGS1Valid checks a GS1 check digit (the NZBN is a GLN).
func synGS1Valid(s string) bool {
	sum := 0
	for i := range len(s) - 1 {
		w := 1
		if (len(s)-1-i)%2 == 1 {
			w = 3
		}
		sum += int(s[i]-'0') * w
	}
	return int(s[len(s)-1]-'0') == (10-sum%10)%10
}

// synCheckIdentifiers checks every meter point and company number in d.
func synCheckIdentifiers(t testing.TB, d synDecoded) {
	t.Helper()
	check := func(kind, id string) {
		switch kind {
		case "MPAN":
			assert.True(t, catalog.ValidMPANCore(id), "MPAN core %s", id)
		case "MPRN":
			assert.True(t, catalog.ValidMPRN(id), "MPRN %s", id)
		case "NEM":
			assert.True(t, catalog.ValidNMI(id), "NMI %s", id)
		case "NZ":
			assert.True(t, catalog.ValidICP(id), "ICP %s", id)
		default:
			t.Errorf("unknown identifier kind %q for %s", kind, id)
		}
	}
	if d.ev.Source == "junifer" {
		if id := synString(d, "identifier"); id != "" {
			check(synString(d, "type"), id)
		}
		if vals, ok := synLookup(d.data, "meterPoints"); ok {
			for _, mp := range vals[0].([]any) {
				m := mp.(map[string]any)
				check(m["type"].(string), m["identifier"].(string))
			}
		}
		if vals, ok := synLookup(d.data, "ticketEntities.meterPoints"); ok {
			for _, id := range vals[0].([]any) {
				s := id.(string)
				if len(s) == 13 {
					check("MPAN", s)
				} else {
					check("MPRN", s)
				}
			}
		}
		if d.ev.EventType == "direct-debit-created" {
			assert.Regexp(t, `^\*\*-\*\*-\d{2}$`, d.data["sortCode"])
			assert.Regexp(t, `^\*{4}\d{4}$`, d.data["bankAccountNumber"])
		}
		if n := synString(d, "companyNumber"); n != "" {
			assert.Regexp(t, `^\d{8}$`, n)
		}
		return
	}
	spids := []string{}
	for _, p := range []string{"servicePointId", "services[].servicePointId"} {
		if vals, ok := synLookup(d.data, p); ok {
			for _, v := range vals {
				spids = append(spids, v.(string))
			}
		}
	}
	for _, id := range spids {
		if len(id) == 11 {
			check("NEM", id)
		} else {
			check("NZ", id)
		}
	}
	if m := synString(d, "market"); m != "" && len(spids) > 0 {
		assert.Equal(t, map[bool]string{true: "NEM", false: "NZ"}[len(spids[0]) == 11], m)
	}
	if n := synString(d, "companyNumber"); n != "" {
		if synString(d, "postalAddress.country") == "AU" {
			assert.True(t, synABNValid(n), "ABN %s", n)
		} else {
			assert.Len(t, n, 13)
			assert.True(t, synGS1Valid(n), "NZBN %s", n)
		}
	}
}

func synCents(t testing.TB, s string) int64 {
	t.Helper()
	whole, frac, ok := strings.Cut(s, ".")
	require.True(t, ok, s)
	w, err := strconv.ParseInt(whole, 10, 64)
	require.NoError(t, err)
	f, err := strconv.ParseInt(frac, 10, 64)
	require.NoError(t, err)
	return w*100 + f
}

// The main stream test: 10,000 events over three tenants, every type with
// its catalogue fields, valid identifiers, unique ids, plausible order.
func TestGenerator_stream(t *testing.T) {
	const n = 10000
	tenants := []string{"acme-energy", "7c1d9a52-3b64-4f0e-9d7a-51c8a0f4e2b9", "kiwi_power"}
	events := synStream(t, catalog.GeneratorConfig{Seed: 42, Tenants: tenants, AccountsPerTenant: 12}, n)

	ids := map[string]string{} // eventId -> correlationId
	byType := map[string]int{}
	byTenant := map[string]int{}
	optional := map[string]bool{}
	caused := 0
	var prev time.Time
	for i, d := range events {
		key := d.ev.Source + "/" + d.ev.EventType
		byType[key]++
		byTenant[d.ev.Tenant]++
		if _, dup := ids[d.ev.MsgID]; dup {
			require.Fail(t, "eventId repeated", "%s at %d", d.ev.MsgID, i)
		}
		corr, _ := d.env["correlationId"].(string)
		if c, ok := d.env["causationId"].(string); ok {
			// causationId names an earlier event of the same flow.
			if prevCorr, seen := ids[c]; !seen || prevCorr != corr {
				t.Errorf("event %d: causationId %s is not an earlier event of flow %s", i, c, corr)
			}
			caused++
		}
		ids[d.ev.MsgID] = corr
		if bytes.Contains(d.ev.Body, []byte(`\u00`)) {
			t.Errorf("event %d is not plain UTF-8: %s", i, d.ev.Body)
		}
		occ, err := time.Parse(time.RFC3339, d.env["occurredAt"].(string))
		require.NoError(t, err)
		if occ.Before(prev) {
			t.Errorf("event %d occurredAt %s goes back in time", i, occ)
		}
		prev = occ
		// The detailed checks are costly under -race: run them on the
		// first 2,000 events and the first 30 of every type.
		if i >= 2000 && byType[key] > 30 {
			continue
		}
		synCheckEnvelope(t, d)
		for _, p := range synCheckData(t, d) {
			optional[key+" "+p] = true
		}
		synCheckIdentifiers(t, d)
		if d.ev.EventType == "bill-accepted" {
			assert.Equal(t,
				synCents(t, synString(d, "netAmount"))+synCents(t, synString(d, "salesTaxAmount")),
				synCents(t, synString(d, "grossAmount")), "gross = net + tax: %s", d.ev.Body)
		}
	}
	for key := range synCatalog {
		assert.Positive(t, byType[key], "no %s in %d events", key, n)
	}
	for _, tenant := range tenants {
		assert.Positive(t, byTenant[tenant], tenant)
	}
	assert.Positive(t, caused, "some events name their cause")
	// Every optional field shows up somewhere in a stream this long.
	for key, spec := range synCatalog {
		for path, kind := range spec {
			if strings.HasPrefix(kind, "?") {
				assert.True(t, optional[key+" "+path], "optional %s of %s never present", path, key)
			}
		}
	}
	synCheckAccountOrder(t, events)
}

// synCheckAccountOrder checks each account's life: account before
// agreement/contract, registrations and switches, bills; first bill first;
// bill periods contiguous; registrations before supply start.
func synCheckAccountOrder(t *testing.T, events []synDecoded) {
	type life struct {
		created  int // index of account-created, -1 until seen
		firstIdx int
		bills    []synDecoded
	}
	lives := map[string]*life{}
	customers := map[string]bool{}
	requested := map[string]bool{}
	for i, d := range events {
		prefix := d.ev.Tenant + "/" + d.ev.Source + "/"
		acct := synString(d, "accountNumber")
		if d.ev.EventType == "account-created" {
			if d.ev.Source == "junifer" {
				acct = synString(d, "number")
				assert.True(t, customers[prefix+synString(d, "customerNumber")], "customer-created before account-created")
			}
			require.NotContains(t, lives, prefix+acct, "account %s created twice", acct)
			lives[prefix+acct] = &life{created: i, firstIdx: -1}
			continue
		}
		if d.ev.EventType == "customer-created" {
			customers[prefix+synString(d, "number")] = true
			continue
		}
		if acct == "" || d.ev.EventType == "quote-accepted" {
			continue // customer/contact events and the quote that precedes the account
		}
		l, ok := lives[prefix+acct]
		if !assert.True(t, ok, "%s for account %s before account-created", d.ev.EventType, acct) {
			continue
		}
		switch d.ev.EventType {
		case "meter-point-registration-requested":
			requested[prefix+synString(d, "identifier")] = true
		case "meter-point-supply-started":
			assert.True(t, requested[prefix+synString(d, "identifier")], "supply started before registration requested")
		case "bill-ready", "bill-accepted":
			first := d.data["isFirstBill"] == true || d.data["firstBillFl"] == true
			if first {
				assert.Equal(t, -1, l.firstIdx, "two first bills for %s", acct)
				l.firstIdx = i
			} else {
				assert.NotEqual(t, -1, l.firstIdx, "bill before the first bill for %s", acct)
			}
			if d.data["versionNumber"] == nil || d.data["versionNumber"] == json.Number("1") {
				l.bills = append(l.bills, d)
			}
		}
	}
	checked := 0
	for acct, l := range lives {
		for j := 1; j < len(l.bills); j++ {
			prevTo, err := time.Parse(time.DateOnly, synString(l.bills[j-1], "periodTo"))
			require.NoError(t, err)
			from, err := time.Parse(time.DateOnly, synString(l.bills[j], "periodFrom"))
			require.NoError(t, err)
			assert.Equal(t, prevTo.AddDate(0, 0, 1), from, "bill periods of %s are not contiguous", acct)
			checked++
		}
	}
	assert.Positive(t, checked)
}

// occurredAt carries the real UTC offset of the account's zone at that
// instant (checked against the time zone database).
func TestGenerator_offsets_follow_time_zones(t *testing.T) {
	zones := map[string]string{
		"NSW": "Australia/Sydney", "VIC": "Australia/Melbourne", "ACT": "Australia/Canberra",
		"TAS": "Australia/Hobart", "QLD": "Australia/Brisbane",
	}
	events := synStream(t, catalog.GeneratorConfig{
		Seed: 9, AccountsPerTenant: 30, Types: []string{"switch-gain-finished", "bill-accepted"},
	}, 3000)
	seen := map[string]bool{}
	for _, d := range events {
		name := "Europe/London"
		if d.ev.Source == "velocity" {
			if d.ev.EventType != "switch-gain-finished" {
				continue
			}
			name = "Pacific/Auckland"
			if synString(d, "location.country") == "AU" {
				name = zones[synString(d, "location.state")]
			}
		}
		loc, err := time.LoadLocation(name)
		require.NoError(t, err)
		occ, err := time.Parse(time.RFC3339, d.env["occurredAt"].(string))
		require.NoError(t, err)
		_, want := occ.In(loc).Zone()
		_, got := occ.Zone()
		assert.Equal(t, want, got, "%s at %s", name, occ.UTC())
		seen[name+strconv.Itoa(got)] = true
	}
	for _, k := range []string{"Europe/London0", "Europe/London3600", "Australia/Sydney36000", "Australia/Sydney39600", "Pacific/Auckland43200", "Pacific/Auckland46800"} {
		assert.True(t, seen[k], "no event in %s", k)
	}
}

func TestGenerator_reproducible(t *testing.T) {
	cfg := catalog.GeneratorConfig{Seed: 1234, Tenants: []string{"t1", "t2"}, AccountsPerTenant: 5}
	a, err := catalog.NewGenerator(cfg)
	require.NoError(t, err)
	b, err := catalog.NewGenerator(cfg)
	require.NoError(t, err)
	other, err := catalog.NewGenerator(catalog.GeneratorConfig{Seed: 1235, Tenants: []string{"t1", "t2"}, AccountsPerTenant: 5})
	require.NoError(t, err)
	differ := 0
	for i := range 3000 {
		ea, eb, eo := a.Next(), b.Next(), other.Next()
		require.Equal(t, ea, eb, "event %d differs between equal seeds", i)
		if !bytes.Equal(ea.Body, eo.Body) {
			differ++
		}
	}
	assert.Equal(t, 3000, differ, "another seed gives other events")
}

// Changing the configuration slice after NewGenerator changes nothing.
func TestGenerator_copies_config(t *testing.T) {
	tenants := []string{"t1"}
	g, err := catalog.NewGenerator(catalog.GeneratorConfig{Tenants: tenants, AccountsPerTenant: 2})
	require.NoError(t, err)
	tenants[0] = "t2"
	for range 50 {
		assert.Equal(t, "t1", g.Next().Tenant)
	}
}

func TestGenerator_defaults(t *testing.T) {
	events := synStream(t, catalog.GeneratorConfig{}, 400)
	sources := map[string]bool{}
	for _, d := range events {
		assert.Equal(t, "acme-energy", d.ev.Tenant)
		assert.Equal(t, "test", d.env["environment"])
		sources[d.ev.Source] = true
	}
	assert.Len(t, sources, 2)
	occ, err := time.Parse(time.RFC3339, events[0].env["occurredAt"].(string))
	require.NoError(t, err)
	base := time.Date(2025, time.April, 1, 0, 0, 0, 0, time.UTC)
	assert.False(t, occ.Before(base.Add(-14*time.Hour)), "first event %s starts at the default base time", occ)
	assert.True(t, occ.Before(base.AddDate(0, 0, 8)), "first event %s starts in the week after the base time", occ)
}

func TestGenerator_restrictions(t *testing.T) {
	tests := []struct {
		name    string
		cfg     catalog.GeneratorConfig
		n       int
		want    []string // source/type that must all appear
		allowed []string
	}{
		{
			name:    "rare types only",
			cfg:     catalog.GeneratorConfig{Seed: 3, AccountsPerTenant: 10, Types: []string{"switch-gain-objected", "meter-point-registration-objected"}},
			n:       60,
			want:    []string{"velocity/switch-gain-objected", "junifer/meter-point-registration-objected"},
			allowed: []string{"velocity/switch-gain-objected", "junifer/meter-point-registration-objected"},
		},
		{
			name:    "junifer only",
			cfg:     catalog.GeneratorConfig{Seed: 4, Sources: []string{"junifer"}, AccountsPerTenant: 5},
			n:       500,
			want:    []string{"junifer/customer-created", "junifer/bill-accepted"},
			allowed: synKeys("junifer"),
		},
		{
			name:    "type of one source drops the other source",
			cfg:     catalog.GeneratorConfig{Seed: 5, AccountsPerTenant: 5, Types: []string{"bill-ready"}},
			n:       200,
			want:    []string{"velocity/bill-ready"},
			allowed: []string{"velocity/bill-ready"},
		},
		{
			name:    "shared type name in both sources",
			cfg:     catalog.GeneratorConfig{Seed: 6, AccountsPerTenant: 5, Types: []string{"account-created"}},
			n:       200,
			want:    []string{"velocity/account-created", "junifer/account-created"},
			allowed: []string{"velocity/account-created", "junifer/account-created"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			seen := map[string]bool{}
			for _, d := range synStream(t, tt.cfg, tt.n) {
				key := d.ev.Source + "/" + d.ev.EventType
				assert.Contains(t, tt.allowed, key)
				seen[key] = true
				synCheckData(t, d)
			}
			for _, w := range tt.want {
				assert.True(t, seen[w], "no %s in %d events", w, tt.n)
			}
		})
	}
}

func synKeys(source string) []string {
	var out []string
	for _, typ := range catalog.EventTypes(source) {
		out = append(out, source+"/"+typ)
	}
	return out
}

// Accounts of several tenants are interleaved from the start, not one
// tenant after another.
func TestGenerator_interleaves_tenants(t *testing.T) {
	tenants := []string{"t1", "t2", "t3", "t4"}
	g, err := catalog.NewGenerator(catalog.GeneratorConfig{Seed: 8, Tenants: tenants, AccountsPerTenant: 10})
	require.NoError(t, err)
	seen := map[string]bool{}
	for range 100 {
		seen[g.Next().Tenant] = true
	}
	assert.Len(t, seen, len(tenants))
}

// An account's onboarding events share one correlation id.
func TestGenerator_onboarding_correlation(t *testing.T) {
	for _, d := range synStream(t, catalog.GeneratorConfig{Seed: 10, AccountsPerTenant: 5, Types: []string{"account-created"}}, 100) {
		number := synString(d, "accountNumber")
		if d.ev.Source == "junifer" {
			number = synString(d, "number")
		}
		assert.Equal(t, "c-"+number+"-onboarding", d.env["correlationId"])
	}
}

// Generated events and examples pass the bridge's own envelope rules and
// map with the default mappings (externalContextId selects a value).
func TestGenerator_events_decode_and_map(t *testing.T) {
	g, err := catalog.NewGenerator(catalog.GeneratorConfig{Seed: 12, Tenants: []string{"t1", "t2"}, AccountsPerTenant: 8})
	require.NoError(t, err)
	var events []catalog.Event
	for range 3000 {
		events = append(events, g.Next())
	}
	for _, source := range []string{"velocity", "junifer"} {
		for _, typ := range catalog.EventTypes(source) {
			ev, err := catalog.Example(source, typ)
			require.NoError(t, err)
			events = append(events, ev)
		}
	}
	mappings := catalog.DefaultMappings()
	for _, ev := range events {
		subj, err := transform.ParseSubject(transform.DefaultSubjectPrefix, ev.Subject)
		require.NoError(t, err, ev.Subject)
		env, err := transform.Decode(subj, ev.Body, transform.DecodeOptions{})
		require.NoError(t, err, "%s", ev.Body)
		mapped, err := mappings.Map(env)
		require.NoError(t, err, "%s", ev.Body)
		assert.NotEmpty(t, mapped.Event.ExternalContextID, "%s", ev.Body)
		assert.NotEmpty(t, mapped.OrderingKey)
	}
}

func BenchmarkGeneratorNext(b *testing.B) {
	g, err := catalog.NewGenerator(catalog.GeneratorConfig{Seed: 1, Tenants: []string{"t1", "t2", "t3"}})
	if err != nil {
		b.Fatal(err)
	}
	var size int
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		size += len(g.Next().Body)
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N), "ns/event")
	b.ReportMetric(float64(size)/float64(b.N), "bytes/event")
}
