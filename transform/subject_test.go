package transform_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gentrack/gcis-bridge/transform"
)

func TestParseSubject(t *testing.T) {
	tests := []struct {
		name    string
		prefix  string
		subject string
		want    transform.Subject
		reason  string
	}{
		{name: "uuid tenant", subject: "gcis.events.7c1d9a52-3b64-4f0e-9d7a-51c8a0f4e2b9.velocity.bill-ready",
			want: transform.Subject{Tenant: "7c1d9a52-3b64-4f0e-9d7a-51c8a0f4e2b9", Source: "velocity", EventType: "bill-ready"}},
		{name: "junifer", subject: "gcis.events.acme_energy.junifer.meter-point-supply-started",
			want: transform.Subject{Tenant: "acme_energy", Source: "junifer", EventType: "meter-point-supply-started"}},
		{name: "unknown source is left to Decode", subject: "gcis.events.t1.sap.bill-ready",
			want: transform.Subject{Tenant: "t1", Source: "sap", EventType: "bill-ready"}},
		{name: "custom prefix", prefix: "staging.gcis", subject: "staging.gcis.T-1.junifer.x1",
			want: transform.Subject{Tenant: "T-1", Source: "junifer", EventType: "x1"}},
		{name: "64-character tenant", subject: "gcis.events." + strings.Repeat("a", 64) + ".junifer.x",
			want: transform.Subject{Tenant: strings.Repeat("a", 64), Source: "junifer", EventType: "x"}},

		{name: "wrong prefix", subject: "gcis.dlq.t1.junifer.bill-accepted",
			reason: `subject "gcis.dlq.t1.junifer.bill-accepted": want gcis.events.<tenant>.<source>.<eventType>`},
		{name: "prefix only", subject: "gcis.events",
			reason: `subject "gcis.events": want gcis.events.<tenant>.<source>.<eventType>`},
		{name: "missing token", subject: "gcis.events.t1.junifer",
			reason: `subject "gcis.events.t1.junifer": want gcis.events.<tenant>.<source>.<eventType>`},
		{name: "extra token", subject: "gcis.events.t1.junifer.bill.accepted",
			reason: `subject "gcis.events.t1.junifer.bill.accepted": want gcis.events.<tenant>.<source>.<eventType>`},
		{name: "empty tenant", subject: "gcis.events..junifer.bill-accepted",
			reason: `subject "gcis.events..junifer.bill-accepted": tenant "" must be 1-64 characters of [A-Za-z0-9_-]`},
		{name: "tenant too long", subject: "gcis.events." + strings.Repeat("a", 65) + ".junifer.x",
			reason: fmt.Sprintf(`subject %q…: tenant %q…`, ("gcis.events." + strings.Repeat("a", 65))[:64], strings.Repeat("a", 64)) + ` must be 1-64 characters of [A-Za-z0-9_-]`},
		{name: "tenant with a space", subject: "gcis.events.a b.junifer.x",
			reason: `subject "gcis.events.a b.junifer.x": tenant "a b" must be 1-64 characters of [A-Za-z0-9_-]`},
		{name: "upper-case source", subject: "gcis.events.t1.Junifer.x",
			reason: `subject "gcis.events.t1.Junifer.x": source "Junifer" must be 1-32 characters of [a-z0-9_-]`},
		{name: "camelCase event type", subject: "gcis.events.t1.junifer.billAccepted",
			reason: `subject "gcis.events.t1.junifer.billAccepted": event type "billAccepted" must be kebab-case`},
		{name: "wildcard", subject: "gcis.events.t1.junifer.*",
			reason: `subject "gcis.events.t1.junifer.*": event type "*" must be kebab-case`},
		{name: "trailing dash", subject: "gcis.events.t1.junifer.bill-",
			reason: `subject "gcis.events.t1.junifer.bill-": event type "bill-" must be kebab-case`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := transform.ParseSubject(tt.prefix, tt.subject)
			if tt.reason == "" {
				require.NoError(t, err)
				assert.Equal(t, tt.want, got)
				return
			}
			var te *transform.Error
			require.ErrorAs(t, err, &te)
			assert.Equal(t, transform.ClassInvalid, te.Class)
			assert.Equal(t, tt.reason, te.Reason)
		})
	}
}

func TestClassOf(t *testing.T) {
	base := &transform.Error{Class: transform.ClassUnmapped, Reason: "no mapping"}
	tests := []struct {
		name   string
		err    error
		class  transform.Class
		wantOK bool
	}{
		{"direct", base, transform.ClassUnmapped, true},
		{"wrapped", fmt.Errorf("map: %w", base), transform.ClassUnmapped, true},
		{"joined", errors.Join(errors.New("other"), base), transform.ClassUnmapped, true},
		{"plain error", errors.New("boom"), "", false},
		{"nil", nil, "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			class, ok := transform.ClassOf(tt.err)
			assert.Equal(t, tt.wantOK, ok)
			assert.Equal(t, tt.class, class)
		})
	}
	assert.Equal(t, "unmapped: no mapping", base.Error())
}
