#include "inlet/source/http_pages.h"

#include <openssl/evp.h>
#include <simdjson.h>

#include <chrono>
#include <cstdio>
#include <map>
#include <random>
#include <set>
#include <thread>

#include "inlet/common/mutex.h"
#include "inlet/common/redact.h"
#include "inlet/common/time.h"
#include "inlet/log.h"

namespace inlet {

namespace {

namespace dom = simdjson::dom;

std::string Base64(const std::string& in) {
  std::string out(4 * ((in.size() + 2) / 3) + 1, '\0');
  int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                          reinterpret_cast<const unsigned char*>(in.data()),
                          static_cast<int>(in.size()));
  out.resize(static_cast<size_t>(n));
  return out;
}

bool AllDigits(const std::string& s) {
  if (s.empty()) return false;
  for (char c : s)
    if (c < '0' || c > '9') return false;
  return true;
}

std::optional<dom::element> Lookup(dom::element e, const std::vector<std::string>& path) {
  for (const auto& part : path) {
    dom::element next;
    if (e.is_object()) {
      if (e.get_object().at_key(part).get(next)) return std::nullopt;
    } else if (e.is_array() && AllDigits(part) && part.size() < 10) {
      if (e.get_array().at(std::stoul(part)).get(next)) return std::nullopt;
    } else {
      return std::nullopt;
    }
    e = next;
  }
  return e;
}

// A scalar's text (a string as it is, a number or boolean as written); nullopt for null,
// a list or an object.
std::optional<std::string> ScalarText(dom::element e) {
  switch (e.type()) {
    case dom::element_type::STRING:
      return std::string(std::string_view(e));
    case dom::element_type::INT64:
    case dom::element_type::UINT64:
    case dom::element_type::DOUBLE:
    case dom::element_type::BOOL:
      return simdjson::minify(e);
    default:
      return std::nullopt;
  }
}

// The lists in a body (to depth 3), for a message saying where records may be.
void FindLists(dom::element e, const std::string& at, int depth,
               std::vector<std::string>* out) {
  if (e.is_array()) {
    out->push_back(at.empty() ? "(the body)" : at);
    return;
  }
  if (!e.is_object() || depth == 0) return;
  for (auto field : e.get_object()) {
    std::string key(field.key);
    FindLists(field.value, at.empty() ? key : at + "." + key, depth - 1, out);
  }
}

std::string Excerpt(const std::string& body) {
  std::string out;
  for (char c : body.substr(0, 200))
    out += (static_cast<unsigned char>(c) < 0x20) ? ' ' : c;
  if (body.size() > 200) out += "...";
  return out.empty() ? "(empty body)" : out;
}

const char* Reason(long status) {
  switch (status) {
    case 400:
      return "Bad Request";
    case 401:
      return "Unauthorized";
    case 403:
      return "Forbidden";
    case 404:
      return "Not Found";
    case 405:
      return "Method Not Allowed";
    case 408:
      return "Request Timeout";
    case 409:
      return "Conflict";
    case 410:
      return "Gone";
    case 422:
      return "Unprocessable Content";
    case 429:
      return "Too Many Requests";
    case 500:
      return "Internal Server Error";
    case 501:
      return "Not Implemented";
    case 502:
      return "Bad Gateway";
    case 503:
      return "Service Unavailable";
    case 504:
      return "Gateway Timeout";
    default:
      return "";
  }
}

std::string StatusText(long status) {
  std::string reason = Reason(status);
  return std::to_string(status) + (reason.empty() ? "" : " " + reason);
}

bool RetryableStatus(long status) {
  return status == 408 || status == 429 || status == 500 || status == 502 ||
         status == 503 || status == 504;
}

std::string Lower(std::string s) {
  for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

}  // namespace

std::optional<std::string> LinkNext(const std::string& header) {
  size_t pos = 0;
  while (true) {
    size_t lt = header.find('<', pos);
    if (lt == std::string::npos) return std::nullopt;
    size_t gt = header.find('>', lt);
    if (gt == std::string::npos) return std::nullopt;
    size_t end = header.find('<', gt);
    std::string params = Lower(header.substr(
        gt + 1, end == std::string::npos ? std::string::npos : end - gt - 1));
    size_t rel = params.find("rel=");
    if (rel != std::string::npos) {
      std::string value = params.substr(rel + 4);
      if (!value.empty() && value[0] == '"') {
        value = value.substr(1, value.find('"', 1) - 1);
      } else {
        value = value.substr(0, value.find_first_of(";, "));
      }
      // rel may list several types: rel="next last".
      size_t at = 0;
      while (at < value.size()) {
        size_t space = value.find(' ', at);
        if (value.substr(at, space - at) == "next")
          return header.substr(lt + 1, gt - lt - 1);
        if (space == std::string::npos) break;
        at = space + 1;
      }
    }
    pos = gt;
  }
}

std::string ResolveUrl(const std::string& base, const std::string& ref) {
  if (ref.rfind("http://", 0) == 0 || ref.rfind("https://", 0) == 0) return ref;
  size_t scheme = base.find("://");
  if (scheme == std::string::npos) return ref;
  if (ref.rfind("//", 0) == 0) return base.substr(0, scheme + 1) + ref;
  size_t path_start = base.find_first_of("/?#", scheme + 3);
  std::string origin = base.substr(0, path_start);
  std::string path = path_start == std::string::npos ? "/" : base.substr(path_start);
  path = path.substr(0, path.find_first_of("?#"));
  if (path.empty()) path = "/";
  if (!ref.empty() && ref[0] == '/') return origin + ref;
  if (!ref.empty() && ref[0] == '?') return origin + path + ref;
  return origin + path.substr(0, path.rfind('/') + 1) + ref;
}

namespace {

std::string WithParam(const std::string& url, const std::string& name,
                      const std::string& value) {
  return url + (url.find('?') == std::string::npos ? "?" : "&") + UriEncode(name) + "=" +
         UriEncode(value);
}

// OAuth2 access tokens by token URL, client and scope, shared by the runs of a process
// (inlet serve) until they expire.
struct CachedToken {
  std::string token;
  int64_t expires_ms = 0;
};
Mutex token_mu;
std::map<std::string, CachedToken>& TokenCache() REQUIRES(token_mu) {
  static std::map<std::string, CachedToken> cache;
  return cache;
}

}  // namespace

arrow::Result<std::vector<std::string>> ParseJsonPath(const std::string& path) {
  std::vector<std::string> out;
  size_t start = 0;
  while (true) {
    size_t dot = path.find('.', start);
    std::string part = path.substr(start, dot == std::string::npos ? dot : dot - start);
    if (part.empty())
      return arrow::Status::Invalid("'", path,
                                    "' is not a JSON path (such as data.items)");
    out.push_back(std::move(part));
    if (dot == std::string::npos) return out;
    start = dot + 1;
  }
}

HttpPager::HttpPager(const HttpSourceConfig& config, std::unique_ptr<HttpClient> client)
    : config_(config), client_(std::move(client)) {
  const HttpAuth& a = config_.auth;
  secrets_ = {a.token,         a.password,
              a.value,         UriEncode(a.value),
              a.client_secret, UriEncode(a.client_secret)};
  if (a.type == HttpAuth::Type::kBasic)
    secrets_.push_back(Base64(a.username + ":" + a.password));
  if (a.type == HttpAuth::Type::kOAuth2)
    secrets_.push_back(Base64(UriEncode(a.client_id) + ":" + UriEncode(a.client_secret)));
}

HttpPager::~HttpPager() = default;

arrow::Result<std::unique_ptr<HttpPager>> HttpPager::Make(
    const HttpSourceConfig& config, std::optional<std::string> watermark) {
  HttpClientOptions o;
  o.connect_timeout_ms = config.connect_timeout_ms;
  o.timeout_ms = config.timeout_ms;
  o.max_response_bytes = config.max_response_bytes;
  o.ca_bundle = config.ca_bundle;
  o.client_cert = config.client_cert;
  o.client_key = config.client_key;
  o.verify = config.verify_tls;
  ARROW_ASSIGN_OR_RAISE(auto client, HttpClient::Make(std::move(o)));
  std::unique_ptr<HttpPager> pager(new HttpPager(config, std::move(client)));
  pager->watermark_ = std::move(watermark);
  return pager;
}

std::string HttpPager::Mask(std::string text) const {
  return MaskSecrets(std::move(text), secrets_);
}

std::string HttpPager::Shown(const std::string& url) const {
  return Mask(RedactUri(url));
}

arrow::Status HttpPager::Failed(const std::string& shown, const std::string& why) const {
  return arrow::Status::IOError(Mask(config_.method + " " + shown + ": " + why));
}

arrow::Result<std::string> HttpPager::Substitute(const std::string& text, bool encode,
                                                 const std::string& where) const {
  std::string out;
  size_t pos = 0;
  while (true) {
    size_t at = text.find(kWatermarkPlaceholder, pos);
    out += text.substr(pos, at == std::string::npos ? at : at - pos);
    if (at == std::string::npos) return out;
    if (!watermark_) {
      return arrow::Status::Invalid(
          config_.description, ": ", where,
          " holds {watermark}, which has no value before the first load: set "
          "source.incremental.initial");
    }
    out += encode ? UriEncode(*watermark_) : *watermark_;
    pos = at + sizeof(kWatermarkPlaceholder) - 1;
  }
}

arrow::Result<std::string> HttpPager::FirstUrl() const {
  ARROW_ASSIGN_OR_RAISE(std::string url, Substitute(config_.url, true, "source.url"));
  for (const auto& [name, value] : config_.params) {
    if (value == kWatermarkPlaceholder && !watermark_) continue;
    ARROW_ASSIGN_OR_RAISE(std::string v,
                          Substitute(value, false, "source.params." + name));
    url = WithParam(url, name, v);
  }
  return url;
}

arrow::Result<std::string> HttpPager::BearerToken(bool refresh) {
  const HttpAuth& a = config_.auth;
  std::string key = a.token_url + "\n" + a.client_id + "\n" + a.scope;
  int64_t now = NowMillis();
  if (!refresh) {
    MutexLock lock(&token_mu);
    auto it = TokenCache().find(key);
    if (it != TokenCache().end() && it->second.expires_ms > now) {
      secrets_.push_back(it->second.token);
      return it->second.token;
    }
  }
  HttpRequest r;
  r.method = "POST";
  r.url = a.token_url;
  r.headers = {"Content-Type: application/x-www-form-urlencoded",
               "Accept: application/json"};
  r.body = "grant_type=client_credentials";
  if (!a.scope.empty()) r.body += "&scope=" + UriEncode(a.scope);
  if (a.client_auth_basic) {
    r.headers.push_back("Authorization: Basic " + Base64(UriEncode(a.client_id) + ":" +
                                                         UriEncode(a.client_secret)));
  } else {
    r.body += "&client_id=" + UriEncode(a.client_id) +
              "&client_secret=" + UriEncode(a.client_secret);
  }
  std::string shown = "OAuth2 token endpoint " + Shown(a.token_url);
  ARROW_ASSIGN_OR_RAISE(HttpExchange ex, Fetch(std::move(r), shown, false));
  dom::parser parser;
  dom::element doc;
  std::string_view token;
  if (parser.parse(ex.body).get(doc) || doc["access_token"].get(token) || token.empty())
    return arrow::Status::IOError(Mask(
        "POST " + shown + ": the response has no access_token: " + Excerpt(ex.body)));
  int64_t expires_in = 3600;
  int64_t given = 0;
  if (!doc["expires_in"].get(given) && given > 0) expires_in = given;
  CachedToken cached{std::string(token),
                     now + std::max<int64_t>(expires_in - 30, 1) * 1000};
  secrets_.push_back(cached.token);
  MutexLock lock(&token_mu);
  TokenCache()[key] = cached;
  return cached.token;
}

arrow::Status HttpPager::Decorate(HttpRequest* r) {
  const HttpAuth& a = config_.auth;
  switch (a.type) {
    case HttpAuth::Type::kNone:
      break;
    case HttpAuth::Type::kBearer:
      r->headers.push_back("Authorization: Bearer " + a.token);
      break;
    case HttpAuth::Type::kBasic:
      r->headers.push_back("Authorization: Basic " +
                           Base64(a.username + ":" + a.password));
      break;
    case HttpAuth::Type::kApiKey:
      if (a.in_query) {
        r->url = WithParam(r->url, a.name, a.value);
      } else {
        r->headers.push_back(a.name + ": " + a.value);
      }
      break;
    case HttpAuth::Type::kOAuth2: {
      ARROW_ASSIGN_OR_RAISE(std::string token, BearerToken(false));
      r->headers.push_back("Authorization: Bearer " + token);
      break;
    }
  }
  return arrow::Status::OK();
}

arrow::Result<HttpExchange> HttpPager::Fetch(HttpRequest request,
                                             const std::string& shown,
                                             bool authenticate) {
  static thread_local std::mt19937_64 random{std::random_device{}()};
  bool refreshed = false;
  for (int attempt = 0;; ++attempt) {
    HttpRequest r = request;
    if (authenticate) ARROW_RETURN_NOT_OK(Decorate(&r));
    HttpExchange ex = client_->Send(r);
    if (ex.status >= 200 && ex.status < 300) return ex;
    // An expired or revoked token: one new token, then the request again.
    if (ex.status == 401 && authenticate && !refreshed &&
        config_.auth.type == HttpAuth::Type::kOAuth2) {
      refreshed = true;
      ARROW_RETURN_NOT_OK(BearerToken(true).status());
      --attempt;
      continue;
    }
    std::string what =
        ex.status == 0 ? ex.error : StatusText(ex.status) + ": " + Excerpt(ex.body);
    bool retryable = ex.status == 0 ? ex.retryable : RetryableStatus(ex.status);
    if (!retryable) return Failed(shown, what);
    if (attempt >= config_.max_retries) {
      return Failed(shown, what + " (" + std::to_string(attempt + 1) +
                               (attempt ? " attempts)" : " attempt; max_retries is 0)"));
    }
    // Exponential backoff with equal jitter: half the step, plus up to as much again.
    int64_t step = config_.backoff_ms;
    for (int i = 0; i < attempt && step < config_.max_backoff_ms; ++i) step *= 2;
    step = std::min(step, config_.max_backoff_ms);
    int64_t wait =
        step / 2 + static_cast<int64_t>(random() % static_cast<uint64_t>(step / 2 + 1));
    if (auto after = RetryAfterMs(ex.Header("retry-after"), NowMillis())) {
      if (*after > config_.max_retry_after_ms) {
        return Failed(shown, what + " (the server asks to retry after " +
                                 std::to_string(*after / 1000) +
                                 " s, longer than max_retry_after)");
      }
      wait = *after;
    }
    Log(LogLevel::kInfo, "http",
        Mask(config_.method + " " + shown + ": " + what + "; retrying in " +
             std::to_string(wait) + " ms"));
    std::this_thread::sleep_for(std::chrono::milliseconds(wait));
  }
}

arrow::Status HttpPager::Walk(const Callbacks& callbacks) {
  const HttpPagination& p = config_.paginate;
  ARROW_ASSIGN_OR_RAISE(std::string base, FirstUrl());
  std::string body;
  if (!config_.body.empty()) {
    ARROW_ASSIGN_OR_RAISE(body, Substitute(config_.body, false, "source.body"));
  }
  std::vector<std::string> headers;
  bool content_type = false;
  for (const auto& [name, value] : config_.headers) {
    headers.push_back(name + ": " + value);
    content_type = content_type || Lower(name) == "content-type";
  }
  if (config_.method != "GET" && !content_type)
    headers.push_back("Content-Type: application/json");
  std::vector<std::string> records_path, total_path, cursor_path, next_path;
  if (!config_.records_path.empty()) {
    ARROW_ASSIGN_OR_RAISE(records_path, ParseJsonPath(config_.records_path));
  }
  if (!p.total_path.empty()) {
    ARROW_ASSIGN_OR_RAISE(total_path, ParseJsonPath(p.total_path));
  }
  if (!p.cursor_path.empty()) {
    ARROW_ASSIGN_OR_RAISE(cursor_path, ParseJsonPath(p.cursor_path));
  }
  if (!p.next_url_path.empty()) {
    ARROW_ASSIGN_OR_RAISE(next_path, ParseJsonPath(p.next_url_path));
  }

  int64_t offset = p.start;
  int64_t page_number = p.start;
  auto page_url = [&]() {
    std::string url = base;
    if (p.type == HttpPagination::Type::kOffset) {
      url = WithParam(url, p.offset_param, std::to_string(offset));
      url = WithParam(url, p.limit_param, std::to_string(p.limit));
    } else if (p.type == HttpPagination::Type::kPage) {
      url = WithParam(url, p.page_param, std::to_string(page_number));
      if (!p.page_size_param.empty())
        url = WithParam(url, p.page_size_param, std::to_string(p.page_size));
    }
    return url;
  };
  std::string url = page_url();
  std::set<std::string> requested;
  int64_t total = -1;
  dom::parser parser;
  for (int64_t page = 1;; ++page) {
    std::string shown = Shown(url);
    if (p.max_pages > 0 && page > p.max_pages) {
      return Failed(shown, "the API has more than max_pages (" +
                               std::to_string(p.max_pages) +
                               ") pages; raise paginate.max_pages if that is expected");
    }
    if (!requested.insert(url).second)
      return Failed(shown, "the API's next page is one already read: paging would loop");
    pages_.push_back(shown);
    HttpRequest request{config_.method, url, headers, body};
    ARROW_ASSIGN_OR_RAISE(HttpExchange ex, Fetch(std::move(request), shown, true));
    if (callbacks.on_page) ARROW_RETURN_NOT_OK(callbacks.on_page(page, ex.body));
    dom::element doc;
    if (auto error = parser.parse(ex.body).get(doc)) {
      std::string type = ex.Header("content-type");
      return Failed(shown, std::string("the response is not JSON (") +
                               simdjson::error_message(error) +
                               (type.empty() ? "" : "; Content-Type " + type) +
                               "): " + Excerpt(ex.body));
    }
    dom::element records = doc;
    if (!records_path.empty()) {
      auto found = Lookup(doc, records_path);
      if (!found) {
        std::vector<std::string> lists;
        FindLists(doc, "", 3, &lists);
        std::string hint;
        for (const auto& l : lists) hint += (hint.empty() ? "" : ", ") + l;
        return Failed(
            shown, "the response has nothing at records: " + config_.records_path +
                       (hint.empty() ? " (and no list)" : " (its lists: " + hint + ")") +
                       ": " + Excerpt(ex.body));
      }
      records = *found;
    }
    int64_t n = 0;
    if (records.is_null()) {
      // "items": null, as some APIs end.
    } else if (!records.is_array()) {
      std::vector<std::string> lists;
      FindLists(doc, "", 3, &lists);
      std::string hint;
      for (const auto& l : lists) hint += (hint.empty() ? "" : ", ") + l;
      return Failed(shown,
                    (records_path.empty()
                         ? std::string("the response is not a list of records: set "
                                       "source.records to the path of its list")
                         : "records: " + config_.records_path + " is not a list") +
                        (hint.empty() ? "" : " (its lists: " + hint + ")"));
    } else {
      for (dom::element record : dom::array(records)) {
        ++n;
        if (!record.is_object())
          return Failed(shown, "record " + std::to_string(n) + " is not a JSON object");
        auto st = callbacks.on_record(simdjson::minify(record));
        if (!st.ok())
          return Failed(shown, "record " + std::to_string(n) + ": " + st.message());
      }
    }
    records_ += n;
    if (!total_path.empty()) {
      auto found = Lookup(doc, total_path);
      int64_t value = -1;
      if (!found || found->get(value) || value < 0)
        return Failed(shown, "the response has no record count at paginate.total_path (" +
                                 p.total_path + ")");
      if (total >= 0 && value != total) {
        return Failed(shown, "the API's record count changed from " +
                                 std::to_string(total) + " to " + std::to_string(value) +
                                 " while its pages were read: records moved between "
                                 "pages, and some may have been missed or read twice. "
                                 "Nothing was loaded; run again");
      }
      total = value;
    }
    if (n == 0 || (total >= 0 && records_ >= total)) break;
    std::optional<std::string> next;
    switch (p.type) {
      case HttpPagination::Type::kNone:
        break;
      case HttpPagination::Type::kOffset:
        offset += n;
        next = page_url();
        break;
      case HttpPagination::Type::kPage:
        ++page_number;
        next = page_url();
        break;
      case HttpPagination::Type::kCursor: {
        auto found = Lookup(doc, cursor_path);
        auto cursor = found ? ScalarText(*found) : std::nullopt;
        if (cursor && !cursor->empty()) next = WithParam(base, p.cursor_param, *cursor);
        break;
      }
      case HttpPagination::Type::kLink: {
        if (auto link = LinkNext(ex.Header("link"))) next = ResolveUrl(url, *link);
        break;
      }
      case HttpPagination::Type::kNextUrl: {
        auto found = Lookup(doc, next_path);
        auto target = found ? ScalarText(*found) : std::nullopt;
        if (target && !target->empty()) next = ResolveUrl(url, *target);
        break;
      }
    }
    if (!next) break;
    url = *next;
  }
  if (total >= 0 && records_ != total) {
    return Failed(pages_.back(),
                  "the API said it holds " + std::to_string(total) +
                      " records (paginate.total_path) but its pages gave " +
                      std::to_string(records_) +
                      ": records moved between pages while they were read. Nothing was "
                      "loaded; run again");
  }
  return arrow::Status::OK();
}

}  // namespace inlet
