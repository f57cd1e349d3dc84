package telemetry

import (
	"bytes"
	"encoding/json"
	"fmt"
	"regexp"
	"strings"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
)

// Redacted replaces every redacted value.
const Redacted = "[redacted]"

// sensitiveWords are the words that make a key sensitive: a key is
// sensitive when, lower-cased and without "_", "-", "." and spaces, it
// contains one of them.
var sensitiveWords = []string{
	"secret", "password", "passwd", "passphrase", "token", "authorization",
	"apikey", "cookie", "privatekey", "sessionid",
}

// IsSensitiveKey reports whether a field, header or parameter named key
// holds a secret: its name contains secret, password, passwd, passphrase,
// token, authorization, apikey, cookie, privatekey or sessionid, ignoring
// case and the separators _ - . and space. So consumer_secret,
// client_secret, access_token, Authorization, X-Api-Key, api_key and
// X-Junifer-X-apikey are sensitive.
func IsSensitiveKey(key string) bool {
	var b [64]byte
	n := 0
	for i := 0; i < len(key); i++ {
		c := key[i]
		switch {
		case c == '_' || c == '-' || c == '.' || c == ' ':
			continue
		case c >= 'A' && c <= 'Z':
			c += 'a' - 'A'
		}
		if n == len(b) {
			return isSensitiveLong(key)
		}
		b[n] = c
		n++
	}
	norm := string(b[:n])
	for _, w := range sensitiveWords {
		if strings.Contains(norm, w) {
			return true
		}
	}
	return false
}

func isSensitiveLong(key string) bool {
	norm := strings.NewReplacer("_", "", "-", "", ".", "", " ", "").Replace(strings.ToLower(key))
	for _, w := range sensitiveWords {
		if strings.Contains(norm, w) {
			return true
		}
	}
	return false
}

// Regular expressions for the patterns that are not key=value pairs. Each
// runs only when the text holds its trigger (lower-cased).
var scrubbers = []struct {
	trigger []string // all must be present
	re      *regexp.Regexp
	repl    string
}{
	// Bearer xxx anywhere
	{[]string{"bearer"}, regexp.MustCompile(`(?i)\b(bearer)\s+[A-Za-z0-9\-._~+/!]+=*`), `${1} ` + Redacted},
	// Authorization: Bearer xxx / Authorization: Basic xxx / "Authorization":"xxx"
	{[]string{"authorization"}, regexp.MustCompile(`(?i)(\bauthorization\\?"?\s*[:=]\s*\\?"?)(?:(?:bearer|basic|digest|negotiate|ntlm)\s+)?[^\s"'\\,;&]+`), `${1}` + Redacted},
	// scheme://user:password@host
	{[]string{"://", "@"}, regexp.MustCompile(`(\b[A-Za-z][A-Za-z0-9+.\-]*://[^/\s:@]*:)[^/\s@]+@`), `${1}` + Redacted + `@`},
	// JSON Web Tokens
	{[]string{"eyj"}, regexp.MustCompile(`\beyJ[A-Za-z0-9_\-]+\.eyJ[A-Za-z0-9_\-]+\.[A-Za-z0-9_\-]*`), Redacted},
	// Salesforce session ids (access tokens): 00D<org id>!<token>
	{[]string{"00d", "!"}, regexp.MustCompile(`\b00D[A-Za-z0-9]{12,15}![A-Za-z0-9._\-]+`), Redacted},
}

// Scrub removes secrets from free text: bearer tokens, Authorization
// header values, "key":"value" JSON pairs and key=value pairs whose key is
// sensitive (see [IsSensitiveKey]), passwords in URLs, JSON Web Tokens and
// Salesforce access tokens. The rest of the text is kept. Text with none of
// these shapes costs a few substring searches.
func Scrub(s string) string {
	if len(s) < 8 {
		return s
	}
	lower := strings.ToLower(s)
	for _, sc := range scrubbers {
		run := true
		for _, t := range sc.trigger {
			if !strings.Contains(lower, t) {
				run = false
				break
			}
		}
		if run {
			s = sc.re.ReplaceAllString(s, sc.repl)
		}
	}
	for _, w := range pairTriggers {
		if strings.Contains(lower, w) {
			return scrubPairs(s)
		}
	}
	return s
}

// pairTriggers: text without any of these has no sensitive key=value pair.
var pairTriggers = []string{
	"secret", "passw", "passphrase", "token", "authorization", "api", "cookie", "private", "session",
}

func isKeyChar(c byte) bool {
	return c == '_' || c == '-' || c == '.' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
}

func isValueEnd(c byte) bool {
	switch c {
	case ' ', '\t', '\r', '\n', '&', '"', '\'', '\\', ',', ';':
		return true
	}
	return false
}

