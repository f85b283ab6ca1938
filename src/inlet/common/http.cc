#include "inlet/common/http.h"

#include <curl/curl.h>

#include <algorithm>
#include <cctype>
#include <mutex>

namespace inlet {

namespace {

void GlobalInit() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

// A response being received: its body up to a limit, and its headers (those of the last
// response only, when curl followed a redirect or passed a 100 Continue).
struct Receiving {
  HttpExchange* out;
  int64_t limit;
  bool too_large = false;
};

size_t CollectLimited(char* data, size_t size, size_t n, void* p) {
  auto* r = static_cast<Receiving*>(p);
  if (r->limit > 0 && static_cast<int64_t>(r->out->body.size() + size * n) > r->limit) {
    r->too_large = true;
    return 0;  // curl stops with CURLE_WRITE_ERROR
  }
  r->out->body.append(data, size * n);
  return size * n;
}

size_t CollectHeader(char* data, size_t size, size_t n, void* p) {
  auto* r = static_cast<Receiving*>(p);
  std::string line(data, size * n);
  if (line.rfind("HTTP/", 0) == 0) {
    r->out->headers.clear();  // a new response starts
    return size * n;
  }
  size_t colon = line.find(':');
  if (colon == std::string::npos) return size * n;
  std::string name = line.substr(0, colon);
  for (auto& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  size_t start = line.find_first_not_of(" \t", colon + 1);
  size_t end = line.find_last_not_of(" \t\r\n");
  std::string value = start == std::string::npos || end < start
                          ? ""
                          : line.substr(start, end - start + 1);
  r->out->headers.emplace_back(std::move(name), std::move(value));
  return size * n;
}

}  // namespace

std::string HttpExchange::Header(const std::string& name) const {
  for (const auto& [k, v] : headers)
    if (k == name) return v;
  return "";
}

arrow::Result<std::unique_ptr<HttpClient>> HttpClient::Make(HttpClientOptions options) {
  GlobalInit();
  CURL* curl = curl_easy_init();
  if (!curl) return arrow::Status::IOError("cannot start an HTTP client (libcurl)");
  return std::unique_ptr<HttpClient>(new HttpClient(curl, std::move(options)));
}

HttpClient::HttpClient(void* curl, HttpClientOptions options)
    : curl_(curl), options_(std::move(options)) {}

HttpClient::~HttpClient() { curl_easy_cleanup(static_cast<CURL*>(curl_)); }

HttpExchange HttpClient::Send(const HttpRequest& request) {
  CURL* curl = static_cast<CURL*>(curl_);
  curl_easy_reset(curl);  // keeps the connection cache
  HttpExchange out;
  Receiving receiving{&out, options_.max_response_bytes};
  struct curl_slist* list = nullptr;
  for (const auto& h : request.headers) list = curl_slist_append(list, h.c_str());
  list = curl_slist_append(list, "Expect:");
  curl_easy_setopt(curl, CURLOPT_URL, request.url.c_str());
  if (request.method == "GET") {
    curl_easy_setopt(curl, CURLOPT_HTTPGET, 1L);
  } else if (request.method == "HEAD") {
    curl_easy_setopt(curl, CURLOPT_NOBODY, 1L);
  } else {
    curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, request.method.c_str());
    curl_easy_setopt(curl, CURLOPT_POSTFIELDS, request.body.data());
    curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE,
                     static_cast<curl_off_t>(request.body.size()));
  }
  curl_easy_setopt(curl, CURLOPT_HTTPHEADER, list);
  curl_easy_setopt(curl, CURLOPT_USERAGENT, "inlet");
  curl_easy_setopt(curl, CURLOPT_ACCEPT_ENCODING, "");  // every encoding curl decodes
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, CollectLimited);
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, &receiving);
  curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, CollectHeader);
  curl_easy_setopt(curl, CURLOPT_HEADERDATA, &receiving);
  curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS,
                   static_cast<long>(options_.connect_timeout_ms));
  curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, static_cast<long>(options_.timeout_ms));
  curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(curl, CURLOPT_FOLLOWLOCATION, request.follow_redirects ? 1L : 0L);
  curl_easy_setopt(curl, CURLOPT_MAXREDIRS, 10L);
  curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(curl, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
  if (options_.max_response_bytes > 0)
    curl_easy_setopt(curl, CURLOPT_MAXFILESIZE_LARGE,
                     static_cast<curl_off_t>(options_.max_response_bytes));
  if (!options_.ca_bundle.empty())
    curl_easy_setopt(curl, CURLOPT_CAINFO, options_.ca_bundle.c_str());
  if (!options_.client_cert.empty())
    curl_easy_setopt(curl, CURLOPT_SSLCERT, options_.client_cert.c_str());
  if (!options_.client_key.empty())
    curl_easy_setopt(curl, CURLOPT_SSLKEY, options_.client_key.c_str());
  if (!options_.verify) {
    curl_easy_setopt(curl, CURLOPT_SSL_VERIFYPEER, 0L);
    curl_easy_setopt(curl, CURLOPT_SSL_VERIFYHOST, 0L);
  }
  CURLcode rc = curl_easy_perform(curl);
  curl_slist_free_all(list);
  if (rc == CURLE_OK) {
    curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &out.status);
    return out;
  }
  out.status = 0;
  out.body.clear();
  if (receiving.too_large || rc == CURLE_FILESIZE_EXCEEDED) {
    out.error = "the response is larger than max_response_size (" +
                std::to_string(options_.max_response_bytes) + " bytes)";
    return out;
  }
  out.error = curl_easy_strerror(rc);
  switch (rc) {
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_CONNECT:
    case CURLE_OPERATION_TIMEDOUT:
    case CURLE_PARTIAL_FILE:
    case CURLE_RECV_ERROR:
    case CURLE_SEND_ERROR:
    case CURLE_GOT_NOTHING:
    case CURLE_HTTP2:
    case CURLE_HTTP2_STREAM:
    case CURLE_BAD_CONTENT_ENCODING:
      out.retryable = true;
      break;
    default:
      out.retryable = false;
  }
  return out;
}

