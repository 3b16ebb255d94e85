# Sourced by the benchmarks that race hush against rops: makes one age key with
# `$hush keygen` in $work and hands it to both tools. Needs: $hush, $work.
# Sets: $recipient, SOPS_AGE_KEY_FILE (hush), ROPS_AGE (rops) and $rops.
rops="$(command -v rops || echo "$HOME/.cargo/bin/rops")"
"$hush" keygen -o "$work/key.txt" 2> "$work/pub"
recipient="$(sed -n 's/^Public key: //p' "$work/pub")"
export SOPS_AGE_KEY_FILE="$work/key.txt"
# rops reads age identities from ROPS_AGE (the secret key text); it insists on
# stdin input when stdin is not a terminal, so it is fed through redirection.
ROPS_AGE="$(grep '^AGE-SECRET-KEY' "$work/key.txt")"
export ROPS_AGE
