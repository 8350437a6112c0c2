package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/agentledger/agentledger/ledger/verified"
)

// ordersResult is the outcome of `ledgerctl bench orders`.
type ordersResult struct {
	Orders      int           `json:"orders"`
	Concurrency int           `json:"concurrency"`
	Elapsed     time.Duration `json:"elapsed_ns"`
	PerSecond   float64       `json:"orders_per_second"`
	P50         time.Duration `json:"p50_ns"`
	P99         time.Duration `json:"p99_ns"`
	Entries     uint64        `json:"ledger_entries_written"`
	Cores       int           `json:"cores"`
}

func benchOrdersCommand() *cli.Command {
	return &cli.Command{
		Name:  "orders",
		Usage: "orders per second through the whole stack, every check and receipt in place",
		Description: `Brings up the demo's stack in-process on loopback (the ledger and the
four agents, each with its own store and guard), then has storefront
clients place --orders orders with --concurrency in flight. Each order is
a signed call to the order agent, which makes four signed calls (reserve,
charge, label, notify); every call is verified by its callee and approved
in the ledger with a durable receipt before it acts. Prints orders/s and
p50/p99 order latency. With --cpuprofile FILE it writes a CPU profile of
the run (go tool pprof -top FILE shows where the time goes).

Example:
  ledgerctl bench orders --orders 2000 --concurrency 32`,
		Flags: []cli.Flag{
			&cli.IntFlag{Name: "orders", Value: 1000, Usage: "orders to place", EnvVars: []string{"LEDGER_BENCH_ORDERS"}},
			&cli.IntFlag{Name: "concurrency", Value: 32, Usage: "orders in flight", EnvVars: []string{"LEDGER_BENCH_CONCURRENCY"}},
			&cli.StringFlag{Name: "cpuprofile", Usage: "write a CPU profile to `FILE`", EnvVars: []string{"LEDGER_BENCH_CPUPROFILE"}},
			&cli.BoolFlag{Name: "json", Usage: "print the result as JSON", EnvVars: []string{"LEDGER_BENCH_JSON"}},
		},
		Action: func(c *cli.Context) error {
			n, conc := c.Int("orders"), c.Int("concurrency")
			if n < 1 || conc < 1 {
				return usageErrorf(c, "--orders and --concurrency must be positive")
			}
			res, err := benchOrders(c.Context, n, conc, c.String("cpuprofile"))
			if err != nil {
				return err
			}
			if c.Bool("json") {
				return printJSON(c.App.Writer, res)
			}
			w := c.App.Writer
			fmt.Fprintf(w, "orders: %d orders, %d in flight, %d cores (%s/%s)\n", res.Orders, res.Concurrency, res.Cores, runtime.GOOS, runtime.GOARCH)
			fmt.Fprintf(w, "  throughput   %8.0f orders/s\n", res.PerSecond)
			fmt.Fprintf(w, "  latency      p50 %v  p99 %v\n", res.P50.Round(100*time.Microsecond), res.P99.Round(100*time.Microsecond))
			fmt.Fprintf(w, "  ledger       %d entries written (%.1f per order)\n", res.Entries, float64(res.Entries)/float64(res.Orders))
			return nil
		},
	}
}

// benchStack brings up the demo's stack in a temporary directory, with
// stock that never runs out. stop shuts it down and removes the directory.
func benchStack(ctx context.Context, name string) (env *demoEnv, stack *demoStack, stop func(), err error) {
	tmp, err := os.MkdirTemp("", "ledger-bench-"+name+"-")
	if err != nil {
		return nil, nil, nil, err
	}
	dir := filepath.Join(tmp, "log")
	d := &demo{out: io.Discard, json: true, report: demoReport{DataDir: dir, Kept: true}}
	env, stopLedger, err := d.setup(ctx, dir)
	if err != nil {
		os.RemoveAll(tmp)
		return nil, nil, nil, err
	}
	stack, err = d.startAgents(ctx, env.cl, env.verifier, env.authority.DID, dir, env.ids,
		map[string]int64{"tea-earl-grey": 1 << 40, "mug-blue": 1 << 40})
	if err != nil {
		stopLedger()
		os.RemoveAll(tmp)
		return nil, nil, nil, err
	}
	return env, stack, func() { stack.stop(); stopLedger(); os.RemoveAll(tmp) }, nil
}

func benchOrders(ctx context.Context, n, conc int, cpuprofile string) (ordersResult, error) {
	env, stack, stop, err := benchStack(ctx, "orders")
	if err != nil {
		return ordersResult{}, err
	}
	defer stop()
	before := stackSize(ctx, env)

	if cpuprofile != "" {
		f, err := os.Create(cpuprofile)
		if err != nil {
			return ordersResult{}, err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return ordersResult{}, err
		}
		defer pprof.StopCPUProfile()
	}
	lat := make([]time.Duration, n)
	var next atomic.Int64
	var firstErr atomic.Pointer[error]
	var wg sync.WaitGroup
	start := time.Now()
	for w := 0; w < conc; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1) - 1)
				if i >= n || firstErr.Load() != nil {
					return
				}
				body := demoOrder(fmt.Sprintf("bench-%06d", i), "GB", "4242424242424242", "tea-earl-grey", "mug-blue")
				t0 := time.Now()
				resp, err := stack.storefront.Call(ctx, http.MethodPost, stack.urls["order"]+"/v1/orders", stack.nodes["order"].DID, "order:create", body)
				if err == nil {
					got := readAnswer(resp)
					if got.status != http.StatusCreated || got.body["status"] != "completed" {
						err = fmt.Errorf("order %d: %d %v %v", i, got.status, got.body["status"], got.body["reason"])
					}
				}
				if err != nil {
					firstErr.CompareAndSwap(nil, &err)
					return
				}
				lat[i] = time.Since(t0)
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	if e := firstErr.Load(); e != nil {
		return ordersResult{}, *e
	}
	slices.Sort(lat)
	return ordersResult{Orders: n, Concurrency: conc, Elapsed: elapsed, PerSecond: float64(n) / elapsed.Seconds(),
		P50: lat[n/2], P99: lat[n*99/100], Entries: stackSize(ctx, env) - before, Cores: runtime.GOMAXPROCS(0)}, nil
}

// stackSize is the ledger's size per its latest checkpoint.
func stackSize(ctx context.Context, env *demoEnv) uint64 {
	time.Sleep(100 * time.Millisecond) // let the checkpoint catch up with the last appends
	cp, err := verified.Checkpoint(ctx, env.cl, env.verifier)
	if err != nil {
		return 0
	}
	return cp.Size
}
