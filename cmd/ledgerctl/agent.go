package main

import (
	"crypto/ed25519"
	"fmt"
	"io"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/agentledger/agentledger/agents/roles"
	"github.com/agentledger/agentledger/internal/authority"
	"github.com/agentledger/agentledger/internal/fileio"
	"github.com/agentledger/agentledger/internal/keyfile"
	"github.com/agentledger/agentledger/ledger/verified"
	"github.com/agentledger/agentledger/proofs/did"
	"github.com/agentledger/agentledger/proofs/scope"
	"github.com/agentledger/agentledger/proofs/statement"
)

func agentCommand(s streams) *cli.Command {
	return &cli.Command{
		Name:      "agent",
		Usage:     "register agents, list and show them with verified proofs, and run them",
		UsageText: "ledgerctl agent register|list|show|run ...",
		Description: "An agent is a name, a did:key, a risk level and the actions it serves,\n" +
			"bound together by a registration the authority signs into the log. A\n" +
			"contract can grant only actions its callee serves. register makes the\n" +
			"agent's key on this machine, so the ledger never holds it; list and\n" +
			"show verify each registration's inclusion proof before printing it.\n" +
			"\n" +
			"Example:\n" +
			"  $ ledgerctl agent register --ledger http://127.0.0.1:7420 --authority-key ./log/authority.pem \\\n" +
			"      --name order-agent --risk low --serves order:create\n" +
			"  $ ledgerctl agent list --ledger http://127.0.0.1:7420 --log-key ./log/log.pub",
		Action: groupAction,
		Subcommands: []*cli.Command{
			agentRegisterCommand(s),
			agentListCommand(s),
			agentShowCommand(s),
			agentRunCommand(s),
		},
	}
}

func agentRegisterCommand(s streams) *cli.Command {
	return &cli.Command{
		Name:  "register",
		Usage: "make an agent's key here and register its did:key in the log",
		UsageText: "ledgerctl agent register --ledger URL --authority-key FILE --name NAME --risk low|medium|high\n" +
			"    [--serves ACTION ...] [--key-out FILE | --pubkey FILE]",
		Description: "Generates the agent's Ed25519 key on this machine and writes it to\n" +
			"--key-out (default ./NAME.pem, mode 0600; never replaced), then appends\n" +
			"a registration of NAME, its did:key, its risk and the actions it\n" +
			"serves, signed by the authority key. The ledger never sees the private\n" +
			"key. With --pubkey FILE it registers a key made elsewhere instead:\n" +
			"FILE holds a PKIX \"PUBLIC KEY\" PEM (ledgerctl keys public) or a\n" +
			"did:key.\n" +
			"\n" +
			"--serves names an action the agent serves, resource:action with no\n" +
			"limit (payment:charge, not payment:charge:max_10000usd); repeat it for\n" +
			"each. A contract can grant only actions its callee serves, so the\n" +
			"ledger refuses a contract with a mistyped scope (scope_not_served).\n" +
			"The agent roles serve these (up, the demo and the soak register them\n" +
			"so); register an agent you will start with 'agent run --role R' with\n" +
			"its role's actions:\n" +
			rolesServe() +
			"A party that only calls others (a storefront, an operator) serves\n" +
			"nothing: leave --serves out. A registration is never changed; an agent\n" +
			"that needs to serve more is registered anew, with a new name and key.\n" +
			"\n" +
			"If the ledger refuses the registration (a name or key already\n" +
			"registered, say), the new key file is removed again.\n" +
			"\n" +
			"With --log-key it first verifies the ledger's checkpoint with that key,\n" +
			"so a wrong key fails before anything is made or written. It then waits\n" +
			"(up to --wait) for a checkpoint that covers the registration and\n" +
			"verifies its inclusion proof, so that 'agent list' shows the agent at\n" +
			"once.\n" +
			"\n" +
			"Example:\n" +
			"  $ ledgerctl agent register --ledger http://127.0.0.1:7420 --authority-key ./log/authority.pem \\\n" +
			"      --name payment-agent --risk high \\\n" +
			"      --serves payment:charge --serves payment:refund --serves payment:reconcile\n" +
			"  registered agent payment-agent\n" +
			"  did did:key:z6Mk...\n" +
			"  risk high\n" +
			"  serves payment:charge payment:reconcile payment:refund\n" +
			"  index 2\n" +
			"  key payment-agent.pem",
		Flags: []cli.Flag{
			ledgerFlag(),
			authorityKeyFlag(),
			logKeyFlag(),
			waitFlag(),
			&cli.StringFlag{
				Name:    "name",
				Usage:   "the agent's `NAME`: lower case letters, digits and dashes, starting with a letter",
				EnvVars: []string{"LEDGER_AGENT_NAME"},
			},
			&cli.StringFlag{
				Name:    "risk",
				Usage:   "the agent's risk `LEVEL`: low, medium or high",
				EnvVars: []string{"LEDGER_AGENT_RISK"},
			},
			&cli.StringSliceFlag{
				Name:    "serves",
				Usage:   "the agent serves `ACTION` (resource:action; repeat for each), e.g. payment:charge",
				EnvVars: []string{"LEDGER_AGENT_SERVES"},
			},
			&cli.StringFlag{
				Name:    "key-out",
				Usage:   "write the new agent key to `FILE` (default ./NAME.pem)",
				EnvVars: []string{"LEDGER_AGENT_KEY_OUT"},
			},
			&cli.StringFlag{
				Name:    "pubkey",
				Usage:   "register the public key in `FILE` (PKIX PEM or a did:key) instead of making one",
				EnvVars: []string{"LEDGER_AGENT_PUBKEY"},
			},
		},
		Action: func(c *cli.Context) error { return agentRegister(c, s.out) },
	}
}

