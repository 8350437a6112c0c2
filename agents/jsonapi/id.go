package jsonapi

// ValidID reports whether s is 1 to n bytes of [A-Za-z0-9._-]. SKUs,
// order ids, reservation ids and tracking numbers all are, so none can
// reach into another store key or path segment.
func ValidID(s string, n int) bool { return valid(s, n, false) }

// ValidKey reports whether s is 1 to n bytes of [A-Za-z0-9._:-]: ValidID's
// alphabet and the colon, for the payment agent's idempotency keys and
// charge ids.
func ValidKey(s string, n int) bool { return valid(s, n, true) }

func valid(s string, n int, colon bool) bool {
	if s == "" || len(s) > n {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '_' || c == '-' || colon && c == ':') {
			return false
		}
	}
	return true
}
