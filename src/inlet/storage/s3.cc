#include "inlet/storage/s3.h"

#include <arrow/filesystem/s3fs.h>
#include <curl/curl.h>

#include <chrono>
#include <cstdlib>
#include <ctime>
#include <fstream>
#include <mutex>
#include <thread>

#include "inlet/common/http.h"
#include "inlet/common/redact.h"
#include "inlet/storage/aws_auth.h"

namespace inlet {

namespace {

std::string Env(const char* name) {
  const char* v = std::getenv(name);
  return v ? std::string(v) : std::string();
}

struct Endpoint {
  std::string scheme;
  std::string host;  // host[:port]
};

Endpoint EndpointOf(const S3Config& c) {
  if (c.endpoint.empty()) return {"https", "s3." + c.region + ".amazonaws.com"};
  std::string e = c.endpoint;
  std::string scheme = "https";
  auto sep = e.find("://");
  if (sep != std::string::npos) {
    scheme = e.substr(0, sep);
    e = e.substr(sep + 3);
  }
  while (!e.empty() && e.back() == '/') e.pop_back();
  return {scheme, e};
}

size_t Collect(char* data, size_t size, size_t n, void* out) {
  static_cast<std::string*>(out)->append(data, size * n);
  return size * n;
}

// The <Code> of an S3 error response.
std::string ErrorCode(const std::string& body) {
  auto a = body.find("<Code>"), b = body.find("</Code>");
  if (a == std::string::npos || b == std::string::npos || b < a) return "";
  return body.substr(a + 6, b - a - 6);
}

void InitCurl() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

}  // namespace

S3Config S3Config::FromEnvironment() {
  S3Config c;
  c.endpoint = Env("AWS_ENDPOINT_URL_S3");
  if (c.endpoint.empty()) c.endpoint = Env("AWS_ENDPOINT_URL");
  std::string region = Env("AWS_REGION");
  if (region.empty()) region = Env("AWS_DEFAULT_REGION");
  if (!region.empty()) c.region = region;
  c.access_key_id = Env("AWS_ACCESS_KEY_ID");
  c.secret_access_key = Env("AWS_SECRET_ACCESS_KEY");
  c.session_token = Env("AWS_SESSION_TOKEN");
  c.ca_bundle = Env("AWS_CA_BUNDLE");
  std::string addressing = Env("INLET_S3_ADDRESSING");
  c.path_style = addressing == "path" || (addressing != "virtual" && !c.endpoint.empty());
  return c;
}

arrow::Status S3Config::Apply(const std::map<std::string, std::string>& options) {
  bool addressing_set = false;
  for (const auto& [name, value] : options) {
    if (name == "endpoint") {
      endpoint = value;
    } else if (name == "region") {
      region = value;
    } else if (name == "access_key_id") {
      access_key_id = value;
    } else if (name == "secret_access_key") {
      secret_access_key = value;
    } else if (name == "session_token") {
      session_token = value;
    } else if (name == "ca_bundle") {
      ca_bundle = value;
    } else if (name == "addressing") {
      if (value != "path" && value != "virtual") {
        return arrow::Status::Invalid(
            "storage option addressing must be 'path' or 'virtual', not '", value, "'");
      }
      path_style = value == "path";
      addressing_set = true;
    } else {
      return arrow::Status::Invalid(
          "unknown storage option '", name,
          "' (known: endpoint, region, access_key_id, secret_access_key, session_token, "
          "addressing, ca_bundle)");
    }
  }
  if (options.count("access_key_id") && !options.count("secret_access_key")) {
    return arrow::Status::Invalid("storage option access_key_id needs secret_access_key");
  }
  if (options.count("access_key_id") && !options.count("session_token"))
    session_token.clear();
  if (options.count("endpoint") && !addressing_set && Env("INLET_S3_ADDRESSING").empty())
    path_style = !endpoint.empty();
  return arrow::Status::OK();
}

arrow::Status S3Config::ResolveCredentials() {
  if (!access_key_id.empty()) {
    if (credentials_source.empty()) credentials_source = "settings";
    return arrow::Status::OK();
  }
  ARROW_ASSIGN_OR_RAISE(auto c,
                        ResolveAwsCredentials(ChainContext{region, endpoint, ca_bundle}));
  access_key_id = c.access_key_id;
  secret_access_key = c.secret_access_key;
  session_token = c.session_token;
  credentials_source = c.source;
  credentials_expire_s = c.expires_s;
  return arrow::Status::OK();
}

arrow::Result<S3Location> S3Location::Parse(const std::string& uri) {
  if (uri.rfind("s3://", 0) != 0)
    return arrow::Status::Invalid("not an s3:// location: '", uri, "'");
  std::string rest = uri.substr(5);
  while (!rest.empty() && rest.back() == '/') rest.pop_back();
  S3Location l;
  auto slash = rest.find('/');
  l.bucket = rest.substr(0, slash);
  if (slash != std::string::npos) l.prefix = rest.substr(slash + 1);
  if (l.bucket.empty())
    return arrow::Status::Invalid("no bucket in '", uri, "' (expected s3://BUCKET/PATH)");
  return l;
}

arrow::Result<std::shared_ptr<arrow::fs::FileSystem>> MakeS3FileSystem(
    const S3Config& c) {
  static std::once_flag once;
  static arrow::Status init;
  std::call_once(once, [] {
    arrow::fs::S3GlobalOptions g;
    g.log_level = arrow::fs::S3LogLevel::Fatal;
    init = arrow::fs::InitializeS3(g);
  });
  ARROW_RETURN_NOT_OK(init);
  auto o = arrow::fs::S3Options::Defaults();
  o.region = c.region;
  if (!c.endpoint.empty()) {
    Endpoint e = EndpointOf(c);
    o.endpoint_override = e.host;
    o.scheme = e.scheme;
  }
  o.force_virtual_addressing = !c.path_style && !c.endpoint.empty();
  // An endpoint may echo the request's headers into its error, and Arrow's message
  // carries it.
  RegisterSecret(c.secret_access_key);
  RegisterSecret(c.session_token);
  if (!c.access_key_id.empty())
    o.ConfigureAccessKey(c.access_key_id, c.secret_access_key, c.session_token);
  o.tls_ca_file_path = c.ca_bundle;
  o.allow_bucket_creation = false;
  o.allow_bucket_deletion = false;
  ARROW_ASSIGN_OR_RAISE(auto fs, arrow::fs::S3FileSystem::Make(o));
  return fs;
}

void FinalizeObjectStorage() {
  if (arrow::fs::IsS3Initialized() && !arrow::fs::IsS3Finalized())
    (void)arrow::fs::FinalizeS3();
}

arrow::Result<bool> S3PutIfAbsent(const S3Config& c, const std::string& bucket,
                                  const std::string& key, const std::string& bytes) {
  InitCurl();
  Endpoint e = EndpointOf(c);
  std::string host = c.path_style ? e.host : bucket + "." + e.host;
  // '/' kept: S3 signs the path encoded once.
  std::string path =
      UriEncode(c.path_style ? "/" + bucket + "/" + key : "/" + key, /*keep_slash=*/true);
  std::string what = "s3://" + bucket + "/" + key;
  if (c.access_key_id.empty()) {
    return arrow::Status::IOError(
        "cannot write ", what,
        ": no AWS credentials (none in the environment, the profile, the container or "
        "the instance metadata; see docs/formats.md, \"Object storage\")");
  }
  AwsCredentials credentials{c.access_key_id, c.secret_access_key, c.session_token, ""};
  RegisterSecret(c.secret_access_key);
  RegisterSecret(c.session_token);
  for (int attempt = 0;; ++attempt) {
    CURL* curl = curl_easy_init();
    if (!curl)
      return arrow::Status::IOError("cannot write ", what,
                                    ": cannot start an HTTP request");
    struct curl_slist* headers = nullptr;
    auto add = [&](const std::string& h) {
      headers = curl_slist_append(headers, h.c_str());
    };
    add("If-None-Match: *");
    for (const auto& h : SignV4("PUT", path, "", {{"host", host}, {"if-none-match", "*"}},
                                bytes, "s3", c.region, credentials)) {
      add(h);
    }
    add("Content-Type: application/octet-stream");
    add("Expect:");
    std::string url = e.scheme + "://" + host + path;
    std::string body;
    curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
    curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, "PUT");
    curl_easy_setopt(curl, CURLOPT_POSTFIELDS, bytes.data());
    curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE,
                     static_cast<curl_off_t>(bytes.size()));
    curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, Collect);
    curl_easy_setopt(curl, CURLOPT_WRITEDATA, &body);
    curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT, 10L);
    curl_easy_setopt(curl, CURLOPT_TIMEOUT, 60L);
    curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
    if (!c.ca_bundle.empty()) curl_easy_setopt(curl, CURLOPT_CAINFO, c.ca_bundle.c_str());
    CURLcode rc = curl_easy_perform(curl);
    long status = 0;
    curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
    curl_slist_free_all(headers);
    curl_easy_cleanup(curl);
    if (rc != CURLE_OK) {
      if (attempt < 3) {
        std::this_thread::sleep_for(std::chrono::milliseconds(200 << attempt));
        continue;
      }
      return arrow::Status::IOError("cannot write ", what, ": ", curl_easy_strerror(rc),
                                    " (", e.scheme, "://", e.host, ")");
    }
    if (status == 200 || status == 201) return true;
    if (status == 412) return false;
    // 409: a concurrent conditional write to the same key is in progress; its outcome
    // decides.
    if ((status == 409 || status >= 500) && attempt < 5) {
      std::this_thread::sleep_for(std::chrono::milliseconds(100 << attempt));
      continue;
    }
    std::string code = ErrorCode(body);
    return arrow::Status::IOError("cannot write ", what, ": HTTP ", status,
                                  code.empty() ? "" : " " + code);
  }
}

}  // namespace inlet