// authorityKeyFlag is --authority-key, the authority's private key file.
func authorityKeyFlag() cli.Flag {
	return &cli.StringFlag{
		Name:    "authority-key",
		Usage:   "sign with the authority's key in `FILE` (DIR/authority.pem, made by init)",
		EnvVars: []string{"LEDGER_AUTHORITY_KEY"},
	}
}

func agentRegister(c *cli.Context, out io.Writer) error {
	if err := requireFlags(c, "ledger", "authority-key", "name", "risk"); err != nil {
		return err
	}
	if c.Args().Present() {
		return usageErrorf(c, "unexpected argument %q", c.Args().First())
	}
	if err := conflicting(c, "key-out", "pubkey"); err != nil {
		return err
	}
	name, risk := c.String("name"), c.String("risk")
	switch risk {
	case statement.RiskLow, statement.RiskMedium, statement.RiskHigh:
	default:
		return usageErrorf(c, "--risk %s: want low, medium or high", quoteShort(risk))
	}
	cl, err := newClient(c)
	if err != nil {
		return err
	}
	authorityKey, err := readKey(c.String("authority-key"))
	if err != nil {
		return err
	}
	// Check the name and the actions with the statement's own rules before
	// any key is made.
	// Empty values (LEDGER_AGENT_SERVES= or a trailing comma) name nothing.
	serves := statement.SortServes(slices.DeleteFunc(c.StringSlice("serves"), func(a string) bool { return a == "" }))
	for _, a := range serves {
		if _, _, err := scope.ParseAction(a); err != nil {
			return withHint(usageErrorf(c, "--serves %s: %w", quoteShort(a), err),
				"an action is resource:action in lower case with no limit, e.g. payment:charge; limits belong in a contract's --scope")
		}
	}
	probe := statement.Registration{Name: name, DID: did.FromPublicKey(authorityKey.Public().(ed25519.PublicKey)), Risk: risk, Time: time.Now().UTC()}
	if _, err := probe.Marshal(); err != nil {
		return usageErrorf(c, "--name %s: %w", quoteShort(name), err)
	}
	probe.Serves = serves
	if _, err := probe.Marshal(); err != nil {
		return usageErrorf(c, "--serves: %w", err)
	}

	reg := authority.Registration{Name: name, Risk: risk, Serves: serves, Wait: c.Duration("wait")}
	if path := c.String("pubkey"); path != "" {
		if reg.PublicKey, err = readPublicKey(path); err != nil {
			return err
		}
	} else if reg.KeyOut = c.String("key-out"); reg.KeyOut == "" {
		reg.KeyOut = name + ".pem"
	}
	if c.String("log-key") != "" {
		if reg.LogKey, err = loadVerifier(c); err != nil {
			return err
		}
	}
	res, err := authority.Register(c.Context, cl, authorityKey, reg)
	if err != nil {
		return err
	}
	if res.Duplicate {
		fmt.Fprintln(out, "duplicate: the ledger already held this registration")
	}
	fmt.Fprintf(out, "registered agent %s\ndid %s\nrisk %s\nserves %s\nindex %d\n", name, res.DID, risk, servesText(serves), res.Index)
	if res.KeyFile != "" {
		fmt.Fprintf(out, "key %s\n", res.KeyFile)
	}
	if res.Proved != nil {
		fmt.Fprintf(out, "verified: registration %d is in log %q at tree size %d\n", res.Index, res.Proved.Origin, res.Proved.Size)
	}
	return nil
}

