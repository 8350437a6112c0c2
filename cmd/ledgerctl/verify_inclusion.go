package main

import (
	"errors"
	"fmt"
	"io"

	"github.com/urfave/cli/v2"
	"golang.org/x/mod/sumdb/note"

	"github.com/agentledger/agentledger/internal/fileio"
	"github.com/agentledger/agentledger/ledger/verified"
	"github.com/agentledger/agentledger/proofs"
	"github.com/agentledger/agentledger/verify"
)

func verifyInclusionCommand(s streams) *cli.Command {
	return &cli.Command{
		Name:  "verify-inclusion",
		Usage: "prove that an entry is in the log, online or offline from a tlog-proof file",
		UsageText: "ledgerctl verify-inclusion --log-key VKEY --ledger URL --index N\n" +
			"ledgerctl verify-inclusion --log-key VKEY --ledger URL --entry FILE\n" +
			"ledgerctl verify-inclusion --log-key VKEY --bundle FILE.tlog-proof",
		Description: "Verifies that an entry is included in the log under a checkpoint signed\n" +
			"by the log key, and prints what was proved: the index, the tree size,\n" +
			"the leaf hash and, for a DSSE envelope, its kind and signer.\n" +
			"\n" +
			"Online, --index N fetches entry N, or --entry FILE looks up the entry\n" +
			"whose bytes are in FILE; either way the ledger's latest checkpoint and\n" +
			"an inclusion proof are fetched and checked here. Offline, --bundle\n" +
			"checks a C2SP tlog-proof file (see export-proof) with no network at\n" +
			"all; --ledger is then not used.\n" +
			"\n" +
			"Examples:\n" +
			"  $ ledgerctl verify-inclusion --ledger http://127.0.0.1:7420 --log-key ./log/log.pub --index 0\n" +
			"  $ ledgerctl verify-inclusion --log-key ./log/log.pub --bundle 0.tlog-proof",
		Flags: []cli.Flag{
			ledgerFlag(),
			logKeyFlag(),
			&cli.Uint64Flag{
				Name:    "index",
				Usage:   "verify the entry at index `N` (online)",
				EnvVars: []string{"LEDGER_INDEX"},
			},
			&cli.StringFlag{
				Name:    "entry",
				Usage:   "verify the entry whose exact bytes are in `FILE` (online)",
				EnvVars: []string{"LEDGER_ENTRY"},
			},
			&cli.StringFlag{
				Name:    "bundle",
				Usage:   "verify the C2SP tlog-proof in `FILE` (offline, no network)",
				EnvVars: []string{"LEDGER_BUNDLE"},
			},
			waitFlag(),
		},
		Action: func(c *cli.Context) error {
			if err := requireFlags(c, "log-key"); err != nil {
				return err
			}
			if c.Args().Present() {
				return usageErrorf(c, "unexpected argument %q", c.Args().First())
			}
			if err := conflicting(c, "index", "entry", "bundle"); err != nil {
				return err
			}
			if !c.IsSet("index") && !c.IsSet("entry") && !c.IsSet("bundle") {
				return usageErrorf(c, "give --index N or --entry FILE (with --ledger), or --bundle FILE")
			}
			v, err := loadVerifier(c)
			if err != nil {
				return err
			}
			if c.IsSet("bundle") {
				// Offline: no client is made, so nothing can reach the network.
				return verifyBundleFile(s.out, c.String("bundle"), v)
			}
			return verifyOnline(c, s.out, v)
		},
	}
}

// verifyOnline proves an entry named by --index or --entry with a
// checkpoint and proof fetched from the ledger.
func verifyOnline(c *cli.Context, out io.Writer, v note.Verifier) error {
	cl, err := newClient(c)
	if err != nil {
		return err
	}
	var e *verify.ProvedEntry
	if c.IsSet("index") {
		e, err = verified.ProveIndex(c.Context, cl, v, c.Uint64("index"), c.Duration("wait"))
	} else {
		var entry []byte
		if entry, err = fileio.ReadLimit(c.String("entry"), maxInputFile, "entry file"); err != nil {
			return err
		}
		e, err = verified.ProveBytes(c.Context, cl, v, entry, c.String("entry"), c.Duration("wait"))
	}
	var pe *verified.ProofError
	if errors.As(err, &pe) {
		return explainInclusion(pe.Err, pe.What)
	}
	if err != nil {
		return err
	}
	printProved(out, "verified", e)
	return nil
}

// verifyBundleFile checks a tlog-proof file offline.
func verifyBundleFile(out io.Writer, path string, v note.Verifier) error {
	data, err := fileio.ReadLimit(path, proofs.MaxBundleSize, "tlog-proof file")
	if err != nil {
		return err
	}
	e, err := verify.ProveEntry(data, v, verify.Want{})
	if err != nil {
		return explainInclusion(err, path)
	}
	printProved(out, "verified offline", e)
	return nil
}

// explainInclusion says why what is not proved.
func explainInclusion(err error, what string) error {
	var inc *proofs.InclusionError
	switch {
	case errors.As(err, &inc):
		return fmt.Errorf("%s: inclusion not proved: %w", what, err)
	case errors.Is(err, verify.ErrProofNotVerified):
		return withHint(fmt.Errorf("%s: %w", what, err), "is --log-key the verifier key of the log that issued this proof?")
	case errors.Is(err, verify.ErrMalformedProof), errors.Is(err, verify.ErrBadEntry), errors.Is(err, verify.ErrOtherProof):
		return fmt.Errorf("%s: %w", what, err)
	}
	return verified.ExplainProof(what, err)
}

// printProved prints what an inclusion proof established.
func printProved(out io.Writer, verb string, e *verify.ProvedEntry) {
	cp := e.Checkpoint
	fmt.Fprintf(out, "%s: entry %d is in log %q at tree size %d\n", verb, e.Index, cp.Origin, cp.Size)
	fmt.Fprintf(out, "index %d\ntree size %d\nroot %s\nleaf hash %s\n", e.Index, cp.Size, cp.Root, e.LeafHash)
	fmt.Fprintf(out, "kind %s\nsigner %s\n", e.Envelope.Kind, e.Envelope.KeyID)
}
