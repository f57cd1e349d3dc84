package transform

import (
	"bytes"
	"fmt"
	"strconv"
	"unicode"
	"unicode/utf16"
	"unicode/utf8"
)

// This file holds a small strict JSON scanner (RFC 8259). It validates text
// without building values, reports the spans of keys and values, rejects
// duplicate object keys (compared after unescaping) and bounds nesting, so the
// envelope can be checked in one pass and mapped values can be rendered from
// their exact source text.

// jsonKind is the kind of a JSON value.
type jsonKind uint8

const (
	kindNone jsonKind = iota
	kindNull
	kindBool
	kindNumber
	kindString
	kindObject
	kindArray
)

// String names the kind as a person would ("number", "object", …).
func (k jsonKind) String() string {
	switch k {
	case kindNull:
		return "null"
	case kindBool:
		return "boolean"
	case kindNumber:
		return "number"
	case kindString:
		return "string"
	case kindObject:
		return "object"
	case kindArray:
		return "array"
	default:
		return "nothing"
	}
}

// maxDepth bounds the nesting of objects and arrays.
const maxDepth = 512

// syntaxError is a JSON syntax problem at a byte offset.
type syntaxError struct {
	off int
	msg string
}

func (e *syntaxError) Error() string { return e.msg + " at byte " + strconv.Itoa(e.off) }

func synErr(off int, format string, args ...any) error {
	return &syntaxError{off: off, msg: fmt.Sprintf(format, args...)}
}

func skipWS(b []byte, i int) int {
	for i < len(b) {
		switch b[i] {
		case ' ', '\t', '\n', '\r':
			i++
		default:
			return i
		}
	}
	return i
}

// describe names the byte at i for a syntax error.
func describe(b []byte, i int) string {
	if i >= len(b) {
		return "end of input"
	}
	c := b[i]
	if c >= 0x20 && c < 0x7f {
		return fmt.Sprintf("character %q", c)
	}
	return fmt.Sprintf("byte 0x%02x", c)
}

// scanValue scans the value starting at b[i] (no leading whitespace) and
// returns the offset just after it. depth is the value's nesting level (the
// top-level value has depth 0). With dup set, duplicate keys are errors.
func scanValue(b []byte, i, depth int, dup bool) (int, jsonKind, error) {
	if i >= len(b) {
		return i, kindNone, synErr(i, "unexpected end of input")
	}
	switch c := b[i]; {
	case c == '{':
		if depth >= maxDepth {
			return i, kindNone, synErr(i, "nesting deeper than %d levels", maxDepth)
		}
		var it objIter
		it.init(b, i, depth, dup)
		for {
			_, _, _, _, ok, err := it.next()
			if err != nil {
				return it.i, kindNone, err
			}
			if !ok {
				return it.i, kindObject, nil
			}
		}
	case c == '[':
		if depth >= maxDepth {
			return i, kindNone, synErr(i, "nesting deeper than %d levels", maxDepth)
		}
		it := arrIter{b: b, i: i + 1, depth: depth, dup: dup}
		for {
			_, _, _, ok, err := it.next()
			if err != nil {
				return it.i, kindNone, err
			}
			if !ok {
				return it.i, kindArray, nil
			}
		}
	case c == '"':
		end, _, err := scanString(b, i)
		return end, kindString, err
	case c == 't':
		return scanLiteral(b, i, "true", kindBool)
	case c == 'f':
		return scanLiteral(b, i, "false", kindBool)
	case c == 'n':
		return scanLiteral(b, i, "null", kindNull)
	case c == '-' || c >= '0' && c <= '9':
		end, err := scanNumber(b, i)
		return end, kindNumber, err
	default:
		return i, kindNone, synErr(i, "unexpected %s", describe(b, i))
	}
}

func scanLiteral(b []byte, i int, lit string, kind jsonKind) (int, jsonKind, error) {
	if len(b)-i >= len(lit) && string(b[i:i+len(lit)]) == lit {
		return i + len(lit), kind, nil
	}
	return i, kindNone, synErr(i, "invalid literal, want %s", lit)
}

// scanNumber scans -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?.
func scanNumber(b []byte, i int) (int, error) {
	start := i
	if b[i] == '-' {
		i++
	}
	switch {
	case i < len(b) && b[i] == '0':
		i++
	case i < len(b) && b[i] >= '1' && b[i] <= '9':
		i++
		for i < len(b) && b[i] >= '0' && b[i] <= '9' {
			i++
		}
	default:
		return i, synErr(start, "invalid number")
	}
	if i < len(b) && b[i] == '.' {
		i++
		if i >= len(b) || b[i] < '0' || b[i] > '9' {
			return i, synErr(start, "invalid number")
		}
		for i < len(b) && b[i] >= '0' && b[i] <= '9' {
			i++
		}
	}
	if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
		i++
		if i < len(b) && (b[i] == '+' || b[i] == '-') {
			i++
		}
		if i >= len(b) || b[i] < '0' || b[i] > '9' {
			return i, synErr(start, "invalid number")
		}
		for i < len(b) && b[i] >= '0' && b[i] <= '9' {
			i++
		}
	}
	return i, nil
}

