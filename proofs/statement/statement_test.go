package statement

import (
	"bytes"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/agentledger/agentledger/proofs"
	"github.com/agentledger/agentledger/proofs/envelope"
)

func TestRoundTrip(t *testing.T) {
	for _, p := range parsers() {
		v, err := p.parse([]byte(p.good))
		if err != nil {
			t.Fatalf("%s: %v", p.kind, err)
		}
		out, err := p.remarshal([]byte(p.good))
		if err != nil {
			t.Fatalf("%s: Marshal: %v", p.kind, err)
		}
		if string(out) != p.good {
			t.Errorf("%s: Marshal\n got %s\nwant %s", p.kind, out, p.good)
		}
		again, err := p.parse(out)
		if err != nil || !reflect.DeepEqual(again, v) {
			t.Errorf("%s: parse(Marshal) = %+v, %v; want %+v", p.kind, again, err, v)
		}
	}
	out, err := remarshal(ParseAction, []byte(goodActionBare))
	if err != nil || string(out) != goodActionBare {
		t.Errorf("bare action: Marshal\n got %s, %v\nwant %s", out, err, goodActionBare)
	}
}

func TestParseValues(t *testing.T) {
	r, err := ParseRegistration([]byte(goodRegistration))
	if err != nil {
		t.Fatal(err)
	}
	want := &Registration{Name: "order-agent", DID: didA, Risk: RiskLow, Serves: []string{"order:create"}, Time: time.Date(2026, 11, 26, 20, 0, 0, 0, time.UTC)}
	if !reflect.DeepEqual(r, want) {
		t.Errorf("ParseRegistration = %+v, want %+v", r, want)
	}

	c, err := ParseContract([]byte(goodContract))
	if err != nil {
		t.Fatal(err)
	}
	if c.ID != "0123456789abcdef0123456789abcdef" || c.Issuer != didA || c.Subject != didB || c.Audience != didC ||
		!reflect.DeepEqual(c.Scopes, []string{"payment:charge:max_10000usd", "payment:refund"}) ||
		!c.NotBefore.Equal(time.Date(2026, 11, 26, 20, 0, 0, 0, time.UTC)) ||
		!c.Expires.Equal(time.Date(2026, 11, 27, 20, 0, 0, 0, time.UTC)) ||
		!c.Time.Equal(time.Date(2026, 11, 26, 19, 59, 59, 5e8, time.UTC)) {
		t.Errorf("ParseContract = %+v", c)
	}

	h, err := proofs.ParseHash(hashB64)
	if err != nil {
		t.Fatal(err)
	}
	rv, err := ParseRevocation([]byte(goodRevocation))
	if err != nil {
		t.Fatal(err)
	}
	if rv.Contract != h || rv.Reason != `caller key compromised <&> "quoted" ünïcode 😀` {
		t.Errorf("ParseRevocation = %+v", rv)
	}

	a, err := ParseAction([]byte(goodAction))
	if err != nil {
		t.Fatal(err)
	}
	if a.Agent != didC || a.Caller != didB || a.Contract != (ContractRef{7, h}) || a.Action != "payment:charge" ||
		a.Amount == nil || *a.Amount != 1000000 || a.Currency != "USD" || a.Quantity == nil || *a.Quantity != 2 ||
		a.Target == nil || *a.Target != (EntryRef{5, h}) || a.Nonce != "n0nce_ABCDEFGH-1234" || a.Time.Nanosecond() != 123456789 {
		t.Errorf("ParseAction = %+v", a)
	}
	bare, err := ParseAction([]byte(goodActionBare))
	if err != nil {
		t.Fatal(err)
	}
	if bare.Amount != nil || bare.Currency != "" || bare.Quantity != nil || bare.Target != nil {
		t.Errorf("bare action has optional values: %+v", bare)
	}
}

