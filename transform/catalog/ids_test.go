package catalog_test

import (
	"errors"
	"math/rand/v2"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gentrack/gcis-bridge/transform/catalog"
)

// idsMPANWeights is the published weight table, written out again here so
// the test does not borrow it from the code under test.
var idsMPANWeights = []int{3, 5, 7, 13, 17, 19, 23, 29, 31, 37, 41, 43}

func idsMPANResidue(first12 string) int {
	sum := 0
	for i := range 12 {
		sum += int(first12[i]-'0') * idsMPANWeights[i]
	}
	return sum % 11
}

func TestValidMPANCore_published_values(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want bool
	}{
		// Published in the documentation of the open-source "mpan" parser
		// (limejump/mpan): a valid core, the same with a bad checksum, and
		// the core of its 21-digit example.
		{"limejump valid", "2499999999991", true},
		{"limejump bad checksum", "2499999999990", false},
		{"limejump long-form core", "1312345678907", true},
		// Computed examples of gentrack.md §6.
		{"gentrack.md 1", "1012345678903", true},
		{"gentrack.md 2", "1611002345678", true},
		{"gentrack.md 3", "2300009876540", true},
		{"gentrack.md 4", "1412345678121", true},
		{"check digit off by one", "1012345678904", false},
		{"transposed digits", "1021345678903", false},
		{"12 digits", "101234567890", false},
		{"14 digits", "10123456789031", false},
		{"letter", "10123456789O3", false},
		{"empty", "", false},
		{"spaces", "10 1234 5678 903", false},
		{"full 21-digit MPAN", "001112221312345678907", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, catalog.ValidMPANCore(tt.in))
		})
	}
}

func TestMPANCoreCheckDigit(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		want    byte
		wantErr error
	}{
		{"limejump", "249999999999", '1', nil},
		{"gentrack.md", "101234567890", '3', nil},
		{"residue 10 gives 0", "230000987654", '0', nil},
		{"too short", "10123456789", 0, catalog.ErrInvalidIdentifier},
		{"too long", "1012345678901", 0, catalog.ErrInvalidIdentifier},
		{"not digits", "10123456789A", 0, catalog.ErrInvalidIdentifier},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := catalog.MPANCoreCheckDigit(tt.in)
			if tt.wantErr != nil {
				require.ErrorIs(t, err, tt.wantErr)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, string(tt.want), string(got))
		})
	}
}

// A generated core validates, changing its check digit always invalidates
// it, and changing one of the first 12 digits invalidates it unless the
// weighted sum moves between residues 0 and 10 (both give check digit 0).
func TestMPANCore_single_digit_changes(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for range 300 {
		first := idsDigits(r, 12)
		c, err := catalog.MPANCoreCheckDigit(first)
		require.NoError(t, err)
		core := first + string(c)
		require.True(t, catalog.ValidMPANCore(core), core)
		for pos := range 13 {
			for d := byte('0'); d <= '9'; d++ {
				if d == core[pos] {
					continue
				}
				changed := core[:pos] + string(d) + core[pos+1:]
				if pos < 12 {
					a, b := idsMPANResidue(core[:12]), idsMPANResidue(changed[:12])
					if (a == 0 || a == 10) && (b == 0 || b == 10) {
						assert.True(t, catalog.ValidMPANCore(changed), "%s: residues %d and %d share check digit 0", changed, a, b)
						continue
					}
				}
				assert.False(t, catalog.ValidMPANCore(changed), "%s (from %s) must be invalid", changed, core)
			}
		}
	}
}

func TestValidMPRN(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want bool
	}{
		{"published example (gentrack.md §6)", "3938424403", true},
		{"gentrack.md 1", "7462819310", true},
		{"gentrack.md 2", "9182736403", true},
		{"six digits", "123409", true}, // 1*4+2*3+3*2+4*1 = 20; 20 mod 11 = 9
		{"six digits wrong check", "123456", false},
		{"check off by one", "3938424404", false},
		{"check as residue 10", "7462819311", false},
		{"five digits", "12340", false},
		{"eleven digits", "39384244031", false},
		{"letter", "39384244A3", false},
		{"empty", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, catalog.ValidMPRN(tt.in))
		})
	}
	_, err := catalog.MPRNCheckDigits("123")
	require.ErrorIs(t, err, catalog.ErrInvalidIdentifier)
	_, err = catalog.MPRNCheckDigits("1234x")
	require.ErrorIs(t, err, catalog.ErrInvalidIdentifier)
}

