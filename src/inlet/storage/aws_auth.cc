#include "inlet/storage/aws_auth.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/sha.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <fstream>
#include <mutex>
#include <sstream>

#include "inlet/common/http.h"
#include "inlet/common/json.h"
#include "inlet/time.h"

namespace inlet {

namespace {

std::string Env(const char* name) {
  const char* v = std::getenv(name);
  return v ? std::string(v) : std::string();
}

std::string Trim(std::string s) {
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r'))
    s.pop_back();
  size_t i = 0;
  while (i < s.size() && (s[i] == ' ' || s[i] == '\t')) ++i;
  return s.substr(i);
}

std::string Hex(const unsigned char* data, size_t n) {
  static const char* digits = "0123456789abcdef";
  std::string out;
  out.reserve(2 * n);
  for (size_t i = 0; i < n; ++i) {
    out.push_back(digits[data[i] >> 4]);
    out.push_back(digits[data[i] & 15]);
  }
  return out;
}

std::string Sha256Hex(const std::string& data) {
  unsigned char digest[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(data.data()), data.size(), digest);
  return Hex(digest, sizeof(digest));
}

std::string Hmac(const std::string& key, const std::string& data) {
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int n = 0;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
       reinterpret_cast<const unsigned char*>(data.data()), data.size(), out, &n);
  return std::string(reinterpret_cast<char*>(out), n);
}

// An ISO 8601 expiration time in seconds since the epoch; 0 when absent or unreadable.
int64_t ExpiresAt(const std::string& text) {
  if (text.empty()) return 0;
  auto micros = ParseTimestampMicros(text);
  return micros.ok() ? *micros / 1000000 : 0;
}

// The text of the first <tag>...</tag> of an XML document.
std::string XmlText(const std::string& xml, const std::string& tag) {
  auto a = xml.find("<" + tag + ">");
  if (a == std::string::npos) return "";
  a += tag.size() + 2;
  auto b = xml.find("</" + tag + ">", a);
  return b == std::string::npos ? "" : xml.substr(a, b - a);
}

// scheme://host[:port] split, '/'-trimmed.
std::pair<std::string, std::string> SchemeAndHost(std::string url) {
  std::string scheme = "https";
  auto sep = url.find("://");
  if (sep != std::string::npos) {
    scheme = url.substr(0, sep);
    url = url.substr(sep + 3);
  }
  while (!url.empty() && url.back() == '/') url.pop_back();
  return {scheme, url.substr(0, url.find('/'))};
}

using Section = std::map<std::string, std::string>;

// The sections of an AWS shared file: credentials ([name]) or config ([profile name],
// [default]) keyed by profile name.
std::map<std::string, Section> ReadIni(const std::string& file, bool config) {
  std::map<std::string, Section> out;
  std::ifstream in(file);
  std::string line, current;
  bool inside = false;
  while (std::getline(in, line)) {
    line = Trim(line);
    if (line.empty() || line[0] == '#' || line[0] == ';') continue;
    if (line.front() == '[') {
      current = Trim(line.substr(1, line.find(']') - 1));
      if (config && current.rfind("profile ", 0) == 0) current = Trim(current.substr(8));
      inside = true;
      continue;
    }
    auto eq = line.find('=');
    if (!inside || eq == std::string::npos) continue;
    out[current][Trim(line.substr(0, eq))] = Trim(line.substr(eq + 1));
  }
  return out;
}

class Chain {
 public:
  explicit Chain(const ChainContext& c) : c_(c) {
    std::string home = Env("HOME");
    std::string credentials = Env("AWS_SHARED_CREDENTIALS_FILE");
    std::string config = Env("AWS_CONFIG_FILE");
    credentials_ =
        ReadIni(credentials.empty() ? home + "/.aws/credentials" : credentials, false);
    config_ = ReadIni(config.empty() ? home + "/.aws/config" : config, true);
  }

