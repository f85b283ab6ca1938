// The Iceberg REST catalog client (the REST catalog OpenAPI of apache/iceberg,
// open-api/rest-catalog-open-api.yaml): configuration, tables, namespaces, registration
// and commits as requirements plus updates. The server writes each metadata file.
// 409 means another writer won (retry); 5xx leaves the commit's outcome unknown.
#include <algorithm>
#include <chrono>
#include <set>
#include <thread>

#include "inlet/common/http.h"
#include "inlet/common/json.h"
#include "inlet/common/mutex.h"
#include "inlet/common/redact.h"
#include "inlet/iceberg/catalog.h"

namespace inlet::iceberg {

namespace {

constexpr long kTimeoutS = 10;
constexpr int kAttempts = 4;

std::string WithoutTrailingSlash(std::string s) {
  while (!s.empty() && s.back() == '/') s.pop_back();
  return s;
}

// The namespace in a path: levels separated by the unit separator (0x1F), encoded.
std::string NamespacePath(const std::vector<std::string>& ns) {
  std::string joined;
  for (const auto& level : ns) joined += (joined.empty() ? "" : "\x1f") + level;
  return UriEncode(joined);
}

// A member of an object, or null when j is no object or lacks it: a server's answer of
// the wrong shape is an error of ours to report, never an exception.
const Json* Member(const Json& j, const char* key) {
  if (!j.is_object()) return nullptr;
  auto it = j.find(key);
  return it == j.end() ? nullptr : &*it;
}

std::optional<std::string> StringMember(const Json& j, const char* key) {
  const Json* m = Member(j, key);
  if (!m || !m->is_string()) return std::nullopt;
  return m->get<std::string>();
}

// A namespace as the REST API spells it: an array of strings.
std::optional<std::vector<std::string>> Levels(const Json& j) {
  if (!j.is_array()) return std::nullopt;
  std::vector<std::string> out;
  for (const auto& level : j) {
    if (!level.is_string()) return std::nullopt;
    out.push_back(level.get<std::string>());
  }
  return out;
}

Json NamespaceJson(const std::vector<std::string>& ns) {
  Json out = Json::array();
  for (const auto& level : ns) out.push_back(level);
  return out;
}

class RestCatalog : public Catalog {
 public:
  explicit RestCatalog(const CatalogOptions& o)
      : uri_(WithoutTrailingSlash(o.uri)),
        token_(o.token),
        credential_(o.credential),
        token_uri_(o.oauth2_server_uri.empty() ? uri_ + "/v1/oauth/tokens"
                                               : o.oauth2_server_uri),
        scope_(o.scope.empty() ? "catalog" : o.scope),
        ca_bundle_(o.ca_bundle) {
    description_ = "REST catalog " + RedactUri(uri_);
    // A server may quote the request (a header, the token form) in its error message.
    RegisterSecret(token_);
    RegisterSecret(credential_);
    auto colon = credential_.find(':');
    if (colon != std::string::npos) RegisterSecret(credential_.substr(colon + 1));
  }

  // Reads /v1/config: the path prefix and the warehouse the server proposes.
  arrow::Status Configure(const std::string& warehouse) {
    {
      MutexLock lock(&mu_);
      if (token_.empty() && !credential_.empty()) ARROW_RETURN_NOT_OK(FetchToken());
    }
    std::string path = "/v1/config";
    if (!warehouse.empty()) path += "?warehouse=" + UriEncode(warehouse);
    ARROW_ASSIGN_OR_RAISE(auto r,
                          Call("GET", uri_ + path, "", "cannot read its configuration"));
    ARROW_ASSIGN_OR_RAISE(Json config, Body(r, "cannot read its configuration"));
    if (!config.is_object())
      return Failed("cannot read its configuration", "the response is not a JSON object");
    Json merged = Json::object();
    for (const char* part : {"defaults", "overrides"})
      if (const Json* m = Member(config, part); m && m->is_object())
        for (const auto& [k, v] : m->items()) merged[k] = v;
    std::string prefix = StringMember(merged, "prefix").value_or("");
    base_ = uri_ + "/v1" + (prefix.empty() ? "" : "/" + prefix);
    if (auto w = StringMember(merged, "warehouse");
        w && w->find('/') != std::string::npos)
      set_warehouse(*w);
    return arrow::Status::OK();
  }