func TestParseDispatch(t *testing.T) {
	for _, tt := range []struct {
		kind    envelope.Kind
		payload string
		want    any
	}{
		{envelope.KindRegistration, goodRegistration, (*Registration)(nil)},
		{envelope.KindContract, goodContract, (*Contract)(nil)},
		{envelope.KindRevocation, goodRevocation, (*Revocation)(nil)},
		{envelope.KindAction, goodAction, (*Action)(nil)},
	} {
		v, err := Parse(tt.kind, []byte(tt.payload))
		if err != nil {
			t.Errorf("Parse(%s): %v", tt.kind, err)
			continue
		}
		if reflect.TypeOf(v) != reflect.TypeOf(tt.want) {
			t.Errorf("Parse(%s) returned %T, want %T", tt.kind, v, tt.want)
		}
		// The wrong kind for the payload is refused.
		for _, other := range []envelope.Kind{envelope.KindRegistration, envelope.KindContract, envelope.KindRevocation, envelope.KindAction} {
			if other == tt.kind {
				continue
			}
			v, err := Parse(other, []byte(tt.payload))
			wantInvalid(t, string(tt.kind)+" as "+string(other), v, err, "unknown field")
		}
	}
	v, err := Parse("policy", []byte(goodRegistration))
	wantInvalid(t, "unknown kind", v, err, "unknown kind")
	if v != nil {
		t.Errorf("unknown kind returned %v", v)
	}
}

func TestMissingFields(t *testing.T) {
	for _, p := range parsers() {
		var keys []string
		edit(t, p.good, func(m map[string]any) {
			for k := range m {
				keys = append(keys, k)
			}
		})
		for _, k := range keys {
			b := edit(t, p.good, func(m map[string]any) { delete(m, k) })
			v, err := p.parse(b)
			if p.kind == kindRegistration && k == "serves" {
				if err != nil {
					t.Errorf("registration without serves: %v", err)
				}
				continue
			}
			if p.kind == kindAction && (k == "amount" || k == "currency" || k == "quantity" || k == "target") {
				if (k == "quantity" || k == "target") && err != nil {
					t.Errorf("action without %s: %v", k, err)
				}
				if k != "quantity" && k != "target" && err == nil {
					t.Errorf("action without %s but with its pair accepted", k)
				}
				continue
			}
			msg := k + ": missing"
			if k == "v" {
				msg = "v: missing"
			}
			wantInvalid(t, p.kind+" without "+k, v, err, p.kind+": "+msg)
		}
	}
	// The nested contract reference.
	for _, k := range []string{"index", "leaf_hash"} {
		b := edit(t, goodAction, func(m map[string]any) { delete(m["contract"].(map[string]any), k) })
		v, err := ParseAction(b)
		wantInvalid(t, "action contract without "+k, v, err, "action: contract."+k+": missing")
	}
	// Both optional pairs absent is fine.
	b := edit(t, goodAction, func(m map[string]any) { delete(m, "amount"); delete(m, "currency") })
	if _, err := ParseAction(b); err != nil {
		t.Errorf("action without amount and currency: %v", err)
	}
}

func TestUnknownFields(t *testing.T) {
	for _, p := range parsers() {
		for _, extra := range []string{"extra", "V", "Time", "time ", "", "amount_usd"} {
			b := set(t, p.good, extra, 1)
			v, err := p.parse(b)
			wantInvalid(t, p.kind+" with field "+extra, v, err, "unknown field")
		}
		// A known field in another case, instead of the real one:
		// encoding/json would match it case-insensitively.
		b := edit(t, p.good, func(m map[string]any) { m["Time"] = m["time"]; delete(m, "time") })
		v, err := p.parse(b)
		wantInvalid(t, p.kind+" with Time for time", v, err, `unknown field "Time"`)
	}
	b := edit(t, goodAction, func(m map[string]any) { m["contract"].(map[string]any)["size"] = 3 })
	v, err := ParseAction(b)
	wantInvalid(t, "action contract with size", v, err, `action: contract: unknown field "size"`)
	b = edit(t, goodAction, func(m map[string]any) {
		c := m["contract"].(map[string]any)
		c["Index"] = c["index"]
		delete(c, "index")
	})
	v, err = ParseAction(b)
	wantInvalid(t, "action contract with Index", v, err, `unknown field "Index"`)
}

