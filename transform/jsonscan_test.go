package transform

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// jsonSamples are texts the scanner must judge as encoding/json does
// (duplicate keys aside, which encoding/json accepts and we refuse).
var jsonSamples = []string{
	`{}`, `[]`, `0`, `-0`, `1.5e+3`, `-0.0E-0`, `"x"`, `true`, `false`, `null`,
	` { "a" : [ 1 , 2 , { "b" : null } ] } `,
	`{"a":"\u00e9\ud83d\ude00\n\t\"\\\/\b\f\r"}`,
	`{"a":"\ud800"}`, `{"a":"\udc00\ud800x"}`,
	`01`, `1.`, `.5`, `+1`, `1e`, `1e+`, `-`, `--1`, `0x10`, `1.5.5`, `NaN`, `Infinity`,
	`{`, `}`, `[`, `]`, `[1,]`, `[,1]`, `[1 2]`, `{"a"}`, `{"a":}`, `{"a":1,}`, `{,"a":1}`, `{"a" 1}`, `{a:1}`,
	`{"a":1}}`, `[1]]`, `"abc`, `"\x"`, `"\u12"`, `"\u12g4"`, "\"a\tb\"", "\"a\x00b\"", `tru`, `nul`, `falsey`,
	`"\ud83d"`, "\"\xff\"", "{\"a\":1}\x00", "\xef\xbb\xbf{}", ``, ` `, `{} {}`, `[] x`,
}

func TestValidateJSON_agrees_with_encoding_json(t *testing.T) {
	for _, s := range jsonSamples {
		_, _, kind, err := validateJSON([]byte(s))
		// encoding/json accepts invalid UTF-8 inside strings; the contract wants UTF-8.
		want := json.Valid([]byte(s)) && utf8.ValidString(s)
		assert.Equal(t, want, err == nil, "%q: %v", s, err)
		if err == nil {
			assert.NotEqual(t, kindNone, kind)
		}
	}
}

func TestValidateJSON_duplicate_keys(t *testing.T) {
	tests := []struct {
		name string
		text string
		dup  bool
	}{
		{"distinct", `{"a":1,"b":2}`, false},
		{"plain duplicate", `{"a":1,"b":2,"a":3}`, true},
		{"escaped duplicate", `{"é":1,"\u00e9":2}`, true},
		{"escape makes them differ", `{"a":1,"\u0062":2}`, false},
		{"nested duplicate", `{"a":{"x":1,"x":2}}`, true},
		{"same key in sibling objects", `[{"x":1},{"x":2}]`, false},
		{"same key at two levels", `{"x":{"x":1}}`, false},
		{"duplicate after many keys (set path)", `{` + manyKeys(40) + `,"k7":0}`, true},
		{"escaped duplicate after many keys", `{` + manyKeys(40) + `,"k\u0037":0}`, true},
		{"many distinct keys", `{` + manyKeys(40) + `}`, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			require.True(t, json.Valid([]byte(tt.text)))
			_, _, _, err := validateJSON([]byte(tt.text))
			if tt.dup {
				require.Error(t, err)
				assert.Contains(t, err.Error(), "duplicate key")
			} else {
				assert.NoError(t, err)
			}
		})
	}
}

func manyKeys(n int) string {
	var b strings.Builder
	for i := range n {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(`"k` + string(rune('0'+i/10)) + string(rune('0'+i%10)) + `":1`)
	}
	return strings.ReplaceAll(b.String(), `"k0`, `"k`)
}

func TestValidateJSON_depth(t *testing.T) {
	ok := strings.Repeat("[", maxDepth) + strings.Repeat("]", maxDepth)
	_, _, _, err := validateJSON([]byte(ok))
	assert.NoError(t, err)
	deep := strings.Repeat("[", maxDepth+1) + strings.Repeat("]", maxDepth+1)
	_, _, _, err = validateJSON([]byte(deep))
	require.Error(t, err)
	assert.Contains(t, err.Error(), "nesting deeper than 512 levels")
	deepObj := strings.Repeat(`{"a":`, maxDepth+1) + "1" + strings.Repeat("}", maxDepth+1)
	_, _, _, err = validateJSON([]byte(deepObj))
	assert.Error(t, err)
}

func TestUnescape_agrees_with_encoding_json(t *testing.T) {
	for _, s := range []string{
		`plain`, `a\"b`, `\\\/\b\f\n\r\t`, `\u00e9`, `\u00E9`, `\ud83d\ude00`, `\ud83d`, `\ud83dx`, `\ude00`,
		`\ud83d\u0041`, `\ud83d\ud83d\ude00`, `x\u0000y`, `é€😀`, `\u2028`,
	} {
		var want string
		require.NoError(t, json.Unmarshal([]byte(`"`+s+`"`), &want), s)
		assert.Equal(t, want, unescape([]byte(s)), s)
	}
}

func TestAppendCompact_agrees_with_encoding_json(t *testing.T) {
	for _, s := range jsonSamples {
		vs, ve, _, err := validateJSON([]byte(s))
		if err != nil {
			continue
		}
		var want bytes.Buffer
		require.NoError(t, json.Compact(&want, []byte(s)))
		assert.Equal(t, want.String(), string(appendCompact(nil, []byte(s)[vs:ve])), "%q", s)
	}
}

func TestVersions(t *testing.T) {
	tests := []struct {
		a, b string
		want int
	}{
		{"4.13", "4.13", 0}, {"4.13.0", "4.13", 0}, {"4.9", "4.13", -1}, {"4.100", "4.13", 1},
		{"5", "4.13", 1}, {"6", "6.0", 0}, {"6.0.0.1", "6.0", 1}, {"007", "7", 0},
		{"99999999999999999999999", "4.13", 1}, {"0.0.0", "6.0", -1},
	}
	for _, tt := range tests {
		a, ok := parseSourceVersion(tt.a)
		require.True(t, ok)
		b, ok := parseSourceVersion(tt.b)
		require.True(t, ok)
		assert.Equal(t, tt.want, compareVersions(a, b), "%s vs %s", tt.a, tt.b)
	}
	for _, s := range []string{"", "v1", ".1", "-1", "x4.13"} {
		_, ok := parseSourceVersion(s)
		assert.False(t, ok, s)
	}
	parts, ok := parseSourceVersion("4.13.2-rc1.5")
	require.True(t, ok)
	assert.Equal(t, []string{"4", "13", "2"}, parts)
	parts, _ = parseSourceVersion("4.13.")
	assert.Equal(t, []string{"4", "13"}, parts)
}