// Every weight is 1..8 and 11 is prime, so any single-digit change of an
// MPRN invalidates it.
func TestMPRN_single_digit_changes(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	for range 300 {
		body := idsDigits(r, 4+r.IntN(5))
		c, err := catalog.MPRNCheckDigits(body)
		require.NoError(t, err)
		mprn := body + c
		require.True(t, catalog.ValidMPRN(mprn), mprn)
		for pos := range len(mprn) {
			for d := byte('0'); d <= '9'; d++ {
				if d == mprn[pos] {
					continue
				}
				changed := mprn[:pos] + string(d) + mprn[pos+1:]
				assert.False(t, catalog.ValidMPRN(changed), "%s (from %s)", changed, mprn)
			}
		}
	}
}

// The examples of AEMO's National Metering Identifier Procedure (as
// reproduced in several open-source NMI libraries).
var idsAEMOExamples = []struct {
	nmi      string
	checksum byte
}{
	{"2001985732", '8'}, {"2001985733", '6'}, {"3075621875", '8'}, {"3075621876", '6'},
	{"4316854005", '9'}, {"4316854006", '7'}, {"6305888444", '6'}, {"6350888444", '2'},
	{"7001888333", '8'}, {"7102000001", '7'}, {"NAAAMYS582", '6'}, {"NBBBX11110", '0'},
	{"NBBBX11111", '8'}, {"NCCC519495", '5'}, {"NGGG000055", '4'}, {"QAAAVZZZZZ", '3'},
	{"QCDWW00010", '2'}, {"SMVEW00085", '8'}, {"VAAA000065", '7'}, {"VAAA000066", '5'},
	{"VAAA000067", '2'}, {"VAAASTY576", '8'}, {"VCCCX00009", '1'}, {"VEEEX00009", '1'},
	{"VKTS786150", '2'}, {"VKTS867150", '5'}, {"VKTS871650", '7'}, {"VKTS876105", '7'},
	{"VKTS876150", '3'}, {"VKTS876510", '8'},
}

func TestNMIChecksum_AEMO_examples(t *testing.T) {
	for _, ex := range idsAEMOExamples {
		t.Run(ex.nmi, func(t *testing.T) {
			got, err := catalog.NMIChecksum(ex.nmi)
			require.NoError(t, err)
			assert.Equal(t, string(ex.checksum), string(got))
			assert.True(t, catalog.ValidNMI(ex.nmi+string(ex.checksum)))
			for d := byte('0'); d <= '9'; d++ {
				if d != ex.checksum {
					assert.False(t, catalog.ValidNMI(ex.nmi+string(d)), "%s%c", ex.nmi, d)
				}
			}
		})
	}
}

func TestValidNMI_bad_values(t *testing.T) {
	tests := []struct {
		name string
		in   string
	}{
		{"10 characters only", "2001985732"},
		{"12 characters", "200198573288"},
		{"letter I", "NMI12345672"},
		{"letter O", "NMO12345672"},
		{"lower case", "qaaavzzzzz3"},
		{"letter checksum", "QAAAVZZZZZA"},
		{"punctuation", "2001-85732X"},
		{"empty", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.False(t, catalog.ValidNMI(tt.in))
		})
	}
	_, err := catalog.NMIChecksum("NMI1234567")
	require.ErrorIs(t, err, catalog.ErrInvalidIdentifier)
	_, err = catalog.NMIChecksum("123")
	require.ErrorIs(t, err, catalog.ErrInvalidIdentifier)
}