func isHex(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F'
}

// scanString scans the string starting at b[i] == '"' and returns the offset
// after its closing quote and whether it has escapes. It does not check UTF-8
// (callers check the whole text once).
func scanString(b []byte, i int) (int, bool, error) {
	start := i
	esc := false
	for i++; i < len(b); i++ {
		c := b[i]
		switch {
		case c == '"':
			return i + 1, esc, nil
		case c == '\\':
			esc = true
			i++
			if i >= len(b) {
				return i, esc, synErr(start, "unterminated string")
			}
			switch b[i] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
			case 'u':
				if len(b)-i < 5 || !isHex(b[i+1]) || !isHex(b[i+2]) || !isHex(b[i+3]) || !isHex(b[i+4]) {
					return i, esc, synErr(i-1, "invalid \\u escape in string")
				}
				i += 4
			default:
				return i, esc, synErr(i-1, "invalid escape in string")
			}
		case c < 0x20:
			return i, esc, synErr(i, "control character in string")
		}
	}
	return i, esc, synErr(start, "unterminated string")
}

// keySpan is the content (without quotes) of an object key.
type keySpan struct {
	start, end int
	esc        bool
}

// objIter walks the members of one object.
type objIter struct {
	b     []byte
	i     int // offset after the last thing consumed
	depth int // the object's own depth
	n     int // members returned so far
	done  bool
	dup   bool
	keys  [16]keySpan
	set   map[string]struct{}
}

// init starts the iterator on the object at b[i] == '{'.
func (it *objIter) init(b []byte, i, depth int, dup bool) {
	it.b, it.i, it.depth, it.dup = b, i+1, depth, dup
}

// next returns the next member's key and value span, ok == false after the
// closing brace (it.i is then the offset after it).
func (it *objIter) next() (key keySpan, vs, ve int, kind jsonKind, ok bool, err error) {
	if it.done {
		return key, 0, 0, kindNone, false, nil
	}
	b := it.b
	j := skipWS(b, it.i)
	if j < len(b) && b[j] == '}' {
		it.i, it.done = j+1, true
		return key, 0, 0, kindNone, false, nil
	}
	if it.n > 0 {
		if j >= len(b) || b[j] != ',' {
			return key, 0, 0, kindNone, false, synErr(j, "unexpected %s, want ',' or '}'", describe(b, j))
		}
		j = skipWS(b, j+1)
	}
	if j >= len(b) || b[j] != '"' {
		return key, 0, 0, kindNone, false, synErr(j, "unexpected %s, want an object key", describe(b, j))
	}
	ke, esc, err := scanString(b, j)
	if err != nil {
		return key, 0, 0, kindNone, false, err
	}
	key = keySpan{start: j + 1, end: ke - 1, esc: esc}
	j = skipWS(b, ke)
	if j >= len(b) || b[j] != ':' {
		return key, 0, 0, kindNone, false, synErr(j, "unexpected %s, want ':'", describe(b, j))
	}
	vs = skipWS(b, j+1)
	ve, kind, err = scanValue(b, vs, it.depth+1, it.dup)
	if err != nil {
		return key, 0, 0, kindNone, false, err
	}
	if it.dup {
		if err := it.checkDup(key); err != nil {
			return key, 0, 0, kindNone, false, err
		}
	}
	it.i = ve
	it.n++
	return key, vs, ve, kind, true, nil
}

// checkDup records key and fails when an earlier member has the same name.
// Up to len(it.keys) keys are compared pairwise; past that a set is used.
func (it *objIter) checkDup(k keySpan) error {
	b := it.b
	if it.set == nil && it.n < len(it.keys) {
		for _, p := range it.keys[:it.n] {
			if keysEqual(b, p, k) {
				return synErr(k.start-1, "duplicate key %s", quote(unescape(b[k.start:k.end])))
			}
		}
		it.keys[it.n] = k
		return nil
	}
	if it.set == nil {
		it.set = make(map[string]struct{}, 2*len(it.keys))
		for _, p := range it.keys {
			it.set[unescape(b[p.start:p.end])] = struct{}{}
		}
	}
	name := unescape(b[k.start:k.end])
	if _, ok := it.set[name]; ok {
		return synErr(k.start-1, "duplicate key %s", quote(name))
	}
	it.set[name] = struct{}{}
	return nil
}

func keysEqual(b []byte, x, y keySpan) bool {
	if !x.esc && !y.esc {
		return bytes.Equal(b[x.start:x.end], b[y.start:y.end])
	}
	return unescape(b[x.start:x.end]) == unescape(b[y.start:y.end])
}

