package profstore

import (
	"encoding/json"
	"net/http"

	"connectrpc.com/connect"
)

// writeError answers a plain HTTP request (/ingest, a rejected upload, auth)
// the way the real server does:
// a JSON body {"code": ..., "message": ...} whose code is derived from the
// HTTP status, so clients that decode Connect errors also understand it.
func writeError(w http.ResponseWriter, status int, msg string) {
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(struct {
		Code    connect.Code `json:"code"`
		Message string       `json:"message"`
	}{Code: codeForStatus(status), Message: msg})
}

// codeForStatus mirrors the mapping the real server uses for HTTP errors.
func codeForStatus(status int) connect.Code {
	switch status {
	case 400, 413:
		return connect.CodeInvalidArgument
	case 401:
		return connect.CodeUnauthenticated
	case 403:
		return connect.CodePermissionDenied
	case 404:
		return connect.CodeUnimplemented
	case 412:
		return connect.CodeFailedPrecondition
	case 429, 431:
		return connect.CodeResourceExhausted
	case 499:
		return connect.CodeCanceled
	case 502, 503:
		return connect.CodeUnavailable
	case 504:
		return connect.CodeDeadlineExceeded
	default:
		return connect.CodeUnknown
	}
}
