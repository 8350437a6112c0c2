package main

import (
	"fmt"
	"io"
	"net/http"

	"github.com/urfave/cli/v2"

	"github.com/agentledger/agentledger/agents/caller"
	"github.com/agentledger/agentledger/agents/contractref"
	"github.com/agentledger/agentledger/internal/fileio"
	"github.com/agentledger/agentledger/proofs"
)

// maxCallAnswer bounds the answer body call prints.
const maxCallAnswer = 1 << 20

func callCommand(s streams) *cli.Command {
	return &cli.Command{
		Name:      "call",
		Usage:     "make one signed call to an agent under a contract",
		UsageText: "ledgerctl call --key FILE --contract FILE.tlog-proof --url URL --action ACTION [--body FILE] [--method POST]",
		Description: "Signs a request with the caller's key under the RFC 9421 profile, attaches\n" +
			"the contract (with its tlog-proof), and sends it. It prints the status,\n" +
			"the Ledger-Receipt the agent answered with, and the answer body. The\n" +
			"callee is the contract's audience, and the action must be one of its\n" +
			"scopes. Exit 1 if the agent refused.\n" +
			"\n" +
			"Example:\n" +
			"  $ ledgerctl call --key order-agent.pem --contract pay.tlog-proof --url http://127.0.0.1:7431/v1/payment/charge \\\n" +
			"      --action payment:charge --body charge.json\n" +
			"  status 200\n" +
			"  receipt 12",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "key", Usage: "the caller's private key `FILE`", EnvVars: []string{"LEDGER_KEY"}},
			&cli.StringFlag{Name: "contract", Usage: "the contract's tlog-proof `FILE`", EnvVars: []string{"LEDGER_CONTRACT"}},
			&cli.StringFlag{Name: "url", Usage: "the agent endpoint's `URL`", EnvVars: []string{"LEDGER_CALL_URL"}},
			&cli.StringFlag{Name: "action", Usage: "the `ACTION` asked for, e.g. payment:charge", EnvVars: []string{"LEDGER_ACTION"}},
			&cli.StringFlag{Name: "body", Usage: "request body `FILE` (JSON)", EnvVars: []string{"LEDGER_BODY"}},
			&cli.StringFlag{Name: "method", Value: http.MethodPost, Usage: "HTTP `METHOD`", EnvVars: []string{"LEDGER_METHOD"}},
		},
		Action: func(c *cli.Context) error {
			if err := requireFlags(c, "key", "contract", "url", "action"); err != nil {
				return err
			}
			key, err := readKey(c.String("key"))
			if err != nil {
				return err
			}
			raw, err := fileio.ReadLimit(c.String("contract"), proofs.MaxBundleSize, "contract proof")
			if err != nil {
				return err
			}
			k, err := caller.ParseContract(raw)
			if err != nil {
				return fmt.Errorf("contract %s: %w", c.String("contract"), err)
			}
			var body []byte
			if f := c.String("body"); f != "" {
				if body, err = fileio.ReadLimit(f, 64<<10, "request body"); err != nil {
					return err
				}
			}
			cl := caller.New(key, nil, nil)
			if err := cl.Add(k); err != nil {
				return withHint(err, "the contract must grant this key: check --key and --contract")
			}
			resp, err := cl.Call(c.Context, c.String("method"), c.String("url"), k.Statement.Audience, c.String("action"), body)
			if err != nil {
				return withHint(fmt.Errorf("calling %s: %w", c.String("url"), err), "is the agent running at --url, and does the contract grant --action?")
			}
			defer resp.Body.Close()
			answer, _ := io.ReadAll(io.LimitReader(resp.Body, maxCallAnswer))
			fmt.Fprintf(s.out, "status %d\n", resp.StatusCode)
			if r := resp.Header.Get(contractref.ReceiptHeader); r != "" {
				if index, _, err := contractref.ParseReceipt(r); err == nil {
					fmt.Fprintf(s.out, "receipt %d\n", index)
				}
			}
			fmt.Fprintf(s.out, "%s\n", answer)
			if resp.StatusCode/100 != 2 {
				return fmt.Errorf("the agent refused the call (%d)", resp.StatusCode)
			}
			return nil
		},
	}
}
