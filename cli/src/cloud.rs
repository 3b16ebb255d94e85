//! The cloud key sources compiled into this build (cargo features `aws`,
//! `gcp`, `azure`, `vault`; `cloud`, the default, enables all four).
//!
//! Sources are cheap to create: credentials, clients and connections are set up
//! on their first wrap/unwrap, so a ring built for an age-only file never
//! touches the network or needs cloud credentials.

#[allow(unused_imports)]
use std::sync::Arc;

use hush_providers::KeyRing;

/// Adds every compiled-in cloud key source to `ring`.
#[allow(unused_variables)]
pub fn add_sources(ring: &mut KeyRing) {
    #[cfg(feature = "aws")]
    ring.add_source(Arc::new(hush_providers::kms::aws::AwsKmsSource::default()));
    #[cfg(feature = "gcp")]
    ring.add_source(Arc::new(hush_providers::kms::gcp::GcpKmsSource::default()));
    #[cfg(feature = "azure")]
    ring.add_source(Arc::new(
        hush_providers::kms::azure::AzureKvSource::default(),
    ));
    #[cfg(feature = "vault")]
    ring.add_source(Arc::new(
        hush_providers::kms::vault::VaultTransitSource::default(),
    ));
}