  arrow::Result<std::optional<std::string>> CurrentMetadata(
      const TableIdent& table) override {
    std::string what = "cannot load table " + table.ToString();
    ARROW_ASSIGN_OR_RAISE(auto r, Call("GET", TableUrl(table), "", what));
    if (r.status == 404) return std::nullopt;
    ARROW_ASSIGN_OR_RAISE(Json j, Body(r, what));
    auto location = StringMember(j, "metadata-location");
    if (!location) return Failed(what, "the response has no metadata-location");
    return *location;
  }

  arrow::Result<bool> AddTable(const TableIdent& table,
                               const std::string& metadata) override {
    ARROW_RETURN_NOT_OK(EnsureNamespace(table.ns));
    std::string what = "cannot register table " + table.ToString();
    Json body = {{"name", table.name}, {"metadata-location", metadata}};
    ARROW_ASSIGN_OR_RAISE(
        auto r,
        Call("POST", base_ + "/namespaces/" + NamespacePath(table.ns) + "/register",
             body.dump(), what));
    if (r.status == 409) return false;
    ARROW_RETURN_NOT_OK(Body(r, what).status());
    return true;
  }

  arrow::Result<bool> SwapMetadata(const TableIdent& table, const std::string&,
                                   const std::string&) override {
    return arrow::Status::NotImplemented(description_, " commits ", table.ToString(),
                                         " from updates, not metadata files");
  }

  bool TakesUpdates() const override { return true; }

  // The warehouse given, else the namespace's location (which the server assigns when
  // it creates the namespace), as Java's RESTSessionCatalog leaves it to the server.
  arrow::Result<std::string> DefaultLocation(const TableIdent& table) override {
    if (!warehouse().empty()) return Catalog::DefaultLocation(table);
    ARROW_RETURN_NOT_OK(EnsureNamespace(table.ns));
    std::string what = "cannot read namespace " + table.Namespace();
    ARROW_ASSIGN_OR_RAISE(
        auto r, Call("GET", base_ + "/namespaces/" + NamespacePath(table.ns), "", what));
    ARROW_ASSIGN_OR_RAISE(Json j, Body(r, what));
    const Json* props = Member(j, "properties");
    auto location = props ? StringMember(*props, "location") : std::nullopt;
    if (!location)
      return arrow::Status::Invalid(
          description_, " gives namespace ", table.Namespace(),
          " no location: give a warehouse (--warehouse, "
          "catalog.warehouse) or the table's location to create ",
          table.ToString());
    return WithoutTrailingSlash(*location) + "/" + table.name;
  }

  arrow::Result<bool> CommitUpdates(const TableIdent& table, const TableMetadata* base,
                                    const TableMetadata& next) override;

  arrow::Result<std::vector<TableIdent>> ListTables(const std::string& ns) override;

  const std::string& description() const override { return description_; }

 private:
  std::string TableUrl(const TableIdent& t) const {
    return base_ + "/namespaces/" + NamespacePath(t.ns) + "/tables/" + UriEncode(t.name);
  }

  arrow::Status Failed(const std::string& what, const std::string& why) const {
    return arrow::Status::IOError(description_, ": ", what, ": ", MaskKnownSecrets(why));
  }

  // One request with the token; a 401 with client credentials fetches a new token once.
  // Reads, and creating a namespace (whose repeat answers 409), are sent again when no
  // answer came (a connection reset or cut short, a timeout) or the server was briefly
  // unavailable (502, 503, 504), up to kAttempts times, 0.4 s, 0.8 s, 1.6 s apart. A
  // commit is never sent again: its outcome is then unknown (CommitUpdates).
  arrow::Result<HttpResponse> Call(const std::string& method, const std::string& url,
                                   const std::string& body, const std::string& what) {
    // A table handle may be shared by threads. The lock guards only the token: requests
    // and the pauses between attempts run side by side.
    const bool repeatable = method == "GET" || url == base_ + "/namespaces";
    bool refreshed = false;
    for (int attempt = 1;; ++attempt) {
      const std::string token = Token();
      std::vector<std::string> headers = {"Content-Type: application/json",
                                          "Accept: application/json",
                                          "X-Client-Version: inlet"};
      if (!token.empty()) headers.push_back("Authorization: Bearer " + token);
      auto r = Http(method, url, headers, body, ca_bundle_, kTimeoutS,
                    description_ + ": " + what);
      bool transient =
          !r.ok() || r->status == 502 || r->status == 503 || r->status == 504;
      if (transient && repeatable && attempt < kAttempts) {
        std::this_thread::sleep_for(std::chrono::milliseconds(200 << attempt));
        continue;
      }
      ARROW_RETURN_NOT_OK(r.status());
      if (r->status != 401 || credential_.empty() || refreshed) return r;
      refreshed = true;
      MutexLock lock(&mu_);
      // Another thread may have fetched a new token meanwhile.
      if (token_ == token) ARROW_RETURN_NOT_OK(FetchToken());
    }
  }

