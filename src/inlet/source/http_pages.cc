#include "inlet/source/http_pages.h"

#include <openssl/evp.h>
#include <simdjson.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
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

// Text as it may stand between the quotes of a JSON string.
std::string JsonEscaped(const std::string& text) {
  std::string out;
  for (unsigned char c : text) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += static_cast<char>(c);
    } else if (c < 0x20) {
      char buf[8];
      std::snprintf(buf, sizeof(buf), "\\u%04x", c);
      out += buf;
    } else {
      out += static_cast<char>(c);
    }
  }
  return out;
}

// The start of a response body for a message: secrets are masked before it is cut, so
// that no part of one is left at the cut.
std::string Excerpt(const std::string& raw,
                    const std::vector<std::string>& secrets = {}) {
  const std::string body = MaskKnownSecrets(MaskSecrets(raw, secrets));
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

// scheme://host:port of a URL, in lower case.
std::string Origin(const std::string& url) {
  size_t scheme = url.find("://");
  if (scheme == std::string::npos) return url;
  size_t end = url.find_first_of("/?#", scheme + 3);
  std::string origin = Lower(url.substr(0, end));
  size_t at = origin.rfind('@');  // user info is not part of the origin
  if (at != std::string::npos && at > scheme) origin.erase(scheme + 3, at - scheme - 2);
  return origin;
}

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
  // The auth secrets are also masked process-wide (whatever echoes them); values from
  // the environment in headers and parameters (a page size, a date) only here.
  for (const auto& secret : {a.token, a.password, a.value, a.client_secret}) {
    AddSecret(secret);
    RegisterSecret(secret);
  }
  for (const auto& secret : config_.secrets) AddSecret(secret);
  if (a.type == HttpAuth::Type::kBasic) AddSecret(Base64(a.username + ":" + a.password));
  if (a.type == HttpAuth::Type::kOAuth2)
    AddSecret(Base64(UriEncode(a.client_id) + ":" + UriEncode(a.client_secret)));
}

void HttpPager::AddSecret(const std::string& secret) {
  if (secret.empty()) return;
  // Longest first, so that a secret containing another is masked whole.
  for (const auto& s : {secret, UriEncode(secret)}) {
    if (std::find(secrets_.begin(), secrets_.end(), s) != secrets_.end()) continue;
    auto at = std::find_if(secrets_.begin(), secrets_.end(),
                           [&](const std::string& o) { return o.size() < s.size(); });
    secrets_.insert(at, s);
  }
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
  return arrow::Status::IOError(Mask(shown + ": " + why));
}

arrow::Result<std::string> HttpPager::Substitute(const std::string& text, Encoding encode,
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
    out += encode == Encoding::kQuery  ? UriEncode(*watermark_)
           : encode == Encoding::kJson ? JsonEscaped(*watermark_)
                                       : *watermark_;
    pos = at + sizeof(kWatermarkPlaceholder) - 1;
  }
}

