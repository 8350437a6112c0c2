package fulfillment

import (
	"net/http"
	"strings"
	"testing"
)

func TestLabelDeterministicAndIdempotent(t *testing.T) {
	dir := t.TempDir()
	db := openDB(t, dir)
	s, err := NewService(db, Config{})
	if err != nil {
		t.Fatal(err)
	}
	body := mustJSON(t, labelBody("order-1"))
	var first LabelResponse
	if code := call(t, s.Label, body, 11, &first); code != http.StatusOK {
		t.Fatalf("label: %d", code)
	}
	if first.Carrier != Carrier || first.TrackingNumber != TrackingNumber("order-1") || first.ReceiptIndex != 11 {
		t.Fatalf("label = %+v", first)
	}
	if TrackingNumber("order-1") == TrackingNumber("order-2") {
		t.Fatal("tracking numbers of two orders collide")
	}
	l, err := s.Store().Label("order-1")
	if err != nil {
		t.Fatal(err)
	}
	if l.Address.Lines[0] != street || l.Address.PostalCode != postalCode || l.Name.Last != lastName || len(l.Items) != 2 {
		t.Fatalf("label does not hold the full address: %+v", l)
	}
	// A retry (another approval) returns the stored label.
	var again LabelResponse
	if code := call(t, s.Label, body, 12, &again); code != http.StatusOK || again != first {
		t.Fatalf("retry: %d %+v, want %+v", code, again, first)
	}
	// The same order with another address is a conflict.
	other := labelBody("order-1")
	other["address"].(map[string]any)["city"] = "Paris"
	if code := call(t, s.Label, mustJSON(t, other), 13, nil); code != http.StatusConflict {
		t.Fatalf("conflicting label: %d, want 409", code)
	}
	// After a reopen, still the same label.
	db.Close()
	db = openDB(t, dir)
	defer db.Close()
	s, err = NewService(db, Config{})
	if err != nil {
		t.Fatal(err)
	}
	var reopened LabelResponse
	if code := call(t, s.Label, body, 14, &reopened); code != http.StatusOK || reopened != first {
		t.Fatalf("after reopen: %d %+v, want %+v", code, reopened, first)
	}
	l2, err := s.Store().Label("order-1")
	if err != nil || l2.ID != l.ID {
		t.Fatalf("label after reopen: %+v %v", l2, err)
	}
}

