#!/usr/bin/env bash
# Quickstart: a small election walked through as separate `tabella` invocations, one per role's
# step, against a running node:
#   council, 3 trustees (2 needed to decrypt), an identity validator, a registrar, one juror with
#   one table, 3 remote voters (one votes again) and 1 in-person voter; then the results, the
#   record and its independent verification. With so few voters, no group has the 5 ballots a
#   group needs to be published on its own (the manifest's min_group_size): the results are
#   published overall only, so the lone in-person voter's ballot is not revealed.
#
# Start a node first, e.g. (its validator key sealed under TABELLA_NODE_PASSPHRASE)
#   export TABELLA_NODE_PASSPHRASE='a node passphrase'
#   tabella node init --dev --home /tmp/qs-node && tabella node run --home /tmp/qs-node &
# then:
#   TABELLA=target/release/tabella TABELLA_NODE=http://127.0.0.1:7400 scripts/quickstart.sh
#
# Every secret goes into a temporary keystore sealed with a throw-away passphrase; a real
# deployment gives each official their own keystore and passphrase.
set -euo pipefail

TABELLA=${TABELLA:-target/release/tabella}
export TABELLA_NODE=${TABELLA_NODE:-http://127.0.0.1:7400}
WORK=$(mktemp -d "${TMPDIR:-/tmp}/tabella-quickstart.XXXXXX")
export TABELLA_KEYSTORE="$WORK/keys"
export TABELLA_PASSPHRASE=${TABELLA_PASSPHRASE:-quickstart-passphrase}
ELECTION=${ELECTION:-quickstart-$(date +%s)}
cd "$WORK"

step() { printf '\n== %s\n' "$*"; }
t() { echo "\$ tabella $*"; "$TABELLA" "$@"; }

step "keys (one per official; voters' wallets are created when they register)"
t keys new --role council --name council
for n in trustee1 trustee2 trustee3; do t keys new --role trustee --name "$n"; done
t keys new --role identity-validator --name identity-validator --token-bits 2048
t keys new --role registrar --name registrar
t keys new --role juror --name juror1
t keys list

step "council: manifest and creation"
t election manifest --id "$ELECTION" --title "Quickstart election" \
  --council council --trustee trustee1 --trustee trustee2 --trustee trustee3 --threshold 2 \
  --identity-validator identity-validator --registrar registrar --table juror1=5 \
  --voter alice@example.org --voter bob@example.org --voter carol@example.org \
  --out manifest.json --whitelist-out whitelist.json
t election create --manifest manifest.json --as council

step "key ceremony: the council starts it, each trustee runs dkg once per round"
t election open --election "$ELECTION" --as council
for round in 0 1 2 3; do
  for n in trustee1 trustee2 trustee3; do t trustee dkg --election "$ELECTION" --as "$n"; done
done
t election open --election "$ELECTION" --as council

step "remote registration: blinded request -> identity validator -> anonymous note -> registrar's queue"
for v in alice bob carol; do
  t voter register --election "$ELECTION" --wallet "$v" --identity "$v@example.org" --out "$v-request.json"
  t identity-validator issue --election "$ELECTION" --as identity-validator --whitelist whitelist.json \
    --identity "$v@example.org" --request "$v-request.json" --out "$v-response.json"
  t voter register --election "$ELECTION" --wallet "$v" --response "$v-response.json" --out "$v-note.json"
  t registrar enable --election "$ELECTION" --as registrar --note "$v-note.json"
done
# Keys are enabled in batches (5 by default), sorted, so the chain does not link a validation to
# its key; the final batch, here all 3, closes registration.
t registrar flush --election "$ELECTION" --as registrar --close-registration

step "voting (bob changes his mind and votes again: the last ballot counts)"
t voter vote --election "$ELECTION" --wallet alice --choice 1=Ada --choice 2=Noether,Turing --choice 3=Library,Labs,Sports
t voter vote --election "$ELECTION" --wallet bob --choice 1=Grace --choice 2=Hopper --choice 3=Labs,Library,Housing
t voter vote --election "$ELECTION" --wallet carol --choice 1=Ada --choice 2=Lovelace,Shannon,Turing --choice 3=Transport,Labs,Library
t voter vote --election "$ELECTION" --wallet bob --choice 1=Ada --choice 2=Hopper,Noether --choice 3=Housing,Labs,Library | tee bob-vote.txt
RECEIPT=$(sed -n 's/^ballot accepted; receipt \([0-9a-f]*\)$/\1/p' bob-vote.txt)

step "in person: the juror authorizes a voter at table 1, who votes in the booth"
t table authorize --election "$ELECTION" --as juror1 --table 1 --out booth.json
t voter vote --election "$ELECTION" --booth booth.json --choice 1=Alan --choice 2=Turing --choice 3=Sports,Labs,Library

step "close, decrypt (2 of 3 trustees), publish"
t election close --election "$ELECTION" --as council
t trustee decrypt --election "$ELECTION" --as trustee1
t trustee decrypt --election "$ELECTION" --as trustee3
t election tally --election "$ELECTION"
t election publish --election "$ELECTION" --as council

step "anyone: status, results, a receipt, the record and its verification"
t election status --election "$ELECTION"
t election results --election "$ELECTION"
t voter receipt --election "$ELECTION" --receipt "$RECEIPT"
t election record --election "$ELECTION" --out record
t verify record
