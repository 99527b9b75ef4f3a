#!/usr/bin/env bash
# Run by Maven (generate-sources): build the qtag-uniffi cdylib, put it where JNA looks
# on the classpath (linux-x86-64/, packed into the jar), and generate its Kotlin binding
# from it with the crate's own uniffi-bindgen (library mode).
#   build-native.sh OUT   → OUT/native/linux-x86-64/libqtag_uniffi.so,
#                           OUT/generated-sources/uniffi/dev/qtag/kotlin/qtag_uniffi.kt
set -euo pipefail
out=$1
root=$(cd "$(dirname "$0")/.." && pwd)
target=${CARGO_TARGET_DIR:-$root/target}
cd "$root"   # cargo metadata (run by the generator) finds bindings/uniffi/uniffi.toml from here
cargo build --release -p qtag-uniffi --lib
# The generator in the dev profile: built with its feature in the release profile it would
# overwrite the (unhashed) cdylib of the build above, and each would rebuild the other.
cargo build -p qtag-uniffi --features bindgen --bin uniffi-bindgen
lib=$out/native/linux-x86-64/libqtag_uniffi.so
mkdir -p "$(dirname "$lib")"
cp "$target/release/libqtag_uniffi.so" "$lib.tmp"
mv "$lib.tmp" "$lib"
rm -rf "$out/generated-sources/uniffi"
"$target/debug/uniffi-bindgen" generate --library "$lib" --language kotlin --no-format \
    --out-dir "$out/generated-sources/uniffi"
