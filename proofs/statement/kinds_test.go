package statement

import (
	"bytes"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"testing"
	"testing/iotest"
	"time"

	"github.com/agentledger/agentledger/proofs/scope"
)

func TestRegistrationRules(t *testing.T) {
	for _, name := range []string{"a", "order-agent", "a1", "a-b-c", "x" + strings.Repeat("y", 62), "a--b"} {
		if _, err := ParseRegistration(set(t, goodRegistration, "name", name)); err != nil {
			t.Errorf("name %q: %v", name, err)
		}
	}
	for _, name := range []string{"", "1agent", "-agent", "agent-", "Agent", "order_agent", "order agent", "x" + strings.Repeat("y", 63), "ägent"} {
		v, err := ParseRegistration(set(t, goodRegistration, "name", name))
		wantInvalid(t, "name "+name, v, err, "registration: name: ")
	}
	for _, risk := range []string{RiskLow, RiskMedium, RiskHigh} {
		if _, err := ParseRegistration(set(t, goodRegistration, "risk", risk)); err != nil {
			t.Errorf("risk %q: %v", risk, err)
		}
	}
	for _, risk := range []string{"", "Low", "critical", " low"} {
		v, err := ParseRegistration(set(t, goodRegistration, "risk", risk))
		wantInvalid(t, "risk "+risk, v, err, "registration: risk: ")
	}
	for _, d := range []string{"", "did:key:", "did:web:example.com", didA + "#key-1", strings.ToUpper(didA), didA[:len(didA)-1]} {
		v, err := ParseRegistration(set(t, goodRegistration, "did", d))
		wantInvalid(t, "did "+d, v, err, "registration: did: ", "malformed did:key")
	}
}

func TestRegistrationServes(t *testing.T) {
	for _, serves := range [][]string{
		{"payment:charge"},
		{"payment:charge", "payment:reconcile", "payment:refund"},
		{"a:b", "a:b_", "a_:b"},
		manyActions(MaxServes),
	} {
		r, err := ParseRegistration(set(t, goodRegistration, "serves", serves))
		if err != nil {
			t.Errorf("serves %q: %v", serves, err)
			continue
		}
		if !slices.Equal(r.Serves, serves) {
			t.Errorf("serves %q parsed as %q", serves, r.Serves)
		}
	}
	// Absent: the party serves nothing, and Marshal leaves the field out.
	b := edit(t, goodRegistration, func(m map[string]any) { delete(m, "serves") })
	r, err := ParseRegistration(b)
	if err != nil || r.Serves != nil {
		t.Fatalf("registration without serves = %+v, %v", r, err)
	}
	if out, _ := r.Marshal(); strings.Contains(string(out), "serves") {
		t.Errorf("Marshal of a registration serving nothing = %s", out)
	}
	r.Serves = []string{}
	if out, _ := r.Marshal(); strings.Contains(string(out), "serves") {
		t.Errorf("Marshal of an empty serves = %s", out)
	}
	for _, tt := range []struct {
		name   string
		serves any
		msg    string
	}{
		{"empty", []string{}, "registration: serves: empty"},
		{"null", nil, "registration: serves: not an array"},
		{"a string", "payment:charge", "registration: serves: not an array"},
		{"not strings", []any{"payment:charge", 1}, "registration: serves[1]: not a string"},
		{"a scope with a limit", []string{"payment:charge:max_10usd"}, "registration: serves[0]: malformed scope"},
		{"no action", []string{"payment"}, "registration: serves[0]: malformed scope"},
		{"upper case", []string{"Payment:charge"}, "registration: serves[0]: malformed scope"},
		{"a wildcard", []string{"payment:*"}, "registration: serves[0]: malformed scope"},
		{"unsorted", []string{"payment:refund", "payment:charge"}, `registration: serves[1]: "payment:charge" sorts before serves[0]`},
		{"duplicate", []string{"payment:charge", "payment:charge"}, "registration: serves[1]: duplicate of serves[0]"},
		{"too many", manyActions(MaxServes + 1), "registration: serves: 65 actions, limit 64"},
	} {
		v, err := ParseRegistration(set(t, goodRegistration, "serves", tt.serves))
		wantInvalid(t, "serves "+tt.name, v, err, tt.msg)
		if s, ok := tt.serves.([]string); ok && len(s) > 0 {
			r := &Registration{Name: "order-agent", DID: didA, Risk: RiskLow, Serves: s, Time: time.Now()}
			if _, err := r.Marshal(); err == nil {
				t.Errorf("Marshal accepted serves %s", tt.name)
			}
		}
	}
}