  arrow::Result<AwsCredentials> Resolve() {
    AwsCredentials env{Env("AWS_ACCESS_KEY_ID"), Env("AWS_SECRET_ACCESS_KEY"),
                       Env("AWS_SESSION_TOKEN"), "environment"};
    if (!env.empty()) return env;
    if (!Env("AWS_WEB_IDENTITY_TOKEN_FILE").empty() && !Env("AWS_ROLE_ARN").empty()) {
      return AssumeRoleWithWebIdentity(Env("AWS_ROLE_ARN"),
                                       Env("AWS_WEB_IDENTITY_TOKEN_FILE"),
                                       Env("AWS_ROLE_SESSION_NAME"), "");
    }
    std::string profile = Env("AWS_PROFILE");
    if (profile.empty()) profile = Env("AWS_DEFAULT_PROFILE");
    if (!profile.empty() && !credentials_.count(profile) && !config_.count(profile)) {
      return arrow::Status::Invalid(
          "the AWS profile '", profile,
          "' (AWS_PROFILE) is in neither the credentials nor the "
          "config file");
    }
    if (profile.empty()) profile = "default";
    ARROW_ASSIGN_OR_RAISE(auto from_profile, FromProfile(profile, 0));
    if (!from_profile.empty()) return from_profile;
    ARROW_ASSIGN_OR_RAISE(auto container, FromContainer());
    if (!container.empty()) return container;
    return FromInstanceMetadata();
  }

 private:
  Section Profile(const std::string& name) const {
    Section s;
    if (auto it = config_.find(name); it != config_.end()) s = it->second;
    if (auto it = credentials_.find(name); it != credentials_.end()) {
      for (const auto& [k, v] : it->second) s[k] = v;  // the credentials file wins
    }
    return s;
  }

  arrow::Result<AwsCredentials> FromProfile(const std::string& name, int depth) {
    if (depth > 4)
      return arrow::Status::Invalid("AWS profile ", name,
                                    ": source_profile chain too long");
    Section s = Profile(name);
    std::string where = "AWS profile '" + name + "'";
    if (s.count("role_arn")) {
      const std::string& role = s["role_arn"];
      if (s.count("web_identity_token_file")) {
        return AssumeRoleWithWebIdentity(role, s["web_identity_token_file"],
                                         s["role_session_name"], s["duration_seconds"]);
      }
      AwsCredentials base;
      if (s.count("source_profile")) {
        std::string source = s["source_profile"];
        if (source == name) {
          Section own = s;
          own.erase("role_arn");
          base = Static(own, name);
        } else {
          ARROW_ASSIGN_OR_RAISE(base, FromProfile(source, depth + 1));
        }
      } else if (s.count("credential_source")) {
        const std::string& cs = s["credential_source"];
        if (cs == "Environment") {
          base = {Env("AWS_ACCESS_KEY_ID"), Env("AWS_SECRET_ACCESS_KEY"),
                  Env("AWS_SESSION_TOKEN"), "environment"};
        } else if (cs == "EcsContainer") {
          ARROW_ASSIGN_OR_RAISE(base, FromContainer());
        } else if (cs == "Ec2InstanceMetadata") {
          ARROW_ASSIGN_OR_RAISE(base, FromInstanceMetadata());
        } else {
          return arrow::Status::Invalid(where, ": unknown credential_source '", cs, "'");
        }
      }
      if (base.empty()) {
        return arrow::Status::Invalid(where,
                                      ": role_arn needs source_profile, "
                                      "credential_source or web_identity_token_file "
                                      "that give credentials");
      }
      return AssumeRole(role, base, s["role_session_name"], s["duration_seconds"],
                        s["external_id"], name);
    }
    if (s.count("credential_process")) return FromProcess(s["credential_process"], name);
    if (s.count("sso_start_url") || s.count("sso_session")) {
      return arrow::Status::NotImplemented(
          where,
          " uses AWS IAM Identity Center (SSO), which inlet does not read; set "
          "credential_process = aws configure export-credentials --profile ",
          name, " --format process");
    }
    return Static(s, name);
  }

  static AwsCredentials Static(const Section& s, const std::string& name) {
    auto get = [&](const char* k) {
      auto it = s.find(k);
      return it == s.end() ? std::string() : it->second;
    };
    AwsCredentials c{get("aws_access_key_id"), get("aws_secret_access_key"),
                     get("aws_session_token"), "profile " + name};
    if (c.secret_access_key.empty()) c.access_key_id.clear();
    return c;
  }

  // The STS endpoint: AWS_ENDPOINT_URL_STS, else a custom S3 endpoint (MinIO serves STS
  // there), else AWS's regional one.
  std::string StsEndpoint() const {
    std::string e = Env("AWS_ENDPOINT_URL_STS");
    if (e.empty()) e = c_.endpoint;
    if (e.empty()) e = "https://sts." + c_.region + ".amazonaws.com";
    return e;
  }

