package payment

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/dgraph-io/badger/v4"
)

const chargeBody = `{"order_id":"ord-1","idempotency_key":"key-1","amount":2500,"currency":"USD","card":"4242424242424242"}`

func TestChargeIdempotentUnderConcurrentRetries(t *testing.T) {
	w := newWorld(t)
	const n = 10
	var wg sync.WaitGroup
	codes := make([]int, n)
	answers := make([][]byte, n)
	approvals := make([]int, n)
	for i := range n {
		a := w.approve(ActionCharge, []byte(chargeBody)) // each retry is a fresh approval
		approvals[i] = int(a.Receipt.Index)
		wg.Add(1)
		go func() {
			defer wg.Done()
			rec := newRecorder()
			w.svc.ChargeHandler()(rec, httptest.NewRequest(http.MethodPost, "/", nil), a)
			codes[i], answers[i] = rec.Code, rec.Body.Bytes()
		}()
	}
	wg.Wait()
	if got := w.proc.ChargeCalls(); got != 1 {
		t.Fatalf("processor charged %d times, want 1", got)
	}
	for i := range n {
		if codes[i] != http.StatusOK || !bytes.Equal(answers[i], answers[0]) {
			t.Fatalf("retry %d: %d %s, want 200 %s", i, codes[i], answers[i], answers[0])
		}
	}
	if !strings.Contains(string(answers[0]), `"status":"succeeded"`) {
		t.Fatalf("answer %s", answers[0])
	}
	var charges int
	if err := w.svc.store.Charges(func(ChargeRecord) error { charges++; return nil }); err != nil || charges != 1 {
		t.Fatalf("%d charge records (%v), want 1", charges, err)
	}
	// Every approval, first or retry, is accounted for.
	if rep := w.svc.Reconcile(context.Background(), w.ledger); !rep.Clean() || rep.Actions != n || rep.Receipts != n {
		t.Fatalf("reconcile: %+v", rep)
	}
}

func TestChargeIdempotentAcrossReopen(t *testing.T) {
	w := newWorld(t)
	code, first := w.charge(chargeBody)
	if code != http.StatusOK || first.Status != StatusSucceeded || first.ChargeID == "" || first.ReceiptIndex != 1 {
		t.Fatalf("first charge: %d %+v", code, first)
	}
	w.reopen()
	code, again := w.charge(chargeBody)
	if code != http.StatusOK || again != first {
		t.Fatalf("retry after reopen: %d %+v, want %+v", code, again, first)
	}
	if got := w.proc.ChargeCalls(); got != 0 {
		t.Fatalf("processor called %d times after reopen, want 0", got)
	}
}

func TestChargeIdempotencyConflict(t *testing.T) {
	w := newWorld(t)
	if code, _ := w.charge(chargeBody); code != http.StatusOK {
		t.Fatal(code)
	}
	for _, body := range []string{
		strings.Replace(chargeBody, `"amount":2500`, `"amount":2501`, 1),
		strings.Replace(chargeBody, `"USD"`, `"EUR"`, 1),
		strings.Replace(chargeBody, `"ord-1"`, `"ord-2"`, 1),
	} {
		code, b := w.call(ActionCharge, []byte(body))
		if code != http.StatusConflict || !strings.Contains(string(b), `"error":"idempotency_conflict"`) {
			t.Fatalf("%s: %d %s", body, code, b)
		}
	}
	if got := w.proc.ChargeCalls(); got != 1 {
		t.Fatalf("processor called %d times", got)
	}
	// Another caller's key is its own.
	if rep := w.svc.Reconcile(context.Background(), w.ledger); !rep.Clean() {
		t.Fatalf("reconcile: %+v", rep)
	}
}

func TestChargeDeclined(t *testing.T) {
	w := newWorld(t)
	for card, reason := range map[string]string{CardDeclined: "card_declined", CardInsufficientFunds: "insufficient_funds"} {
		body := fmt.Sprintf(`{"order_id":"ord-%s","idempotency_key":"k-%s","amount":100,"currency":"EUR","card":"%s"}`, reason, reason, card)
		for range 2 { // the retry gets the same answer, without the processor
			code, resp := w.charge(body)
			if code != http.StatusPaymentRequired || resp.Error != reason || resp.DeclineReason != reason || resp.Status != StatusDeclined {
				t.Fatalf("%s: %d %+v", card, code, resp)
			}
			ch, err := w.svc.store.Charge(resp.ChargeID)
			if err != nil || ch.Status != StatusDeclined || ch.DeclineReason != reason || ch.CardLast4 != card[12:] {
				t.Fatalf("record %+v %v", ch, err)
			}
		}
	}
	if got := w.proc.ChargeCalls(); got != 2 {
		t.Fatalf("processor called %d times, want 2", got)
	}
}