// scrubPairs redacts the value of key=value pairs and of "key":"value"
// JSON pairs (quotes optionally escaped) whose key is sensitive.
func scrubPairs(s string) string {
	var b strings.Builder
	last := 0 // s[last:] not yet copied
	for i := 0; i < len(s); i++ {
		var keyEnd, valStart int
		quoted := false
		switch s[i] {
		case '=':
			keyEnd, valStart = i, i+1
			if valStart < len(s) && s[valStart] == '"' {
				quoted = true
				valStart++
			}
		case ':':
			// "key" : "value", or \"key\":\"value\"
			k := i
			for k > 0 && (s[k-1] == ' ' || s[k-1] == '\t') {
				k--
			}
			if k == 0 || s[k-1] != '"' {
				continue
			}
			keyEnd = k - 1
			if keyEnd > 0 && s[keyEnd-1] == '\\' {
				keyEnd--
			}
			v := i + 1
			for v < len(s) && (s[v] == ' ' || s[v] == '\t') {
				v++
			}
			if v < len(s) && s[v] == '\\' {
				v++
			}
			if v >= len(s) || s[v] != '"' {
				continue
			}
			valStart = v + 1
			quoted = true
		default:
			continue
		}
		keyStart := keyEnd
		for keyStart > 0 && isKeyChar(s[keyStart-1]) {
			keyStart--
		}
		if keyStart == keyEnd || keyStart < last || !IsSensitiveKey(s[keyStart:keyEnd]) {
			continue
		}
		end := valStart
		for end < len(s) && !(quoted && (s[end] == '"' || s[end] == '\\')) && !(!quoted && isValueEnd(s[end])) {
			end++
		}
		if end == valStart || s[valStart:end] == Redacted {
			continue
		}
		b.WriteString(s[last:valStart])
		b.WriteString(Redacted)
		last = end
		i = end - 1
	}
	if last == 0 {
		return s
	}
	b.WriteString(s[last:])
	return b.String()
}

// RedactCore wraps core so that nothing it writes can carry a secret by
// accident: the value of every field whose key is sensitive
// ([IsSensitiveKey]) becomes "[redacted]", whatever its type; string
// values, error texts, Stringers, reflected values (maps, structs, as
// JSON) and the fields of object and array marshalers are scrubbed
// ([Scrub]) and their sensitive keys redacted; and so is the message.
// Fields added with With are redacted once, when added. Errors are written
// as their (scrubbed) text only: no "errorVerbose" or "errorCauses".
func RedactCore(core zapcore.Core) zapcore.Core {
	if rc, ok := core.(redactCore); ok {
		return rc
	}
	return redactCore{Core: core}
}

type redactCore struct {
	zapcore.Core
}

func (c redactCore) With(fields []zapcore.Field) zapcore.Core {
	return redactCore{Core: c.Core.With(redactFields(fields))}
}

func (c redactCore) Check(ent zapcore.Entry, ce *zapcore.CheckedEntry) *zapcore.CheckedEntry {
	if c.Enabled(ent.Level) {
		return ce.AddCore(ent, c)
	}
	return ce
}

func (c redactCore) Write(ent zapcore.Entry, fields []zapcore.Field) error {
	ent.Message = Scrub(ent.Message)
	return c.Core.Write(ent, redactFields(fields))
}

func redactFields(fields []zapcore.Field) []zapcore.Field {
	if len(fields) == 0 {
		return fields
	}
	out := make([]zapcore.Field, len(fields))
	for i, f := range fields {
		out[i] = redactField(f)
	}
	return out
}

func redactField(f zapcore.Field) zapcore.Field {
	switch f.Type {
	case zapcore.SkipType, zapcore.NamespaceType:
		return f
	}
	if IsSensitiveKey(f.Key) {
		return zap.String(f.Key, Redacted)
	}
	switch f.Type {
	case zapcore.StringType:
		f.String = Scrub(f.String)
	case zapcore.ByteStringType:
		if b, ok := f.Interface.([]byte); ok {
			if s := Scrub(string(b)); s != string(b) {
				f.Interface = []byte(s)
			}
		}
	case zapcore.ErrorType:
		if err, ok := f.Interface.(error); ok {
			f.Interface = redactedError{err}
		}
	case zapcore.StringerType:
		if s, ok := f.Interface.(fmt.Stringer); ok {
			f.Interface = redactedStringer{s}
		}
	case zapcore.ReflectType:
		f.Interface = redactedReflected{f.Interface}
	case zapcore.ObjectMarshalerType, zapcore.InlineMarshalerType:
		if m, ok := f.Interface.(zapcore.ObjectMarshaler); ok {
			f.Interface = redactedObject{m}
		}
	case zapcore.ArrayMarshalerType:
		if m, ok := f.Interface.(zapcore.ArrayMarshaler); ok {
			f.Interface = redactedArray{m}
		}
	}
	return f
}