arrow::Result<HttpResponse> Http(const std::string& method, const std::string& url,
                                 const std::vector<std::string>& headers,
                                 const std::string& body, const std::string& ca_bundle,
                                 long timeout_s, const std::string& what) {
  HttpClientOptions options;
  options.connect_timeout_ms = timeout_s * 1000;
  options.timeout_ms = timeout_s * 3000;
  options.ca_bundle = ca_bundle;
  auto client = HttpClient::Make(std::move(options));
  if (!client.ok()) return arrow::Status::IOError(what, ": cannot start an HTTP request");
  HttpExchange ex = (*client)->Send(HttpRequest{method, url, headers, body, false});
  if (ex.status == 0) return arrow::Status::IOError(what, ": ", ex.error);
  return HttpResponse{ex.status, std::move(ex.body)};
}

std::optional<int64_t> RetryAfterMs(const std::string& value, int64_t now_ms) {
  if (value.empty()) return std::nullopt;
  bool digits = true;
  for (char c : value) digits = digits && std::isdigit(static_cast<unsigned char>(c));
  if (digits) return value.size() > 9 ? INT64_C(999999999000) : std::stoll(value) * 1000;
  time_t at = curl_getdate(value.c_str(), nullptr);
  if (at < 0) return std::nullopt;
  return std::max<int64_t>(0, static_cast<int64_t>(at) * 1000 - now_ms);
}

std::string UriEncode(const std::string& text, bool keep_slash) {
  static const char* digits = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : text) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~' ||
        (keep_slash && c == '/')) {
      out.push_back(static_cast<char>(c));
    } else {
      out.push_back('%');
      out.push_back(digits[c >> 4]);
      out.push_back(digits[c & 15]);
    }
  }
  return out;
}

}  // namespace inlet
