package config

import (
	"fmt"
	"reflect"
	"sort"
	"strings"
	"sync"

	"go.yaml.in/yaml/v3"
)

// decoder walks a parsed YAML document and a Go value side by side. It
// expands environment references in scalars, rejects unknown and duplicate
// keys and ill-typed values, and records every problem with its key path
// and line instead of stopping at the first.
type decoder struct {
	env      func(string) (string, bool)
	problems problems
	lines    map[string]int      // key path → line where it is written
	expanded map[*yaml.Node]bool // scalars already expanded (aliases share nodes)
	failed   map[string]bool     // paths with a decode problem
	steps    int                 // values decoded so far
}

func newDecoder(env func(string) (string, bool)) *decoder {
	return &decoder{
		env:      env,
		lines:    map[string]int{},
		expanded: map[*yaml.Node]bool{},
		failed:   map[string]bool{},
	}
}

func (d *decoder) fail(path string, n *yaml.Node, msg string) {
	line := 0
	if n != nil {
		line = n.Line
	}
	d.failed[path] = true
	d.problems.addLine(path, line, msg)
}

type fieldInfo struct {
	index int
	name  string
	typ   reflect.Type
}

var fieldCache sync.Map // reflect.Type → map[string]fieldInfo

// fieldsOf maps the yaml key names of a struct type to its fields.
func fieldsOf(t reflect.Type) map[string]fieldInfo {
	if m, ok := fieldCache.Load(t); ok {
		return m.(map[string]fieldInfo)
	}
	m := map[string]fieldInfo{}
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		if !f.IsExported() {
			continue
		}
		name, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
		if name == "-" {
			continue
		}
		if name == "" {
			name = strings.ToLower(f.Name)
		}
		m[name] = fieldInfo{index: i, name: name, typ: f.Type}
	}
	fieldCache.Store(t, m)
	return m
}

var (
	unmarshalerType = reflect.TypeOf((*yaml.Unmarshaler)(nil)).Elem()
	defaulterType   = reflect.TypeOf((*interface{ SetDefaults() })(nil)).Elem()
)

func isNull(n *yaml.Node) bool {
	return n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null"
}

// expand applies environment expansion to a scalar node once.
func (d *decoder) expand(n *yaml.Node, path string) {
	if n.Kind != yaml.ScalarNode || d.expanded[n] {
		return
	}
	d.expanded[n] = true
	out, errs := expandEnv(n.Value, d.env)
	for _, e := range errs {
		line := n.Line + strings.Count(n.Value[:e.offset], "\n")
		if n.Style&(yaml.LiteralStyle|yaml.FoldedStyle) != 0 {
			line++
		}
		d.failed[path] = true
		d.problems.addLine(path, line, e.msg)
	}
	if out == n.Value {
		return
	}
	n.Value = out
	// A plain scalar is typed from its text: type it again.
	if n.Style&(yaml.DoubleQuotedStyle|yaml.SingleQuotedStyle|yaml.LiteralStyle|yaml.FoldedStyle|yaml.TaggedStyle) == 0 {
		n.Tag = "" // resolved again from the value by ShortTag and Decode
	}
}

// maxSteps bounds the values decoded from one document, so that aliases
// cannot make a small document expensive.
const maxSteps = 200_000

// value decodes n into v (addressable) at path.
func (d *decoder) value(n *yaml.Node, v reflect.Value, path string) {
	d.steps++
	if d.steps > maxSteps {
		if d.steps == maxSteps+1 {
			d.fail(path, n, fmt.Sprintf("document too large: more than %d values (aliases included)", maxSteps))
		}
		return
	}
	if n.Kind == yaml.AliasNode {
		n = n.Alias
	}
	if n.Kind == yaml.ScalarNode {
		d.expand(n, path)
	}
	if v.CanAddr() && v.Addr().Type().Implements(unmarshalerType) && v.Kind() != reflect.Pointer {
		if isNull(n) {
			v.Set(reflect.Zero(v.Type()))
			return
		}
		if err := v.Addr().Interface().(yaml.Unmarshaler).UnmarshalYAML(n); err != nil {
			d.fail(path, n, err.Error())
		}
		return
	}
	switch v.Kind() {
	case reflect.Pointer:
		if isNull(n) {
			v.Set(reflect.Zero(v.Type()))
			return
		}
		if v.IsNil() {
			v.Set(reflect.New(v.Type().Elem()))
		}
		d.value(n, v.Elem(), path)
	case reflect.Struct:
		d.structValue(n, v, path)
	case reflect.Slice:
		d.sliceValue(n, v, path)
	case reflect.Map:
		d.mapValue(n, v, path)
	case reflect.String:
		if n.Kind != yaml.ScalarNode {
			d.fail(path, n, "must be a string, not a "+kindName(n))
			return
		}
		if isNull(n) {
			v.SetString("")
			return
		}
		v.SetString(n.Value)
	case reflect.Bool:
		d.scalar(n, v, path, "must be true or false")
	case reflect.Int, reflect.Int64, reflect.Int32:
		if n.Kind == yaml.ScalarNode && !isNull(n) && n.ShortTag() != "!!int" {
			// yaml would truncate 2.5 to 2 and read "4" as an error anyway.
			d.fail(path, n, fmt.Sprintf("must be a whole number, got %q", truncate(n.Value, 40)))
			return
		}
		d.scalar(n, v, path, "must be a whole number")
	case reflect.Float64:
		d.scalar(n, v, path, "must be a number")
	default:
		d.fail(path, n, fmt.Sprintf("cannot decode into %s", v.Type()))
	}
}

