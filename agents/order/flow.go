package order

import (
	"context"
	"net/http"
)

// run takes a processing order through its remaining steps, saving it
// after each, and leaves it in a final state. Only a store failure is an
// error; the order then stays processing and a retry resumes it (every
// step is idempotent downstream: the reservation by the order's ref, the
// charge and refund by keys derived from it).
func (s *Service) run(ctx context.Context, o *Order, card string) error {
	if o.ReservationID == "" {
		id, r := s.reserve(ctx, o)
		o.Steps = append(o.Steps, s.step(ActionReserve, r))
		if !r.ok() {
			if unknown(r) {
				o.flag(flagReserveUnknown) // held stock, if any, expires with its TTL
			}
			o.Status, o.Reason, o.Detail = StatusReservationFailed, ReasonReservationFailed, failure("reserve", r)
			return s.save(o)
		}
		o.ReservationID = id
		if err := s.save(o); err != nil {
			return err
		}
	}
	if o.ChargeID == "" {
		id, r := s.charge(ctx, o, card)
		o.Steps = append(o.Steps, s.step(ActionCharge, r))
		if !r.ok() {
			if unknown(r) {
				o.flag(flagChargeUnknown)
			}
			s.releaseStock(ctx, o)
			o.Status, o.Reason, o.Detail = StatusPaymentFailed, ReasonPaymentFailed, failure("charge", r)
			return s.save(o)
		}
		o.ChargeID = id
		if err := s.save(o); err != nil {
			return err
		}
	}
	if !o.Consumed {
		r := s.consume(ctx, o)
		o.Steps = append(o.Steps, s.step(ActionConsume, r))
		if !r.ok() {
			s.compensate(ctx, o, "consume", r)
			return s.save(o)
		}
		o.Consumed = true
		if err := s.save(o); err != nil {
			return err
		}
	}
	if !o.Digital && o.Label == nil {
		l, r := s.label(ctx, o)
		o.Steps = append(o.Steps, s.step(ActionLabel, r))
		if !r.ok() {
			s.compensate(ctx, o, "label", r)
			return s.save(o)
		}
		o.Label = &l
		if err := s.save(o); err != nil {
			return err
		}
	}
	if !o.Notified {
		r := s.notify(ctx, o)
		o.Steps = append(o.Steps, s.step(ActionNotify, r))
		if r.ok() {
			o.Notified = true
		} else {
			o.flag(flagNotifyFailed) // the order stands; only the message is missing
		}
	}
	o.Status = StatusCompleted
	return s.save(o)
}

// compensate undoes a charged order whose step (consume or label)
// failed: a refund, then the reservation is released if it was not
// consumed yet, if the agent holds a contract granting the refund; else a
// flag for a person and nothing more. Consumed goods do not come back by
// a release: they stay out of stock until someone with a restock
// contract puts them back.
func (s *Service) compensate(ctx context.Context, o *Order, step string, r result) {
	detail := failure(step, r)
	failed, noRefund, refundFailed := ReasonLabelFailed, ReasonNoRefundContract, ReasonRefundFailed
	if step == "consume" {
		failed, noRefund, refundFailed = ReasonConsumeFailed, ReasonConsumeNoRefund, ReasonConsumeNoRefunded
	}
	if !s.covers(s.cfg.PaymentDID, ActionRefund, o.Amount, o.Currency) {
		o.Status, o.Reason = StatusNeedsAttention, noRefund
		o.Detail = detail + "; no contract grants payment:refund of this amount, so charge " + o.ChargeID +
			" stands and the stock stays held until a person acts"
		return
	}
	id, rr := s.refund(ctx, o)
	o.Steps = append(o.Steps, s.step(ActionRefund, rr))
	if !rr.ok() {
		o.Status, o.Reason = StatusNeedsAttention, refundFailed
		o.Detail = detail + "; " + failure("refund", rr) + "; charge " + o.ChargeID + " may stand"
		return
	}
	o.RefundID = id
	if !o.Consumed {
		s.releaseStock(ctx, o)
		detail += "; the charge was refunded"
	} else {
		detail += "; the charge was refunded; the consumed stock stays taken until it is restocked"
	}
	o.Status, o.Reason, o.Detail = StatusFulfillmentFailed, failed, detail
}

// releaseStock releases the order's reservation; a failure is flagged
// (the reservation expires with its TTL anyway).
func (s *Service) releaseStock(ctx context.Context, o *Order) {
	r := s.release(ctx, o)
	o.Steps = append(o.Steps, s.step(ActionRelease, r))
	if !r.ok() {
		o.flag(flagReleaseFailed)
	}
}

// unknown reports whether a failed call may have been done all the same:
// no answer came, or the callee failed after approving it (a 503 is the
// guard refusing before anything is done).
func unknown(r result) bool {
	if r.reason == reasonNoContract {
		return false
	}
	return r.status == 0 || (r.status >= 500 && r.status != http.StatusServiceUnavailable)
}

func failure(what string, r result) string {
	s := what + " failed: " + r.reason
	if r.detail != "" {
		s += " (" + r.detail + ")"
	}
	return s
}
