#include "storage/database.hpp"

#include "util/secret_file.hpp"

#include "storage/pg_conninfo.hpp"

#include <soci/soci.h>
#include <soci/sqlite3/soci-sqlite3.h>
#ifdef SOLOD_WITH_POSTGRESQL
#include <soci/postgresql/soci-postgresql.h>
#endif

#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <optional>

namespace solod {

namespace {

bool has_whitespace(const std::string& s) {
  return std::any_of(s.begin(), s.end(), [](char c) {
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
  });
}

/// SOCI 4.0's PostgreSQL backend splits its connection string at whitespace
/// (and turns a URI into `URI=`, which is why libpq once saw the database
/// `solod=`): a password holding whitespace reaches libpq through a private
/// pgpass file instead, which exists only while one connection opens.
class one_time_passfile {
public:
  explicit one_time_passfile(const std::string& password) {
    if (password.find_first_of("\n\r") != std::string::npos) {
      throw database_error("the database password contains a line break, which libpq cannot read");
    }
    auto pattern = (std::filesystem::temp_directory_path() / "solod-pgpass-XXXXXX").string();
    if (has_whitespace(pattern)) {
      throw database_error("the temp directory path contains whitespace: a password with whitespace cannot be passed");
    }
    std::vector<char> buf(pattern.begin(), pattern.end());
    buf.push_back('\0');
    const int fd = ::mkstemp(buf.data()); // mode 0600: libpq ignores a file others can read
    if (fd < 0) {
      throw database_error(std::string("cannot create a password file: ") + std::strerror(errno));
    }
    path_ = buf.data();
    std::string line = "*:*:*:*:";
    for (char c : password) {
      if (c == '\\' || c == ':') {
        line += '\\';
      }
      line += c;
    }
    line += '\n';
    const bool written = ::write(fd, line.data(), line.size()) == static_cast<ssize_t>(line.size());
    ::close(fd);
    if (!written) {
      ::unlink(path_.c_str());
      throw database_error("cannot write a password file");
    }
  }
  ~one_time_passfile() { ::unlink(path_.c_str()); }
  one_time_passfile(const one_time_passfile&) = delete;
  one_time_passfile& operator=(const one_time_passfile&) = delete;

  const std::string& path() const { return path_; }

private:
  std::string path_;
};

std::string read_password_file(const std::string& path) {
  auto secret = read_secret_file(path);
  if (!secret) {
    throw database_error("database.password_file: cannot read '" + path + "'");
  }
  return *secret;
}

} // namespace

database_url database_url::parse(const std::string& url) {
  database_url out;
  if (url.rfind("sqlite3://", 0) == 0) {
    out.dialect = sql_dialect::sqlite;
    out.target = url.substr(10);
    if (out.target.empty()) {
      throw database_error("database url names no database");
    }
    return out;
  }
  std::string body;
  if (url.rfind("postgresql://", 0) == 0) {
    body = url.substr(13);
  } else if (url.rfind("postgres://", 0) == 0) {
    body = url.substr(11);
  } else {
    throw database_error("unsupported database url (expected sqlite3:// or postgresql://)");
  }
  out.dialect = sql_dialect::postgresql;
  auto info = pg_conninfo::parse(body);
  out.password = info.get("password");
  info.erase("password");
  if (info.get("application_name").empty()) {
    info.set("application_name", "solod"); // names solod's connections in pg_stat_activity
  }
  out.target = info.to_string();
  return out;
}

database_url database_url::from_config(const database_config& cfg, const environment& env) {
  auto url = parse(cfg.url);
  if (auto it = env.find("SOLOD_DATABASE_PASSWORD"); it != env.end()) {
    url.password = it->second;
  } else if (!cfg.password_file.empty()) {
    url.password = read_password_file(cfg.password_file);
  }
  if (url.dialect == sql_dialect::sqlite) {
    url.password.clear(); // a file needs none
  }
  return url;
}

std::unique_ptr<soci::session> open_database(const database_url& url) {
  try {
    if (url.dialect == sql_dialect::sqlite) {
      auto parent = std::filesystem::path(url.target).parent_path();
      if (!parent.empty()) {
        std::filesystem::create_directories(parent);
      }
      auto sql = std::make_unique<soci::session>(soci::sqlite3,
                                                 "db=" + url.target + " timeout=10");
      // WAL lets readers run beside the one writer; synchronous=NORMAL in WAL
      // mode keeps every committed transaction across a process crash (kill -9),
      // only an OS crash or power loss may lose the last commits.
      *sql << "PRAGMA journal_mode=WAL";
      *sql << "PRAGMA synchronous=NORMAL";
      *sql << "PRAGMA foreign_keys=ON";
      *sql << "PRAGMA busy_timeout=10000";
      // The audit log's indexes take random keys: a 64 MiB page cache keeps
      // their hot pages in memory, and fewer checkpoints (WAL pages, not
      // transactions) keep the writer from stalling on them.
      *sql << "PRAGMA cache_size=-65536";
      *sql << "PRAGMA wal_autocheckpoint=8192";
      return sql;
    }
#ifdef SOLOD_WITH_POSTGRESQL
    std::string conninfo = url.target;
    std::optional<one_time_passfile> passfile;
    if (has_whitespace(url.password)) {
      passfile.emplace(url.password);
      conninfo += " passfile=" + pg_quote(passfile->path());
    } else if (!url.password.empty()) {
      conninfo += " password=" + pg_quote(url.password);
    }
    auto sql = std::make_unique<soci::session>(soci::postgresql, conninfo);
    // libpq prints NOTICEs to stderr ("relation ... already exists, skipping"
    // at every migration); warnings and errors still come through.
    *sql << "SET client_min_messages = warning";
    return sql;
#else
    throw database_error("this build has no PostgreSQL support");
#endif
  } catch (const database_error&) {
    throw;
  } catch (const std::exception& e) {
    throw database_error(std::string("cannot open database: ") + e.what());
  }
}

} // namespace solod
