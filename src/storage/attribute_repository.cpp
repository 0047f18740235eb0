#include "storage/attribute_repository.hpp"

#include <soci/soci.h>

namespace solod {

std::vector<user_attribute> attribute_repository::list(std::int64_t user_id) {
  long long key = user_id;
  std::vector<user_attribute> out;
  user_attribute a;
  soci::statement st = (sql_.prepare << "SELECT name, attribute_type, value FROM user_attributes "
                                        "WHERE user_id = :u ORDER BY name",
                        soci::into(a.name), soci::into(a.type), soci::into(a.value),
                        soci::use(key));
  st.execute(false);
  while (st.fetch()) {
    out.push_back(a);
  }
  return out;
}

std::optional<user_attribute> attribute_repository::find(std::int64_t user_id,
                                                         const std::string& name) {
  long long key = user_id;
  user_attribute a;
  sql_ << "SELECT name, attribute_type, value FROM user_attributes WHERE user_id = :u AND name = :n",
    soci::into(a.name), soci::into(a.type), soci::into(a.value), soci::use(key), soci::use(name);
  if (!sql_.got_data()) {
    return std::nullopt;
  }
  return a;
}

bool attribute_repository::put(std::int64_t user_id, const user_attribute& attribute) {
  long long key = user_id;
  soci::statement update =
    (sql_.prepare << "UPDATE user_attributes SET attribute_type = :t, value = :v "
                     "WHERE user_id = :u AND name = :n",
     soci::use(attribute.type), soci::use(attribute.value), soci::use(key),
     soci::use(attribute.name));
  update.execute(true);
  if (update.get_affected_rows() > 0) {
    return false;
  }
  sql_ << "INSERT INTO user_attributes (user_id, name, value, attribute_type) "
          "VALUES (:u, :n, :v, :t)",
    soci::use(key), soci::use(attribute.name), soci::use(attribute.value),
    soci::use(attribute.type);
  return true;
}

bool attribute_repository::remove(std::int64_t user_id, const std::string& name) {
  long long key = user_id;
  soci::statement st = (sql_.prepare << "DELETE FROM user_attributes WHERE user_id = :u AND name = :n",
                        soci::use(key), soci::use(name));
  st.execute(true);
  return st.get_affected_rows() > 0;
}

} // namespace solod
