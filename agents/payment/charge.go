package payment

import (
	"context"
	"net/http"

	"github.com/agentledger/agentledger/agents/guard"
	"github.com/agentledger/agentledger/agents/jsonapi"
)

// ChargeResponse is the answer to payment:charge. Every retry with the
// same idempotency key gets the same answer; ReceiptIndex is the ledger
// index of the approval under which the charge was first made. A declined
// charge carries Error and Message as well (status 402).
type ChargeResponse struct {
	Error         string `json:"error,omitempty"`
	Message       string `json:"message,omitempty"`
	ChargeID      string `json:"charge_id"`
	OrderID       string `json:"order_id"`
	Status        string `json:"status"`
	DeclineReason string `json:"decline_reason,omitempty"`
	Amount        int64  `json:"amount"`
	Currency      string `json:"currency"`
	CardLast4     string `json:"card_last4"`
	ProcessorID   string `json:"processor_id,omitempty"`
	ReceiptIndex  uint64 `json:"receipt_index"`
}

// ChargeHandler serves payment:charge behind the guard:
//
//	g.Protect(payment.ActionCharge, payment.ChargeValues, svc.ChargeHandler())
//
// It answers 200 with the charge, 402 when the card is declined, 409
// idempotency_conflict when the key was used for a different charge, 400
// for a body it cannot use, 502 when the processor did not answer.
func (s *Service) ChargeHandler() guard.Handler {
	return func(w http.ResponseWriter, r *http.Request, a *guard.Approval) {
		serve(w, s.charge(r.Context(), a))
	}
}

func (s *Service) charge(ctx context.Context, a *guard.Approval) answer {
	rc := s.newReceipt(ActionCharge, a)
	req, err := parseCharge(a.Body)
	if err != nil {
		return s.finish(rc, jsonapi.ReasonBadRequest, badRequest(err))
	}
	rc.Amount, rc.Currency = &req.Amount, req.Currency

	// One charge per idempotency key: retries wait here for the first.
	unlock := s.store.locks.lock("charge/" + a.Caller + "/" + req.IdempotencyKey)
	defer unlock()
	id, err := s.store.byKey("charge", a.Caller, req.IdempotencyKey)
	if err != nil {
		return storeFailed()
	}
	var ch ChargeRecord
	if id != "" {
		if ch, err = s.store.Charge(id); err != nil {
			return storeFailed()
		}
		rc.ChargeID = ch.ID
		if ch.OrderID != req.OrderID || ch.Amount != req.Amount || ch.Currency != req.Currency || ch.CardLast4 != last4(req.Card) {
			return s.finish(rc, ReasonIdempotencyConflict, refuse(http.StatusConflict, ReasonIdempotencyConflict,
				"this idempotency key was used for a different charge"))
		}
		if ch.Status != StatusPending {
			return s.finish(rc, "replayed", chargeAnswer(ch))
		}
		// A pending charge: an earlier attempt did not finish. Ask the
		// processor again under the same key; it dedupes on it.
	} else {
		if ch.ID, err = newID("ch_"); err != nil {
			return storeFailed()
		}
		ch = ChargeRecord{ID: ch.ID, Caller: a.Caller, OrderID: req.OrderID, IdempotencyKey: req.IdempotencyKey,
			Amount: req.Amount, Currency: req.Currency, CardLast4: last4(req.Card), Status: StatusPending,
			ReceiptIndex: a.Receipt.Index, ReceiptLeafHash: a.Receipt.LeafHash.String(), Time: s.now().UTC()}
		rc.ChargeID, rc.Outcome = ch.ID, "pending"
		// The pending charge, its key and the receipt land together
		// before the processor is asked.
		if err := s.store.apply(write{charge: &ch, receipt: &rc, idem: idemKey("charge", a.Caller, req.IdempotencyKey), idemID: ch.ID}); err != nil {
			return storeFailed()
		}
	}

	res, err := s.proc.Charge(ctx, Charge{IdempotencyKey: ch.ID, OrderID: ch.OrderID, Amount: ch.Amount, Currency: ch.Currency, Card: req.Card})
	if err != nil {
		return s.finish(rc, "processor_error", refuse(http.StatusBadGateway, ReasonProcessorUnavailable,
			"the processor did not answer; retry with the same idempotency key"))
	}
	ch.ProcessorID = res.ID
	if res.Approved {
		ch.Status = StatusSucceeded
	} else {
		ch.Status, ch.DeclineReason = StatusDeclined, res.Reason
		if ch.DeclineReason == "" {
			ch.DeclineReason = ReasonCardDeclined
		}
	}
	rc.Outcome = ch.Status
	if err := s.store.apply(write{charge: &ch, receipt: &rc}); err != nil {
		return storeFailed()
	}
	return chargeAnswer(ch)
}

// chargeAnswer is the answer every request with ch's key gets.
func chargeAnswer(ch ChargeRecord) answer {
	resp := ChargeResponse{ChargeID: ch.ID, OrderID: ch.OrderID, Status: ch.Status, Amount: ch.Amount,
		Currency: ch.Currency, CardLast4: ch.CardLast4, ProcessorID: ch.ProcessorID, ReceiptIndex: ch.ReceiptIndex}
	if ch.Status == StatusDeclined {
		resp.Error, resp.Message, resp.DeclineReason = ch.DeclineReason, "the card was declined", ch.DeclineReason
		return answer{http.StatusPaymentRequired, resp}
	}
	return answer{http.StatusOK, resp}
}

func last4(card string) string {
	if len(card) < 4 {
		return ""
	}
	return card[len(card)-4:]
}