func TestSortServes(t *testing.T) {
	in := []string{"payment:refund", "payment:charge", "payment:refund", "payment:charge"}
	got := SortServes(in)
	if want := []string{"payment:charge", "payment:refund"}; !slices.Equal(got, want) {
		t.Errorf("SortServes = %q, want %q", got, want)
	}
	if in[0] != "payment:refund" {
		t.Error("SortServes changed its argument")
	}
	if SortServes(nil) != nil || SortServes([]string{}) != nil {
		t.Error("SortServes of nothing is not nil")
	}
}

// manyActions returns n distinct actions in ascending order.
func manyActions(n int) []string {
	s := make([]string, n)
	for i := range s {
		s[i] = fmt.Sprintf("agent:action%03d", i)
	}
	return s
}

func TestContractRules(t *testing.T) {
	tests := []struct {
		name string
		b    []byte
		msg  string
	}{
		{"unknown scope constraint", set(t, goodContract, "scopes", []string{"payment:charge", "payment:charge:max_10000xyz"}), "contract: scopes[1]: malformed scope"},
		{"upper-case scope", set(t, goodContract, "scopes", []string{"Payment:charge"}), "contract: scopes[0]: "},
		{"no scopes", set(t, goodContract, "scopes", []string{}), "contract: invalid scope list: no scopes"},
		{"duplicate scopes", set(t, goodContract, "scopes", []string{"payment:refund", "payment:refund"}), "contract: scopes[1]: invalid scope list: duplicate"},
		{"33 scopes", set(t, goodContract, "scopes", manyScopes(33)), "contract: invalid scope list: 33 scopes"},
		{"scopes not array", set(t, goodContract, "scopes", "payment:charge"), "contract: scopes: not an array"},
		{"scopes null", set(t, goodContract, "scopes", nil), "contract: scopes: not an array"},
		{"scope not string", set(t, goodContract, "scopes", []any{"payment:charge", 1}), "contract: scopes[1]: not a string"},
		{"scope null", set(t, goodContract, "scopes", []any{nil}), "contract: scopes[0]: not a string"},
		{"bad issuer", set(t, goodContract, "issuer", "did:key:x"), "contract: issuer: malformed did:key"},
		{"bad subject", set(t, goodContract, "subject", ""), "contract: subject: "},
		{"bad audience", set(t, goodContract, "audience", 7), "contract: audience: not a string"},
		{"upper-case id", set(t, goodContract, "id", "0123456789ABCDEF0123456789ABCDEF"), "contract: id: "},
		{"short id", set(t, goodContract, "id", "0123456789abcdef"), "contract: id: "},
		{"long id", set(t, goodContract, "id", "0123456789abcdef0123456789abcdef0"), "contract: id: "},
		{"non-hex id", set(t, goodContract, "id", "0123456789abcdef0123456789abcdeg"), "contract: id: "},
		{"expires before not_before", set(t, goodContract, "expires", "2026-11-26T19:59:59Z"), "contract: expires: not after not_before"},
		{"expires at not_before", set(t, goodContract, "expires", "2026-11-26T20:00:00Z"), "contract: expires: not after not_before"},
		{"ttl over 366 days", set(t, goodContract, "expires", "2027-11-27T20:00:00.000000001Z"), "contract: expires: "},
		{"bad not_before", set(t, goodContract, "not_before", "2026-11-26T20:00:00+01:00"), "contract: not_before: "},
		{"bad expires", set(t, goodContract, "expires", "tomorrow"), "contract: expires: "},
	}
	for _, tt := range tests {
		v, err := ParseContract(tt.b)
		wantInvalid(t, tt.name, v, err, tt.msg)
	}
	// Exactly 366 days (2027 has no 29 February) and 32 scopes are fine.
	b := edit(t, goodContract, func(m map[string]any) {
		m["expires"] = "2027-11-27T20:00:00Z"
		m["scopes"] = manyScopes(32)
	})
	if _, err := ParseContract(b); err != nil {
		t.Errorf("contract of 366 days and 32 scopes: %v", err)
	}
	// A standing grant: the subject is the audience, an agent allowed
	// actions of its own.
	standing := edit(t, goodContract, func(m map[string]any) {
		m["audience"] = m["subject"]
		m["scopes"] = []string{"inventory:restock:max_qty50"}
	})
	if c, err := ParseContract(standing); err != nil || !c.Standing() {
		t.Errorf("standing grant: %v, standing %v", err, err == nil && c.Standing())
	}
	// A standing grant of an action nobody takes on their own initiative
	// would let an agent approve calls nobody made: a payment agent
	// charging for itself.
	selfCharge := edit(t, goodContract, func(m map[string]any) {
		m["audience"] = m["subject"]
		m["scopes"] = []string{"inventory:restock", "payment:charge:max_10000usd"}
	})
	v, err := ParseContract(selfCharge)
	wantInvalid(t, "standing grant of payment:charge", v, err, "contract: scopes[1]: a standing grant")
}

