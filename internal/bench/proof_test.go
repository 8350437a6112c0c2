package bench

import (
	"context"
	"testing"
)

func TestProofsSmall(t *testing.T) {
	res, err := Proofs(context.Background(), ProofOptions{Entries: 5000, Proofs: 500})
	if err != nil {
		t.Fatal(err)
	}
	if res.Size != 5000 || res.Mean <= 0 || res.CheckMean <= 0 {
		t.Fatalf("result %+v", res)
	}
}

func TestAppendSmall(t *testing.T) {
	res, err := Append(context.Background(), AppendOptions{Writers: 8, Entries: 500})
	if err != nil {
		t.Fatal(err)
	}
	if res.Entries != 500 || res.PerSecond <= 0 || res.P99 < res.P50 || res.EntryBytes < 350 || res.EntryBytes > 450 {
		t.Fatalf("result %+v", res)
	}
}
