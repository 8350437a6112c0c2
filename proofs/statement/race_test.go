//go:build race

package statement

// raceEnabled reports whether the race detector is on; the heaviest loops
// in the tests do less under it.
const raceEnabled = true
