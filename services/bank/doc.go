// Package bank provides the seven bank microservices that profdiff guards: an API
// gateway and the order, payment, fraud, account, loan and notification services.
//
// They exist to be profiled. Each service does real work (JSON, regular
// expressions, floating-point math, locking, templating) and has named hot spots
// that an operations team would recognise in a flame graph. Every hot spot is one
// stably named, non-inlined function listed in [Hotspots], so a tool comparing
// profiles can be checked against the function it is expected to name. A hot
// spot's work can be scaled at start-up ([Config.Inject], [ParseInject]) to
// produce a regression of known size on purpose.
//
// One [Server] runs one service. The harness can run all seven in one process
// (each [Server] owns its own mux, metrics registry and state) or as seven
// processes of services/cmd/bank. Continuous profiling with pyroscope-go is
// process-wide and is started separately with [StartProfiling].
package bank
