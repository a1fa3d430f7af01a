#!/usr/bin/env bash
# Deploys Rylie to one environment and migrates its database.
#
#   infra/deploy.sh staging|production
#
# 1. builds every function under functions/ with cargo-lambda (arm64, release) into
#    target/lambda/<function>/bootstrap, where template.yaml's CodeUri points;
# 2. `sam deploy --config-env <environment>` (settings in samconfig.toml; production shows
#    the change set and asks before applying it);
# 3. invokes DbMigrateFunction with {"mode":"apply"} and fails unless its report says the
#    migrations succeeded.
#
# Needs: cargo with cargo-lambda (and zig, for cross-compiling), the SAM CLI, python3, and
# AWS credentials for the target account in the environment or the default profile.
set -euo pipefail

usage() {
  echo "usage: $0 staging|production" >&2
  exit 2
}

[[ $# -eq 1 ]] || usage
env="$1"
case "$env" in
  staging | production) ;;
  *) usage ;;
esac
stack="rylie-$env"

# Everything below uses paths relative to the repository root.
cd "$(dirname "${BASH_SOURCE[0]}")/.."

step() { printf '\n==> %s\n' "$*" >&2; }
fail() {
  printf 'deploy: %s\n' "$*" >&2
  exit 1
}

for tool in cargo sam python3; do
  command -v "$tool" >/dev/null || fail "$tool is not on PATH"
done
command -v cargo-lambda >/dev/null || fail "cargo-lambda is not installed (https://www.cargo-lambda.info)"

# ---------------------------------------------------------------- 1. build
# Folder name = package name = function name (ARCHITECTURE.md). Only functions/ is built:
# `--workspace` would also package the operator CLI and libraries as Lambda artifacts.
functions=()
for manifest in functions/*/Cargo.toml; do
  functions+=("$(basename "$(dirname "$manifest")")")
done
[[ ${#functions[@]} -gt 0 ]] || fail "no functions found under functions/"

for fn in "${functions[@]}"; do
  grep -q "CodeUri: target/lambda/$fn/" template.yaml ||
    fail "functions/$fn has no entry in template.yaml (CodeUri: target/lambda/$fn/)"
done

step "Building ${#functions[@]} functions for arm64: ${functions[*]}"
package_args=()
for fn in "${functions[@]}"; do
  package_args+=(--package "$fn")
done
# --no-default-features: no in-process jobs; every job goes to its queue (rylie_app::jobs::submit).
cargo lambda build --release --arm64 --no-default-features "${package_args[@]}"

for fn in "${functions[@]}"; do
  [[ -x "target/lambda/$fn/bootstrap" ]] || fail "cargo lambda build did not produce target/lambda/$fn/bootstrap"
done

# ---------------------------------------------------------------- 2. deploy
step "Deploying stack $stack"
sam deploy --config-env "$env"

# SES receives with one active rule set per account and region; CloudFormation cannot
# activate one, so this does (idempotent).
step "Activating the SES receipt rule set rylie-$env-inbound"
aws ses set-active-receipt-rule-set --rule-set-name "rylie-$env-inbound" \
  || fail "could not activate the SES receipt rule set rylie-$env-inbound (is SES receiving available in this region?)"

# ---------------------------------------------------------------- 3. migrate
# AWS_MAX_ATTEMPTS=1: the SAM CLI's Lambda client gives up reading after 60 s and would
# otherwise invoke the migration again. A migration that runs longer keeps running in
# Lambda; its outcome is then in the log group /rylie/<environment>/db-migrate.
step "Applying database migrations (DbMigrateFunction, mode apply)"
if ! response="$(AWS_MAX_ATTEMPTS=1 sam remote invoke DbMigrateFunction \
  --config-env "$env" \
  --stack-name "$stack" \
  --event '{"mode":"apply"}' \
  --output json)"; then
  fail "could not invoke DbMigrateFunction in $stack; see /rylie/$env/db-migrate in CloudWatch Logs"
fi

# The report is JSON. It counts as failed when Lambda reports a function error, or when the
# report says so: "ok": false, "success": false, "status": "failed"/"error", or a
# non-empty "errors" list.
if ! python3 -c '
import json, sys

# Decode the first JSON object printed, ignoring anything the CLI printed before it.
text = sys.argv[1]
try:
    response, _ = json.JSONDecoder().raw_decode(text[text.index("{"):])
except ValueError:
    sys.exit("unexpected output from sam remote invoke:\n" + sys.argv[1])
payload = response.get("Payload") or ""
try:
    report = json.loads(payload)
except ValueError:
    report = None

print(json.dumps(report, indent=2) if report is not None else payload)

failed = bool(response.get("FunctionError")) or response.get("StatusCode") != 200
if isinstance(report, dict):
    status = str(report.get("status", "")).lower()
    failed = failed or report.get("ok") is False or report.get("success") is False
    failed = failed or status in ("failed", "failure", "error") or bool(report.get("errors"))
else:
    failed = True
sys.exit(1 if failed else 0)
' "$response"; then
  fail "migrations FAILED in $stack (report above); the new code is deployed against the old schema"
fi

step "Deployed $stack and applied migrations"
