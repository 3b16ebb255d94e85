//! One module per `hush` subcommand.

pub mod decrypt;
pub mod edit;
pub mod encrypt;
pub mod exec;
pub mod filestatus;
pub mod keygen;
pub mod rotate;
pub mod set;
pub mod updatekeys;
