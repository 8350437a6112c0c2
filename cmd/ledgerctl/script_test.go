package main

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/rogpeppe/go-internal/testscript"
)

// TestMain lets the test binary act as ledgerctl: testscript runs scripts'
// "ledgerctl" commands by re-executing this binary, which then calls run
// exactly as main does.
func TestMain(m *testing.M) {
	testscript.Main(m, map[string]func(){
		"ledgerctl": func() { os.Exit(run(os.Args, os.Stdin, os.Stdout, os.Stderr)) },
	})
}

// TestScripts runs testdata/script/*.txtar against real servers on
// loopback.
func TestScripts(t *testing.T) {
	testscript.Run(t, testscript.Params{
		Dir: "testdata/script",
		Cmds: map[string]func(ts *testscript.TestScript, neg bool, args []string){
			"waitaddr": cmdWaitAddr,
			"exits":    cmdExits,
			"perm":     cmdPerm,
			"bigfile":  cmdBigFile,
			"replace":  cmdReplace,
			"fetch":    cmdFetch,
			"readenv":  cmdReadEnv,
			"grepenv":  cmdGrepEnv,
			"post":     cmdPost,
			"examples": cmdExamples,
			"nowenv":   cmdNowEnv,
			"sleep":    cmdSleep,
		},
		Setup: func(env *testscript.Env) error {
			// Under -race every process sleeps a second before exiting
			// unless told not to; scripts run ledgerctl many times.
			env.Setenv("GORACE", strings.TrimSpace(os.Getenv("GORACE")+" atexit_sleep_ms=0"))
			return nil
		},
		RequireExplicitExec: true,
	})
}

// waitAddrTimeout bounds how long waitaddr waits for a server to start.
const waitAddrTimeout = 20 * time.Second

