package bank

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"reflect"
	"regexp"
	"strings"
	"unicode"
)

// apiError is an error with the HTTP status it should produce. Handlers return
// it instead of writing responses themselves so that every failure has the
// same JSON shape: {"error": "..."}.
type apiError struct {
	Status int
	Msg    string
}

func (e *apiError) Error() string { return e.Msg }

func errorf(status int, format string, args ...any) *apiError {
	return &apiError{Status: status, Msg: fmt.Sprintf(format, args...)}
}

// writeJSON writes v with the given status. Encoding errors of our own
// response types cannot happen for valid data; if one does, the client still
// gets a JSON error rather than a torn body.
func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		status, b = http.StatusInternalServerError, []byte(`{"error":"encoding response"}`)
	}
	writeRaw(w, status, b)
}

func writeRaw(w http.ResponseWriter, status int, b []byte) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(b)
	_, _ = w.Write([]byte{'\n'})
}

func writeError(w http.ResponseWriter, err error) {
	var ae *apiError
	if !errors.As(err, &ae) {
		ae = &apiError{Status: http.StatusInternalServerError, Msg: err.Error()}
	}
	writeJSON(w, ae.Status, map[string]string{"error": ae.Msg})
}

// handle adapts a handler that returns an error into an http.Handler, and
// turns a panic into a 500 so that one bad request never takes a service down.
func handle(fn func(w http.ResponseWriter, r *http.Request) error) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			if p := recover(); p != nil {
				if p == http.ErrAbortHandler {
					panic(p)
				}
				writeError(w, errorf(http.StatusInternalServerError, "internal error"))
			}
		}()
		if err := fn(w, r); err != nil {
			writeError(w, err)
		}
	})
}

// decodeJSON reads one JSON object from the body into dst, strictly: unknown
// fields, trailing data and bodies over the limit are client errors. The
// classes map to statuses a client can act on: 413 for size, 400 otherwise.
func decodeJSON(w http.ResponseWriter, r *http.Request, limit int64, dst any) error {
	if ct := r.Header.Get("Content-Type"); ct != "" && !strings.Contains(ct, "json") && !strings.HasPrefix(ct, "text/plain") && !strings.HasPrefix(ct, "application/x-www-form-urlencoded") {
		return errorf(http.StatusUnsupportedMediaType, "content type %q: want application/json", ct)
	}
	data, err := io.ReadAll(http.MaxBytesReader(w, r.Body, limit))
	if err != nil {
		return jsonError(err, limit)
	}
	// encoding/json takes the last of duplicate keys and matches keys to
	// fields case-insensitively, so {"amount":1,"AMOUNT":1000} would move
	// 1000 while a proxy or log that reads the first key saw 1. Both are
	// refused before decoding.
	if err := checkKeys(data, reflect.TypeOf(dst)); err != nil {
		return err
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(dst); err != nil {
		return jsonError(err, limit)
	}
	if err := dec.Decode(&struct{}{}); err != io.EOF {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return errorf(http.StatusRequestEntityTooLarge, "request body larger than %d bytes", limit)
		}
		return errorf(http.StatusBadRequest, "request body must hold a single JSON object")
	}
	return nil
}

func jsonError(err error, limit int64) *apiError {
	var (
		mbe *http.MaxBytesError
		se  *json.SyntaxError
		ute *json.UnmarshalTypeError
	)
	switch {
	case errors.As(err, &mbe):
		return errorf(http.StatusRequestEntityTooLarge, "request body larger than %d bytes", limit)
	case errors.Is(err, io.EOF):
		return errorf(http.StatusBadRequest, "empty request body: want a JSON object")
	case errors.Is(err, io.ErrUnexpectedEOF):
		return errorf(http.StatusBadRequest, "malformed JSON: unexpected end of body")
	case errors.As(err, &se):
		return errorf(http.StatusBadRequest, "malformed JSON at byte %d: %v", se.Offset, se)
	case errors.As(err, &ute):
		return errorf(http.StatusBadRequest, "field %q: want %s, got JSON %s", ute.Field, ute.Type, ute.Value)
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		return errorf(http.StatusBadRequest, "unknown field %s", strings.TrimPrefix(err.Error(), "json: unknown field "))
	default:
		return errorf(http.StatusBadRequest, "bad JSON: %v", err)
	}
}

// checkKeys walks the JSON in data alongside the Go type t it will be
// decoded into, and refuses an object with two keys that encoding/json would
// take for one (equal, or equal ignoring case), and a key that matches a
// struct field only ignoring case. Malformed JSON is left to the decoder,
// which reports it better.
func checkKeys(data []byte, t reflect.Type) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	err := walkKeys(dec, t)
	var ae *apiError
	if errors.As(err, &ae) {
		return ae
	}
	return nil
}

