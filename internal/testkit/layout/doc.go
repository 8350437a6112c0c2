// Package layout holds tests of the repository's own structure.
package layout
