package profstore

import (
	"errors"
	"net/http"

	"github.com/grafana/pyroscope/api/gen/proto/go/querier/v1/querierv1connect"
)

func errorsAs(err error, target any) bool { return err != nil && errors.As(err, target) }

func newQuerierClient(s *Server) querierv1connect.QuerierServiceClient {
	return querierv1connect.NewQuerierServiceClient(http.DefaultClient, s.URL())
}
