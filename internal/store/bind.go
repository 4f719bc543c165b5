package store

import (
	"context"
	"fmt"
)

// Bound is the database for a consumer that owns an interface Q of the
// queries it needs (review.Queries, ingest.Queries, ...): it has every
// query of DB, and an InTx that hands the transaction's queries to fn as
// Q. So the consumer's Store interface,
//
//	type Store interface {
//		Queries
//		InTx(ctx context.Context, fn func(Queries) error) error
//	}
//
// is met by Bind[Queries](db), and by a second backend's equivalent,
// without the consumer naming this package's types.
type Bound[Q any] struct{ *DB }

// Bind adapts db to the consumer interface Q, which *Queries must
// implement (checked here: a mistake fails at start-up, not mid-request).
func Bind[Q any](db *DB) Bound[Q] {
	if _, ok := any(&Queries{}).(Q); !ok {
		var q *Q
		panic(fmt.Sprintf("store.Bind: *store.Queries does not implement %T", q))
	}
	return Bound[Q]{db}
}

// InTx runs fn in one transaction (see DB.InTx).
func (b Bound[Q]) InTx(ctx context.Context, fn func(q Q) error) error {
	return b.DB.InTx(ctx, func(q *Queries) error { return fn(any(q).(Q)) })
}
