package payment

import (
	"context"
	"errors"
	"net/http"

	"github.com/agentledger/agentledger/agents/guard"
	"github.com/agentledger/agentledger/agents/jsonapi"
	"github.com/agentledger/agentledger/proofs/statement"
	"github.com/agentledger/agentledger/verify"
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

// RefundBind is the guard.Bind of payment:refund, and RefundHandler its
// handler:
//
//	g.ProtectBound(payment.ActionRefund, payment.RefundValues, svc.RefundBind, svc.RefundHandler())
//
// It checks the refund rule of docs/protocol.md §10 before the approval
// is recorded, and refuses with nothing recorded:
//   - 404 refund_not_your_charge: no charge of this caller has the id.
//     The answer is the same whether the charge does not exist or is
//     another caller's. It is given after one store read and before the
//     charge's lock is taken, so it never waits on the owner's refunds,
//     and its timing differs only by decoding the record;
//   - 409 idempotency_conflict: the key was used for another refund, or
//     for this one with another body (a retry repeats the body byte for
//     byte, because the log tells refunds apart by their args_digest);
//   - 409 charge_not_refundable: the charge did not succeed;
//   - 409 currency_mismatch: the refund is in another currency;
//   - 409 refund_exceeds_charge: with every refund approved against the
//     charge before, the refund is more than the charge;
//   - 503 store_unavailable.
//
// A new refund is counted against the charge (RefundApprovals) before its
// approval is recorded, and stays counted whatever the processor answers:
// the log records approvals, not outcomes, and the agent must never
// approve more than an auditor of the log would allow. The approval's
// action entry names the charge's entry as its target. The key's and the
// charge's locks are held until the handler returns.
func (s *Service) RefundBind(_ context.Context, caller string, body []byte) (guard.Binding, error) {
	req, err := parseRefund(body)
	if err != nil {
		return guard.Binding{}, &guard.Refusal{Status: http.StatusBadRequest, Reason: jsonapi.ReasonBadRequest, Detail: err.Error()}
	}
	// Lock order: the idempotency key, then the charge.
	unlockKey := s.store.locks.lock("refund/" + caller + "/" + req.IdempotencyKey)
	// Whose charge it is never changes, so it is read before the charge's
	// lock: another caller's refund never waits on the owner's.
	ch, err := s.store.Charge(req.ChargeID)
	if errors.Is(err, errNotFound) || err == nil && ch.Caller != caller {
		unlockKey()
		return guard.Binding{}, &guard.Refusal{Status: http.StatusNotFound, Reason: ReasonRefundNotYourCharge, Detail: "no charge of yours has this id"}
	}
	if err != nil {
		unlockKey()
		return guard.Binding{}, storeRefusal()
	}
	unlockCharge := s.store.locks.lock("chargeid/" + ch.ID)
	release := func() { unlockCharge(); unlockKey() }
	target, err := s.approveRefund(caller, body, req)
	if err != nil {
		release()
		return guard.Binding{}, err
	}
	return guard.Binding{Target: target, Release: release}, nil
}

// approveRefund checks a refund of the caller's charge, under the key's
// and the charge's locks, and counts it against the charge.
func (s *Service) approveRefund(caller string, body []byte, req refundRequest) (*statement.EntryRef, error) {
	ch, err := s.store.Charge(req.ChargeID)
	if err != nil {
		return nil, storeRefusal()
	}
	target, ok := ch.target()
	if !ok {
		return nil, &guard.Refusal{Status: http.StatusConflict, Reason: ReasonChargeNotRefundable,
			Detail: "the charge was recorded before refunds named their charge's entry; it cannot be refunded here"}
	}
	digest := argsDigest(body)
	if _, ok := ch.RefundApprovals[digest]; ok {
		return target, nil // a retry of an approved refund
	}
	id, err := s.store.byKey("refund", caller, req.IdempotencyKey)
	if err != nil {
		return nil, storeRefusal()
	}
	conflict := func(reason, msg string) error {
		return &guard.Refusal{Status: http.StatusConflict, Reason: reason, Detail: msg}
	}
	switch {
	case id != "":
		return nil, conflict(ReasonIdempotencyConflict, "this idempotency key was used for a different refund; a retry repeats the body byte for byte")
	case ch.Status != StatusSucceeded:
		return nil, conflict(ReasonChargeNotRefundable, "the charge is "+ch.Status)
	case ch.Currency != req.Currency:
		return nil, conflict(ReasonCurrencyMismatch, "the charge is in "+ch.Currency)
	case req.Amount > ch.Amount-ch.approved():
		return nil, conflict(ReasonRefundExceedsCharge, "the refund is more than what remains of the charge")
	}
	if ch.RefundApprovals == nil {
		ch.RefundApprovals = map[string]int64{}
	}
	ch.RefundApprovals[digest] = req.Amount
	if err := s.store.apply(write{charge: &ch}); err != nil {
		return nil, storeRefusal()
	}
	return target, nil
}

func storeRefusal() error {
	return &guard.Refusal{Status: http.StatusServiceUnavailable, Reason: ReasonStoreUnavailable, Detail: "the payment store failed; retry with the same idempotency key"}
}

// RefundHandler serves payment:refund behind the guard, after RefundBind
// approved it (see there). It answers 200 with the refund; 402
// refund_failed when the processor refuses; 502 when it does not answer.
// A retry with the same key and body gets the first answer.
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
	// RefundBind checked the refund and holds the key's and the charge's
	// locks until this returns.
	ch, err := s.store.Charge(req.ChargeID)
	if err != nil && !errors.Is(err, errNotFound) {
		return storeFailed()
	}
	if target, ok := ch.target(); err != nil || !ok || a.Target == nil || *a.Target != *target || ch.Caller != a.Caller {
		return s.finish(rc, "unbound", refuse(http.StatusInternalServerError, verify.ReasonInternal,
			"the refund was approved without its charge bound; nothing was refunded"))
	}
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
		if rf.Status != StatusPending {
			return s.finish(rc, "replayed", refundAnswer(rf))
		}
		// A pending refund: an earlier attempt did not finish. Ask the
		// processor again under the same key; it dedupes on it.
	} else {
		if rf.ID, err = newID("re_"); err != nil {
			return storeFailed()
		}
		rf = RefundRecord{ID: rf.ID, Caller: a.Caller, ChargeID: ch.ID, IdempotencyKey: req.IdempotencyKey,
			Amount: req.Amount, Currency: req.Currency, Status: StatusPending, ReceiptIndex: a.Receipt.Index, Time: s.now().UTC()}
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
		// No longer refunded, but still approved: RefundApprovals keeps it.
		ch.Refunded -= rf.Amount
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
