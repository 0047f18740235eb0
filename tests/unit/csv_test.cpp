// Tests for src/util/csv.*: RFC 4180 quoting and the formula-injection guard.
#include "util/csv.hpp"

#include <catch2/catch.hpp>

using solod::csv_field;
using solod::csv_row;

TEST_CASE("plain fields pass unchanged", "[csv]") {
  CHECK(csv_field("alice") == "alice");
  CHECK(csv_field("") == "");
  CHECK(csv_field("Mozilla/5.0 (X11; Linux)") == "Mozilla/5.0 (X11; Linux)");
}

TEST_CASE("commas, quotes and line breaks are quoted", "[csv]") {
  CHECK(csv_field("a,b") == "\"a,b\"");
  CHECK(csv_field("say \"hi\"") == "\"say \"\"hi\"\"\"");
  CHECK(csv_field("two\nlines") == "\"two\nlines\"");
  CHECK(csv_field("cr\rhere") == "\"cr\rhere\"");
}

TEST_CASE("formula prefixes get a leading quote", "[csv]") {
  CHECK(csv_field("=SUM(A1)") == "'=SUM(A1)");
  CHECK(csv_field("+1") == "'+1");
  CHECK(csv_field("-2") == "'-2");
  CHECK(csv_field("@cmd") == "'@cmd");
  CHECK(csv_field("\tx") == "'\tx");
  CHECK(csv_field("\rx") == "\"'\rx\"");
  CHECK(csv_field("=1,2") == "\"'=1,2\"");
  CHECK(csv_field("a=b") == "a=b");
}

TEST_CASE("rows join with commas and end with CRLF", "[csv]") {
  CHECK(csv_row({"a", "b,c", ""}) == "a,\"b,c\",\r\n");
}
