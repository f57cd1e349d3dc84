package config

import (
	"reflect"
	"sort"
	"strconv"
	"strings"
)

// Problem is one thing wrong in a configuration.
type Problem struct {
	// Path is the key path, e.g. connectors[1].login_url.
	Path string
	// Message says what is wrong, e.g. "must be https".
	Message string
	// Line is the line of the file the key is on; 0 when unknown (a missing
	// key, or a Config built in code).
	Line int
}

// String returns "path: message".
func (p Problem) String() string {
	if p.Path == "" {
		return p.Message
	}
	return p.Path + ": " + p.Message
}

// ValidationError lists every problem found in a configuration, in
// document order. [Parse], [Load] and [Config.Validate] return it; match
// it with errors.As.
type ValidationError struct {
	// Source names the file, when known; it prefixes each line of Error.
	Source string
	// Problems, in document order. Never empty.
	Problems []Problem
}

// Error lists the problems one per line, each "path: message", prefixed
// with "source:line: " when those are known.
func (e *ValidationError) Error() string {
	var b strings.Builder
	for i, p := range e.Problems {
		if i > 0 {
			b.WriteByte('\n')
		}
		switch {
		case e.Source != "" && p.Line > 0:
			b.WriteString(e.Source + ":" + strconv.Itoa(p.Line) + ": ")
		case e.Source != "":
			b.WriteString(e.Source + ": ")
		case p.Line > 0:
			b.WriteString("line " + strconv.Itoa(p.Line) + ": ")
		}
		b.WriteString(p.String())
	}
	return b.String()
}

// Paths returns the key path of every problem, in order.
func (e *ValidationError) Paths() []string {
	out := make([]string, len(e.Problems))
	for i, p := range e.Problems {
		out[i] = p.Path
	}
	return out
}

// problems collects Problems under a path prefix.
type problems struct {
	list []Problem
}

func (ps *problems) add(path, msg string) {
	ps.list = append(ps.list, Problem{Path: path, Message: msg})
}

func (ps *problems) addLine(path string, line int, msg string) {
	ps.list = append(ps.list, Problem{Path: path, Message: msg, Line: line})
}

// err returns nil or a *ValidationError with the problems sorted, paths
// being relative to a Config.
func (ps *problems) err(source string) error {
	return ps.errAt(source, configType)
}

// errAt is err with paths relative to a value of type root.
func (ps *problems) errAt(source string, root reflect.Type) error {
	if len(ps.list) == 0 {
		return nil
	}
	sortProblems(ps.list, root)
	return &ValidationError{Source: source, Problems: ps.list}
}

// join builds a path: join("a", "b") = "a.b", join("", "b") = "b".
func join(prefix, key string) string {
	if prefix == "" {
		return key
	}
	return prefix + "." + key
}

func index(prefix string, i int) string {
	return prefix + "[" + strconv.Itoa(i) + "]"
}

// sortProblems orders problems by the document order of their paths: the
// order of the keys in the Config struct (which is the documented file
// layout), list items by index, map keys alphabetically. Problems on the
// same path keep their relative order.
func sortProblems(list []Problem, root reflect.Type) {
	ranks := make([][]rankSeg, len(list))
	for i, p := range list {
		ranks[i] = rankPath(root, p.Path)
	}
	idx := make([]int, len(list))
	for i := range idx {
		idx[i] = i
	}
	sort.SliceStable(idx, func(a, b int) bool { return lessRank(ranks[idx[a]], ranks[idx[b]]) })
	sorted := make([]Problem, len(list))
	for i, j := range idx {
		sorted[i] = list[j]
	}
	copy(list, sorted)
}

type rankSeg struct {
	n int    // field index, list index, or -1 for a map key / unknown key
	s string // map key or unknown key name
}

var configType = reflect.TypeOf(Config{})

// rankPath turns a path into comparable segments by walking the root
// type: a struct key becomes its field index (unknown keys sort after the
// known ones, by name), a list index its number, a map key its name.
func rankPath(root reflect.Type, path string) []rankSeg {
	var out []rankSeg
	t := root
	for path != "" {
		var seg string
		if path[0] == '[' {
			end := strings.IndexByte(path, ']')
			n, err := 0, error(nil)
			if end > 0 {
				n, err = strconv.Atoi(path[1:end])
			}
			if end <= 0 || err != nil {
				// Not an index: a key name that holds "[".
				out = append(out, rankSeg{n: 1 << 30, s: path})
				break
			}
			out = append(out, rankSeg{n: n})
			path = path[end+1:]
			if t != nil && t.Kind() == reflect.Slice {
				t = deref(t.Elem())
			} else {
				t = nil
			}
			continue
		}
		path = strings.TrimPrefix(path, ".")
		end := strings.IndexAny(path, ".[")
		if end < 0 {
			end = len(path)
		}
		seg, path = path[:end], path[end:]
		switch {
		case t != nil && t.Kind() == reflect.Struct:
			if f, ok := fieldsOf(t)[seg]; ok {
				out = append(out, rankSeg{n: f.index})
				t = deref(f.typ)
			} else {
				out = append(out, rankSeg{n: 1 << 30, s: seg})
				t = nil
			}
		case t != nil && t.Kind() == reflect.Map:
			out = append(out, rankSeg{n: -1, s: seg})
			t = deref(t.Elem())
		default:
			out = append(out, rankSeg{n: 1 << 30, s: seg})
			t = nil
		}
	}
	return out
}

func deref(t reflect.Type) reflect.Type {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	return t
}

func lessRank(a, b []rankSeg) bool {
	for i := 0; i < len(a) && i < len(b); i++ {
		if a[i].n != b[i].n {
			return a[i].n < b[i].n
		}
		if a[i].s != b[i].s {
			return a[i].s < b[i].s
		}
	}
	return len(a) < len(b)
}
