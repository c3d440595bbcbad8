// Package composestack reads docker-compose.yml and docker-compose.local.yml,
// the one description of the bank stack's containers, into a model every
// other way of running the stack derives from: deploy/stackgen writes the
// Ansible variables and Terraform locals from it, and testenv's Docker
// backend starts its containers from it. A setting the model does not carry
// is refused when the files are read, so it cannot silently go missing from
// one of those paths.
package composestack

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

// The compose files, relative to the repository root: the stack itself, and
// the override that swaps in the images built on this machine.
const (
	File      = "docker-compose.yml"
	LocalFile = "docker-compose.local.yml"
)

// composeService is the part of a compose service the model carries.
// Anything else in the file is refused (see readCompose), so a setting added
// to the compose file cannot silently go missing from Ansible, Terraform or
// the harness.
type composeService struct {
	Image       string            `yaml:"image"`
	Build       map[string]string `yaml:"build"`
	Command     []string          `yaml:"command"`
	Restart     string            `yaml:"restart"`
	MemLimit    string            `yaml:"mem_limit"`
	DependsOn   []string          `yaml:"depends_on"`
	Networks    []string          `yaml:"networks"`
	Ports       []string          `yaml:"ports"`
	Environment map[string]string `yaml:"environment"`
	Volumes     []string          `yaml:"volumes"`
	Healthcheck *composeHealth    `yaml:"healthcheck"`
	Profiles    []string          `yaml:"profiles"`
}

type composeHealth struct {
	Test        []string `yaml:"test"`
	Interval    string   `yaml:"interval"`
	Timeout     string   `yaml:"timeout"`
	Retries     int      `yaml:"retries"`
	StartPeriod string   `yaml:"start_period"`
}

var serviceKeys = map[string]bool{"image": true, "build": true, "command": true, "restart": true, "mem_limit": true,
	"depends_on": true, "networks": true, "ports": true, "environment": true, "volumes": true, "healthcheck": true, "profiles": true}

type composeDoc struct {
	Services map[string]composeService `yaml:"services"`
	Networks map[string]any            `yaml:"networks"`
	Volumes  map[string]any            `yaml:"volumes"`
}

// Stack is the one description of the stack's containers. Strings keep the
// compose file's variables as placeholders, which Rewrite turns into each
// consumer's form (Ansible: {{ name }}, Terraform: ${var.name}, the harness:
// the default); Vars holds their defaults, by lower-case name.
type Stack struct {
	Network    string
	Volumes    []string
	Containers []Container // the compose file alone, start order
	Local      []Container // with docker-compose.local.yml applied
	Vars       map[string]string
}

// Container is one container of the stack.
type Container struct {
	Name        string            `json:"name" yaml:"name"`
	Image       string            `json:"image" yaml:"image"`
	Command     []string          `json:"command" yaml:"command"`
	Env         map[string]string `json:"env" yaml:"env"`
	Ports       []Port            `json:"ports" yaml:"ports"`
	Binds       []Bind            `json:"binds" yaml:"binds"`
	Volumes     []Volume          `json:"volumes" yaml:"volumes"`
	Healthcheck *Health           `json:"healthcheck" yaml:"healthcheck"`
	MemoryMB    int               `json:"memory_mb" yaml:"memory_mb"`
	Restart     string            `json:"restart" yaml:"restart"`
	// Optional: the local override leaves it out (compose profiles) unless
	// its image is present; the deploy paths skip it, and say so.
	Optional bool `json:"optional" yaml:"optional"`
}

// Port is a published port: address and host port are variables.
type Port struct {
	Address   string `json:"address" yaml:"address"`
	Host      string `json:"host" yaml:"host"`
	Container int    `json:"container" yaml:"container"`
}

// Bind is a read-only configuration file or folder, relative to the
// repository root.
type Bind struct {
	Source   string `json:"source" yaml:"source"`
	Target   string `json:"target" yaml:"target"`
	ReadOnly bool   `json:"read_only" yaml:"read_only"`
}

