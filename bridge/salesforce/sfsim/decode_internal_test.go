package sfsim

import (
	"bytes"
	"encoding/json"
	"regexp"
	"strings"
	"testing"
	"time"
)

var positionSuffix = regexp.MustCompile(` at \[line:\d+, column:\d+\]$`)

// FuzzDecodePublish checks that any body either decodes into events whose
// raw text is valid JSON, or yields a parser message with a position.
func FuzzDecodePublish(f *testing.F) {
	f.Add([]byte(`{"schemaVersion":"2.0","connectorId":"c","batchId":"b","events":[{"sourceEventId":"a","eventAttributes":[{"name":"n","value":"v"}]}]}`))
	f.Add([]byte(`{"schemaVersion":"2.0",,}`))
	f.Add([]byte(`{"schemaVersion":"2.0","foo":1}`))
	f.Add([]byte(`{"events":[{"bogus":1}]}`))
	f.Add([]byte(`{"events":{}}`))
	f.Add([]byte(`[]`))
	f.Add([]byte(`{"events":[null,1]}`))
	f.Add([]byte("{\n\"a\"\n:\n"))
	f.Add([]byte(`{"EVENTS":[{"SOURCEEVENTID":"x"}]}`))
	f.Add([]byte(` {"\u0065vents" : [ {"tenantId":"a]}\"[{"} , {} ] , "batchId":"}"} trailing`))
	f.Add([]byte(`{"events":[{"eventAttributes":[{"name":"a","value":"[{"}]}],"events":[null]}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		req, items, msg := decodePublish(body)
		if msg != "" {
			if req != nil || items != nil {
				t.Fatal("an error and a result")
			}
			if !positionSuffix.MatchString(msg) && !strings.HasPrefix(msg, "Unrecognized field") && !strings.HasPrefix(msg, "Unable to parse") {
				t.Fatalf("message without position: %q", msg)
			}
			return
		}
		if req == nil || len(items) != len(req.Events) {
			t.Fatal("no request")
		}
		var plain struct {
			Events []json.RawMessage `json:"events"`
		}
		if err := json.NewDecoder(bytes.NewReader(body)).Decode(&plain); err != nil {
			t.Fatalf("strict decode passed, plain decode failed: %v", err)
		}
		if len(plain.Events) != len(items) {
			t.Fatalf("split %d events, encoding/json sees %d", len(items), len(plain.Events))
		}
		for i, it := range items {
			if !bytes.Equal(it.raw, plain.Events[i]) {
				t.Fatalf("event %d: raw %q, encoding/json %q", i, it.raw, plain.Events[i])
			}
			_ = it.validate()
		}
	})
}

func TestUnknownKey_is_path_aware(t *testing.T) {
	tests := []struct {
		body string
		name string
		ok   bool
	}{
		{`{"schemaVersion":"2.0","value":1}`, "value", true},                             // known only inside attributes
		{`{"events":[{"eventAttributes":[{"name":"a","value":"b","x":1}]}]}`, "x", true}, // attribute level
		{`{"events":[{"tenantId":"t","schemaVersion":"2.0"}]}`, "schemaVersion", true},   // known only at the top
		{`{"Events":[{"SourceEventId":"a"}]}`, "", false},                                // case-insensitive
		{`{"events":[{"eventAttributes":[{"name":"value","value":"name"}]}]}`, "", false},
	}
	for _, tt := range tests {
		name, _, ok := unknownKey([]byte(tt.body))
		if ok != tt.ok || name != tt.name {
			t.Errorf("%s: got %q %v, want %q %v", tt.body, name, ok, tt.name, tt.ok)
		}
	}
}

func TestLatency_sample(t *testing.T) {
	tests := []struct {
		name string
		l    Latency
		u, n float64
		want time.Duration
	}{
		{"fixed", Latency{Fixed: 5 * time.Millisecond}, 0.9, 3, 5 * time.Millisecond},
		{"fixed from mean", Latency{Dist: "fixed", Mean: 7 * time.Millisecond}, 0, 0, 7 * time.Millisecond},
		{"uniform low", Latency{Dist: "uniform", Min: 10, Max: 20}, 0, 0, 10},
		{"uniform mid", Latency{Dist: "uniform", Min: 10, Max: 20}, 0.5, 0, 15},
		{"normal", Latency{Dist: "normal", Mean: 100, StdDev: 10}, 0, 1, 110},
		{"normal clamped low", Latency{Dist: "normal", Mean: 100, StdDev: 10, Min: 95}, 0, -3, 95},
		{"normal clamped high", Latency{Dist: "normal", Mean: 100, StdDev: 10, Max: 105}, 0, 3, 105},
		{"never negative", Latency{Dist: "normal", Mean: 10, StdDev: 100}, 0, -3, 0},
	}
	for _, tt := range tests {
		if got := tt.l.sample(tt.u, tt.n); got != tt.want {
			t.Errorf("%s: got %v, want %v", tt.name, got, tt.want)
		}
	}
}

func TestReleaseLabel(t *testing.T) {
	for v, want := range map[int]string{31: "Summer '14", 59: "Winter '24", 60: "Spring '24", 61: "Summer '24", 62: "Winter '25", 66: "Spring '26"} {
		if got := releaseLabel(v); got != want {
			t.Errorf("%d: got %q, want %q", v, got, want)
		}
	}
}
