//! Exit codes, as sops defines them (`cmd/sops/codes/codes.go`), and the error
//! type that carries one to `main`.

use std::fmt;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub enum Code {
    Generic = 1,
    CouldNotReadInputFile = 2,
    CouldNotWriteOutputFile = 3,
    ErrorDumpingTree = 4,
    ErrorReadingConfig = 5,
    ErrorInvalidSetFormat = 7,
    ErrorEncryptingTree = 23,
    ErrorDecryptingMac = 24,
    ErrorDecryptingTree = 25,
    MacMismatch = 51,
    MacNotFound = 52,
    ConfigFileNotFound = 61,
    InvalidTreePathFormat = 91,
    NoEncryptionKeyFound = 111,
    CouldNotRetrieveKey = 128,
    FileHasNotBeenModified = 200,
    FileAlreadyEncrypted = 203,
}

/// A failure with the exit code sops would use and a one-line message.
#[derive(Debug)]
pub struct CliError {
    pub code: Code,
    pub message: String,
}

impl CliError {
    pub fn new(code: Code, message: impl Into<String>) -> Self {
        CliError {
            code,
            message: message.into(),
        }
    }
}

impl fmt::Display for CliError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for CliError {}

/// Shorthand for building errors in command code.
pub fn fail<T>(code: Code, message: impl Into<String>) -> Result<T, CliError> {
    Err(CliError::new(code, message))
}

pub type CliResult<T> = Result<T, CliError>;
