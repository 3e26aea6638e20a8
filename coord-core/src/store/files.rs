//! The data directory and the files coord keeps in it: what kind of thing
//! each path is, created with which permissions, opened without following
//! links and without blocking.
//!
//! Rules: nothing that is not a plain directory or file is used (a FIFO, a
//! socket, a device or a symlink at a file's path is refused at once, naming
//! it); the data directory itself may be a symlink to a directory, resolved
//! once; coord writes only files it creates, opened with `O_NOFOLLOW` and
//! never truncated.

use std::fs::{File, OpenOptions};
use std::io;
use std::os::unix::fs::{DirBuilderExt, FileTypeExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use super::StoreError;

/// The mode of the files coord creates when `COORD_DATA_MODE` does not say.
pub const DEFAULT_FILE_MODE: u32 = 0o600;

/// `COORD_DATA_MODE`: the files' mode (octal, e.g. `640` lets a monitoring
/// group read); the directory gets the same bits plus search where read is set.
pub(crate) fn file_mode_from_env() -> Result<u32, StoreError> {
    match std::env::var("COORD_DATA_MODE") {
        Err(_) => Ok(DEFAULT_FILE_MODE),
        Ok(text) => {
            let digits = text.trim().trim_start_matches("0o");
            match u32::from_str_radix(digits, 8) {
                // The owner must keep read and write: coord is the writer.
                Ok(mode) if mode <= 0o777 && mode & 0o600 == 0o600 && mode & 0o002 == 0 => {
                    Ok(mode & 0o666)
                }
                _ => Err(StoreError::Mode { given: text }),
            }
        }
    }
}

/// The directory mode for a file mode: `0600` -> `0700`, `0640` -> `0750`.
pub(crate) fn dir_mode(file_mode: u32) -> u32 {
    file_mode | ((file_mode & 0o444) >> 2)
}

/// What a path turned out to be, for refusals.
fn kind(file_type: std::fs::FileType) -> &'static str {
    if file_type.is_fifo() {
        "a FIFO (named pipe)"
    } else if file_type.is_socket() {
        "a socket"
    } else if file_type.is_block_device() {
        "a block device"
    } else if file_type.is_char_device() {
        "a character device"
    } else if file_type.is_symlink() {
        "a symbolic link"
    } else if file_type.is_dir() {
        "a directory"
    } else {
        "a regular file"
    }
}

/// The data directory, resolved: an existing directory (through a symlink
/// to one, if that is what is there), never created.
pub(crate) fn existing_dir(requested: &Path) -> Result<Option<PathBuf>, StoreError> {
    match std::fs::symlink_metadata(requested) {
        // Missing, or under something that is not a directory: creating it says which.
        Err(error)
            if error.kind() == io::ErrorKind::NotFound
                || error.raw_os_error() == Some(libc::ENOTDIR) =>
        {
            return Ok(None);
        }
        Err(source) => {
            return Err(StoreError::Read {
                path: requested.to_path_buf(),
                source,
            });
        }
        Ok(_) => {}
    }
    // Follows a symlink: a loop or a dangling one is named as such.
    let meta = std::fs::metadata(requested).map_err(|source| refuse_link(requested, source))?;
    if !meta.is_dir() {
        return Err(StoreError::NotAPlainFile {
            path: requested.to_path_buf(),
            found: kind(meta.file_type()),
            expected: "a directory",
        });
    }
    requested
        .canonicalize()
        .map(Some)
        .map_err(|source| refuse_link(requested, source))
}

/// The data directory, created with `mode` when missing.
pub(crate) fn create_dir(requested: &Path, mode: u32) -> Result<PathBuf, StoreError> {
    if let Some(dir) = existing_dir(requested)? {
        return Ok(dir);
    }
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(mode)
        .create(requested)
        .map_err(|source| StoreError::CreateDir {
            path: requested.to_path_buf(),
            source,
        })?;
    existing_dir(requested)?.ok_or_else(|| StoreError::CreateDir {
        path: requested.to_path_buf(),
        source: io::Error::from(io::ErrorKind::NotFound),
    })
}

fn refuse_link(path: &Path, source: io::Error) -> StoreError {
    if source.raw_os_error() == Some(libc::ELOOP) {
        StoreError::NotAPlainFile {
            path: path.to_path_buf(),
            found: "a symbolic link loop",
            expected: "a directory",
        }
    } else if source.kind() == io::ErrorKind::NotFound {
        StoreError::NotAPlainFile {
            path: path.to_path_buf(),
            found: "a symbolic link to nothing",
            expected: "a directory",
        }
    } else {
        StoreError::Read {
            path: path.to_path_buf(),
            source,
        }
    }
}

