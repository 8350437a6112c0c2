package main

import "github.com/urfave/cli/v2"

// demoCommand is `ledgerctl demo`.
func demoCommand() *cli.Command {
	return &cli.Command{Name: "demo", Usage: "run the whole system on this machine (not built yet)"}
}
