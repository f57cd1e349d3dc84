package catalog

import (
	_ "embed"
	"fmt"
	"sync"

	"github.com/gentrack/gcis-bridge/transform"
)

// mappingsYAML is the default mappings document.
//
//go:embed mappings.yaml
var mappingsYAML []byte

// MappingsFile is the name the default mappings carry as their Origin and
// in errors.
const MappingsFile = "catalog/mappings.yaml"

var defaultMappings = sync.OnceValue(func() *transform.MappingSet {
	return mustParse(MappingsFile, mappingsYAML)
})

// DefaultMappings returns the default mappings of all 22 catalogue event
// types. The set is parsed once and shared; it is immutable. It panics only
// if the embedded document is invalid, which its tests rule out.
func DefaultMappings() *transform.MappingSet {
	return defaultMappings()
}

// DefaultMappingsYAML returns a copy of the embedded mappings document, the
// model for a connector's mappings_file.
func DefaultMappingsYAML() []byte {
	return append([]byte(nil), mappingsYAML...)
}

func mustParse(name string, text []byte) *transform.MappingSet {
	set, err := transform.ParseMappings(name, text)
	if err != nil {
		panic(fmt.Sprintf("catalog: embedded mappings are invalid: %v", err))
	}
	return set
}
