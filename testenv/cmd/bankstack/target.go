package main

import (
	"fmt"
	"net"
	"sort"
	"strconv"
	"strings"

	"github.com/spf13/pflag"

	"github.com/profdiff/profdiff/config"
	"github.com/profdiff/profdiff/testenv"
)

// targetFlags say which running stack load and validate talk to: the one
// `bankstack up` recorded in its state file, or, with --host, one that
// compose, Ansible or Terraform started, whose ports are published on that
// host as docker-compose.yml publishes them (--port for any that differ).
type targetFlags struct {
	state string
	host  string
	ports map[string]string
}

func addTargetFlags(fs *pflag.FlagSet) *targetFlags {
	t := &targetFlags{}
	fs.StringVar(&t.state, "state", defaultStatePath(), "the state file bankstack up wrote")
	fs.StringVar(&t.host, "host", "", "instead of --state: a stack deployed by compose, Ansible or Terraform, published on this host at the compose ports (services 8080-8086, pyroscope 4040, prometheus 9090, grafana 3000)")
	fs.StringToStringVar(&t.ports, "port", nil, "with --host: COMPONENT=PORT for a component published elsewhere; PORT 0 for one that does not run (e.g. grafana=0)")
	return t
}

// composePorts are the host ports docker-compose.yml publishes by default.
func composePorts() map[string]int {
	ports := map[string]int{"pyroscope": 4040, "prometheus": 9090, "grafana": 3000}
	for _, s := range config.Services {
		ports[s.Name] = s.Port
	}
	return ports
}

// endpoints resolves the flags to the stack's URLs.
func (t *targetFlags) endpoints() (testenv.Endpoints, error) {
	if t.host == "" {
		if len(t.ports) > 0 {
			return testenv.Endpoints{}, fmt.Errorf("--port needs --host (the state file already records every port)")
		}
		st, err := readState(t.state)
		if err != nil {
			return testenv.Endpoints{}, err
		}
		return st.Endpoints, nil
	}
	ports := composePorts()
	for name, v := range t.ports {
		if _, ok := ports[name]; !ok {
			names := make([]string, 0, len(ports))
			for n := range ports {
				names = append(names, n)
			}
			sort.Strings(names)
			return testenv.Endpoints{}, fmt.Errorf("--port %s=%s: unknown component %q; want one of %s", name, v, name, strings.Join(names, ", "))
		}
		p, err := strconv.Atoi(v)
		if err != nil || p < 0 || p > 65535 {
			return testenv.Endpoints{}, fmt.Errorf("--port %s=%s: want a port number 1-65535, or 0 for a component that does not run", name, v)
		}
		ports[name] = p
	}
	url := func(name string) string {
		if ports[name] == 0 {
			return ""
		}
		return "http://" + net.JoinHostPort(t.host, strconv.Itoa(ports[name]))
	}
	ep := testenv.Endpoints{Services: map[string]string{}, Pyroscope: url("pyroscope"), Prometheus: url("prometheus"), Grafana: url("grafana")}
	for _, s := range config.Services {
		if u := url(s.Name); u != "" {
			ep.Services[s.Name] = u
		}
	}
	if ep.Pyroscope == "" {
		return testenv.Endpoints{}, fmt.Errorf("--port pyroscope=0: the stack needs its Pyroscope")
	}
	return ep, nil
}