  arrow::Result<AwsCredentials> Sts(const std::string& form, const AwsCredentials* signer,
                                    const std::string& what) {
    auto [scheme, host] = SchemeAndHost(StsEndpoint());
    std::vector<std::string> headers = {
        "Content-Type: application/x-www-form-urlencoded; charset=utf-8"};
    if (signer) {
      auto signed_headers =
          SignV4("POST", "/", "",
                 {{"host", host},
                  {"content-type", "application/x-www-form-urlencoded; charset=utf-8"}},
                 form, "sts", c_.region, *signer);
      headers.insert(headers.end(), signed_headers.begin(), signed_headers.end());
    }
    ARROW_ASSIGN_OR_RAISE(auto r, Http("POST", scheme + "://" + host + "/", headers, form,
                                       c_.ca_bundle, 10, what));
    if (r.status != 200) {
      std::string code = XmlText(r.body, "Code");
      std::string message = XmlText(r.body, "Message");
      return arrow::Status::IOError(what, ": STS answered HTTP ", r.status,
                                    code.empty() ? "" : " " + code,
                                    message.empty() ? "" : ": " + message);
    }
    AwsCredentials out{XmlText(r.body, "AccessKeyId"), XmlText(r.body, "SecretAccessKey"),
                       XmlText(r.body, "SessionToken"), what,
                       ExpiresAt(XmlText(r.body, "Expiration"))};
    if (out.empty() || out.secret_access_key.empty())
      return arrow::Status::IOError(what, ": STS gave no credentials");
    return out;
  }

  static std::string SessionName(const std::string& given) {
    return given.empty() ? "inlet-" + std::to_string(::getpid()) : given;
  }

  arrow::Result<AwsCredentials> AssumeRole(const std::string& role,
                                           const AwsCredentials& base,
                                           const std::string& session,
                                           const std::string& duration,
                                           const std::string& external_id,
                                           const std::string& profile) {
    std::string form = "Action=AssumeRole&DurationSeconds=" +
                       (duration.empty() ? std::string("3600") : duration) +
                       "&RoleArn=" + UriEncode(role) +
                       "&RoleSessionName=" + UriEncode(SessionName(session)) +
                       "&Version=2011-06-15";
    if (!external_id.empty()) form += "&ExternalId=" + UriEncode(external_id);
    return Sts(form, &base, "assumed role (profile " + profile + ")");
  }

  arrow::Result<AwsCredentials> AssumeRoleWithWebIdentity(const std::string& role,
                                                          const std::string& token_file,
                                                          const std::string& session,
                                                          const std::string& duration) {
    std::ifstream in(token_file);
    std::stringstream token;
    token << in.rdbuf();
    if (!in)
      return arrow::Status::IOError("web identity: cannot read the token file ",
                                    token_file);
    std::string form =
        "Action=AssumeRoleWithWebIdentity&DurationSeconds=" +
        (duration.empty() ? std::string("3600") : duration) +
        "&RoleArn=" + UriEncode(role) +
        "&RoleSessionName=" + UriEncode(SessionName(session)) +
        "&Version=2011-06-15&WebIdentityToken=" + UriEncode(Trim(token.str()));
    return Sts(form, nullptr, "web identity");
  }