arrow::Result<std::string> HttpPager::FirstUrl() const {
  ARROW_ASSIGN_OR_RAISE(std::string url,
                        Substitute(config_.url, Encoding::kQuery, "source.url"));
  for (const auto& [name, value] : config_.params) {
    if (value == kWatermarkPlaceholder && !watermark_) continue;
    ARROW_ASSIGN_OR_RAISE(std::string v,
                          Substitute(value, Encoding::kNone, "source.params." + name));
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
      AddSecret(it->second.token);
      RegisterSecret(it->second.token);
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
  std::string shown = "POST OAuth2 token endpoint " + Shown(a.token_url);
  ARROW_ASSIGN_OR_RAISE(HttpExchange ex, Fetch(std::move(r), shown, false));
  dom::parser parser;
  dom::element doc;
  std::string_view token;
  if (parser.parse(ex.body).get(doc) || doc["access_token"].get(token) || token.empty()) {
    // The body may hold a token elsewhere: only its field names are shown.
    std::string fields;
    dom::object obj;
    if (!doc.get(obj)) {
      for (auto field : obj)
        fields += (fields.empty() ? "" : ", ") + std::string(field.key);
    }
    return Failed(shown, "the response has no access_token (" +
                             (fields.empty() ? std::string("not a JSON object")
                                             : "its fields: " + fields) +
                             ")");
  }
  int64_t expires_in = 3600;
  int64_t given = 0;
  if (!doc["expires_in"].get(given) && given > 0)
    expires_in = std::min<int64_t>(given, 1e9);
  CachedToken cached{std::string(token),
                     now + std::max<int64_t>(expires_in - 30, 1) * 1000};
  AddSecret(cached.token);
  RegisterSecret(cached.token);
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
        // A next-page URL may echo the key already.
        std::string param = UriEncode(a.name) + "=";
        size_t q = r->url.find('?');
        bool present =
            q != std::string::npos && (r->url.find("?" + param, q) != std::string::npos ||
                                       r->url.find("&" + param, q) != std::string::npos);
        if (!present) r->url = WithParam(r->url, a.name, a.value);
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
  // Credentials (and a token request's client secret) never follow a redirect to another
  // origin: with them, redirects are followed here, within the origin only.
  bool credentials = !authenticate || config_.auth.type != HttpAuth::Type::kNone;
  request.follow_redirects = !credentials;
  int redirects = 0;
  for (int attempt = 0;; ++attempt) {
    HttpRequest r = request;
    if (authenticate) ARROW_RETURN_NOT_OK(Decorate(&r));
    HttpExchange ex = client_->Send(r);
    if (ex.status >= 200 && ex.status < 300) return ex;
    if (credentials && (ex.status == 301 || ex.status == 302 || ex.status == 303 ||
                        ex.status == 307 || ex.status == 308)) {
      std::string location = ex.Header("location");
      if (location.empty())
        return Failed(shown, StatusText(ex.status) + " without a Location");
      std::string target = ResolveUrl(request.url, location);
      if (Origin(target) != Origin(request.url))
        return Failed(shown, "redirected to another host (" + Shown(Origin(target)) +
                                 "): the API's credentials are not sent there");
      if (++redirects > 10) return Failed(shown, "more than 10 redirects");
      if (ex.status == 303 ||
          ((ex.status == 301 || ex.status == 302) && request.method == "POST")) {
        request.method = "GET";
        request.body.clear();
      }
      request.url = target;
      --attempt;
      continue;
    }
    // An expired or revoked token: one new token, then the request again.
    if (ex.status == 401 && authenticate && !refreshed &&
        config_.auth.type == HttpAuth::Type::kOAuth2) {
      refreshed = true;
      ARROW_RETURN_NOT_OK(BearerToken(true).status());
      --attempt;
      continue;
    }
    std::string what = ex.status == 0
                           ? ex.error
                           : StatusText(ex.status) + ": " + Excerpt(ex.body, secrets_);
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
        Mask(shown + ": " + what + "; retrying in " + std::to_string(wait) + " ms"));
    std::this_thread::sleep_for(std::chrono::milliseconds(wait));
  }
}

