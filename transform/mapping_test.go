package transform_test

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/theory/jsonpath"

	"github.com/gentrack/gcis-bridge/transform"
)

const billMappingYAML = `
mappings:
  - source: junifer
    eventType: bill-accepted
    target: { eventType: Bill, eventSubtype: Accepted, eventContext: Account }
    externalContextId: $.accountNumber
    externalReference: $.id
    attributes:
      - issueDt
      - { name: grossAmount, path: $.grossAmount }
      - first-bill
      - "it's"
`

func TestParseMappings_valid(t *testing.T) {
	set, err := transform.ParseMappings("m.yaml", []byte(billMappingYAML))
	require.NoError(t, err)
	require.Equal(t, 1, set.Len())
	m, ok := set.Lookup("junifer", "bill-accepted")
	require.True(t, ok)
	assert.Equal(t, transform.Target{EventType: "Bill", EventSubtype: "Accepted", EventContext: "Account"}, m.Target)
	assert.Equal(t, "$.accountNumber", m.ExternalContextID)
	assert.Equal(t, "$.id", m.ExternalReference)
	assert.Empty(t, m.OrderingKey)
	assert.Equal(t, "m.yaml", m.Origin)
	assert.Equal(t, []transform.AttributeMapping{
		{Name: "issueDt", Path: "$.issueDt"},
		{Name: "grossAmount", Path: "$.grossAmount"},
		{Name: "first-bill", Path: "$['first-bill']"},
		{Name: "it's", Path: `$['it\'s']`},
	}, m.Attributes, "a bare name is short for {name: x, path: $.x}")
	for _, a := range m.Attributes {
		_, err := jsonpath.Parse(a.Path)
		assert.NoError(t, err, a.Path)
	}
	_, ok = set.Lookup("junifer", "bill-ready")
	assert.False(t, ok)
	_, ok = set.Lookup("velocity", "bill-accepted")
	assert.False(t, ok)

	js, err := json.Marshal(set.All())
	require.NoError(t, err)
	assert.Contains(t, string(js), `"target":{"eventType":"Bill","eventSubtype":"Accepted","eventContext":"Account"}`)
}

func TestParseMappings_empty_documents(t *testing.T) {
	for _, text := range []string{"", "\n", "# only a comment\n", "mappings: []\n", "mappings:\n", "~\n"} {
		set, err := transform.ParseMappings("empty.yaml", []byte(text))
		require.NoError(t, err, "%q", text)
		assert.Equal(t, 0, set.Len(), "%q", text)
	}
}

