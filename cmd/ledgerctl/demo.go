package main

import (
	"context"
	"crypto/ed25519"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/rs/zerolog"
	"github.com/urfave/cli/v2"
	"golang.org/x/mod/sumdb/note"

	"github.com/agentledger/agentledger/did"
	"github.com/agentledger/agentledger/envelope"
	"github.com/agentledger/agentledger/keyfile"
	"github.com/agentledger/agentledger/ledger/client"
	"github.com/agentledger/agentledger/proofs"
)

const demoOrigin = "demo.agentledger.local/log"

// demoCommand is `ledgerctl demo`.
func demoCommand() *cli.Command {
	return &cli.Command{
		Name:  "demo",
		Usage: "run the system on this machine and check every expectation",
		Description: `Creates a log, serves it on loopback, and walks through what the ledger
promises: the authority registers the four agents, writes by anyone else
are refused with a reason, an entry's tlog-proof verifies offline, and the
log only grows (a consistency proof between two checkpoints). It exits 0
only if every expectation held.

The four agents themselves are not built yet; this demo runs the
verifiable log they will write to.

With no flags it uses a fresh temporary directory and removes it after.
With --data DIR the log is kept: 'ledgerctl serve --data DIR' serves it
afterwards, so any tlog-tiles client can check it.

Example:
  ledgerctl demo
  ledgerctl demo --data ./demo-log --json`,
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "data", Usage: "keep the demo's log in `DIR` (must not hold a log)", EnvVars: []string{"LEDGER_DEMO_DATA"}},
			&cli.BoolFlag{Name: "json", Usage: "print a machine-readable report instead of the story", EnvVars: []string{"LEDGER_DEMO_JSON"}},
		},
		Action: func(c *cli.Context) error {
			dir, keep := c.String("data"), true
			if dir == "" {
				tmp, err := os.MkdirTemp("", "agentledger-demo-")
				if err != nil {
					return err
				}
				dir, keep = filepath.Join(tmp, "log"), false
				defer os.RemoveAll(tmp)
			}
			d := &demo{out: c.App.Writer, json: c.Bool("json"), color: isTerminal(c.App.Writer), report: demoReport{DataDir: dir, Kept: keep}}
			err := d.run(c.Context, dir)
			if d.json {
				if perr := printJSON(c.App.Writer, d.report); perr != nil && err == nil {
					err = perr
				}
			}
			if err != nil {
				return err
			}
			if !d.report.OK {
				return errors.New("some demo expectations did not hold")
			}
			return nil
		},
	}
}

// demoReport is the --json output.
type demoReport struct {
	OK       bool        `json:"ok"`
	LogKey   string      `json:"log_key"`
	DataDir  string      `json:"data_dir"`
	Kept     bool        `json:"kept"`
	Steps    []demoStep  `json:"steps"`
	Receipts []demoEntry `json:"entries"`
}

type demoStep struct {
	Name   string `json:"name"`
	OK     bool   `json:"ok"`
	Detail string `json:"detail"`
}

type demoEntry struct {
	Name  string `json:"name"`
	DID   string `json:"did"`
	Index uint64 `json:"index"`
}

type demo struct {
	out    io.Writer
	json   bool
	color  bool
	report demoReport
}

func (d *demo) say(format string, args ...any) {
	if !d.json {
		fmt.Fprintf(d.out, format+"\n", args...)
	}
}

// expect records one expectation and prints it.
func (d *demo) expect(name string, ok bool, detail string) {
	d.report.Steps = append(d.report.Steps, demoStep{Name: name, OK: ok, Detail: detail})
	mark, paint := "ok  ", "\x1b[32m"
	if !ok {
		mark, paint = "FAIL", "\x1b[31m"
	}
	if d.color {
		mark = paint + mark + "\x1b[0m"
	}
	d.say("  [%s] %s: %s", mark, name, detail)
}

