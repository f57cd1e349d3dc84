package catalog

import (
	"bytes"
	"os"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gentrack/gcis-bridge/transform"
)

// catalogue is catalog.md's mapping table, transcribed by hand: target,
// externalContextId, externalReference and attributes ("name" is short for
// name ← $.name), plus whether the type's data has an accountNumber.
var catalogue = []struct {
	source, eventType string
	target            transform.Target
	ecid, ref         string
	attrs             []string
	hasAccountNumber  bool
}{
	{"velocity", "quote-accepted", transform.Target{EventType: "Quote", EventSubtype: "Accepted", EventContext: "Opportunity"},
		"$.opportunityRef", "$.quoteId", []string{"accountNumber", "offerCode", "acceptedAt", "channel", "servicePointIds ← $.services[*].servicePointId"}, true},
	{"velocity", "contract-created", transform.Target{EventType: "Contract", EventSubtype: "Created", EventContext: "Account"},
		"$.accountNumber", "$.contractId", []string{"quoteId", "startDate", "termMonths", "productCode"}, true},
	{"velocity", "contract-active", transform.Target{EventType: "Contract", EventSubtype: "Active", EventContext: "Account"},
		"$.accountNumber", "$.contractId", []string{"activatedAt", "firstServicePointId ← $.services[0].servicePointId"}, true},
	{"velocity", "account-created", transform.Target{EventType: "Account", EventSubtype: "Created", EventContext: "Account"},
		"$.accountNumber", "$.primaryCustomerNumber", []string{"accountClass", "accountName", "tradingName", "companyNumber", "postcode ← $.postalAddress.postcode"}, true},
	{"velocity", "customer-updated", transform.Target{EventType: "Customer", EventSubtype: "Updated", EventContext: "Contact"},
		"$.customerNumber", "$.accountNumbers[0]", []string{"title", "firstName", "lastName", "preferredName", "email", "mobile"}, false},
	{"velocity", "switch-gain-started", transform.Target{EventType: "Switch", EventSubtype: "GainStarted", EventContext: "ServicePoint"},
		"$.servicePointId", "$.marketTransactionId", []string{"market", "proposedTransferDate", "reasonCode", "accountNumber"}, true},
	{"velocity", "switch-gain-objected", transform.Target{EventType: "Switch", EventSubtype: "GainObjected", EventContext: "ServicePoint"},
		"$.servicePointId", "$.marketTransactionId", []string{"objectionCode", "objectingParticipant", "objectedAt"}, false},
	{"velocity", "switch-gain-finished", transform.Target{EventType: "Switch", EventSubtype: "GainFinished", EventContext: "ServicePoint"},
		"$.servicePointId", "$.marketTransactionId", []string{"transferDate", "losingRetailer", "accountNumber"}, true},
	{"velocity", "switch-loss-started", transform.Target{EventType: "Switch", EventSubtype: "LossStarted", EventContext: "ServicePoint"},
		"$.servicePointId", "$.accountNumber", []string{"gainingRetailer", "proposedTransferDate"}, true},
	{"velocity", "service-point-updated", transform.Target{EventType: "ServicePoint", EventSubtype: "Updated", EventContext: "ServicePoint"},
		"$.servicePointId", "$.servicePointId", []string{"status", "networkTariffCode", "distributor", "meterSerial ← $.meters[0].serialNumber"}, false},
	{"velocity", "bill-ready", transform.Target{EventType: "Bill", EventSubtype: "Ready", EventContext: "Account"},
		"$.accountNumber", "$.billId", []string{"billDate", "dueDate", "dueAmount", "currency", "isFirstBill", "periodFrom", "periodTo"}, true},

	{"junifer", "customer-created", transform.Target{EventType: "Customer", EventSubtype: "Created", EventContext: "Contact"},
		"$.number", "$.number", []string{"customerType", "title", "forename", "surname", "companyName", "email ← $.primaryContact.email", "postcode ← $.primaryContact.address.postcode"}, false},
	{"junifer", "account-created", transform.Target{EventType: "Account", EventSubtype: "Created", EventContext: "Account"},
		"$.number", "$.customerNumber", []string{"accountClass", "billDelivery", "fromDt", "postcode ← $.billingAddress.postcode"}, false},
	{"junifer", "contact-updated", transform.Target{EventType: "Contact", EventSubtype: "Updated", EventContext: "Contact"},
		"$.customerNumber", "$.id", []string{"email", "phoneNumber1", "marketByEmail ← $.marketingPreferences.marketByEmail.consentGiven", "methodOfConsent"}, false},
	{"junifer", "agreement-created", transform.Target{EventType: "Agreement", EventSubtype: "Created", EventContext: "Account"},
		"$.accountNumber", "$.agreementId", []string{"agreementType ← $.agreementType.name", "productCode", "fromDt", "toDt", "paymentMethod", "meterPoints ← $.meterPoints[*].identifier"}, true},
	{"junifer", "meter-point-registration-requested", transform.Target{EventType: "MeterPoint", EventSubtype: "RegistrationRequested", EventContext: "MeterPoint"},
		"$.identifier", "$.accountNumber", []string{"type", "supplyStartDate", "previousSupplier"}, true},
	{"junifer", "meter-point-registration-objected", transform.Target{EventType: "MeterPoint", EventSubtype: "RegistrationObjected", EventContext: "MeterPoint"},
		"$.identifier", "$.accountNumber", []string{"type", "objectionReason", "objectedDttm", "resubmitAllowedFl"}, true},
	{"junifer", "meter-point-supply-started", transform.Target{EventType: "MeterPoint", EventSubtype: "SupplyStarted", EventContext: "MeterPoint"},
		"$.identifier", "$.accountNumber", []string{"type", "supplyStatus", "supplyStartDate", "meterSerial ← $.meters[0].identifier"}, true},
	{"junifer", "meter-point-loss-notified", transform.Target{EventType: "MeterPoint", EventSubtype: "LossNotified", EventContext: "MeterPoint"},
		"$.identifier", "$.accountNumber", []string{"type", "lossDt", "gainingSupplier"}, true},
	{"junifer", "bill-accepted", transform.Target{EventType: "Bill", EventSubtype: "Accepted", EventContext: "Account"},
		"$.accountNumber", "$.id", []string{"issueDt", "dueDt", "grossAmount", "netAmount", "salesTaxAmount", "currency", "firstBillFl", "versionNumber"}, true},
	{"junifer", "direct-debit-created", transform.Target{EventType: "PaymentMethod", EventSubtype: "DirectDebitCreated", EventContext: "Account"},
		"$.accountNumber", "$.directDebitId", []string{"status", "regularAmount", "frequencyAlignmentDt", "currencyISO"}, true},
	{"junifer", "ticket-status-changed", transform.Target{EventType: "Ticket", EventSubtype: "StatusChanged", EventContext: "Account"},
		"$.accountNumber", "$.id", []string{"ticketDefinitionCode", "status", "summary"}, true},
}

