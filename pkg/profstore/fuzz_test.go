package profstore

import (
	"bytes"
	"encoding/json"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"
	"time"

	"github.com/prometheus/prometheus/model/labels"
)

// The fuzz targets call the handler in process (no sockets) so that many
// inputs per second are tried. They only assert the contract that matters
// for a server facing arbitrary clients: no panic, and garbage is refused
// with a 4xx, never a 5xx.

func fuzzServer() *Server {
	return New(Options{MaxUploadBytes: 1 << 20, MaxDecompressedBytes: 4 << 20, MaxBytes: 16 << 20})
}

func serve(s *Server, req *http.Request) *httptest.ResponseRecorder {
	rec := httptest.NewRecorder()
	s.Handler().ServeHTTP(rec, req)
	return rec
}

func FuzzIngestMultipart(f *testing.F) {
	now := time.Unix(1795710470, 0)
	for _, k := range allKinds {
		f.Add(appName("app", map[string]string{"env": "x"}, k), buildProfile(k, now, 1), []byte(kindSpecs[k].config))
	}
	f.Add("", []byte{}, []byte{})
	f.Add("app{", []byte("not a profile"), []byte("{not json"))
	f.Add("app{a=b}", []byte{0x1f, 0x8b, 0, 0}, []byte(`{"x":{"display-name":"mutex_count"}}`))
	s := fuzzServer()
	f.Fuzz(func(t *testing.T, name string, prof, stc []byte) {
		var buf bytes.Buffer
		mw := multipart.NewWriter(&buf)
		fw, _ := mw.CreateFormFile("profile", "profile.pprof")
		_, _ = fw.Write(prof)
		if len(stc) > 0 {
			fw, _ = mw.CreateFormFile("sample_type_config", "sample_type_config.json")
			_, _ = fw.Write(stc)
		}
		_ = mw.Close()
		q := url.Values{"name": {name}, "spyName": {"gospy"}, "from": {"1795710470000000000"}}
		req := httptest.NewRequest(http.MethodPost, "/ingest?"+q.Encode(), &buf)
		req.Header.Set("Content-Type", mw.FormDataContentType())
		rec := serve(s, req)
		if rec.Code >= 500 {
			t.Fatalf("status %d: %s", rec.Code, rec.Body)
		}
		if rec.Code == 200 && len(prof) > 0 {
			// Accepted: it must be a profile we can query back.
			if _, err := decodeProfile(prof, 4<<20); err != nil {
				t.Fatalf("accepted an undecodable profile: %v", err)
			}
		}
	})
}

func FuzzIngestRaw(f *testing.F) {
	now := time.Unix(1795710470, 0)
	for _, k := range allKinds {
		f.Add(buildProfile(k, now, 2), "application/octet-stream")
	}
	f.Add([]byte("garbage"), "multipart/form-data; boundary=x")
	f.Add([]byte("--x\r\nContent-Disposition: form-data; name=\"profile\"\r\n\r\nabc\r\n--x--\r\n"), "multipart/form-data; boundary=x")
	s := fuzzServer()
	f.Fuzz(func(t *testing.T, body []byte, ct string) {
		for _, format := range []string{"pprof", ""} {
			req := httptest.NewRequest(http.MethodPost, "/ingest?name=app&format="+format, bytes.NewReader(body))
			req.Header.Set("Content-Type", ct)
			if rec := serve(s, req); rec.Code >= 500 {
				t.Fatalf("format %q: status %d: %s", format, rec.Code, rec.Body)
			}
		}
	})
}

func FuzzSelector(f *testing.F) {
	for _, s := range []string{`{service_name="x",env=~"a|b"}`, `{}`, ``, `{a!="b",c!~"d.*"}`, `smoke-app.cpu`, `{"otel.scope.name"="x"}`, `{a=~"("}`} {
		f.Add(s)
	}
	srv := fuzzServer()
	f.Fuzz(func(t *testing.T, sel string) {
		ms, err := ParseSelector(sel)
		if err == nil {
			matchesAll(labels.FromStrings("service_name", "x"), ms)
		}
		// And through the Connect API: a bad selector is a 400, never a 500.
		body, _ := json.Marshal(map[string]any{"profileTypeID": cpuType, "labelSelector": sel, "start": "1795706870000", "end": "1795710470000"})
		req := httptest.NewRequest(http.MethodPost, "/querier.v1.QuerierService/SelectMergeStacktraces", bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		rec := serve(srv, req)
		if rec.Code != 200 && rec.Code != 400 {
			t.Fatalf("SelectMergeStacktraces with selector %q: status %d: %s", sel, rec.Code, rec.Body)
		}
	})
}