func TestLabelRefusals(t *testing.T) {
	s, db := newService(t, Config{})
	mod := func(f func(m map[string]any)) []byte {
		m := labelBody("order-9")
		f(m)
		return mustJSON(t, m)
	}
	manyItems := make([]map[string]any, MaxItems+1)
	for i := range manyItems {
		manyItems[i] = map[string]any{"sku": "SKU-" + strings.Repeat("x", i%5) + string(rune('a'+i%26)) + string(rune('a'+i/26)), "qty": 1}
	}
	cases := map[string]struct {
		body []byte
		code int
	}{
		"too large": {mod(func(m map[string]any) {
			m["address"].(map[string]any)["lines"] = []string{strings.Repeat("a", MaxRequestBytes)}
		}), http.StatusRequestEntityTooLarge},
		"too many items":  {mod(func(m map[string]any) { m["items"] = manyItems }), http.StatusBadRequest},
		"no items":        {mod(func(m map[string]any) { m["items"] = []any{} }), http.StatusBadRequest},
		"zero qty":        {mod(func(m map[string]any) { m["items"] = []map[string]any{{"sku": "A", "qty": 0}} }), http.StatusBadRequest},
		"huge qty":        {mod(func(m map[string]any) { m["items"] = []map[string]any{{"sku": "A", "qty": MaxQty + 1}} }), http.StatusBadRequest},
		"sku twice":       {mod(func(m map[string]any) { m["items"] = []map[string]any{{"sku": "A", "qty": 1}, {"sku": "A", "qty": 2}} }), http.StatusBadRequest},
		"order id path":   {mod(func(m map[string]any) { m["order_id"] = "../payment/x" }), http.StatusBadRequest},
		"order id long":   {mod(func(m map[string]any) { m["order_id"] = strings.Repeat("o", maxIDLen+1) }), http.StatusBadRequest},
		"first name long": {mod(func(m map[string]any) { m["name"] = map[string]any{"first": strings.Repeat("n", maxNameChars+1)} }), http.StatusBadRequest},
		"no first name":   {mod(func(m map[string]any) { m["name"] = map[string]any{"last": "X"} }), http.StatusBadRequest},
		"control in line": {mod(func(m map[string]any) { m["address"].(map[string]any)["lines"] = []string{"a\nb"} }), http.StatusBadRequest},
		"bidi in city":    {mod(func(m map[string]any) { m["address"].(map[string]any)["city"] = "Lon\u202edon" }), http.StatusBadRequest},
		"too many lines":  {mod(func(m map[string]any) { m["address"].(map[string]any)["lines"] = []string{"a", "b", "c", "d", "e"} }), http.StatusBadRequest},
		"bad country":     {mod(func(m map[string]any) { m["address"].(map[string]any)["country"] = "gb" }), http.StatusBadRequest},
		"unknown field":   {mod(func(m map[string]any) { m["card_number"] = cardNumber }), http.StatusBadRequest},
		"trailing data":   {append(mustJSON(t, labelBody("order-9")), []byte(`{}`)...), http.StatusBadRequest},
		"not json":        {[]byte(`order-9`), http.StatusBadRequest},
		"long postal code": {mod(func(m map[string]any) {
			m["address"].(map[string]any)["postal_code"] = strings.Repeat("1", maxPostalChars+1)
		}), http.StatusBadRequest},
	}
	before := dump(t, db)
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			if code := call(t, s.Label, c.body, 1, nil); code != c.code {
				t.Fatalf("code %d, want %d", code, c.code)
			}
			if _, err := LabelValues(nil, c.body); err == nil {
				t.Fatal("LabelValues accepted it")
			}
		})
	}
	if after := dump(t, db); len(after) != len(before) {
		t.Fatalf("refused requests changed the store: %v", keys(after))
	}
	sr, err := LabelValues(nil, mustJSON(t, labelBody("order-9")))
	if err != nil || !sr.HasQuantity || sr.Quantity != 3 {
		t.Fatalf("LabelValues = %+v, %v", sr, err)
	}
}

func TestNotifyRefusals(t *testing.T) {
	s, db := newService(t, Config{})
	mod := func(f func(m map[string]any)) []byte {
		m := notifyBody("order-5", "")
		f(m)
		return mustJSON(t, m)
	}
	cases := map[string]struct {
		body []byte
		code int
	}{
		// There is no field for the address, the last name or payment data.
		"address":         {mod(func(m map[string]any) { m["address"] = map[string]any{"lines": []string{street}} }), http.StatusBadRequest},
		"last name":       {mod(func(m map[string]any) { m["last_name"] = lastName }), http.StatusBadRequest},
		"card":            {mod(func(m map[string]any) { m["card_number"] = cardNumber }), http.StatusBadRequest},
		"note too long":   {mod(func(m map[string]any) { m["note"] = strings.Repeat("n", MaxNoteChars+1) }), http.StatusBadRequest},
		"note control":    {mod(func(m map[string]any) { m["note"] = "hi\x1b[2J" }), http.StatusBadRequest},
		"no first name":   {mod(func(m map[string]any) { m["first_name"] = " " }), http.StatusBadRequest},
		"bad tracking":    {mod(func(m map[string]any) { m["tracking_number"] = "a b" }), http.StatusBadRequest},
		"no carrier":      {mod(func(m map[string]any) { m["carrier"] = "" }), http.StatusBadRequest},
		"no items":        {mod(func(m map[string]any) { delete(m, "items") }), http.StatusBadRequest},
		"too large":       {mod(func(m map[string]any) { m["pad"] = strings.Repeat("p", MaxRequestBytes) }), http.StatusRequestEntityTooLarge},
		"order id in key": {mod(func(m map[string]any) { m["order_id"] = "a/b" }), http.StatusBadRequest},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			if code := call(t, s.Notify, c.body, 1, nil); code != c.code {
				t.Fatalf("code %d, want %d", code, c.code)
			}
			if _, err := NotifyValues(nil, c.body); err == nil {
				t.Fatal("NotifyValues accepted it")
			}
		})
	}
	if n := len(dump(t, db)); n != 0 {
		t.Fatalf("refused requests stored %d keys", n)
	}
}