// Volume is a named volume (its name without the stack's prefix).
type Volume struct {
	Name   string `json:"name" yaml:"name"`
	Target string `json:"target" yaml:"target"`
}

// Health is a container health check.
type Health struct {
	Test        []string `json:"test" yaml:"test"`
	Interval    string   `json:"interval" yaml:"interval"`
	Timeout     string   `json:"timeout" yaml:"timeout"`
	Retries     int      `json:"retries" yaml:"retries"`
	StartPeriod string   `json:"start_period" yaml:"start_period"`
}

// Load reads the two compose files under repo.
func Load(repo string) (*Stack, error) {
	base, err := os.ReadFile(filepath.Join(repo, File))
	if err != nil {
		return nil, err
	}
	local, err := os.ReadFile(filepath.Join(repo, LocalFile))
	if err != nil {
		return nil, err
	}
	return Parse(base, local)
}

// Parse reads the two compose files from their contents: base is
// docker-compose.yml, local docker-compose.local.yml.
func Parse(base, local []byte) (*Stack, error) {
	b, err := readCompose(File, base)
	if err != nil {
		return nil, err
	}
	o, err := readCompose(LocalFile, local)
	if err != nil {
		return nil, err
	}
	return build(b, o)
}

func readCompose(path string, b []byte) (*composeDoc, error) {
	// Decode twice: into a generic map to refuse unknown keys, then into the
	// typed form (yaml.v3 resolves the files' anchors and merge keys).
	var raw struct {
		Services map[string]map[string]any `yaml:"services"`
	}
	if err := yaml.Unmarshal(b, &raw); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	for name, keys := range raw.Services {
		for k := range keys {
			if !serviceKeys[k] {
				return nil, fmt.Errorf("%s: service %s: key %q is not carried to Ansible, Terraform and the harness; teach internal/composestack about it", path, name, k)
			}
		}
	}
	var doc composeDoc
	if err := yaml.Unmarshal(b, &doc); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return &doc, nil
}

func build(base, over *composeDoc) (*Stack, error) {
	if len(base.Networks) != 1 {
		return nil, fmt.Errorf("%s: want one network, have %d", File, len(base.Networks))
	}
	st := &Stack{Vars: map[string]string{}}
	for n := range base.Networks {
		st.Network = n
	}
	for v := range base.Volumes {
		st.Volumes = append(st.Volumes, v)
	}
	sort.Strings(st.Volumes)
	order, err := startOrder(base.Services)
	if err != nil {
		return nil, err
	}
	for name := range over.Services {
		if _, ok := base.Services[name]; !ok {
			return nil, fmt.Errorf("%s: service %s is not in %s", LocalFile, name, File)
		}
	}
	for _, name := range order {
		s := base.Services[name]
		c, err := st.container(name, s)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", File, err)
		}
		st.Containers = append(st.Containers, c)
		l, err := st.container(name, merge(s, over.Services[name]))
		if err != nil {
			return nil, fmt.Errorf("%s: %w", LocalFile, err)
		}
		st.Local = append(st.Local, l)
	}
	return st, nil
}

// merge applies an override service the way compose does for the keys the
// local override uses: scalars and lists replace, environment merges, the
// health check's test replaces and its timings stay.
func merge(s, o composeService) composeService {
	if o.Image != "" {
		s.Image = o.Image
	}
	if o.Command != nil {
		s.Command = o.Command
	}
	if o.Profiles != nil {
		s.Profiles = o.Profiles
	}
	if len(o.Environment) > 0 {
		env := map[string]string{}
		for k, v := range s.Environment {
			env[k] = v
		}
		for k, v := range o.Environment {
			env[k] = v
		}
		s.Environment = env
	}
	if o.Healthcheck != nil {
		h := composeHealth{}
		if s.Healthcheck != nil {
			h = *s.Healthcheck
		}
		if o.Healthcheck.Test != nil {
			h.Test = o.Healthcheck.Test
		}
		s.Healthcheck = &h
	}
	return s
}

