package main

import (
	"errors"
	"fmt"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"

	"github.com/urfave/cli/v2"

	"github.com/agentledger/agentledger/agents/fulfillment"
	"github.com/agentledger/agentledger/agents/node"
	"github.com/agentledger/agentledger/agents/order"
	"github.com/agentledger/agentledger/agents/roles"
	"github.com/agentledger/agentledger/internal/fileio"
	"github.com/agentledger/agentledger/verify"
)

func agentRunCommand(s streams) *cli.Command {
	return &cli.Command{
		Name:      "run",
		Usage:     "run one agent as its own server",
		UsageText: "ledgerctl agent run --role ROLE --key FILE --ledger URL --log-key VKEY --authority DID --listen ADDR --data DIR [--contracts DIR]",
		Description: "Runs one agent: its own key, its own store in --data, a verified view of\n" +
			"the ledger (refreshed every --refresh), and a guard in front of every\n" +
			"endpoint its role serves. It acts on a call only when the caller's\n" +
			"signed request and contract check out, and only after its own signed\n" +
			"approval is durable in the ledger. --contracts is a directory of the\n" +
			"*.tlog-proof files of the contracts this agent holds for its own calls.\n" +
			"\n" +
			"Roles and their endpoints:\n" +
			"  order        POST /v1/orders, GET /v1/orders/{id}   (needs --config)\n" +
			"  inventory    POST /v1/inventory/{check,reserve,release,restock}\n" +
			"  payment      POST /v1/payment/{charge,refund,reconcile}\n" +
			"  fulfillment  POST /v1/fulfillment/{label,notify}\n" +
			"\n" +
			"The order agent's --config is JSON naming the other agents, for example\n" +
			"  {\"inventory_url\":\"http://127.0.0.1:7432\",\"inventory_did\":\"did:key:...\",\n" +
			"   \"payment_url\":...,\"payment_did\":...,\"fulfillment_url\":...,\"fulfillment_did\":...}\n" +
			"The fulfillment agent writes customer messages from a template, or with\n" +
			"--llm-base-url and --llm-model through any OpenAI-compatible endpoint\n" +
			"(the key is read from the variable --llm-api-key-env names).\n" +
			"\n" +
			"Example:\n" +
			"  $ ledgerctl agent run --role payment --key payment-agent.pem --ledger http://127.0.0.1:7420 \\\n" +
			"      --log-key ./log/log.pub --authority ./log/authority.did --listen 127.0.0.1:7431 --data ./payment",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "role", Usage: "the agent's `ROLE`: order, inventory, payment or fulfillment", EnvVars: []string{"LEDGER_ROLE"}},
			&cli.StringFlag{Name: "key", Usage: "the agent's private key `FILE` (made by agent register)", EnvVars: []string{"LEDGER_KEY"}},
			ledgerFlag(),
			logKeyFlag(),
			&cli.StringFlag{Name: "authority", Usage: "the authority's `DID` (or a file holding it, such as DIR/authority.did)", EnvVars: []string{"LEDGER_AUTHORITY"}},
			&cli.StringFlag{Name: "listen", Value: "127.0.0.1:0", Usage: "`ADDR` to serve on; port 0 picks a free one", EnvVars: []string{"LEDGER_LISTEN"}},
			&cli.IntFlag{Name: "max-conns", Value: node.DefaultMaxConns, Usage: "most client connections open at once; beyond, a silent or idle one is closed to make room, or new ones wait while all are busy (0: no limit)", EnvVars: []string{"LEDGER_MAX_CONNS"}},
			&cli.StringFlag{Name: "data", Usage: "the agent's own data `DIR` (its store and its view of the log)", EnvVars: []string{"LEDGER_DATA"}},
			&cli.StringFlag{Name: "contracts", Usage: "`DIR` of *.tlog-proof files of the contracts this agent holds", EnvVars: []string{"LEDGER_CONTRACTS"}},
			&cli.StringFlag{Name: "addr-file", Usage: "write the address actually listened on to `FILE`", EnvVars: []string{"LEDGER_ADDR_FILE"}},
			&cli.DurationFlag{Name: "refresh", Value: verify.DefaultRefreshInterval, Usage: "how often the agent refreshes its view of the log", EnvVars: []string{"LEDGER_REFRESH"}},
			&cli.DurationFlag{Name: "max-checkpoint-age", Value: verify.DefaultMaxCheckpointAge, Usage: "refuse every call when the view is older than this", EnvVars: []string{"LEDGER_MAX_CHECKPOINT_AGE"}},
			&cli.StringFlag{Name: "config", Usage: "the order role's JSON configuration `FILE`", EnvVars: []string{"LEDGER_AGENT_CONFIG"}},
			&cli.StringSliceFlag{Name: "stock", Usage: "inventory: seed stock as `SKU=QTY` (repeatable; only SKUs the store lacks)", EnvVars: []string{"LEDGER_STOCK"}},
			&cli.StringFlag{Name: "llm-base-url", Usage: "fulfillment: an OpenAI-compatible API `URL` to write messages with", EnvVars: []string{"LEDGER_LLM_BASE_URL"}},
			&cli.StringFlag{Name: "llm-model", Usage: "fulfillment: the model `NAME`", EnvVars: []string{"LEDGER_LLM_MODEL"}},
			&cli.StringFlag{Name: "llm-api-key-env", Value: "OPENAI_API_KEY", Usage: "fulfillment: the environment `VARIABLE` holding the API key", EnvVars: []string{"LEDGER_LLM_API_KEY_ENV"}},
			&cli.StringFlag{Name: "log-format", Value: "auto", Usage: "log `FORMAT`: auto, json or console", EnvVars: []string{"LEDGER_LOG_FORMAT"}},
			&cli.StringFlag{Name: "log-level", Value: "info", Usage: "least `LEVEL` logged: debug, info, warn or error", EnvVars: []string{"LEDGER_LOG_LEVEL"}},
		},
		Action: func(c *cli.Context) error { return agentRun(c, s) },
	}
}