// servesText writes the actions an agent serves for a person.
func servesText(serves []string) string {
	if len(serves) == 0 {
		return "nothing"
	}
	return strings.Join(serves, " ")
}

// rolesServe lists, for agent register --help, what each role serves.
func rolesServe() string {
	var b strings.Builder
	for _, r := range []roles.Role{roles.Order, roles.Inventory, roles.Payment, roles.Fulfillment} {
		fmt.Fprintf(&b, "  %-12s %s\n", r, strings.Join(roles.Serves(r), " "))
	}
	return b.String()
}

// readPublicKey reads a public key to register: a PKIX PEM or a did:key.
func readPublicKey(path string) (ed25519.PublicKey, error) {
	data, err := fileio.ReadLimit(path, keyfile.MaxSize, "public key file")
	if err != nil {
		return nil, err
	}
	text := strings.TrimSpace(string(data))
	if strings.HasPrefix(text, did.Prefix) {
		pub, err := did.Parse(text)
		if err != nil {
			return nil, fmt.Errorf("public key file %s: %w", path, err)
		}
		return pub, nil
	}
	pub, err := keyfile.ParsePublic(data)
	if err != nil {
		if strings.Contains(text, "PRIVATE KEY") {
			return nil, withHint(fmt.Errorf("public key file %s holds a private key", path),
				"give the public key only: ledgerctl keys public KEYFILE > agent.pub.pem")
		}
		return nil, withHint(fmt.Errorf("public key file %s: %w", path, err),
			"--pubkey takes a PKIX \"PUBLIC KEY\" PEM (ledgerctl keys public, openssl pkey -pubout) or a did:key")
	}
	return pub, nil
}

