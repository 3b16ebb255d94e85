//! Secret -> SealedSecret documents, merge-into, raw values, whole-object
//! unseal and recovery keys.

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use hush_crypto::sealing::{
    merge_into, parse_recovery_keys, seal_raw, seal_secret, unseal, unseal_sealed_secret,
    DocumentFormat, ManifestError, Scope, SealOptions, SealedSecretManifest, SealingPrivateKey,
    SecretManifest,
};
use std::sync::OnceLock;

fn key() -> &'static SealingPrivateKey {
    static KEY: OnceLock<SealingPrivateKey> = OnceLock::new();
    KEY.get_or_init(|| SealingPrivateKey::generate(2048).expect("generate key"))
}

const SECRET_YAML: &str = r#"
apiVersion: v1
kind: Secret
metadata:
  name: db
  namespace: prod
  uid: 1234
  resourceVersion: "99"
  creationTimestamp: "2024-01-01T00:00:00Z"
  labels:
    app: db
  annotations:
    kubectl.kubernetes.io/last-applied-configuration: "{}"
    team: storage
  ownerReferences:
  - apiVersion: v1
    kind: ConfigMap
    name: owner
    uid: abc
type: kubernetes.io/basic-auth
immutable: true
data:
  username: YWRtaW4=
  password: b2xk
stringData:
  password: s3cr3t
"#;

fn sealed(options: &SealOptions) -> SealedSecretManifest {
    let secrets = SecretManifest::parse_all(SECRET_YAML).unwrap();
    assert_eq!(secrets.len(), 1);
    seal_secret(&secrets[0], key().public_key(), options).unwrap()
}

#[test]
fn template_keeps_user_metadata_and_drops_server_fields() {
    let sealed = sealed(&SealOptions::default());
    assert_eq!(sealed.api_version, "bitnami.com/v1alpha1");
    assert_eq!(sealed.kind, "SealedSecret");
    assert_eq!(sealed.metadata.name.as_deref(), Some("db"));
    assert_eq!(sealed.metadata.namespace.as_deref(), Some("prod"));
    assert!(sealed.metadata.labels.is_empty());
    let template = &sealed.spec.template;
    assert_eq!(
        template.secret_type.as_deref(),
        Some("kubernetes.io/basic-auth")
    );
    assert_eq!(template.immutable, Some(true));
    assert_eq!(template.metadata.labels["app"], "db");
    assert_eq!(template.metadata.annotations.len(), 1, "only team survives");
    assert_eq!(template.metadata.annotations["team"], "storage");
    for field in ["uid", "resourceVersion", "ownerReferences"] {
        assert!(!template.metadata.other.contains_key(field), "{field}");
    }
    assert_eq!(
        template.metadata.other.get("creationTimestamp"),
        Some(&serde_json::Value::Null)
    );
    let keys: Vec<&str> = sealed
        .spec
        .encrypted_data
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(keys, ["password", "username"]);
}

#[test]
fn sealed_values_unseal_to_the_secret_with_string_data_winning() {
    let sealed = sealed(&SealOptions::default());
    let secret = unseal_sealed_secret(std::slice::from_ref(key()), &sealed).unwrap();
    assert_eq!(secret.data["username"].as_slice(), b"admin");
    assert_eq!(secret.data["password"].as_slice(), b"s3cr3t");
    assert_eq!(secret.name, "db");
    assert_eq!(secret.namespace, "prod");
    assert_eq!(secret.metadata.labels["app"], "db");
    assert_eq!(
        secret.secret_type.as_deref(),
        Some("kubernetes.io/basic-auth")
    );
    assert!(secret.used_keys.contains(&0));
    // Each value is a standalone kubeseal-style ciphertext bound to prod/db.
    let raw = STANDARD
        .decode(&sealed.spec.encrypted_data["username"])
        .unwrap();
    assert_eq!(
        unseal(key(), b"prod/db", &raw).unwrap().as_slice(),
        b"admin"
    );
}

