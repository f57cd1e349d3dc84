package transform_test

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/theory/jsonpath"

	"github.com/gentrack/gcis-bridge/transform"
)

var update = flag.Bool("update", false, "rewrite testdata/golden/*/*.want.json from the current output (review the diff!)")

// defaultMappings parses the catalogue's mappings document from disk: the
// same file package catalog embeds (catalog's own tests check the embedding).
func defaultMappings(t testing.TB) *transform.MappingSet {
	t.Helper()
	text, err := os.ReadFile(filepath.Join("catalog", "mappings.yaml"))
	require.NoError(t, err)
	set, err := transform.ParseMappings("catalog/mappings.yaml", text)
	require.NoError(t, err)
	return set
}

// fixtureSubject is the subject a fixture event is published on.
func fixtureSubject(t testing.TB, body []byte) transform.Subject {
	t.Helper()
	var head struct{ TenantID, Source, EventType string }
	require.NoError(t, json.Unmarshal(body, &head))
	subj, err := transform.ParseSubject("", "gcis.events."+head.TenantID+"."+head.Source+"."+head.EventType)
	require.NoError(t, err)
	return subj
}

// wantOrderingKey is each golden event's ordering key (catalog.md: the
// account number where data has one and externalContextId is something
// else; Junifer account-created by $.number; otherwise externalContextId).
var wantOrderingKey = map[string]string{
	"velocity/quote-accepted":                    "3004172851",
	"velocity/contract-created":                  "3004172851",
	"velocity/contract-active":                   "3004172851",
	"velocity/account-created":                   "3004180026",
	"velocity/customer-updated":                  "C0091827",
	"velocity/switch-gain-started":               "3004172851",
	"velocity/switch-gain-objected":              "63051234567",
	"velocity/switch-gain-finished":              "3004172851",
	"velocity/switch-loss-started":               "2100458823",
	"velocity/service-point-updated":             "0000123456NR8F3",
	"velocity/bill-ready":                        "3004172851",
	"junifer/customer-created":                   "00482915",
	"junifer/account-created":                    "00000101",
	"junifer/contact-updated":                    "00482915",
	"junifer/agreement-created":                  "00000101",
	"junifer/meter-point-registration-requested": "00000101",
	"junifer/meter-point-registration-objected":  "00000101",
	"junifer/meter-point-supply-started":         "00000101",
	"junifer/meter-point-loss-notified":          "00000214",
	"junifer/bill-accepted":                      "00000101",
	"junifer/direct-debit-created":               "00000101",
	"junifer/ticket-status-changed":              "00000101",
}

func goldenFixtures(t testing.TB) []string {
	t.Helper()
	all, err := filepath.Glob(filepath.Join("testdata", "golden", "*", "*.json"))
	require.NoError(t, err)
	var events []string
	for _, f := range all {
		if !strings.HasSuffix(f, ".want.json") {
			events = append(events, f)
		}
	}
	return events
}

func TestGolden_catalogue(t *testing.T) {
	set := defaultMappings(t)
	events := goldenFixtures(t)
	require.Len(t, events, 22, "one fixture per catalogue type")
	seen := map[string]bool{}
	for _, file := range events {
		source := filepath.Base(filepath.Dir(file))
		eventType := strings.TrimSuffix(filepath.Base(file), ".json")
		name := source + "/" + eventType
		seen[name] = true
		t.Run(name, func(t *testing.T) {
			body, err := os.ReadFile(file)
			require.NoError(t, err)
			subj := fixtureSubject(t, body)
			require.Equal(t, source, subj.Source)
			require.Equal(t, eventType, subj.EventType)

			env, err := transform.Decode(subj, body, transform.DecodeOptions{})
			require.NoError(t, err)
			got, err := set.Map(env)
			require.NoError(t, err)
			assert.Equal(t, wantOrderingKey[name], got.OrderingKey, "ordering key")

			wantFile := strings.TrimSuffix(file, ".json") + ".want.json"
			if *update {
				var pretty bytes.Buffer
				require.NoError(t, json.Indent(&pretty, got.JSON, "", "  "))
				pretty.WriteByte('\n')
				require.NoError(t, os.WriteFile(wantFile, pretty.Bytes(), 0o644))
			}
			wantText, err := os.ReadFile(wantFile)
			require.NoError(t, err)
			dec := json.NewDecoder(bytes.NewReader(wantText))
			dec.DisallowUnknownFields()
			var want transform.Event
			require.NoError(t, dec.Decode(&want))
			assert.Equal(t, want, got.Event)
			// The bytes too: the encoding of the expected event, field order included.
			assert.Equal(t, string(want.AppendJSON(nil)), string(got.JSON))
			var fromJSON transform.Event
			require.NoError(t, json.Unmarshal(got.JSON, &fromJSON))
			assert.Equal(t, got.Event, fromJSON, "JSON is the encoded Event")
		})
	}
	for name := range wantOrderingKey {
		assert.True(t, seen[name], "no golden fixture for %s", name)
	}
}