// idsNMIBlindPairs are the digit pairs the AEMO checksum cannot tell apart
// in one position, worked out by hand from the rule: undoubled ASCII '0'
// (48 → 4+8=12) and '9' (57 → 12); doubled '0' (96 → 15) and '4' (104 → 5),
// '1' (98 → 17) and '5' (106 → 7).
var idsNMIBlindPairs = map[bool][][2]byte{
	false: {{'0', '9'}},
	true:  {{'0', '4'}, {'1', '5'}},
}

func idsBlind(doubled bool, a, b byte) bool {
	for _, p := range idsNMIBlindPairs[doubled] {
		if (p[0] == a && p[1] == b) || (p[0] == b && p[1] == a) {
			return true
		}
	}
	return false
}

// A digit change invalidates an NMI except for the pairs the rule is blind
// to; a changed checksum always invalidates it.
func TestNMI_single_digit_changes(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	for range 300 {
		body := idsDigits(r, 10)
		c, err := catalog.NMIChecksum(body)
		require.NoError(t, err)
		nmi := body + string(c)
		require.True(t, catalog.ValidNMI(nmi), nmi)
		for pos := range 11 {
			doubled := (9-pos)%2 == 0 // the rightmost body character is doubled
			for d := byte('0'); d <= '9'; d++ {
				if d == nmi[pos] {
					continue
				}
				changed := nmi[:pos] + string(d) + nmi[pos+1:]
				want := pos < 10 && idsBlind(doubled, nmi[pos], d)
				assert.Equal(t, want, catalog.ValidNMI(changed), "%s (from %s)", changed, nmi)
			}
		}
	}
}

func TestValidICP_format(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want bool
	}{
		{"catalog example", "0000123456NR8F3", true},
		{"all digit check", "1000012345UN123", true},
		{"lower-case code", "0000123456nr8F3", false},
		{"digit in code", "00001234561R8F3", false},
		{"letter in sequence", "000012345XNR8F3", false},
		{"lower-case check", "0000123456NR8f3", false},
		{"punctuation in check", "0000123456NR8-3", false},
		{"14 characters", "0000123456NR8F", false},
		{"16 characters", "0000123456NR8F31", false},
		{"empty", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, catalog.ValidICP(tt.in))
		})
	}
}

// FuzzIdentifiers checks that the validators never panic and agree with
// the check-digit functions on every input.
func FuzzIdentifiers(f *testing.F) {
	for _, s := range []string{
		"2499999999991", "1012345678903", "3938424403", "7462819310", "41023456781",
		"QAAAVZZZZZ3", "0000123456NR8F3", "", "ÿÿÿÿÿÿÿÿÿÿÿÿÿ", "0000000000000",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if catalog.ValidMPANCore(s) {
			c, err := catalog.MPANCoreCheckDigit(s[:12])
			if err != nil || c != s[12] || len(s) != 13 {
				t.Fatalf("ValidMPANCore(%q) disagrees with MPANCoreCheckDigit", s)
			}
		}
		if catalog.ValidMPRN(s) {
			c, err := catalog.MPRNCheckDigits(s[:len(s)-2])
			if err != nil || c != s[len(s)-2:] {
				t.Fatalf("ValidMPRN(%q) disagrees with MPRNCheckDigits", s)
			}
		}
		if catalog.ValidNMI(s) {
			c, err := catalog.NMIChecksum(s[:10])
			if err != nil || c != s[10] || len(s) != 11 {
				t.Fatalf("ValidNMI(%q) disagrees with NMIChecksum", s)
			}
		}
		if catalog.ValidICP(s) && (len(s) != 15 || strings.ToUpper(s) != s) {
			t.Fatalf("ValidICP(%q) accepted a malformed ICP", s)
		}
	})
}

func idsDigits(r *rand.Rand, n int) string {
	var b strings.Builder
	for range n {
		b.WriteString(strconv.Itoa(r.IntN(10)))
	}
	return b.String()
}

func TestErrInvalidIdentifier_is_wrapped(t *testing.T) {
	_, err := catalog.MPANCoreCheckDigit("x")
	require.Error(t, err)
	assert.True(t, errors.Is(err, catalog.ErrInvalidIdentifier))
	assert.NotEqual(t, catalog.ErrInvalidIdentifier.Error(), err.Error(), "the error names the input")
}
