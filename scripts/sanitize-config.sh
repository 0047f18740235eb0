# Sourced by scripts/test.sh --sanitize and scripts/fuzz.sh: the one
# instrumented configuration both use (ASan + UBSan + libFuzzer's coverage hooks,
# clang, -O1), so the sanitized suite and the fuzzers share one build.
export CXX=${SOLOD_SANITIZE_CXX:-clang++}
sanitize_cmake_args=(-DCMAKE_BUILD_TYPE=RelWithDebInfo "-DCMAKE_CXX_FLAGS_RELWITHDEBINFO=-O1 -g"
  -DSOLOD_FUZZ=ON)
if command -v ccache >/dev/null; then
  sanitize_cmake_args+=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
fi
