package scope

import "fmt"

// Unserved returns the first of scopes whose resource:action is not in
// served, the actions a callee serves (its registration's list), and
// whether there is one. A scope that does not parse names no action, so
// it is unserved. Every scope of a contract must be served by its
// audience: a contract can grant only what its callee does.
func Unserved(scopes, served []string) (string, bool) {
	for _, s := range scopes {
		sc, err := Parse(s)
		if err != nil || !Serves(served, sc.Name()) {
			return s, true
		}
	}
	return "", false
}

// Serves reports whether action, a resource:action, is in served. An
// empty list serves nothing.
func Serves(served []string, action string) bool {
	for _, a := range served {
		if a == action {
			return true
		}
	}
	return false
}

// DescribeServed writes a list of served actions for a refusal or a
// violation's detail: "nothing", or the quoted actions.
func DescribeServed(served []string) string {
	if len(served) == 0 {
		return "nothing"
	}
	return fmt.Sprintf("%q", served)
}
