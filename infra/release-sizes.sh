#!/usr/bin/env bash
# Builds every function as AWS will run it (`cargo lambda build --release --arm64
# --no-default-features`: no in-process jobs, as infra/deploy.sh builds them), zig as
# the cross linker) and prints each stripped bootstrap's size. Not part of the test command:
# fat LTO links every binary separately and takes minutes per function on two cores.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/local/lib.sh"
cd "$ROOT"

ensure_python_tool cargo-lambda cargo-lambda
ensure_python_tool python-zig ziglang
rustup target list --installed 2>/dev/null | grep -q aarch64-unknown-linux-gnu \
  || rustup target add aarch64-unknown-linux-gnu

packages=()
for dir in functions/*/; do packages+=(-p "$(basename "$dir")"); done
started=$(date +%s)
cargo lambda build --release --arm64 --no-default-features "${packages[@]}"
echo "built in $(( $(date +%s) - started )) s"
echo
echo "| function | stripped arm64 bootstrap |"
echo "|---|---|"
for dir in functions/*/; do
  name=$(basename "$dir")
  bytes=$(stat -c %s "target/lambda/$name/bootstrap")
  python3 -c "print(f'| $name | {$bytes / 1e6:.2f} MB ({$bytes} bytes) |')"
done