func agentRun(c *cli.Context, s streams) error {
	if err := requireFlags(c, "role", "key", "ledger", "log-key", "authority", "data"); err != nil {
		return err
	}
	if c.Args().Present() {
		return usageErrorf(c, "unexpected argument %q", c.Args().First())
	}
	maxConns := c.Int("max-conns")
	switch {
	case maxConns < 0:
		return usageErrorf(c, "--max-conns must not be negative")
	case maxConns == 0:
		maxConns = -1 // node.Config: no limit
	}
	role, err := roles.ParseRole(c.String("role"))
	if err != nil {
		return usageErrorf(c, "--role: %w", err)
	}
	key, err := readKey(c.String("key"))
	if err != nil {
		return err
	}
	v, err := loadVerifier(c)
	if err != nil {
		return err
	}
	authority, err := loadAuthority(c)
	if err != nil {
		return err
	}
	contracts, err := readContracts(c.String("contracts"))
	if err != nil {
		return err
	}
	logger, err := newLogger(c, s.err)
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(c.Context, os.Interrupt, syscall.SIGTERM)
	defer stop()
	cfg, err := roleConfig(c, role)
	if err != nil {
		return err
	}
	a, err := roles.Start(ctx, node.Config{Key: key, Ledger: c.String("ledger"),
		Policy:  verify.TrustPolicy{LogKey: v, Authority: authority, MaxCheckpointAge: c.Duration("max-checkpoint-age")},
		DataDir: c.String("data"), Listen: c.String("listen"), Logger: logger.With().Str("role", string(role)).Logger(),
		Refresh: c.Duration("refresh"), Contract: contracts, MaxConns: maxConns}, role, cfg)
	if errors.Is(err, roles.ErrListen) {
		return withHint(err, "choose another --listen address, or port 0 for a free one")
	}
	if err != nil {
		return err
	}
	if path := c.String("addr-file"); path != "" {
		if err := fileio.WriteAtomic(path, []byte(a.Addr+"\n"), 0o644); err != nil {
			a.DB.Close()
			return err
		}
		defer os.Remove(path)
	}
	fmt.Fprintf(s.out, "agent %s (%s) serving on http://%s\n", a.DID, role, a.Addr)
	return a.Run(ctx)
}

// readContracts reads the contract proofs in --contracts (none if dir is "").
func readContracts(dir string) ([][]byte, error) {
	if dir == "" {
		return nil, nil
	}
	k, err := node.ReadContracts(dir)
	if err != nil {
		return nil, fmt.Errorf("--contracts: %w", err)
	}
	return k, nil
}

// roleConfig reads the role's own settings from the flags.
func roleConfig(c *cli.Context, role roles.Role) (roles.Config, error) {
	var cfg roles.Config
	switch role {
	case roles.Order:
		if c.String("config") == "" {
			return cfg, usageErrorf(c, "the order role needs --config naming the inventory, payment and fulfillment agents")
		}
		oc, err := order.LoadConfig(c.String("config"))
		if err != nil {
			return cfg, fmt.Errorf("--config %s: %w", c.String("config"), err)
		}
		oc.Logger = nil // roles.Mount gives the service the agent's log
		cfg.Order = oc
	case roles.Inventory:
		seed := map[string]int64{}
		for _, s := range c.StringSlice("stock") {
			sku, qty, ok := strings.Cut(s, "=")
			n, err := strconv.ParseInt(qty, 10, 64)
			if !ok || err != nil || n < 0 || sku == "" {
				return cfg, usageErrorf(c, "--stock %s: want SKU=QTY", quoteShort(s))
			}
			seed[sku] = n
		}
		cfg.Inventory.Seed = seed
	case roles.Fulfillment:
		if c.String("llm-base-url") != "" {
			llm, err := fulfillment.NewLLM(fulfillment.LLMConfig{BaseURL: c.String("llm-base-url"), Model: c.String("llm-model"), APIKeyEnv: c.String("llm-api-key-env")})
			if err != nil {
				return cfg, err
			}
			cfg.Fulfillment.Notifier = llm
		}
	}
	return cfg, nil
}
