package testenv

import (
	"bytes"
	"context"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/profdiff/profdiff/services/bank"
)

// TestPortClashRetried: a port picked free and taken by another program
// before the service binds it makes the service exit with "address already
// in use"; the local stack starts its services again on new ports instead
// of failing (a duet's stack once failed this way with 14 other services
// and two load generators on the machine).
func TestPortClashRetried(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a service process")
	}
	taken, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer taken.Close()
	first := true
	pickPort = func() (int, error) {
		if first {
			first = false
			return taken.Addr().(*net.TCPAddr).Port, nil
		}
		return freePort()
	}
	defer func() { pickPort = freePort }()
	var progress bytes.Buffer
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	s, err := Start(ctx, Options{Services: []string{bank.ServiceAccount}, Prometheus: "off", Grafana: "off", WorkDir: t.TempDir(), Progress: &progress})
	if err != nil {
		t.Fatalf("start with the first port taken: %v\n%s", err, progress.String())
	}
	defer s.Close()
	if !strings.Contains(progress.String(), "its port was taken") {
		t.Errorf("progress does not say the services were started again:\n%s", progress.String())
	}
	if first {
		t.Error("the taken port was never picked; the test did not exercise a clash")
	}
}

// TestPortPickedTwice: when the kernel hands the same free port out twice,
// the second service gets another one: both start, on distinct ports.
func TestPortPickedTwice(t *testing.T) {
	if testing.Short() {
		t.Skip("starts service processes")
	}
	same, err := freePort()
	if err != nil {
		t.Fatal(err)
	}
	picks := 0
	pickPort = func() (int, error) {
		if picks++; picks <= 2 {
			return same, nil
		}
		return freePort()
	}
	defer func() { pickPort = freePort }()
	var progress bytes.Buffer
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	s, err := Start(ctx, Options{Services: []string{bank.ServiceAccount, bank.ServiceLoan}, Prometheus: "off", Grafana: "off", WorkDir: t.TempDir(), Progress: &progress})
	if err != nil {
		t.Fatalf("start with one port picked twice: %v\n%s", err, progress.String())
	}
	defer s.Close()
	urls := s.ServiceURLs()
	if len(urls) != 2 || urls[bank.ServiceAccount] == urls[bank.ServiceLoan] {
		t.Errorf("service URLs %v: want two services on distinct ports", urls)
	}
}
