// PostgreSQL connection settings: libpq URIs and key/value text read into
// keyword/value pairs, hostile input refused, and the written form read back
// the same way.

#include "storage/database.hpp"
#include "storage/pg_conninfo.hpp"

#include <catch2/catch.hpp>

#include <cstdio>
#include <filesystem>
#include <fstream>

using Catch::Matchers::Contains;
using solod::database_error;
using solod::database_url;
using solod::pg_conninfo;

namespace {

using params = std::vector<std::pair<std::string, std::string>>;

params parsed(const std::string& body) {
  return pg_conninfo::parse(body).params;
}

std::string error_of(const std::string& url) {
  try {
    database_url::parse(url);
  } catch (const database_error& e) {
    return e.what();
  }
  return "(no error)";
}

} // namespace

TEST_CASE("a libpq URI becomes keyword/value pairs", "[pg_conninfo]") {
  CHECK(parsed("postgres@127.0.0.1:5432/solod") ==
        params{{"user", "postgres"}, {"host", "127.0.0.1"}, {"port", "5432"}, {"dbname", "solod"}});
  CHECK(parsed("u:secret@db.example.com/solod?sslmode=verify-full&connect_timeout=5") ==
        params{{"user", "u"},
               {"password", "secret"},
               {"host", "db.example.com"},
               {"dbname", "solod"},
               {"sslmode", "verify-full"},
               {"connect_timeout", "5"}});
  CHECK(parsed("db") == params{{"host", "db"}});
  CHECK(parsed("/solod") == params{{"dbname", "solod"}});
  CHECK(parsed("") == params{});
  CHECK(parsed("h?ssl=true") == params{{"host", "h"}, {"sslmode", "require"}});
  CHECK(parsed("u:@h/d") == params{{"user", "u"}, {"password", ""}, {"host", "h"}, {"dbname", "d"}});
}

TEST_CASE("URI hosts: IPv6 in brackets, lists, Unix sockets", "[pg_conninfo]") {
  CHECK(parsed("u@[::1]:5433/d") == params{{"user", "u"}, {"host", "::1"}, {"port", "5433"}, {"dbname", "d"}});
  CHECK(parsed("[2001:db8::7]/d") == params{{"host", "2001:db8::7"}, {"dbname", "d"}});
  CHECK(parsed("[fe80::1%25eth0]:5432") == params{{"host", "fe80::1%eth0"}, {"port", "5432"}});
  CHECK(parsed("h1:5432,h2,[::1]:6000/d?target_session_attrs=read-write") ==
        params{{"host", "h1,h2,::1"},
               {"port", "5432,,6000"},
               {"dbname", "d"},
               {"target_session_attrs", "read-write"}});
  CHECK(parsed("%2Fvar%2Frun%2Fpostgresql/d") == params{{"host", "/var/run/postgresql"}, {"dbname", "d"}});
}

TEST_CASE("URI parts are percent-decoded", "[pg_conninfo]") {
  CHECK(parsed("us%65r:p%40ss%3Aw%2Fd@h/my%2Ddb") ==
        params{{"user", "user"}, {"password", "p@ss:w/d"}, {"host", "h"}, {"dbname", "my-db"}});
  CHECK(parsed("h/d?application_name=a%26b%3Dc") ==
        params{{"host", "h"}, {"dbname", "d"}, {"application_name", "a&b=c"}});
  // A password may hold '?' and '=' (only '@' and '/' must be escaped there).
  CHECK(pg_conninfo::parse("u:a%2Fb=c@h").get("password") == "a/b=c");
}

TEST_CASE("key/value text after the scheme is read as libpq reads it", "[pg_conninfo]") {
  CHECK(parsed("host=127.0.0.1 port=5432 dbname=solod") ==
        params{{"host", "127.0.0.1"}, {"port", "5432"}, {"dbname", "solod"}});
  CHECK(parsed("  host = h   dbname='my db'  password='it\\'s \\\\ here' sslmode=require ") ==
        params{{"host", "h"}, {"dbname", "my db"}, {"password", "it's \\ here"}, {"sslmode", "require"}});
  CHECK(parsed("host=a\\ b dbname=''") == params{{"host", "a b"}, {"dbname", ""}});
  CHECK(pg_conninfo::parse("dbname=a dbname=b").get("dbname") == "b");
}