func agentListCommand(s streams) *cli.Command {
	return &cli.Command{
		Name:      "list",
		Usage:     "list the registered agents, each verified by its inclusion proof",
		UsageText: "ledgerctl agent list --ledger URL --log-key VKEY [--authority DID]",
		Description: "Lists the agents registered under the ledger's latest checkpoint. For\n" +
			"each, the tlog-proof of its registration is verified with the log key,\n" +
			"and the signed registration it proves must say the name, did:key,\n" +
			"risk and served actions the ledger claims; with --authority, it must\n" +
			"also be signed by that did:key. Any mismatch fails the command (exit 1).\n" +
			"\n" +
			"Example:\n" +
			"  $ ledgerctl agent list --ledger http://127.0.0.1:7420 --log-key ./log/log.pub --authority ./log/authority.did\n" +
			"  order-agent    did:key:z6Mk...  risk=low   index=0  serves=order:create  verified\n" +
			"  payment-agent  did:key:z6Mk...  risk=high  index=2  serves=payment:charge,payment:reconcile,payment:refund  verified\n" +
			"  storefront     did:key:z6Mk...  risk=low   index=4  serves=nothing  verified",
		Flags: []cli.Flag{ledgerFlag(), logKeyFlag(), authorityFlag()},
		Action: func(c *cli.Context) error {
			if err := requireFlags(c, "ledger", "log-key"); err != nil {
				return err
			}
			if c.Args().Present() {
				return usageErrorf(c, "unexpected argument %q", c.Args().First())
			}
			authority, v, cl, err := openVerified(c)
			if err != nil {
				return err
			}
			agents, size, err := verified.ListAgents(c.Context, cl, v, authority)
			if err != nil {
				return err
			}
			tw := tabwriter.NewWriter(s.out, 0, 0, 2, ' ', 0)
			for _, a := range agents {
				fmt.Fprintf(tw, "%s\t%s\trisk=%s\tindex=%d\tserves=%s\tverified\n", a.Name, a.DID, a.Risk, a.Index, servesCell(a.Serves))
			}
			if err := tw.Flush(); err != nil {
				return err
			}
			fmt.Fprintf(s.out, "%d agents, each proved in log %q at tree size %d; %s\n",
				len(agents), v.Name(), size, signersChecked(authority))
			return nil
		},
	}
}

// servesCell writes the actions an agent serves as one table cell.
func servesCell(serves []string) string {
	if len(serves) == 0 {
		return "nothing"
	}
	return strings.Join(serves, ",")
}

// signersChecked says whether signers were checked against an authority.
func signersChecked(authority string) string {
	if authority == "" {
		return "signers not checked (no --authority)"
	}
	return "signed by the authority " + authority
}

func agentShowCommand(s streams) *cli.Command {
	return &cli.Command{
		Name:      "show",
		Usage:     "show one registered agent, verified by its inclusion proof",
		UsageText: "ledgerctl agent show --ledger URL --log-key VKEY [--authority DID] NAME|DID",
		Description: "Looks up an agent by name or did:key and verifies its registration as\n" +
			"agent list does, then prints what the signed registration says.\n" +
			"\n" +
			"Example:\n" +
			"  $ ledgerctl agent show --ledger http://127.0.0.1:7420 --log-key ./log/log.pub payment-agent\n" +
			"  agent payment-agent\n" +
			"  did did:key:z6Mk...\n" +
			"  risk high\n" +
			"  serves payment:charge payment:reconcile payment:refund",
		Flags: []cli.Flag{ledgerFlag(), logKeyFlag(), authorityFlag()},
		Action: func(c *cli.Context) error {
			if err := requireFlags(c, "ledger", "log-key"); err != nil {
				return err
			}
			if c.NArg() != 1 {
				return usageErrorf(c, "want exactly one NAME or DID argument, got %d", c.NArg())
			}
			arg := c.Args().First()
			if err := checkAgentArg(c, "agent", arg); err != nil {
				return err
			}
			authority, v, cl, err := openVerified(c)
			if err != nil {
				return err
			}
			a, err := verified.ResolveAgent(c.Context, cl, v, arg, authority, 0)
			if err != nil {
				return err
			}
			fmt.Fprintf(s.out, "agent %s\ndid %s\nrisk %s\nserves %s\nregistered %s\nindex %d\nsigner %s\n",
				a.Name, a.DID, a.Risk, servesText(a.Serves), a.Time.UTC().Format(time.RFC3339), a.Index, signerNote(a.Signer, authority))
			fmt.Fprintf(s.out, "verified: registration %d is in log %q at tree size %d\n", a.Index, a.Checkpoint.Origin, a.Checkpoint.Size)
			return nil
		},
	}
}