func TestParseMappings_errors(t *testing.T) {
	// one valid mapping to vary
	const head = "mappings:\n  - source: junifer\n    eventType: bill-accepted\n"
	const target = "    target: { eventType: Bill, eventSubtype: Accepted, eventContext: Account }\n"
	const ecid = "    externalContextId: $.accountNumber\n"
	tests := []struct {
		name string
		yaml string
		want []string // every line of the joined error
	}{
		{"not YAML", "mappings: [", []string{"o.yaml: invalid YAML: yaml: line 1: did not find expected node content"}},
		{"a list at the top", "- a\n", []string{`o.yaml: (document): must be a mapping with a "mappings" list, got a list`}},
		{"unknown top-level key", "mapping: []\n", []string{"o.yaml: mapping: unknown key (line 1)"}},
		{"mappings not a list", "mappings: {}\n", []string{"o.yaml: mappings: must be a list, got a mapping"}},
		{"entry not a mapping", "mappings:\n  - junifer\n", []string{"o.yaml: mappings[0]: must be a mapping, got a scalar"}},
		{"everything missing", "mappings:\n  - {}\n", []string{
			"o.yaml: mappings[0].source: required",
			"o.yaml: mappings[0].eventType: required",
			"o.yaml: mappings[0].target.eventType: required",
			"o.yaml: mappings[0].target.eventSubtype: required",
			"o.yaml: mappings[0].target.eventContext: required",
			"o.yaml: mappings[0].externalContextId: required",
		}},
		{"unknown source", "mappings:\n  - source: sap\n    eventType: bill-accepted\n" + target + ecid,
			[]string{`o.yaml: mappings[0].source: must be velocity or junifer, got "sap"`}},
		{"event type not kebab-case", "mappings:\n  - source: junifer\n    eventType: BillAccepted\n" + target + ecid,
			[]string{`o.yaml: mappings[0].eventType: must be kebab-case (^[a-z0-9]+(-[a-z0-9]+)*$), got "BillAccepted"`}},
		{"unknown mapping key", head + target + ecid + "    extrnalReference: $.id\n",
			[]string{"o.yaml: mappings[0].extrnalReference: unknown key (line 6)"}},
		{"repeated key", head + target + ecid + "    externalContextId: $.id\n",
			[]string{"o.yaml: mappings[0].externalContextId: key repeated (line 6)"}},
		{"target a string", head + "    target: Bill\n" + ecid,
			[]string{"o.yaml: mappings[0].target: must be a mapping with eventType, eventSubtype and eventContext, got a scalar"}},
		{"target key unknown", head + "    target: { eventType: Bill, eventSubtype: Accepted, eventContext: Account, context: x }\n" + ecid,
			[]string{"o.yaml: mappings[0].target.context: unknown key (line 4)"}},
		{"target literal blank", head + "    target: { eventType: ' ', eventSubtype: Accepted, eventContext: Account }\n" + ecid,
			[]string{"o.yaml: mappings[0].target.eventType: required"}},
		{"target literal too long", head + "    target: { eventType: " + strings.Repeat("B", 256) + ", eventSubtype: Accepted, eventContext: Account }\n" + ecid,
			[]string{"o.yaml: mappings[0].target.eventType: must be at most 255 characters"}},
		{"target literal with a control character", head + "    target: { eventType: \"Bi\\tll\", eventSubtype: Accepted, eventContext: Account }\n" + ecid,
			[]string{`o.yaml: mappings[0].target.eventType: must not contain control characters, got "Bi\tll"`}},
		{"target field a list", head + "    target: { eventType: [Bill], eventSubtype: Accepted, eventContext: Account }\n" + ecid,
			[]string{"o.yaml: mappings[0].target.eventType: must be a string, got a list"}},
		{"externalContextId invalid JSONPath", head + target + "    externalContextId: $.account[\n",
			[]string{`o.yaml: mappings[0].externalContextId: invalid JSONPath "$.account[": jsonpath: unexpected eof at position 11`}},
		{"externalContextId without $", head + target + "    externalContextId: accountNumber\n",
			[]string{`o.yaml: mappings[0].externalContextId: invalid JSONPath "accountNumber": jsonpath: unexpected identifier at position 1`}},
		{"externalContextId not singular", head + target + "    externalContextId: $.meterPoints[*].identifier\n",
			[]string{`o.yaml: mappings[0].externalContextId: "$.meterPoints[*].identifier" must be a singular path (names and indexes only, e.g. $.accountNumber or $.services[0].id)`}},
		{"externalContextId descendant", head + target + "    externalContextId: $..accountNumber\n",
			[]string{`o.yaml: mappings[0].externalContextId: "$..accountNumber" must be a singular path (names and indexes only, e.g. $.accountNumber or $.services[0].id)`}},
		{"orderingKey not singular", head + target + ecid + "    orderingKey: $.a[0:1]\n",
			[]string{`o.yaml: mappings[0].orderingKey: "$.a[0:1]" must be a singular path (names and indexes only, e.g. $.accountNumber or $.services[0].id)`}},
		{"externalReference invalid", head + target + ecid + "    externalReference: $.[\n",
			[]string{`o.yaml: mappings[0].externalReference: invalid JSONPath "$.[": jsonpath: unexpected '[' at position 3`}},
		{"attributes not a list", head + target + ecid + "    attributes: issueDt\n",
			[]string{"o.yaml: mappings[0].attributes: must be a list, got a scalar"}},
		{"attribute a list", head + target + ecid + "    attributes:\n      - [issueDt]\n",
			[]string{"o.yaml: mappings[0].attributes[0]: must be a name or a mapping with name and path, got a list"}},
		{"attribute path invalid", head + target + ecid + "    attributes:\n      - issueDt\n      - { name: x, path: \"$[\" }\n",
			[]string{`o.yaml: mappings[0].attributes[1].path: invalid JSONPath "$[": jsonpath: unexpected eof at position 3`}},
		{"attribute without path", head + target + ecid + "    attributes:\n      - { name: x }\n",
			[]string{"o.yaml: mappings[0].attributes[0].path: required"}},
		{"attribute without name", head + target + ecid + "    attributes:\n      - { path: $.x }\n",
			[]string{"o.yaml: mappings[0].attributes[0].name: required"}},
		{"attribute unknown key", head + target + ecid + "    attributes:\n      - { name: x, path: $.x, value: $.y }\n",
			[]string{"o.yaml: mappings[0].attributes[0].value: unknown key (line 7)"}},
		{"attribute name repeated", head + target + ecid + "    attributes:\n      - x\n      - { name: x, path: $.y }\n",
			[]string{`o.yaml: mappings[0].attributes[1].name: duplicate attribute name "x" (first at attributes[0])`}},
		{"duplicate mapping", head + target + ecid + head[len("mappings:\n"):] + target + ecid,
			[]string{"o.yaml: mappings[1]: duplicate mapping for junifer bill-accepted (first at mappings[0])"}},
		{"every problem is reported", "mappings:\n  - source: sap\n    eventType: x\n" + target + "    externalContextId: $[*]\n" +
			"    attributes:\n      - { name: a, path: \"$[\" }\n  - nope\n",
			[]string{
				`o.yaml: mappings[0].source: must be velocity or junifer, got "sap"`,
				`o.yaml: mappings[0].externalContextId: "$[*]" must be a singular path (names and indexes only, e.g. $.accountNumber or $.services[0].id)`,
				`o.yaml: mappings[0].attributes[0].path: invalid JSONPath "$[": jsonpath: unexpected eof at position 3`,
				"o.yaml: mappings[1]: must be a mapping, got a scalar",
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			set, err := transform.ParseMappings("o.yaml", []byte(tt.yaml))
			require.Error(t, err)
			assert.Nil(t, set)
			assert.ElementsMatch(t, tt.want, strings.Split(err.Error(), "\n"))
		})
	}
}

