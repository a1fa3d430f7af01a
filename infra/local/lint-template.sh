#!/usr/bin/env bash
# Lints the deployment files: cfn-lint over template.yaml and the nested stacks, and a parse
# of samconfig.toml and the sample events. Run from anywhere; exits non-zero on any error
# or warning.
#
# cfn-lint: the project's venv (target/tools/venv) when it has a working one, else PATH.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/../.."

venv=target/tools/venv
cfn_lint=""
# The project's own (infra/local/test installs it there); cfn-lint 1.5x lints SAM resources
# without the separate SAM translator package.
if [[ -x "$venv/bin/cfn-lint" ]]; then
  cfn_lint="$venv/bin/cfn-lint"
elif command -v cfn-lint >/dev/null; then
  cfn_lint="$(command -v cfn-lint)"
else
  echo "lint-template: cfn-lint not found (neither $venv/bin/cfn-lint nor on PATH)" >&2
  exit 1
fi

echo "cfn-lint $("$cfn_lint" --version 2>&1 | awk '{print $NF}') ($cfn_lint)"
"$cfn_lint" template.yaml infra/stacks/*.yaml
echo "cfn-lint: template.yaml infra/stacks/*.yaml OK"

python3 - <<'EOF'
import glob, json, sys, tomllib

with open("samconfig.toml", "rb") as f:
    config = tomllib.load(f)
for env in ("staging", "production"):
    deploy = config.get(env, {}).get("deploy", {}).get("parameters", {})
    if deploy.get("stack_name") != f"rylie-{env}":
        sys.exit(f"samconfig.toml: [{env}.deploy.parameters] stack_name must be rylie-{env}")
print("samconfig.toml: OK")

for path in sorted(glob.glob("events/*.json")):
    with open(path) as f:
        try:
            json.load(f)
        except ValueError as e:
            sys.exit(f"{path}: not valid JSON: {e}")
print("events/*.json: OK")
EOF