  // credential_process: a command printing {"Version": 1, "AccessKeyId": ...}.
  arrow::Result<AwsCredentials> FromProcess(const std::string& command,
                                            const std::string& profile) {
    std::string what = "credential process of AWS profile '" + profile + "'";
    // Run by the shell, as the AWS CLI does; killed when it has not finished in time
    // (INLET_CREDENTIAL_PROCESS_TIMEOUT_S, default 60 s), so a hung helper cannot hang
    // inlet.
    int64_t timeout_s = 60;
    if (std::string t = Env("INLET_CREDENTIAL_PROCESS_TIMEOUT_S"); !t.empty())
      timeout_s = std::max<int64_t>(1, std::atoll(t.c_str()));
    int fds[2];
    if (::pipe(fds) != 0) return arrow::Status::IOError(what, ": cannot start it");
    pid_t pid = ::fork();
    if (pid < 0) {
      ::close(fds[0]);
      ::close(fds[1]);
      return arrow::Status::IOError(what, ": cannot start it");
    }
    if (pid == 0) {
      ::setpgid(0, 0);
      ::dup2(fds[1], STDOUT_FILENO);
      ::close(fds[0]);
      ::close(fds[1]);
      ::execl("/bin/sh", "sh", "-c", command.c_str(), static_cast<char*>(nullptr));
      ::_exit(127);
    }
    ::close(fds[1]);
    std::string out;
    std::array<char, 4096> buf;
    auto deadline = std::time(nullptr) + timeout_s;
    bool timed_out = false;
    while (true) {
      struct pollfd p = {fds[0], POLLIN, 0};
      int left = static_cast<int>(std::max<int64_t>(0, deadline - std::time(nullptr)));
      int ready = ::poll(&p, 1, left * 1000);
      if (ready == 0) {
        timed_out = true;
        break;
      }
      if (ready < 0 && errno == EINTR) continue;
      ssize_t n = ready < 0 ? -1 : ::read(fds[0], buf.data(), buf.size());
      if (n <= 0) break;
      out.append(buf.data(), static_cast<size_t>(n));
    }
    ::close(fds[0]);
    if (timed_out) ::kill(-pid, SIGKILL);
    int status = 0;
    while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    if (timed_out) {
      return arrow::Status::IOError(what, ": no answer in ", timeout_s,
                                    " s (INLET_CREDENTIAL_PROCESS_TIMEOUT_S)");
    }
    int rc = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    if (rc != 0) return arrow::Status::IOError(what, ": exited with status ", rc);
    AwsCredentials c = FromJson(out, "credential process");
    if (c.empty() || c.secret_access_key.empty()) {
      return arrow::Status::IOError(what, ": its output is not the JSON of credentials");
    }
    return c;
  }

  // A credentials JSON document of the container or instance metadata endpoints.
  static AwsCredentials FromJson(const std::string& body, const std::string& source) {
    auto j = ParseJson(body, source);
    AwsCredentials c;
    c.source = source;
    if (!j.ok() || !j->is_object()) return c;
    auto get = [&](const char* k) {
      return j->contains(k) && (*j)[k].is_string() ? (*j)[k].get<std::string>()
                                                   : std::string();
    };
    c.access_key_id = get("AccessKeyId");
    c.secret_access_key = get("SecretAccessKey");
    c.session_token = get("Token");  // container and instance metadata
    if (c.session_token.empty()) c.session_token = get("SessionToken");  // a process
    c.expires_s = ExpiresAt(get("Expiration"));
    return c;
  }

  arrow::Result<AwsCredentials> FromContainer() {
    std::string url = Env("AWS_CONTAINER_CREDENTIALS_FULL_URI");
    std::string relative = Env("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI");
    if (!relative.empty()) url = "http://169.254.170.2" + relative;
    if (url.empty()) return AwsCredentials{};
    std::vector<std::string> headers;
    std::string token = Env("AWS_CONTAINER_AUTHORIZATION_TOKEN");
    if (std::string file = Env("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE"); !file.empty()) {
      std::ifstream in(file);
      std::getline(in, token);
    }
    if (!token.empty()) headers.push_back("Authorization: " + Trim(token));
    ARROW_ASSIGN_OR_RAISE(auto r,
                          Http("GET", url, headers, "", "", 2, "container credentials"));
    if (r.status != 200) {
      return arrow::Status::IOError("container credentials: HTTP ", r.status);
    }
    return FromJson(r.body, "container");
  }

  // IMDSv2: a session token, the role's name, its credentials. Nothing (quickly) off EC2.
  arrow::Result<AwsCredentials> FromInstanceMetadata() {
    if (Env("AWS_EC2_METADATA_DISABLED") == "true") return AwsCredentials{};
    std::string base = Env("AWS_EC2_METADATA_SERVICE_ENDPOINT");
    if (base.empty()) base = "http://169.254.169.254";
    while (!base.empty() && base.back() == '/') base.pop_back();
    auto token = Http("PUT", base + "/latest/api/token",
                      {"X-aws-ec2-metadata-token-ttl-seconds: 21600"}, "", "", 1,
                      "instance metadata");
    if (!token.ok() || token->status != 200) return AwsCredentials{};
    std::vector<std::string> auth = {"X-aws-ec2-metadata-token: " + token->body};
    std::string path = base + "/latest/meta-data/iam/security-credentials/";
    auto role = Http("GET", path, auth, "", "", 1, "instance metadata");
    if (!role.ok() || role->status != 200 || role->body.empty()) return AwsCredentials{};
    std::string name = Trim(role->body.substr(0, role->body.find('\n')));
    ARROW_ASSIGN_OR_RAISE(auto r,
                          Http("GET", path + name, auth, "", "", 2, "instance metadata"));
    if (r.status != 200)
      return arrow::Status::IOError("instance metadata credentials: HTTP ", r.status);
    return FromJson(r.body, "instance metadata");
  }