func manyScopes(n int) []string {
	s := make([]string, n)
	for i := range s {
		s[i] = "inventory:reserve:max_qty" + strconv.Itoa(i)
	}
	return s
}

func TestRevocationRules(t *testing.T) {
	for _, reason := range []string{"x", strings.Repeat("é", MaxReasonLen/2), "key\u2028rotated", "😀"} {
		if _, err := ParseRevocation(set(t, goodRevocation, "reason", reason)); err != nil {
			t.Errorf("reason %q: %v", reason, err)
		}
	}
	for name, reason := range map[string]string{
		"empty":   "",
		"513":     strings.Repeat("x", MaxReasonLen+1),
		"newline": "line\nbreak",
		"tab":     "a\tb",
		"nul":     "a\x00b",
		"del":     "a\x7fb",
		"c1":      "a\u0085b",
	} {
		v, err := ParseRevocation(set(t, goodRevocation, "reason", reason))
		wantInvalid(t, "reason "+name, v, err, "revocation: reason: ")
	}
	// Escaped surrogates: a valid pair decodes faithfully; a lone one
	// would silently become U+FFFD, so it is refused.
	pair := strings.Replace(goodRevocation, `"reason":"`, `"reason":"\ud83d\ude00 `, 1)
	if r, err := ParseRevocation([]byte(pair)); err != nil || !strings.HasPrefix(r.Reason, "😀 ") {
		t.Errorf("escaped surrogate pair: %+v, %v", r, err)
	}
	for _, esc := range []string{`\ud83d`, `\ude00`, `\ud83d\u0041`, `\ude00\ud83d`, `\uD800x`} {
		b := strings.Replace(goodRevocation, `"reason":"`, `"reason":"`+esc, 1)
		v, err := ParseRevocation([]byte(b))
		wantInvalid(t, "reason "+esc, v, err, "revocation: reason: escaped lone UTF-16 surrogate")
	}
	// An escaped backslash before "u" is not an escape.
	b := strings.Replace(goodRevocation, `"reason":"`, `"reason":"\\ud800`, 1)
	if _, err := ParseRevocation([]byte(b)); err != nil {
		t.Errorf(`reason \\ud800: %v`, err)
	}
	for name, h := range map[string]any{
		"zero":      "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=",
		"unpadded":  strings.TrimSuffix(hashB64, "="),
		"url":       "-_" + hashB64[2:],
		"short":     hashB64[4:],
		"hex":       strings.Repeat("ab", 32),
		"number":    1,
		"stray bit": hashB64[:42] + "B=",
	} {
		v, err := ParseRevocation(set(t, goodRevocation, "contract", h))
		wantInvalid(t, "contract hash "+name, v, err, "revocation: contract: ")
	}
}

