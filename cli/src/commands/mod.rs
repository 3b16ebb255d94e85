//! One module per `hush` subcommand.

pub mod decrypt;
pub mod edit;
pub mod encrypt;
pub mod exec;
pub mod filestatus;
pub mod keygen;
pub mod reseal;
pub mod rotate;
pub mod rotate_all;
pub mod rotation_status;
pub mod set;
pub mod updatekeys;
pub mod updatekeys_all;