// TestGolden_fixtures_are_realistic checks what catalog.md demands of
// synthetic data: check-valid MPAN cores, MPRNs and NMIs, well-formed ICPs.
func TestGolden_fixtures_are_realistic(t *testing.T) {
	checked := 0
	defer func() { assert.GreaterOrEqual(t, checked, 15, "identifiers checked across the fixtures") }()
	for _, file := range goldenFixtures(t) {
		t.Run(file, func(t *testing.T) {
			body, err := os.ReadFile(file)
			require.NoError(t, err)
			var doc map[string]any
			require.NoError(t, json.Unmarshal(body, &doc))
			assert.Equal(t, "SYNTHETIC - not from a real Gentrack system", doc["_synthetic"])
			data := doc["data"]
			var ids []string
			collect := func(path string) {
				for _, v := range jsonpath.MustParse(path).Select(data) {
					if s, ok := v.(string); ok {
						ids = append(ids, s)
					}
				}
			}
			switch doc["source"] {
			case "velocity":
				collect("$..servicePointId")
				for _, id := range ids {
					switch len(id) {
					case 11:
						assert.True(t, validNMI(id), "NMI %s checksum", id)
					case 15:
						assert.Regexp(t, icpRE, id, "ICP format")
					default:
						t.Errorf("service point %q is neither an NMI nor an ICP", id)
					}
				}
			case "junifer":
				collect("$.identifier")
				collect("$.meterPoints[*].identifier")
				collect("$.ticketEntities.meterPoints[*]")
				for _, id := range ids {
					if len(id) == 13 {
						assert.True(t, validMPAN(id), "MPAN core %s check digit", id)
					} else {
						assert.True(t, validMPRN(id), "MPRN %s check digits", id)
					}
				}
			}
			checked += len(ids)
		})
	}
}

func TestIdentifierChecks(t *testing.T) {
	tests := []struct {
		name  string
		check func(string) bool
		id    string
		want  bool
	}{
		{"mpan ok", validMPAN, "1012345678903", true},
		{"mpan ok 2", validMPAN, "2300009876540", true},
		{"mpan bad check", validMPAN, "1012345678904", false},
		{"mpan short", validMPAN, "101234567890", false},
		{"mprn ok", validMPRN, "7462819310", true},
		{"mprn ok 2", validMPRN, "3938424403", true},
		{"mprn bad check", validMPRN, "7462819311", false},
		{"nmi ok", validNMI, "41023456781", true},
		{"nmi alpha ok", validNMI, "QB123456789", true},
		{"nmi bad check", validNMI, "41023456782", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { assert.Equal(t, tt.want, tt.check(tt.id)) })
	}
}

var icpRE = regexp.MustCompile(`^[0-9]{10}[A-Z]{2}[0-9A-Z]{3}$`)

// validMPAN checks a 13-digit MPAN core: Σ dᵢ·wᵢ over the first 12 digits,
// check = (Σ mod 11) mod 10.
func validMPAN(s string) bool {
	w := []int{3, 5, 7, 13, 17, 19, 23, 29, 31, 37, 41, 43}
	if !regexp.MustCompile(`^[0-9]{13}$`).MatchString(s) {
		return false
	}
	sum := 0
	for i, x := range w {
		sum += int(s[i]-'0') * x
	}
	return sum%11%10 == int(s[12]-'0')
}

// validMPRN checks a 6–10 digit MPRN: the last two digits are
// Σ dᵢ·(n−i) mod 11 over the n-digit body.
func validMPRN(s string) bool {
	if !regexp.MustCompile(`^[0-9]{6,10}$`).MatchString(s) {
		return false
	}
	body := s[:len(s)-2]
	sum := 0
	for i := range body {
		sum += int(body[i]-'0') * (len(body) - i)
	}
	return s[len(s)-2:] == fmt.Sprintf("%02d", sum%11)
}

// validNMI checks an 11-character NMI: Luhn over the ASCII codes of the
// first 10 characters, doubling from the rightmost.
func validNMI(s string) bool {
	if len(s) != 11 || s[10] < '0' || s[10] > '9' {
		return false
	}
	sum, double := 0, true
	for i := 9; i >= 0; i-- {
		v := int(s[i])
		if double {
			v *= 2
		}
		double = !double
		for ; v > 0; v /= 10 {
			sum += v % 10
		}
	}
	return (10-sum%10)%10 == int(s[10]-'0')
}
