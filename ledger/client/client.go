// Package client talks to a ledger's HTTP API (package httpapi). It returns
// what the server says without trusting it: callers verify checkpoints,
// proofs and bundles with package proofs.
package client

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/agentledger/agentledger/proofs"
)

// MaxResponseBytes bounds any response body the client reads.
const MaxResponseBytes = 32 << 20

// APIError is a non-2xx answer from the ledger.
type APIError struct {
	Status  int
	Code    string // machine-readable reason, e.g. "not_authority"
	Message string
}

func (e *APIError) Error() string {
	if e.Code == "" {
		return fmt.Sprintf("ledger answered %d", e.Status)
	}
	return fmt.Sprintf("ledger refused (%d %s): %s", e.Status, e.Code, e.Message)
}

// Client is a ledger HTTP client. The zero value is not usable; call New.
type Client struct {
	base *url.URL
	hc   *http.Client
}

// New returns a client for the ledger at baseURL. A nil hc gets a client
// with a 30-second timeout.
func New(baseURL string, hc *http.Client) (*Client, error) {
	u, err := url.Parse(strings.TrimRight(baseURL, "/"))
	if err != nil {
		return nil, fmt.Errorf("ledger url: %w", err)
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return nil, fmt.Errorf("ledger url %q: scheme must be http or https", baseURL)
	}
	if hc == nil {
		hc = &http.Client{Timeout: 30 * time.Second}
	}
	return &Client{base: u, hc: hc}, nil
}

// URL returns the ledger's base URL.
func (c *Client) URL() string { return c.base.String() }

// AppendResult is the ledger's answer to a write.
type AppendResult struct {
	Index    uint64
	LeafHash proofs.Hash
	// Duplicate is true when the ledger already held the entry.
	Duplicate bool
}

// Append submits a DSSE envelope and returns its durable index.
func (c *Client) Append(ctx context.Context, envelope []byte) (AppendResult, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.base.String()+"/v1/entries", bytes.NewReader(envelope))
	if err != nil {
		return AppendResult{}, err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, body, err := c.do(req)
	if err != nil {
		return AppendResult{}, err
	}
	var out struct {
		Index    uint64 `json:"index"`
		LeafHash string `json:"leaf_hash"`
	}
	if err := json.Unmarshal(body, &out); err != nil {
		return AppendResult{}, fmt.Errorf("decode append answer: %w", err)
	}
	h, err := proofs.ParseHash(out.LeafHash)
	if err != nil {
		return AppendResult{}, fmt.Errorf("decode append answer: %w", err)
	}
	if h != proofs.LeafHash(envelope) {
		return AppendResult{}, fmt.Errorf("ledger answered leaf hash %s for an entry whose leaf hash is %s", h, proofs.LeafHash(envelope))
	}
	return AppendResult{Index: out.Index, LeafHash: h, Duplicate: resp.StatusCode == http.StatusOK}, nil
}

// Checkpoint fetches the latest signed checkpoint (unverified).
func (c *Client) Checkpoint(ctx context.Context) ([]byte, error) {
	return c.get(ctx, "/checkpoint", nil)
}

// Tile fetches a hash tile or entry bundle by its C2SP tlog-tiles path.
func (c *Client) Tile(ctx context.Context, t proofs.Tile) ([]byte, error) {
	return c.get(ctx, "/"+t.Path(), nil)
}

// Entry fetches the entry at index and checks the answer is for that index.
func (c *Client) Entry(ctx context.Context, index uint64) ([]byte, error) {
	e, err := c.entry(ctx, "/v1/entries/"+strconv.FormatUint(index, 10), nil)
	if err != nil {
		return nil, err
	}
	if e.Index != index {
		return nil, fmt.Errorf("ledger answered entry %d for index %d", e.Index, index)
	}
	return e.Entry, nil
}

// EntryByHash fetches the entry with the given leaf hash and its index.
func (c *Client) EntryByHash(ctx context.Context, leaf proofs.Hash) (uint64, []byte, error) {
	e, err := c.entry(ctx, "/v1/entries", url.Values{"hash": {leaf.String()}})
	if err != nil {
		return 0, nil, err
	}
	if proofs.LeafHash(e.Entry) != leaf {
		return 0, nil, fmt.Errorf("ledger answered an entry whose leaf hash is not %s", leaf)
	}
	return e.Index, e.Entry, nil
}

