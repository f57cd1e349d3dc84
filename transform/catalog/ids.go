package catalog

import (
	"errors"
	"fmt"
)

// ErrInvalidIdentifier is returned (wrapped) by the check-digit functions
// when their input has the wrong length or characters. Match it with
// errors.Is.
var ErrInvalidIdentifier = errors.New("invalid identifier")

// mpanWeights are the published MPAN core check-digit weights: the primes
// from 3 to 43 without 11, one per digit of the first 12.
var mpanWeights = [12]int{3, 5, 7, 13, 17, 19, 23, 29, 31, 37, 41, 43}

// MPANCoreCheckDigit returns the check digit (an ASCII digit) of a UK MPAN
// core from its first 12 digits: each digit is multiplied by its weight
// (3, 5, 7, 13, 17, 19, 23, 29, 31, 37, 41, 43), and the check digit is the
// sum modulo 11, modulo 10. An input that is not exactly 12 ASCII digits
// returns an error wrapping [ErrInvalidIdentifier].
func MPANCoreCheckDigit(first12 string) (byte, error) {
	if len(first12) != 12 || !allDigits(first12) {
		return 0, fmt.Errorf("mpan core %q: want 12 digits before the check digit: %w", first12, ErrInvalidIdentifier)
	}
	sum := 0
	for i := range 12 {
		sum += int(first12[i]-'0') * mpanWeights[i]
	}
	return byte('0' + sum%11%10), nil
}

// ValidMPANCore reports whether s is a 13-digit UK MPAN core whose last
// digit is the check digit of the first 12 (see [MPANCoreCheckDigit]). It
// checks the published check rule only, not whether the distributor id is
// assigned.
//
// The rule does not catch every single-digit error: a change that moves the
// weighted sum between residues 0 and 10 modulo 11 keeps the check digit 0.
func ValidMPANCore(s string) bool {
	if len(s) != 13 {
		return false
	}
	c, err := MPANCoreCheckDigit(s[:12])
	return err == nil && c == s[12]
}

// MPRNCheckDigits returns the two check digits of a UK gas MPRN from its
// body (every digit but the last two, 4 to 8 digits): each body digit is
// multiplied by its position counted from the right (the rightmost body
// digit by 1), and the check is the sum modulo 11 written as two digits
// ("00" to "10"). An invalid body returns an error wrapping
// [ErrInvalidIdentifier].
func MPRNCheckDigits(body string) (string, error) {
	if len(body) < 4 || len(body) > 8 || !allDigits(body) {
		return "", fmt.Errorf("mprn body %q: want 4 to 8 digits before the check digits: %w", body, ErrInvalidIdentifier)
	}
	n := len(body)
	sum := 0
	for i := range n {
		sum += int(body[i]-'0') * (n - i)
	}
	r := sum % 11
	return string([]byte{byte('0' + r/10), byte('0' + r%10)}), nil
}

// ValidMPRN reports whether s is a UK gas MPRN of 6 to 10 digits whose last
// two digits are the check digits of the rest (see [MPRNCheckDigits]).
// Because every weight is between 1 and 8 and 11 is prime, the rule catches
// every single-digit error.
func ValidMPRN(s string) bool {
	if len(s) < 6 || len(s) > 10 {
		return false
	}
	c, err := MPRNCheckDigits(s[:len(s)-2])
	return err == nil && c == s[len(s)-2:]
}

// NMIChecksum returns the checksum digit (an ASCII digit) of an Australian
// NMI from its first 10 characters, as in AEMO's National Metering
// Identifier Procedure: take the ASCII code of each character, double every
// other one starting with the rightmost, add up the decimal digits of all
// the results, and the checksum is the distance from that sum up to the
// next multiple of 10. The 10 characters must be digits or upper-case
// letters other than I and O; anything else returns an error wrapping
// [ErrInvalidIdentifier].
func NMIChecksum(first10 string) (byte, error) {
	if len(first10) != 10 {
		return 0, fmt.Errorf("nmi %q: want 10 characters before the checksum: %w", first10, ErrInvalidIdentifier)
	}
	sum := 0
	double := true
	for i := 9; i >= 0; i-- {
		c := first10[i]
		if !nmiChar(c) {
			return 0, fmt.Errorf("nmi %q: character %q not allowed: %w", first10, c, ErrInvalidIdentifier)
		}
		v := int(c)
		if double {
			v *= 2
		}
		double = !double
		for v > 0 {
			sum += v % 10
			v /= 10
		}
	}
	return byte('0' + (10-sum%10)%10), nil
}

// ValidNMI reports whether s is an 11-character Australian NMI (10
// characters then the checksum digit of [NMIChecksum]). The AEMO checksum
// misses some single-character errors (for example '0' and '9' in an
// undoubled position give the same digit sum modulo 10).
func ValidNMI(s string) bool {
	if len(s) != 11 {
		return false
	}
	c, err := NMIChecksum(s[:10])
	return err == nil && c == s[10]
}

// ValidICP reports whether s has the format of a New Zealand ICP
// identifier (Electricity Industry Participation Code, Schedule 11.1):
// 10 digits, a 2-letter distributor code and a 3-character checksum of
// digits and upper-case letters, 15 characters in all. It checks the format
// only: the checksum algorithm is not verified here, so a format-valid ICP
// may still be rejected by the registry.
func ValidICP(s string) bool {
	if len(s) != 15 {
		return false
	}
	if !allDigits(s[:10]) {
		return false
	}
	for i := 10; i < 12; i++ {
		if s[i] < 'A' || s[i] > 'Z' {
			return false
		}
	}
	for i := 12; i < 15; i++ {
		if !upperAlnum(s[i]) {
			return false
		}
	}
	return true
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

func upperAlnum(c byte) bool {
	return (c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z')
}

// nmiChar reports whether c may appear in the first 10 characters of an
// NMI: digits and upper-case letters except I and O.
func nmiChar(c byte) bool {
	return upperAlnum(c) && c != 'I' && c != 'O'
}

// abnValid reports whether s is an 11-digit Australian Business Number
// passing the ATO check: subtract 1 from the first digit, weight the digits
// by 10, 1, 3, 5, ..., 19 and the sum must be divisible by 89.
func abnValid(s string) bool {
	if len(s) != 11 || !allDigits(s) || s[0] == '0' {
		return false
	}
	return abnSum(s)%89 == 0
}

var abnWeights = [11]int{10, 1, 3, 5, 7, 9, 11, 13, 15, 17, 19}

func abnSum(s string) int {
	sum := 0
	for i := range 11 {
		d := int(s[i] - '0')
		if i == 0 {
			d--
		}
		sum += d * abnWeights[i]
	}
	return sum
}

// abnFromBody returns a valid ABN ending in the 9 digits of body by choosing
// its first two digits (10 to 98).
func abnFromBody(body string) string {
	s := []byte("10" + body)
	r := abnSum(string(s)) % 89
	n := 10 + (89-r)%89 // raising the first two digits by k adds k to the sum
	s[0] = byte('0' + n/10)
	s[1] = byte('0' + n%10)
	return string(s)
}

// gs1CheckDigit returns the GS1 (GTIN/GLN, used by the NZBN) check digit of
// the digits in body: weights 3 and 1 alternating from the right.
func gs1CheckDigit(body string) byte {
	sum := 0
	w := 3
	for i := len(body) - 1; i >= 0; i-- {
		sum += int(body[i]-'0') * w
		w = 4 - w
	}
	return byte('0' + (10-sum%10)%10)
}
