package transform_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/gentrack/gcis-bridge/transform"
)

// BenchmarkDecodeAndMap measures the per-event work of the bridge's handler
// on a typical Junifer bill-accepted event: parse the subject, decode and
// validate the envelope, map it with the default mappings and encode it.
// Target: < 20 µs and < 100 allocations per event.
func BenchmarkDecodeAndMap(b *testing.B) {
	body, err := os.ReadFile(filepath.Join("testdata", "golden", "junifer", "bill-accepted.json"))
	if err != nil {
		b.Fatal(err)
	}
	set := defaultMappings(b)
	const subject = "gcis.events.acme-energy.junifer.bill-accepted"
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		subj, err := transform.ParseSubject("", subject)
		if err != nil {
			b.Fatal(err)
		}
		env, err := transform.Decode(subj, body, transform.DecodeOptions{})
		if err != nil {
			b.Fatal(err)
		}
		m, err := set.Map(env)
		if err != nil {
			b.Fatal(err)
		}
		if len(m.JSON) == 0 {
			b.Fatal("empty")
		}
	}
}

// BenchmarkMap_wildcard maps agreement-created, whose meterPoints attribute
// is a wildcard path evaluated on a value tree.
func BenchmarkMap_wildcard(b *testing.B) {
	body, err := os.ReadFile(filepath.Join("testdata", "golden", "junifer", "agreement-created.json"))
	if err != nil {
		b.Fatal(err)
	}
	set := defaultMappings(b)
	subj := transform.Subject{Tenant: "acme-energy", Source: "junifer", EventType: "agreement-created"}
	b.ReportAllocs()
	for b.Loop() {
		env, err := transform.Decode(subj, body, transform.DecodeOptions{})
		if err != nil {
			b.Fatal(err)
		}
		if _, err := set.Map(env); err != nil {
			b.Fatal(err)
		}
	}
}