type entryJSON struct {
	Index uint64 `json:"index"`
	Entry []byte `json:"entry"`
}

func (c *Client) entry(ctx context.Context, path string, q url.Values) (entryJSON, error) {
	body, err := c.get(ctx, path, q)
	if err != nil {
		return entryJSON{}, err
	}
	var e entryJSON
	if err := json.Unmarshal(body, &e); err != nil {
		return entryJSON{}, fmt.Errorf("decode entry: %w", err)
	}
	return e, nil
}

// InclusionProof fetches the proof for entry index in the tree of size.
func (c *Client) InclusionProof(ctx context.Context, index, size uint64) (proofs.InclusionProof, error) {
	body, err := c.get(ctx, "/v1/proofs/inclusion", url.Values{
		"index": {strconv.FormatUint(index, 10)}, "size": {strconv.FormatUint(size, 10)}})
	if err != nil {
		return nil, err
	}
	var out struct {
		Index uint64   `json:"index"`
		Size  uint64   `json:"size"`
		Proof []string `json:"proof"`
	}
	if err := json.Unmarshal(body, &out); err != nil {
		return nil, fmt.Errorf("decode inclusion proof: %w", err)
	}
	if out.Index != index || out.Size != size {
		return nil, fmt.Errorf("ledger answered a proof for %d at %d, asked %d at %d", out.Index, out.Size, index, size)
	}
	return parseHashes(out.Proof)
}

// ConsistencyProof fetches the proof that the tree of size oldSize is a
// prefix of the tree of size newSize.
func (c *Client) ConsistencyProof(ctx context.Context, oldSize, newSize uint64) (proofs.ConsistencyProof, error) {
	body, err := c.get(ctx, "/v1/proofs/consistency", url.Values{
		"old": {strconv.FormatUint(oldSize, 10)}, "new": {strconv.FormatUint(newSize, 10)}})
	if err != nil {
		return nil, err
	}
	var out struct {
		Old   uint64   `json:"old"`
		New   uint64   `json:"new"`
		Proof []string `json:"proof"`
	}
	if err := json.Unmarshal(body, &out); err != nil {
		return nil, fmt.Errorf("decode consistency proof: %w", err)
	}
	if out.Old != oldSize || out.New != newSize {
		return nil, fmt.Errorf("ledger answered a proof from %d to %d, asked %d to %d", out.Old, out.New, oldSize, newSize)
	}
	return parseHashes(out.Proof)
}

// Bundle fetches the C2SP tlog-proof for entry index under the latest
// checkpoint (unverified).
func (c *Client) Bundle(ctx context.Context, index uint64) ([]byte, error) {
	return c.get(ctx, "/v1/bundles/"+strconv.FormatUint(index, 10), nil)
}

func (c *Client) get(ctx context.Context, path string, q url.Values) ([]byte, error) {
	u := c.base.String() + path
	if len(q) > 0 {
		u += "?" + q.Encode()
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, err
	}
	_, body, err := c.do(req)
	return body, err
}

func (c *Client) do(req *http.Request) (*http.Response, []byte, error) {
	resp, err := c.hc.Do(req)
	if err != nil {
		return nil, nil, fmt.Errorf("ledger unreachable: %w", err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, MaxResponseBytes+1))
	if err != nil {
		return nil, nil, fmt.Errorf("read ledger answer: %w", err)
	}
	if len(body) > MaxResponseBytes {
		return nil, nil, errors.New("ledger answer too large")
	}
	if resp.StatusCode/100 != 2 {
		apiErr := &APIError{Status: resp.StatusCode}
		var eb struct {
			Error   string `json:"error"`
			Message string `json:"message"`
		}
		if json.Unmarshal(body, &eb) == nil {
			apiErr.Code, apiErr.Message = eb.Error, eb.Message
		}
		return resp, nil, apiErr
	}
	return resp, body, nil
}

func parseHashes(ss []string) ([]proofs.Hash, error) {
	if len(ss) > 64 {
		return nil, fmt.Errorf("proof has %d hashes", len(ss))
	}
	out := make([]proofs.Hash, len(ss))
	for i, s := range ss {
		h, err := proofs.ParseHash(s)
		if err != nil {
			return nil, fmt.Errorf("proof hash %d: %w", i, err)
		}
		out[i] = h
	}
	return out, nil
}