namespace {

// The next cursor or URL at path: nullopt at the end (null, empty, or absent from an
// empty page). Absent from a page with records (a wrong path would end paging after the
// first page, and load part of the API as if it were all of it) or not a scalar fails.
arrow::Result<std::optional<std::string>> NextValue(
    dom::element doc, const std::vector<std::string>& path, const std::string& name,
    int64_t records, const std::function<arrow::Status(const std::string&)>& failed) {
  auto found = Lookup(doc, path);
  if (!found) {
    if (records == 0) return std::nullopt;
    return failed("the response has nothing at " + name +
                  " (null or an empty string ends the paging; a missing field is taken "
                  "for a wrong path)");
  }
  if (found->is_null()) return std::nullopt;
  auto text = ScalarText(*found);
  if (!text) return failed(name + " is a list or an object, not a cursor or URL");
  if (text->empty()) return std::nullopt;
  return text;
}

// The records of a parsed page handed to on_record, in order; how many there were.
// failed makes the error of the page.
arrow::Result<int64_t> PageRecords(
    dom::element doc, const std::vector<std::string>& records_path,
    const std::string& records_text, const std::string& body,
    const HttpPager::Callbacks& callbacks,
    const std::function<arrow::Status(const std::string&)>& failed) {
  auto lists = [&]() {
    std::vector<std::string> found;
    FindLists(doc, "", 3, &found);
    std::string hint;
    for (const auto& l : found) hint += (hint.empty() ? "" : ", ") + l;
    return hint;
  };
  dom::element records = doc;
  if (!records_path.empty()) {
    auto found = Lookup(doc, records_path);
    if (!found) {
      std::string hint = lists();
      return failed("the response has nothing at records: " + records_text +
                    (hint.empty() ? " (and no list)" : " (its lists: " + hint + ")") +
                    ": " + Excerpt(body));
    }
    records = *found;
  }
  int64_t n = 0;
  if (records.is_null()) return n;  // "items": null, as some APIs end
  if (!records.is_array()) {
    std::string hint = lists();
    return failed((records_path.empty()
                       ? std::string("the response is not a list of records: set "
                                     "source.records to the path of its list")
                       : "records: " + records_text + " is not a list") +
                  (hint.empty() ? "" : " (its lists: " + hint + ")"));
  }
  for (dom::element record : dom::array(records)) {
    ++n;
    if (!record.is_object())
      return failed("record " + std::to_string(n) + " is not a JSON object");
    auto st = callbacks.on_record(simdjson::minify(record));
    if (!st.ok()) return failed("record " + std::to_string(n) + ": " + st.message());
  }
  return n;
}

}  // namespace