// startOrder lists the services so that each comes after what it depends
// on, ties by name.
func startOrder(svcs map[string]composeService) ([]string, error) {
	names := make([]string, 0, len(svcs))
	for n := range svcs {
		names = append(names, n)
	}
	sort.Strings(names)
	var order []string
	done := map[string]bool{}
	for len(order) < len(names) {
		progressed := false
		for _, n := range names {
			if done[n] {
				continue
			}
			ready := true
			for _, d := range svcs[n].DependsOn {
				if _, ok := svcs[d]; !ok {
					return nil, fmt.Errorf("%s: %s depends on unknown service %s", File, n, d)
				}
				ready = ready && done[d]
			}
			if ready {
				order = append(order, n)
				done[n] = true
				progressed = true
			}
		}
		if !progressed {
			return nil, fmt.Errorf("%s: depends_on has a cycle", File)
		}
	}
	return order, nil
}

func (st *Stack) container(name string, s composeService) (Container, error) {
	c := Container{Name: name, Restart: s.Restart, Optional: len(s.Profiles) > 0, Env: map[string]string{}}
	var err error
	str := func(v string) string {
		if err != nil {
			return ""
		}
		var out string
		out, err = st.vars(v)
		return out
	}
	if c.Image = str(s.Image); c.Image == "" && err == nil {
		err = fmt.Errorf("%s: no image", name)
	}
	for _, a := range s.Command {
		c.Command = append(c.Command, str(a))
	}
	for k, v := range s.Environment {
		c.Env[k] = str(v)
	}
	if len(s.Networks) != 1 || s.Networks[0] != st.Network {
		return c, fmt.Errorf("%s: networks %v, want [%s]", name, s.Networks, st.Network)
	}
	for _, p := range s.Ports {
		m := portRE.FindStringSubmatch(p)
		if m == nil {
			return c, fmt.Errorf("%s: port %q: want ${ADDRESS_VAR:-address}:${PORT_VAR:-port}:port", name, p)
		}
		cp, _ := strconv.Atoi(m[3])
		c.Ports = append(c.Ports, Port{Address: str(m[1]), Host: str(m[2]), Container: cp})
	}
	for _, v := range s.Volumes {
		parts := strings.Split(v, ":")
		if len(parts) < 2 || len(parts) > 3 || (len(parts) == 3 && parts[2] != "ro") {
			return c, fmt.Errorf("%s: volume %q: want SOURCE:TARGET[:ro]", name, v)
		}
		if src, ok := strings.CutPrefix(parts[0], "./"); ok {
			c.Binds = append(c.Binds, Bind{Source: src, Target: parts[1], ReadOnly: len(parts) == 3})
			continue
		}
		if !contains(st.Volumes, parts[0]) {
			return c, fmt.Errorf("%s: volume %q: %s is neither ./relative nor a declared volume", name, v, parts[0])
		}
		c.Volumes = append(c.Volumes, Volume{Name: parts[0], Target: parts[1]})
	}
	if h := s.Healthcheck; h != nil {
		c.Healthcheck = &Health{Interval: h.Interval, Timeout: h.Timeout, Retries: h.Retries, StartPeriod: h.StartPeriod}
		for _, a := range h.Test {
			c.Healthcheck.Test = append(c.Healthcheck.Test, str(a))
		}
	}
	if s.MemLimit != "" {
		mb, ok := strings.CutSuffix(strings.ToLower(s.MemLimit), "m")
		n, aerr := strconv.Atoi(mb)
		if !ok || aerr != nil || n <= 0 {
			return c, fmt.Errorf("%s: mem_limit %q: want megabytes, e.g. 256m", name, s.MemLimit)
		}
		c.MemoryMB = n
	}
	return c, err
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// portRE is the form every published port has: address and host port are
// variables, so a second stack (a test's) can sit beside the first.
var portRE = regexp.MustCompile(`^(\$\{[A-Z0-9_]+:-[^}]*\}):(\$\{[A-Z0-9_]+:-[0-9]+\}):([0-9]+)$`)

// varRE is compose's ${NAME} and ${NAME:-default}.
var varRE = regexp.MustCompile(`\$\{([A-Za-z_][A-Za-z0-9_]*)(:-([^}]*))?\}`)

// vars records the variables in s with their defaults and returns s with
// each written as the placeholder @@name@@, which the writers turn into
// their tool's reference. A variable without a default, or with two
// different defaults, is an error: Ansible and Terraform need one default.
func (st *Stack) vars(s string) (string, error) {
	var err error
	out := varRE.ReplaceAllStringFunc(s, func(m string) string {
		sm := varRE.FindStringSubmatch(m)
		name, def := strings.ToLower(sm[1]), sm[3]
		if sm[2] == "" {
			err = fmt.Errorf("variable %s in %q has no default (want ${%s:-default})", sm[1], s, sm[1])
		} else if old, ok := st.Vars[name]; ok && old != def {
			err = fmt.Errorf("variable %s has two defaults, %q and %q", sm[1], old, def)
		}
		st.Vars[name] = def
		return "@@" + name + "@@"
	})
	if err == nil && strings.Contains(strings.ReplaceAll(out, "$$", ""), "$") {
		err = fmt.Errorf("%q: only ${NAME:-default} variables are carried to Ansible and Terraform", s)
	}
	return out, err
}

var placeholderRE = regexp.MustCompile(`@@([a-z0-9_]+)@@`)

// Rewrite returns copies of cs with every variable placeholder turned into
// ref(name), name being the variable's lower-case name, and the text around
// them passed through esc: each consumer writes variables its own way.
func Rewrite(cs []Container, ref func(string) string, esc func(string) string) []Container {
	f := func(s string) string {
		var b strings.Builder
		last := 0
		for _, m := range placeholderRE.FindAllStringSubmatchIndex(s, -1) {
			b.WriteString(esc(s[last:m[0]]))
			b.WriteString(ref(s[m[2]:m[3]]))
			last = m[1]
		}
		b.WriteString(esc(s[last:]))
		return b.String()
	}
	out := make([]Container, len(cs))
	for i, c := range cs {
		c.Image = f(c.Image)
		c.Command = mapStrings(c.Command, f)
		env := map[string]string{}
		for k, v := range c.Env {
			env[k] = f(v)
		}
		c.Env = env
		ports := make([]Port, len(c.Ports))
		for j, p := range c.Ports {
			ports[j] = Port{Address: f(p.Address), Host: f(p.Host), Container: p.Container}
		}
		c.Ports = ports
		if c.Healthcheck != nil {
			h := *c.Healthcheck
			h.Test = mapStrings(h.Test, f)
			c.Healthcheck = &h
		}
		out[i] = c
	}
	return out
}

func mapStrings(in []string, f func(string) string) []string {
	if in == nil {
		return nil
	}
	out := make([]string, len(in))
	for i, s := range in {
		out[i] = f(s)
	}
	return out
}

// Resolve returns copies of cs with every variable at its default, as
// compose runs them with none of the variables set; a literal $$ becomes $.
func (st *Stack) Resolve(cs []Container) []Container {
	return Rewrite(cs, func(name string) string { return st.Vars[name] }, func(s string) string {
		return strings.ReplaceAll(s, "$$", "$")
	})
}

// Find returns the container called name.
func Find(cs []Container, name string) (Container, bool) {
	for _, c := range cs {
		if c.Name == name {
			return c, true
		}
	}
	return Container{}, false
}

// VarNames lists the variables' names, sorted.
func (st *Stack) VarNames() []string {
	names := make([]string, 0, len(st.Vars))
	for n := range st.Vars {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}
