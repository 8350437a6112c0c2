# Make targets that wrap the scripts; the scripts work without make.

# FUZZTIME is how long each fuzz target runs: a duration (10m) or a
# count of inputs (20000x).
FUZZTIME ?= 1m

.PHONY: test fuzz fuzz-smoke

test:
	go test ./...

# Every fuzz target for FUZZTIME each: make fuzz FUZZTIME=10m
fuzz:
	FUZZTIME=$(FUZZTIME) scripts/fuzz.sh

# CI's smoke pass.
fuzz-smoke:
	FUZZTIME=20000x scripts/fuzz.sh