// cmdWaitAddr waits for a server's --addr-file and sets an environment
// variable to its base URL.
//
//	waitaddr FILE VAR
func cmdWaitAddr(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 2 {
		ts.Fatalf("usage: waitaddr FILE VAR")
	}
	path := ts.MkAbs(args[0])
	deadline := time.Now().Add(waitAddrTimeout)
	for {
		b, err := os.ReadFile(path)
		if addr := strings.TrimSpace(string(b)); err == nil && addr != "" {
			ts.Setenv(args[1], "http://"+addr)
			return
		}
		if time.Now().After(deadline) {
			ts.Fatalf("no address in %s after %v", path, waitAddrTimeout)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// cmdExits runs a command and checks its exit code; its stdout and stderr
// are then checked as after exec.
//
//	exits CODE PROGRAM [ARGS...]
func cmdExits(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) < 2 {
		ts.Fatalf("usage: exits CODE PROGRAM [ARGS...]")
	}
	want, err := strconv.Atoi(args[0])
	ts.Check(err)
	err = ts.Exec(args[1], args[2:]...)
	got := 0
	if err != nil {
		var exit *exec.ExitError
		if !errors.As(err, &exit) {
			ts.Fatalf("running %s: %v", args[1], err)
		}
		got = exit.ExitCode()
	}
	if got != want {
		ts.Fatalf("%s exited %d, want %d", args[1], got, want)
	}
}

// cmdPerm checks a file's permission bits.
//
//	perm FILE MODE
func cmdPerm(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 2 {
		ts.Fatalf("usage: perm FILE MODE")
	}
	want, err := strconv.ParseUint(args[1], 8, 32)
	ts.Check(err)
	fi, err := os.Stat(ts.MkAbs(args[0]))
	ts.Check(err)
	if got := fi.Mode().Perm(); got != os.FileMode(want) {
		ts.Fatalf("%s has mode %#o, want %#o", args[0], got, want)
	}
}

// cmdBigFile writes a file of SIZE bytes of JSON-ish text.
//
//	bigfile FILE SIZE
func cmdBigFile(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 2 {
		ts.Fatalf("usage: bigfile FILE SIZE")
	}
	n, err := strconv.Atoi(args[1])
	ts.Check(err)
	ts.Check(os.WriteFile(ts.MkAbs(args[0]), bytes.Repeat([]byte("x"), n), 0o644))
}

// cmdReplace replaces the first occurrence of OLD in FILE with NEW, and
// fails if there is none. In OLD and NEW, \n stands for a newline.
//
//	replace FILE OLD NEW
func cmdReplace(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 3 {
		ts.Fatalf("usage: replace FILE OLD NEW")
	}
	path := ts.MkAbs(args[0])
	data, err := os.ReadFile(path)
	ts.Check(err)
	old := []byte(strings.ReplaceAll(args[1], `\n`, "\n"))
	repl := []byte(strings.ReplaceAll(args[2], `\n`, "\n"))
	if !bytes.Contains(data, old) {
		ts.Fatalf("%s does not contain %q", args[0], old)
	}
	data = bytes.Replace(data, old, repl, 1)
	ts.Check(os.WriteFile(path, data, 0o644))
}

// cmdFetch GETs a URL and writes the body to stdout; it fails on a non-200
// answer.
//
//	fetch URL
func cmdFetch(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 1 {
		ts.Fatalf("usage: fetch URL")
	}
	hc := &http.Client{Timeout: 10 * time.Second}
	resp, err := hc.Get(args[0])
	ts.Check(err)
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	ts.Check(err)
	if resp.StatusCode != http.StatusOK {
		ts.Fatalf("GET %s: %s", args[0], resp.Status)
	}
	fmt.Fprintf(ts.Stdout(), "%s", body)
}

// cmdReadEnv sets an environment variable to a file's contents, without
// surrounding whitespace.
//
//	readenv VAR FILE
func cmdReadEnv(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 2 {
		ts.Fatalf("usage: readenv VAR FILE")
	}
	ts.Setenv(args[0], strings.TrimSpace(ts.ReadFile(args[1])))
}

// cmdGrepEnv sets an environment variable to the first submatch of REGEX
// in FILE ("stdout" and "stderr" name the last command's output); it
// fails if REGEX does not match.
//
//	grepenv VAR FILE REGEX
func cmdGrepEnv(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 3 {
		ts.Fatalf("usage: grepenv VAR FILE REGEX")
	}
	re, err := regexp.Compile("(?m)" + args[2])
	ts.Check(err)
	if re.NumSubexp() < 1 {
		ts.Fatalf("grepenv: %s has no group", args[2])
	}
	m := re.FindStringSubmatch(ts.ReadFile(args[1]))
	if m == nil {
		ts.Fatalf("grepenv: no match for %s in %s", args[2], args[1])
	}
	ts.Setenv(args[0], m[1])
}

// cmdPost POSTs FILE's bytes to URL as JSON and writes the status code and
// then the body to stdout, whatever the status.
//
//	post URL FILE
func cmdPost(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 2 {
		ts.Fatalf("usage: post URL FILE")
	}
	data, err := os.ReadFile(ts.MkAbs(args[1]))
	ts.Check(err)
	hc := &http.Client{Timeout: 10 * time.Second}
	resp, err := hc.Post(args[0], "application/json", bytes.NewReader(data))
	ts.Check(err)
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	ts.Check(err)
	fmt.Fprintf(ts.Stdout(), "%d\n%s", resp.StatusCode, body)
}

// cmdNowEnv sets an environment variable to the current time, UTC, in
// RFC 3339 to the second.
//
//	nowenv VAR
func cmdNowEnv(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 1 {
		ts.Fatalf("usage: nowenv VAR")
	}
	ts.Setenv(args[0], time.Now().UTC().Format(time.RFC3339))
}

// cmdSleep waits for a duration (a Go duration, at most 10s), for
// background commands that act on a timer.
//
//	sleep DURATION
func cmdSleep(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 1 {
		ts.Fatalf("usage: sleep DURATION")
	}
	d, err := time.ParseDuration(args[0])
	if err != nil || d < 0 || d > 10*time.Second {
		ts.Fatalf("sleep: %q is not a duration up to 10s", args[0])
	}
	time.Sleep(d)
}