  std::string Token() {
    MutexLock lock(&mu_);
    return token_;
  }

  // The JSON of a successful response; the server's error message otherwise.
  arrow::Result<Json> Body(const HttpResponse& r, const std::string& what) const {
    auto parsed = ParseJson(r.body, description_);
    if (r.status >= 200 && r.status < 300) {
      if (r.body.empty()) return Json::object();
      if (!parsed.ok()) return Failed(what, "the response is not JSON");
      return *parsed;
    }
    std::string message = "HTTP " + std::to_string(r.status);
    if (const Json* e = parsed.ok() ? Member(*parsed, "error") : nullptr) {
      if (auto type = StringMember(*e, "type")) message += " " + *type;
      if (auto text = StringMember(*e, "message")) message += ": " + *text;
    }
    if (r.status == 401 || r.status == 403)
      message += " (check the catalog's token or credential)";
    return Failed(what, message);
  }

  // OAuth2 client credentials for a bearer token, from the catalog's own token endpoint
  // or the identity provider oauth2_server_uri names (RFC 6749 section 4.4).
  arrow::Status FetchToken() REQUIRES(mu_) {
    auto colon = credential_.find(':');
    std::string id = colon == std::string::npos ? "" : credential_.substr(0, colon);
    std::string secret =
        colon == std::string::npos ? credential_ : credential_.substr(colon + 1);
    std::string form = "grant_type=client_credentials&client_id=" + UriEncode(id) +
                       "&client_secret=" + UriEncode(secret) +
                       "&scope=" + UriEncode(scope_);
    const std::string what =
        "cannot get a token for the catalog credential from " + RedactUri(token_uri_);
    ARROW_ASSIGN_OR_RAISE(
        auto r,
        Http("POST", token_uri_, {"Content-Type: application/x-www-form-urlencoded"},
             form, ca_bundle_, kTimeoutS, description_ + ": " + what));
    ARROW_ASSIGN_OR_RAISE(Json j, Body(r, what));
    auto token = StringMember(j, "access_token");
    if (!token) return Failed(what, "the response has no access_token");
    token_ = *token;
    RegisterSecret(token_);
    return arrow::Status::OK();
  }

  arrow::Status EnsureNamespace(const std::vector<std::string>& ns) {
    std::string what = "cannot create namespace";
    Json body = {{"namespace", NamespaceJson(ns)}, {"properties", Json::object()}};
    ARROW_ASSIGN_OR_RAISE(auto r, Call("POST", base_ + "/namespaces", body.dump(), what));
    if (r.status == 409) return arrow::Status::OK();  // it exists
    return Body(r, what).status();
  }

