package payment

import (
	"context"
	"errors"
	"net/http"

	"github.com/agentledger/agentledger/agents/guard"
	"github.com/agentledger/agentledger/agents/jsonapi"
)

// RefundResponse is the answer to payment:refund. Every retry with the
// same idempotency key gets the same answer. Refundable is what remained
// refundable on the charge after this refund.
type RefundResponse struct {
	Error         string `json:"error,omitempty"`
	Message       string `json:"message,omitempty"`
	RefundID      string `json:"refund_id"`
	ChargeID      string `json:"charge_id"`
	Status        string `json:"status"`
	FailureReason string `json:"failure_reason,omitempty"`
	Amount        int64  `json:"amount"`
	Currency      string `json:"currency"`
	ProcessorID   string `json:"processor_id,omitempty"`
	ReceiptIndex  uint64 `json:"receipt_index"`
}

// RefundHandler serves payment:refund behind the guard:
//
//	g.Protect(payment.ActionRefund, payment.RefundValues, svc.RefundHandler())
//
// It refunds at most the charged amount minus what is already refunded
// (or being refunded). It answers 200 with the refund; 404
// charge_not_found; 409 charge_not_refundable (the charge did not
// succeed), currency_mismatch, refund_exceeds_charge or
// idempotency_conflict; 402 refund_failed when the processor refuses;
// 502 when it does not answer.
func (s *Service) RefundHandler() guard.Handler {
	return func(w http.ResponseWriter, r *http.Request, a *guard.Approval) {
		serve(w, s.refund(r.Context(), a))
	}
}

func (s *Service) refund(ctx context.Context, a *guard.Approval) answer {
	rc := s.newReceipt(ActionRefund, a)
	req, err := parseRefund(a.Body)
	if err != nil {
		return s.finish(rc, jsonapi.ReasonBadRequest, badRequest(err))
	}
	rc.Amount, rc.Currency, rc.ChargeID = &req.Amount, req.Currency, req.ChargeID

	// Lock order: the idempotency key, then the charge.
	unlock := s.store.locks.lock("refund/" + a.Caller + "/" + req.IdempotencyKey)
	defer unlock()
	id, err := s.store.byKey("refund", a.Caller, req.IdempotencyKey)
	if err != nil {
		return storeFailed()
	}
	var rf RefundRecord
	if id != "" {
		if rf, err = s.store.Refund(id); err != nil {
			return storeFailed()
		}
		rc.RefundID = rf.ID
		if rf.ChargeID != req.ChargeID || rf.Amount != req.Amount || rf.Currency != req.Currency {
			return s.finish(rc, ReasonIdempotencyConflict, refuse(http.StatusConflict, ReasonIdempotencyConflict,
				"this idempotency key was used for a different refund"))
		}
		if rf.Status != StatusPending {
			return s.finish(rc, "replayed", refundAnswer(rf))
		}
	}
	unlockCharge := s.store.locks.lock("chargeid/" + req.ChargeID)
	defer unlockCharge()
	ch, err := s.store.Charge(req.ChargeID)
	if errors.Is(err, errNotFound) {
		return s.finish(rc, ReasonChargeNotFound, refuse(http.StatusNotFound, ReasonChargeNotFound, "no such charge"))
	}
	if err != nil {
		return storeFailed()
	}
	if id == "" {
		switch {
		case ch.Status != StatusSucceeded:
			return s.finish(rc, ReasonChargeNotRefundable, refuse(http.StatusConflict, ReasonChargeNotRefundable,
				"the charge is "+ch.Status))
		case ch.Currency != req.Currency:
			return s.finish(rc, ReasonCurrencyMismatch, refuse(http.StatusConflict, ReasonCurrencyMismatch,
				"the charge is in "+ch.Currency))
		case req.Amount > ch.Amount-ch.Refunded:
			return s.finish(rc, ReasonRefundExceedsCharge, refuse(http.StatusConflict, ReasonRefundExceedsCharge,
				"the refund is more than what remains of the charge"))
		}
		if rf.ID, err = newID("re_"); err != nil {
			return storeFailed()
		}
		rf = RefundRecord{ID: rf.ID, Caller: a.Caller, ChargeID: ch.ID, IdempotencyKey: req.IdempotencyKey,
			Amount: req.Amount, Currency: req.Currency, Status: StatusPending, ReceiptIndex: a.Receipt.Index, Time: s.now().UTC()}
		// Reserve the amount on the charge with the pending refund, so
		// concurrent refunds cannot exceed it.
		ch.Refunded += rf.Amount
		rc.RefundID, rc.Outcome = rf.ID, "pending"
		if err := s.store.apply(write{charge: &ch, refund: &rf, receipt: &rc,
			idem: idemKey("refund", a.Caller, req.IdempotencyKey), idemID: rf.ID}); err != nil {
			return storeFailed()
		}
	}

	res, err := s.proc.Refund(ctx, Refund{IdempotencyKey: rf.ID, ChargeProcessorID: ch.ProcessorID, Amount: rf.Amount, Currency: rf.Currency})
	if err != nil {
		return s.finish(rc, "processor_error", refuse(http.StatusBadGateway, ReasonProcessorUnavailable,
			"the processor did not answer; retry with the same idempotency key"))
	}
	rf.ProcessorID = res.ID
	w := write{refund: &rf, receipt: &rc}
	if res.Approved {
		rf.Status = StatusSucceeded
	} else {
		rf.Status, rf.FailureReason = StatusFailed, res.Reason
		if rf.FailureReason == "" {
			rf.FailureReason = ReasonRefundFailed
		}
		ch.Refunded -= rf.Amount // release the reservation
		w.charge = &ch
	}
	rc.Outcome = rf.Status
	if err := s.store.apply(w); err != nil {
		return storeFailed()
	}
	return refundAnswer(rf)
}

func refundAnswer(rf RefundRecord) answer {
	resp := RefundResponse{RefundID: rf.ID, ChargeID: rf.ChargeID, Status: rf.Status, Amount: rf.Amount,
		Currency: rf.Currency, ProcessorID: rf.ProcessorID, ReceiptIndex: rf.ReceiptIndex}
	if rf.Status == StatusFailed {
		resp.Error, resp.Message, resp.FailureReason = ReasonRefundFailed, "the processor refused the refund", rf.FailureReason
		return answer{http.StatusPaymentRequired, resp}
	}
	return answer{http.StatusOK, resp}
}

// ReasonRefundFailed: the processor refused the refund.
const ReasonRefundFailed = "refund_failed"
