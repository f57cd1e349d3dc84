package telemetry_test

import (
	"strings"
	"testing"

	"github.com/gentrack/gcis-bridge/bridge/telemetry"
)

// FuzzScrub checks that Scrub never panics, is idempotent, and removes a
// secret written as client_secret=<value>, "access_token":"<value>" or
// Bearer <value> whatever text surrounds it.
func FuzzScrub(f *testing.F) {
	for _, s := range []string{
		"", "plain", "Authorization: Bearer abc", "a=1&client_secret=abc", `{"access_token":"x"}`,
		`\"token\":\"x\"`, "https://u:p@h/x", "eyJa.eyJb.c", "00D5g000004SSSS!AQ4", "token==", `"":""`, "=:=\"",
	} {
		f.Add(s, "S3cretValue")
	}
	f.Fuzz(func(t *testing.T, text, secret string) {
		once := telemetry.Scrub(text)
		if twice := telemetry.Scrub(once); twice != once {
			t.Fatalf("not idempotent: %q -> %q -> %q", text, once, twice)
		}
		if len(secret) < 6 || strings.Contains(text, secret) || strings.Contains(telemetry.Redacted, secret) {
			return
		}
		for _, c := range secret {
			if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9') {
				return
			}
		}
		for _, form := range []string{
			text + " client_secret=" + secret + " " + text,
			text + ` {"access_token":"` + secret + `"} ` + text,
			text + " Bearer " + secret + " " + text,
		} {
			if out := telemetry.Scrub(form); strings.Contains(out, secret) {
				t.Fatalf("secret kept: %q -> %q", form, out)
			}
		}
	})
}
