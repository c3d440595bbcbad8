package profstore

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/grafana/pyroscope/api/model/labelset"
)

// ingestError carries the HTTP status the real server would answer with.
type ingestError struct {
	status int
	msg    string
}

func (e *ingestError) Error() string { return e.msg }

// The real server answers 400 for bad metadata, 413 for a body over the
// limit, and 422 for a body it cannot turn into a profile (the wording below
// follows its messages, including the doubled "failed").
func badMeta(err error) *ingestError {
	return &ingestError{http.StatusBadRequest, err.Error()}
}

func badProfile(format string, a ...any) *ingestError {
	return &ingestError{http.StatusUnprocessableEntity, "parsing IngestInput-pprof failed " + fmt.Sprintf(format, a...)}
}

// handleIngest implements POST /ingest as pyroscope-go v1.5.0 uses it
// (multipart pprof + sample_type_config) and raw pprof with format=pprof.
func (s *Server) handleIngest(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		writeError(w, http.StatusMethodNotAllowed, "method not allowed")
		return
	}
	if err := s.ingest(w, r); err != nil {
		s.store.reject()
		var ie *ingestError
		if !errors.As(err, &ie) {
			ie = &ingestError{http.StatusInternalServerError, err.Error()}
		}
		s.opts.Logger.Info("ingest rejected", "status", ie.status, "err", ie.msg)
		writeError(w, ie.status, ie.msg)
		return
	}
	w.WriteHeader(http.StatusOK)
}

func (s *Server) ingest(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	ls, err := labelset.Parse(q.Get("name"))
	if err != nil {
		return badMeta(fmt.Errorf("name: %w", err))
	}
	now := s.opts.Now()
	from := now
	if v := q.Get("from"); v != "" {
		// The real server never fails on a bad time; neither does ingest
		// here, so an SDK with an odd clock still gets its data stored.
		if t, err := parseUnixTime(v); err == nil {
			from = t
		}
	}
	spy := q.Get("spyName")
	if spy == "" {
		spy = "unknown"
	}

	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, s.opts.MaxUploadBytes))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return &ingestError{http.StatusRequestEntityTooLarge, "request body too large: " + err.Error()}
		}
		return &ingestError{http.StatusRequestTimeout, fmt.Sprintf("error reading request body bytes_read %d: %v", len(body), err)}
	}

	var (
		raw []byte
		cfg map[string]*sampleTypeConfig
	)
	format := q.Get("format")
	ct := r.Header.Get("Content-Type")
	switch {
	case format == "pprof":
		raw = body
	case format == "" && strings.Contains(ct, "multipart/form-data"):
		raw, cfg, err = readIngestForm(body, ct)
		if err != nil {
			return badProfile("failed to parse pprof /ingest multipart form %v", err)
		}
	default:
		if format == "" {
			format = "groups"
		}
		return &ingestError{http.StatusBadRequest, fmt.Sprintf("profstore: ingest format %q is not supported; send pprof (multipart or format=pprof)", format)}
	}
	if len(raw) == 0 {
		// The real server accepts an upload without a profile and stores
		// nothing; so do we.
		return nil
	}
	p, err := decodeProfile(raw, s.opts.MaxDecompressedBytes)
	if err != nil {
		return badProfile("invalid_argument: %v", err)
	}
	ts := p.TimeNanos
	if ts <= 0 || time.Unix(0, ts).Year() == 1970 {
		ts = from.UnixNano()
	}
	name := profileName(p, cfg)
	tags := ls.Labels()
	if svc, ok := tags[labelService]; ok && svc != ls.ServiceName() {
		// Otherwise any client could file its profiles under another
		// service's name.
		return badMeta(fmt.Errorf("name: the %s label %q differs from the application name %q; the application name is the service name", labelService, clip(svc), clip(ls.ServiceName())))
	}
	base := ingestBaseLabels(tags, ls.ServiceName(), spy)
	// The real server charges the rate limit before it validates labels.
	if err := s.limiter.allow(r.Header.Get(tenantHeader), uploadCost(p.SizeVT(), base, name), now); err != nil {
		return &ingestError{http.StatusTooManyRequests, err.Error()}
	}
	if err := s.opts.checkLabels(base); err != nil {
		return badMeta(err)
	}
	places := make([]placement, 0, len(p.SampleType))
	for i, t := range profileTypesOf(name, p) {
		places = append(places, placement{lbls: seriesLabels(base, t), typ: t, sampleIdx: i})
	}
	if err := s.store.add(raw, ts, places); err != nil {
		var tm errTooManySeries
		if errors.As(err, &tm) {
			return &ingestError{tm.status(), err.Error()}
		}
		return &ingestError{http.StatusRequestEntityTooLarge, err.Error()}
	}
	return nil
}

// readIngestForm extracts the profile and sample_type_config parts of a
// pyroscope-go upload. Parts are read in memory: the body is already bounded
// by MaxUploadBytes.
func readIngestForm(body []byte, contentType string) ([]byte, map[string]*sampleTypeConfig, error) {
	_, params, err := mime.ParseMediaType(contentType)
	if err != nil {
		return nil, nil, err
	}
	boundary := params["boundary"]
	if boundary == "" {
		return nil, nil, errors.New("no multipart boundary param in Content-Type")
	}
	mr := multipart.NewReader(bytes.NewReader(body), boundary)
	var profile, stc []byte
	for {
		part, err := mr.NextPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, nil, err
		}
		b, err := io.ReadAll(part)
		if err != nil {
			return nil, nil, err
		}
		switch part.FormName() {
		case "profile":
			profile = b
		case "prev_profile":
			return nil, nil, errors.New("unsupported client version. Please update github.com/grafana/pyroscope-go to the latest version")
		case "sample_type_config":
			stc = b
		}
	}
	var cfg map[string]*sampleTypeConfig
	if len(stc) > 0 {
		if err := json.Unmarshal(stc, &cfg); err != nil {
			return nil, nil, err
		}
	}
	return profile, cfg, nil
}

// parseUnixTime reads /ingest's from= (and until=, which is not used): Unix
// time as digits, its unit told by the length as on the real server (up to
// 11 digits seconds, 13 milliseconds, 16 microseconds, 19 nanoseconds;
// pyroscope-go sends nanoseconds). Nothing else is accepted: the relative
// and calendar forms ("now-1h", YYYYMMDD) belong to the real server's query
// API, which profstore answers with Connect only.
func parseUnixTime(s string) (time.Time, error) {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return time.Time{}, fmt.Errorf("cannot parse time %q: want Unix time as digits", s)
		}
	}
	v, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return time.Time{}, fmt.Errorf("cannot parse time %q: %w", s, err)
	}
	switch n := len(s); {
	case n <= 11:
		return time.Unix(v, 0), nil
	case n == 13:
		return time.UnixMilli(v), nil
	case n == 16:
		return time.UnixMicro(v), nil
	case n == 19:
		return time.Unix(0, v), nil
	default:
		return time.Time{}, fmt.Errorf("cannot parse time %q: %d digits is neither s, ms, µs nor ns", s, n)
	}
}
