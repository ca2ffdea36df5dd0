//! `--since`: a span back from now (`30m`, `24h`, `7d`, `2w`) or a UTC date
//! (`2026-11-01`, or `2026-11-01T08:00:00Z`). Shared by `claw usage` and `claw logs`.

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error(
    "`{0}` is not a time to start from: give a span back from now (30m, 24h, 7d, 2w) or a UTC date (2026-11-01, 2026-11-01T08:00:00Z)"
)]
pub struct SinceError(pub String);

/// The Unix millisecond `text` means, with `now_ms` as now.
pub fn parse_since(text: &str, now_ms: i64) -> Result<i64, SinceError> {
    let err = || SinceError(text.to_string());
    let t = text.trim();
    if let Some(unit) = t.chars().last().filter(char::is_ascii_alphabetic)
        && t.len() > 1
        && t[..t.len() - 1].bytes().all(|b| b.is_ascii_digit())
    {
        let n: i64 = t[..t.len() - 1].parse().map_err(|_| err())?;
        let secs = match unit {
            's' => 1,
            'm' => 60,
            'h' => 3600,
            'd' => 86_400,
            'w' => 7 * 86_400,
            _ => return Err(err()),
        };
        let back = n.checked_mul(secs * 1000).ok_or_else(err)?;
        return Ok(now_ms.saturating_sub(back));
    }
    date_ms(t).ok_or_else(err)
}

/// A log line's UTC timestamp (`2026-12-03T02:10:00.123456Z`) in Unix milliseconds.
pub fn parse_timestamp(t: &str) -> Option<i64> {
    let t = t.strip_suffix('Z').unwrap_or(t);
    let (whole, fraction) = t.split_once('.').unwrap_or((t, ""));
    let ms: i64 = format!("{fraction:0<3}").get(..3)?.parse().ok()?;
    Some(date_ms(whole)? + ms)
}

/// `YYYY-MM-DD`, optionally followed by `THH:MM[:SS]` and `Z`, in UTC.
fn date_ms(t: &str) -> Option<i64> {
    let (date, time) = match t.split_once(['T', ' ']) {
        Some((d, rest)) => (d, Some(rest.trim_end_matches('Z'))),
        None => (t, None),
    };
    let mut parts = date.split('-');
    let (y, m, d) = (parts.next()?, parts.next()?, parts.next()?);
    if parts.next().is_some() || y.len() != 4 || m.len() != 2 || d.len() != 2 {
        return None;
    }
    let (y, m, d): (i64, u32, u32) = (y.parse().ok()?, m.parse().ok()?, d.parse().ok()?);
    if !(1..=12).contains(&m) || d == 0 || d > days_in_month(y, m) {
        return None;
    }
    let mut secs = days_from_civil(y, m, d) * 86_400;
    if let Some(time) = time {
        let fields: Vec<&str> = time.split(':').collect();
        if !(2..=3).contains(&fields.len()) || fields.iter().any(|f| f.len() != 2) {
            return None;
        }
        let nums: Vec<i64> = fields
            .iter()
            .map(|f| f.parse().ok())
            .collect::<Option<_>>()?;
        let (h, min, s) = (nums[0], nums[1], nums.get(2).copied().unwrap_or(0));
        if h > 23 || min > 59 || s > 59 {
            return None;
        }
        secs += h * 3600 + min * 60 + s;
    }
    Some(secs * 1000)
}

fn days_in_month(y: i64, m: u32) -> u32 {
    match m {
        2 if (y % 4 == 0 && y % 100 != 0) || y % 400 == 0 => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days since 1970-01-01 (Howard Hinnant's algorithm).
fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let m = i64::from(m);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spans_and_dates() {
        let now = 1_800_000_000_000;
        assert_eq!(parse_since("24h", now), Ok(now - 86_400_000));
        assert_eq!(parse_since("7d", now), Ok(now - 7 * 86_400_000));
        assert_eq!(parse_since("10m", now), Ok(now - 600_000));
        assert_eq!(parse_since("2026-11-01", now), Ok(1_793_491_200_000));
        assert_eq!(
            parse_since("2026-11-01T08:30:00Z", now),
            Ok(1_793_491_200_000 + (8 * 3600 + 30 * 60) * 1000)
        );
        assert_eq!(parse_since("1970-01-01", now), Ok(0));
        assert_eq!(parse_timestamp("1970-01-01T00:00:01.250999Z"), Some(1250));
        assert_eq!(parse_timestamp("1970-01-01T00:00:02Z"), Some(2000));
        assert_eq!(parse_timestamp("garbage"), None);
        assert_eq!(parse_since("2024-02-29", now), Ok(1_709_164_800_000));
        for bad in [
            "",
            "h",
            "7x",
            "yesterday",
            "2026-13-01",
            "2026-02-30",
            "2026-1-1",
            "-5d",
        ] {
            let e = parse_since(bad, now).unwrap_err().to_string();
            assert!(
                e.contains("is not a time to start from") && e.contains("24h"),
                "{bad}: {e}"
            );
        }
    }
}
