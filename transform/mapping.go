package transform

import (
	"errors"
	"fmt"
	"strings"
	"unicode"

	"github.com/theory/jsonpath"
	"github.com/theory/jsonpath/spec"
	yaml "go.yaml.in/yaml/v3"
)

// Target is the literal classification of the managed-package event a
// mapping produces.
type Target struct {
	EventType    string `json:"eventType"`
	EventSubtype string `json:"eventSubtype"`
	EventContext string `json:"eventContext"`
}

// AttributeMapping names one eventAttribute and the JSONPath (over data)
// that gives its value.
type AttributeMapping struct {
	Name string `json:"name"`
	Path string `json:"path"`
}

// Mapping turns one source event type into one managed-package event
// (catalog.md "Mapping"). Paths are RFC 9535 JSONPath expressions over the
// event's data ($ is data); ExternalContextID and OrderingKey must be
// singular paths (names and indexes only).
//
// A Mapping obtained from a [MappingSet] is shared and must not be modified.
type Mapping struct {
	Source            string             `json:"source"`
	EventType         string             `json:"eventType"`
	Target            Target             `json:"target"`
	ExternalContextID string             `json:"externalContextId"`
	ExternalReference string             `json:"externalReference,omitempty"`
	OrderingKey       string             `json:"orderingKey,omitempty"`
	Attributes        []AttributeMapping `json:"attributes"`
	// Origin names the document the mapping came from (the name given to
	// ParseMappings or NewMappingSet).
	Origin string `json:"origin,omitempty"`

	c *compiledMapping
}

type compiledMapping struct {
	ecid, ref, okey *compiledPath // ref and okey may be nil
	attrs           []*compiledPath
}

// compiledPath is a parsed JSONPath; steps is set for singular paths.
type compiledPath struct {
	text     string
	q        *spec.PathQuery
	singular bool
	steps    []pathStep
}

type pathStep struct {
	name    string
	index   int
	isIndex bool
}

type mappingKey struct{ source, eventType string }

// MappingSet is an immutable set of mappings, at most one per (source,
// eventType). It is safe for concurrent use. The nil *MappingSet is empty.
type MappingSet struct {
	list  []*Mapping
	index map[mappingKey]*Mapping
}

// Lookup returns the mapping for source and eventType.
func (s *MappingSet) Lookup(source, eventType string) (*Mapping, bool) {
	if s == nil {
		return nil, false
	}
	m, ok := s.index[mappingKey{source, eventType}]
	return m, ok
}

// All returns the mappings in a stable order: the order of the document,
// an override in the place of the mapping it replaced, additions after. The
// slice is the caller's; the mappings are shared.
func (s *MappingSet) All() []*Mapping {
	if s == nil {
		return nil
	}
	return append([]*Mapping(nil), s.list...)
}

// Len returns the number of mappings.
func (s *MappingSet) Len() int {
	if s == nil {
		return 0
	}
	return len(s.list)
}

// With returns a new set: s with each mapping of overrides replacing s's
// mapping for the same (source, eventType), or added when s has none.
// Neither s nor overrides changes.
func (s *MappingSet) With(overrides *MappingSet) *MappingSet {
	out := &MappingSet{
		list:  make([]*Mapping, 0, s.Len()+overrides.Len()),
		index: make(map[mappingKey]*Mapping, s.Len()+overrides.Len()),
	}
	pos := make(map[mappingKey]int, s.Len())
	if s != nil {
		for _, m := range s.list {
			k := mappingKey{m.Source, m.EventType}
			pos[k] = len(out.list)
			out.list = append(out.list, m)
			out.index[k] = m
		}
	}
	if overrides != nil {
		for _, m := range overrides.list {
			k := mappingKey{m.Source, m.EventType}
			if i, ok := pos[k]; ok {
				out.list[i] = m
			} else {
				pos[k] = len(out.list)
				out.list = append(out.list, m)
			}
			out.index[k] = m
		}
	}
	return out
}