func (d *demo) run(ctx context.Context, dir string) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()

	d.say("1. Create a log and its authority key")
	vkey, authorityDID, err := initLog(dir, demoOrigin)
	if err != nil {
		return err
	}
	d.report.LogKey = vkey
	d.say("   log key:   %s\n   authority: %s\n   data:      %s", vkey, authorityDID, dir)

	d.say("2. Serve it on loopback")
	addrFile := filepath.Join(dir, "demo.addr")
	served := make(chan error, 1)
	go func() {
		served <- serve(ctx, serveConfig{dir: dir, listen: "127.0.0.1:0", addrFile: addrFile,
			interval: 50 * time.Millisecond, shutdownTimeout: 5 * time.Second}, zerolog.Nop())
	}()
	defer func() { cancel(); <-served }()
	addr, err := waitForFile(ctx, addrFile, served)
	if err != nil {
		return err
	}
	cl, err := client.New("http://"+addr, nil)
	if err != nil {
		return err
	}
	d.say("   ledger at http://%s", addr)
	verifier, err := note.NewVerifier(vkey)
	if err != nil {
		return err
	}
	authority, err := keyfile.Read(filepath.Join(dir, fileAuthorityKey))
	if err != nil {
		return err
	}

	d.say("3. The authority registers the four agents")
	agents := map[string]ed25519.PrivateKey{}
	for _, a := range []struct{ name, risk string }{
		{"order-agent", "low"}, {"inventory-agent", "medium"}, {"payment-agent", "high"}, {"fulfillment-agent", "medium"},
	} {
		key, err := keyfile.Generate()
		if err != nil {
			return err
		}
		agents[a.name] = key
		id := did.FromPublicKey(key.Public().(ed25519.PublicKey))
		payload := fmt.Sprintf(`{"v":1,"name":%q,"did":%q,"risk":%q,"time":%q}`, a.name, id, a.risk, time.Now().UTC().Format(time.RFC3339))
		env, err := envelope.Sign(envelope.KindRegistration, []byte(payload), authority)
		if err != nil {
			return err
		}
		res, err := cl.Append(ctx, env)
		d.expect("register "+a.name, err == nil && !res.Duplicate, describeAppend(res, err))
		if err == nil {
			d.report.Receipts = append(d.report.Receipts, demoEntry{Name: a.name, DID: id, Index: res.Index})
		}
	}

	d.say("4. Writes the ledger must refuse")
	forged, _ := envelope.Sign(envelope.KindContract, []byte(`{"v":1,"note":"self-issued contract"}`), agents["order-agent"])
	_, err = cl.Append(ctx, forged)
	d.expect("an agent cannot write a contract", refusedWith(err, 403, "not_authority"), describeRefusal(err))
	tampered, err := swapPayload(authority,
		`{"v":1,"name":"order-agent","risk":"low"}`, `{"v":1,"name":"order-agent","risk":"high"}`)
	if err != nil {
		return err
	}
	_, err = cl.Append(ctx, tampered)
	d.expect("a changed entry fails its signature", refusedWith(err, 401, "bad_signature"), describeRefusal(err))
	_, err = cl.Append(ctx, []byte(`{"hello":"world"}`))
	d.expect("a malformed entry is refused", refusedWith(err, 400, "malformed_envelope"), describeRefusal(err))

	d.say("5. Export a tlog-proof and verify it offline")
	if len(d.report.Receipts) == 0 {
		d.expect("offline proof", false, "no entry was appended")
		return d.finish()
	}
	first := d.report.Receipts[0]
	cp1, err := checkpointCovering(ctx, cl, verifier, first.Index+uint64(len(d.report.Receipts)), 10*time.Second)
	if err != nil {
		return err
	}
	raw, err := cl.Bundle(ctx, first.Index)
	if err != nil {
		return err
	}
	proofFile := filepath.Join(dir, fmt.Sprintf("entry-%d.tlog-proof", first.Index))
	if err := writeFileAtomic(proofFile, raw, 0o644); err != nil {
		return err
	}
	// From here on only the file and the log key are used.
	b, err := proofs.ParseBundle(raw)
	if err == nil {
		_, err = proofs.VerifyBundle(b, demoOrigin, verifier)
	}
	d.expect("offline proof of "+first.Name+"'s registration", err == nil, describeCheck(err, fmt.Sprintf("%s verifies with only the log key", proofFile)))
	if err == nil {
		b.Extra[len(b.Extra)/2] ^= 1
		_, err = proofs.VerifyBundle(b, demoOrigin, verifier)
		d.expect("the same proof with one entry byte changed", err != nil, describeCheck(nilIfErr(err), "refused: "+errString(err)))
	}

	d.say("6. The log only grows: a consistency proof between two checkpoints")
	key, _ := keyfile.Generate()
	storefront := did.FromPublicKey(key.Public().(ed25519.PublicKey))
	env, _ := envelope.Sign(envelope.KindRegistration, []byte(fmt.Sprintf(`{"v":1,"name":"storefront","did":%q,"risk":"low","time":%q}`, storefront, time.Now().UTC().Format(time.RFC3339))), authority)
	res, err := cl.Append(ctx, env)
	d.expect("register storefront", err == nil, describeAppend(res, err))
	if err != nil {
		return d.finish()
	}
	cp2, err := checkpointCovering(ctx, cl, verifier, res.Index+1, 10*time.Second)
	if err != nil {
		return err
	}
	p, err := cl.ConsistencyProof(ctx, cp1.Size, cp2.Size)
	if err == nil {
		err = proofs.VerifyConsistency(cp1, cp2, p)
	}
	d.expect("checkpoint "+fmt.Sprint(cp1.Size)+" is a prefix of checkpoint "+fmt.Sprint(cp2.Size), err == nil, describeCheck(err, fmt.Sprintf("%d-hash proof verified", len(p))))

	d.say("\nThe order, inventory, payment and fulfillment agents are not built yet;")
	d.say("this demo ran the verifiable log they will write every approval to.")
	return d.finish()
}

