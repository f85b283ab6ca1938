// AWS request signing (Signature Version 4) and the credential chain AWS tools use, for
// every request inlet makes to S3: Arrow's S3 file system is given the credentials this
// chain resolves, and the conditional PUT of commits is signed with the same ones.
// Hand-written because the AWS SDK inside the pyarrow wheel is not exported; kept to
// what the chain needs (docs/formats.md, "Object storage").
#pragma once

#include <arrow/result.h>

#include <map>
#include <string>
#include <utility>
#include <vector>

namespace inlet {

struct AwsCredentials {
  std::string access_key_id;
  std::string secret_access_key;
  std::string session_token;
  /// Where they came from, for messages (never a secret): "environment", "profile NAME",
  /// "assumed role (profile NAME)", "web identity", "credential process", "container",
  /// "instance metadata".
  std::string source;
  /// When temporary credentials expire (seconds since the epoch); 0: they do not.
  int64_t expires_s = 0;
  bool empty() const { return access_key_id.empty(); }
};

/// The headers (name: value) a SigV4-signed request carries besides its own:
/// x-amz-date, x-amz-content-sha256, x-amz-security-token (with a session token) and
/// Authorization. `headers` are the request's other signed headers (lowercase names;
/// host among them), `path` is URI-encoded, `query` canonical (sorted, encoded).
std::vector<std::string> SignV4(const std::string& method, const std::string& path,
                                const std::string& query,
                                std::map<std::string, std::string> headers,
                                const std::string& payload, const std::string& service,
                                const std::string& region, const AwsCredentials& c);

/// What the chain needs to know of the storage: its region, its endpoint (a custom
/// endpoint also serves STS, as MinIO does, unless AWS_ENDPOINT_URL_STS says otherwise),
/// and the CA bundle for TLS.
struct ChainContext {
  std::string region = "us-east-1";
  std::string endpoint;
  std::string ca_bundle;
};

/// The first credentials of the chain, in the order of the AWS SDKs:
/// 1. AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY / AWS_SESSION_TOKEN;
/// 2. AWS_WEB_IDENTITY_TOKEN_FILE with AWS_ROLE_ARN (STS AssumeRoleWithWebIdentity: EKS
///    IRSA);
/// 3. the profile AWS_PROFILE (default "default") of the shared credentials and config
///    files (AWS_SHARED_CREDENTIALS_FILE, AWS_CONFIG_FILE; ~/.aws/...): static keys,
///    credential_process, role_arn with source_profile, credential_source or
///    web_identity_token_file (STS AssumeRole / AssumeRoleWithWebIdentity);
/// 4. container credentials (AWS_CONTAINER_CREDENTIALS_RELATIVE_URI or _FULL_URI, with
///    AWS_CONTAINER_AUTHORIZATION_TOKEN[_FILE]);
/// 5. EC2 instance metadata (IMDSv2), unless AWS_EC2_METADATA_DISABLED=true.
/// Empty credentials when none of them gives any (anonymous requests). Fails naming the
/// step (never a secret) when a configured one does not work: a role that cannot be
/// assumed, a process that fails, an SSO profile (not supported: use
/// credential_process with `aws configure export-credentials --format process`).
arrow::Result<AwsCredentials> ResolveAwsCredentials(const ChainContext& context);

}  // namespace inlet
