package transform_test

import (
	"bytes"
	"encoding/json"
	"os"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/gentrack/gcis-bridge/transform"
)

// checkError fails unless err is a classified *Error of one of classes with
// a one-line reason.
func checkError(t *testing.T, err error, classes ...transform.Class) transform.Class {
	t.Helper()
	var te *transform.Error
	class, ok := transform.ClassOf(err)
	if !ok {
		t.Fatalf("unclassified error %T: %v", err, err)
	}
	te = err.(*transform.Error)
	if strings.ContainsAny(te.Reason, "\r\n") || te.Reason == "" {
		t.Fatalf("reason is not one line: %q", te.Reason)
	}
	for _, c := range classes {
		if c == class {
			return class
		}
	}
	t.Fatalf("class %q, want one of %v: %v", class, classes, err)
	return ""
}

func FuzzDecode(f *testing.F) {
	for _, file := range goldenFixtures(f) {
		b, err := os.ReadFile(file)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	for _, s := range []string{
		"", "{}", "[]", "null", `{"eventId":1}`, `{"a":1,"a":2}`, "\ufeff{}", `{"data":{}}`,
		`{"eventId":"e","eventType":"bill-accepted","schemaVersion":"1.0.0","source":"junifer","sourceVersion":"6.0-rc1",` +
			`"tenantId":"acme-energy","occurredAt":"2025-04-02T06:01:44.000+01:00","data":{"accountNumber":"1","id":1e400}}`,
		`{"eventId":"e","eventType":"bill-accepted","schemaVersion":"2.0.0","source":"junifer","sourceVersion":"5",` +
			`"tenantId":"acme-energy","occurredAt":"0000-01-01T00:00:00+01:00","data":{}}`,
	} {
		f.Add([]byte(s))
	}
	set := defaultMappings(f)
	f.Fuzz(func(t *testing.T, body []byte) {
		subj := billSubject
		var head struct{ TenantID, Source, EventType string }
		if json.Unmarshal(body, &head) == nil {
			if s, err := transform.ParseSubject("", "gcis.events."+head.TenantID+"."+head.Source+"."+head.EventType); err == nil {
				subj = s
			}
		}
		env, err := transform.Decode(subj, body, transform.DecodeOptions{MaxBytes: 64 << 10})
		if err != nil {
			if env != nil {
				t.Fatal("envelope with an error")
			}
			checkError(t, err, transform.ClassInvalid, transform.ClassUnsupported)
			return
		}
		if !json.Valid(body) || !utf8.Valid(body) {
			t.Fatalf("accepted a body that is not valid JSON")
		}
		if env.EventType != subj.EventType || env.Source != subj.Source || env.TenantID != subj.Tenant {
			t.Fatalf("envelope disagrees with the subject")
		}
		var data map[string]any
		dec := json.NewDecoder(bytes.NewReader(env.Data))
		dec.UseNumber()
		if err := dec.Decode(&data); err != nil {
			t.Fatalf("data is not an object: %v", err)
		}
		if env.OccurredAt.IsZero() || env.EventID == "" {
			t.Fatal("required field empty")
		}
		m, err := set.Map(env)
		if err != nil {
			checkError(t, err, transform.ClassUnmapped)
			return
		}
		checkMapped(t, m)
	})
}

// checkMapped checks what every successful Map result must satisfy.
func checkMapped(t *testing.T, m *transform.Mapped) {
	t.Helper()
	if m.OrderingKey == "" {
		t.Fatal("empty ordering key")
	}
	if strings.TrimSpace(m.Event.ExternalContextID) == "" {
		t.Fatal("empty externalContextId")
	}
	if _, err := time.Parse("2006-01-02T15:04:05.000Z", m.Event.OccurredAt); err != nil || len(m.Event.OccurredAt) != 24 {
		t.Fatalf("occurredAt %q", m.Event.OccurredAt)
	}
	var back transform.Event
	if err := json.Unmarshal(m.JSON, &back); err != nil {
		t.Fatalf("JSON does not decode: %v", err)
	}
	if back.SourceEventID != m.Event.SourceEventID || back.ExternalContextID != m.Event.ExternalContextID ||
		len(back.EventAttributes) != len(m.Event.EventAttributes) {
		t.Fatalf("JSON is not the event")
	}
	for i, a := range back.EventAttributes {
		if a != m.Event.EventAttributes[i] && utf8.ValidString(m.Event.EventAttributes[i].Value) {
			t.Fatalf("attribute %d: %q != %q", i, a, m.Event.EventAttributes[i])
		}
	}
}

func FuzzMap(f *testing.F) {
	for _, seed := range []struct{ data, path string }{
		{`{"k":"00000101","amount":148.620}`, "$.amount"},
		{`{"k":"1","big":12345678901234567890123}`, "$.big"},
		{`{"k":"1","a":[{"id":1},{"id":"x"},{"id":null}]}`, "$.a[*].id"},
		{`{"k":"1","a":{"z":1,"y":{"x":[true,false]}}}`, "$..*"},
		{`{"k":"1","a":[1,2,3]}`, "$.a[?@ > 1]"},
		{`{"k":"1","a":[1,2,3]}`, "$.a[::-1]"},
		{`{"k":"1","s":"\u00e9\n"}`, "$['s']"},
		{`{"k":null}`, "$.k"},
		{`{"k":{"a":1}}`, "$.k.a"},
		{`[1]`, "$[0]"},
		{`{"k":"1",`, "$.k"},
		{`{"k":"1","k":"2"}`, "$.k"},
		{`{"k":"\ud800"}`, "$.k"},
		{`{"k":"1","a":[]}`, "$.a[-1]"},
		{`{"k":"1"}`, "$[-1:]"},
		{`{"k":"1"}`, "not a path"},
	} {
		f.Add([]byte(seed.data), seed.path)
	}
	f.Fuzz(func(t *testing.T, data []byte, path string) {
		m := transform.Mapping{
			Source: "junifer", EventType: "bill-accepted",
			Target:            transform.Target{EventType: "Bill", EventSubtype: "Accepted", EventContext: "Account"},
			ExternalContextID: "$.k",
			ExternalReference: path,
			Attributes:        []transform.AttributeMapping{{Name: "v", Path: path}, {Name: "k", Path: "$.k"}},
		}
		singular, err := transform.NewMappingSet("fuzz", []transform.Mapping{func() transform.Mapping {
			s := m
			s.ExternalContextID, s.OrderingKey = path, path
			return s
		}()})
		if err == nil {
			tryMap(t, singular, data)
		}
		set, err := transform.NewMappingSet("fuzz", []transform.Mapping{m})
		if err != nil {
			return // an invalid path is refused at load
		}
		tryMap(t, set, data)
	})
}

func tryMap(t *testing.T, set *transform.MappingSet, data []byte) {
	t.Helper()
	env := &transform.Envelope{EventID: "e1", EventType: "bill-accepted", Source: "junifer", TenantID: "acme-energy",
		OccurredAt: time.Date(2025, 4, 2, 6, 1, 44, 123456789, time.FixedZone("", 3600)), Data: data}
	m, err := set.Map(env)
	if err != nil {
		class := checkError(t, err, transform.ClassInvalid, transform.ClassUnmapped)
		if class == transform.ClassUnmapped && (!json.Valid(data) || !utf8.Valid(data)) {
			t.Fatalf("unmapped instead of invalid for bad data: %v", err)
		}
		return
	}
	if !json.Valid(data) || !utf8.Valid(data) {
		t.Fatalf("mapped invalid data")
	}
	if m.Event.OccurredAt != "2025-04-02T05:01:44.123Z" {
		t.Fatalf("occurredAt %q", m.Event.OccurredAt)
	}
	checkMapped(t, m)
}
