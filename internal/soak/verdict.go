package soak

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/http"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/agentledger/agentledger/agents/order"
	"github.com/agentledger/agentledger/agents/payment"
	"github.com/agentledger/agentledger/proofs"
	"github.com/agentledger/agentledger/proofs/envelope"
	"github.com/agentledger/agentledger/proofs/statement"
	"github.com/agentledger/agentledger/verify"
)

// Check is one line of the soak's verdict.
type Check struct {
	Name   string `json:"name"`
	OK     bool   `json:"ok"`
	Detail string `json:"detail"`
}

// Outcomes of a settled order.
const (
	outcomeCompleted   = "completed"    // every step done, every receipt there
	outcomeCompensated = "compensated"  // failed after reserving; undone (released, refunded)
	outcomeNotReserved = "not_reserved" // failed before anything was held
	outcomeFlagged     = "flagged"      // left for a person, with a flag or needs_attention
)

// judgeOrder says what became of an order, or what is wrong with it.
func judgeOrder(o *placedOrder) (outcome, problem string) {
	v := o.View
	if v == nil {
		return "", "never settled (last answer: " + o.LastErr + ")"
	}
	has := func(action string) bool { _, ok := v.Receipts[action]; return ok }
	flagged := func(ok string) string {
		if len(v.Flags) > 0 {
			return outcomeFlagged
		}
		return ok
	}
	switch v.Status {
	case order.StatusCompleted:
		if o.Declined {
			return "", "completed with a card the processor declines"
		}
		for _, a := range []string{order.ActionCreate, order.ActionReserve, order.ActionCharge, order.ActionConsume, order.ActionLabel} {
			if !has(a) {
				return "", "completed without its " + a + " receipt"
			}
		}
		if v.ChargeID == "" {
			return "", "completed with no charge"
		}
		if !has(order.ActionNotify) && !slices.Contains(v.Flags, "notify_failed") {
			return "", "completed without its fulfillment:notify receipt or a notify_failed flag"
		}
		return flagged(outcomeCompleted), ""
	case order.StatusPaymentFailed:
		if v.ChargeID != "" {
			return "", "payment_failed but holds charge " + v.ChargeID
		}
		if !has(order.ActionRelease) && !slices.Contains(v.Flags, "reservation_release_failed") {
			return "", "payment_failed and its reservation was neither released nor flagged"
		}
		return flagged(outcomeCompensated), ""
	case order.StatusFulfillmentFailed:
		if v.RefundID == "" || !has(order.ActionRefund) {
			return "", "fulfillment_failed without a refund receipt"
		}
		return flagged(outcomeCompensated), ""
	case order.StatusReservationFailed:
		if v.ChargeID != "" {
			return "", "reservation_failed but holds charge " + v.ChargeID
		}
		return flagged(outcomeNotReserved), ""
	case order.StatusNeedsAttention:
		return outcomeFlagged, ""
	}
	return "", "ended " + v.Status + " (" + v.Reason + ")"
}

// checkOrders judges every order.
// Outcomes counts orders by outcome; it also counts flags ("flag:NAME"),
// needs_attention reasons ("status:..."), and, for orders that did not
// complete for a reason other than a declined card, their first failed
// step ("why:STATUS:ACTION REASON").
func checkOrders(orders []*placedOrder) (Check, map[string]int) {
	outcomes := map[string]int{}
	var problems []string
	for _, o := range orders {
		if o.View != nil {
			for _, f := range o.View.Flags {
				outcomes["flag:"+f]++
			}
			if o.View.Status == order.StatusNeedsAttention {
				outcomes["status:"+o.View.Status+":"+o.View.Reason]++
			}
			if o.View.Status != order.StatusCompleted && !o.Declined {
				outcomes["why:"+o.View.Status+":"+failedStep(o.View)]++
			}
		}
		out, problem := judgeOrder(o)
		if problem != "" {
			problems = append(problems, o.ID+": "+problem)
			continue
		}
		outcomes[out]++
	}
	c := Check{Name: "every order completed with all its receipts, or was compensated or flagged", OK: len(problems) == 0 && len(orders) > 0}
	switch {
	case len(orders) == 0:
		c.Detail = "no order was placed"
	case len(problems) > 0:
		c.Detail = fmt.Sprintf("%d of %d orders: %s", len(problems), len(orders), firstFew(problems))
	default:
		c.Detail = fmt.Sprintf("%d orders: %d completed, %d compensated, %d not reserved, %d flagged", len(orders),
			outcomes[outcomeCompleted], outcomes[outcomeCompensated], outcomes[outcomeNotReserved], outcomes[outcomeFlagged])
	}
	return c, outcomes
}

