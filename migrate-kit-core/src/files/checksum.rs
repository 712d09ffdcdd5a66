//! The checksum rule of DESIGN §4: SHA-256 over the file's bytes after
//! removing a leading UTF-8 BOM and turning every CRLF into LF.

use sha2::{Digest, Sha256};
use std::fmt;
use std::str::FromStr;

/// The UTF-8 byte order mark.
pub(crate) const BOM: &[u8] = b"\xEF\xBB\xBF";

/// A migration file's checksum, shown as `sha256:` and 64 lowercase hex digits.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Checksum([u8; 32]);

impl Checksum {
    /// Computes the checksum of a migration file's bytes, ignoring a leading
    /// BOM and CRLF line endings, so that a Windows checkout never looks like drift.
    pub fn of_file(bytes: &[u8]) -> Self {
        let mut hasher = FileHasher::default();
        hasher.update(bytes);
        hasher.finish()
    }

    /// Builds a checksum from its raw digest (used by `embed_migrations!`).
    pub(crate) const fn from_digest(digest: [u8; 32]) -> Self {
        Checksum(digest)
    }

    /// The raw SHA-256 digest.
    pub const fn digest(&self) -> &[u8; 32] {
        &self.0
    }
}

/// Computes [`Checksum::of_file`] over a file read in parts of any size
/// (a file too large to hold is hashed as it streams past).
#[derive(Default)]
pub(crate) struct FileHasher {
    sha: Sha256,
    /// The first bytes of the file, held until they show whether it starts
    /// with a BOM.
    start: Vec<u8>,
    /// Whether the start is settled (the BOM, if any, skipped).
    started: bool,
    /// Whether the last part ended with a CR, held until the next byte
    /// shows whether it is the CR of a CRLF.
    cr_held: bool,
}

impl FileHasher {
    /// Hashes the next part of the file.
    pub(crate) fn update(&mut self, part: &[u8]) {
        if self.started {
            self.hash(part);
            return;
        }
        self.start.extend_from_slice(part);
        if self.start.len() < BOM.len() && BOM.starts_with(&self.start) {
            return;
        }
        self.started = true;
        let start = std::mem::take(&mut self.start);
        self.hash(start.strip_prefix(BOM).unwrap_or(&start));
    }

    /// Hashes `part` with every CRLF turned into LF.
    fn hash(&mut self, mut part: &[u8]) {
        if part.is_empty() {
            return;
        }
        if std::mem::take(&mut self.cr_held) && part[0] != b'\n' {
            self.sha.update(b"\r");
        }
        while let Some(cr) = part.iter().position(|&b| b == b'\r') {
            match part.get(cr + 1) {
                Some(b'\n') => self.sha.update(&part[..cr]),
                Some(_) => self.sha.update(&part[..=cr]),
                None => {
                    self.sha.update(&part[..cr]);
                    self.cr_held = true;
                    return;
                }
            }
            part = &part[cr + 1..];
        }
        self.sha.update(part);
    }

    /// The checksum of everything hashed.
    pub(crate) fn finish(mut self) -> Checksum {
        if !self.started {
            let start = std::mem::take(&mut self.start);
            self.sha.update(start.strip_prefix(BOM).unwrap_or(&start));
        }
        if self.cr_held {
            self.sha.update(b"\r");
        }
        Checksum(self.sha.finalize().into())
    }
}

/// Length of the text form: `sha256:` and 64 hex digits.
const TEXT_LEN: usize = 7 + 64;

impl Checksum {
    /// The text form as bytes, without allocating (start-up compares one
    /// per applied migration).
    fn encode(&self) -> [u8; TEXT_LEN] {
        let mut out = [0u8; TEXT_LEN];
        out[..7].copy_from_slice(b"sha256:");
        // 32 bytes always fit the 64 digits.
        let _ = hex::encode_to_slice(self.0, &mut out[7..]);
        out
    }

    /// Whether `text` is this checksum's text form (as stored in the ledger).
    pub(crate) fn matches(&self, text: impl AsRef<[u8]>) -> bool {
        text.as_ref() == self.encode()
    }
}