  ChainContext c_;
  std::map<std::string, Section> credentials_, config_;
};

}  // namespace

std::vector<std::string> SignV4(const std::string& method, const std::string& path,
                                const std::string& query,
                                std::map<std::string, std::string> headers,
                                const std::string& payload, const std::string& service,
                                const std::string& region, const AwsCredentials& c) {
  std::time_t now = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&now, &tm);
  char amz_date[17], date[9];
  std::strftime(amz_date, sizeof(amz_date), "%Y%m%dT%H%M%SZ", &tm);
  std::strftime(date, sizeof(date), "%Y%m%d", &tm);
  std::string payload_hash = Sha256Hex(payload);
  headers["x-amz-content-sha256"] = payload_hash;
  headers["x-amz-date"] = amz_date;
  if (!c.session_token.empty()) headers["x-amz-security-token"] = c.session_token;
  std::string canonical_headers, signed_headers;
  for (const auto& [name, value] : headers) {  // sorted by name
    canonical_headers += name + ":" + value + "\n";
    signed_headers += (signed_headers.empty() ? "" : ";") + name;
  }
  std::string canonical = method + "\n" + path + "\n" + query + "\n" + canonical_headers +
                          "\n" + signed_headers + "\n" + payload_hash;
  std::string scope = std::string(date) + "/" + region + "/" + service + "/aws4_request";
  std::string to_sign = std::string("AWS4-HMAC-SHA256\n") + amz_date + "\n" + scope +
                        "\n" + Sha256Hex(canonical);
  std::string k =
      Hmac(Hmac(Hmac(Hmac("AWS4" + c.secret_access_key, date), region), service),
           "aws4_request");
  std::string signature =
      Hex(reinterpret_cast<const unsigned char*>(Hmac(k, to_sign).data()), 32);
  std::vector<std::string> out = {"x-amz-content-sha256: " + payload_hash,
                                  std::string("x-amz-date: ") + amz_date};
  if (!c.session_token.empty()) out.push_back("x-amz-security-token: " + c.session_token);
  out.push_back("Authorization: AWS4-HMAC-SHA256 Credential=" + c.access_key_id + "/" +
                scope + ", SignedHeaders=" + signed_headers + ", Signature=" + signature);
  return out;
}

arrow::Result<AwsCredentials> ResolveAwsCredentials(const ChainContext& context) {
  // A process opens tables many times (a pipeline run, a stream's commits): credentials
  // are resolved once per setting for ten minutes, well inside an assumed role's session.
  static std::mutex mutex;
  static std::map<std::string, std::pair<std::time_t, AwsCredentials>> cache;
  std::string key = context.region + "\n" + context.endpoint + "\n" + Env("AWS_PROFILE") +
                    "\n" + Env("AWS_ACCESS_KEY_ID") + "\n" + Env("AWS_CONFIG_FILE") +
                    "\n" + Env("AWS_SHARED_CREDENTIALS_FILE");
  std::time_t now = std::time(nullptr);
  {
    std::lock_guard<std::mutex> lock(mutex);
    auto it = cache.find(key);
    if (it != cache.end() && now < it->second.first) return it->second.second;
  }
  ARROW_ASSIGN_OR_RAISE(auto credentials, Chain(context).Resolve());
  // Reused until ten minutes pass, or five minutes before the credentials expire.
  std::time_t until = now + 600;
  if (credentials.expires_s > 0)
    until = std::min<std::time_t>(until, credentials.expires_s - 300);
  std::lock_guard<std::mutex> lock(mutex);
  cache[key] = {until, credentials};
  return credentials;
}

}  // namespace inlet