// failedStep names the first failed step of an order and its reason code,
// as "inventory:reserve ledger_unavailable".
func failedStep(v *order.View) string {
	for _, st := range v.Steps {
		if st.Outcome == order.OutcomeFailed {
			code, _, _ := strings.Cut(st.Error, ":")
			return st.Action + " " + code
		}
	}
	return "none"
}

// checkCharges compares the payment agent's reconcile report with the
// orders: reconcile is clean but for approvals a crash left unacted on
// (missing_record), no order was charged twice, and the processor
// approved exactly the charges the orders hold, plus at most one for each
// order whose charge outcome stayed unknown.
func checkCharges(orders []*placedOrder, rep payment.Report) []Check {
	held, unknown := map[string]string{}, 0
	var shared []string
	for _, o := range orders {
		if o.View == nil {
			continue
		}
		if id := o.View.ChargeID; id != "" {
			if other, ok := held[id]; ok {
				shared = append(shared, fmt.Sprintf("%s and %s hold charge %s", other, o.ID, id))
			}
			held[id] = o.ID
		} else if slices.Contains(o.View.Flags, "charge_outcome_unknown") {
			unknown++
		}
	}
	var residue int
	var diffs, doubles []string
	for _, d := range rep.Differences {
		switch d.Kind {
		case payment.DiffMissingRecord:
			residue++
		case payment.DiffDuplicateCharge:
			doubles = append(doubles, d.Detail)
		default:
			diffs = append(diffs, fmt.Sprintf("%s at %d: %s", d.Kind, d.Index, d.Detail))
		}
	}
	if rep.Unseen > 0 {
		// Every order has settled and the view covers every receipt they
		// hold: a record past it names an entry the log does not have.
		diffs = append(diffs, fmt.Sprintf("%d records past the %d entries read", rep.Unseen, rep.Entries))
	}
	reconcile := Check{Name: "payment reconcile is clean", OK: len(diffs) == 0 && len(doubles) == 0 && rep.Err == nil,
		Detail: fmt.Sprintf("%d charges (%d succeeded), %d refunds, %d receipts; %d approvals a crash left unacted on",
			rep.Charges, rep.Succeeded, rep.Refunds, rep.Receipts, residue)}
	if len(diffs) > 0 {
		reconcile.Detail = fmt.Sprintf("%d differences: %s", len(diffs), firstFew(diffs))
	}
	if rep.Err != nil {
		reconcile.Detail = "reconcile failed: " + rep.Err.Error()
	}
	twice := Check{Name: "no payment was charged twice", OK: len(doubles) == 0 && len(shared) == 0 &&
		rep.Succeeded >= len(held) && rep.Succeeded <= len(held)+unknown,
		Detail: fmt.Sprintf("%d orders hold a charge, %d more with an unknown outcome; the processor approved %d", len(held), unknown, rep.Succeeded)}
	if len(doubles)+len(shared) > 0 {
		twice.Detail = firstFew(append(doubles, shared...))
	}
	return []Check{twice, reconcile}
}

// reconcileReport asks the payment agent to reconcile, as the order agent
// (whose contract grants payment:reconcile), until its view covers size
// entries of the log (so every approval the orders hold is in it).
func (s *processes) reconcileReport(ctx context.Context, size uint64) (payment.Report, error) {
	var last error
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(200 * time.Millisecond) {
		resp, err := s.orderAgent.Call(ctx, http.MethodPost, s.url("payment")+"/v1/payment/reconcile", s.ids["payment-agent"].DID, "payment:reconcile", []byte(`{}`))
		if err != nil {
			last = err
			continue
		}
		raw, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
		resp.Body.Close()
		var rep payment.Report
		if err := json.Unmarshal(raw, &rep); err != nil || resp.StatusCode != http.StatusOK {
			last = fmt.Errorf("reconcile answered %d", resp.StatusCode)
			continue
		}
		if rep.Entries >= size {
			return rep, nil
		}
		last = fmt.Errorf("the payment agent's view has %d of %d entries", rep.Entries, size)
	}
	return payment.Report{}, last
}

// orderReceipts is every receipt index an order holds, with the action
// each approved.
func orderReceipts(v *order.View) map[uint64]string {
	out := map[uint64]string{v.CreateReceipt: order.ActionCreate}
	for _, i := range v.RetryReceipts {
		out[i] = order.ActionCreate
	}
	for _, st := range v.Steps {
		if st.Receipt != nil {
			out[*st.Receipt] = st.Action
		}
	}
	return out
}

