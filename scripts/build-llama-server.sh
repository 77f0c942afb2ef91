#!/usr/bin/env bash
# Builds llama.cpp's own `llama-server` and `llama-bench` as a benchmark peer
# (`npm run bench -- --llama-server PATH`), offline, from the exact llama.cpp source that the
# installed node-llama-cpp ships (its git bundle plus its own patches), so that both sides of
# the comparison run the same inference code. Not run in CI.
#
# Usage: bash scripts/build-llama-server.sh [WORK_DIR]
#   WORK_DIR  where the clone and the build go; default .cache/llama-server-peer/ (gitignored).
#   LLAMA_SERVER_PEER_JOBS  parallel compile jobs (default: nproc).
#   LLAMA_SERVER_PEER_REBUILD=1  rebuild even when the binaries are already there.
#   LLAMA_SERVER_PEER_CMAKE_ARGS  more configure flags, after (so over) the defaults below; with
#     -DGGML_NATIVE=OFF the AMX guard below is left out. E.g. the flags of node-llama-cpp's
#     prebuilt "sapphirerapids" CPU variant, in another WORK_DIR (built this way with GCC 12 on a
#     Sapphire Rapids VM, it died with SIGILL at AMX's first tile load, OpenMP or not):
#     "-DGGML_NATIVE=OFF -DGGML_OPENMP=OFF -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_BMI2=ON -DGGML_FMA=ON
#      -DGGML_F16C=ON -DGGML_AVX_VNNI=ON -DGGML_AVX512=ON -DGGML_AVX512_VBMI=ON -DGGML_AVX512_VNNI=ON
#      -DGGML_AVX512_BF16=ON -DGGML_AMX_TILE=ON -DGGML_AMX_INT8=ON"
# Prints the llama-server path as the last line of output.
set -euo pipefail

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
llama_dir="$repo_root/node_modules/node-llama-cpp/llama"
bundle="$llama_dir/gitRelease.bundle"
patches_dir="$llama_dir/patches"
work_dir="${1:-$repo_root/.cache/llama-server-peer}"
source_dir="$work_dir/llama.cpp"
build_dir="$work_dir/build"
server_bin="$build_dir/bin/llama-server"
bench_bin="$build_dir/bin/llama-bench"
stamp="$work_dir/built-from.txt"
jobs="${LLAMA_SERVER_PEER_JOBS:-$(nproc)}"

for tool in git cmake ninja c++; do
  command -v "$tool" >/dev/null || { echo "build-llama-server: '$tool' is required" >&2; exit 1; }
done
[[ -f "$bundle" ]] || { echo "build-llama-server: $bundle not found (run npm ci first)" >&2; exit 1; }

# Native tuning and OpenMP (unlike node-llama-cpp's prebuilt CPU binaries), static, and nothing
# that downloads at build time (the prebuilt web UI) or needs network libraries.
cmake_args=(
  -G Ninja
  -DCMAKE_BUILD_TYPE=Release
  -DBUILD_SHARED_LIBS=OFF
  -DGGML_NATIVE=ON
  -DGGML_OPENMP=ON
  -DGGML_CCACHE=OFF
  -DLLAMA_OPENSSL=OFF
  -DLLAMA_USE_PREBUILT_UI=OFF
  -DLLAMA_BUILD_UI=OFF
  -DLLAMA_BUILD_TESTS=OFF
  -DLLAMA_BUILD_EXAMPLES=OFF
  -DLLAMA_BUILD_TOOLS=ON
  -DLLAMA_BUILD_SERVER=ON
  -DLLAMA_BUILD_APP=OFF
)
read -r -a extra_args <<< "${LLAMA_SERVER_PEER_CMAKE_ARGS:-}"
if [[ " ${extra_args[*]} " != *" -DGGML_NATIVE=OFF "* && "$(uname -m)" == x86_64 ]] && grep -qw amx_int8 /proc/cpuinfo 2>/dev/null; then
  # -march=native turns on AMX where the CPU reports it, and this release's AMX matrix
  # multiplication, built with GCC 12, crashed on a Sapphire Rapids VM at the first decode
  # (SIGSEGV in ggml_backend_amx_mul_mat; with explicit AMX flags, SIGILL at tileloadd), while
  # node-llama-cpp's prebuilt (GCC 11) uses AMX there fine. Explicit -mno-* flags win over
  # -march=native in GCC and Clang.
  no_amx="-mno-amx-tile -mno-amx-int8 -mno-amx-bf16"
  cmake_args+=("-DCMAKE_C_FLAGS=$no_amx" "-DCMAKE_CXX_FLAGS=$no_amx")
fi
cmake_args+=("${extra_args[@]}")

# What the binaries are built from and with, so that a node-llama-cpp upgrade or a change of
# flags triggers a rebuild.
bundle_id="$(sha256sum "$bundle" | cut -d' ' -f1) $(tr -d ' \n' < "$llama_dir/llama.cpp.info.json") ${cmake_args[*]}"
if [[ "${LLAMA_SERVER_PEER_REBUILD:-0}" != 1 && -x "$server_bin" && -x "$bench_bin" \
      && -f "$stamp" && "$(cat "$stamp")" == "$bundle_id" ]]; then
  echo "build-llama-server: already built from this node-llama-cpp source; skipping"
  echo "$server_bin"
  exit 0
fi

mkdir -p "$work_dir"
if [[ -f "$stamp" && "$(head -c 64 "$stamp")" != "${bundle_id:0:64}" ]]; then
  # Another llama.cpp release: start from a clean clone and build tree.
  rm -rf "$source_dir" "$build_dir" "$stamp"
fi

if [[ ! -d "$source_dir/.git" ]]; then
  echo "build-llama-server: cloning $bundle"
  git -c advice.detachedHead=false clone --quiet "$bundle" "$source_dir"
fi

# Apply node-llama-cpp's patches the way it does after cloning; skip the ones already applied
# so that re-running the script is harmless.
shopt -s nullglob
for patch in "$patches_dir"/*.diff "$patches_dir"/*.patch; do
  if git -C "$source_dir" apply --ignore-whitespace --reverse --check "$patch" 2>/dev/null; then
    echo "build-llama-server: patch $(basename "$patch") already applied"
  else
    echo "build-llama-server: applying patch $(basename "$patch")"
    git -C "$source_dir" apply --ignore-whitespace "$patch"
  fi
done
shopt -u nullglob

cmake -S "$source_dir" -B "$build_dir" "${cmake_args[@]}"

cmake --build "$build_dir" -j "$jobs" --target llama-server llama-bench

echo "$bundle_id" > "$stamp"
echo "build-llama-server: built $bench_bin"
echo "$server_bin"
