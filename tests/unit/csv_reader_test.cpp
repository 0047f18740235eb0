// Tests for src/util/csv_reader.*: RFC 4180 records with their line numbers.

#include "util/csv.hpp"
#include "util/csv_reader.hpp"

#include <catch2/catch.hpp>

using solod::parse_csv;

TEST_CASE("csv_reader: fields, quotes, CRLF, blank lines and line numbers", "[csv]") {
  auto doc = parse_csv("\xEF\xBB\xBFname,hash\r\nalice,\"a,b\"\n\n\"multi\nline\",\"say \"\"hi\"\"\"\nlast,\n");
  REQUIRE(doc.error.empty());
  REQUIRE(doc.records.size() == 4);
  CHECK(doc.records[0].line == 1);
  CHECK(doc.records[0].fields == std::vector<std::string>{"name", "hash"});
  CHECK(doc.records[1].line == 2);
  CHECK(doc.records[1].fields == std::vector<std::string>{"alice", "a,b"});
  CHECK(doc.records[2].line == 4);
  CHECK(doc.records[2].fields == std::vector<std::string>{"multi\nline", "say \"hi\""});
  CHECK(doc.records[3].line == 6);
  CHECK(doc.records[3].fields == std::vector<std::string>{"last", ""});
}

TEST_CASE("csv_reader: reads back what the writer writes", "[csv]") {
  const std::vector<std::string> fields{"plain", "with,comma", "with \"quote\"", "two\r\nlines", ""};
  auto doc = parse_csv(solod::csv_row(fields) + solod::csv_row({"x"}));
  REQUIRE(doc.error.empty());
  REQUIRE(doc.records.size() == 2);
  CHECK(doc.records[0].fields == fields);
  CHECK(doc.records[1].line == 3);
}

TEST_CASE("csv_reader: malformed quoting is an error with its line", "[csv]") {
  auto open = parse_csv("a,b\nc,\"never closed\nmore\n");
  CHECK_FALSE(open.error.empty());
  CHECK(open.records.size() == 1);
  auto stray = parse_csv("a,b\nc,d\"e\n");
  CHECK(stray.error == "a quote inside an unquoted field");
  CHECK(stray.error_line == 2);
  auto after = parse_csv("a,b\n\"c\"x,d\n");
  CHECK(after.error == "text after a closing quote");
  CHECK(after.error_line == 2);
  CHECK(parse_csv("").records.empty());
}