func walkKeys(dec *json.Decoder, t reflect.Type) error {
	for t != nil && t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	tok, err := dec.Token()
	if err != nil {
		return err
	}
	switch tok {
	case json.Delim('{'):
		var fields map[string]reflect.StructField
		if t != nil && t.Kind() == reflect.Struct {
			fields = map[string]reflect.StructField{}
			for i := range t.NumField() {
				f := t.Field(i)
				name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
				if name == "" || name == "-" {
					name = f.Name
				}
				fields[foldKey(name)] = f
				fields[foldKey(name)+"\x00"] = reflect.StructField{Name: name}
			}
		}
		seen := map[string]string{}
		for dec.More() {
			kt, err := dec.Token()
			if err != nil {
				return err
			}
			key, _ := kt.(string)
			fk := foldKey(key)
			if prev, dup := seen[fk]; dup {
				if prev == key {
					return errorf(http.StatusBadRequest, "key %q appears twice in one object", truncate(key, 40))
				}
				return errorf(http.StatusBadRequest, "keys %q and %q differ only in case; give each key once, in lower case", truncate(prev, 40), truncate(key, 40))
			}
			seen[fk] = key
			var next reflect.Type
			switch {
			case fields != nil:
				if f, ok := fields[fk]; ok {
					if want := fields[fk+"\x00"].Name; want != key {
						return errorf(http.StatusBadRequest, "key %q: keys are case-sensitive; did you mean %q?", truncate(key, 40), want)
					}
					next = f.Type
				}
			case t != nil && t.Kind() == reflect.Map:
				next = t.Elem()
			}
			if err := walkKeys(dec, next); err != nil {
				return err
			}
		}
		_, err := dec.Token() // '}'
		return err
	case json.Delim('['):
		var elem reflect.Type
		if t != nil && (t.Kind() == reflect.Slice || t.Kind() == reflect.Array) {
			elem = t.Elem()
		}
		for dec.More() {
			if err := walkKeys(dec, elem); err != nil {
				return err
			}
		}
		_, err := dec.Token() // ']'
		return err
	}
	return nil
}

// foldKey folds a key as encoding/json compares keys to fields (Unicode
// simple case folding: "K", the Kelvin sign and "k" are one letter).
func foldKey(s string) string {
	return strings.Map(func(r rune) rune {
		m := r
		for f := unicode.SimpleFold(r); f != r; f = unicode.SimpleFold(f) {
			m = min(m, f)
		}
		return m
	}, s)
}

var idPattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$`)

// checkID validates an identifier from a path or body.
func checkID(field, id string) error {
	if id == "" {
		return errorf(http.StatusBadRequest, "%s is required", field)
	}
	if !idPattern.MatchString(id) {
		return errorf(http.StatusBadRequest, "%s %q: want 1-64 letters, digits, '-' or '_'", field, truncate(id, 70))
	}
	return nil
}

// maxAmount bounds money amounts: large enough for any demo, small enough that
// cents fit comfortably in int64 arithmetic.
const maxAmount = 1e9

// toCents validates a money amount and converts it to integer cents.
func toCents(field string, v *float64) (int64, error) {
	if v == nil {
		return 0, errorf(http.StatusBadRequest, "%s is required", field)
	}
	a := *v
	if math.IsNaN(a) || math.IsInf(a, 0) || a <= 0 {
		return 0, errorf(http.StatusBadRequest, "%s must be positive, got %v", field, a)
	}
	if a > maxAmount {
		return 0, errorf(http.StatusBadRequest, "%s must be at most %v, got %v", field, maxAmount, a)
	}
	c := int64(math.Round(a * 100))
	// Refuse sub-cent amounts rather than round them: 0.005 is not a cent.
	// The tolerance only absorbs binary floating point (0.29*100 is
	// 28.999999999999996).
	if d := math.Abs(a*100 - float64(c)); d > 1e-6*max(1, a) {
		return 0, errorf(http.StatusBadRequest, "%s %v has more than two decimals; give whole cents", field, a)
	}
	if c < 1 {
		return 0, errorf(http.StatusBadRequest, "%s must be at least 0.01, got %v", field, a)
	}
	return c, nil
}

var currencies = map[string]bool{"USD": true, "EUR": true, "GBP": true, "CHF": true, "JPY": true}

func checkCurrency(c *string) error {
	if *c == "" {
		*c = "USD"
		return nil
	}
	if !currencies[*c] {
		return errorf(http.StatusBadRequest, "currency %q not supported (USD, EUR, GBP, CHF, JPY)", truncate(*c, 10))
	}
	return nil
}

func cents(c int64) float64 { return float64(c) / 100 }

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "..."
}

// compactJSON is used where a handler forwards a body it already validated.
func compactJSON(b []byte) []byte {
	var buf bytes.Buffer
	if json.Compact(&buf, b) != nil {
		return b
	}
	return buf.Bytes()
}

// checkMove validates the fields every money movement has — two different
// account IDs, a positive amount and a currency (defaulted in place) — and
// returns the amount in cents. The gateway's transfers and the payment
// service validate them alike.
func checkMove(from, to string, amount *float64, currency *string) (int64, error) {
	if err := checkID("from", from); err != nil {
		return 0, err
	}
	if err := checkID("to", to); err != nil {
		return 0, err
	}
	if from == to {
		return 0, errorf(http.StatusBadRequest, "from and to must differ")
	}
	cents, err := toCents("amount", amount)
	if err != nil {
		return 0, err
	}
	if err := checkCurrency(currency); err != nil {
		return 0, err
	}
	return cents, nil
}
