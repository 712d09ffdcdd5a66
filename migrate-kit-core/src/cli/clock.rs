//! UTC wall-clock time for file names and headers, without a date library.

/// Year, month, day, hour, minute, second now, in UTC.
fn parts() -> (i64, u32, u32, u64, u64, u64) {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let days = i64::try_from(secs / 86_400).unwrap_or(0);
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = u32::try_from(doy - (153 * mp + 2) / 5 + 1).unwrap_or(1);
    let month = u32::try_from(if mp < 10 { mp + 3 } else { mp - 9 }).unwrap_or(1);
    let year = yoe + era * 400 + i64::from(month <= 2);
    (
        year,
        month,
        day,
        secs % 86_400 / 3600,
        secs % 3600 / 60,
        secs % 60,
    )
}

/// `2025-10-13 12:00:00`.
pub(crate) fn readable() -> String {
    let (y, mo, d, h, mi, s) = parts();
    format!("{y:04}-{mo:02}-{d:02} {h:02}:{mi:02}:{s:02}")
}

/// `20251013T120000Z`, for file names.
pub(crate) fn compact() -> String {
    let (y, mo, d, h, mi, s) = parts();
    format!("{y:04}{mo:02}{d:02}T{h:02}{mi:02}{s:02}Z")
}

/// Whether `text` starts with a time as [`compact`] writes it, then `-`.
pub(crate) fn is_compact_prefix(text: &str) -> bool {
    let bytes = text.as_bytes();
    bytes.len() > 17
        && bytes[..8].iter().all(u8::is_ascii_digit)
        && bytes[8] == b'T'
        && bytes[9..15].iter().all(u8::is_ascii_digit)
        && bytes[15] == b'Z'
        && bytes[16] == b'-'
}

#[cfg(test)]
mod tests {
    #[test]
    fn both_forms_have_fixed_width() {
        assert_eq!(super::readable().len(), 19);
        assert_eq!(super::compact().len(), 16);
        assert!(super::compact().ends_with('Z'));
        assert!(super::is_compact_prefix(&format!(
            "{}-003",
            super::compact()
        )));
        assert!(!super::is_compact_prefix("copy-003"));
    }
}
