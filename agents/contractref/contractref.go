// Package contractref encodes the two headers that tie an inter-agent call
// to the ledger, as RFC 8941 structured-field dictionaries:
//
//	Ledger-Contract: index=5, leaf=:<base64 leaf hash>:[, proof=:<base64 tlog-proof>:]
//	Ledger-Receipt:  index=9, leaf=:<base64 leaf hash>:
//
// Ledger-Contract names the contract the caller relies on, by its log
// entry, and may carry the contract's whole C2SP tlog-proof so the callee
// can check it without asking the ledger. The request signature covers it.
// Ledger-Receipt is the callee's answer: where its approval (the action
// entry) sits in the log.
package contractref

import (
	"errors"
	"fmt"

	"github.com/dunglas/httpsfv"

	"github.com/agentledger/agentledger/proofs"
	"github.com/agentledger/agentledger/proofs/statement"
)

// Header names.
const (
	ContractHeader = "Ledger-Contract"
	ReceiptHeader  = "Ledger-Receipt"
)

// maxIndex is the largest integer a structured field can carry.
const maxIndex = 999_999_999_999_999

// ErrMalformed is returned for a header that does not parse.
var ErrMalformed = errors.New("malformed ledger header")

// Format encodes a contract reference, with its tlog-proof when bundle is
// not nil.
func Format(ref statement.ContractRef, bundle []byte) (string, error) {
	if ref.Index > maxIndex {
		return "", fmt.Errorf("%w: index %d too large", ErrMalformed, ref.Index)
	}
	d := httpsfv.NewDictionary()
	d.Add("index", httpsfv.NewItem(int64(ref.Index)))
	d.Add("leaf", httpsfv.NewItem(ref.LeafHash[:]))
	if bundle != nil {
		d.Add("proof", httpsfv.NewItem(bundle))
	}
	return httpsfv.Marshal(d)
}

// Parse decodes a contract reference and its tlog-proof (nil if absent).
// Unknown members are refused.
func Parse(v string) (statement.ContractRef, []byte, error) {
	d, err := httpsfv.UnmarshalDictionary([]string{v})
	if err != nil {
		return statement.ContractRef{}, nil, fmt.Errorf("%w: %v", ErrMalformed, err)
	}
	var ref statement.ContractRef
	var bundle []byte
	seen := 0
	for _, name := range d.Names() {
		m, _ := d.Get(name)
		item, ok := m.(httpsfv.Item)
		if !ok || len(item.Params.Names()) != 0 {
			return statement.ContractRef{}, nil, fmt.Errorf("%w: %s is not a bare item", ErrMalformed, name)
		}
		switch name {
		case "index":
			i, ok := item.Value.(int64)
			if !ok || i < 0 {
				return statement.ContractRef{}, nil, fmt.Errorf("%w: index is not a non-negative integer", ErrMalformed)
			}
			ref.Index = uint64(i)
			seen |= 1
		case "leaf":
			b, ok := item.Value.([]byte)
			if !ok || len(b) != proofs.HashSize {
				return statement.ContractRef{}, nil, fmt.Errorf("%w: leaf is not a 32-byte hash", ErrMalformed)
			}
			ref.LeafHash = proofs.Hash(b)
			seen |= 2
		case "proof":
			b, ok := item.Value.([]byte)
			if !ok || len(b) == 0 || len(b) > proofs.MaxBundleSize {
				return statement.ContractRef{}, nil, fmt.Errorf("%w: proof is not a tlog-proof", ErrMalformed)
			}
			bundle = b
		default:
			return statement.ContractRef{}, nil, fmt.Errorf("%w: unknown member %q", ErrMalformed, name)
		}
	}
	if seen != 3 {
		return statement.ContractRef{}, nil, fmt.Errorf("%w: index and leaf are required", ErrMalformed)
	}
	return ref, bundle, nil
}

// FormatReceipt encodes a receipt header.
func FormatReceipt(index uint64, leaf proofs.Hash) (string, error) {
	return Format(statement.ContractRef{Index: index, LeafHash: leaf}, nil)
}

// ParseReceipt decodes a receipt header.
func ParseReceipt(v string) (uint64, proofs.Hash, error) {
	ref, bundle, err := Parse(v)
	if err == nil && bundle != nil {
		err = fmt.Errorf("%w: a receipt carries no proof", ErrMalformed)
	}
	return ref.Index, ref.LeafHash, err
}
