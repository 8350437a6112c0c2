package main

import "github.com/agentledger/agentledger/internal/stack"

// demoParty is one registered identity of the soak's seed.
type demoParty struct {
	name, risk string
}

var demoParties = []demoParty{
	{"order-agent", "low"}, {"inventory-agent", "medium"}, {"payment-agent", "high"},
	{"fulfillment-agent", "medium"}, {"storefront", "low"},
}

// demoContract is one of the soak's contracts.
type demoContract struct {
	caller, callee string
	scopes         []string
}

// demoOrder is an order the soak places.
func demoOrder(id, country, card string, items ...string) []byte {
	return stack.OrderBody(id, country, card, items...)
}
