package transform

import (
	"encoding/json"
	"strings"
	"time"

	"github.com/theory/jsonpath/spec"
)

// MaxMappedEventBytes bounds the encoded size of one mapped event: the
// largest request body the managed package can be sent (5 MiB). A mapping
// that would produce more fails with class unmapped.
const MaxMappedEventBytes = 5 << 20

// maxSelectedNodes bounds the nodes one non-singular path may select on the
// way to its result, so a pathological path over a large event stays cheap.
const maxSelectedNodes = 1 << 20

// occurredAtLayout is the managed package's timestamp form: UTC, exactly
// three fraction digits (Format truncates), Z.
const occurredAtLayout = "2006-01-02T15:04:05.000Z"

// Mapped is the result of Map.
type Mapped struct {
	// Event is the managed-package event.
	Event Event
	// OrderingKey is the value of the mapping's orderingKey path, or the
	// externalContextId when the mapping has none or it selects nothing,
	// null or an empty string. Never "". Events of one tenant, source and
	// ordering key are delivered in publish order.
	OrderingKey string
	// JSON is Event encoded, ready to embed in a Request.
	JSON []byte
}

// Map builds the managed-package event for env with the mapping for its
// source and event type (catalog.md "Mapping", salesforce.md §2).
//
// Errors are [*Error]: class unmapped when s has no mapping for the event,
// when externalContextId does not select exactly one non-empty scalar, or
// when the result would exceed MaxMappedEventBytes; class invalid for an
// envelope that Decode would have refused (only possible for one built by
// hand).
func (s *MappingSet) Map(env *Envelope) (*Mapped, error) {
	if env == nil {
		return nil, errorf(ClassInvalid, "no event")
	}
	m, ok := s.Lookup(env.Source, env.EventType)
	if !ok {
		return nil, errorf(ClassUnmapped, "no mapping for %s event type %s", quote(env.Source), quote(env.EventType))
	}
	if err := checkEnvelope(env); err != nil {
		return nil, err
	}
	// data's top-level members, indexed once for the singular paths; kept out
	// of ev so it can stay on the stack.
	var buf [32]member
	top := indexMembers(buf[:0], env.Data)
	ev := evaluator{data: env.Data}

	ecid, err := ev.externalContextID(m, top)
	if err != nil {
		return nil, err
	}
	out := &Mapped{Event: Event{
		SourceEventID:     env.EventID,
		TenantID:          env.TenantID,
		SourceSystem:      SourceSystem(env.Source),
		SourceEventType:   env.EventType,
		EventType:         m.Target.EventType,
		EventSubtype:      m.Target.EventSubtype,
		EventContext:      m.Target.EventContext,
		ExternalContextID: ecid,
		OccurredAt:        formatOccurredAt(env.OccurredAt),
		CorrelationID:     env.CorrelationID,
		EventAttributes:   make([]Attribute, 0, len(m.c.attrs)),
	}}
	if m.c.ref != nil {
		if out.Event.ExternalReference, _, err = ev.value(m.c.ref, top); err != nil {
			return nil, ev.fail(m, "externalReference", m.c.ref, err)
		}
	}
	for i, p := range m.c.attrs {
		v, present, err := ev.value(p, top)
		if err != nil {
			return nil, ev.fail(m, "attribute "+quote(m.Attributes[i].Name), p, err)
		}
		if present {
			out.Event.EventAttributes = append(out.Event.EventAttributes, Attribute{Name: m.Attributes[i].Name, Value: v})
		}
	}
	out.OrderingKey = ecid
	if m.c.okey != nil {
		if k, present, err := ev.value(m.c.okey, top); err == nil && present && strings.TrimSpace(k) != "" {
			out.OrderingKey = k
		}
	}
	out.JSON = out.Event.AppendJSON(make([]byte, 0, out.Event.jsonSize()))
	if len(out.JSON) > MaxMappedEventBytes {
		return nil, errorf(ClassUnmapped, "mapped event is %d bytes, over the %d-byte limit (mapping %s %s)", len(out.JSON), MaxMappedEventBytes, m.Source, m.EventType)
	}
	return out, nil
}

// checkEnvelope refuses an envelope Decode would not have produced.
func checkEnvelope(env *Envelope) error {
	switch {
	case env.EventID == "":
		return errorf(ClassInvalid, "eventId: required")
	case env.TenantID == "":
		return errorf(ClassInvalid, "tenantId: required")
	case env.OccurredAt.IsZero():
		return errorf(ClassInvalid, "occurredAt: required")
	}
	if y := env.OccurredAt.UTC().Year(); y < 0 || y > 9999 {
		return errorf(ClassInvalid, "occurredAt: out of range")
	}
	if env.dataChecked {
		return nil
	}
	if len(env.Data) == 0 {
		return errorf(ClassInvalid, "data: required")
	}
	_, _, kind, err := validateJSON(env.Data)
	if err != nil {
		return errorf(ClassInvalid, "data: not valid JSON: %v", err)
	}
	if kind != kindObject {
		return errorf(ClassInvalid, "data: must be an object, got %s", kind)
	}
	return nil
}