func (d *demo) finish() error {
	d.report.OK = len(d.report.Steps) > 0
	for _, s := range d.report.Steps {
		d.report.OK = d.report.OK && s.OK
	}
	if d.report.OK {
		d.say("\nAll %d expectations held.", len(d.report.Steps))
	} else {
		d.say("\nSome expectations did not hold.")
	}
	if d.report.Kept {
		d.say("The log is kept in %s: serve it with 'ledgerctl serve --data %s'.", d.report.DataDir, d.report.DataDir)
	}
	return nil
}

// swapPayload signs an envelope over original, then puts changed in its
// place: a well-formed envelope whose signature no longer matches.
func swapPayload(key ed25519.PrivateKey, original, changed string) ([]byte, error) {
	signed, err := envelope.Sign(envelope.KindRegistration, []byte(original), key)
	if err != nil {
		return nil, err
	}
	other, err := envelope.Sign(envelope.KindRegistration, []byte(changed), key)
	if err != nil {
		return nil, err
	}
	a, _ := envelope.Parse(signed)
	b, _ := envelope.Parse(other)
	oldB64 := base64.StdEncoding.EncodeToString(a.Payload)
	newB64 := base64.StdEncoding.EncodeToString(b.Payload)
	return []byte(strings.Replace(string(signed), oldB64, newB64, 1)), nil
}

// waitForFile waits for the server to write its address file, or to fail.
func waitForFile(ctx context.Context, path string, served <-chan error) (string, error) {
	deadline := time.After(20 * time.Second)
	for {
		if b, err := os.ReadFile(path); err == nil && len(b) > 0 {
			return strings.TrimSpace(string(b)), nil
		}
		select {
		case err := <-served:
			return "", fmt.Errorf("the demo ledger stopped: %w", err)
		case <-deadline:
			return "", errors.New("the demo ledger did not start within 20s")
		case <-ctx.Done():
			return "", ctx.Err()
		case <-time.After(10 * time.Millisecond):
		}
	}
}

func refusedWith(err error, status int, code string) bool {
	var apiErr *client.APIError
	return errors.As(err, &apiErr) && apiErr.Status == status && apiErr.Code == code
}

func describeAppend(res client.AppendResult, err error) string {
	if err != nil {
		return err.Error()
	}
	return fmt.Sprintf("index %d", res.Index)
}

func describeRefusal(err error) string {
	var apiErr *client.APIError
	if errors.As(err, &apiErr) {
		return fmt.Sprintf("%d %s", apiErr.Status, apiErr.Code)
	}
	if err == nil {
		return "accepted, but should have been refused"
	}
	return err.Error()
}

func describeCheck(err error, ok string) string {
	if err != nil {
		return err.Error()
	}
	return ok
}

// nilIfErr inverts an expected failure: nil when err is set.
func nilIfErr(err error) error {
	if err != nil {
		return nil
	}
	return errors.New("accepted, but should have been refused")
}

func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}
