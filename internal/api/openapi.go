package api

import (
	"encoding/json"
	"fmt"
	"net/http"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode"

	"argus"
)

// openAPIDocument generates the OpenAPI 3.1 document of routes, with the
// schemas of their request and response types read from the Go types by
// reflection (json tags name the properties).
func openAPIDocument(routes []route) ([]byte, error) {
	g := &schemaGen{schemas: map[string]any{}, types: map[string]reflect.Type{}}
	errRef, err := g.ref(typeOf[errorResponse]())
	if err != nil {
		return nil, err
	}
	pathParam := regexp.MustCompile(`\{([a-z_]+)\}`)
	paths := map[string]map[string]any{}
	for _, rt := range routes {
		params := []any{}
		for _, m := range pathParam.FindAllStringSubmatch(rt.path, -1) {
			params = append(params, map[string]any{
				"name": m[1], "in": "path", "required": true, "schema": map[string]any{"type": "string"},
			})
		}
		for _, q := range rt.query {
			schema := map[string]any{"type": q.typ}
			if q.repeated {
				schema = map[string]any{"type": "array", "items": schema}
			}
			params = append(params, map[string]any{"name": q.name, "in": "query", "description": q.desc, "schema": schema})
		}
		ok := map[string]any{"description": http.StatusText(rt.status)}
		switch {
		case rt.response != nil:
			s, err := g.ref(rt.response)
			if err != nil {
				return nil, fmt.Errorf("%s %s: %w", rt.method, rt.path, err)
			}
			ok["content"] = map[string]any{"application/json": map[string]any{"schema": s}}
		case rt.contentType != "":
			ok["content"] = map[string]any{rt.contentType: map[string]any{"schema": map[string]any{"type": "string"}}}
		}
		failRef := errRef
		if rt.failure != nil {
			if failRef, err = g.ref(rt.failure); err != nil {
				return nil, fmt.Errorf("%s %s: %w", rt.method, rt.path, err)
			}
		}
		op := map[string]any{
			"operationId": rt.id,
			"summary":     rt.summary,
			"tags":        []string{rt.tag},
			"parameters":  params,
			"responses": map[string]any{
				strconv.Itoa(rt.status): ok,
				"default": map[string]any{
					"description": "An error; see the error code.",
					"content":     map[string]any{"application/json": map[string]any{"schema": failRef}},
				},
			},
		}
		switch {
		case rt.request != nil:
			s, err := g.ref(rt.request)
			if err != nil {
				return nil, fmt.Errorf("%s %s: %w", rt.method, rt.path, err)
			}
			op["requestBody"] = map[string]any{
				"required": true,
				"content":  map[string]any{"application/json": map[string]any{"schema": s}},
			}
		case rt.bodyType != "":
			op["requestBody"] = map[string]any{
				"required": true,
				"content":  map[string]any{rt.bodyType: map[string]any{"schema": map[string]any{"type": "string"}}},
			}
		}
		switch rt.auth {
		case authToken:
			op["security"] = []any{map[string]any{"bearer": []string{}}, map[string]any{"cookie": []string{}}}
		case authMetrics:
			op["security"] = []any{map[string]any{"bearer": []string{}}, map[string]any{}}
		case authNone:
			op["security"] = []any{}
		}
		if paths[rt.path] == nil {
			paths[rt.path] = map[string]any{}
		}
		paths[rt.path][strings.ToLower(rt.method)] = op
	}
	doc := map[string]any{
		"openapi": "3.1.0",
		"info": map[string]any{
			"title":       "argus API",
			"version":     "1",
			"description": "The argus video management system's HTTP JSON API. See docs/api.md.",
		},
		"paths": paths,
		"components": map[string]any{
			"schemas": g.schemas,
			"securitySchemes": map[string]any{
				"bearer": map[string]any{"type": "http", "scheme": "bearer", "description": "A session or API token: argus_…"},
				"cookie": map[string]any{"type": "apiKey", "in": "cookie", "name": sessionCookie},
			},
		},
	}
	b, err := json.MarshalIndent(doc, "", "  ")
	if err != nil {
		return nil, err
	}
	return append(b, '\n'), nil
}

// schemaGen turns Go types into JSON Schema, collecting named structs as
// components.
type schemaGen struct {
	schemas map[string]any          // component name → schema
	types   map[string]reflect.Type // component name → the type it came from
}

