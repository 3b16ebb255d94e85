//! The stand-in servers start, answer, and stop (so other tests can rely on them).

use hush_tests::standins::{Moto, OpenBao};

#[test]
fn standin_moto_answers_kms_calls() {
    let moto = Moto::start();
    let (status, body) = hush_tests::standins::http(
        moto.0.port,
        "POST",
        "/",
        Some("{}"),
        &[
            ("X-Amz-Target", "TrentService.ListKeys"),
            ("Content-Type", "application/x-amz-json-1.1"),
            ("Authorization", "AWS4-HMAC-SHA256 Credential=testing/20260101/us-east-1/kms/aws4_request, SignedHeaders=host, Signature=x"),
        ],
    );
    assert_eq!(status, 200, "{body}");
    assert!(body.contains("Keys"), "{body}");
}

#[test]
fn real_openbao_dev_server_serves_the_vault_api() {
    let bao = OpenBao::start();
    let (status, body) = bao.api("GET", "/v1/sys/health", None);
    assert_eq!(status, 200, "{body}");
    assert!(body.contains("\"initialized\":true"), "{body}");
    let (status, _) = bao.api(
        "POST",
        "/v1/sys/mounts/transit",
        Some("{\"type\":\"transit\"}"),
    );
    assert_eq!(status, 204);
}