func TestParseMappings_jsonpath_errors_wrap_ErrPathParse(t *testing.T) {
	_, err := transform.ParseMappings("o.yaml", []byte("mappings:\n  - source: junifer\n    eventType: x\n"+
		"    target: { eventType: A, eventSubtype: B, eventContext: C }\n    externalContextId: $[\n"))
	require.Error(t, err)
	assert.True(t, errors.Is(err, jsonpath.ErrPathParse))
}

func TestNewMappingSet(t *testing.T) {
	in := []transform.Mapping{{
		Source: "velocity", EventType: "bill-ready",
		Target:            transform.Target{EventType: "Bill", EventSubtype: "Ready", EventContext: "Account"},
		ExternalContextID: "$.accountNumber",
		Attributes:        []transform.AttributeMapping{{Name: "dueAmount", Path: "$.dueAmount"}},
	}}
	set, err := transform.NewMappingSet("api", in)
	require.NoError(t, err)
	m, ok := set.Lookup("velocity", "bill-ready")
	require.True(t, ok)
	assert.Equal(t, "api", m.Origin)
	in[0].Attributes[0].Name = "changed"
	assert.Equal(t, "dueAmount", m.Attributes[0].Name, "the set keeps its own copy")

	_, err = transform.NewMappingSet("api", []transform.Mapping{{Source: "velocity"}})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "api: mappings[0].eventType: required")
}

func TestMappingSet_With(t *testing.T) {
	base, err := transform.ParseMappings("defaults.yaml", []byte(`
mappings:
  - { source: junifer, eventType: a-one, target: { eventType: A, eventSubtype: One, eventContext: X }, externalContextId: $.a }
  - { source: junifer, eventType: b-two, target: { eventType: B, eventSubtype: Two, eventContext: X }, externalContextId: $.b }
  - { source: velocity, eventType: a-one, target: { eventType: V, eventSubtype: One, eventContext: X }, externalContextId: $.v }
`))
	require.NoError(t, err)
	over, err := transform.ParseMappings("overrides.yaml", []byte(`
mappings:
  - { source: velocity, eventType: new-type, target: { eventType: N, eventSubtype: New, eventContext: X }, externalContextId: $.n }
  - { source: junifer, eventType: b-two, target: { eventType: B2, eventSubtype: Two, eventContext: X }, externalContextId: $.b2 }
`))
	require.NoError(t, err)

	merged := base.With(over)
	var got []string
	for _, m := range merged.All() {
		got = append(got, m.Source+"/"+m.EventType+"="+m.Target.EventType+"@"+m.Origin)
	}
	assert.Equal(t, []string{
		"junifer/a-one=A@defaults.yaml",
		"junifer/b-two=B2@overrides.yaml",
		"velocity/a-one=V@defaults.yaml",
		"velocity/new-type=N@overrides.yaml",
	}, got, "an override takes the place of what it replaces; additions come last")
	m, ok := merged.Lookup("junifer", "b-two")
	require.True(t, ok)
	assert.Equal(t, "$.b2", m.ExternalContextID)

	// Neither input changed.
	m, _ = base.Lookup("junifer", "b-two")
	assert.Equal(t, "B", m.Target.EventType)
	assert.Equal(t, 3, base.Len())
	assert.Equal(t, 2, over.Len())
	_, ok = base.Lookup("velocity", "new-type")
	assert.False(t, ok)

	// nil on either side
	assert.Equal(t, 3, base.With(nil).Len())
	var none *transform.MappingSet
	assert.Equal(t, 2, none.With(over).Len())
	assert.Equal(t, 0, none.Len())
	assert.Nil(t, none.All())
	_, ok = none.Lookup("junifer", "a-one")
	assert.False(t, ok)
}
