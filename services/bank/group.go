package bank

import (
	"context"
	"errors"
	"fmt"
	"net"
	"sync"
)

// Group is all seven services running in this process on loopback ports, with
// the gateway wired to the other six. It is the quickest whole stack for tests
// and for the harness's local mode.
type Group struct {
	// URLs maps each full service name to its base URL, e.g. "http://127.0.0.1:40123".
	URLs map[string]string
	// Servers maps each full service name to its server.
	Servers map[string]*Server

	cancel context.CancelFunc
	wg     sync.WaitGroup
	mu     sync.Mutex
	errs   []error
}

// StartGroup starts the seven services. base supplies the settings they share
// (Inject, Logger, PaymentLatency, DownstreamTimeout, ...); Service, Addr and
// Downstreams are set per service, and ProfileLabels is always on so that the
// process's profiles can be split by the pprof label "service". host is the interface to listen on
// ("127.0.0.1" when empty); ports are chosen by the kernel.
func StartGroup(ctx context.Context, base Config, host string) (*Group, error) {
	if host == "" {
		host = "127.0.0.1"
	}
	g := &Group{URLs: map[string]string{}, Servers: map[string]*Server{}}
	lns := map[string]net.Listener{}
	closeAll := func() {
		for _, ln := range lns {
			ln.Close()
		}
	}
	for _, s := range Services {
		ln, err := net.Listen("tcp", net.JoinHostPort(host, "0"))
		if err != nil {
			closeAll()
			return nil, fmt.Errorf("listen for %s: %w", s.Name, err)
		}
		lns[s.Name] = ln
		g.URLs[s.Name] = "http://" + ln.Addr().String()
	}
	ds := Downstreams{
		Order: g.URLs[ServiceOrder], Payment: g.URLs[ServicePayment], Fraud: g.URLs[ServiceFraud],
		Account: g.URLs[ServiceAccount], Loan: g.URLs[ServiceLoan], Notification: g.URLs[ServiceNotification],
	}
	for _, s := range Services {
		cfg := base
		cfg.Service, cfg.Addr, cfg.Downstreams = s.Name, lns[s.Name].Addr().String(), ds
		cfg.ProfileLabels = true
		srv, err := New(cfg)
		if err != nil {
			closeAll()
			return nil, err
		}
		g.Servers[s.Name] = srv
	}
	ctx, g.cancel = context.WithCancel(ctx)
	for name, srv := range g.Servers {
		ln := lns[name]
		g.wg.Add(1)
		go func() {
			defer g.wg.Done()
			if err := srv.Serve(ctx, ln); err != nil {
				g.mu.Lock()
				g.errs = append(g.errs, err)
				g.mu.Unlock()
			}
		}()
	}
	return g, nil
}

// Close shuts all seven down gracefully and returns their errors, if any.
func (g *Group) Close() error {
	g.cancel()
	g.wg.Wait()
	g.mu.Lock()
	defer g.mu.Unlock()
	return errors.Join(g.errs...)
}
