#!/bin/sh
# Stands in for enclii-infra in the client's unit tests: records its arguments (one a line), its
# working directory and its environment in $FAKE_DIR, writes a progress line on stderr, prints
# $FAKE_DIR/stdout on stdout and exits with $FAKE_EXIT; FAKE_EXIT=KILL makes it kill itself.
printf '%s\n' "$@" >"$FAKE_DIR/argv"
pwd >"$FAKE_DIR/pwd"
env >"$FAKE_DIR/env"
echo "fake: working" >&2
cat "$FAKE_DIR/stdout"
if [ "$FAKE_EXIT" = KILL ]; then kill -KILL $$; fi
exit "$FAKE_EXIT"
