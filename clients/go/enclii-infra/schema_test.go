package encliiinfra

import (
	"bytes"
	"encoding/json"
	"fmt"
	"reflect"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/santhosh-tekuri/jsonschema/v6"
)

type schemaNode = map[string]any

func parseSchema(t *testing.T, text []byte) schemaNode {
	t.Helper()
	var s schemaNode
	if err := json.Unmarshal(text, &s); err != nil {
		t.Fatal(err)
	}
	return s
}

var (
	compileOnce    sync.Once
	compiledResult *jsonschema.Schema
	compileErr     error
)

// validResult fails the test unless raw, a result as the CLI printed it, passes
// schema/result.schema.json (formats asserted: date-time).
func validResult(t *testing.T, raw []byte) {
	t.Helper()
	compileOnce.Do(func() {
		doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(resultSchema))
		if err != nil {
			compileErr = err
			return
		}
		c := jsonschema.NewCompiler()
		c.AssertFormat()
		if compileErr = c.AddResource("result.schema.json", doc); compileErr == nil {
			compiledResult, compileErr = c.Compile("result.schema.json")
		}
	})
	if compileErr != nil {
		t.Fatalf("schema/result.schema.json does not compile: %v", compileErr)
	}
	inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(raw))
	if err != nil {
		t.Fatalf("not JSON: %v\n%s", err, raw)
	}
	if err := compiledResult.Validate(inst); err != nil {
		t.Errorf("a result that is not the schema's: %v\n%s", err, raw)
	}
}

var timeType = reflect.TypeFor[time.Time]()
var rawType = reflect.TypeFor[json.RawMessage]()

// jsonFields are a struct's fields by JSON name, and whether each is omitted when empty.
func jsonFields(typ reflect.Type) map[string]struct {
	field    reflect.StructField
	optional bool
} {
	fields := map[string]struct {
		field    reflect.StructField
		optional bool
	}{}
	for _, f := range reflect.VisibleFields(typ) {
		// An embedded struct's fields are the object's own to encoding/json; VisibleFields lists them too.
		if !f.IsExported() || f.Anonymous {
			continue
		}
		name, opts, _ := strings.Cut(f.Tag.Get("json"), ",")
		if name == "" || name == "-" {
			name = f.Name
		}
		optional := slices.Contains(strings.Split(opts, ","), "omitempty") || slices.Contains(strings.Split(opts, ","), "omitzero")
		fields[name] = struct {
			field    reflect.StructField
			optional bool
		}{f, optional}
	}
	return fields
}

// mismatches lists where typ cannot hold what schema describes, or holds what it does not: every
// property a field with its JSON name and a kind that decodes it, every field a property, and a
// property required exactly when its field is not omitted when empty.
func mismatches(path string, typ reflect.Type, schema schemaNode) []string {
	if typ.Kind() == reflect.Pointer {
		typ = typ.Elem()
	}
	kind, _ := schema["type"].(string)
	wrong := func(what string) []string { return []string{fmt.Sprintf("%s: schema %s, Go %s", path, what, typ)} }
	switch {
	case len(schema) == 0 || (kind == "" && schema["description"] != nil && len(schema) == 1):
		if typ != rawType && typ.Kind() != reflect.Interface {
			return wrong("any JSON value")
		}
	case kind == "object" && schema["properties"] != nil:
		if typ.Kind() != reflect.Struct {
			return wrong("an object with properties")
		}
		var found []string
		props := schema["properties"].(schemaNode)
		required := map[string]bool{}
		listed, _ := schema["required"].([]any)
		for _, r := range listed {
			required[r.(string)] = true
		}
		fields := jsonFields(typ)
		for name, prop := range props {
			f, ok := fields[name]
			if !ok {
				found = append(found, fmt.Sprintf("%s.%s: in the schema, no field of %s", path, name, typ))
				continue
			}
			if f.optional == required[name] {
				found = append(found, fmt.Sprintf("%s.%s: required %v in the schema, omitempty %v in Go", path, name, required[name], f.optional))
			}
			found = append(found, mismatches(path+"."+name, f.field.Type, prop.(schemaNode))...)
		}
		for name := range fields {
			if _, ok := props[name]; !ok {
				found = append(found, fmt.Sprintf("%s.%s: a field of %s, not in the schema", path, name, typ))
			}
		}
		return found
	case kind == "object":
		if typ.Kind() != reflect.Map || typ.Key().Kind() != reflect.String {
			return wrong("an object of any keys")
		}
		values, _ := schema["additionalProperties"].(schemaNode)
		return mismatches(path+"[*]", typ.Elem(), values)
	case kind == "array":
		if typ.Kind() != reflect.Slice || typ == rawType {
			return wrong("an array")
		}
		return mismatches(path+"[]", typ.Elem(), schema["items"].(schemaNode))
	case kind == "string" && schema["format"] == "date-time":
		if typ != timeType {
			return wrong("a date-time string")
		}
	case kind == "string":
		if typ.Kind() != reflect.String {
			return wrong("a string")
		}
	case kind == "integer":
		if !slices.Contains([]reflect.Kind{reflect.Int, reflect.Int64, reflect.Int32}, typ.Kind()) {
			return wrong("an integer")
		}
	case kind == "number":
		if typ.Kind() != reflect.Float64 {
			return wrong("a number")
		}
	case kind == "boolean":
		if typ.Kind() != reflect.Bool {
			return wrong("a boolean")
		}
	default:
		return []string{fmt.Sprintf("%s: a schema this check does not know: %v", path, schema)}
	}
	return nil
}

