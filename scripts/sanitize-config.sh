# Sourced by scripts/test.sh --sanitize and scripts/fuzz.sh: the one
# instrumented configuration both use (ASan + UBSan + libFuzzer's coverage hooks,
# clang, -O1), so the sanitized suite and the fuzzers share one build.
export CXX=${SOLOD_SANITIZE_CXX:-clang++}
# The load tool is left out: it is ~20 % of this build's compile time, and its
# smoke test already runs in the plain suite (CI time, README "Tests").
sanitize_cmake_args=(-DCMAKE_BUILD_TYPE=RelWithDebInfo "-DCMAKE_CXX_FLAGS_RELWITHDEBINFO=-O1 -g1"
  -DSOLOD_FUZZ=ON -DSOLOD_BUILD_BENCH=OFF)
if command -v ccache >/dev/null; then
  sanitize_cmake_args+=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
fi
