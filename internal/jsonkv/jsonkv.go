// Package jsonkv keeps JSON values in a Badger transaction, the encoding
// every agent's store uses for its records.
package jsonkv

import (
	"encoding/json"
	"errors"

	"github.com/dgraph-io/badger/v4"
)

// Get decodes the value at key into v. found is false, and v untouched,
// when the key holds no value.
func Get(txn *badger.Txn, key []byte, v any) (found bool, err error) {
	item, err := txn.Get(key)
	if errors.Is(err, badger.ErrKeyNotFound) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	return true, item.Value(func(b []byte) error { return json.Unmarshal(b, v) })
}

// Set stores v at key, encoded as JSON.
func Set(txn *badger.Txn, key []byte, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	return txn.Set(key, b)
}
