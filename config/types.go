package config

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

// Byte size units.
const (
	KiB ByteSize = 1 << 10
	MiB ByteSize = 1 << 20
	GiB ByteSize = 1 << 30
)

// ByteSize is a number of bytes. In YAML and JSON it is written as a whole
// number optionally followed by a binary unit: 512KiB, 2MiB, 1048576,
// "64 B". Units are case-insensitive; decimal units (KB, MB, GB, k, M, G)
// are rejected because their meaning is ambiguous.
type ByteSize int64

// ParseByteSize parses s as a [ByteSize] (see the type's documentation).
func ParseByteSize(s string) (ByteSize, error) {
	t := strings.TrimSpace(s)
	if t == "" {
		return 0, errors.New("must be a size such as 512KiB or 2MiB")
	}
	i := 0
	for i < len(t) && t[i] >= '0' && t[i] <= '9' {
		i++
	}
	if i == 0 {
		if t[0] == '-' {
			return 0, fmt.Errorf("must not be negative, got %q", s)
		}
		return 0, fmt.Errorf("must be a size such as 512KiB or 2MiB, got %q", s)
	}
	n, err := strconv.ParseInt(t[:i], 10, 64)
	if err != nil {
		return 0, fmt.Errorf("size %q is too large", s)
	}
	unit := strings.TrimSpace(t[i:])
	var mult ByteSize
	switch strings.ToLower(unit) {
	case "", "b":
		mult = 1
	case "kib":
		mult = KiB
	case "mib":
		mult = MiB
	case "gib":
		mult = GiB
	case "k", "kb":
		return 0, fmt.Errorf("unit %q in %q is ambiguous: use KiB (1024 bytes)", unit, s)
	case "m", "mb":
		return 0, fmt.Errorf("unit %q in %q is ambiguous: use MiB (1024 KiB)", unit, s)
	case "g", "gb":
		return 0, fmt.Errorf("unit %q in %q is ambiguous: use GiB (1024 MiB)", unit, s)
	default:
		if strings.HasPrefix(unit, ".") {
			return 0, fmt.Errorf("must be a whole number of bytes or of a unit, got %q", s)
		}
		return 0, fmt.Errorf("unknown unit %q in %q: use B, KiB, MiB or GiB", unit, s)
	}
	if n > math.MaxInt64/int64(mult) {
		return 0, fmt.Errorf("size %q is too large", s)
	}
	return ByteSize(n) * mult, nil
}

// String returns the size with the largest binary unit that divides it
// exactly: 2MiB, 512KiB, 1000B.
func (b ByteSize) String() string {
	switch {
	case b != 0 && b%GiB == 0:
		return strconv.FormatInt(int64(b/GiB), 10) + "GiB"
	case b != 0 && b%MiB == 0:
		return strconv.FormatInt(int64(b/MiB), 10) + "MiB"
	case b != 0 && b%KiB == 0:
		return strconv.FormatInt(int64(b/KiB), 10) + "KiB"
	default:
		return strconv.FormatInt(int64(b), 10) + "B"
	}
}

// Bytes returns the size as an int64 number of bytes.
func (b ByteSize) Bytes() int64 { return int64(b) }

// MarshalText implements [encoding.TextMarshaler] with [ByteSize.String].
func (b ByteSize) MarshalText() ([]byte, error) { return []byte(b.String()), nil }

// UnmarshalText implements [encoding.TextUnmarshaler] with [ParseByteSize].
func (b *ByteSize) UnmarshalText(text []byte) error {
	v, err := ParseByteSize(string(text))
	if err != nil {
		return err
	}
	*b = v
	return nil
}

// UnmarshalJSON accepts a JSON number of bytes or a string such as "2MiB";
// null leaves b unchanged.
func (b *ByteSize) UnmarshalJSON(data []byte) error {
	if string(data) == "null" {
		return nil
	}
	var s string
	if err := json.Unmarshal(data, &s); err == nil {
		return b.UnmarshalText([]byte(s))
	}
	return b.UnmarshalText(data)
}

