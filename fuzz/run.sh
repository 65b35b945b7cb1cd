#!/usr/bin/env bash
# Builds and runs every fuzz target for SECONDS each (default 60); exits
# non-zero on the first crash, leaving the input in fuzz/artifacts/TARGET/.
# Needs a nightly toolchain and cargo-fuzz (installed here if missing).
set -euo pipefail
cd "$(dirname "$0")"
seconds="${1:-60}"
if ! rustup toolchain list | grep -q '^nightly'; then
    rustup toolchain install nightly --profile minimal
fi
if ! cargo fuzz --version >/dev/null 2>&1; then
    cargo install cargo-fuzz --locked
fi
targets=(decode_message frame_stream roundtrip)
cargo +nightly fuzz build --release
for target in "${targets[@]}"; do
    mkdir -p "corpus/$target"
    # Seed every target with the captured and golden vectors' messages.
    if [ -d ../bgp/tests/vectors/captured ]; then
        python3 - "corpus/$target" ../bgp/tests/vectors/captured <<'PY'
import json, pathlib, sys
out, source = pathlib.Path(sys.argv[1]), pathlib.Path(sys.argv[2])
for path in sorted(source.glob("*.json")):
    data = json.loads(path.read_text())
    context = data["context"]
    # The selector byte of fuzz_targets/contexts.rs for this session.
    selector = (0 if context["four_octet_as"] else 1) \
        | (2 if "ipv4-unicast" in context["add_path"] else 0) \
        | (4 if "ipv6-unicast" in context["add_path"] else 0) \
        | (8 if context["extended_message"] else 0)
    for index, message in enumerate(data["messages"]):
        (out / f"{path.stem}-{index}").write_bytes(bytes([selector]) + bytes.fromhex(message["hex"]))
PY
    fi
    echo "== fuzzing $target for ${seconds}s"
    cargo +nightly fuzz run --release "$target" "corpus/$target" -- \
        -max_total_time="$seconds" -max_len=8192 -print_final_stats=1
done
echo "no crash in ${#targets[@]} targets x ${seconds}s"