func (d *decoder) scalar(n *yaml.Node, v reflect.Value, path, want string) {
	if n.Kind != yaml.ScalarNode {
		d.fail(path, n, want+", not a "+kindName(n))
		return
	}
	if isNull(n) {
		v.Set(reflect.Zero(v.Type()))
		return
	}
	p := reflect.New(v.Type())
	if err := n.Decode(p.Interface()); err != nil {
		d.fail(path, n, fmt.Sprintf("%s, got %q", want, truncate(n.Value, 40)))
		return
	}
	v.Set(p.Elem())
}

func kindName(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "mapping"
	case yaml.SequenceNode:
		return "list"
	default:
		return "scalar"
	}
}

// pairs returns the key/value pairs of a mapping with YAML merge keys (<<)
// resolved: merged pairs come first, so the mapping's own keys win. Each
// merged mapping is merged once, however often it is named.
func (d *decoder) pairs(n *yaml.Node, path string) (merged, own [][2]*yaml.Node) {
	return d.collect(n, path, map[*yaml.Node]bool{n: true})
}

func (d *decoder) collect(n *yaml.Node, path string, seen map[*yaml.Node]bool) (merged, own [][2]*yaml.Node) {
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, val := n.Content[i], n.Content[i+1]
		if k.Kind == yaml.ScalarNode && k.Tag == "!!merge" {
			src := []*yaml.Node{val}
			if val.Kind == yaml.SequenceNode {
				src = val.Content
			}
			for _, s := range src {
				if s.Kind == yaml.AliasNode {
					s = s.Alias
				}
				if s.Kind != yaml.MappingNode {
					d.fail(path, k, "<< must merge a mapping")
					continue
				}
				if seen[s] {
					continue
				}
				seen[s] = true
				m, o := d.collect(s, path, seen)
				merged = append(merged, m...)
				merged = append(merged, o...)
			}
			continue
		}
		own = append(own, [2]*yaml.Node{k, val})
	}
	return merged, own
}

func (d *decoder) structValue(n *yaml.Node, v reflect.Value, path string) {
	if isNull(n) {
		return // an empty section: keep the defaults
	}
	if n.Kind != yaml.MappingNode {
		d.fail(path, n, "must be a mapping, not a "+kindName(n))
		return
	}
	fields := fieldsOf(v.Type())
	merged, own := d.pairs(n, path)
	seen := map[string]int{}
	for pass, list := range [][][2]*yaml.Node{merged, own} {
		isOwn := pass == 1
		for _, kv := range list {
			k, val := kv[0], kv[1]
			if k.Kind != yaml.ScalarNode {
				d.fail(path, k, "keys must be strings")
				continue
			}
			key := k.Value
			p := join(path, key)
			if isOwn {
				if first, dup := seen[key]; dup {
					d.fail(p, k, fmt.Sprintf("duplicate key (first at line %d)", first))
					continue
				}
				seen[key] = k.Line
			}
			f, ok := fields[key]
			if !ok {
				d.fail(p, k, unknownKeyMessage(key, fields))
				continue
			}
			d.lines[p] = k.Line
			d.value(val, v.Field(f.index), p)
		}
	}
}

func (d *decoder) sliceValue(n *yaml.Node, v reflect.Value, path string) {
	if isNull(n) {
		v.Set(reflect.Zero(v.Type()))
		return
	}
	if n.Kind != yaml.SequenceNode {
		d.fail(path, n, "must be a list, not a "+kindName(n))
		return
	}
	out := reflect.MakeSlice(v.Type(), len(n.Content), len(n.Content))
	for i, item := range n.Content {
		p := index(path, i)
		d.lines[p] = item.Line
		e := out.Index(i)
		if e.Addr().Type().Implements(defaulterType) {
			e.Addr().Interface().(interface{ SetDefaults() }).SetDefaults()
		}
		d.value(item, e, p)
	}
	v.Set(out)
}

func (d *decoder) mapValue(n *yaml.Node, v reflect.Value, path string) {
	if isNull(n) {
		v.Set(reflect.Zero(v.Type()))
		return
	}
	if n.Kind != yaml.MappingNode {
		d.fail(path, n, "must be a mapping, not a "+kindName(n))
		return
	}
	m := reflect.MakeMap(v.Type())
	merged, own := d.pairs(n, path)
	seen := map[string]int{}
	for pass, list := range [][][2]*yaml.Node{merged, own} {
		isOwn := pass == 1
		for _, kv := range list {
			k, val := kv[0], kv[1]
			if k.Kind != yaml.ScalarNode {
				d.fail(path, k, "keys must be strings")
				continue
			}
			p := join(path, k.Value)
			if isOwn {
				if first, dup := seen[k.Value]; dup {
					d.fail(p, k, fmt.Sprintf("duplicate key (first at line %d)", first))
					continue
				}
				seen[k.Value] = k.Line
			}
			d.lines[p] = k.Line
			e := reflect.New(v.Type().Elem()).Elem()
			d.value(val, e, p)
			m.SetMapIndex(reflect.ValueOf(k.Value).Convert(v.Type().Key()), e)
		}
	}
	v.Set(m)
}

// unknownKeyMessage says a key is unknown and suggests the closest known
// key when there is one within two edits.
func unknownKeyMessage(key string, fields map[string]fieldInfo) string {
	best, bestDist := "", 3
	names := make([]string, 0, len(fields))
	for name := range fields {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		if dist := editDistance(key, name); dist < bestDist {
			best, bestDist = name, dist
		}
	}
	if best != "" {
		return fmt.Sprintf("unknown key (did you mean %q?)", best)
	}
	return "unknown key"
}

func editDistance(a, b string) int {
	if len(a) > 64 || len(b) > 64 {
		if a == b {
			return 0
		}
		return 99
	}
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
