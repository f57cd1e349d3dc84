package config

import (
	"fmt"
	"strings"
)

// refError is a bad or unresolved ${...} reference at a byte offset of the
// expanded text.
type refError struct {
	offset int
	msg    string
}

// expandEnv replaces ${NAME} and ${NAME:-default} references in s with
// values from env, and $$ with $. Any other $ is kept. It returns the
// expanded text and every reference it could not resolve; an unresolved
// reference expands to nothing.
func expandEnv(s string, env func(string) (string, bool)) (string, []refError) {
	if strings.IndexByte(s, '$') < 0 {
		return s, nil
	}
	var (
		b    strings.Builder
		errs []refError
	)
	b.Grow(len(s))
	for i := 0; i < len(s); {
		c := s[i]
		if c != '$' || i+1 == len(s) {
			b.WriteByte(c)
			i++
			continue
		}
		switch s[i+1] {
		case '$':
			b.WriteByte('$')
			i += 2
		case '{':
			end := strings.IndexByte(s[i+2:], '}')
			if end < 0 {
				errs = append(errs, refError{i, fmt.Sprintf("unterminated reference %q: missing }", truncate(s[i:], 40))})
				return b.String(), errs
			}
			body := s[i+2 : i+2+end]
			name, def, hasDef := strings.Cut(body, ":-")
			switch {
			case !validEnvName(name):
				errs = append(errs, refError{i, fmt.Sprintf("invalid reference ${%s}: write ${NAME} or ${NAME:-default} (NAME of letters, digits and _), or $$ for a literal $", truncate(body, 40))})
			default:
				v, ok := env(name)
				switch {
				case ok && (v != "" || !hasDef):
					b.WriteString(v)
				case hasDef:
					b.WriteString(def)
				default:
					errs = append(errs, refError{i, fmt.Sprintf("environment variable %s is not set (write ${%s:-default} to give a default)", name, name)})
				}
			}
			i += 2 + end + 1
		default:
			b.WriteByte('$')
			i++
		}
	}
	return b.String(), errs
}

func validEnvName(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '_', c >= 'A' && c <= 'Z', c >= 'a' && c <= 'z':
		case c >= '0' && c <= '9' && i > 0:
		default:
			return false
		}
	}
	return true
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

// EscapeEnv returns s with every $ doubled, so that expansion gives s back.
// Use it to write literal values into a configuration file.
func EscapeEnv(s string) string { return strings.ReplaceAll(s, "$", "$$") }
