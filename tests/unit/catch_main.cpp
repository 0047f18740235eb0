// The one main() of solod_tests: Catch2's, plus `--backend sqlite|pg`, which
// picks the database of the storage and actor tests (tests/support/test_database.hpp).
// CMakeLists.txt registers those tests twice: as they are (SQLite) and as
// `pg.*` with `--backend pg`, which needs SOLOD_TEST_PG_URL (scripts/test.sh).
#define CATCH_CONFIG_RUNNER
#include <catch2/catch.hpp>

#include <cstdlib>
#include <iostream>
#include <string>

int main(int argc, char* argv[]) {
  Catch::Session session;
  std::string backend = "sqlite";
  using namespace Catch::clara;
  session.cli(session.cli() |
              Opt(backend, "sqlite|pg")["--backend"]("the database of the storage and actor tests "
                                                     "(pg: the server SOLOD_TEST_PG_URL names)"));
  if (const int rc = session.applyCommandLine(argc, argv); rc != 0) {
    return rc;
  }
  if (backend == "sqlite") {
    // Before any thread starts: the SQLite run never reaches PostgreSQL, even
    // when the variable is exported for the other run.
    ::unsetenv("SOLOD_TEST_PG_URL");
  } else if (backend == "pg") {
    const char* url = std::getenv("SOLOD_TEST_PG_URL");
    if (url == nullptr || *url == '\0') {
      std::cerr << "solod_tests --backend pg needs SOLOD_TEST_PG_URL, a PostgreSQL maintenance URL "
                   "(scripts/pg-test-server.sh start DIR prints one; scripts/test.sh sets it)\n";
      return 2;
    }
  } else {
    std::cerr << "solod_tests: --backend must be sqlite or pg, not '" << backend << "'\n";
    return 2;
  }
  return session.run();
}