// ref returns the schema of t, registering named structs as components and
// referring to them.
func (g *schemaGen) ref(t reflect.Type) (map[string]any, error) {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch t {
	case reflect.TypeFor[time.Time](), reflect.TypeFor[rfc3339]():
		return map[string]any{"type": "string", "format": "date-time"}, nil
	case reflect.TypeFor[json.RawMessage]():
		return map[string]any{}, nil // any JSON value
	case reflect.TypeFor[argus.Role]():
		return map[string]any{"type": "string", "enum": argus.Roles}, nil
	case reflect.TypeFor[argus.OrgKind]():
		return map[string]any{"type": "string", "enum": argus.OrgKinds}, nil
	case reflect.TypeFor[argus.TokenKind]():
		return map[string]any{"type": "string", "enum": []argus.TokenKind{argus.TokenSession, argus.TokenAPI}}, nil
	}
	switch t.Kind() {
	case reflect.Bool:
		return map[string]any{"type": "boolean"}, nil
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return map[string]any{"type": "integer"}, nil
	case reflect.Float32, reflect.Float64:
		return map[string]any{"type": "number"}, nil
	case reflect.String:
		return map[string]any{"type": "string"}, nil
	case reflect.Interface:
		return map[string]any{}, nil
	case reflect.Slice, reflect.Array:
		if t.Elem().Kind() == reflect.Uint8 {
			return map[string]any{"type": "string", "contentEncoding": "base64"}, nil
		}
		items, err := g.ref(t.Elem())
		return map[string]any{"type": "array", "items": items}, err
	case reflect.Map:
		if t.Key().Kind() != reflect.String {
			return nil, fmt.Errorf("map key %s is not a string", t.Key())
		}
		vals, err := g.ref(t.Elem())
		return map[string]any{"type": "object", "additionalProperties": vals}, err
	case reflect.Struct:
		if t.Name() == "" {
			return g.object(t)
		}
		name := componentName(t)
		if prev, ok := g.types[name]; ok {
			if prev != t {
				return nil, fmt.Errorf("types %s and %s would share the schema name %s", prev, t, name)
			}
		} else {
			g.types[name] = t
			obj, err := g.object(t)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", t, err)
			}
			g.schemas[name] = obj
		}
		return map[string]any{"$ref": "#/components/schemas/" + name}, nil
	}
	return nil, fmt.Errorf("no schema for %s", t)
}

// componentName is a named type's schema name: its Go name, capitalised.
func componentName(t reflect.Type) string {
	r := []rune(t.Name())
	r[0] = unicode.ToUpper(r[0])
	return string(r)
}

// object returns the object schema of struct t, following encoding/json:
// properties named by json tags, "-" and unexported fields skipped, and the
// fields of untagged embedded structs promoted.
func (g *schemaGen) object(t reflect.Type) (map[string]any, error) {
	props := map[string]any{}
	if err := g.fields(t, props); err != nil {
		return nil, err
	}
	return map[string]any{"type": "object", "properties": props}, nil
}

func (g *schemaGen) fields(t reflect.Type, props map[string]any) error {
	for f := range t.Fields() {
		tag := f.Tag.Get("json")
		if tag == "-" {
			continue
		}
		name, _, _ := strings.Cut(tag, ",")
		ft := f.Type
		for ft.Kind() == reflect.Pointer {
			ft = ft.Elem()
		}
		if f.Anonymous && name == "" && ft.Kind() == reflect.Struct {
			if err := g.fields(ft, props); err != nil {
				return err
			}
			continue
		}
		if !f.IsExported() {
			continue
		}
		if name == "" {
			name = f.Name
		}
		s, err := g.ref(f.Type)
		if err != nil {
			return fmt.Errorf("field %s: %w", f.Name, err)
		}
		if writeOnly(t, f.Name) {
			s["writeOnly"] = true
		}
		if e := fieldEnum(t, f.Name); e != nil {
			s["enum"] = e
		}
		props[name] = s
	}
	return nil
}

// fieldEnum lists the values of the string fields whose Go type does not
// say them; nil for every other field.
func fieldEnum(t reflect.Type, field string) []string {
	if t == reflect.TypeFor[argus.Camera]() && field == "Transport" {
		return []string{"", argus.TransportTCP, argus.TransportUDP, argus.TransportAuto}
	}
	return nil
}

// writeOnly reports the fields a client may send but never gets back.
func writeOnly(t reflect.Type, field string) bool {
	return t == reflect.TypeFor[argus.Camera]() && field == "Password"
}
