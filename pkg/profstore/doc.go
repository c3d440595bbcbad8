// Package profstore is an in-memory stand-in for a Grafana Pyroscope server:
// it takes pyroscope-go's uploads (/ingest, Push) and answers the Connect
// query API, so that profdiff's tests, its local stack and Grafana run
// without a real Pyroscope.
//
// It exists because the real server cannot be installed or pulled in the
// project's CI, yet everything that talks to Pyroscope (the pyroscope-go SDK
// in the bank services, pkg/pyroscope, the validator) must be exercised end to
// end. Where the real server's behaviour is observable (see
// shared/pyroscope-samples), profstore copies it: the same profile type IDs
// derived from pyroscope-go uploads, the same label names, the same response
// shapes and the same error wording. README.md lists the endpoints and the
// known differences.
//
// Data lives in memory only. Each upload is kept as the (compressed) pprof
// bytes it arrived as and decoded again when queried: that keeps memory close
// to what was uploaded, which makes the memory cap honest and simple.
//
// Run starts a listening server, configured with options such as WithAddr
// and WithBasicAuth; New(...).Handler() mounts one in an httptest server or
// another mux instead.
package profstore
