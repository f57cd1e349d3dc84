package sfsim

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"strings"
)

const base62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"

// caseSafeAlphabet maps a 5-bit upper-case mask to the suffix character.
const caseSafeAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ012345"

// Key prefixes of the simulated records.
const (
	orgKeyPrefix    = "00D"
	userKeyPrefix   = "005"
	recordKeyPrefix = "a0B" // the gtx_bu event record object
	extCredPrefix   = "0pt"
	namedCredPrefix = "0XA"
)

// CaseSafeID returns the 18-character form of a 15-character Salesforce id:
// the id followed by three characters encoding which of its letters are
// upper case (five characters per suffix character). Any other input is
// returned unchanged.
func CaseSafeID(id15 string) string {
	if len(id15) != 15 {
		return id15
	}
	var b strings.Builder
	b.Grow(18)
	b.WriteString(id15)
	for chunk := 0; chunk < 3; chunk++ {
		mask := 0
		for i := 0; i < 5; i++ {
			c := id15[chunk*5+i]
			if c >= 'A' && c <= 'Z' {
				mask |= 1 << i
			}
		}
		b.WriteByte(caseSafeAlphabet[mask])
	}
	return b.String()
}

// ValidID tells whether s is a well-formed 18-character Salesforce id whose
// suffix matches its first 15 characters.
func ValidID(s string) bool {
	if len(s) != 18 {
		return false
	}
	for i := 0; i < 15; i++ {
		if strings.IndexByte(base62, s[i]) < 0 {
			return false
		}
	}
	return CaseSafeID(s[:15]) == s
}

// base62Pad writes n in base 62, left-padded with zeros to width.
func base62Pad(n uint64, width int) string {
	buf := make([]byte, width)
	for i := width - 1; i >= 0; i-- {
		buf[i] = base62[n%62]
		n /= 62
	}
	return string(buf)
}

// hashPart derives width base-62 characters from a label, so that an org's
// ids are the same every run.
func hashPart(label string, width int) string {
	sum := sha256.Sum256([]byte(label))
	return base62Pad(binary.BigEndian.Uint64(sum[:8]), width)
}

// orgIdentity holds the derived, stable identifiers of one org.
type orgIdentity struct {
	orgID15  string
	orgID18  string
	userID18 string
	pod      string // two characters shared by the org's ids, like an instance
}

func newOrgIdentity(id string) orgIdentity {
	sum := sha256.Sum256([]byte("sfsim-org:" + id))
	// A digit then a lower-case letter, as in 00D5g…
	pod := string([]byte{'1' + sum[0]%9, 'a' + sum[1]%26})
	org15 := orgKeyPrefix + pod + "00000" + hashPart("org:"+id, 5)
	user15 := userKeyPrefix + pod + "00000" + hashPart("user:"+id, 5)
	return orgIdentity{orgID15: org15, orgID18: CaseSafeID(org15), userID18: CaseSafeID(user15), pod: pod}
}

// recordID makes the 18-character id of the n-th record with a key prefix.
func (oi orgIdentity) recordID(prefix string, n uint64) string {
	return CaseSafeID(prefix + oi.pod + base62Pad(n, 10))
}

// newAccessToken returns "<org id 15>!<opaque>", like a Salesforce session id.
func newAccessToken(orgID15 string) string {
	var raw [72]byte
	_, _ = rand.Read(raw[:])
	opaque := base64.RawURLEncoding.EncodeToString(raw[:])
	opaque = strings.NewReplacer("-", ".", "_", "_").Replace(opaque)
	return orgID15 + "!AQ" + opaque
}

// tokenSignature is base64(HMAC-SHA256(secret, id + issued_at)).
func tokenSignature(secret, identityURL, issuedAt string) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte(identityURL + issuedAt))
	return base64.StdEncoding.EncodeToString(m.Sum(nil))
}
