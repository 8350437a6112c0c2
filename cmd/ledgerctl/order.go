package main

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"sort"
	"strconv"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/agentledger/agentledger/agents/caller"
	"github.com/agentledger/agentledger/agents/contractref"
	"github.com/agentledger/agentledger/internal/fileio"
	"github.com/agentledger/agentledger/proofs"
)

// orderCommand is `ledgerctl order`.
func orderCommand(s streams) *cli.Command {
	return &cli.Command{
		Name:      "order",
		Usage:     "place orders with the order agent",
		UsageText: "ledgerctl order place ...",
		Description: "Orders go to the order agent, signed by a storefront under its\n" +
			"order:create contract.\n" +
			"\n" +
			"Example:\n" +
			"  $ ledgerctl order place --order-agent http://127.0.0.1:7430 --key storefront.pem \\\n" +
			"      --contract storefront--order-agent.tlog-proof --item tea-earl-grey=2@1299",
		Action: groupAction,
		Subcommands: []*cli.Command{{
			Name:      "place",
			Usage:     "place one order as a storefront, under its order:create contract",
			UsageText: "ledgerctl order place --order-agent URL --key FILE --contract FILE --item SKU=QTY@PRICE [--item ...] --country CC [...]",
			Description: "Builds an order from the flags (or takes --body FILE), signs it with the\n" +
				"storefront's key under its order:create contract, and sends it to the\n" +
				"order agent. It prints the order's status and the receipt index of every\n" +
				"step (reserve, charge, label, notify), each an entry in the log that\n" +
				"'ledgerctl verify-inclusion --index N' checks. PRICE is in minor units.\n" +
				"Exit 1 unless the order completed.\n" +
				"\n" +
				"Example:\n" +
				"  $ ledgerctl order place --order-agent http://127.0.0.1:7430 --key storefront.pem \\\n" +
				"      --contract storefront--order-agent.tlog-proof --item tea-earl-grey=2@1299 --country GB",
			Flags: []cli.Flag{
				&cli.StringFlag{Name: "order-agent", Usage: "the order agent's base `URL`", EnvVars: []string{"LEDGER_ORDER_AGENT"}},
				&cli.StringFlag{Name: "key", Usage: "the storefront's private key `FILE`", EnvVars: []string{"LEDGER_KEY"}},
				&cli.StringFlag{Name: "contract", Usage: "the storefront's order:create contract proof `FILE`", EnvVars: []string{"LEDGER_CONTRACT"}},
				&cli.StringFlag{Name: "body", Usage: "send this JSON order `FILE` instead of building one from the flags", EnvVars: []string{"LEDGER_BODY"}},
				&cli.StringFlag{Name: "order-id", Usage: "the order's `ID` (default: random)", EnvVars: []string{"LEDGER_ORDER_ID"}},
				&cli.StringSliceFlag{Name: "item", Usage: "an order line, `SKU=QTY@PRICE` (repeatable)", EnvVars: []string{"LEDGER_ITEMS"}},
				&cli.StringFlag{Name: "currency", Value: "USD", Usage: "ISO 4217 `CODE`", EnvVars: []string{"LEDGER_CURRENCY"}},
				&cli.StringFlag{Name: "first", Value: "Ada", Usage: "customer's first `NAME`", EnvVars: []string{"LEDGER_FIRST_NAME"}},
				&cli.StringFlag{Name: "last", Value: "Lovelace", Usage: "customer's last `NAME`", EnvVars: []string{"LEDGER_LAST_NAME"}},
				&cli.StringFlag{Name: "email", Value: "ada@example.com", Usage: "customer's `EMAIL`", EnvVars: []string{"LEDGER_EMAIL"}},
				&cli.StringFlag{Name: "address", Value: "1 Main Street", Usage: "street `LINE`", EnvVars: []string{"LEDGER_ADDRESS"}},
				&cli.StringFlag{Name: "city", Value: "London", Usage: "`CITY`", EnvVars: []string{"LEDGER_CITY"}},
				&cli.StringFlag{Name: "postal-code", Value: "N1 1AA", Usage: "postal `CODE`", EnvVars: []string{"LEDGER_POSTAL_CODE"}},
				&cli.StringFlag{Name: "country", Value: "GB", Usage: "destination `CC` (ISO 3166 alpha-2)", EnvVars: []string{"LEDGER_COUNTRY"}},
				&cli.StringFlag{Name: "card", Value: "4242424242424242", Usage: "card `NUMBER` (the simulated processor declines 4000000000000002)", EnvVars: []string{"LEDGER_CARD"}},
				&cli.StringFlag{Name: "note", Usage: "a `NOTE` for the delivery", EnvVars: []string{"LEDGER_NOTE"}},
			},
			Action: func(c *cli.Context) error { return orderPlace(c, s) },
		}},
	}
}

