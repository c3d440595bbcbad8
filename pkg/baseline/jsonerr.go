package baseline

import (
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
)

// jsonError rewrites encoding/json's type errors, which name Go types
// ("cannot unmarshal string into Go struct field Window.windows.total of
// type int64"), in the file's own terms: the field's path in the JSON,
// what it should hold and what it held. Other errors are returned as they
// are.
func jsonError(err error) error {
	var te *json.UnmarshalTypeError
	if !errors.As(err, &te) {
		return err
	}
	field := te.Field
	if field == "" {
		field = "the document"
	}
	return fmt.Errorf("field %s: want %s, not %s (byte %d)", field, jsonKind(te.Type), te.Value, te.Offset)
}

// jsonKind says in JSON's words what a Go type decodes from.
func jsonKind(t reflect.Type) string {
	if t == nil {
		return "another kind of value"
	}
	switch t.Kind() {
	case reflect.String:
		return "a string"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "a whole number"
	case reflect.Float32, reflect.Float64:
		return "a number"
	case reflect.Bool:
		return "true or false"
	case reflect.Slice, reflect.Array:
		return "a list"
	case reflect.Map, reflect.Struct:
		return "an object"
	case reflect.Pointer:
		return jsonKind(t.Elem())
	}
	return "another kind of value"
}