func TestNotifyTemplate(t *testing.T) {
	s, _ := newService(t, Config{})
	var res NotifyResponse
	if code := call(t, s.Notify, mustJSON(t, notifyBody("order-1", "please ring twice")), 21, &res); code != http.StatusOK {
		t.Fatalf("notify: %d", code)
	}
	want, _ := Template{}.Message(t.Context(), MessageInput{FirstName: "Ada",
		Items: []Item{{"GADGET-7", 1}, {"WIDGET-1", 2}}, Carrier: Carrier, TrackingNumber: TrackingNumber("order-1")})
	if res.Source != SourceTemplate || res.Text != want || res.To != "Ada" || res.ReceiptIndex != 21 {
		t.Fatalf("notify = %+v, want text %q", res, want)
	}
	if !strings.Contains(want, "Ada") || !strings.Contains(want, TrackingNumber("order-1")) || strings.Contains(want, "ring twice") {
		t.Fatalf("template text %q", want)
	}
	m, err := s.Store().Message("order-1")
	if err != nil || m.Text != want || m.Source != SourceTemplate || m.To != "Ada" || m.ReceiptIndex != 21 {
		t.Fatalf("outbox: %+v %v", m, err)
	}
}

func TestNotifyIdempotent(t *testing.T) {
	f := newFakeModel(t, "Hello Ada, your parcel is on its way.")
	dir := t.TempDir()
	db := openDB(t, dir)
	s, err := NewService(db, Config{Notifier: newLLM(t, f, 0)})
	if err != nil {
		t.Fatal(err)
	}
	body := mustJSON(t, notifyBody("order-2", "leave at the door"))
	var first, again NotifyResponse
	if code := call(t, s.Notify, body, 31, &first); code != http.StatusOK || first.Source != SourceLLM {
		t.Fatalf("notify: %d %+v", code, first)
	}
	f.set(func(f *fakeModel) { f.content = "A different answer." })
	if code := call(t, s.Notify, body, 32, &again); code != http.StatusOK || again != first {
		t.Fatalf("retry: %d %+v, want %+v", code, again, first)
	}
	if n := len(f.received()); n != 1 {
		t.Fatalf("the model was asked %d times, want 1", n)
	}
	if code := call(t, s.Notify, mustJSON(t, notifyBody("order-2", "another note")), 33, nil); code != http.StatusConflict {
		t.Fatalf("conflicting notify: %d, want 409", code)
	}
	db.Close()
	db = openDB(t, dir)
	defer db.Close()
	if s, err = NewService(db, Config{Notifier: newLLM(t, f, 0)}); err != nil {
		t.Fatal(err)
	}
	if code := call(t, s.Notify, body, 34, &again); code != http.StatusOK || again != first {
		t.Fatalf("after reopen: %d %+v, want %+v", code, again, first)
	}
	if out, err := s.Store().Outbox(); err != nil || len(out) != 1 {
		t.Fatalf("outbox: %d messages, %v", len(out), err)
	}
	if n := len(f.received()); n != 1 {
		t.Fatalf("the model was asked %d times, want 1", n)
	}
}