func orderPlace(c *cli.Context, s streams) error {
	if err := requireFlags(c, "order-agent", "key", "contract"); err != nil {
		return err
	}
	body, err := orderBody(c)
	if err != nil {
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
	cl := caller.New(key, nil, nil)
	if err := cl.Add(k); err != nil {
		return withHint(err, "--contract must be the storefront's order:create contract, for --key")
	}
	resp, err := cl.Call(c.Context, http.MethodPost, strings.TrimRight(c.String("order-agent"), "/")+"/v1/orders", k.Statement.Audience, "order:create", body)
	if err != nil {
		return withHint(fmt.Errorf("placing the order: %w", err), "is the order agent running at --order-agent?")
	}
	defer resp.Body.Close()
	answer, _ := io.ReadAll(io.LimitReader(resp.Body, maxCallAnswer))
	var o struct {
		OrderID  string            `json:"order_id"`
		Status   string            `json:"status"`
		Reason   string            `json:"reason"`
		Error    string            `json:"error"`
		Receipts map[string]uint64 `json:"receipts"`
	}
	_ = json.Unmarshal(answer, &o)
	fmt.Fprintf(s.out, "status %d\n", resp.StatusCode)
	if r := resp.Header.Get(contractref.ReceiptHeader); r != "" {
		if index, _, err := contractref.ParseReceipt(r); err == nil {
			fmt.Fprintf(s.out, "receipt %d\n", index)
		}
	}
	fmt.Fprintf(s.out, "order %s: %s %s%s\n", o.OrderID, o.Status, o.Reason, o.Error)
	actions := make([]string, 0, len(o.Receipts))
	for a := range o.Receipts {
		actions = append(actions, a)
	}
	sort.Slice(actions, func(i, j int) bool { return o.Receipts[actions[i]] < o.Receipts[actions[j]] })
	for _, a := range actions {
		fmt.Fprintf(s.out, "  %-20s receipt %d\n", a, o.Receipts[a])
	}
	if o.Status != "completed" {
		return fmt.Errorf("the order did not complete (%d %s%s)", resp.StatusCode, o.Reason, o.Error)
	}
	return nil
}

// orderBody is --body's contents or an order built from the flags.
func orderBody(c *cli.Context) ([]byte, error) {
	if f := c.String("body"); f != "" {
		return fileio.ReadLimit(f, 64<<10, "order body")
	}
	if len(c.StringSlice("item")) == 0 {
		return nil, usageErrorf(c, "give at least one --item SKU=QTY@PRICE, or --body FILE")
	}
	type item struct {
		SKU       string `json:"sku"`
		Qty       int64  `json:"qty"`
		UnitPrice int64  `json:"unit_price"`
	}
	var items []item
	for _, it := range c.StringSlice("item") {
		sku, rest, ok1 := strings.Cut(it, "=")
		qty, price, ok2 := strings.Cut(rest, "@")
		q, err1 := strconv.ParseInt(qty, 10, 64)
		p, err2 := strconv.ParseInt(price, 10, 64)
		if !ok1 || !ok2 || err1 != nil || err2 != nil || sku == "" {
			return nil, usageErrorf(c, "--item %s: want SKU=QTY@PRICE, e.g. tea=2@1299", quoteShort(it))
		}
		items = append(items, item{SKU: sku, Qty: q, UnitPrice: p})
	}
	id := c.String("order-id")
	if id == "" {
		var b [8]byte
		if _, err := rand.Read(b[:]); err != nil {
			return nil, err
		}
		id = "cli-" + hex.EncodeToString(b[:])
	}
	return json.Marshal(map[string]any{"order_id": id,
		"customer": map[string]string{"first": c.String("first"), "last": c.String("last"), "email": c.String("email")},
		"address": map[string]any{"lines": []string{c.String("address")}, "city": c.String("city"),
			"postal_code": c.String("postal-code"), "country": c.String("country")},
		"items": items, "currency": c.String("currency"), "card": c.String("card"), "note": c.String("note")})
}