TEST_CASE("hostile URIs and key/value text get a clear error", "[pg_conninfo]") {
  CHECK_THAT(error_of("postgresql://h/d%zz"), Contains("invalid percent escape in the database name"));
  CHECK_THAT(error_of("postgresql://h/d%4"), Contains("invalid percent escape"));
  CHECK_THAT(error_of("postgresql://h/d%00x"), Contains("%00 in the database name"));
  CHECK_THAT(error_of("postgresql://[::1/d"), Contains("closing ']'"));
  CHECK_THAT(error_of("postgresql://[]/d"), Contains("empty IPv6 host"));
  CHECK_THAT(error_of("postgresql://::1:5432/d"), Contains("in brackets"));
  CHECK_THAT(error_of("postgresql://[::1]x/d"), Contains("after an IPv6 host"));
  CHECK_THAT(error_of("postgresql://h:99999/d"), Contains("invalid port '99999'"));
  CHECK_THAT(error_of("postgresql://h:0/d"), Contains("invalid port"));
  CHECK_THAT(error_of("postgresql://h:5x/d"), Contains("invalid port"));
  CHECK_THAT(error_of("postgresql://h:/d"), Contains("invalid port ''"));
  CHECK_THAT(error_of("postgresql://h/d?sslmode"), Contains("without '='"));
  CHECK_THAT(error_of("postgresql://h/d?Host=x"), Contains("'Host' is not a connection keyword"));
  CHECK_THAT(error_of("postgresql://h/d?a%20b=x"), Contains("not a connection keyword"));
  CHECK_THAT(error_of("postgresql://dbname='x"), Contains("unterminated quoted value of dbname"));
  CHECK_THAT(error_of("postgresql://host=h dbname"), Contains("missing '=' after dbname"));
  CHECK_THAT(error_of("postgresql://host=h 9x=1"), Contains("not a connection keyword"));
  // SOCI 4.0 splits at whitespace: refused rather than silently mangled.
  CHECK_THAT(error_of("postgresql://h/my%20db"), Contains("the value of dbname contains whitespace"));
  CHECK_THAT(error_of("postgresql://h/d?options=-c%20x%3Dy"), Contains("the value of options contains whitespace"));
  CHECK_THAT(error_of("postgresql://h/d%0A"), Contains("whitespace"));
  CHECK_THAT(error_of(std::string("postgresql://h/d\0x", 18)), Contains("a NUL byte in the value of dbname"));
  CHECK_THAT(error_of(std::string("postgresql://dbname=a\0b", 23)), Contains("a NUL byte in the value of dbname"));
  CHECK_THAT(error_of("mysql://h/d"), Contains("expected sqlite3:// or postgresql://"));
}

TEST_CASE("errors never repeat the password", "[pg_conninfo]") {
  for (const auto* url : {"postgresql://u:hunter2@h:99999/d", "postgresql://u:hunter2%zz@h/d",
                          "postgresql://host=h password=hunter2 dbname", "postgresql://u:hunter2@h/d%00"}) {
    const auto message = error_of(url);
    CHECK(message != "(no error)");
    CHECK_THAT(message, !Contains("hunter2"));
  }
}

TEST_CASE("the written form quotes every value and reads back the same", "[pg_conninfo]") {
  pg_conninfo info;
  info.params = {{"host", "::1"},
                 {"dbname", "o'brien"},
                 {"user", "back\\slash"},
                 {"application_name", "x'host='evil"},
                 {"sslmode", ""},
                 {"options", "-csearch_path=a,b"}};
  const auto text = info.to_string();
  CHECK(text == "host='::1' dbname='o\\'brien' user='back\\\\slash' application_name='x\\'host=\\'evil' "
                "sslmode='' options='-csearch_path=a,b'");
  CHECK(pg_conninfo::parse(text).params == info.params);
}

TEST_CASE("database_url keeps the password out of the target", "[pg_conninfo]") {
  const auto url = database_url::parse("postgresql://solod:s%20e'c\\r%40t@[::1]:5433/solod?sslmode=require");
  CHECK(url.dialect == solod::sql_dialect::postgresql);
  CHECK(url.password == "s e'c\\r@t");
  CHECK(url.target == "user='solod' host='::1' port='5433' dbname='solod' sslmode='require' application_name='solod'");

  const auto kv = database_url::parse("postgres://host=h dbname=d password='a b' application_name=node1");
  CHECK(kv.password == "a b");
  CHECK(kv.target == "host='h' dbname='d' application_name='node1'");
}

TEST_CASE("the password comes from SOLOD_DATABASE_PASSWORD, else database.password_file", "[pg_conninfo]") {
  const auto file = (std::filesystem::temp_directory_path() / "solod-pw-test").string();
  { std::ofstream(file) << "from the file\n\n"; }
  solod::database_config cfg;
  cfg.url = "postgresql://u:in-url@h/d";
  CHECK(database_url::from_config(cfg, {}).password == "in-url");
  cfg.password_file = file;
  CHECK(database_url::from_config(cfg, {}).password == "from the file");
  CHECK(database_url::from_config(cfg, {{"SOLOD_DATABASE_PASSWORD", "from env"}}).password == "from env");
  std::filesystem::remove(file);
  CHECK_THROWS_WITH(database_url::from_config(cfg, {}),
                    Contains("database.password_file: cannot read '" + file + "'"));
  cfg.url = "sqlite3://data/x.db";
  cfg.password_file.clear();
  CHECK(database_url::from_config(cfg, {{"SOLOD_DATABASE_PASSWORD", "x"}}).password.empty());
}
