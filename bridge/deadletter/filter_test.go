package deadletter_test

import (
	"errors"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gentrack/gcis-bridge/bridge/deadletter"
)

func TestParseClass(t *testing.T) {
	for _, c := range deadletter.Classes {
		got, err := deadletter.ParseClass(" " + string(c) + " ")
		require.NoError(t, err)
		assert.Equal(t, c, got)
	}
	got, err := deadletter.ParseClass("REJECTED")
	require.NoError(t, err)
	assert.Equal(t, deadletter.ClassRejected, got)
	for _, bad := range []string{"", "reject", "invalid,rejected", "exhausted2"} {
		_, err := deadletter.ParseClass(bad)
		assert.ErrorIs(t, err, deadletter.ErrUnknownClass, bad)
	}
}

func TestParseSeqRange(t *testing.T) {
	tests := []struct {
		in       string
		from, to uint64
		wantErr  bool
	}{
		{"10-20", 10, 20, false},
		{" 10 - 20 ", 10, 20, false},
		{"10-", 10, 0, false},
		{"-20", 0, 20, false},
		{"7", 7, 7, false},
		{"5-5", 5, 5, false},
		{"20-10", 0, 0, true},
		{"-", 0, 0, true},
		{"", 0, 0, true},
		{"0-5", 0, 0, true},
		{"a-b", 0, 0, true},
		{"1-2-3", 0, 0, true},
		{"+1-2", 0, 0, true},
		{"99999999999999999999-", 0, 0, true},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			from, to, err := deadletter.ParseSeqRange(tt.in)
			if tt.wantErr {
				assert.ErrorIs(t, err, deadletter.ErrBadRange)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.from, from)
			assert.Equal(t, tt.to, to)
		})
	}
}

func FuzzParseSeqRange(f *testing.F) {
	for _, s := range []string{"10-20", "5-", "-5", "3", "", "-", "x", "18446744073709551615-"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		from, to, err := deadletter.ParseSeqRange(s)
		if err != nil {
			return
		}
		if to != 0 && from > to {
			t.Fatalf("%q: from %d > to %d", s, from, to)
		}
		if from == 0 && to == 0 {
			t.Fatalf("%q: accepted an empty range", s)
		}
		// Re-formatting parses to the same range.
		var back string
		if from != 0 {
			back = strconv.FormatUint(from, 10)
		}
		back += "-"
		if to != 0 {
			back += strconv.FormatUint(to, 10)
		}
		f2, t2, err := deadletter.ParseSeqRange(back)
		if err != nil || f2 != from || t2 != to {
			t.Fatalf("%q -> %q -> %d-%d, %v", s, back, f2, t2, err)
		}
	})
}

func TestParseSince(t *testing.T) {
	now := time.Date(2025, 3, 4, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		in      string
		want    time.Time
		wantErr bool
	}{
		{"1h", now.Add(-time.Hour), false},
		{"90m", now.Add(-90 * time.Minute), false},
		{"2d", now.Add(-48 * time.Hour), false},
		{"0s", now, false},
		{"2025-03-04T09:15:22.481+11:00", time.Date(2025, 3, 3, 22, 15, 22, 481e6, time.UTC), false},
		{"2025-03-04T09:15:22Z", time.Date(2025, 3, 4, 9, 15, 22, 0, time.UTC), false},
		{"-1h", time.Time{}, true},
		{"-2d", time.Time{}, true},
		{"yesterday", time.Time{}, true},
		{"2025-03-04", time.Time{}, true},
		{"", time.Time{}, true},
		{"d", time.Time{}, true},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := deadletter.ParseSince(tt.in, now)
			if tt.wantErr {
				assert.ErrorIs(t, err, deadletter.ErrBadTime)
				return
			}
			require.NoError(t, err)
			assert.True(t, tt.want.Equal(got), "got %s want %s", got, tt.want)
		})
	}
}

func FuzzParseSince(f *testing.F) {
	for _, s := range []string{"1h", "2d", "2025-03-04T09:15:22Z", "", "-1h", "99999d", "1.5h"} {
		f.Add(s)
	}
	now := time.Date(2025, 3, 4, 12, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, s string) {
		got, err := deadletter.ParseSince(s, now)
		if err != nil {
			if !errors.Is(err, deadletter.ErrBadTime) {
				t.Fatalf("%q: error %v does not wrap ErrBadTime", s, err)
			}
			return
		}
		if got.IsZero() {
			t.Fatalf("%q: zero time accepted", s)
		}
	})
}

func TestFilterInput_names_the_bad_field(t *testing.T) {
	now := time.Now()
	tests := []struct {
		name  string
		in    deadletter.FilterInput
		field string
	}{
		{"class", deadletter.FilterInput{Class: []string{"rejected,bogus"}}, "class"},
		{"since", deadletter.FilterInput{Since: "yesterday"}, "since"},
		{"until", deadletter.FilterInput{Until: "soon"}, "until"},
		{"until before since", deadletter.FilterInput{Since: "1h", Until: "2h"}, "until"},
		{"seq", deadletter.FilterInput{Seq: "20-10"}, "seq"},
		{"tenant", deadletter.FilterInput{Tenant: "a.b"}, "tenant"},
		{"source", deadletter.FilterInput{Source: "ju*"}, "source"},
		{"type", deadletter.FilterInput{Type: "bill accepted"}, "type"},
		{"limit", deadletter.FilterInput{Limit: -1}, "limit"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := tt.in.Filter(now)
			var fe *deadletter.FieldError
			require.ErrorAs(t, err, &fe)
			assert.Equal(t, tt.field, fe.Field)
		})
	}
}

func TestFilterInput_parses(t *testing.T) {
	now := time.Date(2025, 3, 4, 12, 0, 0, 0, time.UTC)
	f, err := deadletter.FilterInput{
		Tenant: "acme", Source: "junifer", Type: "bill-accepted",
		Class: []string{"rejected, exhausted", "rejected", "UNMAPPED"}, ErrorCode: "X",
		Since: "1h", Until: "2025-03-04T11:30:00Z", Seq: "3-9", Limit: 5,
	}.Filter(now)
	require.NoError(t, err)
	assert.Equal(t, deadletter.Filter{
		Tenant: "acme", Source: "junifer", EventType: "bill-accepted",
		Class:     []deadletter.Class{deadletter.ClassRejected, deadletter.ClassExhausted, deadletter.ClassUnmapped},
		ErrorCode: "X", Since: now.Add(-time.Hour), Until: time.Date(2025, 3, 4, 11, 30, 0, 0, time.UTC),
		SeqFrom: 3, SeqTo: 9, Limit: 5,
	}, f)
	assert.Equal(t, "gcis.dlq.acme.junifer.bill-accepted", f.Subject("gcis.dlq"))
	assert.Equal(t, "gcis.dlq.acme.*.*", deadletter.Filter{Tenant: "acme"}.Subject("gcis.dlq"))
	assert.Equal(t, "gcis.dlq.*.*.bill-accepted", deadletter.Filter{EventType: "bill-accepted"}.Subject("gcis.dlq"))
	assert.Equal(t, "gcis.dlq.>", deadletter.Filter{Class: f.Class}.Subject("gcis.dlq"))
}
