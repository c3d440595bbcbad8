package pyroscope

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"

	"connectrpc.com/connect"
)

// Sentinel errors, for errors.Is on an *Error.
var (
	// ErrUnreachable: no HTTP response at all (connection refused, DNS,
	// TLS, network down).
	ErrUnreachable = errors.New("cannot reach Pyroscope")
	// ErrUnauthorized: the server answered 401 or 403.
	ErrUnauthorized = errors.New("Pyroscope refused the credentials")
	// ErrTimeout: an attempt took longer than the per-call timeout.
	ErrTimeout = errors.New("Pyroscope did not answer in time")
)

// Error is a failed call to Pyroscope. Its message never contains
// credentials: the URL is printed without them and any server text is
// redacted.
type Error struct {
	URL      string       // the server's base URL, without credentials
	Op       string       // the Connect method, e.g. "SelectMergeProfile"
	Code     connect.Code // the Connect code (CodeUnavailable when unreachable)
	Status   int          // the HTTP status, or 0 when there was no response
	Attempts int          // how many attempts were made

	msg   string // the cause, redacted
	cause error  // a Connect error with Code and msg
}

func (c *Client) newError(op string, err error, status, attempts int) *Error {
	e := &Error{URL: c.url, Op: op, Code: connect.CodeOf(err), Status: status, Attempts: attempts}
	var ce *connect.Error
	var oe *net.OpError
	var de *net.DNSError
	switch {
	case errors.As(err, &oe):
		e.msg = oe.Error()
	case errors.As(err, &de):
		e.msg = de.Error()
	case errors.As(err, &ce):
		e.msg = ce.Message()
		if e.msg == "" {
			e.msg = ce.Code().String()
		}
	default:
		e.msg = err.Error()
	}
	if e.Status == 0 {
		// Connect's protocol maps codes to fixed statuses; use them when the
		// transport did not see the response (e.g. a test's custom client).
		switch e.Code {
		case connect.CodeUnauthenticated:
			e.Status = http.StatusUnauthorized
		case connect.CodePermissionDenied:
			e.Status = http.StatusForbidden
		}
	}
	e.msg = c.redact(e.msg)
	// The cause keeps the code for connect.CodeOf but only the redacted
	// text, so no way of printing the error chain reveals a credential.
	e.cause = connect.NewError(e.Code, errors.New(e.msg))
	return e
}

// unreachable: no response was received and the attempt did not time out.
func (e *Error) unreachable() bool {
	return e.Status == 0 && e.Code != connect.CodeDeadlineExceeded && e.Code != connect.CodeCanceled &&
		(e.Code == connect.CodeUnavailable || e.Code == connect.CodeUnknown || e.Code == connect.CodeInternal)
}

func (e *Error) Error() string {
	var tries string
	if e.Attempts > 1 {
		tries = fmt.Sprintf(" (after %d attempts)", e.Attempts)
	}
	switch {
	case e.Code == connect.CodeUnauthenticated || e.Code == connect.CodePermissionDenied:
		return fmt.Sprintf("Pyroscope at %s refused the credentials (%d): check the basic auth user and password, bearer token and tenant; server said: %s", e.URL, e.Status, e.msg)
	case e.Code == connect.CodeDeadlineExceeded:
		return fmt.Sprintf("Pyroscope at %s did not answer %s in time%s: %s", e.URL, e.Op, tries, e.msg)
	case e.unreachable():
		return fmt.Sprintf("cannot reach Pyroscope at %s%s: %s", e.URL, tries, e.msg)
	}
	status := ""
	if e.Status != 0 {
		status = fmt.Sprintf(", HTTP %d", e.Status)
	}
	return fmt.Sprintf("Pyroscope at %s: %s failed (%s%s)%s: %s", e.URL, e.Op, e.Code, status, tries, e.msg)
}

// Unwrap returns the Connect error, so connect.CodeOf works on an *Error.
func (e *Error) Unwrap() error { return e.cause }

// Is matches ErrUnreachable, ErrUnauthorized and ErrTimeout.
func (e *Error) Is(target error) bool {
	switch target {
	case ErrUnreachable:
		return e.unreachable()
	case ErrUnauthorized:
		return e.Code == connect.CodeUnauthenticated || e.Code == connect.CodePermissionDenied
	case ErrTimeout:
		return e.Code == connect.CodeDeadlineExceeded
	}
	return false
}

// UnknownProfileTypeError is returned when a requested profile type is not
// one profdiff knows and the server has no such type either: almost
// certainly a typo, so it lists what the server has.
type UnknownProfileTypeError struct {
	URL       string
	Type      string
	Available []string // profile type IDs the server has in the range
}

func (e *UnknownProfileTypeError) Error() string {
	have := "none in the range"
	if len(e.Available) > 0 {
		have = strings.Join(e.Available, ", ")
	}
	return fmt.Sprintf("Pyroscope at %s has no profile type %q; it has: %s", e.URL, e.Type, have)
}
