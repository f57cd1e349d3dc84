package transform

import (
	"bytes"
	"testing"

	"github.com/theory/jsonpath"
)

// FuzzNavigate checks the fast navigator of singular paths against the
// tree evaluator on the same (valid) data: they must select the same text.
func FuzzNavigate(f *testing.F) {
	for _, seed := range []struct{ data, path string }{
		{`{"a":{"b":[1,{"c":"x\"y"}]}}`, "$.a.b[1].c"},
		{`{"a":[1,2,3]}`, "$.a[-1]"},
		{`{"a":[1,2,3]}`, "$.a[-4]"},
		{`{"a\u0062":1,"ab":2}`, "$.ab"},
		{`{"a":"\\\\"  ,  "b" : [ {} , [ ] ] }`, "$.b[1]"},
		{`{"x":1}`, "$"},
		{`{"x":{"y":true}}`, "$['x']['y']"},
		{`{"k":"é","l":"\u00e9"}`, "$.l"},
	} {
		f.Add([]byte(seed.data), seed.path)
	}
	f.Fuzz(func(t *testing.T, data []byte, path string) {
		_, _, kind, err := validateJSON(data)
		if err != nil || kind != kindObject {
			return
		}
		jp, err := jsonpath.Parse(path)
		if err != nil {
			return
		}
		steps, singular := singularSteps(jp.Query())
		if !singular {
			return
		}
		var buf [32]member
		raw, _, found := navigate(data, indexMembers(buf[:0], data), steps)
		rawNoIndex, _, foundNoIndex := navigate(data, nil, steps)
		nodes, err := query(buildTree(data), jp.Query())
		if err != nil {
			t.Fatal(err)
		}
		if len(nodes) > 1 {
			t.Fatalf("singular path selected %d nodes", len(nodes))
		}
		if found != (len(nodes) == 1) || foundNoIndex != found {
			t.Fatalf("found=%v (no index %v), tree selected %d", found, foundNoIndex, len(nodes))
		}
		if found && (!bytes.Equal(raw, nodes[0].raw) || !bytes.Equal(raw, rawNoIndex)) {
			t.Fatalf("navigate %q, tree %q", raw, nodes[0].raw)
		}
	})
}
