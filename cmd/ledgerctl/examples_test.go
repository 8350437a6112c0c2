package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rogpeppe/go-internal/testscript"

	"github.com/agentledger/agentledger/proofs"
	"github.com/agentledger/agentledger/proofs/envelope"
	"github.com/agentledger/agentledger/proofs/statement"
)

// The files in testdata/examples are one real entry of each statement
// kind, taken from a run of testdata/script/contracts.txtar against a real
// server, for the documentation. They are written only on request:
//
//	LEDGER_WRITE_EXAMPLES=1 go test ./cmd/ledgerctl -run 'TestScripts/contracts'
//
// and otherwise checked by TestExamples.

const (
	examplesDir      = "testdata/examples"
	writeExamplesEnv = "LEDGER_WRITE_EXAMPLES"
)

var exampleKinds = []envelope.Kind{envelope.KindRegistration, envelope.KindContract, envelope.KindRevocation, envelope.KindAction}

// example is the form of an example file: the entry's place in the log,
// its statement pretty-printed, and the envelope exactly as stored.
type example struct {
	Kind      envelope.Kind   `json:"kind"`
	Index     uint64          `json:"index"`
	LeafHash  string          `json:"leaf_hash"`
	Signer    string          `json:"signer"`
	Statement json.RawMessage `json:"statement"`
	Envelope  string          `json:"envelope"`
}

// exampleFromBundle makes the example of the entry a tlog-proof carries.
func exampleFromBundle(kind envelope.Kind, data []byte) (example, error) {
	b, err := proofs.ParseBundle(data)
	if err != nil {
		return example{}, err
	}
	ex := example{Kind: kind, Index: b.Index, LeafHash: proofs.LeafHash(b.Extra).String(), Envelope: string(b.Extra)}
	env, err := envelope.Parse(b.Extra)
	if err != nil {
		return example{}, err
	}
	ex.Signer = env.KeyID
	ex.Statement = env.Payload
	return ex, checkExample(ex)
}

// checkExample checks that an example is a genuine, well-formed entry of
// its kind and that its parts agree.
func checkExample(ex example) error {
	raw := []byte(ex.Envelope)
	env, err := envelope.Parse(raw)
	if err != nil {
		return err
	}
	if _, err := env.Verify(); err != nil {
		return err
	}
	if env.Kind != ex.Kind {
		return fmt.Errorf("envelope kind %s, example says %s", env.Kind, ex.Kind)
	}
	if env.KeyID != ex.Signer {
		return fmt.Errorf("envelope signer %s, example says %s", env.KeyID, ex.Signer)
	}
	if h := proofs.LeafHash(raw).String(); h != ex.LeafHash {
		return fmt.Errorf("envelope leaf hash %s, example says %s", h, ex.LeafHash)
	}
	if _, err := statement.Parse(env.Kind, env.Payload); err != nil {
		return err
	}
	var got, want bytes.Buffer
	if err := json.Compact(&got, ex.Statement); err != nil {
		return err
	}
	if err := json.Compact(&want, env.Payload); err != nil {
		return err
	}
	if !bytes.Equal(got.Bytes(), want.Bytes()) {
		return fmt.Errorf("statement %s is not the envelope's payload %s", got.Bytes(), want.Bytes())
	}
	return nil
}

func marshalExample(ex example) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(ex); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// cmdExamples checks the entries in tlog-proof files as examples, one of
// each kind, and with LEDGER_WRITE_EXAMPLES=1 writes them to
// testdata/examples/KIND.json.
//
//	examples KIND=FILE.tlog-proof...
func cmdExamples(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) == 0 {
		ts.Fatalf("usage: examples KIND=FILE.tlog-proof...")
	}
	for _, arg := range args {
		name, file, ok := strings.Cut(arg, "=")
		if !ok {
			ts.Fatalf("examples: want KIND=FILE, got %q", arg)
		}
		kind, err := envelope.ParseKind(name)
		ts.Check(err)
		ex, err := exampleFromBundle(kind, []byte(ts.ReadFile(file)))
		if err != nil {
			ts.Fatalf("examples: %s: %v", file, err)
		}
		if os.Getenv(writeExamplesEnv) != "1" {
			continue
		}
		out, err := marshalExample(ex)
		ts.Check(err)
		ts.Check(os.MkdirAll(examplesDir, 0o755))
		path := filepath.Join(examplesDir, string(kind)+".json")
		ts.Check(os.WriteFile(path, out, 0o644))
		ts.Logf("wrote %s", path)
	}
}

