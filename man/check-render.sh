#!/bin/sh
# Fails when man has anything to say about the page (a troff warning, a
# bad macro) while rendering it at 80 columns.
set -eu
out=$(MANWIDTH=80 man -l "$1" 2>&1 >/dev/null)
if [ -n "$out" ]; then
    printf '%s\n' "$out" >&2
    exit 1
fi
