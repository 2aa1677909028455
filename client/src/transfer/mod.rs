//! Streaming transfers: uploads read from disk chunk by chunk with a
//! progress callback (`upload`); downloads write to `<dest>.part`, resume
//! it with a `Range` request, and rename only a complete file to its final
//! name (`download`). Both encrypt or decrypt on the way when the item is
//! end-to-end encrypted (see [`crate::e2e`]).

mod download;
mod upload;

use std::path::{Path, PathBuf};

pub(crate) use download::{is_encrypted, shared_name_field};

use crate::error::{ClientError, Result};

/// Called with (bytes done, bytes in all).
pub type Progress = std::sync::Arc<dyn Fn(u64, u64) + Send + Sync>;

/// A progress callback that ignores its calls.
pub fn no_progress() -> Progress {
    std::sync::Arc::new(|_, _| {})
}

/// What a download produced.
#[derive(Debug, Clone)]
pub struct Downloaded {
    /// The final file.
    pub path: PathBuf,
    /// Its size.
    pub size: u64,
    /// True if an earlier partial download was continued.
    pub resumed: bool,
}

/// The last path component of `path`, for an upload's name.
pub fn file_name(path: &Path) -> Result<String> {
    path.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .ok_or_else(|| ClientError::Invalid(format!("{} is not a file", path.display())))
}

/// `<dest>.part`, beside the destination so the final rename is atomic.
/// A name too long for that (file names stop at 255 bytes) is cut and
/// given a hash of the whole name, so each destination keeps one `.part`.
pub fn part_path(dest: &Path) -> PathBuf {
    let mut name = dest.file_name().map(|n| n.to_os_string()).unwrap_or_default();
    if name.len() + ".part".len() > crate::names::MAX_NAME_BYTES {
        let hash = blake3::hash(name.as_encoded_bytes()).to_hex();
        let lossy = name.to_string_lossy();
        let mut cut = crate::names::MAX_NAME_BYTES - ".part".len() - 9;
        while !lossy.is_char_boundary(cut) {
            cut -= 1;
        }
        name = format!("{}-{}", &lossy[..cut], &hash[..8]).into();
    }
    name.push(".part");
    dest.with_file_name(name)
}

pub use cloudbuffer_protocol::units::human_bytes;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn part_paths_fit_in_a_file_name() {
        assert_eq!(part_path(Path::new("/d/a.txt")), Path::new("/d/a.txt.part"));
        let long = crate::names::safe_file_name(&"é".repeat(200));
        let part = part_path(&Path::new("/d").join(&long));
        let name = part.file_name().unwrap().to_str().unwrap();
        assert!(name.len() <= crate::names::MAX_NAME_BYTES && name.ends_with(".part"), "{name}");
        let other = part_path(&Path::new("/d").join(format!("{long}x")));
        assert_ne!(part, other, "two long names share no .part");
    }
}