func TestDefaultMappings_are_the_catalogue(t *testing.T) {
	set := DefaultMappings()
	require.Len(t, catalogue, 22)
	require.Equal(t, 22, set.Len(), "exactly the catalogue's types")
	for i, want := range catalogue {
		t.Run(want.source+"/"+want.eventType, func(t *testing.T) {
			m, ok := set.Lookup(want.source, want.eventType)
			require.True(t, ok)
			assert.Same(t, m, set.All()[i], "document order follows the catalogue")
			assert.Equal(t, want.target, m.Target)
			assert.Equal(t, want.ecid, m.ExternalContextID)
			assert.Equal(t, want.ref, m.ExternalReference)
			var attrs []string
			for _, a := range m.Attributes {
				if a.Path == "$."+a.Name {
					attrs = append(attrs, a.Name)
				} else {
					attrs = append(attrs, a.Name+" ← "+a.Path)
				}
			}
			assert.Equal(t, want.attrs, attrs)
			assert.Equal(t, MappingsFile, m.Origin)

			// catalog.md: orderingKey $.accountNumber where data has an
			// accountNumber and externalContextId is something else; Junifer
			// account-created orders by $.number; otherwise none (the
			// externalContextId).
			wantKey := ""
			switch {
			case want.source == "junifer" && want.eventType == "account-created":
				wantKey = "$.number"
			case want.hasAccountNumber && want.ecid != "$.accountNumber":
				wantKey = "$.accountNumber"
			}
			assert.Equal(t, wantKey, m.OrderingKey)
		})
	}
}

func TestDefaultMappings_never_map_bank_details(t *testing.T) {
	for _, m := range DefaultMappings().All() {
		paths := []string{m.ExternalContextID, m.ExternalReference, m.OrderingKey}
		for _, a := range m.Attributes {
			paths = append(paths, a.Path, a.Name)
		}
		for _, p := range paths {
			lower := strings.ToLower(p)
			assert.NotContains(t, lower, "sortcode", "%s %s", m.Source, m.EventType)
			assert.NotContains(t, lower, "bankaccount", "%s %s", m.Source, m.EventType)
			assert.NotContains(t, p, "..", "%s %s: a descendant path could reach bank details", m.Source, m.EventType)
		}
	}
}

func TestDefaultMappings_parsed_once(t *testing.T) {
	assert.Same(t, DefaultMappings(), DefaultMappings())
	onDisk, err := os.ReadFile("mappings.yaml")
	require.NoError(t, err)
	assert.True(t, bytes.Equal(onDisk, DefaultMappingsYAML()), "the embedded document is mappings.yaml")
	cp := DefaultMappingsYAML()
	cp[0] ^= 0xff
	assert.True(t, bytes.Equal(onDisk, DefaultMappingsYAML()), "callers get a copy")
}

func TestMustParse_panics_on_an_invalid_document(t *testing.T) {
	assert.PanicsWithValue(t,
		`catalog: embedded mappings are invalid: bad.yaml: mappings[0].source: must be velocity or junifer, got "sap"`,
		func() {
			mustParse("bad.yaml", []byte("mappings:\n  - source: sap\n    eventType: x\n"+
				"    target: { eventType: A, eventSubtype: B, eventContext: C }\n    externalContextId: $.x\n"))
		})
	assert.NotPanics(t, func() { mustParse("ok.yaml", mappingsYAML) })
}
