// The client over TLS (`hemi query --server https://… [--ca-file PEM]`): a TLS front made in
// this test (cpp-httplib's SSLServer with a certificate generated here, forwarding to a
// `Service` on loopback, as HAProxy does in deploy/). With the right CA file a whole request
// goes through and decrypts to the interpreter's answer; every way the certificate can be
// wrong is refused with the reason, and nothing is sent before the certificate is accepted.
#include <gtest/gtest.h>
#include <httplib.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include <atomic>
#include <memory>
#include <optional>

#include "hemi/nn/interpreter.h"
#include "loopback_service.h"
#include "support/error_of.h"
#include "test_data.h"

namespace hemi::service {
namespace {

using test_support::error_of;
using testing::Material;
using testing::random_images;
using testing::Running;
using testing::tiny_model;
using testing::tiny_plan;

// A self-signed P-256 certificate for `san` (e.g. "IP:127.0.0.1"), valid from an hour ago for
// `days` days (negative: expired).
struct Certificate {
  Certificate(const std::string& san, long days) : key(EVP_EC_gen("P-256")), cert(X509_new()) {
    X509_set_version(cert, 2);
    ASN1_INTEGER_set(X509_get_serialNumber(cert), 1);
    X509_gmtime_adj(X509_getm_notBefore(cert), -3600 + (days < 0 ? days * 86400 : 0));
    X509_gmtime_adj(X509_getm_notAfter(cert), days * 86400);
    X509_set_pubkey(cert, key);
    X509_NAME* name = X509_get_subject_name(cert);
    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, reinterpret_cast<const unsigned char*>("hemi test"), -1, -1, 0);
    X509_set_issuer_name(cert, name);
    X509V3_CTX ctx;
    X509V3_set_ctx_nodb(&ctx);
    X509V3_set_ctx(&ctx, cert, cert, nullptr, nullptr, 0);
    for (auto [nid, value] : {std::pair{NID_subject_alt_name, san}, std::pair{NID_basic_constraints, std::string("critical,CA:TRUE")}}) {
      X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value.c_str());
      X509_add_ext(cert, ext, -1);
      X509_EXTENSION_free(ext);
    }
    X509_sign(cert, key, EVP_sha256());
  }
  ~Certificate() {
    X509_free(cert);
    EVP_PKEY_free(key);
  }
  void write_pem(const std::string& path) const {
    BIO* bio = BIO_new(BIO_s_mem());
    PEM_write_bio_X509(bio, cert);
    char* data = nullptr;
    const long n = BIO_get_mem_data(bio, &data);
    data::testing::write_bytes(path, Bytes(data, data + n));
    BIO_free(bio);
  }
  EVP_PKEY* key;
  X509* cert;
};

// A TLS front on 127.0.0.1 that forwards every request to `backend` (plain HTTP) and counts them.
class TlsFront {
 public:
  TlsFront(const Certificate& c, const std::string& backend) : svr_(c.cert, c.key), backend_(backend) {
    auto forward = [this](const httplib::Request& req, httplib::Response& res) {
      ++requests_;
      httplib::Client b(backend_);
      const httplib::Result r = req.method == "GET"      ? b.Get(req.path.c_str())
                                : req.method == "DELETE" ? b.Delete(req.path.c_str())
                                                         : b.Post(req.path.c_str(), req.body, "application/octet-stream");
      if (!r) {
        res.status = 502;
        return;
      }
      res.status = r->status;
      res.set_content(r->body, r->get_header_value("Content-Type").c_str());
    };
    svr_.Get(".*", forward);
    svr_.Post(".*", forward);
    svr_.Delete(".*", forward);
    running_.emplace(svr_);
  }
  std::string url() const { return "https://127.0.0.1:" + std::to_string(running_->port()); }
  int requests() const { return requests_; }

 private:
  httplib::SSLServer svr_;
  std::string backend_;
  std::atomic<int> requests_{0};
  std::optional<testing::ServerThread> running_;
};

HttpOptions trusting(const std::string& ca_file) {
  HttpOptions o;
  o.timeout_seconds = 30;
  o.ca_file = ca_file;
  return o;
}

TEST(ServiceTls, RequestThroughTlsWithTheCaFileDecryptsToTheInterpretersAnswer) {
  nn::Model m = tiny_model();
  Running r(m, tiny_plan(m, he::Packing::kLatency));
  const Certificate cert("IP:127.0.0.1", 1);
  data::testing::TempDir dir;
  cert.write_pem(dir.file("ca.pem"));
  TlsFront front(cert, r.url);

  HttpClient http(front.url(), trusting(dir.file("ca.pem")));
  EXPECT_TRUE(http.healthy());
  const ModelInfo info = http.model_info();
  EXPECT_EQ(info.plan_id, r.service.plan().id());
  Material mat(r.service.plan(), m);
  const std::string id = http.register_keys(mat.keys);
  const Result res = read_result(http.infer(id, mat.request), r.service.plan());
  const auto logits = decrypt_result(mat.client, res.key_set, res, 1);
  const auto image = random_images(1, m.input_shape().size(), 2);  // Material's image
  const auto want = nn::forward(m, image.data());
  ASSERT_EQ(logits.size(), 1u);
  for (std::size_t c = 0; c < want.size(); ++c) EXPECT_NEAR(logits[0][c], want[c], 1e-3);
  http.delete_keys(id);
  EXPECT_EQ(r.service.stored_keys(), 0u);
}

