package testenv

import (
	"context"
	"errors"
	"fmt"

	"github.com/moby/moby/client"
	"github.com/testcontainers/testcontainers-go"
)

// DockerCleanup removes the containers and networks of Docker-backend stacks
// that were not closed: a process killed before Close ran leaves them, since
// the backend runs without the testcontainers reaper. An empty session
// removes those of every session; it is what a `bankstack down` runs. It
// returns how many containers and networks it removed.
func DockerCleanup(ctx context.Context, session string) (containers, networks int, err error) {
	p, err := testcontainers.NewDockerProvider()
	if err != nil {
		return 0, 0, err
	}
	defer p.Close()
	filter := LabelSession
	if session != "" {
		filter += "=" + session
	}
	left, err := dockerLeftovers(ctx, p.Client(), filter)
	if err != nil {
		return 0, 0, err
	}
	err = removeLabelled(ctx, p.Client(), filter)
	return len(left.containers), len(left.networks), err
}

// leftovers are the resources matching a label filter, by id.
type leftovers struct {
	containers []string // "name (id)"
	networks   []string
}

func (l leftovers) empty() bool { return len(l.containers) == 0 && len(l.networks) == 0 }

func (l leftovers) String() string {
	return fmt.Sprintf("containers %v, networks %v", l.containers, l.networks)
}

// dockerLeftovers lists the containers (running or not) and networks that
// carry label (a "key" or "key=value" filter).
func dockerLeftovers(ctx context.Context, cli client.APIClient, label string) (leftovers, error) {
	var l leftovers
	cs, err := cli.ContainerList(ctx, client.ContainerListOptions{All: true, Filters: make(client.Filters).Add("label", label)})
	if err != nil {
		return l, fmt.Errorf("list containers: %w", err)
	}
	for _, c := range cs.Items {
		name := c.ID
		if len(c.Names) > 0 {
			name = c.Names[0]
		}
		l.containers = append(l.containers, name+" ("+c.ID[:12]+")")
	}
	ns, err := cli.NetworkList(ctx, client.NetworkListOptions{Filters: make(client.Filters).Add("label", label)})
	if err != nil {
		return l, fmt.Errorf("list networks: %w", err)
	}
	for _, n := range ns.Items {
		l.networks = append(l.networks, n.Name)
	}
	return l, nil
}

// removeLabelled force-removes every container and then every network that
// carries label. Containers go first: a network with endpoints cannot be
// removed.
func removeLabelled(ctx context.Context, cli client.APIClient, label string) error {
	var errs []error
	cs, err := cli.ContainerList(ctx, client.ContainerListOptions{All: true, Filters: make(client.Filters).Add("label", label)})
	if err != nil {
		return fmt.Errorf("list containers: %w", err)
	}
	for _, c := range cs.Items {
		if _, err := cli.ContainerRemove(ctx, c.ID, client.ContainerRemoveOptions{Force: true, RemoveVolumes: true}); err != nil {
			errs = append(errs, fmt.Errorf("remove container %s: %w", c.ID[:12], err))
		}
	}
	ns, err := cli.NetworkList(ctx, client.NetworkListOptions{Filters: make(client.Filters).Add("label", label)})
	if err != nil {
		return errors.Join(append(errs, fmt.Errorf("list networks: %w", err))...)
	}
	for _, n := range ns.Items {
		if _, err := cli.NetworkRemove(ctx, n.ID, client.NetworkRemoveOptions{}); err != nil {
			errs = append(errs, fmt.Errorf("remove network %s: %w", n.Name, err))
		}
	}
	return errors.Join(errs...)
}