// evaluator evaluates paths over one event's data; the value tree for
// non-singular paths is built on first use.
type evaluator struct {
	data []byte
	tree *node
}

// indexMembers appends the members of the valid JSON object b to dst.
func indexMembers(dst []member, b []byte) []member {
	vs := skipWS(b, 0)
	for i := vs + 1; vs < len(b); {
		m, ok := nextMemberFast(b, i)
		if !ok {
			break
		}
		dst = append(dst, m)
		i = m.ve
	}
	return dst
}

// errTooLarge and errTooMany abort a selection that outgrows its bounds.
var (
	errTooLarge = &Error{Class: ClassUnmapped, Reason: "value too large"}
	errTooMany  = &Error{Class: ClassUnmapped, Reason: "too many values"}
)

func (ev *evaluator) fail(m *Mapping, what string, p *compiledPath, err error) error {
	switch err {
	case errTooLarge:
		return errorf(ClassUnmapped, "%s %s of mapping %s %s selects more than %d bytes", what, quote(p.text), m.Source, m.EventType, MaxMappedEventBytes)
	case errTooMany:
		return errorf(ClassUnmapped, "%s %s of mapping %s %s selects more than %d values", what, quote(p.text), m.Source, m.EventType, maxSelectedNodes)
	}
	return err
}

// externalContextID evaluates the mapping's singular externalContextId path,
// which must select one non-empty scalar.
func (ev *evaluator) externalContextID(m *Mapping, top []member) (string, error) {
	p := m.c.ecid
	raw, kind, found := navigate(ev.data, top, p.steps)
	problem := ""
	switch {
	case !found:
		problem = "selected nothing"
	case kind == kindNull:
		problem = "selected null"
	case kind == kindObject || kind == kindArray:
		problem = "selected an " + kind.String() + ", not a scalar"
	}
	if problem == "" {
		v := renderScalar(raw, kind)
		if strings.TrimSpace(v) != "" {
			return v, nil
		}
		problem = "selected an empty string"
	}
	return "", errorf(ClassUnmapped, "externalContextId %s of mapping %s %s %s: want exactly one non-empty scalar", quote(p.text), m.Source, m.EventType, problem)
}

// value returns the string form of what p selects (salesforce.md §2):
// present is false when a singular path selects nothing or null, or any
// other path selects nothing.
func (ev *evaluator) value(p *compiledPath, top []member) (string, bool, error) {
	if p.singular {
		raw, kind, found := navigate(ev.data, top, p.steps)
		if !found || kind == kindNull {
			return "", false, nil
		}
		if kind == kindObject || kind == kindArray {
			if len(raw) > MaxMappedEventBytes {
				return "", false, errTooLarge
			}
			return string(appendCompact(make([]byte, 0, len(raw)), raw)), true, nil
		}
		return renderScalar(raw, kind), true, nil
	}
	if ev.tree == nil {
		ev.tree = buildTree(ev.data)
	}
	nodes, err := query(ev.tree, p.q)
	if err != nil {
		return "", false, err
	}
	if len(nodes) == 0 {
		return "", false, nil
	}
	buf := []byte{'['}
	for i, n := range nodes {
		if i > 0 {
			buf = append(buf, ',')
		}
		if len(buf)+len(n.raw) > MaxMappedEventBytes {
			return "", false, errTooLarge
		}
		buf = appendCompact(buf, n.raw)
	}
	buf = append(buf, ']')
	return string(buf), true, nil
}

// renderScalar is the string form of a string, number or boolean.
func renderScalar(raw []byte, kind jsonKind) string {
	switch kind {
	case kindString:
		return unescape(raw[1 : len(raw)-1])
	case kindBool:
		if raw[0] == 't' {
			return "true"
		}
		return "false"
	}
	return string(raw)
}

// navigate follows a singular path's steps through the valid JSON object
// text b (whose top-level members top indexes, when not nil) and returns the
// selected value's text and kind.
func navigate(b []byte, top []member, steps []pathStep) ([]byte, jsonKind, bool) {
	vs := skipWS(b, 0)
	if vs >= len(b) {
		return nil, kindNone, false
	}
	ve := -1
	for n, st := range steps {
		kind := kindAt(b, vs)
		found := false
		switch {
		case st.isIndex && kind == kindArray:
			vs, ve, found = elementFast(b, vs, st.index)
		case st.isIndex:
		case kind != kindObject:
		case n == 0 && top != nil:
			for _, m := range top {
				if keyIs(b, m.key, st.name) {
					vs, ve, found = m.vs, m.ve, true
					break
				}
			}
		default:
			vs, ve, found = memberFast(b, vs, st.name)
		}
		if !found {
			return nil, kindNone, false
		}
	}
	if ve < 0 {
		ve = skipFast(b, vs)
	}
	return b[vs:ve], kindAt(b, vs), true
}