func TestActionRules(t *testing.T) {
	without := func(keys ...string) func(map[string]any) {
		return func(m map[string]any) {
			for _, k := range keys {
				delete(m, k)
			}
		}
	}
	tests := []struct {
		name string
		b    []byte
		msg  string
	}{
		{"amount without currency", edit(t, goodAction, without("currency")), "action: currency: missing with amount"},
		{"currency without amount", edit(t, goodAction, without("amount")), "action: amount: missing with currency"},
		{"empty currency", set(t, goodActionBare, "currency", ""), "action: currency: empty"},
		{"negative amount", set(t, goodAction, "amount", -1), "action: amount: negative"},
		{"fractional amount", []byte(strings.Replace(goodAction, `"amount":1000000`, `"amount":1000000.5`, 1)), "action: amount: not an integer"},
		{"exponent amount", []byte(strings.Replace(goodAction, `"amount":1000000`, `"amount":1e6`, 1)), "action: amount: not an integer"},
		{"overflow amount", []byte(strings.Replace(goodAction, `"amount":1000000`, `"amount":9223372036854775808`, 1)), "action: amount: not an integer"},
		{"string amount", set(t, goodAction, "amount", "100"), "action: amount: not an integer"},
		{"null amount", set(t, goodAction, "amount", nil), "action: amount: not an integer"},
		{"negative quantity", set(t, goodAction, "quantity", -2), "action: quantity: negative"},
		{"unknown currency", set(t, goodAction, "currency", "XYZ"), "action: currency: "},
		{"lower-case currency", set(t, goodAction, "currency", "usd"), "action: currency: "},
		{"bad agent", set(t, goodAction, "agent", "did:key:z6Mk"), "action: agent: "},
		{"bad caller", set(t, goodAction, "caller", didB+" "), "action: caller: "},
		{"action with constraint", set(t, goodAction, "action", "payment:charge:max_10usd"), "action: action: malformed scope"},
		{"upper-case action", set(t, goodAction, "action", "Payment:charge"), "action: action: "},
		{"bare resource", set(t, goodAction, "action", "payment"), "action: action: "},
		{"upper-case digest", set(t, goodAction, "args_digest", "sha256:"+strings.Repeat("AB", 32)), "action: args_digest: "},
		{"short digest", set(t, goodAction, "args_digest", "sha256:"+strings.Repeat("ab", 31)), "action: args_digest: "},
		{"other algorithm", set(t, goodAction, "args_digest", "sha512:"+strings.Repeat("ab", 32)), "action: args_digest: "},
		{"digest without prefix", set(t, goodAction, "args_digest", strings.Repeat("ab", 32)), "action: args_digest: "},
		{"short nonce", set(t, goodAction, "nonce", strings.Repeat("n", MinNonceLen-1)), "action: nonce: "},
		{"long nonce", set(t, goodAction, "nonce", strings.Repeat("n", MaxNonceLen+1)), "action: nonce: "},
		{"nonce with dot", set(t, goodAction, "nonce", "0123456789abcdef."), "action: nonce: "},
		{"nonce with plus", set(t, goodAction, "nonce", "0123456789abcdef+/"), "action: nonce: "},
		{"contract not object", set(t, goodAction, "contract", 7), "action: contract: not a JSON object"},
		{"contract null", set(t, goodAction, "contract", nil), "action: contract: not a JSON object"},
		{"negative index", set(t, goodAction, "contract", map[string]any{"index": -1, "leaf_hash": hashB64}), "action: contract.index: not an integer"},
		{"fractional index", set(t, goodAction, "contract", map[string]any{"index": 1.5, "leaf_hash": hashB64}), "action: contract.index: not an integer"},
		{"bad leaf hash", set(t, goodAction, "contract", map[string]any{"index": 1, "leaf_hash": "x"}), "action: contract.leaf_hash: malformed hash"},
		{"zero leaf hash", set(t, goodAction, "contract", map[string]any{"index": 1, "leaf_hash": "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="}), "action: contract.leaf_hash: missing (zero hash)"},
		{"target not object", set(t, goodAction, "target", 5), "action: target: not a JSON object"},
		{"target null", set(t, goodAction, "target", nil), "action: target: not a JSON object"},
		{"target without hash", set(t, goodAction, "target", map[string]any{"index": 5}), "action: target.leaf_hash: missing"},
		{"target extra field", set(t, goodAction, "target", map[string]any{"index": 5, "leaf_hash": hashB64, "action": "payment:charge"}), `action: target: unknown field "action"`},
		{"negative target", set(t, goodAction, "target", map[string]any{"index": -5, "leaf_hash": hashB64}), "action: target.index: not an integer"},
		{"bad target hash", set(t, goodAction, "target", map[string]any{"index": 5, "leaf_hash": "x"}), "action: target.leaf_hash: malformed hash"},
		{"zero target hash", set(t, goodAction, "target", map[string]any{"index": 5, "leaf_hash": "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="}), "action: target.leaf_hash: missing (zero hash)"},
	}
	for _, tt := range tests {
		v, err := ParseAction(tt.b)
		wantInvalid(t, tt.name, v, err, tt.msg)
	}
	for name, b := range map[string][]byte{
		"zero amount":      set(t, goodAction, "amount", 0),
		"max index":        []byte(strings.Replace(goodAction, `"index":7`, `"index":18446744073709551615`, 1)),
		"JPY":              set(t, goodAction, "currency", "JPY"),
		"zero quantity":    set(t, goodAction, "quantity", 0),
		"longest nonce":    set(t, goodAction, "nonce", strings.Repeat("-", MaxNonceLen)),
		"quantity only":    edit(t, goodAction, without("amount", "currency")),
		"no optional":      edit(t, goodAction, without("amount", "currency", "quantity", "target")),
		"target only":      edit(t, goodAction, without("amount", "currency", "quantity")),
		"max int64 amount": []byte(strings.Replace(goodAction, `"amount":1000000`, `"amount":9223372036854775807`, 1)),
		"own action":       set(t, goodAction, "caller", didC),
	} {
		if _, err := ParseAction(b); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
}

func TestActionRequest(t *testing.T) {
	a, err := ParseAction([]byte(goodAction))
	if err != nil {
		t.Fatal(err)
	}
	want := scope.Request{Action: "payment:charge", Amount: 1000000, Currency: "USD", HasAmount: true, Quantity: 2, HasQuantity: true}
	if got := a.Request(); got != want {
		t.Errorf("Request() = %+v, want %+v", got, want)
	}
	c, err := ParseContract([]byte(goodContract))
	if err != nil {
		t.Fatal(err)
	}
	if d := scope.Grants(c.Scopes, a.Request()); !d.Allowed || d.Scope != "payment:charge:max_10000usd" {
		t.Errorf("Grants(contract, action at the limit) = %+v", d)
	}
	*a.Amount++
	if d := scope.Grants(c.Scopes, a.Request()); d.Allowed || d.Reason != scope.ReasonAmountExceeded {
		t.Errorf("Grants(contract, action a cent over) = %+v", d)
	}

	bare, err := ParseAction([]byte(goodActionBare))
	if err != nil {
		t.Fatal(err)
	}
	want = scope.Request{Action: "inventory:reserve"}
	if got := bare.Request(); got != want {
		t.Errorf("Request() = %+v, want %+v", got, want)
	}
	if d := scope.Grants(c.Scopes, bare.Request()); d.Allowed || d.Reason != scope.ReasonNoScope {
		t.Errorf("Grants(contract, inventory:reserve) = %+v", d)
	}
}

func TestValidAt(t *testing.T) {
	c, err := ParseContract([]byte(goodContract))
	if err != nil {
		t.Fatal(err)
	}
	const skew = 30 * time.Second
	tests := []struct {
		t    time.Time
		skew time.Duration
		want error
	}{
		{c.NotBefore, 0, nil},
		{c.NotBefore.Add(-time.Nanosecond), 0, ErrNotYetValid},
		{c.NotBefore.Add(-skew), skew, nil},
		{c.NotBefore.Add(-skew - time.Nanosecond), skew, ErrNotYetValid},
		{c.NotBefore.Add(-time.Nanosecond), -skew, ErrNotYetValid},
		{c.Expires.Add(-time.Nanosecond), 0, nil},
		{c.Expires, 0, ErrExpired},
		{c.Expires.Add(skew - time.Nanosecond), skew, nil},
		{c.Expires.Add(skew), skew, ErrExpired},
		{c.Expires, -skew, ErrExpired},
		{c.NotBefore.Add(12 * time.Hour).In(time.FixedZone("X", -7*3600)), 0, nil},
	}
	for _, tt := range tests {
		err := c.ValidAt(tt.t, tt.skew)
		if !errors.Is(err, tt.want) || (tt.want == nil) != (err == nil) {
			t.Errorf("ValidAt(%s, %s) = %v, want %v", tt.t, tt.skew, err, tt.want)
		}
	}
}

func TestNewContractID(t *testing.T) {
	id, err := NewContractID(bytes.NewReader(bytes.Repeat([]byte{0xab}, 32)))
	if err != nil || id != strings.Repeat("ab", 16) {
		t.Errorf("NewContractID = %q, %v", id, err)
	}
	if _, err := NewContractID(bytes.NewReader(make([]byte, 15))); err == nil {
		t.Error("NewContractID accepted 15 bytes")
	}
	if _, err := NewContractID(iotest.ErrReader(errors.New("no entropy"))); err == nil || !strings.Contains(err.Error(), "no entropy") {
		t.Errorf("NewContractID(failing reader) = %v", err)
	}
	c, _ := ParseContract([]byte(goodContract))
	c.ID = id
	if _, err := c.Marshal(); err != nil {
		t.Errorf("contract with a new id: %v", err)
	}
}
