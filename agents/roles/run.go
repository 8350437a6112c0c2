package roles

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/agentledger/agentledger/agents/node"
)

// ErrListen is Start failing to listen on node.Config.Listen.
var ErrListen = errors.New("cannot listen on the address")

// backgroundGrace is how long Run waits for a role's background work to
// stop once the node has stopped serving.
const backgroundGrace = 5 * time.Second

// An Agent is a node with its role mounted, listening on Addr.
type Agent struct {
	*node.Node
	Role       Role
	Addr       string // host:port
	background func(context.Context)
}

// Start creates the node of nc, mounts role on it with cfg and listens.
// On an error nothing is left open; errors listening match ErrListen.
func Start(ctx context.Context, nc node.Config, role Role, cfg Config) (*Agent, error) {
	n, err := node.New(ctx, nc)
	if err != nil {
		return nil, err
	}
	a := &Agent{Node: n, Role: role}
	if a.background, err = Mount(n, role, cfg); err != nil {
		n.DB.Close()
		return nil, err
	}
	if a.Addr, err = n.Listen(); err != nil {
		n.DB.Close()
		return nil, fmt.Errorf("%w: %w", ErrListen, err)
	}
	return a, nil
}

// Run serves until ctx ends, with the role's background work alongside,
// and returns the node's error once it has stopped serving and the
// background work has stopped too (or backgroundGrace has passed).
func (a *Agent) Run(ctx context.Context) error {
	bgCtx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { a.background(bgCtx); close(done) }()
	err := a.Node.Serve(ctx)
	cancel()
	select {
	case <-done:
	case <-time.After(backgroundGrace):
	}
	return err
}
