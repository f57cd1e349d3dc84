package config

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"reflect"
	"sort"
	"strings"

	"go.yaml.in/yaml/v3"
)

// Load reads the configuration file at path with the process environment
// and returns the validated configuration. Besides [Parse]'s checks it
// reports files the configuration names (secrets.key_file,
// nats.creds_file, connectors[i].mappings_file) that do not exist. A file
// that cannot be read, or is not YAML, is a plain error; every other
// problem comes in one [*ValidationError].
func Load(path string) (*Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read config: %w", err)
	}
	cfg, err := Parse(path, data, os.LookupEnv)
	var verr *ValidationError
	if err != nil && !errors.As(err, &verr) {
		return nil, err
	}
	var ps problems
	if verr != nil {
		ps.list = verr.Problems
	}
	cfg.checkFiles(&ps)
	if err := ps.err(path); err != nil {
		return nil, err
	}
	return cfg, nil
}

// Parse decodes and validates a configuration document. name is used in
// messages (usually the file name). env looks up environment variables
// (os.LookupEnv for the process environment); nil means an empty
// environment.
//
// Environment references are expanded first (see the package
// documentation), then the document is decoded over [Default], then
// validated. Unknown keys, duplicate keys, ill-typed values, unresolved
// references and validation problems are all reported in one
// [*ValidationError]. A document that is not YAML gives a plain error.
// On a *ValidationError the returned Config is the partly decoded one (for
// tools); otherwise it is nil on error.
func Parse(name string, data []byte, env func(string) (string, bool)) (*Config, error) {
	if env == nil {
		env = func(string) (string, bool) { return "", false }
	}
	if name == "" {
		name = "config"
	}
	cfg := Default()
	dec := yaml.NewDecoder(strings.NewReader(string(data)))
	var root yaml.Node
	if err := dec.Decode(&root); err != nil && !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); !errors.Is(err, io.EOF) {
		if err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		return nil, fmt.Errorf("%s: line %d: a configuration file holds one YAML document, found a second", name, extra.Line)
	}

	d := newDecoder(env)
	if root.Kind == yaml.DocumentNode && len(root.Content) == 1 {
		d.value(root.Content[0], reflect.ValueOf(cfg).Elem(), "")
	}

	var vs problems
	cfg.validate(&vs)
	for _, p := range vs.list {
		if d.failed[""] || d.hasFailed(p.Path) {
			continue // the value could not be read: its problem is reported
		}
		p.Line = d.lineOf(p.Path)
		d.problems.list = append(d.problems.list, p)
	}
	if len(d.problems.list) == 0 {
		return cfg, nil
	}
	sortByLine(d.problems.list)
	return cfg, &ValidationError{Source: name, Problems: d.problems.list}
}

// sortByLine orders problems as they appear in the file: by line, problems
// on one line in document order. A problem without a line (a key missing
// from a section that is missing too) keeps its place after the problem
// that precedes it in document order.
func sortByLine(list []Problem) {
	sortProblems(list, configType)
	eff := make([]int, len(list))
	last := 0
	for i, p := range list {
		if p.Line > 0 {
			last = p.Line
		}
		eff[i] = last
	}
	idx := make([]int, len(list))
	for i := range idx {
		idx[i] = i
	}
	sort.SliceStable(idx, func(a, b int) bool { return eff[idx[a]] < eff[idx[b]] })
	sorted := make([]Problem, len(list))
	for i, j := range idx {
		sorted[i] = list[j]
	}
	copy(list, sorted)
}

// hasFailed reports whether path, or a key above or below it, had a decode
// problem.
func (d *decoder) hasFailed(path string) bool {
	for f := range d.failed {
		if f == path || strings.HasPrefix(path, f+".") || strings.HasPrefix(path, f+"[") ||
			strings.HasPrefix(f, path+".") || strings.HasPrefix(f, path+"[") {
			return true
		}
	}
	return false
}

// lineOf returns the line of path, or of its closest written parent.
func (d *decoder) lineOf(path string) int {
	for path != "" {
		if l, ok := d.lines[path]; ok {
			return l
		}
		i := strings.LastIndexAny(path, ".[")
		if i <= 0 {
			return 0
		}
		path = path[:i]
	}
	return 0
}

func (c *Config) checkFiles(ps *problems) {
	check := func(path, file string) {
		if file == "" {
			return
		}
		if _, err := os.Stat(file); err != nil {
			switch {
			case errors.Is(err, fs.ErrNotExist):
				ps.add(path, fmt.Sprintf("file %q does not exist", file))
			case errors.Is(err, fs.ErrPermission):
				ps.add(path, fmt.Sprintf("file %q cannot be read: permission denied", file))
			default:
				ps.add(path, fmt.Sprintf("file %q cannot be read: %v", file, err))
			}
		}
	}
	check("nats.creds_file", c.NATS.CredsFile)
	check("secrets.key_file", c.Secrets.KeyFile)
	for i, k := range c.Connectors {
		check(index("connectors", i)+".mappings_file", k.MappingsFile)
	}
}