// TestExamples checks the saved examples: one of each kind, genuine,
// well-formed, and with a statement that is the envelope's payload.
func TestExamples(t *testing.T) {
	if os.Getenv(writeExamplesEnv) == "1" {
		t.Skip("the examples are being rewritten by TestScripts/contracts")
	}
	byKind := map[envelope.Kind]example{}
	for _, kind := range exampleKinds {
		path := filepath.Join(examplesDir, string(kind)+".json")
		data, err := os.ReadFile(path)
		if err != nil {
			t.Errorf("%v (write the examples with %s=1 go test -run TestScripts/contracts)", err, writeExamplesEnv)
			continue
		}
		var ex example
		dec := json.NewDecoder(bytes.NewReader(data))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&ex); err != nil {
			t.Errorf("%s: %v", path, err)
			continue
		}
		if ex.Kind != kind {
			t.Errorf("%s: kind %s", path, ex.Kind)
		}
		if err := checkExample(ex); err != nil {
			t.Errorf("%s: %v", path, err)
		}
		if out, err := marshalExample(ex); err != nil || !bytes.Equal(out, data) {
			t.Errorf("%s is not in the form the test writes (err %v)", path, err)
		}
		byKind[kind] = ex
	}
	if t.Failed() {
		return
	}
	// They tell one story: the authority registers an agent and grants it
	// a contract, the callee records an action under that contract, and the
	// contract is revoked.
	parse := func(kind envelope.Kind) any {
		env, _ := envelope.Parse([]byte(byKind[kind].Envelope))
		st, _ := statement.Parse(kind, env.Payload)
		return st
	}
	reg := parse(envelope.KindRegistration).(*statement.Registration)
	con := parse(envelope.KindContract).(*statement.Contract)
	rev := parse(envelope.KindRevocation).(*statement.Revocation)
	act := parse(envelope.KindAction).(*statement.Action)
	authority := byKind[envelope.KindRegistration].Signer
	if byKind[envelope.KindContract].Signer != authority || byKind[envelope.KindRevocation].Signer != authority {
		t.Errorf("the contract and revocation are not signed by the registration's signer, the authority %s", authority)
	}
	if con.Subject != reg.DID {
		t.Errorf("the contract's subject %s is not the registered agent %s", con.Subject, reg.DID)
	}
	if rev.Contract.String() != byKind[envelope.KindContract].LeafHash {
		t.Errorf("the revocation names contract %s, not the example contract", rev.Contract)
	}
	if act.Contract.Index != byKind[envelope.KindContract].Index || act.Contract.LeafHash.String() != byKind[envelope.KindContract].LeafHash {
		t.Errorf("the action relies on contract %+v, not the example contract", act.Contract)
	}
	if act.Agent != con.Audience || act.Caller != con.Subject {
		t.Errorf("the action is not the callee's, approving the caller's request")
	}
}

// TestExamplesInProtocolDoc checks that docs/protocol.md quotes each
// example statement exactly as the example files hold it.
func TestExamplesInProtocolDoc(t *testing.T) {
	doc, err := os.ReadFile(filepath.Join("..", "..", "docs", "protocol.md"))
	if err != nil {
		t.Fatal(err)
	}
	for _, kind := range exampleKinds {
		raw, err := os.ReadFile(filepath.Join(examplesDir, string(kind)+".json"))
		if err != nil {
			t.Fatal(err)
		}
		var ex example
		if err := json.Unmarshal(raw, &ex); err != nil {
			t.Fatal(err)
		}
		var pretty bytes.Buffer
		if err := json.Indent(&pretty, ex.Statement, "", "  "); err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(string(doc), "```json\n"+pretty.String()+"\n```") {
			t.Errorf("docs/protocol.md does not quote the %s example:\n%s", kind, pretty.String())
		}
	}
}