// ParseMappings parses and validates a mappings document (YAML) named name
// (a file name, used in errors). The form:
//
//	mappings:
//	  - source: junifer                 # velocity | junifer
//	    eventType: bill-accepted        # the source eventType (kebab-case)
//	    target: { eventType: Bill, eventSubtype: Accepted, eventContext: Account }
//	    externalContextId: $.accountNumber   # singular JSONPath, required
//	    externalReference: $.id              # JSONPath, optional
//	    orderingKey: $.accountNumber         # singular JSONPath, optional
//	    attributes:
//	      - issueDt                          # shorthand for {name: issueDt, path: $.issueDt}
//	      - { name: grossAmount, path: $.grossAmount }
//
// An empty document is an empty set. Every problem is reported, joined with
// errors.Join, each as "<name>: <key path>: <problem>", e.g.
// "overrides.yaml: mappings[3].attributes[1].path: invalid JSONPath ...".
// JSONPath syntax errors wrap jsonpath.ErrPathParse.
func ParseMappings(name string, yamlText []byte) (*MappingSet, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(yamlText, &doc); err != nil {
		return nil, fmt.Errorf("%s: invalid YAML: %w", name, err)
	}
	p := &problems{name: name}
	var list []Mapping
	var bad map[string]bool
	if len(doc.Content) > 0 {
		root := resolve(doc.Content[0])
		list, bad = p.document(root)
	}
	set := build(name, list, p, bad)
	if err := p.err(); err != nil {
		return nil, err
	}
	return set, nil
}

// NewMappingSet validates and compiles mappings, as ParseMappings does for a
// document named name. Errors name the key path "mappings[i]…".
func NewMappingSet(name string, mappings []Mapping) (*MappingSet, error) {
	p := &problems{name: name}
	set := build(name, mappings, p, nil)
	if err := p.err(); err != nil {
		return nil, err
	}
	return set, nil
}

// problems collects validation errors.
type problems struct {
	name string
	errs []error
}

func (p *problems) add(path, format string, args ...any) {
	p.errs = append(p.errs, fmt.Errorf("%s: %s: %s", p.name, path, fmt.Sprintf(format, args...)))
}

func (p *problems) err() error { return errors.Join(p.errs...) }

// build compiles mappings; bad names key paths that already failed (so they
// are not reported twice).
func build(name string, mappings []Mapping, p *problems, bad map[string]bool) *MappingSet {
	set := &MappingSet{index: make(map[mappingKey]*Mapping, len(mappings))}
	first := make(map[mappingKey]int, len(mappings))
	for i := range mappings {
		m := mappings[i] // copy: the caller's slice stays untouched
		m.Attributes = append([]AttributeMapping(nil), m.Attributes...)
		if m.Origin == "" {
			m.Origin = name
		}
		at := fmt.Sprintf("mappings[%d]", i)
		if !compileMapping(&m, at, p, bad) {
			continue
		}
		k := mappingKey{m.Source, m.EventType}
		if j, dup := first[k]; dup {
			p.add(at, "duplicate mapping for %s %s (first at mappings[%d])", m.Source, m.EventType, j)
			continue
		}
		first[k] = i
		set.list = append(set.list, &m)
		set.index[k] = &m
	}
	return set
}

// compileMapping validates m and compiles its paths; it reports whether m
// is usable.
func compileMapping(m *Mapping, at string, p *problems, bad map[string]bool) bool {
	if bad[at] {
		return false // not a mapping at all; reported already
	}
	before := len(p.errs)
	check := func(field string, fn func(path string)) {
		path := at + "." + field
		if !bad[path] {
			fn(path)
		}
	}
	check("source", func(path string) {
		switch {
		case m.Source == "":
			p.add(path, "required")
		case m.Source != SourceVelocity && m.Source != SourceJunifer:
			p.add(path, "must be velocity or junifer, got %s", quote(m.Source))
		}
	})
	check("eventType", func(path string) {
		switch {
		case m.EventType == "":
			p.add(path, "required")
		case !validEventType(m.EventType):
			p.add(path, "must be kebab-case (^[a-z0-9]+(-[a-z0-9]+)*$), got %s", quote(m.EventType))
		}
	})
	if bad[at+".target"] {
		// reported already
	} else {
		check("target.eventType", func(path string) { literal(p, path, m.Target.EventType) })
		check("target.eventSubtype", func(path string) { literal(p, path, m.Target.EventSubtype) })
		check("target.eventContext", func(path string) { literal(p, path, m.Target.EventContext) })
	}
	c := &compiledMapping{}
	check("externalContextId", func(path string) {
		if m.ExternalContextID == "" {
			p.add(path, "required")
			return
		}
		c.ecid = compilePath(p, path, m.ExternalContextID, true)
	})
	check("externalReference", func(path string) {
		if m.ExternalReference != "" {
			c.ref = compilePath(p, path, m.ExternalReference, false)
		}
	})
	check("orderingKey", func(path string) {
		if m.OrderingKey != "" {
			c.okey = compilePath(p, path, m.OrderingKey, true)
		}
	})
	names := make(map[string]int, len(m.Attributes))
	c.attrs = make([]*compiledPath, len(m.Attributes))
	for i, a := range m.Attributes {
		aat := fmt.Sprintf("%s.attributes[%d]", at, i)
		if bad[aat] {
			continue
		}
		check(fmt.Sprintf("attributes[%d].name", i), func(path string) {
			if literal(p, path, a.Name) {
				if j, dup := names[a.Name]; dup {
					p.add(path, "duplicate attribute name %s (first at attributes[%d])", quote(a.Name), j)
				} else {
					names[a.Name] = i
				}
			}
		})
		check(fmt.Sprintf("attributes[%d].path", i), func(path string) {
			if a.Path == "" {
				p.add(path, "required")
				return
			}
			c.attrs[i] = compilePath(p, path, a.Path, false)
		})
	}
	if len(p.errs) != before || bad[at] || hasPrefixKey(bad, at+".") {
		return false
	}
	m.c = c
	return true
}