impl fmt::Display for Checksum {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let text = self.encode();
        // The buffer holds ASCII only.
        f.write_str(std::str::from_utf8(&text).map_err(|_| fmt::Error)?)
    }
}

impl fmt::Debug for Checksum {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

/// The text was not `sha256:` followed by 64 lowercase hex digits.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid checksum `{0}`: expected `sha256:` followed by 64 lowercase hex digits")]
pub struct InvalidChecksum(pub String);

impl FromStr for Checksum {
    type Err = InvalidChecksum;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let invalid = || InvalidChecksum(text.to_owned());
        let digits = text.strip_prefix("sha256:").ok_or_else(invalid)?;
        if digits.bytes().any(|b| b.is_ascii_uppercase()) {
            return Err(invalid());
        }
        let mut digest = [0u8; 32];
        hex::decode_to_slice(digits, &mut digest).map_err(|_| invalid())?;
        Ok(Checksum(digest))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_endings_and_bom_do_not_change_the_checksum() {
        let lf = Checksum::of_file(b"-- revision: 001\nSELECT 1;\n");
        let crlf = Checksum::of_file(b"-- revision: 001\r\nSELECT 1;\r\n");
        let bom_crlf = Checksum::of_file(b"\xEF\xBB\xBF-- revision: 001\r\nSELECT 1;\r\n");
        assert_eq!(lf, crlf);
        assert_eq!(lf, bom_crlf);
    }

    proptest::proptest! {
        /// A file hashed in parts of any sizes has the checksum of the
        /// whole: a BOM or a CRLF split between parts is still recognised.
        #[test]
        fn a_file_hashed_in_parts_has_the_checksum_of_the_whole(
            bytes in proptest::collection::vec(
                proptest::sample::select(b"\xEF\xBB\xBF\r\nab".to_vec()), 0..40),
            cuts in proptest::collection::vec(0usize..40, 0..6),
        ) {
            let mut cuts: Vec<usize> = cuts.into_iter().map(|c| c.min(bytes.len())).collect();
            cuts.sort_unstable();
            let mut hasher = FileHasher::default();
            let mut from = 0;
            for cut in cuts.into_iter().chain([bytes.len()]) {
                hasher.update(&bytes[from..cut]);
                from = cut;
            }
            let text = bytes.strip_prefix(BOM).unwrap_or(&bytes);
            let mut normalised = Vec::new();
            for (i, &b) in text.iter().enumerate() {
                if !(b == b'\r' && text.get(i + 1) == Some(&b'\n')) {
                    normalised.push(b);
                }
            }
            let expected = Checksum(Sha256::digest(&normalised).into());
            proptest::prop_assert_eq!(Checksum::of_file(&bytes), expected);
            proptest::prop_assert_eq!(hasher.finish(), expected);
        }
    }

    #[test]
    fn a_lone_carriage_return_is_content() {
        assert_ne!(Checksum::of_file(b"a\rb"), Checksum::of_file(b"a\nb"));
        assert_ne!(Checksum::of_file(b"a\rb"), Checksum::of_file(b"ab"));
    }

    #[test]
    fn matches_sha256_of_normalised_bytes() {
        // sha256("") is a well-known value.
        assert_eq!(
            Checksum::of_file(b"\xEF\xBB\xBF").to_string(),
            "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
    }

    #[test]
    fn matches_compares_with_the_stored_text() {
        let sum = Checksum::of_file(b"SELECT 1;\n");
        assert!(sum.matches(sum.to_string()));
        assert!(!sum.matches(Checksum::of_file(b"SELECT 2;\n").to_string()));
        assert!(!sum.matches(sum.to_string().to_uppercase()));
        assert!(!sum.matches(""));
    }

    #[test]
    fn display_and_parse_round_trip() {
        let sum = Checksum::of_file(b"x");
        assert_eq!(sum.to_string().parse::<Checksum>(), Ok(sum));
        assert!("sha256:XYZ".parse::<Checksum>().is_err());
        assert!("md5:00".parse::<Checksum>().is_err());
        let upper = sum.to_string().to_uppercase().replace("SHA256", "sha256");
        assert!(upper.parse::<Checksum>().is_err());
    }
}
