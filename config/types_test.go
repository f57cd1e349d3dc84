package config_test

import (
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.yaml.in/yaml/v3"

	"github.com/gentrack/gcis-bridge/config"
)

func TestParseByteSize(t *testing.T) {
	tests := []struct {
		in      string
		want    config.ByteSize
		wantErr string
	}{
		{"512KiB", 512 * 1024, ""},
		{"2MiB", 2 << 20, ""},
		{"5MiB", 5 << 20, ""},
		{"1GiB", 1 << 30, ""},
		{"1048576", 1 << 20, ""},
		{"0", 0, ""},
		{"64B", 64, ""},
		{"64 b", 64, ""},
		{" 2 mib ", 2 << 20, ""},
		{"2KIB", 2048, ""},
		{"2MB", 0, `unit "MB" in "2MB" is ambiguous: use MiB (1024 KiB)`},
		{"2mb", 0, `unit "mb" in "2mb" is ambiguous: use MiB (1024 KiB)`},
		{"512KB", 0, `unit "KB" in "512KB" is ambiguous: use KiB (1024 bytes)`},
		{"512k", 0, `unit "k" in "512k" is ambiguous: use KiB (1024 bytes)`},
		{"1G", 0, `unit "G" in "1G" is ambiguous: use GiB (1024 MiB)`},
		{"1.5MiB", 0, `must be a whole number of bytes or of a unit, got "1.5MiB"`},
		{"2TiB", 0, `unknown unit "TiB" in "2TiB": use B, KiB, MiB or GiB`},
		{"-1", 0, `must not be negative, got "-1"`},
		{"MiB", 0, `must be a size such as 512KiB or 2MiB, got "MiB"`},
		{"", 0, "must be a size such as 512KiB or 2MiB"},
		{"99999999999999999999", 0, `size "99999999999999999999" is too large`},
		{"9999999999999GiB", 0, `size "9999999999999GiB" is too large`},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := config.ParseByteSize(tt.in)
			if tt.wantErr != "" {
				require.EqualError(t, err, tt.wantErr)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.want, got)
		})
	}
}

func TestByteSize_String_and_round_trips(t *testing.T) {
	tests := []struct {
		in   config.ByteSize
		want string
	}{
		{0, "0B"}, {1, "1B"}, {1000, "1000B"}, {1024, "1KiB"}, {1536, "1536B"},
		{512 * config.KiB, "512KiB"}, {2 * config.MiB, "2MiB"}, {config.GiB, "1GiB"}, {1536 * config.KiB, "1536KiB"},
	}
	for _, tt := range tests {
		t.Run(tt.want, func(t *testing.T) {
			assert.Equal(t, tt.want, tt.in.String())
			back, err := config.ParseByteSize(tt.in.String())
			require.NoError(t, err)
			assert.Equal(t, tt.in, back)

			j, err := json.Marshal(tt.in)
			require.NoError(t, err)
			assert.JSONEq(t, `"`+tt.want+`"`, string(j))
			var fromJSON config.ByteSize
			require.NoError(t, json.Unmarshal(j, &fromJSON))
			assert.Equal(t, tt.in, fromJSON)

			y, err := yaml.Marshal(map[string]config.ByteSize{"s": tt.in})
			require.NoError(t, err)
			var fromYAML map[string]config.ByteSize
			require.NoError(t, yaml.Unmarshal(y, &fromYAML))
			assert.Equal(t, tt.in, fromYAML["s"])
		})
	}
	var n config.ByteSize
	require.NoError(t, json.Unmarshal([]byte(`2097152`), &n), "a JSON number is bytes")
	assert.Equal(t, 2*config.MiB, n)
	require.Error(t, json.Unmarshal([]byte(`"2MB"`), &n))
	require.NoError(t, json.Unmarshal([]byte(`null`), &n))
	assert.Equal(t, 2*config.MiB, n, "null leaves the value")
}

func TestDuration(t *testing.T) {
	tests := []struct {
		in      string
		want    time.Duration
		wantErr string
	}{
		{"100ms", 100 * time.Millisecond, ""},
		{"30s", 30 * time.Second, ""},
		{"5m", 5 * time.Minute, ""},
		{"720h", 720 * time.Hour, ""},
		{"1h30m", 90 * time.Minute, ""},
		{"0", 0, ""},
		{"-1s", -time.Second, ""},
		{"100", 0, `duration "100" needs a unit, e.g. 100s or 100ms`},
		{"1.5", 0, `duration "1.5" needs a unit, e.g. 1.5s or 1.5ms`},
		{"7d", 0, `must be a duration such as 100ms, 30s or 5m, got "7d"`},
		{"", 0, `must be a duration such as 100ms, 30s or 5m, got ""`},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			var d config.Duration
			err := d.UnmarshalText([]byte(tt.in))
			if tt.wantErr != "" {
				require.EqualError(t, err, tt.wantErr)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.want, d.Std())
			j, err := json.Marshal(d)
			require.NoError(t, err)
			var back config.Duration
			require.NoError(t, json.Unmarshal(j, &back))
			assert.Equal(t, d, back)
		})
	}
}

func TestSecret_is_redacted_in_every_printed_form(t *testing.T) {
	const value = "hunter2-S3CR3T"
	s := config.Secret(value)
	k := config.Connector{ID: "a", ConsumerKey: "ck-" + value, ConsumerSecret: s,
		GentrackAPI: config.GentrackAPI{Headers: map[string]config.Secret{"X-Api-Key": s}}}
	c := config.Default()
	c.Admin.Token = s
	c.Connectors = []config.Connector{k}

	printed := []string{
		s.String(), s.GoString(),
		fmt.Sprint(s), fmt.Sprintf("%s|%v|%+v|%#v|%q|%x|%X|%d|%10s", s, s, s, s, s, s, s, s, s),
		fmt.Sprintf("%v", k), fmt.Sprintf("%+v", k), fmt.Sprintf("%#v", k),
		fmt.Sprintf("%+v", c), fmt.Sprintf("%#v", c), fmt.Sprintf("%v", *c),
	}
	j, err := json.Marshal(c)
	require.NoError(t, err)
	printed = append(printed, string(j))
	y, err := yaml.Marshal(c)
	require.NoError(t, err)
	printed = append(printed, string(y))
	for _, p := range printed {
		assert.NotContains(t, p, "S3CR3T")
		assert.NotContains(t, p, "hunter2")
	}
	assert.Equal(t, `"[redacted]"`, fmt.Sprintf("%q", s))
	assert.Contains(t, string(j), `"consumer_secret":"[redacted]"`)
	assert.Equal(t, value, s.Reveal())
	assert.True(t, s.IsSet())
	assert.False(t, config.Secret("").IsSet())

	var back config.Secret
	require.NoError(t, json.Unmarshal([]byte(`"abc"`), &back))
	assert.Equal(t, "abc", back.Reveal())
	require.NoError(t, json.Unmarshal([]byte(`null`), &back))
	assert.Equal(t, "abc", back.Reveal(), "null leaves the value")
	require.Error(t, json.Unmarshal([]byte(`12`), &back))
}
