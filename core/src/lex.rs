//! Byte-level helpers shared by the parsers: whitespace-separated fields and integers,
//! with no allocation.

/// Split off the next field (runs of ' ' and '\t' separate fields).
#[inline]
pub(crate) fn next_field<'a>(s: &mut &'a [u8]) -> Option<&'a [u8]> {
    let mut i = 0;
    while i < s.len() && (s[i] == b' ' || s[i] == b'\t') {
        i += 1;
    }
    if i == s.len() {
        *s = &s[i..];
        return None;
    }
    let start = i;
    while i < s.len() && s[i] != b' ' && s[i] != b'\t' {
        i += 1;
    }
    let f = &s[start..i];
    *s = &s[i..];
    Some(f)
}

/// Parse an unsigned decimal; `None` on empty input, a non-digit or overflow.
#[inline]
pub(crate) fn dec_u64(f: &[u8]) -> Option<u64> {
    if f.is_empty() || f.len() > 20 {
        return None;
    }
    let mut v: u64 = 0;
    if f.len() < 20 {
        // Up to 19 digits cannot overflow.
        for &b in f {
            let d = b.wrapping_sub(b'0');
            if d > 9 {
                return None;
            }
            v = v * 10 + u64::from(d);
        }
        return Some(v);
    }
    for &b in f {
        let d = b.wrapping_sub(b'0');
        if d > 9 {
            return None;
        }
        v = v.checked_mul(10)?.checked_add(u64::from(d))?;
    }
    Some(v)
}

/// Parse a decimal that must fit in a u32.
#[inline]
pub(crate) fn dec_u32(f: &[u8]) -> Option<u32> {
    dec_u64(f).and_then(|v| u32::try_from(v).ok())
}

/// Parse a possibly negative decimal i64.
pub(crate) fn dec_i64(f: &[u8]) -> Option<i64> {
    match f.split_first() {
        Some((b'-', rest)) => dec_u64(rest).and_then(|v| i64::try_from(v).ok()).map(|v| -v),
        _ => dec_u64(f).and_then(|v| i64::try_from(v).ok()),
    }
}

/// Parse `0x<hex>` (the prefix is required) into a u64.
#[inline]
pub(crate) fn hex_u64(f: &[u8]) -> Option<u64> {
    let h = f.strip_prefix(b"0x").or_else(|| f.strip_prefix(b"0X"))?;
    if h.is_empty() || h.len() > 16 {
        return None;
    }
    let mut v: u64 = 0;
    for &b in h {
        let d = match b {
            b'0'..=b'9' => b - b'0',
            b'a'..=b'f' => b - b'a' + 10,
            b'A'..=b'F' => b - b'A' + 10,
            _ => return None,
        };
        v = (v << 4) | u64::from(d);
    }
    Some(v)
}

/// Iterate over lines with their 1-based numbers; a final empty line is not yielded.
pub(crate) fn lines(text: &[u8]) -> impl Iterator<Item = (usize, &[u8])> {
    let body = text.strip_suffix(b"\n").unwrap_or(text);
    let empty = body.is_empty() && text.is_empty();
    body.split(|&b| b == b'\n')
        .take(if empty { 0 } else { usize::MAX })
        .enumerate()
        .map(|(i, l)| (i + 1, l))
}

/// Show a field in an error message.
pub(crate) fn show(f: &[u8]) -> String {
    String::from_utf8_lossy(f).into_owned()
}