#[test]
fn scope_annotations_go_on_both_objects_and_drive_unseal() {
    for (scope, annotation) in [
        (
            Scope::NamespaceWide,
            "sealedsecrets.bitnami.com/namespace-wide",
        ),
        (Scope::ClusterWide, "sealedsecrets.bitnami.com/cluster-wide"),
    ] {
        let mut sealed = sealed(&SealOptions {
            scope: Some(scope),
            ..SealOptions::default()
        });
        assert_eq!(sealed.metadata.annotations[annotation], "true");
        assert_eq!(
            sealed.spec.template.metadata.annotations[annotation],
            "true"
        );
        assert_eq!(sealed.scope(), scope);
        // Renaming is fine for both wider scopes.
        sealed.metadata.name = Some("renamed".into());
        assert!(unseal_sealed_secret(std::slice::from_ref(key()), &sealed).is_ok());
        // Moving namespace only for cluster-wide.
        sealed.metadata.namespace = Some("elsewhere".into());
        let moved = unseal_sealed_secret(std::slice::from_ref(key()), &sealed);
        assert_eq!(moved.is_ok(), scope == Scope::ClusterWide, "{scope}");
    }
}

#[test]
fn strict_values_fail_after_rename_and_name_the_key() {
    let mut sealed = sealed(&SealOptions::default());
    sealed.metadata.name = Some("renamed".into());
    let error = unseal_sealed_secret(std::slice::from_ref(key()), &sealed).unwrap_err();
    let message = error.to_string();
    assert!(matches!(error, ManifestError::Unseal { .. }));
    assert!(message.contains("\"password\""), "{message}");
    assert!(!message.contains("s3cr3t"));
}

#[test]
fn input_scope_annotation_is_honoured_without_flag() {
    let text = SECRET_YAML.replace(
        "    team: storage",
        "    team: storage\n    sealedsecrets.bitnami.com/cluster-wide: \"true\"",
    );
    let secret = &SecretManifest::parse_all(&text).unwrap()[0];
    let sealed = seal_secret(secret, key().public_key(), &SealOptions::default()).unwrap();
    assert_eq!(sealed.scope(), Scope::ClusterWide);
}

#[test]
fn yaml_output_matches_kubeseal_shape() {
    let text =
        "apiVersion: v1\nkind: Secret\nmetadata:\n  name: s\n  namespace: n\ndata:\n  k: dg==\n";
    let secret = &SecretManifest::parse_all(text).unwrap()[0];
    let sealed = seal_secret(secret, key().public_key(), &SealOptions::default()).unwrap();
    let yaml = sealed.to_document(DocumentFormat::Yaml);
    let value = &sealed.spec.encrypted_data["k"];
    let expected = format!(
        "---\napiVersion: bitnami.com/v1alpha1\nkind: SealedSecret\nmetadata:\n  creationTimestamp: null\n  name: s\n  namespace: n\nspec:\n  encryptedData:\n    k: {value}\n  template:\n    metadata:\n      creationTimestamp: null\n      name: s\n      namespace: n\n"
    );
    assert_eq!(yaml, expected);
    assert!(
        value.starts_with("AQ"),
        "2048-bit keys give base64 starting AQ"
    );

    let json = sealed.to_document(DocumentFormat::Json);
    assert!(json.starts_with("{\n  \"kind\": \"SealedSecret\",\n  \"apiVersion\": \"bitnami.com/v1alpha1\",\n  \"metadata\": {\n    \"name\": \"s\",\n    \"namespace\": \"n\",\n    \"creationTimestamp\": null\n  },\n  \"spec\": {\n    \"template\": {"), "{json}");
    // Both forms read back to the same object.
    for text in [yaml, json] {
        let again = SealedSecretManifest::parse_all(&text).unwrap();
        assert_eq!(again, vec![sealed.clone()]);
    }
}

#[test]
fn namespace_defaults_and_requirements() {
    let text = "kind: Secret\nmetadata:\n  name: s\nstringData:\n  k: v\n";
    let secret = &SecretManifest::parse_all(text).unwrap()[0];
    assert!(matches!(
        seal_secret(secret, key().public_key(), &SealOptions::default()),
        Err(ManifestError::MissingNamespace(_))
    ));
    let sealed = seal_secret(
        secret,
        key().public_key(),
        &SealOptions {
            default_namespace: Some("default".into()),
            ..SealOptions::default()
        },
    )
    .unwrap();
    assert_eq!(sealed.metadata.namespace.as_deref(), Some("default"));
    let cluster_wide = seal_secret(
        secret,
        key().public_key(),
        &SealOptions {
            scope: Some(Scope::ClusterWide),
            ..SealOptions::default()
        },
    );
    assert!(cluster_wide.is_ok());
}

