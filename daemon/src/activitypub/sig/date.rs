//! HTTP dates (RFC 9110 IMF-fixdate, `Sun, 06 Nov 1994 08:49:37 GMT`) to and from Unix seconds.

use crate::activitypub::SigError;

const DAYS: [&str; 7] = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"];
const MONTHS: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];

/// Formats Unix seconds as an IMF-fixdate.
pub fn format(unix: u64) -> String {
    let days = unix / 86_400;
    let secs = unix % 86_400;
    let (y, m, d) = civil_from_days(days as i64);
    format!(
        "{}, {:02} {} {} {:02}:{:02}:{:02} GMT",
        DAYS[(days % 7) as usize],
        d,
        MONTHS[(m - 1) as usize],
        y,
        secs / 3600,
        secs / 60 % 60,
        secs % 60
    )
}

/// Parses an IMF-fixdate into Unix seconds (the weekday is not checked, as servers don't).
pub fn parse(s: &str) -> Result<u64, SigError> {
    const BAD: SigError = SigError::Malformed("date");
    let b = s.as_bytes();
    if b.len() != 29 || &b[3..5] != b", " || &b[25..] != b" GMT" {
        return Err(BAD);
    }
    let num = |r: std::ops::Range<usize>| -> Result<u64, SigError> {
        let t = s.get(r).ok_or(BAD)?;
        if !t.bytes().all(|c| c.is_ascii_digit()) {
            return Err(BAD);
        }
        t.parse().map_err(|_| BAD)
    };
    let day = num(5..7)?;
    let month = MONTHS
        .iter()
        .position(|m| s.get(8..11) == Some(*m))
        .ok_or(BAD)? as i64
        + 1;
    let year = num(12..16)? as i64;
    if b[7] != b' ' || b[11] != b' ' || b[16] != b' ' || b[19] != b':' || b[22] != b':' {
        return Err(BAD);
    }
    let (h, mi, se) = (num(17..19)?, num(20..22)?, num(23..25)?);
    if !(1..=31).contains(&day) || h > 23 || mi > 59 || se > 60 || year < 1970 {
        return Err(BAD);
    }
    let days = days_from_civil(year, month, day as i64);
    Ok(days as u64 * 86_400 + h * 3600 + mi * 60 + se)
}

/// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's algorithm).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The date of a day count since 1970-01-01.
fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_known_dates() {
        assert_eq!(parse("Sun, 05 Jan 2014 21:31:40 GMT"), Ok(1_388_957_500));
        assert_eq!(format(1_388_957_500), "Sun, 05 Jan 2014 21:31:40 GMT");
        assert_eq!(format(1_618_884_475), "Tue, 20 Apr 2021 02:07:55 GMT");
        for t in [0, 951_782_400, 1_709_164_800, 4_102_444_799] {
            assert_eq!(parse(&format(t)), Ok(t), "{t}");
        }
        for bad in [
            "",
            "Sun, 05 Jan 2014 21:31:40 UTC",
            "Sun, 5 Jan 2014 21:31:40 GMT",
            "Sun, 05 Foo 2014 21:31:40 GMT",
            "Sun, 05 Jan 2014 25:31:40 GMT",
            "Sun, 05 Jan 20a4 21:31:40 GMT",
        ] {
            assert!(parse(bad).is_err(), "{bad}");
        }
    }
}
