#!/bin/sh
# Stands in for enclii-infra during an update, to show the client's cancel path. It creates
# $FAKE_DIR/ready once its trap is set, then waits. On its Nth SIGTERM it appends N to
# $FAKE_DIR/signals and, when $FAKE_DIR/answer-N.json exists, prints that result on stdout and
# exits with the status in $FAKE_DIR/answer-N.exit; without one it goes on waiting, as the CLI
# does while the engine cancels the update.
n=0
on_term() {
	n=$((n + 1))
	echo "$n" >>"$FAKE_DIR/signals"
	if [ -f "$FAKE_DIR/answer-$n.json" ]; then
		cat "$FAKE_DIR/answer-$n.json"
		exit "$(cat "$FAKE_DIR/answer-$n.exit")"
	fi
}
trap on_term TERM
touch "$FAKE_DIR/ready"
while :; do
	# `wait` returns as soon as a trapped signal arrives, where a foreground sleep would delay the
	# trap; the sleep's output goes nowhere, so it cannot hold the client's pipes open.
	sleep 1 >/dev/null 2>&1 &
	wait $!
done