/// Whether `path` is a regular file coord may open; `Ok(false)` when absent.
/// Anything else (a symlink included) is refused, naming what it is.
pub(crate) fn regular_file(path: &Path) -> Result<bool, StoreError> {
    match std::fs::symlink_metadata(path) {
        Ok(meta) if meta.file_type().is_file() => Ok(true),
        Ok(meta) => Err(StoreError::NotAPlainFile {
            path: path.to_path_buf(),
            found: kind(meta.file_type()),
            expected: "a regular file",
        }),
        Err(error) if error.kind() == io::ErrorKind::NotFound => Ok(false),
        Err(source) => Err(StoreError::Read {
            path: path.to_path_buf(),
            source,
        }),
    }
}

/// `O_NOFOLLOW`: a symlink planted at one of coord's paths is never followed.
const NO_FOLLOW: i32 = libc::O_NOFOLLOW;
/// `O_NONBLOCK`: opening a FIFO planted after the check cannot hang.
const NON_BLOCK: i32 = libc::O_NONBLOCK;

/// Opens an existing file for reading without following a link or blocking,
/// and checks what was opened is a regular file.
pub(crate) fn open_read(path: &Path) -> Result<File, StoreError> {
    let file = OpenOptions::new()
        .read(true)
        .custom_flags(NO_FOLLOW | NON_BLOCK)
        .open(path)
        .map_err(|source| opened(path, source))?;
    check_opened(path, &file)?;
    Ok(file)
}

/// Opens (creating with `mode` if missing) one of coord's own files for
/// reading and writing: never through a link, never truncated.
pub(crate) fn open_own(path: &Path, mode: u32) -> Result<File, StoreError> {
    let file = OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .mode(mode)
        .custom_flags(NO_FOLLOW | NON_BLOCK)
        .open(path)
        .map_err(|source| opened(path, source))?;
    check_opened(path, &file)?;
    Ok(file)
}

/// Creates a new file with `mode`, replacing one coord left there before:
/// the old name is unlinked (a link, never its target), then created anew.
pub(crate) fn create_fresh(path: &Path, mode: u32) -> Result<File, StoreError> {
    match std::fs::remove_file(path) {
        Ok(()) => {}
        Err(error) if error.kind() == io::ErrorKind::NotFound => {}
        Err(source) => {
            return Err(StoreError::NotWritable {
                path: path.to_path_buf(),
                source,
            });
        }
    }
    let file = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(mode)
        .custom_flags(NO_FOLLOW)
        .open(path)
        .map_err(|source| StoreError::NotWritable {
            path: path.to_path_buf(),
            source,
        })?;
    // The umask may have taken bits away; the mode asked for is the mode meant.
    file.set_permissions(std::fs::Permissions::from_mode(mode))
        .map_err(|source| StoreError::NotWritable {
            path: path.to_path_buf(),
            source,
        })?;
    Ok(file)
}

fn opened(path: &Path, source: io::Error) -> StoreError {
    match source.raw_os_error() {
        // From O_NOFOLLOW: the path is a symlink.
        Some(libc::ELOOP) => StoreError::NotAPlainFile {
            path: path.to_path_buf(),
            found: "a symbolic link",
            expected: "a regular file",
        },
        // A FIFO with no reader, opened non-blocking for writing.
        Some(libc::ENXIO) => StoreError::NotAPlainFile {
            path: path.to_path_buf(),
            found: "a FIFO (named pipe)",
            expected: "a regular file",
        },
        _ if source.kind() == io::ErrorKind::PermissionDenied => StoreError::NotWritable {
            path: path.to_path_buf(),
            source,
        },
        _ => StoreError::Read {
            path: path.to_path_buf(),
            source,
        },
    }
}

fn check_opened(path: &Path, file: &File) -> Result<(), StoreError> {
    let meta = file.metadata().map_err(|source| StoreError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    if meta.file_type().is_file() {
        Ok(())
    } else {
        Err(StoreError::NotAPlainFile {
            path: path.to_path_buf(),
            found: kind(meta.file_type()),
            expected: "a regular file",
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_directory_gets_search_where_its_files_get_read() {
        assert_eq!(dir_mode(0o600), 0o700);
        assert_eq!(dir_mode(0o640), 0o750);
        assert_eq!(dir_mode(0o644), 0o755);
    }
}