func TestBadBodies(t *testing.T) {
	for _, body := range []string{
		`{}`, `not json`, `{"order_id":"o","idempotency_key":"k","amount":-1,"currency":"USD","card":"4242424242424242"}`,
		`{"order_id":"o","idempotency_key":"k","amount":1.5,"currency":"USD","card":"4242424242424242"}`,
		`{"order_id":"o","idempotency_key":"k","amount":1,"currency":"usd","card":"4242424242424242"}`,
		`{"order_id":"o","idempotency_key":"k/x","amount":1,"currency":"USD","card":"4242424242424242"}`,
		`{"order_id":"o","idempotency_key":"k","amount":1,"currency":"USD","card":"4242"}`,
		`{"order_id":"o","idempotency_key":"k","amount":1,"currency":"USD","card":"4242424242424242","x":1}`,
		`{"order_id":"o","idempotency_key":"k","amount":1,"currency":"USD","card":"4242424242424242"} {}`,
		`{"order_id":"o","idempotency_key":"k","amount":1,"currency":"USD","card":"` + strings.Repeat("4", MaxBody) + `"}`,
	} {
		if _, err := ChargeValues(nil, []byte(body)); err == nil {
			t.Errorf("ChargeValues accepted %.80s", body)
		}
	}
	req, err := ChargeValues(nil, []byte(chargeBody))
	if err != nil || !req.HasAmount || req.Amount != 2500 || req.Currency != "USD" {
		t.Fatalf("%+v %v", req, err)
	}
	req, err = RefundValues(nil, []byte(`{"charge_id":"ch_1","amount":7,"currency":"JPY","idempotency_key":"r"}`))
	if err != nil || req.Amount != 7 || req.Currency != "JPY" {
		t.Fatalf("%+v %v", req, err)
	}
	if _, err := RefundValues(nil, []byte(`{"charge_id":"ch_1","amount":0,"currency":"JPY","idempotency_key":"r"}`)); err == nil {
		t.Fatal("zero refund accepted")
	}
	// A handler given a body the guard would refuse answers 400 and
	// still records what it did with the approval.
	w := newWorld(t)
	if code, b := w.call(ActionCharge, []byte(`{}`)); code != http.StatusBadRequest {
		t.Fatalf("%d %s", code, b)
	}
	if rep := w.svc.Reconcile(context.Background(), w.ledger); !rep.Clean() || rep.Receipts != 1 {
		t.Fatalf("reconcile: %+v", rep)
	}
}

func refundBody(chargeID string, amount int64, key string) string {
	return fmt.Sprintf(`{"charge_id":%q,"amount":%d,"currency":"USD","idempotency_key":%q}`, chargeID, amount, key)
}