#[test]
fn empty_secrets_need_allow_empty_data() {
    let text = "kind: Secret\nmetadata:\n  name: s\n  namespace: n\n";
    let secret = &SecretManifest::parse_all(text).unwrap()[0];
    assert!(matches!(
        seal_secret(secret, key().public_key(), &SealOptions::default()),
        Err(ManifestError::EmptyData(_))
    ));
    let options = SealOptions {
        allow_empty_data: true,
        ..SealOptions::default()
    };
    assert!(seal_secret(secret, key().public_key(), &options).is_ok());
}

#[test]
fn bad_input_is_reported_without_values() {
    let not_secret = "kind: ConfigMap\nmetadata:\n  name: c\n";
    assert!(matches!(
        SecretManifest::parse_all(not_secret),
        Err(ManifestError::WrongKind { .. })
    ));
    let bad_base64 =
        "kind: Secret\nmetadata:\n  name: s\n  namespace: n\ndata:\n  token: '%%%not-base64'\n";
    let error = SecretManifest::parse_all(bad_base64).unwrap_err();
    assert!(error.to_string().contains("\"token\""));
    assert!(!error.to_string().contains("not-base64"));
    // serde would quote a non-string value; the message must not.
    let numeric = "kind: Secret\nmetadata:\n  name: s\nstringData:\n  pin: 918273\n";
    let error = SecretManifest::parse_all(numeric).unwrap_err();
    assert!(!error.to_string().contains("918273"), "{error}");
}

#[test]
fn null_maps_are_read_as_empty() {
    let text = "kind: Secret\nmetadata:\n  name: s\n  namespace: n\n  labels: null\n  annotations: null\nstringData:\n  k: v\n";
    let secret = &SecretManifest::parse_all(text).unwrap()[0];
    let mut sealed = seal_secret(secret, key().public_key(), &SealOptions::default()).unwrap();
    sealed.spec.template.data.clear();
    let mut value = serde_json::to_value(&sealed).unwrap();
    value["spec"]["template"]["data"] = serde_json::Value::Null;
    value["metadata"]["annotations"] = serde_json::Value::Null;
    let again = SealedSecretManifest::from_value(value).unwrap();
    assert_eq!(again, sealed);
}

#[test]
fn multi_document_input_gives_one_sealed_secret_each() {
    let text = "kind: Secret\nmetadata: {name: a, namespace: n}\nstringData: {k: v}\n---\nkind: Secret\nmetadata: {name: b, namespace: n}\nstringData: {k: w}\n";
    let secrets = SecretManifest::parse_all(text).unwrap();
    let names: Vec<_> = secrets
        .iter()
        .map(|secret| seal_secret(secret, key().public_key(), &SealOptions::default()).unwrap())
        .map(|sealed| sealed.metadata.name.unwrap())
        .collect();
    assert_eq!(names, ["a", "b"]);
}

#[test]
fn merge_into_uses_the_targets_name_namespace_and_scope() {
    let mut target = sealed(&SealOptions {
        scope: Some(Scope::NamespaceWide),
        ..SealOptions::default()
    });
    let before = target.spec.encrypted_data["username"].clone();
    let update = "kind: Secret\nmetadata:\n  name: ignored\n  namespace: ignored\nstringData:\n  password: new\n  token: t\n";
    let update = &SecretManifest::parse_all(update).unwrap()[0];
    merge_into(&mut target, update, key().public_key()).unwrap();
    assert_eq!(target.spec.encrypted_data["username"], before, "untouched");
    let secret = unseal_sealed_secret(std::slice::from_ref(key()), &target).unwrap();
    assert_eq!(secret.data["password"].as_slice(), b"new");
    assert_eq!(secret.data["token"].as_slice(), b"t");
    assert_eq!(secret.data["username"].as_slice(), b"admin");
}

