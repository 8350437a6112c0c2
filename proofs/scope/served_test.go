package scope

import "testing"

func TestUnserved(t *testing.T) {
	served := []string{"payment:charge", "payment:refund"}
	for _, tt := range []struct {
		scopes []string
		want   string
	}{
		{[]string{"payment:charge:max_10000usd", "payment:refund"}, ""},
		{[]string{"payment:charge"}, ""},
		{[]string{"paymnt:charge:max_10000usd"}, "paymnt:charge:max_10000usd"},
		{[]string{"payment:charge", "payment:chrage"}, "payment:chrage"},
		{[]string{"payment:chargeback"}, "payment:chargeback"},
		{[]string{"payment:charge:max_10000xyz"}, "payment:charge:max_10000xyz"},
		{[]string{"Payment:charge"}, "Payment:charge"},
	} {
		got, ok := Unserved(tt.scopes, served)
		if ok != (tt.want != "") || got != tt.want {
			t.Errorf("Unserved(%q) = %q, %v; want %q", tt.scopes, got, ok, tt.want)
		}
	}
	if got, ok := Unserved([]string{"order:create"}, nil); !ok || got != "order:create" {
		t.Errorf("a callee that serves nothing: Unserved = %q, %v", got, ok)
	}
	if _, ok := Unserved(nil, nil); ok {
		t.Error("no scopes: nothing unserved")
	}
}

func TestServes(t *testing.T) {
	served := []string{"inventory:check", "inventory:reserve"}
	for action, want := range map[string]bool{
		"inventory:check": true, "inventory:reserve": true,
		"inventory:release": false, "inventory": false, "inventory:reserve:max_qty5": false, "": false,
	} {
		if got := Serves(served, action); got != want {
			t.Errorf("Serves(%q) = %v, want %v", action, got, want)
		}
	}
	if Serves(nil, "inventory:check") {
		t.Error("an empty list serves nothing")
	}
}