arrow::Status HttpPager::Walk(const Callbacks& callbacks) {
  const HttpPagination& p = config_.paginate;
  ARROW_ASSIGN_OR_RAISE(std::string base, FirstUrl());
  std::string body;
  if (!config_.body.empty()) {
    ARROW_ASSIGN_OR_RAISE(body, Substitute(config_.body, Encoding::kJson, "source.body"));
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
  const std::string origin = Origin(base);
  size_t last_page_hash = 0;
  for (int64_t page = 1;; ++page) {
    std::string shown = config_.method + " " + Shown(url);
    if (!requested.insert(url).second)
      return Failed(shown, "the API's next page is one already read: paging would loop");
    if (config_.auth.type != HttpAuth::Type::kNone && Origin(url) != origin)
      return Failed(shown, "the API's next page is on another host than " +
                               Shown(origin) + ": its credentials are not sent there");
    pages_.push_back(Shown(url));
    HttpRequest request{config_.method, url, headers, body, true};
    ARROW_ASSIGN_OR_RAISE(HttpExchange ex, Fetch(std::move(request), shown, true));
    if (callbacks.on_page) ARROW_RETURN_NOT_OK(callbacks.on_page(page, ex.body));
    dom::element doc;
    if (auto error = parser.parse(ex.body).get(doc)) {
      std::string type = ex.Header("content-type");
      return Failed(shown, std::string("the response is not JSON (") +
                               simdjson::error_message(error) +
                               (type.empty() ? "" : "; Content-Type " + type) +
                               "): " + Excerpt(ex.body, secrets_));
    }
    auto fail = [&](const std::string& why) { return Failed(shown, why); };
    ARROW_ASSIGN_OR_RAISE(int64_t n, PageRecords(doc, records_path, config_.records_path,
                                                 ex.body, callbacks, fail));
    records_ += n;
    // One page past max_pages is read to learn that there are no more (an empty page
    // ends offset and page numbers).
    if (p.max_pages > 0 && page > p.max_pages && n > 0) {
      return Failed(shown, "the API has more than max_pages (" +
                               std::to_string(p.max_pages) +
                               ") pages; raise paginate.max_pages if that is expected");
    }
    // An API that answers every page number past its end with its last page.
    size_t page_hash = std::hash<std::string>{}(ex.body);
    if (n > 0 && page > 1 && page_hash == last_page_hash)
      return Failed(shown,
                    "the API gave the same page twice in a row: paging would "
                    "repeat it (does it ignore the paging parameters?)");
    last_page_hash = page_hash;
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
    if (total >= 0 && records_ >= total) break;
    // Offsets and page numbers end at an empty page; a cursor, link or next URL when the
    // API gives none (an empty page with a next one goes on: some APIs filter pages).
    std::optional<std::string> next;
    switch (p.type) {
      case HttpPagination::Type::kNone:
        break;
      case HttpPagination::Type::kOffset:
        offset += n;
        if (n > 0) next = page_url();
        break;
      case HttpPagination::Type::kPage:
        ++page_number;
        if (n > 0) next = page_url();
        break;
      case HttpPagination::Type::kCursor: {
        ARROW_ASSIGN_OR_RAISE(
            auto cursor,
            NextValue(doc, cursor_path, "paginate.cursor_path (" + p.cursor_path + ")", n,
                      fail));
        if (cursor) next = WithParam(base, p.cursor_param, *cursor);
        break;
      }
      case HttpPagination::Type::kLink: {
        if (auto link = LinkNext(ex.Header("link"))) next = ResolveUrl(url, *link);
        break;
      }
      case HttpPagination::Type::kNextUrl: {
        ARROW_ASSIGN_OR_RAISE(
            auto target,
            NextValue(doc, next_path, "paginate.next_url_path (" + p.next_url_path + ")",
                      n, fail));
        if (target) next = ResolveUrl(url, *target);
        break;
      }
    }
    if (!next) break;
    url = *next;
  }
  if (total >= 0 && records_ != total) {
    return Failed(config_.method + " " + pages_.back(),
                  "the API said it holds " + std::to_string(total) +
                      " records (paginate.total_path) but its pages gave " +
                      std::to_string(records_) +
                      ": records moved between pages while they were read. Nothing was "
                      "loaded; run again");
  }
  return arrow::Status::OK();
}

arrow::Status HttpPager::Replay(const std::string& dir, const Callbacks& callbacks) {
  std::vector<std::filesystem::path> files;
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(dir, ec)) {
    std::string name = entry.path().filename().string();
    if (name.rfind("page-", 0) == 0 && entry.path().extension() == ".json")
      files.push_back(entry.path());
  }
  if (ec)
    return arrow::Status::IOError(config_.description,
                                  ": cannot list the archived pages in ", dir, ": ",
                                  ec.message());
  if (files.empty())
    return arrow::Status::Invalid(config_.description, ": ", dir,
                                  " holds no archived pages (page-00001.json ...)");
  std::sort(files.begin(), files.end());
  std::vector<std::string> records_path;
  if (!config_.records_path.empty()) {
    ARROW_ASSIGN_OR_RAISE(records_path, ParseJsonPath(config_.records_path));
  }
  dom::parser parser;
  for (const auto& file : files) {
    std::string shown = "replay " + file.string();
    std::ifstream in(file, std::ios::binary);
    std::string body((std::istreambuf_iterator<char>(in)),
                     std::istreambuf_iterator<char>());
    if (!in && !in.eof()) return Failed(shown, "cannot read it");
    pages_.push_back(file.string());
    dom::element doc;
    if (auto error = parser.parse(body).get(doc))
      return Failed(shown,
                    std::string("not JSON (") + simdjson::error_message(error) + ")");
    auto fail = [&](const std::string& why) { return Failed(shown, why); };
    ARROW_ASSIGN_OR_RAISE(int64_t n, PageRecords(doc, records_path, config_.records_path,
                                                 body, callbacks, fail));
    records_ += n;
  }
  return arrow::Status::OK();
}

}  // namespace inlet
