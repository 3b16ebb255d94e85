//! One module per `hush` subcommand.

#[cfg(feature = "gitops")]
pub mod agent;
pub mod decrypt;
pub mod edit;
pub mod encrypt;
pub mod exec;
pub mod filestatus;
pub mod groups;
pub mod keygen;
#[cfg(feature = "gitops")]
pub mod kustomize_fn;
#[cfg(feature = "gitops")]
pub mod render;
pub mod reseal;
pub mod rotate;
pub mod rotate_all;
pub mod rotation_status;
pub mod set;
pub mod updatekeys;
pub mod updatekeys_all;
