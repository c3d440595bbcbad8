package bank

import (
	"fmt"
	"log/slog"
	"net"
	"strconv"
	"strings"
	"time"
)

// Service names, as they appear in Pyroscope (service_name) and Prometheus.
const (
	ServiceGateway      = "bank-api-gateway"
	ServiceOrder        = "bank-order-service"
	ServicePayment      = "bank-payment-service"
	ServiceFraud        = "bank-fraud-service"
	ServiceAccount      = "bank-account-service"
	ServiceLoan         = "bank-loan-service"
	ServiceNotification = "bank-notification-service"
)

// ServiceInfo is one row of the service table in services/README.md.
type ServiceInfo struct {
	Name  string // full name, e.g. "bank-fraud-service"
	Short string // short alias accepted by --service, e.g. "fraud"
	Port  int    // default port
}

// Services lists the seven services in port order.
var Services = []ServiceInfo{
	{ServiceGateway, "gateway", 8080},
	{ServiceOrder, "order", 8081},
	{ServicePayment, "payment", 8082},
	{ServiceFraud, "fraud", 8083},
	{ServiceAccount, "account", 8084},
	{ServiceLoan, "loan", 8085},
	{ServiceNotification, "notification", 8086},
}

// LookupService resolves a full or short service name ("fraud" or
// "bank-fraud-service").
func LookupService(name string) (ServiceInfo, error) {
	n := strings.TrimSpace(name)
	for _, s := range Services {
		if n == s.Name || n == s.Short {
			return s, nil
		}
	}
	names := make([]string, len(Services))
	for i, s := range Services {
		names[i] = s.Name
	}
	return ServiceInfo{}, fmt.Errorf("unknown service %q (want one of %s)", name, strings.Join(names, ", "))
}

// DefaultAddr is the listen address a service uses when none is given.
func DefaultAddr(service string) string {
	s, err := LookupService(service)
	if err != nil {
		return ""
	}
	return ":" + strconv.Itoa(s.Port)
}

// Downstreams are the base URLs the gateway calls, e.g. "http://127.0.0.1:8083".
type Downstreams struct {
	Order, Payment, Fraud, Account, Loan, Notification string
}

// DefaultDownstreams points the gateway at the other services' default ports
// on the local host, as when all seven run on one machine.
func DefaultDownstreams() Downstreams {
	u := func(s string) string {
		info, _ := LookupService(s)
		return "http://127.0.0.1:" + strconv.Itoa(info.Port)
	}
	return Downstreams{
		Order: u(ServiceOrder), Payment: u(ServicePayment), Fraud: u(ServiceFraud),
		Account: u(ServiceAccount), Loan: u(ServiceLoan), Notification: u(ServiceNotification),
	}
}

// Config configures one service.
type Config struct {
	// Service is the full or short service name (required).
	Service string
	// Addr is the listen address for Run; empty means the service's default port.
	Addr string
	// Downstreams are used by the gateway only; empty fields take the defaults
	// of DefaultDownstreams.
	Downstreams Downstreams
	// DownstreamTimeout bounds each call the gateway makes (default 2s), so a
	// slow service turns into a 504 instead of a hung client.
	DownstreamTimeout time.Duration
	// Inject scales hot spots (see ParseInject). Hot spots of other services
	// are accepted and ignored, so one BANK_INJECT can be given to all seven.
	Inject map[string]float64
	// PaymentLatency is the simulated external payment gateway latency
	// (default 2ms; negative disables it).
	PaymentLatency time.Duration
	// DrainTimeout bounds the graceful shutdown in Run (default 15s).
	DrainTimeout time.Duration
	// MaxBodyBytes limits request bodies (default 1 MiB); larger bodies get 413.
	MaxBodyBytes int64
	// Logger receives start-up and shutdown messages (default slog.Default()).
	Logger *slog.Logger
	// ProfileLabels runs the server's goroutines under the pprof label
	// service=<name>, so that one process running several services (a Group)
	// can have its profiles split by service. Off for a service in its own
	// process, where Pyroscope's service_name already says it (pyroscope-go
	// would turn the label into a redundant series label).
	ProfileLabels bool
}

func (c *Config) setDefaults() error {
	info, err := LookupService(c.Service)
	if err != nil {
		return err
	}
	c.Service = info.Name
	if c.Addr == "" {
		c.Addr = ":" + strconv.Itoa(info.Port)
	}
	if _, _, err := net.SplitHostPort(c.Addr); err != nil {
		return fmt.Errorf("addr %q: %w", c.Addr, err)
	}
	def := DefaultDownstreams()
	ds := &c.Downstreams
	for _, p := range []struct {
		v *string
		d string
	}{
		{&ds.Order, def.Order}, {&ds.Payment, def.Payment}, {&ds.Fraud, def.Fraud},
		{&ds.Account, def.Account}, {&ds.Loan, def.Loan}, {&ds.Notification, def.Notification},
	} {
		if *p.v == "" {
			*p.v = p.d
		}
		*p.v = strings.TrimRight(*p.v, "/")
		if !strings.HasPrefix(*p.v, "http://") && !strings.HasPrefix(*p.v, "https://") {
			return fmt.Errorf("downstream URL %q: want http:// or https://", *p.v)
		}
	}
	if c.DownstreamTimeout <= 0 {
		c.DownstreamTimeout = 2 * time.Second
	}
	if c.PaymentLatency == 0 {
		c.PaymentLatency = 2 * time.Millisecond
	}
	if c.DrainTimeout <= 0 {
		c.DrainTimeout = 15 * time.Second
	}
	if c.MaxBodyBytes <= 0 {
		c.MaxBodyBytes = 1 << 20
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	for name, f := range c.Inject {
		if _, ok := HotspotByInject(name); !ok {
			return fmt.Errorf("inject: unknown hot spot %q", name)
		}
		if !(f > 0 && f <= MaxInjectFactor) {
			return fmt.Errorf("inject: factor %v for %q out of range (0, %d]", f, name, MaxInjectFactor)
		}
	}
	return nil
}