func TestDuplicateKeys(t *testing.T) {
	dup := func(s, old, new string) []byte {
		if !strings.Contains(s, old) {
			t.Fatalf("%q not in %s", old, s)
		}
		return []byte(strings.Replace(s, old, new, 1))
	}
	for _, p := range parsers() {
		for name, b := range map[string][]byte{
			"v twice":            dup(p.good, `{"v":1,`, `{"v":1,"v":1,`),
			"v escaped":          dup(p.good, `{"v":1,`, `{"v":1,"\u0076":1,`),
			"time twice":         dup(p.good, `"time":`, `"time":"2020-01-01T00:00:00Z","time":`),
			"time twice, at end": dup(p.good, `Z"}`, `Z","time":"2020-01-01T00:00:00Z"}`),
		} {
			if p.kind == kindAction && name == "time twice, at end" {
				continue // the action's last "Z"} is elsewhere
			}
			v, err := p.parse(b)
			wantInvalid(t, p.kind+": "+name, v, err, "duplicate key")
		}
	}
	for name, b := range map[string][]byte{
		"index twice":     dup(goodAction, `{"index":7,`, `{"index":7,"index":8,`),
		"leaf_hash twice": dup(goodAction, `"leaf_hash":`, `"leaf_hash":"x","leaf_hash":`),
		"contract twice":  dup(goodAction, `"action":`, `"contract":{"index":7,"leaf_hash":"`+hashB64+`"},"action":`),
	} {
		v, err := ParseAction(b)
		wantInvalid(t, "action: "+name, v, err, "duplicate key")
	}
	// The same key in sibling objects is not a duplicate.
	if err := checkSyntax([]byte(`{"a":{"k":1},"b":{"k":1},"c":[{"k":1},{"k":2}]}`)); err != nil {
		t.Errorf("checkSyntax refused sibling keys: %v", err)
	}
	if err := checkSyntax([]byte(`{"a":[{"k":1,"k":2}]}`)); err == nil {
		t.Error("checkSyntax accepted a duplicate inside an array")
	}
}

func TestVersion(t *testing.T) {
	for _, p := range parsers() {
		for name, b := range map[string][]byte{
			"v 2":        set(t, p.good, "v", 2),
			"v 0":        set(t, p.good, "v", 0),
			"v string":   set(t, p.good, "v", "1"),
			"v null":     set(t, p.good, "v", nil),
			"v 1.0":      []byte(strings.Replace(p.good, `{"v":1,`, `{"v":1.0,`, 1)),
			"v 1e0":      []byte(strings.Replace(p.good, `{"v":1,`, `{"v":1e0,`, 1)),
			"v true":     set(t, p.good, "v", true),
			"v missing":  edit(t, p.good, func(m map[string]any) { delete(m, "v") }),
			"v overflow": []byte(strings.Replace(p.good, `{"v":1,`, `{"v":99999999999999999999,`, 1)),
		} {
			v, err := p.parse(b)
			wantInvalid(t, p.kind+": "+name, v, err, p.kind+": v: ")
		}
	}
}

func TestBadTimes(t *testing.T) {
	for _, s := range []string{
		"", "2026-11-26 20:00:00", "2026-11-26T20:00:00", "2026-11-26T20:00:00+01:00",
		"2026-11-26T20:00:00+00:00", "2026-11-26T20:00:00-00:00", "2026-11-26T20:00:00z",
		"2026-11-26t20:00:00Z", "2026-11-26T20:00:00.Z", "2026-11-26T20:00:00,5Z",
		"2026-11-26T20:00:00.1234567890Z", "2026-13-26T20:00:00Z", "2026-02-30T20:00:00Z",
		"2026-11-26T24:00:00Z", "2026-11-26T20:60:00Z", "2026-11-26T20:00:60Z",
		"26-11-26T20:00:00Z", "+2026-11-26T20:00:00Z", "2026-11-26T20:00:00Z ", " 2026-11-26T20:00:00Z",
		"2026-11-26", "1764187200", "0001-01-01T00:00:00Z", "2026-11-26T20:00:00.000000000000000000000000Z",
	} {
		for _, p := range parsers() {
			b := set(t, p.good, "time", s)
			v, err := p.parse(b)
			wantInvalid(t, p.kind+" time "+s, v, err, p.kind+": time: ")
		}
	}
	for _, s := range []string{"2026-11-26T20:00:00Z", "2026-11-26T20:00:00.5Z", "2026-11-26T20:00:00.000Z", "0000-01-01T00:00:00Z", "9999-12-31T23:59:59.999999999Z"} {
		if _, err := ParseRegistration(set(t, goodRegistration, "time", s)); err != nil {
			t.Errorf("time %s: %v", s, err)
		}
	}
	// A time as a number is refused.
	v, err := ParseRegistration(set(t, goodRegistration, "time", 1764187200))
	wantInvalid(t, "numeric time", v, err, "registration: time: not a string")
}