func TestResultIsTheSchemasBothWays(t *testing.T) {
	found := mismatches("result", reflect.TypeFor[Result](), parseSchema(t, resultSchema))
	sort.Strings(found)
	if len(found) > 0 {
		t.Errorf("Result and schema/result.schema.json differ:\n%s", strings.Join(found, "\n"))
	}
}

func TestTheStatusesAndExitCodesAreTheSchemas(t *testing.T) {
	props := parseSchema(t, resultSchema)["properties"].(schemaNode)
	var enum, ours []string
	for _, s := range props["status"].(schemaNode)["enum"].([]any) {
		enum = append(enum, s.(string))
	}
	for _, x := range exitStatuses {
		for _, s := range x.statuses {
			ours = append(ours, string(s))
		}
	}
	sort.Strings(enum)
	sort.Strings(ours)
	if !slices.Equal(enum, ours) {
		t.Errorf("the schema's statuses %v, this client's %v", enum, ours)
	}
	if highest := props["exitCode"].(schemaNode)["maximum"].(float64); int(highest) != exitStatuses[len(exitStatuses)-1].code {
		t.Errorf("the schema's highest exit status is %v", highest)
	}
	if version := parseSchema(t, resultSchema)["x-contract-version"]; version != ContractVersion {
		t.Errorf("the schema is of contract version %v, this client of %s", version, ContractVersion)
	}
}

// docs/control-plane.md#config-the-control-plane-writes names the keys; the schema shapes them.
func TestTheConfigSchemaDescribesTheKeysTheControlPlaneWrites(t *testing.T) {
	config := parseSchema(t, ConfigSchema())
	var keys []string
	for key := range config["properties"].(schemaNode) {
		keys = append(keys, key)
	}
	sort.Strings(keys)
	if want := []string{"enclii-tenants:tenants", "enclii:rotations", "enclii:services"}; !slices.Equal(keys, want) || config["additionalProperties"] != false {
		t.Errorf("config.schema.json describes %v (additionalProperties %v), want %v and nothing else", keys, config["additionalProperties"], want)
	}
}

// The check itself, on a struct that breaks each rule once.
func TestTheCheckFindsEachKindOfMismatch(t *testing.T) {
	type broken struct {
		Name     int               `json:"name"`
		Optional string            `json:"optional"`
		Extra    string            `json:"extra,omitempty"`
		When     string            `json:"when"`
		Tags     map[string]string `json:"tags,omitempty"`
	}
	schema := parseSchema(t, []byte(`{"type":"object","required":["name","when"],"properties":{
		"name":{"type":"string"},"optional":{"type":"string"},"when":{"type":"string","format":"date-time"},
		"tags":{"type":"object","additionalProperties":{"type":"number"}},"missing":{"type":"boolean"}}}`))
	found := mismatches("x", reflect.TypeFor[broken](), schema)
	sort.Strings(found)
	want := []string{
		"x.extra: a field of encliiinfra.broken, not in the schema",
		"x.missing: in the schema, no field of encliiinfra.broken",
		"x.name: schema a string, Go int",
		"x.optional: required false in the schema, omitempty false in Go",
		"x.tags[*]: schema a number, Go string",
		"x.when: schema a date-time string, Go string",
	}
	if !slices.Equal(found, want) {
		t.Errorf("found:\n%s\nwant:\n%s", strings.Join(found, "\n"), strings.Join(want, "\n"))
	}
}
