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

	"github.com/agentledger/agentledger/ledger/wire"
	"github.com/agentledger/agentledger/proofs"
)

// MaxResponseBytes bounds any response body the client reads.
const MaxResponseBytes = 32 << 20

// APIError is a non-2xx answer from the ledger.
type APIError struct {
	Status  int
	Code    string // machine-readable reason, one of the wire.Reason constants
	Message string
	// RetryAfter is the server's Retry-After (429 and 503), or zero.
	RetryAfter time.Duration
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

// MaxAppendAttempts bounds how often Append sends one entry when the
// ledger answers 429 (the signer is over its write rate).
const MaxAppendAttempts = 3

// Append submits a DSSE envelope and returns its durable index. When the
// ledger answers 429 with a Retry-After that ends before ctx's deadline,
// Append waits that long and sends the entry again (the ledger dedups it),
// at most MaxAppendAttempts times in all; otherwise the *APIError (status
// 429, code wire.ReasonRateLimited, with RetryAfter) is returned at once.
func (c *Client) Append(ctx context.Context, envelope []byte) (AppendResult, error) {
	for attempt := 1; ; attempt++ {
		res, err := c.append(ctx, envelope)
		var apiErr *APIError
		if !errors.As(err, &apiErr) || apiErr.Status != http.StatusTooManyRequests ||
			attempt >= MaxAppendAttempts || !waitFits(ctx, apiErr.RetryAfter) {
			return res, err
		}
		t := time.NewTimer(apiErr.RetryAfter)
		select {
		case <-ctx.Done():
			t.Stop()
			return AppendResult{}, fmt.Errorf("%w (waiting to retry: %w)", err, ctx.Err())
		case <-t.C:
		}
	}
}

// MaxRetryWait is the longest Retry-After that Append waits out.
const MaxRetryWait = 10 * time.Second

// waitFits reports whether d is a wait Append takes: positive, at most
// MaxRetryWait, and ending before ctx's deadline.
func waitFits(ctx context.Context, d time.Duration) bool {
	if d <= 0 || d > MaxRetryWait {
		return false
	}
	dl, ok := ctx.Deadline()
	return !ok || time.Until(dl) > d
}

func (c *Client) append(ctx context.Context, envelope []byte) (AppendResult, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.base.String()+"/v1/entries", bytes.NewReader(envelope))
	if err != nil {
		return AppendResult{}, err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, body, err := c.do(req)
	if err != nil {
		return AppendResult{}, err
	}
	var out wire.Appended
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

func (c *Client) entry(ctx context.Context, path string, q url.Values) (wire.Entry, error) {
	var e wire.Entry
	err := c.getJSON(ctx, path, q, &e)
	return e, err
}

// InclusionProof fetches the proof for entry index in the tree of size.
func (c *Client) InclusionProof(ctx context.Context, index, size uint64) (proofs.InclusionProof, error) {
	var out wire.Inclusion
	if err := c.getJSON(ctx, "/v1/proofs/inclusion", url.Values{
		"index": {strconv.FormatUint(index, 10)}, "size": {strconv.FormatUint(size, 10)}}, &out); err != nil {
		return nil, err
	}
	if out.Index != index || out.Size != size {
		return nil, fmt.Errorf("ledger answered a proof for %d at %d, asked %d at %d", out.Index, out.Size, index, size)
	}
	return parseHashes(out.Proof)
}

// ConsistencyProof fetches the proof that the tree of size oldSize is a
// prefix of the tree of size newSize.
func (c *Client) ConsistencyProof(ctx context.Context, oldSize, newSize uint64) (proofs.ConsistencyProof, error) {
	var out wire.Consistency
	if err := c.getJSON(ctx, "/v1/proofs/consistency", url.Values{
		"old": {strconv.FormatUint(oldSize, 10)}, "new": {strconv.FormatUint(newSize, 10)}}, &out); err != nil {
		return nil, err
	}
	if out.Old != oldSize || out.New != newSize {
		return nil, fmt.Errorf("ledger answered a proof from %d to %d, asked %d to %d", out.Old, out.New, oldSize, newSize)
	}
	return parseHashes(out.Proof)
}

// Bundle fetches the C2SP tlog-proof for entry index under the latest
// checkpoint, or under the one published at size when size is not zero
// (unverified).
func (c *Client) Bundle(ctx context.Context, index, size uint64) ([]byte, error) {
	var q url.Values
	if size != 0 {
		q = url.Values{"size": {strconv.FormatUint(size, 10)}}
	}
	return c.get(ctx, "/v1/bundles/"+strconv.FormatUint(index, 10), q)
}

// Agent fetches a registered agent by name or did:key (unverified: check
// its Proof).
func (c *Client) Agent(ctx context.Context, nameOrDID string) (wire.Agent, error) {
	var a wire.Agent
	err := c.getJSON(ctx, "/v1/agents/"+url.PathEscape(nameOrDID), nil, &a)
	return a, err
}

// Agents lists registered agents (unverified).
func (c *Client) Agents(ctx context.Context) (wire.Agents, error) {
	var a wire.Agents
	err := c.getJSON(ctx, "/v1/agents", nil, &a)
	return a, err
}

// Contract fetches a contract and its revocation status by id
// (unverified).
func (c *Client) Contract(ctx context.Context, id string) (wire.Contract, error) {
	var out wire.Contract
	err := c.getJSON(ctx, "/v1/contracts/"+url.PathEscape(id), nil, &out)
	return out, err
}

// Contracts lists contracts, filtered by caller (subject) and callee
// (audience) did:keys when given (unverified).
func (c *Client) Contracts(ctx context.Context, subject, audience string) (wire.Contracts, error) {
	q := url.Values{}
	if subject != "" {
		q.Set("subject", subject)
	}
	if audience != "" {
		q.Set("audience", audience)
	}
	var out wire.Contracts
	err := c.getJSON(ctx, "/v1/contracts", q, &out)
	return out, err
}

// getJSON fetches path and decodes its JSON answer into v.
func (c *Client) getJSON(ctx context.Context, path string, q url.Values, v any) error {
	body, err := c.get(ctx, path, q)
	if err != nil {
		return err
	}
	if err := json.Unmarshal(body, v); err != nil {
		return fmt.Errorf("decode answer of %s: %w", path, err)
	}
	return nil
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
		if secs, err := strconv.Atoi(resp.Header.Get("Retry-After")); err == nil && secs > 0 && secs <= 3600 {
			apiErr.RetryAfter = time.Duration(secs) * time.Second
		}
		var eb wire.Error
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