func TestMalformedJSON(t *testing.T) {
	g := goodRegistration
	for name, b := range map[string]string{
		"empty":            "",
		"whitespace":       "  ",
		"null":             "null",
		"array":            "[" + g + "]",
		"string":           `"x"`,
		"trailing object":  g + "{}",
		"trailing garbage": g + "x",
		"two statements":   g + g,
		"truncated":        g[:len(g)-1],
		"bad utf-8":        strings.Replace(g, "order-agent", "order-\xff", 1),
		"null field":       strings.Replace(g, `"risk":"low"`, `"risk":null`, 1),
		"deep":             strings.Replace(g, `"risk":"low"`, `"risk":"low","x":`+strings.Repeat("[", 20)+strings.Repeat("]", 20), 1),
		"comment":          strings.Replace(g, `{"v":1,`, `{/**/"v":1,`, 1),
		"single quotes":    strings.Replace(g, `"risk":"low"`, `'risk':'low'`, 1),
		"oversize":         g + strings.Repeat(" ", MaxPayloadSize),
	} {
		v, err := ParseRegistration([]byte(b))
		wantInvalid(t, name, v, err)
	}
	// Insignificant whitespace and field order are accepted.
	spaced := "\n { \"time\" : \"2026-11-26T20:00:00Z\", \"risk\":\"low\",\t\"did\":\"" + didA + "\", \"serves\": [ \"order:create\" ], \"name\":\"order-agent\", \"v\":1 }\r\n"
	r, err := ParseRegistration([]byte(spaced))
	if err != nil {
		t.Fatal(err)
	}
	if out, _ := r.Marshal(); string(out) != goodRegistration {
		t.Errorf("Marshal of reordered registration = %s", out)
	}
}

func TestOversize(t *testing.T) {
	// A statement just over the limit is refused, however it is made up.
	reason := strings.Repeat("x", MaxPayloadSize)
	v, err := ParseRevocation(set(t, goodRevocation, "reason", reason))
	wantInvalid(t, "oversize revocation", v, err, "limit 16384")
	pad := strings.Repeat(" ", MaxPayloadSize-len(goodAction))
	if _, err := ParseAction([]byte(goodAction + pad)); err != nil {
		t.Errorf("action of exactly MaxPayloadSize bytes: %v", err)
	}
	a, err := ParseAction([]byte(goodAction + pad + " "))
	wantInvalid(t, "action one byte over", a, err, "limit 16384")
}

func TestMarshalRefusesInvalid(t *testing.T) {
	r, _ := ParseRegistration([]byte(goodRegistration))
	r.Risk = "extreme"
	if _, err := r.Marshal(); err == nil {
		t.Error("Marshal accepted risk extreme")
	}
	c, _ := ParseContract([]byte(goodContract))
	c.Scopes = append(c.Scopes, "payment:charge:max_1xyz")
	if _, err := c.Marshal(); err == nil {
		t.Error("Marshal accepted a bad scope")
	}
	rv, _ := ParseRevocation([]byte(goodRevocation))
	rv.Contract = proofs.Hash{}
	if _, err := rv.Marshal(); err == nil {
		t.Error("Marshal accepted a zero hash")
	}
	rv, _ = ParseRevocation([]byte(goodRevocation))
	rv.Reason = "bad \xff utf-8"
	if _, err := rv.Marshal(); err == nil {
		t.Error("Marshal accepted invalid UTF-8")
	}
	a, _ := ParseAction([]byte(goodAction))
	a.Time = time.Time{}
	if _, err := a.Marshal(); err == nil {
		t.Error("Marshal accepted a zero time")
	}
	a, _ = ParseAction([]byte(goodAction))
	a.Time = time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC)
	if _, err := a.Marshal(); err == nil {
		t.Error("Marshal accepted year 10000")
	}
}

func TestMarshalTimeInUTC(t *testing.T) {
	zone := time.FixedZone("CET", 3600)
	r := &Registration{Name: "payment-agent", DID: didA, Risk: RiskHigh, Time: time.Date(2026, 11, 26, 21, 0, 0, 1000, zone)}
	out, err := r.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	want := `{"v":1,"name":"payment-agent","did":"` + didA + `","risk":"high","time":"2026-11-26T20:00:00.000001Z"}`
	if string(out) != want {
		t.Errorf("Marshal = %s, want %s", out, want)
	}
	back, err := ParseRegistration(out)
	if err != nil || !back.Time.Equal(r.Time) {
		t.Errorf("ParseRegistration(Marshal) = %+v, %v", back, err)
	}
}

func TestNoAliasing(t *testing.T) {
	b := []byte(goodContract)
	c, err := ParseContract(b)
	if err != nil {
		t.Fatal(err)
	}
	want := c.Scopes[0]
	for i := range b {
		b[i] = 'x'
	}
	if c.Scopes[0] != want || !bytes.Contains([]byte(c.Issuer), []byte("did:key:")) {
		t.Error("parsed contract aliases its input")
	}
}
