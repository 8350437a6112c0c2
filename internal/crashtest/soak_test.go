package crashtest

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"
)

// TestSoak runs `ledgerctl soak --chaos` (the five processes under load,
// with a random process SIGKILLed and restarted, or frozen, every one to
// five seconds) for LEDGER_SOAK_DURATION, and requires every check of its
// verdict to pass. It is skipped unless LEDGER_SOAK_DURATION is set: CI
// runs 60s; BENCHMARKS.md records a 10-minute run. LEDGER_SOAK_CONCURRENCY
// sets the clients (default 16).
func TestSoak(t *testing.T) {
	d := os.Getenv("LEDGER_SOAK_DURATION")
	if d == "" {
		t.Skip("set LEDGER_SOAK_DURATION (e.g. 60s) to run the chaos soak")
	}
	duration, err := time.ParseDuration(d)
	if err != nil {
		t.Fatalf("LEDGER_SOAK_DURATION: %v", err)
	}
	conc := 16
	if c := os.Getenv("LEDGER_SOAK_CONCURRENCY"); c != "" {
		if conc, err = strconv.Atoi(c); err != nil {
			t.Fatalf("LEDGER_SOAK_CONCURRENCY: %v", err)
		}
	}
	dir := filepath.Join(t.TempDir(), "soak")
	cmd := exec.Command(binary, "soak", "--duration", duration.String(), "--concurrency", strconv.Itoa(conc),
		"--chaos", "--data", dir, "--json")
	out, err := cmd.Output()
	var rep struct {
		Seed     uint64         `json:"seed"`
		Orders   int            `json:"orders"`
		Outcomes map[string]int `json:"outcomes"`
		Kills    map[string]int `json:"kills"`
		Checks   []struct {
			Name   string `json:"name"`
			OK     bool   `json:"ok"`
			Detail string `json:"detail"`
		} `json:"checks"`
		Pass bool `json:"pass"`
	}
	if jerr := json.Unmarshal(out, &rep); jerr != nil {
		var stderr []byte
		if ee, ok := err.(*exec.ExitError); ok {
			stderr = ee.Stderr
		}
		t.Fatalf("soak printed no report (%v, %v):\n%s\n%s", err, jerr, out, stderr)
	}
	for _, c := range rep.Checks {
		t.Logf("%-5v %s: %s", c.OK, c.Name, c.Detail)
		if !c.OK {
			t.Errorf("check failed: %s: %s (stack and logs in %s)", c.Name, c.Detail, dir)
		}
	}
	kills := 0
	for _, n := range rep.Kills {
		kills += n
	}
	t.Logf("seed %d: %d orders, outcomes %v, kills %v", rep.Seed, rep.Orders, rep.Outcomes, rep.Kills)
	switch {
	case err != nil || !rep.Pass:
		t.Fatalf("soak failed (exit %v); seed %d reproduces the chaos schedule", err, rep.Seed)
	case len(rep.Checks) < 10:
		t.Fatalf("only %d checks in the verdict", len(rep.Checks))
	case rep.Outcomes["completed"] == 0:
		t.Fatal("no order completed")
	case duration >= 10*time.Second && kills == 0:
		t.Fatal("chaos killed nothing")
	}
}