// UnmarshalYAML implements [yaml.Unmarshaler].
func (b *ByteSize) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind != yaml.ScalarNode {
		return errors.New("must be a size such as 512KiB or 2MiB")
	}
	return b.UnmarshalText([]byte(n.Value))
}

// MarshalYAML implements [yaml.Marshaler] with [ByteSize.String].
func (b ByteSize) MarshalYAML() (any, error) { return b.String(), nil }

// Duration is a [time.Duration] written in Go syntax (100ms, 30s, 5m, 720h)
// in YAML and JSON.
type Duration time.Duration

// Std returns d as a [time.Duration].
func (d Duration) Std() time.Duration { return time.Duration(d) }

// String returns the Go syntax of d, e.g. 1m30s.
func (d Duration) String() string { return time.Duration(d).String() }

// MarshalText implements [encoding.TextMarshaler].
func (d Duration) MarshalText() ([]byte, error) { return []byte(d.String()), nil }

// UnmarshalText implements [encoding.TextUnmarshaler] with
// [time.ParseDuration].
func (d *Duration) UnmarshalText(text []byte) error {
	s := strings.TrimSpace(string(text))
	v, err := time.ParseDuration(s)
	if err != nil {
		if _, nerr := strconv.ParseFloat(s, 64); nerr == nil && s != "0" {
			return fmt.Errorf("duration %q needs a unit, e.g. %ss or %sms", s, s, s)
		}
		return fmt.Errorf("must be a duration such as 100ms, 30s or 5m, got %q", string(text))
	}
	*d = Duration(v)
	return nil
}

// UnmarshalYAML implements [yaml.Unmarshaler].
func (d *Duration) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind != yaml.ScalarNode {
		return errors.New("must be a duration such as 100ms, 30s or 5m")
	}
	return d.UnmarshalText([]byte(n.Value))
}

// MarshalYAML implements [yaml.Marshaler].
func (d Duration) MarshalYAML() (any, error) { return d.String(), nil }

// Redacted is what every printed form of a [Secret] shows.
const Redacted = "[redacted]"

// Secret is a string that must not be printed: String, GoString, Format
// (every verb), MarshalJSON, MarshalText and MarshalYAML all give
// "[redacted]". Use [Secret.Reveal] where the value is really needed.
type Secret string

// Reveal returns the secret value.
func (s Secret) Reveal() string { return string(s) }

// IsSet reports whether the secret is non-empty.
func (s Secret) IsSet() bool { return s != "" }

// String returns "[redacted]".
func (s Secret) String() string { return Redacted }

// GoString returns "[redacted]", so %#v does not show the value either.
func (s Secret) GoString() string { return Redacted }

// Format prints "[redacted]" for every verb (%s, %v, %q, %x, %d...).
func (s Secret) Format(f fmt.State, verb rune) {
	if verb == 'q' {
		_, _ = f.Write([]byte(strconv.Quote(Redacted)))
		return
	}
	_, _ = f.Write([]byte(Redacted))
}

// MarshalJSON returns "[redacted]" as a JSON string.
func (s Secret) MarshalJSON() ([]byte, error) { return []byte(`"` + Redacted + `"`), nil }

// MarshalText returns "[redacted]".
func (s Secret) MarshalText() ([]byte, error) { return []byte(Redacted), nil }

// MarshalYAML returns "[redacted]".
func (s Secret) MarshalYAML() (any, error) { return Redacted, nil }

// UnmarshalText sets the secret from text (MarshalText is redacting, so this
// is needed for decoders that prefer the text interfaces).
func (s *Secret) UnmarshalText(text []byte) error {
	*s = Secret(text)
	return nil
}

// UnmarshalJSON reads a JSON string; null leaves s unchanged.
func (s *Secret) UnmarshalJSON(data []byte) error {
	if string(data) == "null" {
		return nil
	}
	var v string
	if err := json.Unmarshal(data, &v); err != nil {
		return errors.New("must be a string")
	}
	*s = Secret(v)
	return nil
}