// redactedError shows only the scrubbed text of an error.
type redactedError struct{ err error }

func (e redactedError) Error() string { return Scrub(e.err.Error()) }

type redactedStringer struct{ s fmt.Stringer }

func (r redactedStringer) String() string { return Scrub(r.s.String()) }

// redactedReflected marshals a value to JSON, then redacts it.
type redactedReflected struct{ v any }

func (r redactedReflected) MarshalJSON() ([]byte, error) {
	raw, err := json.Marshal(r.v)
	if err != nil {
		return nil, err
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var tree any
	if err := dec.Decode(&tree); err != nil {
		return nil, err
	}
	return json.Marshal(redactTree(tree))
}

func redactTree(v any) any {
	switch t := v.(type) {
	case map[string]any:
		for k, x := range t {
			if IsSensitiveKey(k) {
				t[k] = Redacted
			} else {
				t[k] = redactTree(x)
			}
		}
		return t
	case []any:
		for i, x := range t {
			t[i] = redactTree(x)
		}
		return t
	case string:
		return Scrub(t)
	default:
		return v
	}
}

type redactedObject struct{ m zapcore.ObjectMarshaler }

func (r redactedObject) MarshalLogObject(enc zapcore.ObjectEncoder) error {
	return r.m.MarshalLogObject(redactingObjectEncoder{enc})
}

type redactedArray struct{ m zapcore.ArrayMarshaler }

func (r redactedArray) MarshalLogArray(enc zapcore.ArrayEncoder) error {
	return r.m.MarshalLogArray(redactingArrayEncoder{enc})
}

// redactingObjectEncoder redacts what an ObjectMarshaler writes.
type redactingObjectEncoder struct{ zapcore.ObjectEncoder }

func (e redactingObjectEncoder) AddString(k, v string) {
	if IsSensitiveKey(k) {
		v = Redacted
	}
	e.ObjectEncoder.AddString(k, Scrub(v))
}

func (e redactingObjectEncoder) AddByteString(k string, v []byte) {
	if IsSensitiveKey(k) {
		e.ObjectEncoder.AddString(k, Redacted)
		return
	}
	e.ObjectEncoder.AddString(k, Scrub(string(v)))
}

func (e redactingObjectEncoder) AddBinary(k string, v []byte) {
	if IsSensitiveKey(k) {
		e.ObjectEncoder.AddString(k, Redacted)
		return
	}
	e.ObjectEncoder.AddBinary(k, v)
}

func (e redactingObjectEncoder) AddReflected(k string, v any) error {
	if IsSensitiveKey(k) {
		e.ObjectEncoder.AddString(k, Redacted)
		return nil
	}
	return e.ObjectEncoder.AddReflected(k, redactedReflected{v})
}

func (e redactingObjectEncoder) AddObject(k string, v zapcore.ObjectMarshaler) error {
	if IsSensitiveKey(k) {
		e.ObjectEncoder.AddString(k, Redacted)
		return nil
	}
	return e.ObjectEncoder.AddObject(k, redactedObject{v})
}

func (e redactingObjectEncoder) AddArray(k string, v zapcore.ArrayMarshaler) error {
	if IsSensitiveKey(k) {
		e.ObjectEncoder.AddString(k, Redacted)
		return nil
	}
	return e.ObjectEncoder.AddArray(k, redactedArray{v})
}

func (e redactingObjectEncoder) AddInt64(k string, v int64) {
	if IsSensitiveKey(k) {
		e.ObjectEncoder.AddString(k, Redacted)
		return
	}
	e.ObjectEncoder.AddInt64(k, v)
}

// redactingArrayEncoder scrubs what an ArrayMarshaler writes.
type redactingArrayEncoder struct{ zapcore.ArrayEncoder }

func (e redactingArrayEncoder) AppendString(v string) { e.ArrayEncoder.AppendString(Scrub(v)) }

func (e redactingArrayEncoder) AppendByteString(v []byte) {
	e.ArrayEncoder.AppendString(Scrub(string(v)))
}

func (e redactingArrayEncoder) AppendReflected(v any) error {
	return e.ArrayEncoder.AppendReflected(redactedReflected{v})
}

func (e redactingArrayEncoder) AppendObject(v zapcore.ObjectMarshaler) error {
	return e.ArrayEncoder.AppendObject(redactedObject{v})
}

func (e redactingArrayEncoder) AppendArray(v zapcore.ArrayMarshaler) error {
	return e.ArrayEncoder.AppendArray(redactedArray{v})
}