// node is a value of the tree non-singular paths are evaluated on: val is
// the form the jsonpath library's filters read (map[string]any, []any,
// string, json.Number, bool, nil); keys and kids keep document order, which
// Go maps lose; raw is the value's source text.
type node struct {
	raw  []byte
	kind jsonKind
	val  any
	keys []string
	kids []*node
}

// buildTree builds the tree of the validated JSON text b.
func buildTree(b []byte) *node {
	vs := skipWS(b, 0)
	ve, kind, err := scanValue(b, vs, 0, false)
	if err != nil {
		return &node{kind: kindNull, raw: []byte("null")}
	}
	return buildNode(b, vs, ve, kind)
}

func buildNode(b []byte, vs, ve int, kind jsonKind) *node {
	n := &node{raw: b[vs:ve:ve], kind: kind}
	switch kind {
	case kindString:
		n.val = unescape(b[vs+1 : ve-1])
	case kindNumber:
		n.val = json.Number(b[vs:ve])
	case kindBool:
		n.val = b[vs] == 't'
	case kindObject:
		m := map[string]any{}
		var it objIter
		it.init(b, vs, 0, false)
		for {
			key, s, e, kd, ok, err := it.next()
			if !ok || err != nil {
				break
			}
			kid := buildNode(b, s, e, kd)
			name := unescape(b[key.start:key.end])
			n.keys = append(n.keys, name)
			n.kids = append(n.kids, kid)
			m[name] = kid.val
		}
		n.val = m
	case kindArray:
		var vals []any
		it := arrIter{b: b, i: vs + 1}
		for {
			s, e, kd, ok, err := it.next()
			if !ok || err != nil {
				break
			}
			kid := buildNode(b, s, e, kd)
			n.kids = append(n.kids, kid)
			vals = append(vals, kid.val)
		}
		if vals == nil {
			vals = []any{}
		}
		n.val = vals
	}
	return n
}

// query evaluates q over root as RFC 9535 does, visiting object members in
// document order (so results are deterministic), and returns the nodes.
func query(root *node, q *spec.PathQuery) ([]*node, error) {
	sel := selection{root: root}
	cur := []*node{root}
	for _, seg := range q.Segments() {
		next := make([]*node, 0, len(cur))
		for _, n := range cur {
			if seg.IsDescendant() {
				next = sel.descend(seg.Selectors(), n, next)
			} else {
				next = sel.apply(seg.Selectors(), n, next)
			}
			if sel.count > maxSelectedNodes {
				return nil, errTooMany
			}
		}
		cur = next
		if len(cur) == 0 {
			break
		}
	}
	return cur, nil
}

type selection struct {
	root  *node
	count int
}

// descend applies sels to n and then to each of its descendants, in document
// order (RFC 9535 §2.5.2.2).
func (s *selection) descend(sels []spec.Selector, n *node, out []*node) []*node {
	out = s.apply(sels, n, out)
	for _, kid := range n.kids {
		if s.count > maxSelectedNodes {
			return out
		}
		out = s.descend(sels, kid, out)
	}
	return out
}

// apply appends what each selector selects from n.
func (s *selection) apply(sels []spec.Selector, n *node, out []*node) []*node {
	before := len(out)
	for _, sel := range sels {
		switch sl := sel.(type) {
		case spec.Name:
			if n.kind == kindObject {
				for i, k := range n.keys {
					if k == string(sl) {
						out = append(out, n.kids[i])
						break
					}
				}
			}
		case spec.Index:
			if n.kind == kindArray {
				i := int(sl)
				if i < 0 {
					i += len(n.kids)
				}
				if i >= 0 && i < len(n.kids) {
					out = append(out, n.kids[i])
				}
			}
		case spec.WildcardSelector:
			out = append(out, n.kids...)
		case spec.SliceSelector:
			if n.kind == kindArray {
				lower, upper := sl.Bounds(len(n.kids))
				switch step := sl.Step(); {
				case step > 0:
					for i := lower; i < upper; i += step {
						out = append(out, n.kids[i])
					}
				case step < 0:
					for i := upper; lower < i; i += step {
						out = append(out, n.kids[i])
					}
				}
			}
		case *spec.FilterSelector:
			for _, kid := range n.kids {
				if sl.Eval(kid.val, s.root.val) {
					out = append(out, kid)
				}
			}
		}
	}
	s.count += len(out) - before
	return out
}

// formatOccurredAt is the managed package's form of t.
func formatOccurredAt(t time.Time) string { return t.UTC().Format(occurredAtLayout) }