func TestRefunds(t *testing.T) {
	w := newWorld(t)
	_, ch := w.charge(chargeBody) // 2500 USD
	code, r1 := w.refund(refundBody(ch.ChargeID, 1000, "r1"))
	if code != http.StatusOK || r1.Status != StatusSucceeded || r1.Amount != 1000 {
		t.Fatalf("partial refund: %d %+v", code, r1)
	}
	// A retry answers the same, without the processor.
	if code, again := w.refund(refundBody(ch.ChargeID, 1000, "r1")); code != http.StatusOK || again != r1 {
		t.Fatalf("retry: %d %+v", code, again)
	}
	// The same key for another refund.
	if code, resp := w.refund(refundBody(ch.ChargeID, 999, "r1")); code != http.StatusConflict || resp.Error != "idempotency_conflict" {
		t.Fatalf("conflict: %d %+v", code, resp)
	}
	// More than what remains (1500).
	if code, resp := w.refund(refundBody(ch.ChargeID, 1501, "r2")); code != http.StatusConflict || resp.Error != "refund_exceeds_charge" {
		t.Fatalf("over-refund: %d %+v", code, resp)
	}
	if code, resp := w.refund(refundBody(ch.ChargeID, 1500, "r3")); code != http.StatusOK || resp.Status != StatusSucceeded {
		t.Fatalf("rest: %d %+v", code, resp)
	}
	if code, resp := w.refund(refundBody(ch.ChargeID, 1, "r4")); code != http.StatusConflict || resp.Error != "refund_exceeds_charge" {
		t.Fatalf("after full refund: %d %+v", code, resp)
	}
	if code, resp := w.refund(`{"charge_id":"` + ch.ChargeID + `","amount":1,"currency":"EUR","idempotency_key":"r5"}`); code != http.StatusConflict || resp.Error != "currency_mismatch" {
		t.Fatalf("currency: %d %+v", code, resp)
	}
	if code, resp := w.refund(refundBody("ch_nope", 1, "r6")); code != http.StatusNotFound || resp.Error != "refund_not_your_charge" {
		t.Fatalf("unknown charge: %d %+v", code, resp)
	}
	_, declined := w.charge(`{"order_id":"o2","idempotency_key":"k2","amount":100,"currency":"USD","card":"4000000000000002"}`)
	if code, resp := w.refund(refundBody(declined.ChargeID, 1, "r7")); code != http.StatusConflict || resp.Error != "charge_not_refundable" {
		t.Fatalf("declined charge: %d %+v", code, resp)
	}
	if got := w.proc.RefundCalls(); got != 2 {
		t.Fatalf("processor refunded %d times, want 2", got)
	}
	rec, err := w.svc.store.Charge(ch.ChargeID)
	if err != nil || rec.Refunded != 2500 {
		t.Fatalf("charge %+v %v", rec, err)
	}
	if rep := w.svc.Reconcile(context.Background(), w.ledger); !rep.Clean() {
		t.Fatalf("reconcile: %+v", rep)
	}
}

func TestConcurrentRefundsNeverExceedCharge(t *testing.T) {
	w := newWorld(t)
	_, ch := w.charge(chargeBody) // 2500
	before := len(w.entries)
	var wg sync.WaitGroup
	var mu sync.Mutex
	ok := 0
	for i := range 10 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if code, _ := w.call(ActionRefund, []byte(refundBody(ch.ChargeID, 1000, fmt.Sprint("r", i)))); code == http.StatusOK {
				mu.Lock()
				ok++
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if ok != 2 || w.proc.RefundCalls() != 2 {
		t.Fatalf("%d refunds succeeded, %d processor calls; want 2", ok, w.proc.RefundCalls())
	}
	// The refused eight were refused before their approval was recorded.
	if n := len(w.entries) - before; n != 2 {
		t.Fatalf("%d refund entries in the ledger, want 2", n)
	}
	if rep := w.svc.Reconcile(context.Background(), w.ledger); !rep.Clean() {
		t.Fatalf("reconcile: %s", dump(rep))
	}
}

func TestNoCardNumberStored(t *testing.T) {
	w := newWorld(t)
	cards := []string{"4242424242424242", CardDeclined, CardInsufficientFunds, "5555555555554444"}
	for i, card := range cards {
		body := fmt.Sprintf(`{"order_id":"o%d","idempotency_key":"k%d","amount":100,"currency":"USD","card":"%s"}`, i, i, card)
		w.charge(body)
		w.charge(body)                                                                         // a retry
		w.call(ActionCharge, []byte(strings.Replace(body, `"amount":100`, `"amount":101`, 1))) // a conflict
	}
	w.call(ActionCharge, []byte(`{"order_id":"o","idempotency_key":"kk","amount":100,"currency":"USD","card":"4111111111111111","x":1}`))
	cards = append(cards, "4111111111111111")
	err := w.db.View(func(txn *badger.Txn) error {
		it := txn.NewIterator(badger.DefaultIteratorOptions)
		defer it.Close()
		n := 0
		for it.Rewind(); it.Valid(); it.Next() {
			n++
			k := it.Item().KeyCopy(nil)
			v, err := it.Item().ValueCopy(nil)
			if err != nil {
				return err
			}
			for _, card := range cards {
				// Neither the number nor its first twelve digits.
				if bytes.Contains(v, []byte(card[:12])) || bytes.Contains(k, []byte(card[:12])) {
					t.Errorf("card %s stored under %s: %s", card, k, v)
				}
			}
			if !bytes.HasPrefix(k, []byte("payment/")) {
				t.Errorf("key %s outside payment/", k)
			}
		}
		if n == 0 {
			t.Error("nothing stored")
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
