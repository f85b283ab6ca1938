// S3 and S3-compatible object storage (MinIO): where a table lives (s3://bucket/prefix),
// how to reach it, and the one request Arrow's S3 filesystem cannot make: a conditional
// PUT (If-None-Match: *), which makes creating a log entry atomic with no lock service.
#pragma once

#include <arrow/filesystem/filesystem.h>
#include <arrow/result.h>

#include <map>
#include <memory>
#include <string>

#include "inlet/table.h"  // FinalizeObjectStorage

namespace inlet {

/// How to reach the storage. Secrets are never put into messages.
struct S3Config {
  /// scheme://host[:port] of an S3-compatible endpoint; empty: AWS (https, by region).
  std::string endpoint;
  std::string region = "us-east-1";
  std::string access_key_id;
  std::string secret_access_key;
  std::string session_token;
  /// Path-style addressing (endpoint/bucket/key) instead of virtual hosts
  /// (bucket.endpoint/key).
  bool path_style = false;
  /// A CA bundle file for TLS (empty: the system's).
  std::string ca_bundle;
  /// Where the credentials came from (ResolveCredentials), for messages.
  std::string credentials_source;
  /// When temporary credentials of the chain expire (seconds since the epoch); 0: they
  /// do not, or they were given.
  int64_t credentials_expire_s = 0;

  /// From the standard AWS variables: AWS_ENDPOINT_URL_S3 or AWS_ENDPOINT_URL, AWS_REGION
  /// or AWS_DEFAULT_REGION, AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN,
  /// AWS_CA_BUNDLE. Path-style addressing is used with an endpoint unless
  /// INLET_S3_ADDRESSING=virtual (and forced by =path).
  static S3Config FromEnvironment();

  /// Without keys (from the environment or Apply), the credentials of the AWS chain
  /// (ResolveAwsCredentials in storage/aws_auth.h: profiles, roles, web identity,
  /// container, instance metadata), used for every request: Arrow's file system and the
  /// conditional PUT alike. Fails naming a configured step that does not work.
  arrow::Status ResolveCredentials();

  /// Overrides settings by name: endpoint, region, access_key_id, secret_access_key,
  /// session_token, addressing (path | virtual), ca_bundle. Invalid names an unknown
  /// option or value (never a secret's value), or a key id without its secret.
  arrow::Status Apply(const std::map<std::string, std::string>& options);
};

/// An s3://bucket/prefix location.
struct S3Location {
  std::string bucket;
  std::string prefix;  // no leading or trailing '/'
  static arrow::Result<S3Location> Parse(const std::string& uri);
};

/// Arrow's S3 filesystem for config (initialising Arrow's S3 support once per process).
arrow::Result<std::shared_ptr<arrow::fs::FileSystem>> MakeS3FileSystem(
    const S3Config& config);

/// PUT of bytes to bucket/key only if no object exists there (If-None-Match: *). Returns
/// false when one does (412), retries a conflicting concurrent conditional PUT (409), and
/// fails with IOError naming the bucket, key, HTTP status and S3 error code otherwise.
arrow::Result<bool> S3PutIfAbsent(const S3Config& config, const std::string& bucket,
                                  const std::string& key, const std::string& bytes);

}  // namespace inlet