func hasPrefixKey(bad map[string]bool, prefix string) bool {
	for k := range bad {
		if strings.HasPrefix(k, prefix) {
			return true
		}
	}
	return false
}

// maxLiteral bounds literal names (Salesforce text fields are 255 long).
const maxLiteral = 255

// literal checks a literal string: non-blank, at most 255 characters, no
// control characters.
func literal(p *problems, path, s string) bool {
	switch {
	case strings.TrimSpace(s) == "":
		p.add(path, "required")
	case len([]rune(s)) > maxLiteral:
		p.add(path, "must be at most %d characters", maxLiteral)
	case strings.IndexFunc(s, unicode.IsControl) >= 0:
		p.add(path, "must not contain control characters, got %s", quote(s))
	default:
		return true
	}
	return false
}

// compilePath parses text; singular demands a singular path.
func compilePath(p *problems, path, text string, singular bool) *compiledPath {
	jp, err := jsonpath.Parse(text)
	if err != nil {
		p.errs = append(p.errs, fmt.Errorf("%s: %s: invalid JSONPath %s: %w", p.name, path, quote(text), err))
		return nil
	}
	cp := &compiledPath{text: text, q: jp.Query()}
	cp.steps, cp.singular = singularSteps(cp.q)
	if singular && !cp.singular {
		p.add(path, "%s must be a singular path (names and indexes only, e.g. $.accountNumber or $.services[0].id)", quote(text))
		return nil
	}
	return cp
}

// singularSteps returns the steps of a singular query (RFC 9535 §2.3.5:
// child segments of one name or index selector each).
func singularSteps(q *spec.PathQuery) ([]pathStep, bool) {
	segs := q.Segments()
	steps := make([]pathStep, 0, len(segs))
	for _, seg := range segs {
		sels := seg.Selectors()
		if seg.IsDescendant() || len(sels) != 1 {
			return nil, false
		}
		switch s := sels[0].(type) {
		case spec.Name:
			steps = append(steps, pathStep{name: string(s)})
		case spec.Index:
			steps = append(steps, pathStep{index: int(s), isIndex: true})
		default:
			return nil, false
		}
	}
	return steps, true
}

// shorthandPath returns the path of an attribute given by name only.
func shorthandPath(name string) string {
	plain := name != ""
	for i, r := range name {
		if !(r == '_' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || i > 0 && r >= '0' && r <= '9') {
			plain = false
			break
		}
	}
	if plain {
		return "$." + name
	}
	var b strings.Builder
	b.WriteString("$['")
	for _, r := range name {
		switch r {
		case '\'', '\\':
			b.WriteByte('\\')
		}
		b.WriteRune(r)
	}
	b.WriteString("']")
	return b.String()
}

// ---- YAML walk ----

func resolve(n *yaml.Node) *yaml.Node {
	for i := 0; n != nil && n.Kind == yaml.AliasNode && i < 100; i++ {
		n = n.Alias
	}
	return n
}

func kindName(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.ScalarNode:
		return "a scalar"
	}
	return "nothing"
}

// members returns a mapping node's key/value pairs, reporting non-scalar and
// repeated keys.
func (p *problems) members(n *yaml.Node, at string) [][2]*yaml.Node {
	var out [][2]*yaml.Node
	seen := map[string]bool{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := resolve(n.Content[i]), resolve(n.Content[i+1])
		if k.Kind != yaml.ScalarNode {
			p.add(at, "keys must be strings (line %d)", k.Line)
			continue
		}
		if seen[k.Value] {
			p.add(join(at, k.Value), "key repeated (line %d)", k.Line)
			continue
		}
		seen[k.Value] = true
		out = append(out, [2]*yaml.Node{k, v})
	}
	return out
}

func join(at, key string) string {
	if at == "" {
		return key
	}
	return at + "." + key
}

