//! The store's local weekday and minute of the day from Unix time and the
//! store's UTC offset, for the install schedule. Pure.

use keel_ota::schedule::{LocalTime, Weekday};

/// The local time at `unix_ms` for a store `utc_offset_minutes` from UTC.
pub fn local_time(unix_ms: u64, utc_offset_minutes: i32) -> LocalTime {
    let minutes = (unix_ms / 60_000) as i64 + i64::from(utc_offset_minutes);
    let day_number = minutes.div_euclid(1440);
    let minute = minutes.rem_euclid(1440) as u16;
    // 1970-01-01 was a Thursday.
    use Weekday::*;
    const DAYS: [Weekday; 7] = [Thu, Fri, Sat, Sun, Mon, Tue, Wed];
    LocalTime {
        day: DAYS[day_number.rem_euclid(7) as usize],
        minute,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn weekdays_and_offsets() {
        // 2026-11-23 17:40 UTC is a Monday.
        let t = 1_795_453_200_000 + 40 * 60_000;
        assert_eq!(
            local_time(t, 0),
            LocalTime {
                day: Weekday::Mon,
                minute: 17 * 60 + 40
            }
        );
        // UTC+7: 00:40 on Tuesday.
        assert_eq!(
            local_time(t, 7 * 60),
            LocalTime {
                day: Weekday::Tue,
                minute: 40
            }
        );
        assert_eq!(local_time(0, -60).day, Weekday::Wed);
    }
}