#[test]
fn raw_values_follow_kubeseal_rules() {
    let public = key().public_key();
    assert!(matches!(
        seal_raw(public, Scope::Strict, "n", "", b"v"),
        Err(ManifestError::RawNeedsName)
    ));
    assert!(matches!(
        seal_raw(public, Scope::NamespaceWide, "", "", b"v"),
        Err(ManifestError::RawNeedsNamespace)
    ));
    let encoded = seal_raw(public, Scope::Strict, "n", "s", b"v").unwrap();
    assert!(!encoded.ends_with('\n'));
    let raw = STANDARD.decode(encoded).unwrap();
    assert_eq!(unseal(key(), b"n/s", &raw).unwrap().as_slice(), b"v");
    let cluster = seal_raw(public, Scope::ClusterWide, "", "", b"v").unwrap();
    assert_eq!(
        unseal(key(), b"", &STANDARD.decode(cluster).unwrap())
            .unwrap()
            .as_slice(),
        b"v"
    );
}

#[test]
fn template_data_is_rendered_over_decrypted_values() {
    let mut sealed = sealed(&SealOptions::default());
    sealed.spec.template.data.insert(
        "dsn".into(),
        "postgres://{{ .username }}:{{ index . \"password\" }}@db".into(),
    );
    let secret = unseal_sealed_secret(std::slice::from_ref(key()), &sealed).unwrap();
    assert_eq!(secret.data["dsn"].as_slice(), b"postgres://admin:s3cr3t@db");
    sealed
        .spec
        .template
        .data
        .insert("bad".into(), "{{ .username | b64enc }}".into());
    let error = unseal_sealed_secret(std::slice::from_ref(key()), &sealed).unwrap_err();
    assert!(error.to_string().contains("\"bad\""));
}

#[test]
fn legacy_v1_data_is_refused_clearly() {
    let mut sealed = sealed(&SealOptions::default());
    sealed.spec.data = Some("AAAA".into());
    assert!(matches!(
        unseal_sealed_secret(std::slice::from_ref(key()), &sealed),
        Err(ManifestError::LegacyData(_))
    ));
}

#[test]
fn recovery_keys_come_from_pem_or_backed_up_key_secrets() {
    let pem = key().to_pkcs1_pem().unwrap();
    let from_pem = parse_recovery_keys(&pem).unwrap();
    assert_eq!(from_pem.len(), 1);
    assert_eq!(from_pem[0].fingerprint(), key().fingerprint());

    let other = SealingPrivateKey::generate(2048).unwrap();
    let tls_key = |k: &SealingPrivateKey| STANDARD.encode(k.to_pkcs1_pem().unwrap().as_bytes());
    let backup = format!(
        "apiVersion: v1\nkind: List\nitems:\n- apiVersion: v1\n  kind: Secret\n  metadata:\n    name: sealed-secrets-keyabcde\n    namespace: kube-system\n  type: kubernetes.io/tls\n  data:\n    tls.crt: ''\n    tls.key: {}\n- apiVersion: v1\n  kind: Secret\n  metadata:\n    name: sealed-secrets-keyfghij\n    namespace: kube-system\n  type: kubernetes.io/tls\n  data:\n    tls.key: {}\n",
        tls_key(&other),
        tls_key(key())
    );
    let keys = parse_recovery_keys(&backup).unwrap();
    let fingerprints: Vec<String> = keys.iter().map(SealingPrivateKey::fingerprint).collect();
    assert_eq!(fingerprints, [other.fingerprint(), key().fingerprint()]);

    let secret = unseal_sealed_secret(&keys, &sealed(&SealOptions::default())).unwrap();
    assert_eq!(secret.used_keys.iter().copied().collect::<Vec<_>>(), [1]);
}

#[test]
fn recovered_secret_documents_are_valid_secrets() {
    let secret = unseal_sealed_secret(
        std::slice::from_ref(key()),
        &sealed(&SealOptions::default()),
    )
    .unwrap();
    let yaml = secret.to_document(DocumentFormat::Yaml);
    let again = SecretManifest::parse_all(&yaml).unwrap();
    assert_eq!(again[0].data["password"].as_slice(), b"s3cr3t");
    assert_eq!(again[0].metadata.name.as_deref(), Some("db"));
    let json = secret.to_document(DocumentFormat::Json);
    assert!(json.starts_with("{\n  \"kind\": \"Secret\",\n  \"apiVersion\": \"v1\""));
}
