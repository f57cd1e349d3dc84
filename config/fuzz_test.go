package config

import (
	"strings"
	"testing"
)

// FuzzExpandEnv checks the environment expander on arbitrary text: it
// never panics, reports errors at offsets inside the input, leaves text
// without $ alone, and EscapeEnv is its exact inverse.
func FuzzExpandEnv(f *testing.F) {
	for _, s := range []string{
		"", "plain", "${A}", "${A:-d}", "${A:-}", "$$", "$$${A}", "a$b", "$", "${", "${A", "${}", "${1A}",
		"${A-d}", "${A:-x:-y}", "x${A}y${B:-z}w", "${A:-${B}}", "$${A}", "\n${A}\n", "${ A }", "€${A}€",
	} {
		f.Add(s, "value")
	}
	f.Fuzz(func(t *testing.T, s, val string) {
		env := func(name string) (string, bool) {
			if name == "A" {
				return val, true
			}
			if name == "EMPTY" {
				return "", true
			}
			return "", false
		}
		out, errs := expandEnv(s, env)
		for _, e := range errs {
			if e.offset < 0 || e.offset >= len(s) || s[e.offset] != '$' {
				t.Fatalf("error offset %d does not point at a $ in %q", e.offset, s)
			}
			if e.msg == "" {
				t.Fatal("empty error message")
			}
		}
		if !strings.Contains(s, "$") && (out != s || len(errs) > 0) {
			t.Fatalf("text without $ changed: %q -> %q (%v)", s, out, errs)
		}
		back, errs := expandEnv(EscapeEnv(s), env)
		if back != s || len(errs) > 0 {
			t.Fatalf("EscapeEnv round trip: %q -> %q (%v)", s, back, errs)
		}
		if !strings.Contains(val, "$") && strings.Count(s, "$") == strings.Count(s, "${A}") && len(errs) == 0 {
			// Only ${A} references: each is replaced by val.
			if want := strings.ReplaceAll(s, "${A}", val); out != want {
				t.Fatalf("%q with A=%q: got %q, want %q", s, val, out, want)
			}
		}
	})
}

// FuzzParse checks that no document makes Parse panic, and that a
// document it accepts is valid.
func FuzzParse(f *testing.F) {
	f.Add([]byte("admin: {token: 0123456789abcdef0123456789abcdef}\n"))
	f.Add([]byte("delivery:\n  batch_max_bytes: 2MiB\n  linger: ${L:-1s}\nconnectors:\n  - {id: a, tenant: t}\n"))
	f.Add([]byte("a: &x [1, *x]\n"))
	f.Add([]byte("<<: {log: {level: debug}}\n"))
	f.Add([]byte("connectors:\n  - <<: [*a]\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		cfg, err := Parse("fuzz.yaml", data, func(string) (string, bool) { return "v", true })
		if err == nil {
			if cfg == nil {
				t.Fatal("nil config without error")
			}
			if verr := cfg.Validate(); verr != nil {
				t.Fatalf("accepted config does not validate: %v", verr)
			}
		}
	})
}

// FuzzParseByteSize checks that every size that parses prints back to the
// same size.
func FuzzParseByteSize(f *testing.F) {
	for _, s := range []string{"512KiB", "2MiB", "0", "1", "64 B", "2MB", "-1", "1.5KiB", "9223372036854775807", "8589934592GiB"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		b, err := ParseByteSize(s)
		if err != nil {
			return
		}
		if b < 0 {
			t.Fatalf("%q parsed to negative %d", s, b)
		}
		back, err := ParseByteSize(b.String())
		if err != nil || back != b {
			t.Fatalf("%q -> %d -> %q -> %d, %v", s, b, b.String(), back, err)
		}
	})
}