  std::string uri_;
  std::string base_;
  Mutex mu_;
  std::string token_ GUARDED_BY(mu_);
  std::string credential_;
  std::string token_uri_;
  std::string scope_;
  std::string ca_bundle_;
  std::string description_;
};

// The changes that make `base` into `next`, as the spec's TableUpdate objects, with the
// requirements that make them safe (another writer's commit fails them: 409).
arrow::Result<Json> CommitRequest(const TableIdent& table, const TableMetadata* base,
                                  const TableMetadata& next) {
  ARROW_ASSIGN_OR_RAISE(std::string text, SerializeMetadata(next));
  ARROW_ASSIGN_OR_RAISE(Json n, ParseJson(text, "the metadata to commit"));
  Json requirements = Json::array(), updates = Json::array();
  auto update = [&updates](const char* action, Json fields) {
    fields["action"] = action;
    updates.push_back(std::move(fields));
  };
  std::set<int64_t> schemas, specs, orders, snapshots;
  if (!base) {
    requirements.push_back({{"type", "assert-create"}});
    update("assign-uuid", {{"uuid", next.table_uuid}});
    update("upgrade-format-version", {{"format-version", next.format_version}});
  } else {
    requirements.push_back({{"type", "assert-table-uuid"}, {"uuid", base->table_uuid}});
    auto main = base->refs.find("main");
    requirements.push_back(
        {{"type", "assert-ref-snapshot-id"},
         {"ref", "main"},
         {"snapshot-id",
          main == base->refs.end() ? Json(nullptr) : Json(main->second.snapshot_id)}});
    for (const auto& s : base->schemas) schemas.insert(s.schema_id);
    for (const auto& s : base->specs) specs.insert(s.spec_id);
    for (const auto& o : base->sort_orders) orders.insert(o.order_id);
    for (const auto& s : base->snapshots) snapshots.insert(s.snapshot_id);
    if (next.format_version != base->format_version)
      update("upgrade-format-version", {{"format-version", next.format_version}});
  }
  // A schema, spec or order added by this commit is made current as "the last added"
  // (-1): the server may give it another id than the one it has here.
  bool new_schema = false;
  for (const auto& s : n.value("schemas", Json::array()))
    if (!schemas.count(s.value("schema-id", 0))) {
      if (base && !new_schema) {
        requirements.push_back({{"type", "assert-current-schema-id"},
                                {"current-schema-id", base->current_schema_id}});
        requirements.push_back({{"type", "assert-last-assigned-field-id"},
                                {"last-assigned-field-id", base->last_column_id}});
      }
      new_schema = true;
      update("add-schema", {{"schema", s}, {"last-column-id", next.last_column_id}});
    }
  if (!base || next.current_schema_id != base->current_schema_id)
    update("set-current-schema",
           {{"schema-id",
             schemas.count(next.current_schema_id) ? next.current_schema_id : -1}});
  const bool spec_added = !specs.count(next.default_spec_id);
  for (const auto& s : n.value("partition-specs", Json::array()))
    if (!specs.count(s.value("spec-id", 0))) {
      if (base)
        requirements.push_back({{"type", "assert-last-assigned-partition-id"},
                                {"last-assigned-partition-id", base->last_partition_id}});
      update("add-spec", {{"spec", s}});
    }
  if (!base || next.default_spec_id != base->default_spec_id)
    update("set-default-spec", {{"spec-id", spec_added ? -1 : next.default_spec_id}});
  const bool order_added = !orders.count(next.default_sort_order_id);
  for (const auto& o : n.value("sort-orders", Json::array()))
    if (!orders.count(o.value("order-id", 0)))
      update("add-sort-order", {{"sort-order", o}});
  if (!base || next.default_sort_order_id != base->default_sort_order_id)
    update("set-default-sort-order",
           {{"sort-order-id", order_added ? -1 : next.default_sort_order_id}});
  if (!base || next.location != base->location)
    update("set-location", {{"location", next.location}});
  Json set = Json::object(), removed = Json::array();
  for (const auto& [k, v] : next.properties)
    if (!base || !base->properties.count(k) || base->properties.at(k) != v) set[k] = v;
  if (base)
    for (const auto& [k, v] : base->properties)
      if (!next.properties.count(k)) removed.push_back(k);
  if (!set.empty()) update("set-properties", {{"updates", set}});
  if (!removed.empty()) update("remove-properties", {{"removals", removed}});
  for (const auto& s : n.value("snapshots", Json::array()))
    if (!snapshots.count(s.value("snapshot-id", int64_t{0})))
      update("add-snapshot", {{"snapshot", s}});
  if (base) {
    // Snapshots expired by this commit.
    std::set<int64_t> kept;
    for (const auto& s : next.snapshots) kept.insert(s.snapshot_id);
    Json gone = Json::array();
    for (const auto& s : base->snapshots)
      if (!kept.count(s.snapshot_id)) gone.push_back(s.snapshot_id);
    if (!gone.empty()) update("remove-snapshots", {{"snapshot-ids", gone}});
  }
  if (base)  // refs a vacuum removed for their age
    for (const auto& [name, ref] : base->refs)
      if (name != "main" && !next.refs.count(name))
        update("remove-snapshot-ref", {{"ref-name", name}});
  auto main = next.refs.find("main");
  if (main != next.refs.end()) {
    const SnapshotRef* was = nullptr;
    if (base && base->refs.count("main")) was = &base->refs.at("main");
    if (!was || was->snapshot_id != main->second.snapshot_id) {
      // The ref is rebuilt from the update: its retention settings go with it.
      Json ref =
          main->second.retention.is_object() ? main->second.retention : Json::object();
      ref["ref-name"] = "main";
      ref["type"] = "branch";
      ref["snapshot-id"] = main->second.snapshot_id;
      update("set-snapshot-ref", std::move(ref));
    }
  }
  return Json{
      {"identifier", {{"namespace", NamespaceJson(table.ns)}, {"name", table.name}}},
      {"requirements", requirements},
      {"updates", updates}};
}

arrow::Result<bool> RestCatalog::CommitUpdates(const TableIdent& table,
                                               const TableMetadata* base,
                                               const TableMetadata& next) {
  if (!base) ARROW_RETURN_NOT_OK(EnsureNamespace(table.ns));
  ARROW_ASSIGN_OR_RAISE(Json request, CommitRequest(table, base, next));
  std::string what = "cannot commit table " + table.ToString();
  auto r = Call("POST", TableUrl(table), request.dump(), what);
  if (!r.ok())
    return r.status().WithMessage(r.status().message(),
                                  " (whether the commit took effect is unknown)");
  if (r->status >= 200 && r->status < 300) return true;  // whatever the body says
  if (r->status == 409) return false;
  if (r->status >= 500)
    return Body(*r, what + " (whether the commit took effect is unknown)").status();
  return Body(*r, what).status();
}

arrow::Result<std::vector<TableIdent>> RestCatalog::ListTables(const std::string& ns) {
  std::vector<std::vector<std::string>> namespaces;
  if (!ns.empty()) {
    ARROW_ASSIGN_OR_RAISE(auto id, TableIdent::Parse(ns + ".x"));
    namespaces.push_back(id.ns);
  } else {
    // Every namespace, nested ones too: each level lists its children (?parent=), page
    // by page.
    const std::string what = "cannot list namespaces";
    std::vector<std::vector<std::string>> pending = {{}};
    std::set<std::vector<std::string>> seen;
    while (!pending.empty()) {
      std::vector<std::string> parent = std::move(pending.back());
      pending.pop_back();
      for (std::string page;;) {
        std::string url = base_ + "/namespaces";
        std::string sep = "?";
        if (!parent.empty()) {
          url += "?parent=" + NamespacePath(parent);
          sep = "&";
        }
        if (!page.empty()) url += sep + "pageToken=" + UriEncode(page);
        ARROW_ASSIGN_OR_RAISE(auto r, Call("GET", url, "", what));
        ARROW_ASSIGN_OR_RAISE(Json j, Body(r, what));
        const Json* listed = Member(j, "namespaces");
        if (!listed || !listed->is_array())
          return Failed(what, "the response has no namespaces array");
        for (const auto& n : *listed) {
          auto levels = Levels(n);
          if (!levels) return Failed(what, "a namespace is not a string array");
          // A server that ignores ?parent= lists the top level again: seen once.
          if (!seen.insert(*levels).second) continue;
          namespaces.push_back(*levels);
          pending.push_back(*levels);
        }
        page = StringMember(j, "next-page-token").value_or("");
        if (page.empty()) break;
      }
    }
  }
  std::vector<TableIdent> out;
  for (const auto& levels : namespaces) {
    std::string what = "cannot list tables";
    // Pages follow one another while the server gives a next-page-token.
    for (std::string page;;) {
      std::string url = base_ + "/namespaces/" + NamespacePath(levels) + "/tables";
      if (!page.empty()) url += "?pageToken=" + UriEncode(page);
      ARROW_ASSIGN_OR_RAISE(auto r, Call("GET", url, "", what));
      ARROW_ASSIGN_OR_RAISE(Json j, Body(r, what));
      const Json* ids = Member(j, "identifiers");
      if (!ids || !ids->is_array())
        return Failed(what, "the response has no identifiers array");
      for (const auto& t : *ids) {
        const Json* ns_json = Member(t, "namespace");
        auto table_ns = ns_json ? Levels(*ns_json) : std::nullopt;
        auto name = StringMember(t, "name");
        if (!table_ns || !name) return Failed(what, "a table identifier is malformed");
        out.push_back(TableIdent{*table_ns, *name});
      }
      page = StringMember(j, "next-page-token").value_or("");
      if (page.empty()) break;
    }
  }
  std::sort(out.begin(), out.end(), [](const TableIdent& a, const TableIdent& b) {
    return a.ToString() < b.ToString();
  });
  return out;
}

}  // namespace

arrow::Result<std::shared_ptr<Catalog>> OpenRestCatalog(const CatalogOptions& options) {
  auto catalog = std::make_shared<RestCatalog>(options);
  ARROW_RETURN_NOT_OK(catalog->Configure(options.warehouse));
  return catalog;
}

}  // namespace inlet::iceberg