// keyIs reports whether key k equals name.
func keyIs(b []byte, k keySpan, name string) bool {
	if !k.esc {
		return string(b[k.start:k.end]) == name
	}
	return unescape(b[k.start:k.end]) == name
}

// arrIter walks the elements of one array.
type arrIter struct {
	b     []byte
	i     int // offset after the last thing consumed
	depth int // the array's own depth
	n     int
	done  bool
	dup   bool
}

// next returns the next element's span; ok == false after the closing bracket.
func (it *arrIter) next() (vs, ve int, kind jsonKind, ok bool, err error) {
	if it.done {
		return 0, 0, kindNone, false, nil
	}
	b := it.b
	j := skipWS(b, it.i)
	if j < len(b) && b[j] == ']' {
		it.i, it.done = j+1, true
		return 0, 0, kindNone, false, nil
	}
	if it.n > 0 {
		if j >= len(b) || b[j] != ',' {
			return 0, 0, kindNone, false, synErr(j, "unexpected %s, want ',' or ']'", describe(b, j))
		}
		j = skipWS(b, j+1)
	}
	ve, kind, err = scanValue(b, j, it.depth+1, it.dup)
	if err != nil {
		return 0, 0, kindNone, false, err
	}
	it.i = ve
	it.n++
	return j, ve, kind, true, nil
}

// validateJSON checks that b is one JSON value (surrounded only by
// whitespace), UTF-8, with no duplicate keys, and returns its kind and span.
func validateJSON(b []byte) (vs, ve int, kind jsonKind, err error) {
	if !utf8.Valid(b) {
		return 0, 0, kindNone, synErr(invalidUTF8At(b), "invalid UTF-8")
	}
	vs = skipWS(b, 0)
	ve, kind, err = scanValue(b, vs, 0, true)
	if err != nil {
		return 0, 0, kindNone, err
	}
	if end := skipWS(b, ve); end != len(b) {
		return 0, 0, kindNone, synErr(end, "unexpected %s after the top-level value", describe(b, end))
	}
	return vs, ve, kind, nil
}

func invalidUTF8At(b []byte) int {
	for i := 0; i < len(b); {
		r, n := utf8.DecodeRune(b[i:])
		if r == utf8.RuneError && n == 1 {
			return i
		}
		i += n
	}
	return len(b)
}

// unescape decodes the content of a scanned JSON string (without quotes) as
// encoding/json does: invalid surrogates become U+FFFD.
func unescape(s []byte) string {
	if bytes.IndexByte(s, '\\') < 0 {
		return string(s)
	}
	buf := make([]byte, 0, len(s))
	for i := 0; i < len(s); {
		c := s[i]
		if c != '\\' {
			buf = append(buf, c)
			i++
			continue
		}
		i++
		if i >= len(s) {
			break
		}
		switch s[i] {
		case 'b':
			buf = append(buf, '\b')
		case 'f':
			buf = append(buf, '\f')
		case 'n':
			buf = append(buf, '\n')
		case 'r':
			buf = append(buf, '\r')
		case 't':
			buf = append(buf, '\t')
		case 'u':
			r := getu4(s[i-1:])
			if r < 0 {
				return string(buf)
			}
			i += 5
			if utf16.IsSurrogate(r) {
				r2 := getu4(s[i:])
				if dec := utf16.DecodeRune(r, r2); dec != unicode.ReplacementChar {
					r = dec
					i += 6
				} else {
					r = unicode.ReplacementChar
				}
			}
			buf = utf8.AppendRune(buf, r)
			continue
		default: // '"', '\\', '/'
			buf = append(buf, s[i])
		}
		i++
	}
	return string(buf)
}

// getu4 decodes \uXXXX at the start of s, or returns -1.
func getu4(s []byte) rune {
	if len(s) < 6 || s[0] != '\\' || s[1] != 'u' {
		return -1
	}
	var r rune
	for _, c := range s[2:6] {
		switch {
		case c >= '0' && c <= '9':
			c -= '0'
		case c >= 'a' && c <= 'f':
			c = c - 'a' + 10
		case c >= 'A' && c <= 'F':
			c = c - 'A' + 10
		default:
			return -1
		}
		r = r*16 + rune(c)
	}
	return r
}

// appendCompact appends the scanned JSON value src with insignificant
// whitespace removed; string contents (and so escapes) are kept as written.
func appendCompact(dst, src []byte) []byte {
	start := 0
	for i := 0; i < len(src); i++ {
		switch src[i] {
		case ' ', '\t', '\n', '\r':
			dst = append(dst, src[start:i]...)
			start = i + 1
		case '"':
			end, _, err := scanString(src, i)
			if err != nil { // not reached for scanned input
				return append(dst, src[start:]...)
			}
			i = end - 1
		}
	}
	return append(dst, src[start:]...)
}