TEST(ServiceTls, EveryWrongCertificateIsRefusedWithItsReasonAndNothingIsSent) {
  nn::Model m = tiny_model();
  Running r(m, tiny_plan(m, he::Packing::kLatency));
  data::testing::TempDir dir;
  const Certificate good("IP:127.0.0.1", 1), other("IP:127.0.0.1", 1), elsewhere("DNS:other.example", 1),
      expired("IP:127.0.0.1", -1);
  good.write_pem(dir.file("good.pem"));
  other.write_pem(dir.file("other.pem"));
  elsewhere.write_pem(dir.file("elsewhere.pem"));
  expired.write_pem(dir.file("expired.pem"));
  auto model_info_error = [&](const Certificate& served, const HttpOptions& o) {
    TlsFront front(served, r.url);
    const std::string e = error_of([&] { HttpClient(front.url(), o).model_info(); });
    EXPECT_EQ(front.requests(), 0) << "a request went out before the certificate was accepted";
    return e;
  };
  // Self-signed and not in the system's store (verification is on without --ca-file).
  std::string e = model_info_error(good, trusting(""));
  EXPECT_NE(e.find("the server's certificate was refused: self-signed certificate"), std::string::npos) << e;
  EXPECT_NE(e.find("the system's trusted certificates"), std::string::npos) << e;
  // Signed by a key other than the CA file's.
  e = model_info_error(good, trusting(dir.file("other.pem")));
  EXPECT_NE(e.find("certificate was refused"), std::string::npos) << e;
  EXPECT_NE(e.find("--ca-file " + dir.file("other.pem")), std::string::npos) << e;
  // Trusted, but for another host.
  e = model_info_error(elsewhere, trusting(dir.file("elsewhere.pem")));
  EXPECT_NE(e.find("does not name the host '127.0.0.1'"), std::string::npos) << e;
  // Trusted, but expired.
  e = model_info_error(expired, trusting(dir.file("expired.pem")));
  EXPECT_NE(e.find("certificate has expired"), std::string::npos) << e;
  // A plain HTTP server addressed as https.
  e = error_of([&] { HttpClient("https://127.0.0.1:" + std::to_string(r.port), trusting(dir.file("good.pem"))).model_info(); });
  EXPECT_NE(e.find("TLS handshake failed"), std::string::npos) << e;
  // A CA file that is not PEM: refused when the certificates are loaded, with the file named.
  data::testing::write_bytes(dir.file("garbage.pem"), Bytes{'x'});
  e = model_info_error(good, trusting(dir.file("garbage.pem")));
  EXPECT_NE(e.find("cannot load the trusted certificates from " + dir.file("garbage.pem")), std::string::npos) << e;
  // The honest front still works with its CA file.
  TlsFront front(good, r.url);
  EXPECT_NO_THROW(HttpClient(front.url(), trusting(dir.file("good.pem"))).model_info());
}

TEST(ServiceTls, BadServerUrlsAndCaFilesAreRefusedBeforeConnecting) {
  data::testing::TempDir dir;
  data::testing::write_bytes(dir.file("ca.pem"), Bytes{'x'});
  EXPECT_NE(error_of([&] { HttpClient("ftp://127.0.0.1:1"); }).find("must be an http:// or https:// URL"), std::string::npos);
  EXPECT_NE(error_of([&] { HttpClient("http://127.0.0.1:1", trusting(dir.file("ca.pem"))); }).find("applies to https:// servers only"),
            std::string::npos);
  EXPECT_NE(error_of([&] { HttpClient("https://127.0.0.1:1", trusting(dir.file("missing.pem"))); })
                .find("--ca-file " + dir.file("missing.pem") + ": no such file"),
            std::string::npos);
  EXPECT_NE(error_of([&] { HttpClient("https://127.0.0.1:1", trusting(dir.path())); }).find("no such file"), std::string::npos);
  HttpOptions zero;
  zero.timeout_seconds = 0;
  EXPECT_NE(error_of([&] { HttpClient("http://127.0.0.1:1", zero); }).find("outside [1, 86400]"), std::string::npos);
}

}  // namespace
}  // namespace hemi::service