// lastReceipt is the highest receipt index any order holds.
func lastReceipt(orders []*placedOrder) uint64 {
	var last uint64
	for _, o := range orders {
		if o.View != nil {
			for i := range orderReceipts(o.View) {
				last = max(last, i)
			}
		}
	}
	return last
}

// receiptAgent is the agent whose approval each action is.
var receiptAgent = map[string]string{"order": "order-agent", "inventory": "inventory-agent", "payment": "payment-agent", "fulfillment": "fulfillment-agent"}

// checkReceipts verifies, under cp, the tlog-proof of every receipt the
// orders hold, and that each proves an action entry of the step's action
// signed by the agent that approved it.
func (s *processes) checkReceipts(ctx context.Context, orders []*placedOrder, cp proofs.SignedCheckpoint) Check {
	want := map[uint64]string{} // index -> action
	for _, o := range orders {
		if o.View != nil {
			maps.Copy(want, orderReceipts(o.View))
		}
	}
	indexes := make([]uint64, 0, len(want))
	for i := range want {
		indexes = append(indexes, i)
	}
	slices.Sort(indexes)
	var mu sync.Mutex
	var bad []string
	work := make(chan uint64)
	var wg sync.WaitGroup
	for w := 0; w < 8; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range work {
				if err := s.checkReceipt(ctx, i, want[i], cp); err != nil {
					mu.Lock()
					bad = append(bad, fmt.Sprintf("receipt %d (%s): %v", i, want[i], err))
					mu.Unlock()
				}
			}
		}()
	}
	for _, i := range indexes {
		work <- i
	}
	close(work)
	wg.Wait()
	return tally("every receipt index verifies with an inclusion proof", bad, len(indexes),
		fmt.Sprintf("%d receipts verified under the checkpoint of size %d", len(indexes), cp.Size))
}

func (s *processes) checkReceipt(ctx context.Context, index uint64, action string, cp proofs.SignedCheckpoint) error {
	agent := s.ids[receiptAgent[strings.SplitN(action, ":", 2)[0]]].DID
	if agent == "" {
		return fmt.Errorf("receipt %d: no agent of the soak serves %s", index, action)
	}
	e, _, err := verify.FetchProved(ctx, s.ledger, index, cp.Size, s.verifier, verify.Want{Kind: envelope.KindAction, Signer: agent})
	if err != nil {
		return err
	}
	if e.Checkpoint.Root != cp.Root {
		return errors.New("the proof is under another checkpoint than the final one")
	}
	a := e.Statement.(*statement.Action)
	if a.Action != action {
		return fmt.Errorf("the entry approves %s", a.Action)
	}
	return nil
}

// checkCheckpoints proves every checkpoint seen during the run consistent
// with final, the log's checkpoint at the end.
func (s *processes) checkCheckpoints(ctx context.Context, seen map[string]string, final proofs.SignedCheckpoint) Check {
	var bad []string
	for note, source := range seen {
		cp, err := proofs.OpenCheckpoint([]byte(note), s.verifier.Name(), s.verifier)
		if err == nil {
			switch {
			case cp.Size > final.Size:
				err = fmt.Errorf("size %d is beyond the final tree's %d", cp.Size, final.Size)
			case cp.Size == final.Size && cp.Root != final.Root:
				err = fmt.Errorf("size %d with another root than the final tree's", cp.Size)
			case cp.Size < final.Size:
				var p proofs.ConsistencyProof
				if p, err = s.ledger.ConsistencyProof(ctx, cp.Size, final.Size); err == nil {
					err = proofs.VerifyConsistency(cp, final, p)
				}
			}
		}
		if err != nil {
			bad = append(bad, source+": "+err.Error())
		}
	}
	return tally("every checkpoint any agent saw is consistent with the final tree", bad, len(seen),
		fmt.Sprintf("%d distinct checkpoints, from the agents and the ledger, consistent with size %d", len(seen), final.Size))
}

// tally is a check over total items of which bad failed: it passes when
// none failed and there was something to check.
func tally(name string, bad []string, total int, okDetail string) Check {
	if len(bad) > 0 {
		sort.Strings(bad)
		return Check{Name: name, Detail: fmt.Sprintf("%d of %d: %s", len(bad), total, firstFew(bad))}
	}
	if total == 0 {
		return Check{Name: name, Detail: "nothing to check"}
	}
	return Check{Name: name, OK: true, Detail: okDetail}
}

// firstFew joins up to three items and says how many more there are.
func firstFew(items []string) string {
	if len(items) <= 3 {
		return strings.Join(items, "; ")
	}
	return strings.Join(items[:3], "; ") + fmt.Sprintf("; and %d more", len(items)-3)
}
