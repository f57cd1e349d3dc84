package transform

import "bytes"

// This file walks JSON text that is already known to be valid (Decode or
// Map checked it), without re-validating: the mapping hot path.

// kindAt returns the kind of the valid JSON value starting at b[i].
func kindAt(b []byte, i int) jsonKind {
	switch b[i] {
	case '"':
		return kindString
	case '{':
		return kindObject
	case '[':
		return kindArray
	case 't', 'f':
		return kindBool
	case 'n':
		return kindNull
	}
	return kindNumber
}

// skipFast returns the offset after the valid JSON value starting at b[i].
func skipFast(b []byte, i int) int {
	switch b[i] {
	case '"':
		return skipStringFast(b, i)
	case '{', '[':
		depth := 0
		for i < len(b) {
			switch b[i] {
			case '"':
				i = skipStringFast(b, i)
				continue
			case '{', '[':
				depth++
			case '}', ']':
				depth--
				if depth == 0 {
					return i + 1
				}
			}
			i++
		}
		return i
	}
	for i < len(b) {
		switch b[i] {
		case ',', '}', ']', ' ', '\t', '\n', '\r':
			return i
		}
		i++
	}
	return i
}

// skipStringFast returns the offset after the valid string at b[i] == '"'.
func skipStringFast(b []byte, i int) int {
	i++
	for {
		j := bytes.IndexByte(b[i:], '"')
		if j < 0 {
			return len(b)
		}
		i += j
		// An escaped quote has an odd number of backslashes before it.
		n := 0
		for k := i - 1; k >= 0 && b[k] == '\\'; k-- {
			n++
		}
		i++
		if n%2 == 0 {
			return i
		}
	}
}

// member is one object member of valid JSON text.
type member struct {
	key    keySpan
	vs, ve int
}

// nextMemberFast reads the member after offset i (just after '{' or after
// the previous member's value). ok is false at the closing brace.
func nextMemberFast(b []byte, i int) (m member, ok bool) {
	i = skipWS(b, i)
	if i < len(b) && b[i] == ',' {
		i = skipWS(b, i+1)
	}
	if i >= len(b) || b[i] != '"' {
		return m, false
	}
	ke := skipStringFast(b, i)
	m.key = keySpan{start: i + 1, end: ke - 1}
	m.key.esc = bytes.IndexByte(b[m.key.start:m.key.end], '\\') >= 0
	i = skipWS(b, ke)
	if i < len(b) && b[i] == ':' {
		i++
	}
	m.vs = skipWS(b, i)
	if m.vs >= len(b) {
		return m, false
	}
	m.ve = skipFast(b, m.vs)
	return m, true
}

// nextElementFast reads the array element after offset i (just after '['
// or after the previous element). ok is false at the closing bracket.
func nextElementFast(b []byte, i int) (vs, ve int, ok bool) {
	i = skipWS(b, i)
	if i < len(b) && b[i] == ',' {
		i = skipWS(b, i+1)
	}
	if i >= len(b) || b[i] == ']' {
		return 0, 0, false
	}
	return i, skipFast(b, i), true
}

// memberFast finds the member called name in the object at b[vs].
func memberFast(b []byte, vs int, name string) (int, int, bool) {
	for i := vs + 1; ; {
		m, ok := nextMemberFast(b, i)
		if !ok {
			return 0, 0, false
		}
		if keyIs(b, m.key, name) {
			return m.vs, m.ve, true
		}
		i = m.ve
	}
}

// elementFast finds element idx (negative counts from the end) of the array
// at b[vs].
func elementFast(b []byte, vs, idx int) (int, int, bool) {
	if idx < 0 {
		n := 0
		for i := vs + 1; ; n++ {
			_, e, ok := nextElementFast(b, i)
			if !ok {
				break
			}
			i = e
		}
		if idx += n; idx < 0 {
			return 0, 0, false
		}
	}
	for i, k := vs+1, 0; ; k++ {
		s, e, ok := nextElementFast(b, i)
		if !ok {
			return 0, 0, false
		}
		if k == idx {
			return s, e, true
		}
		i = e
	}
}
