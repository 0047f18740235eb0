// Tests for src/net/static_files.*: only files under the root are served.
#include "net/static_files.hpp"

#include "support/test_database.hpp"

#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

namespace fs = std::filesystem;

TEST_CASE("static files: inside served, traversal and hidden files refused", "[static]") {
  test_support::temp_dir dir;
  const auto root = dir.path() + "/web";
  fs::create_directories(root + "/sub");
  std::ofstream(root + "/index.html") << "index";
  std::ofstream(root + "/sub/page.html") << "page";
  std::ofstream(root + "/sub/.secret") << "hidden";
  std::ofstream(dir.path() + "/outside.txt") << "outside";
  fs::create_symlink(dir.path() + "/outside.txt", root + "/out.html");
  fs::create_symlink(root + "/sub/page.html", root + "/in.html");
  solod::static_files files(root);

  auto body = [&](const std::string& path) -> std::string {
    auto r = files.serve(path);
    return r ? r->body : "<none>";
  };
  CHECK(body("/") == "index");
  CHECK(body("/index.html") == "index");
  CHECK(body("/sub/page.html") == "page");
  CHECK(body("/in.html") == "page");
  const std::vector<std::string> refused{"/../outside.txt", "/sub/../../outside.txt", "/%2e%2e/outside.txt",
                           "/..%2foutside.txt", "//etc/passwd", "/sub/.secret", "/.", "/sub/",
                           "/sub//page.html", "/out.html", "/sub", "/..\\outside.txt",
                           std::string("/index.html\0", 12), "/nothing.html"};
  for (const auto& path : refused) {
    INFO(path);
    CHECK_FALSE(files.serve(path));
  }
}