// str reads a scalar as a string; ok is false (and the problem reported)
// for non-scalars. null reads as "".
func (p *problems) str(n *yaml.Node, path string) (string, bool) {
	if n.Kind != yaml.ScalarNode {
		p.add(path, "must be a string, got %s", kindName(n))
		return "", false
	}
	if n.Tag == "!!null" {
		return "", true
	}
	return n.Value, true
}

func (p *problems) document(root *yaml.Node) ([]Mapping, map[string]bool) {
	bad := map[string]bool{}
	if root.Kind != yaml.MappingNode {
		if root.Kind == yaml.ScalarNode && root.Tag == "!!null" {
			return nil, bad
		}
		p.add("(document)", "must be a mapping with a \"mappings\" list, got %s", kindName(root))
		return nil, bad
	}
	var list []Mapping
	for _, kv := range p.members(root, "") {
		switch kv[0].Value {
		case "mappings":
			seq := kv[1]
			if seq.Kind == yaml.ScalarNode && seq.Tag == "!!null" {
				continue
			}
			if seq.Kind != yaml.SequenceNode {
				p.add("mappings", "must be a list, got %s", kindName(seq))
				continue
			}
			list = make([]Mapping, len(seq.Content))
			for i, item := range seq.Content {
				at := fmt.Sprintf("mappings[%d]", i)
				list[i] = p.mapping(resolve(item), at, bad)
			}
		default:
			p.add(kv[0].Value, "unknown key (line %d)", kv[0].Line)
		}
	}
	return list, bad
}

func (p *problems) mapping(n *yaml.Node, at string, bad map[string]bool) Mapping {
	var m Mapping
	if n.Kind != yaml.MappingNode {
		p.add(at, "must be a mapping, got %s", kindName(n))
		bad[at] = true
		return m
	}
	strField := func(v *yaml.Node, path string, dst *string) {
		if s, ok := p.str(v, path); ok {
			*dst = s
		} else {
			bad[path] = true
		}
	}
	for _, kv := range p.members(n, at) {
		key, v := kv[0].Value, kv[1]
		path := join(at, key)
		switch key {
		case "source":
			strField(v, path, &m.Source)
		case "eventType":
			strField(v, path, &m.EventType)
		case "externalContextId":
			strField(v, path, &m.ExternalContextID)
		case "externalReference":
			strField(v, path, &m.ExternalReference)
		case "orderingKey":
			strField(v, path, &m.OrderingKey)
		case "target":
			if v.Kind != yaml.MappingNode {
				p.add(path, "must be a mapping with eventType, eventSubtype and eventContext, got %s", kindName(v))
				bad[path] = true
				continue
			}
			for _, tkv := range p.members(v, path) {
				tpath := join(path, tkv[0].Value)
				switch tkv[0].Value {
				case "eventType":
					strField(tkv[1], tpath, &m.Target.EventType)
				case "eventSubtype":
					strField(tkv[1], tpath, &m.Target.EventSubtype)
				case "eventContext":
					strField(tkv[1], tpath, &m.Target.EventContext)
				default:
					p.add(tpath, "unknown key (line %d)", tkv[0].Line)
				}
			}
		case "attributes":
			if v.Kind == yaml.ScalarNode && v.Tag == "!!null" {
				continue
			}
			if v.Kind != yaml.SequenceNode {
				p.add(path, "must be a list, got %s", kindName(v))
				bad[path] = true
				continue
			}
			m.Attributes = make([]AttributeMapping, len(v.Content))
			for i, item := range v.Content {
				m.Attributes[i] = p.attribute(resolve(item), fmt.Sprintf("%s[%d]", path, i), bad)
			}
		default:
			p.add(path, "unknown key (line %d)", kv[0].Line)
		}
	}
	return m
}

func (p *problems) attribute(n *yaml.Node, at string, bad map[string]bool) AttributeMapping {
	var a AttributeMapping
	switch n.Kind {
	case yaml.ScalarNode:
		name, _ := p.str(n, at)
		a.Name = name
		if literal(p, at+".name", name) {
			a.Path = shorthandPath(name)
		} else {
			bad[at] = true
		}
		return a
	case yaml.MappingNode:
	default:
		p.add(at, "must be a name or a mapping with name and path, got %s", kindName(n))
		bad[at] = true
		return a
	}
	for _, kv := range p.members(n, at) {
		path := join(at, kv[0].Value)
		switch kv[0].Value {
		case "name":
			if s, ok := p.str(kv[1], path); ok {
				a.Name = s
			} else {
				bad[path] = true
			}
		case "path":
			if s, ok := p.str(kv[1], path); ok {
				a.Path = s
			} else {
				bad[path] = true
			}
		default:
			p.add(path, "unknown key (line %d)", kv[0].Line)
			bad[at] = true
		}
	}
	return a
}
